#!/usr/bin/env node
/*
 * Launcher for the benchmarks and the soak: `node bench/run.js <script> [args...]` runs bench/<script>.ts in a
 * fresh Node process with
 *   --expose-gc                          so memory figures can be taken after a full collection,
 *   -r ts-node/register/transpile-only   (TS_NODE_PROJECT=tsconfig.test.json), and
 *   NODE_EXTRA_CA_CERTS=<emulator CA>    which Node reads only at start-up (see test/run-jest.js).
 * Child processes started by the scripts (bench/child.ts) inherit these flags and the environment.
 */
'use strict';

const { spawnSync } = require('child_process');
const path = require('path');
const { ensureCa } = require('../test/emulator/ca-path');

const [script, ...args] = process.argv.slice(2);
if (!script) {
	process.stderr.write('Usage: node bench/run.js <script> [args...]   (e.g. bench, soak)\n');
	process.exit(2);
}
const { caCertPath } = ensureCa();
const root = path.resolve(__dirname, '..');
const result = spawnSync(
	process.execPath,
	['--expose-gc', '-r', 'ts-node/register/transpile-only', path.join(__dirname, `${script}.ts`), ...args],
	{
		cwd: root,
		stdio: 'inherit',
		env: {
			...process.env,
			NODE_EXTRA_CA_CERTS: caCertPath,
			TS_NODE_PROJECT: path.join(root, 'tsconfig.test.json'),
			// `X.node` must resolve to X.node.ts, not to the codex file X.node.json beside it.
			TS_NODE_PREFER_TS_EXTS: 'true',
		},
	},
);
if (result.error) {
	process.stderr.write(`${result.error.message}\n`);
	process.exit(1);
}
process.exit(result.status ?? 1);
