#!/usr/bin/env node
// Runs jest with the emulator's CA trusted. Node reads NODE_EXTRA_CA_CERTS only at start-up, so the CA must exist
// (it is created once and reused, see test/emulator/tls.ts) and be in the environment before jest starts.
const { spawnSync } = require('child_process');
const { ensureCa } = require('./emulator/ca-path');

const { caCertPath } = ensureCa();
const result = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2)], {
	stdio: 'inherit',
	env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
});
process.exit(result.status ?? 1);
