/**
 * n8n in queue mode for the end-to-end test: one main (`n8n start`) and workers (`n8n worker`) sharing PostgreSQL,
 * Redis (scripts/services.js) and the encryption key. Each process has its own user folder, as each container of a
 * real deployment has: n8n keeps a crash journal and its event log there and replays them at start-up (a worker
 * sharing a folder would "recover" executions other processes are running). The packed package is installed as a
 * community package once and the installed folder copied into each process's user folder. Builds on
 * scripts/n8n-harness.js.
 */
'use strict';
const { execFileSync, spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const harness = require('./n8n-harness');
const services = require('./services');

/** The environment n8n-harness gives `n8n start`, for any n8n command. */
const processEnv = harness.n8nEnv;

/**
 * installCommunityPackage (n8n-harness: `npm install <tarball>` into <user folder>/.n8n/nodes), cached: the installed
 * folder is kept under the n8n cache by the tarball's SHA-256 (npm pack output is byte-identical for identical
 * files) and copied into the user folder; a new tarball installs once more. Keeps the two newest.
 */
function installCommunityPackageCached(userFolder, tarball) {
	const sha = crypto.createHash('sha256').update(fs.readFileSync(tarball)).digest('hex').slice(0, 16);
	const root = path.join(path.dirname(harness.install().root), 'community-package-installs');
	const cached = path.join(root, sha);
	if (!fs.existsSync(path.join(cached, '.complete'))) {
		fs.rmSync(cached, { recursive: true, force: true });
		harness.installCommunityPackage(cached, tarball);
		fs.writeFileSync(path.join(cached, '.complete'), new Date().toISOString());
		const others = fs
			.readdirSync(root)
			.filter((d) => d !== sha)
			.map((d) => ({ d, t: fs.statSync(path.join(root, d)).mtimeMs }))
			.sort((x, y) => y.t - x.t);
		for (const { d } of others.slice(1)) fs.rmSync(path.join(root, d), { recursive: true, force: true });
		copyCommunityPackages(cached, userFolder);
		return { cached: false };
	}
	copyCommunityPackages(cached, userFolder);
	return { cached: true };
}

/**
 * The community packages installed in one user folder, copied into another (the same files as installing again):
 * hard links where the file system allows (n8n only reads them), a plain copy otherwise.
 */
function copyCommunityPackages(fromUserFolder, toUserFolder) {
	const from = path.join(fromUserFolder, '.n8n', 'nodes');
	const to = path.join(toUserFolder, '.n8n', 'nodes');
	fs.mkdirSync(path.dirname(to), { recursive: true });
	fs.rmSync(to, { recursive: true, force: true });
	try {
		execFileSync('cp', ['-a', '-l', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
	} catch {
		fs.rmSync(to, { recursive: true, force: true });
		fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
	}
}

/** What every process of one queue-mode cluster shares: database, Redis, encryption key. */
function queueEnv({ postgres, database, redis, encryptionKey, bullPrefix }) {
	return {
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: postgres.host,
		DB_POSTGRESDB_PORT: String(postgres.port),
		DB_POSTGRESDB_DATABASE: database,
		DB_POSTGRESDB_USER: postgres.user,
		DB_POSTGRESDB_PASSWORD: postgres.password,
		DB_POSTGRESDB_SCHEMA: 'public',
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: redis.host,
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		QUEUE_BULL_PREFIX: bullPrefix,
		N8N_ENCRYPTION_KEY: encryptionKey,
		// Each process's stdout goes to its own log, which is how the test tells which worker ran an execution.
		N8N_LOG_OUTPUT: 'console',
	};
}

/**
 * A PostgreSQL database with n8n's schema already migrated (n8n's migrations take most of a first start): a
 * template migrated once per n8n version while the cluster directory lives, copied for each run.
 */
async function migratedDatabase(n8n, postgres, { name, userFolder, caCertPath, timings = [] }) {
	const template = `n8n_${(n8n.version ?? require('./n8n-install').N8N_VERSION).replace(/\W/g, '_')}_template`;
	const started = Date.now();
	const { created } = await services.templateDatabase(postgres, template, async (database) => {
		const folder = fs.mkdtempSync(path.join(path.dirname(userFolder), 'template-'));
		try {
			execFileSync(n8n.nodeBin, [n8n.n8nBin, 'list:workflow'], {
				env: processEnv(n8n, {
					userFolder: folder,
					caCertPath,
					env: { DB_TYPE: 'postgresdb', DB_POSTGRESDB_HOST: postgres.host, DB_POSTGRESDB_PORT: String(postgres.port), DB_POSTGRESDB_DATABASE: database, DB_POSTGRESDB_USER: postgres.user, DB_POSTGRESDB_PASSWORD: postgres.password },
				}),
				stdio: ['ignore', 'ignore', 'pipe'],
				encoding: 'utf8',
			});
		} finally {
			fs.rmSync(folder, { recursive: true, force: true });
		}
	});
	timings.push({ step: created ? `n8n migrations into template ${template}` : `template ${template} (cached)`, ms: Date.now() - started });
	const copyStarted = Date.now();
	postgres.dropDatabase(name);
	postgres.createDatabase(name, { template });
	timings.push({ step: `database ${name} from the template`, ms: Date.now() - copyStarted });
	return name;
}

/** Direct children of a process (Linux /proc). */
function childPids(pid) {
	try {
		return fs
			.readdirSync(`/proc/${pid}/task`)
			.flatMap((task) => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/))
			.filter(Boolean)
			.map(Number);
	} catch {
		return [];
	}
}

/** Spawns an n8n process (`start` or `worker …`), collecting its output; resolves once `ready()` says so. */
async function spawnN8n(n8n, args, options, ready) {
	const child = spawn(n8n.nodeBin, [n8n.n8nBin, ...args], { env: processEnv(n8n, options), stdio: ['ignore', 'pipe', 'pipe'] });
	const logs = [];
	const onData = (chunk) => {
		const text = chunk.toString();
		logs.push(text);
		if (options.logFile) fs.appendFileSync(options.logFile, text);
	};
	child.stdout.on('data', onData);
	child.stderr.on('data', onData);
	let exited = false;
	const exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
	child.once('exit', () => (exited = true));
	const killOnExit = () => child.kill('SIGKILL');
	process.once('exit', killOnExit);
	const startedAt = Date.now();
	const deadline = startedAt + (options.startTimeoutMs ?? 180_000);
	for (;;) {
		if (exited) throw new Error(`n8n ${args[0]} exited during start-up:\n${logs.join('').slice(-4000)}`);
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`n8n ${args[0]} not ready after ${options.startTimeoutMs ?? 180_000} ms:\n${logs.join('').slice(-4000)}`);
		}
		if (await ready(logs.join(''))) break;
		await new Promise((r) => setTimeout(r, 300));
	}
	return {
		name: options.name ?? args[0],
		userFolder: options.userFolder,
		pid: child.pid,
		process: child,
		logs,
		startMs: Date.now() - startedAt,
		text: () => logs.join(''),
		exited: () => exited,
		/**
		 * SIGKILL: the process gets no chance to hand anything over. Its own children (the task runner n8n starts)
		 * would be left orphaned, so they get the same signal, by process id, right after.
		 */
		async kill() {
			process.removeListener('exit', killOnExit);
			if (exited) return;
			const children = childPids(child.pid);
			child.kill('SIGKILL');
			await exitPromise;
			for (const pid of children) {
				try {
					process.kill(pid, 'SIGKILL');
				} catch {
					/* gone already */
				}
			}
		},
		async stop() {
			process.removeListener('exit', killOnExit);
			if (exited) return;
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
			await exitPromise;
			clearTimeout(timer);
		},
	};
}

/** The main: `n8n start` in queue mode; ready when /healthz/readiness answers 200. */
async function startMain(n8n, options) {
	const url = `http://127.0.0.1:${options.port}`;
	const main = await spawnN8n(n8n, ['start'], { name: 'main', ...options }, async () => {
		try {
			return (await fetch(`${url}/healthz/readiness`)).status === 200;
		} catch {
			return false;
		}
	});
	return { ...main, url };
}

/** A worker: `n8n worker --concurrency=N`; ready when it says so (after it loaded the nodes and joined the queue). */
async function startWorker(n8n, options) {
	const args = ['worker', `--concurrency=${options.concurrency ?? 10}`];
	return await spawnN8n(n8n, args, options, async (text) => /n8n worker is now ready/.test(text));
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');

/** Execution ids a worker's log says it started / finished ("Worker started execution 12 (job 7)"). */
function workerExecutions(worker) {
	const text = stripAnsi(worker.text());
	const started = [...text.matchAll(/Worker started execution (\d+) \(job (\d+)\)/g)].map((m) => m[1]);
	const finished = [...text.matchAll(/Worker finished execution (\d+) \(job (\d+)\)/g)].map((m) => m[1]);
	return { started, finished, running: started.filter((id) => !finished.includes(id)) };
}

/** Execution ids the main enqueued ("Enqueued execution 12 (job 7)"). */
function enqueuedExecutions(main) {
	return [...stripAnsi(main.text()).matchAll(/Enqueued execution (\d+) \(job (\d+)\)/g)].map((m) => m[1]);
}

/** n8n's execution data as stored (flatted), parsed with n8n's own copy of `flatted`. */
function parseExecutionData(n8n, text) {
	const flatted = require(path.join(n8n.n8nDir, 'node_modules', 'flatted'));
	return flatted.parse(text);
}

const SCAN_WORKFLOW_ID = 'mdeQueueAvScan01';
const SCAN_WEBHOOK_PATH = 'mde-av-scan';

/**
 * Webhook (POST {"machines": [{"machineId": …}, …]}, answered at once) → Split Out (one item per machine) →
 * Microsoft Defender › Machine › Run Antivirus Scan (Quick, no wait for completion). In queue mode the main takes
 * the webhook and a worker runs the execution.
 */
function scanWorkflow() {
	const credentials = { microsoftDefenderApi: { id: require('./demo-workflow').CREDENTIAL_ID, name: 'Microsoft Defender (emulator)' } };
	return {
		id: SCAN_WORKFLOW_ID,
		name: 'Defender antivirus scan (queue e2e)',
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [
			{
				id: 'b1e6a6d2-0003-4000-8000-000000000001',
				name: 'Scan Request',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: 'b1e6a6d2-0003-4000-8000-0000000000ff',
				parameters: { httpMethod: 'POST', path: SCAN_WEBHOOK_PATH, responseMode: 'onReceived', options: {} },
			},
			{
				id: 'b1e6a6d2-0003-4000-8000-000000000002',
				name: 'One Item per Machine',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				position: [220, 0],
				parameters: { fieldToSplitOut: 'body.machines', options: {} },
			},
			{
				id: 'b1e6a6d2-0003-4000-8000-000000000003',
				name: 'Run Antivirus Scan',
				type: `${harness.PACKAGE_NAME}.microsoftDefender`,
				typeVersion: 1.1,
				position: [440, 0],
				credentials,
				parameters: {
					resource: 'machine',
					operation: 'runAntivirusScan',
					machineId: { __rl: true, mode: 'id', value: '={{ $json.machineId }}' },
					comment: '=Quick scan requested by n8n (queue e2e) for {{ $json.machineId }}',
					scanType: 'Quick',
					waitForCompletion: false,
					options: {},
				},
			},
		],
		connections: {
			'Scan Request': { main: [[{ node: 'One Item per Machine', type: 'main', index: 0 }]] },
			'One Item per Machine': { main: [[{ node: 'Run Antivirus Scan', type: 'main', index: 0 }]] },
		},
		pinData: {},
	};
}

const newEncryptionKey = () => crypto.randomBytes(24).toString('base64url');

module.exports = {
	...harness,
	services,
	processEnv,
	queueEnv,
	copyCommunityPackages,
	installCommunityPackageCached,
	migratedDatabase,
	spawnN8n,
	startMain,
	startWorker,
	workerExecutions,
	enqueuedExecutions,
	parseExecutionData,
	newEncryptionKey,
	stripAnsi,
	childPids,
	scanWorkflow,
	SCAN_WORKFLOW_ID,
	SCAN_WEBHOOK_PATH,
};
