/**
 * Runs a real n8n (the pinned version from n8n-install.js) with this package installed the way users get it:
 * the `npm pack` tarball installed into <user folder>/.n8n/nodes, where n8n's community-node install puts it.
 * Shared by `npm start` (scripts/start.js) and the end-to-end tests (test/e2e).
 *
 * Works with n8n 1.123 and 2.41 (`install(version)`): what differs between them is read from the installed n8n
 * (`n8nFeatures`), not assumed from the version number.
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

/**
 * Runs `fn` holding a lock on this clone's dist/ (a directory made atomically beside the clone's name in the temp
 * folder): the build deletes dist/ first, so two test runs building at once could pack a half-built tree.
 */
function withBuildLock(fn) {
	const lock = path.join(require('os').tmpdir(), `${PACKAGE_NAME}-build-${require('crypto').createHash('sha1').update(REPO).digest('hex').slice(0, 8)}.lock`);
	const deadline = Date.now() + 10 * 60_000;
	for (;;) {
		try {
			fs.mkdirSync(lock);
			break;
		} catch (error) {
			if (error.code !== 'EEXIST') throw error;
			let age = 0;
			try {
				age = Date.now() - fs.statSync(lock).mtimeMs;
			} catch {
				continue; // released meanwhile
			}
			if (age > 10 * 60_000 || Date.now() > deadline) fs.rmSync(lock, { recursive: true, force: true }); // stale
			else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
		}
	}
	try {
		return fn();
	} finally {
		fs.rmSync(lock, { recursive: true, force: true });
	}
}

/** Builds and packs this package; returns the tarball path. */
function packPackage(outDir) {
	fs.mkdirSync(outDir, { recursive: true });
	return withBuildLock(() => {
		execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
		const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: REPO, encoding: 'utf8' });
		return path.join(outDir, out.trim().split('\n').pop());
	});
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

/** n8n 2.x settings that keep poll cursors in `poller_state` and schedule polls with the durable scheduler. */
const DURABLE_CURSORS_ENV = {
	N8N_POLLER_DURABLE_CURSORS_ENABLED: 'true',
	N8N_SCHEDULER_ENABLED: 'true',
	N8N_SCHEDULER_POLL_TRIGGERS_ENABLED: 'true',
	N8N_USE_WORKFLOW_PUBLICATION_SERVICE: 'true',
};

function n8nEnv(n8n, options) {
	const env = { ...process.env };
	// Inherited test-runner variables (jest sets NODE_ENV=test) and n8n settings (database, queue) change n8n's
	// behaviour: start from production, with only what `options` sets.
	for (const key of Object.keys(env)) {
		if (key.startsWith('JEST') || key.startsWith('N8N_') || key.startsWith('DB_') || key.startsWith('QUEUE_')) delete env[key];
	}
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

/** The CLI commands the installed n8n has (`import:workflow`, `publish:workflow`, ...), from its dist/commands. */
function n8nCommands(n8n) {
	const root = path.join(path.dirname(require.resolve('n8n/package.json', { paths: [n8n.n8nDir] })), 'dist', 'commands');
	const found = new Set();
	const walk = (dir, prefix) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
			if (entry.isDirectory()) walk(path.join(dir, entry.name), [...prefix, entry.name]);
			else if (entry.name.endsWith('.js') && entry.name !== 'base-command.js') found.add([...prefix, entry.name.slice(0, -3)].join(':'));
		}
	};
	walk(root, []);
	return found;
}

/** A file of a package as the installed n8n resolves it ('' when the package or file is missing). */
function n8nPackageFile(n8n, pkg, file) {
	try {
		const n8nPackageDir = path.dirname(require.resolve('n8n/package.json', { paths: [n8n.n8nDir] }));
		const dir = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [n8nPackageDir] }));
		return fs.readFileSync(path.join(dir, file), 'utf8');
	} catch {
		return '';
	}
}

/**
 * What the installed n8n offers that differs between 1.x and 2.x, read from its files:
 * - version: n8n's package.json version.
 * - publishCommand: `publish:workflow` (2.x) or `update:workflow` (1.x, `--active=true`) to activate before start.
 * - pollBudget: poll functions have `getPollBudgetMs()` (n8n-core 2.x PollContext).
 * - durableCursors: `N8N_POLLER_DURABLE_CURSORS_ENABLED` exists (2.36+; the cursor then lives in `poller_state`).
 * - publicationService: `N8N_USE_WORKFLOW_PUBLICATION_SERVICE` exists.
 * - maxWorkflowIdLength: n8n saves a workflow's static data (the trigger's cursor in classic mode) only when the
 *   workflow ID is at most this long (`isWorkflowIdValid`: 16 in 1.123, 21 in 2.41); longer imported IDs run, but
 *   their static data is silently never saved.
 */
function n8nFeatures(n8n) {
	const commands = n8nCommands(n8n);
	const pollContext = n8nPackageFile(n8n, 'n8n-core', 'dist/execution-engine/node-execution-context/poll-context.js');
	const schedulerConfig = n8nPackageFile(n8n, '@n8n/config', 'dist/configs/scheduler.config.js');
	const workflowsConfig = n8nPackageFile(n8n, '@n8n/config', 'dist/configs/workflows.config.js');
	const idCheck = /function isWorkflowIdValid\(id\) \{[^}]*?length <= (\d+)/.exec(n8nPackageFile(n8n, 'n8n', 'dist/utils.js'));
	return {
		version: JSON.parse(n8nPackageFile(n8n, 'n8n', 'package.json') || '{}').version,
		publishCommand: commands.has('publish:workflow') ? 'publish:workflow' : 'update:workflow',
		pollBudget: /getPollBudgetMs/.test(pollContext),
		durableCursors: /N8N_POLLER_DURABLE_CURSORS_ENABLED/.test(schedulerConfig),
		publicationService: /N8N_USE_WORKFLOW_PUBLICATION_SERVICE/.test(workflowsConfig),
		maxWorkflowIdLength: idCheck ? Number(idCheck[1]) : undefined,
	};
}

/**
 * Activates an imported workflow before n8n starts: `publish:workflow --id` where n8n has it (2.x), otherwise
 * `update:workflow --id --active=true` (1.x). Returns the command used.
 */
function publishWorkflow(n8n, options, id) {
	if (n8nCommands(n8n).has('publish:workflow')) {
		n8nCli(n8n, options, ['publish:workflow', `--id=${id}`]);
		return 'publish:workflow';
	}
	n8nCli(n8n, options, ['update:workflow', `--id=${id}`, '--active=true']);
	return 'update:workflow';
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
			// Readiness says the database is migrated; n8n 1.x answers it before its REST controllers are registered
			// (`Cannot POST /rest/owner/setup`), so also wait until /rest/login is routed (401 without a cookie).
			const ready = await fetch(`${url}/healthz/readiness`);
			if (ready.status === 200 && (await fetch(`${url}/rest/login`)).status !== 404) break;
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
	if (response.status === 400) {
		// Older n8n versions took `email` instead of `emailOrLdapLoginId`.
		response = await httpJson(`${url}/rest/login`, { method: 'POST', body: { email: owner.email, password: owner.password } });
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
	DURABLE_CURSORS_ENV,
	n8nEnv,
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
	n8nCommands,
	n8nFeatures,
	ownerCookie,
	packPackage,
	publishWorkflow,
	startN8n,
};
