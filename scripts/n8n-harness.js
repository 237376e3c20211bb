/**
 * Runs a real n8n (the pinned version from n8n-install.js) with this package installed the way users get it:
 * the `npm pack` tarball installed into <user folder>/.n8n/nodes, where n8n's community-node install puts it.
 * Shared by `npm start` (scripts/start.js) and the end-to-end test (test/e2e).
 */
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const { install } = require('./n8n-install');

const REPO = path.resolve(__dirname, '..');
const PACKAGE_NAME = require('../package.json').name;

async function freePort() {
	return await new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

/** Builds and packs this package; returns the tarball path. */
function packPackage(outDir) {
	fs.mkdirSync(outDir, { recursive: true });
	execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
	const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: REPO, encoding: 'utf8' });
	return path.join(outDir, out.trim().split('\n').pop());
}

/** Installs the tarball as a community package of the n8n user folder (node types `<package>.<name>`). */
function installCommunityPackage(userFolder, tarball) {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	fs.mkdirSync(nodesDir, { recursive: true });
	if (!fs.existsSync(path.join(nodesDir, 'package.json'))) {
		fs.writeFileSync(path.join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true }, null, 2));
	}
	execFileSync('npm', ['install', tarball, '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts'], {
		cwd: nodesDir,
		stdio: ['ignore', 'ignore', 'inherit'],
	});
}

function n8nEnv(n8n, options) {
	const env = { ...process.env };
	// Inherited test-runner variables (jest sets NODE_ENV=test) change n8n's behaviour: start from production.
	for (const key of Object.keys(env)) if (key.startsWith('JEST') || key.startsWith('N8N_')) delete env[key];
	return {
		...env,
		NODE_ENV: 'production',
		PATH: `${path.dirname(n8n.nodeBin)}:${process.env.PATH}`,
		N8N_USER_FOLDER: options.userFolder,
		N8N_PORT: String(options.port ?? 5678),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_RUNNERS_BROKER_PORT: String(options.brokerPort ?? 5679),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_LOG_LEVEL: options.logLevel ?? 'info',
		NODE_EXTRA_CA_CERTS: options.caCertPath,
		...(options.env ?? {}),
	};
}

/** Runs an n8n CLI command (import:workflow, publish:workflow, ...) against the user folder; n8n must not run. */
function n8nCli(n8n, options, args) {
	return execFileSync(n8n.nodeBin, [n8n.n8nBin, ...args], {
		env: n8nEnv(n8n, options),
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
	});
}

async function httpJson(url, { method = 'GET', body, headers = {} } = {}) {
	const response = await fetch(url, {
		method,
		headers: { 'content-type': 'application/json', ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await response.text();
	let json;
	try {
		json = text ? JSON.parse(text) : undefined;
	} catch {
		json = text;
	}
	return { status: response.status, headers: response.headers, json };
}

/** Starts n8n and waits until it is ready. */
async function startN8n(n8n, options) {
	const logFile = options.logFile;
	const child = spawn(n8n.nodeBin, [n8n.n8nBin, 'start'], {
		env: n8nEnv(n8n, options),
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: false,
	});
	const logs = [];
	const onData = (chunk) => {
		const text = chunk.toString();
		logs.push(text);
		if (logFile) fs.appendFileSync(logFile, text);
		if (options.echo) process.stdout.write(text);
	};
	child.stdout.on('data', onData);
	child.stderr.on('data', onData);
	const url = `http://127.0.0.1:${options.port}`;
	const deadline = Date.now() + (options.startTimeoutMs ?? 180_000);
	let exited = false;
	child.on('exit', () => (exited = true));
	for (;;) {
		if (exited) throw new Error(`n8n exited during start-up:\n${logs.join('').slice(-4000)}`);
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`n8n not ready after ${options.startTimeoutMs ?? 180_000} ms:\n${logs.join('').slice(-4000)}`);
		}
		try {
			const ready = await fetch(`${url}/healthz/readiness`);
			if (ready.status === 200) break;
		} catch {
			/* not listening yet */
		}
		await new Promise((r) => setTimeout(r, 500));
	}
	return {
		url,
		logs,
		process: child,
		async stop() {
			if (exited) return;
			const done = new Promise((resolve) => child.once('exit', resolve));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
			await done;
			clearTimeout(timer);
		},
	};
}

/** Owner account without the UI; returns the `n8n-auth` cookie. Logs in when the owner exists already. */
async function ownerCookie(url, owner) {
	let response = await httpJson(`${url}/rest/owner/setup`, { method: 'POST', body: owner });
	if (response.status >= 400) {
		response = await httpJson(`${url}/rest/login`, {
			method: 'POST',
			body: { emailOrLdapLoginId: owner.email, password: owner.password },
		});
	}
	const cookie = (response.headers.get('set-cookie') || '').match(/n8n-auth=[^;]+/)?.[0];
	if (!cookie) throw new Error(`owner setup/login failed: HTTP ${response.status} ${JSON.stringify(response.json)}`);
	return cookie;
}

/** A public-API key for reading executions. */
async function apiKey(url, cookie) {
	const scopes = ['workflow:read', 'workflow:list', 'execution:read', 'execution:list', 'credential:create'];
	const response = await httpJson(`${url}/rest/api-keys`, {
		method: 'POST',
		headers: { cookie },
		body: { label: `key-${Date.now()}`, expiresAt: null, scopes },
	});
	const key = response.json?.data?.rawApiKey;
	if (!key) throw new Error(`api key creation failed: HTTP ${response.status} ${JSON.stringify(response.json)}`);
	return key;
}

/** Every execution of the workflow with its data, oldest first. */
async function executions(url, key, workflowId) {
	const all = [];
	let cursor;
	do {
		const query = new URLSearchParams({ workflowId, includeData: 'true', limit: '100' });
		if (cursor) query.set('cursor', cursor);
		const response = await httpJson(`${url}/api/v1/executions?${query}`, { headers: { 'X-N8N-API-KEY': key } });
		if (response.status !== 200) throw new Error(`executions: HTTP ${response.status} ${JSON.stringify(response.json)}`);
		all.push(...response.json.data);
		cursor = response.json.nextCursor;
	} while (cursor);
	return all.sort((a, b) => Number(a.id) - Number(b.id));
}

/** Runs a read-only SQL query on the stopped n8n's SQLite database, with n8n's own sqlite3 module and Node 24. */
function queryDatabase(n8n, userFolder, sql) {
	const script = `
		const sqlite3 = require(${JSON.stringify(path.join(n8n.n8nDir, 'node_modules', 'sqlite3'))});
		const db = new sqlite3.Database(process.argv[1], sqlite3.OPEN_READONLY);
		db.all(process.argv[2], (error, rows) => {
			if (error) { console.error(error.message); process.exit(1); }
			process.stdout.write(JSON.stringify(rows));
			db.close();
		});`;
	const out = execFileSync(n8n.nodeBin, ['-e', script, path.join(userFolder, '.n8n', 'database.sqlite'), sql], {
		encoding: 'utf8',
	});
	return JSON.parse(out);
}

module.exports = {
	queryDatabase,
	PACKAGE_NAME,
	REPO,
	apiKey,
	executions,
	freePort,
	httpJson,
	install,
	installCommunityPackage,
	n8nCli,
	ownerCookie,
	packPackage,
	startN8n,
};
