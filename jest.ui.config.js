/** The editor in a real browser: n8n + the packed package + the emulator, Chromium headless. `npm run test:ui`. */
module.exports = {
	...require('./jest.config'),
	testMatch: ['**/test/ui/**/*.ui.test.ts'],
	testPathIgnorePatterns: ['/node_modules/'],
	testTimeout: 10 * 60 * 1000,
	maxWorkers: 1,
};
