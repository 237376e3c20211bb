/** End-to-end: a real n8n with the packed package installed, against the emulator. `npm run test:e2e`. */
module.exports = {
	...require('./jest.config'),
	testMatch: ['**/test/e2e/**/*.e2e.test.ts'],
	testPathIgnorePatterns: ['/node_modules/'],
	testTimeout: 20 * 60 * 1000,
	maxWorkers: 1,
};
