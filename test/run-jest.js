#!/usr/bin/env node
// Runs jest with the emulator's CA trusted. Node reads NODE_EXTRA_CA_CERTS only at start-up, so the CA must exist
// (it is created once and reused, see test/emulator/ca-path.js) and be in the environment before jest starts.
// Ends with a plain "N passed, N failed" line so any CI can read the outcome.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ensureCa } = require('./emulator/ca-path');

const { caCertPath } = ensureCa();
const summaryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jest-summary-')), 'results.json');
const result = spawnSync(
	process.execPath,
	[require.resolve('jest/bin/jest'), '--json', `--outputFile=${summaryFile}`, ...process.argv.slice(2)],
	{ stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath } },
);
let status = result.status ?? 1;
try {
	const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
	const skipped = summary.numPendingTests + summary.numTodoTests;
	console.log(`\njest: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
	if (summary.numTotalTests === 0) status = status || 1;
} catch {
	console.log('\njest: 0 passed, 1 failed (no results: jest did not finish)');
	status = status || 1;
}
process.exit(status);
