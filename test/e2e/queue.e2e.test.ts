/**
 * Queue mode: a real n8n 2.41 with EXECUTIONS_MODE=queue — PostgreSQL and Redis started by scripts/services.js
 * (Debian's packages, installed on first use), one main (`n8n start`, which polls) and two workers (`n8n worker`,
 * which run the executions), each with its own user folder holding the packed package as a community package —
 * against the emulator. OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS stays unset: in 2.41 it only moves manual (editor)
 * executions, and every execution here is a trigger or webhook one, which queue mode always hands to a worker (the
 * credential test is no execution: the main runs it). Phases (one cluster, in order):
 *
 *  1. Classic static data. The activation poll emits one High alert whose isolation the emulator holds (acted,
 *     answer delayed); the worker running that execution is killed (SIGKILL) in the middle of it and started again
 *     on its own user folder, as a process manager would. More alerts arrive; n8n settles the dead worker's
 *     execution its own way (what it does is recorded, not prescribed).
 *  2. The main restarts, switching to durable poll cursors (poller_state): alerts created before, during and after.
 *  3. The credential test, through the REST endpoint the editor uses.
 *  4. 300 Run Antivirus Scan items over two workers, two webhook executions, against Defender's 100-per-minute
 *     limit (the emulator's, time-scaled), each worker with its own token cache and rate limiter.
 *  5. Every alert version emitted exactly once, every execution run by a worker (the workers' own logs), no machine
 *     isolated twice, and the trigger's state read back from PostgreSQL (workflow_entity.staticData, poller_state).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { startEmulator, type Emulator } from '../emulator';

// Plain JS helpers shared with the other e2e test and `npm start`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const q = require('../../scripts/queue-harness');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harness = require('../../scripts/n8n-harness');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const demo = require('../../scripts/demo-workflow');

type Json = Record<string, any>;

const DURABLE_ENV: Record<string, string> = harness.DURABLE_CURSORS_ENV;
const OWNER = { email: 'owner@example.com', firstName: 'Sam', lastName: 'Soc', password: 'E2e-password-1' };
const TRIGGER = 'Defender Alerts';
const SCAN_NODE = 'Run Antivirus Scan';
/** Two webhook executions of 150 items: one per worker. */
const SCAN_EXECUTIONS = 2;
const SCAN_ITEMS_EACH = 150;
/** Defender's limits (100 calls per minute per endpoint) with the emulator's minute lasting 30 s. */
const RATE_LIMIT_TIME_SCALE = 2;
/** One job at a time per worker: the two scan executions then land on both workers, whatever order they poll in. */
const WORKER_CONCURRENCY = 1;

const work = mkdtempSync(join(tmpdir(), 'mde-queue-e2e-'));
const timings: Array<{ step: string; s: number }> = [];
const report: Json = {};
let failedStep: string | undefined;

let n8nPaths: Json;
let postgres: Json;
let redis: Json;
let emu: Emulator;
let database: string;
let main: Json;
const mains: Json[] = [];
const workers: Json[] = [];
let cookie: string;
let apiKey: string;
let baseOptions: Json;
let tarball: string;
let mainPort: number;

async function timed<T>(step: string, fn: () => Promise<T> | T): Promise<T> {
	const started = Date.now();
	try {
		return await fn();
	} finally {
		const s = Math.round((Date.now() - started) / 100) / 10;
		timings.push({ step, s });
		process.stdout.write(`[queue e2e] ${step}: ${s} s\n`);
	}
}

/** Later steps build on earlier ones: after a failure they stop at once instead of failing obscurely. */
async function step(name: string, fn: () => Promise<void>): Promise<void> {
	if (failedStep) throw new Error(`not run: "${failedStep}" failed`);
	try {
		await timed(name, fn);
	} catch (error) {
		failedStep = name;
		throw error;
	}
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000, everyMs = 1000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	while (Date.now() < deadline) {
		try {
			const value = await probe();
			if (value !== undefined) return value;
		} catch (error) {
			last = error;
		}
		await new Promise((r) => setTimeout(r, everyMs));
	}
	throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const sql = (query: string): Json[] => postgres.query(database, query);

/** A worker's options: its own user folder (a copy of the main's community packages), ports and log. */
async function workerOptions(name: string, userFolder: string): Promise<Json> {
	const [port, brokerPort] = [await q.freePort(), await q.freePort()];
	return { ...baseOptions, userFolder, name, port, brokerPort, concurrency: WORKER_CONCURRENCY, logFile: join(work, `${name}.log`) };
}

async function startMain(label: string, env: Record<string, string>): Promise<void> {
	main = await q.startMain(n8nPaths, {
		...baseOptions,
		env: { ...baseOptions.env, ...env },
		name: label,
		port: mainPort,
		brokerPort: await q.freePort(),
		logFile: join(work, `${label}.log`),
	});
	mains.push(main);
	cookie = await q.ownerCookie(main.url, OWNER);
	apiKey = await q.apiKey(main.url, cookie);
}

async function executions(workflowId: string): Promise<Json[]> {
	return await q.executions(main.url, apiKey, workflowId);
}

/** Items a node produced in the executions' stored run data. */
function nodeItems(list: Json[], node: string): Json[] {
	return list.flatMap((e) => (e.data?.resultData?.runData?.[node] ?? []).flatMap((run: Json) => (run.data?.main?.[0] ?? []).map((i: Json) => i.json)));
}

const versionKey = (alert: Json): string => `${alert.id}@${alert.lastUpdateTime}`;

// ---------------------------------------------------------------------------------------------------------- state

const machines: Json[] = [];
const alertIds: string[] = [];
const highs: Json[] = [];
/** The execution running when its worker was killed, and the trigger items n8n had stored for it. */
let killed: { executionId: string; worker: string; items: Json[]; statusAfter?: string; settledAfterS?: number } | undefined;
let classicState: Json | undefined;
const lowIds: string[] = [];

function seed(severity: string, machine: Json): Json {
	const alert = emu.alerts.create({ severity: severity as never, status: 'New', machineId: machine.id, computerDnsName: machine.computerDnsName });
	alertIds.push(alert.id);
	if (severity === 'High') highs.push(alert);
	if (severity === 'Low' || severity === 'Informational') lowIds.push(alert.id);
	return alert;
}

/** The alerts the trigger's filter (High, Medium) lets through, newest versions. */
function matching(): Json[] {
	return alertIds.map((id) => emu.alerts.get(id) as unknown as Json).filter((a) => ['High', 'Medium'].includes(a.severity));
}

/** Trigger items per execution: stored run data, and for the killed execution what n8n had stored before the kill. */
async function emittedByExecution(): Promise<Map<string, Json[]>> {
	const byExecution = new Map<string, Json[]>();
	for (const execution of await executions(demo.WORKFLOW_ID)) byExecution.set(String(execution.id), nodeItems([execution], TRIGGER));
	if (killed) byExecution.set(killed.executionId, killed.items);
	return byExecution;
}

async function emitted(): Promise<Json[]> {
	return [...(await emittedByExecution()).values()].flat();
}

function commented(alertId: string): boolean {
	return ((emu.alerts.get(alertId) as unknown as Json).comments as Json[]).some((c) => /isolated by n8n/.test(c.comment));
}

const isolations = (): Json[] => emu.machineActions.all().filter((a) => a.type === 'Isolate') as unknown as Json[];

/** Which worker's log says it started the execution. */
function ranOn(executionId: string): string[] {
	return workers.filter((w) => q.workerExecutions(w).started.includes(String(executionId))).map((w) => w.name);
}

/** The stored execution data (flatted) of one execution, parsed; its trigger items wherever they are. */
function storedTriggerItems(executionId: string): Json[] {
	const [row] = sql(`SELECT data FROM execution_data WHERE "executionId" = ${Number(executionId)}`);
	if (!row) return [];
	const data = q.parseExecutionData(n8nPaths, typeof row.data === 'string' ? row.data : JSON.stringify(row.data));
	const fromRunData = (data.resultData?.runData?.[TRIGGER] ?? []).flatMap((run: Json) => (run.data?.main?.[0] ?? []).map((i: Json) => i.json));
	const fromStack = (data.executionData?.nodeExecutionStack ?? [])
		.filter((entry: Json) => entry.node?.name === TRIGGER)
		.flatMap((entry: Json) => (entry.data?.main?.[0] ?? []).map((i: Json) => i.json));
	return fromRunData.length ? fromRunData : fromStack;
}

function parseJson(value: unknown): Json | null {
	if (value === null || value === undefined) return null;
	return typeof value === 'string' ? JSON.parse(value) : (value as Json);
}

// ---------------------------------------------------------------------------------------------------------- setup

beforeAll(async () => {
	await timed('install n8n (cached) and pack the package', async () => {
		n8nPaths = q.install();
		tarball = q.packPackage(join(work, 'pack'));
	});
	[postgres, redis] = await timed('PostgreSQL and Redis (scripts/services.js)', async () => [await q.services.ensurePostgres(), await q.services.ensureRedis()]);
	report.services = {
		postgres: `PostgreSQL ${postgres.version} on 127.0.0.1:${postgres.port}`,
		redis: `Redis ${redis.version} on 127.0.0.1:${redis.port}`,
		steps: [...postgres.timings, ...redis.timings].map((t: Json) => `${t.step}: ${(t.ms / 1000).toFixed(1)} s`),
	};
	emu = await startEmulator({ machineActionStepMs: 500, rateLimits: true, rateLimitTimeScale: RATE_LIMIT_TIME_SCALE });

	const userFolder = join(work, 'main');
	database = `mde_queue_${process.pid}_${Date.now()}`;
	// Databases of earlier runs that died before their clean-up (the cluster outlives runs; its template is the cache).
	for (const { datname } of postgres.query('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'mde_queue_%'")) {
		if (!q.services.alive(Number(String(datname).split('_')[2]))) postgres.dropDatabase(datname);
	}
	const dbTimings: Json[] = [];
	await timed('database (migrated template copy)', () => q.migratedDatabase(n8nPaths, postgres, { name: database, userFolder, caCertPath: emu.caCertPath, timings: dbTimings }));
	report.services.steps.push(...dbTimings.map((t) => `${t.step}: ${(t.ms / 1000).toFixed(1)} s`));
	baseOptions = {
		userFolder,
		caCertPath: emu.caCertPath,
		env: q.queueEnv({ postgres, database, redis, encryptionKey: q.newEncryptionKey(), bullPrefix: `mde${process.pid}` }),
	};
	mainPort = await q.freePort();
	await timed('community package into each process\'s user folder', () => {
		report.communityPackageInstall = q.installCommunityPackageCached(userFolder, tarball).cached ? 'cached install of this tarball' : 'npm install';
		for (const worker of ['worker-1', 'worker-2']) q.copyCommunityPackages(userFolder, join(work, worker));
	});
	await timed('import credential and workflows, publish', () => {
		const cli = { ...baseOptions, port: mainPort, brokerPort: 1 };
		writeFileSync(join(work, 'credentials.json'), JSON.stringify([demo.emulatorCredential(emu)]));
		writeFileSync(join(work, 'triage.json'), JSON.stringify(demo.triageWorkflow({ isolationPollInterval: 1 })));
		writeFileSync(join(work, 'scan.json'), JSON.stringify(q.scanWorkflow()));
		q.n8nCli(n8nPaths, cli, ['import:credentials', `--input=${join(work, 'credentials.json')}`]);
		for (const [file, id] of [
			['triage.json', demo.WORKFLOW_ID],
			['scan.json', q.SCAN_WORKFLOW_ID],
		]) {
			q.n8nCli(n8nPaths, cli, ['import:workflow', `--input=${join(work, file)}`]);
			q.n8nCli(n8nPaths, cli, ['publish:workflow', `--id=${id}`]);
		}
	});
}, 30 * 60 * 1000);

afterAll(async () => {
	await Promise.all([...mains, ...workers].map((p) => p.stop().catch(() => undefined)));
	await emu?.close();
	if (postgres && database && !process.env.MDE_KEEP_QUEUE_DB) postgres.dropDatabase(database);
	await redis?.stop();
	await postgres?.stop();
	// The logs stay in the work folder; the copies of the installed package (hundreds of MB each) go.
	for (const folder of ['main', 'worker-1', 'worker-2']) rmSync(join(work, folder, '.n8n', 'nodes'), { recursive: true, force: true });
	report.timings = timings;
	report.logs = work;
	process.stdout.write(`[queue e2e] report ${JSON.stringify(report, null, 1)}\n`);
}, 5 * 60 * 1000);

// ---------------------------------------------------------------------------------------------------------- tests

test('a main and two workers start in queue mode, each loading the community package from its own user folder', async () => {
	await step('start main + 2 workers (classic static data)', async () => {
		machines.push(...emu.machines.seed(9));
		// The alert of the execution the kill will interrupt: the only one the activation poll finds. Its isolation
		// is acted on at once (the action exists in Defender) and answered two minutes later.
		const doomed = seed('High', machines[8]);
		emu.faults.inject({ kind: 'slow', after: true, delayMs: 120_000, match: new RegExp(`^POST /api/machines/${machines[8].id}/isolate$`, 'i') });
		report.killedAlert = doomed.id;

		const options = [await workerOptions('worker-1', join(work, 'worker-1')), await workerOptions('worker-2', join(work, 'worker-2'))];
		await Promise.all([startMain('main-1', {}), ...options.map(async (o) => workers.push(await q.startWorker(n8nPaths, o)))]);
		report.startSeconds = Object.fromEntries([main, ...workers].map((p) => [p.name, Math.round(p.startMs / 100) / 10]));
	});
	const types = await q.httpJson(`${main.url}/types/nodes.json`, { headers: { cookie } });
	expect((types.json as Json[]).map((t) => t.name)).toEqual(
		expect.arrayContaining([`${q.PACKAGE_NAME}.microsoftDefenderTrigger`, `${q.PACKAGE_NAME}.microsoftDefender`]),
	);
	for (const p of [main, ...workers]) expect(q.stripAnsi(p.text())).not.toMatch(/Failed to load package/);
	for (const worker of workers) expect(q.stripAnsi(worker.text())).toMatch(/n8n worker is now ready[\s\S]*Concurrency: 1/);
});

test('a worker killed (SIGKILL) in the middle of an execution: the execution is n8n\'s to settle, nothing is emitted again', async () => {
	let killedWorker: Json | undefined;
	await step('kill the worker running the held isolation', async () => {
		const machineId = machines[8].id;
		await waitFor('the held isolation of the activation poll\'s alert', async () => (isolations().some((a) => a.machineId === machineId) ? true : undefined), 120_000, 250);
		const running = await waitFor(
			'the worker running it',
			async () => {
				const busy = workers.filter((w) => q.workerExecutions(w).running.length > 0);
				return busy.length === 1 ? { worker: busy[0], executionId: q.workerExecutions(busy[0]).running[0] as string } : undefined;
			},
			30_000,
			100,
		);
		const [row] = sql(`SELECT status, "workflowId", mode FROM execution_entity WHERE id = ${Number(running.executionId)}`);
		expect(row).toMatchObject({ status: 'running', workflowId: demo.WORKFLOW_ID, mode: 'trigger' });
		// What the trigger handed to n8n for this execution, as n8n stored it when the main enqueued it.
		const items = storedTriggerItems(running.executionId);
		expect(items.map((a) => a.id)).toEqual([report.killedAlert]);
		await running.worker.kill();
		killedWorker = running.worker;
		killed = { executionId: running.executionId, worker: running.worker.name, items };
		report.killed = { executionId: killed.executionId, worker: killed.worker, alert: report.killedAlert };
	});
	const killedAt = Date.now();
	const sinceKill = () => Math.round((Date.now() - killedAt) / 1000);

	// The killed worker comes back (as a process manager restarts it: same user folder), and alerts arrive for the
	// next scheduled poll meanwhile.
	const restarted = workerOptions(`${killed!.worker}-restarted`, killedWorker!.userFolder ?? join(work, killed!.worker)).then(async (o) => {
		const w = await q.startWorker(n8nPaths, o);
		workers.push(w);
		report.startSeconds[w.name] = Math.round(w.startMs / 100) / 10;
	});
	seed('High', machines[0]);
	seed('High', machines[1]);
	seed('Medium', machines[2]);
	seed('Medium', machines[3]);
	seed('Low', machines[4]);
	seed('Informational', machines[4]);

	const statuses: string[] = [];
	await step('n8n settles the killed execution; the alerts that arrived meanwhile are handled', async () => {
		await restarted;
		// Settled when the main has given up on it (Bull finds the job stalled once its lock expires; n8n allows no
		// retry) and nothing holds it as running any more.
		await waitFor(
			'n8n to settle the killed execution',
			async () => {
				const [row] = sql(`SELECT status FROM execution_entity WHERE id = ${Number(killed!.executionId)}`);
				const status = `${row?.status} (+${sinceKill()} s)`;
				if (row && statuses[statuses.length - 1]?.split(' ')[0] !== row.status) statuses.push(status);
				const gaveUp = new RegExp(`Problem with execution ${killed!.executionId}: `).test(q.stripAnsi(main.text()));
				return gaveUp && row && !['running', 'new'].includes(row.status) ? row.status : undefined;
			},
			240_000,
			1000,
		);
		killed!.statusAfter = statuses[statuses.length - 1]?.split(' ')[0];
		killed!.settledAfterS = sinceKill();
		await waitFor('the alerts that arrived after the kill, isolated and commented', async () => {
			const got = new Set((await emitted()).map((a) => a.id));
			return matching().every((a) => got.has(a.id)) && highs.slice(1).every((h) => commented(h.id)) ? true : undefined;
		});
	});
	report.killed.statuses = statuses;
	report.killed.settledAfterSeconds = killed!.settledAfterS;
	report.killed.mainSaid = (q.stripAnsi(main.text()).match(new RegExp(`Problem with execution ${killed!.executionId}: [^\\n]*`)) ?? [])[0];
	// n8n does not run it again: no worker started it a second time, and its alert is in no other execution.
	expect(ranOn(killed!.executionId)).toEqual([killed!.worker]);
	const byExecution = await emittedByExecution();
	const holders = [...byExecution].filter(([, items]) => items.some((a) => a.id === report.killedAlert)).map(([id]) => id);
	expect(holders).toEqual([killed!.executionId]);
	expect(killed!.statusAfter).not.toBe('success');
	// Its isolation reached Defender once (before the kill) and was never sent again.
	expect(isolations().filter((a) => a.machineId === machines[8].id)).toHaveLength(1);
});

test('the main restarts (classic static data → durable poll cursors) while alerts keep arriving', async () => {
	await step('restart the main, switching to durable cursors', async () => {
		await main.stop();
		// Classic mode: the cursor is in the workflow's static data; poller_state has nothing for the workflow.
		const [row] = sql(`SELECT "staticData" FROM workflow_entity WHERE id = '${demo.WORKFLOW_ID}'`);
		classicState = parseJson(row.staticData)?.[`node:${TRIGGER}`]?.alertCursor;
		expect(classicState).toMatchObject({ version: 1, cursorField: 'lastUpdateTime', source: 'mde', tenant: emu.tenantId.toLowerCase() });
		expect(sql(`SELECT * FROM poller_state WHERE "workflowId" = '${demo.WORKFLOW_ID}'`)).toEqual([]);

		// While the main is down (the workers keep running): a High and a Medium alert, and an update.
		seed('High', machines[5]);
		seed('Medium', machines[6]);
		emu.alerts.update(highs[1].id, { status: 'InProgress' });
		await startMain('main-2', DURABLE_ENV);
		seed('Medium', machines[7]);
	});
	await step('every alert version after the restart', async () => {
		await waitFor('every alert version after the restart', async () => {
			const got = new Set((await emitted()).map(versionKey));
			return matching().every((a) => got.has(versionKey(a))) && highs.filter((h) => h.id !== report.killedAlert).every((h) => commented(h.id)) ? true : undefined;
		});
	});
});

test('the credential test works', async () => {
	const credential = demo.emulatorCredential(emu);
	const ok = await q.httpJson(`${main.url}/rest/credentials/test`, { method: 'POST', headers: { cookie }, body: { credentials: credential } });
	expect(ok.json.data).toMatchObject({ status: 'OK', message: expect.stringMatching(/^Connected\. Roles granted: .*Alert\.ReadWrite\.All/) });
	const bad = { ...credential, data: { ...credential.data, clientSecret: 'definitely-the-wrong-secret' } };
	const failed = await q.httpJson(`${main.url}/rest/credentials/test`, { method: 'POST', headers: { cookie }, body: { credentials: bad } });
	expect(failed.json.data).toMatchObject({ status: 'Error', message: expect.stringMatching(/^The client secret is wrong\./) });
});

test('300 Run Antivirus Scan items over two workers against the 100-per-minute limit: 0 failed', async () => {
	const scanMachines = emu.machines.seed(SCAN_EXECUTIONS * SCAN_ITEMS_EACH);
	let startedAt = 0;
	let scanExecutions: Json[] = [];
	await step('300 antivirus scans', async () => {
		startedAt = Date.now();
		const responses = await Promise.all(
			Array.from({ length: SCAN_EXECUTIONS }, (_, i) =>
				q.httpJson(`${main.url}/webhook/${q.SCAN_WEBHOOK_PATH}`, {
					method: 'POST',
					body: { machines: scanMachines.slice(i * SCAN_ITEMS_EACH, (i + 1) * SCAN_ITEMS_EACH).map((m) => ({ machineId: m.id })) },
				}),
			),
		);
		expect(responses.map((r: Json) => r.status)).toEqual(Array(SCAN_EXECUTIONS).fill(200));
		scanExecutions = await waitFor(
			'the scan executions',
			async () => {
				const list = await executions(q.SCAN_WORKFLOW_ID);
				return list.length === SCAN_EXECUTIONS && list.every((e) => e.finished || ['success', 'error', 'crashed'].includes(e.status)) ? list : undefined;
			},
			300_000,
			1000,
		);
	});
	const seconds = Math.round((Math.max(...scanExecutions.map((e) => Date.parse(e.stoppedAt))) - startedAt) / 100) / 10;
	expect(scanExecutions.map((e) => [e.mode, e.status])).toEqual(Array(SCAN_EXECUTIONS).fill(['webhook', 'success']));
	const items = nodeItems(scanExecutions, SCAN_NODE);
	const failedItems = items.filter((i) => i.error !== undefined || i.type !== 'RunAntiVirusScan');
	expect(failedItems).toEqual([]);
	expect(items).toHaveLength(SCAN_EXECUTIONS * SCAN_ITEMS_EACH);
	expect(new Set(items.map((i) => i.machineId))).toEqual(new Set(scanMachines.map((m) => m.id)));
	// In Defender: one scan per machine (none queued twice).
	const scans = emu.machineActions.all().filter((a) => a.type === 'RunAntiVirusScan');
	expect(scans).toHaveLength(SCAN_EXECUTIONS * SCAN_ITEMS_EACH);
	expect(new Set(scans.map((a) => a.machineId)).size).toBe(SCAN_EXECUTIONS * SCAN_ITEMS_EACH);

	// Spread over both live workers, each execution on one.
	const perWorker: Record<string, number> = {};
	for (const e of scanExecutions) {
		const on = ranOn(e.id);
		expect(on).toHaveLength(1);
		perWorker[on[0]] = (perWorker[on[0]] ?? 0) + 1;
	}
	expect(Object.keys(perWorker).sort()).toEqual(workers.filter((w) => !w.exited()).map((w) => w.name).sort());

	// What the API saw: 429s the nodes absorbed (waited out Retry-After and sent again), and sign-ins.
	const window = emu.requestLog.filter((r) => r.realTime >= startedAt);
	const throttled = window.filter((r) => r.status === 429 && !r.fault);
	const byRoute: Record<string, number> = {};
	for (const r of throttled) byRoute[r.key] = (byRoute[r.key] ?? 0) + 1;
	const posts = window.filter((r) => r.method === 'POST' && /\/runAntiVirusScan$/i.test(r.path));
	const tokenRequests = window.filter((r) => /oauth2\/v2\.0\/token$/.test(r.path)).length;
	expect(posts.filter((r) => r.status === 201)).toHaveLength(SCAN_EXECUTIONS * SCAN_ITEMS_EACH);
	// Each worker signs in at most once (its MSAL cache), not once per item or per execution.
	expect(tokenRequests).toBeLessThanOrEqual(Object.keys(perWorker).length);
	const windowMs = 60_000 / RATE_LIMIT_TIME_SCALE;
	// When each execution ran, and what the API saw in 5-second steps (admitted / 429) on the two throttled routes.
	const timeline = scanExecutions.map((e) => ({
		execution: e.id,
		worker: ranOn(e.id)[0],
		from: Math.round((Date.parse(e.startedAt) - startedAt) / 100) / 10,
		to: Math.round((Date.parse(e.stoppedAt) - startedAt) / 100) / 10,
	}));
	const steps: Record<string, string> = {};
	for (const r of window.filter((r) => /\/runAntiVirusScan$/i.test(r.path) || r.key === 'GET /api/machineactions')) {
		const at = `${Math.floor((r.realTime - startedAt) / 5000) * 5}s ${r.method}`;
		const [ok, limited] = (steps[at] ?? '0/0').split('/').map(Number);
		steps[at] = r.status === 429 ? `${ok}/${limited + 1}` : `${ok + 1}/${limited}`;
	}
	report.scanTimeline = { executions: timeline, requests: steps };
	report.scan = {
		items: items.length,
		failedItems: failedItems.length,
		executionsPerWorker: perWorker,
		seconds,
		rateLimit: `100 per ${windowMs / 1000} s (Defender's 100/min, emulator time scale ${RATE_LIMIT_TIME_SCALE})`,
		absorbed429: throttled.length,
		absorbed429ByRoute: byRoute,
		scanPosts: posts.length,
		tokenRequests,
		tokenRequestsWholeRun: emu.stats().tokenRequests,
	};
});

test('every alert version exactly once, every execution on a worker, no machine isolated twice; the state in PostgreSQL', async () => {
	// Exactly once: each alert version in one execution only (the killed one counted by what n8n had stored for it).
	const all = await emitted();
	const counts = new Map<string, number>();
	for (const a of all) counts.set(versionKey(a), (counts.get(versionKey(a)) ?? 0) + 1);
	expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
	for (const alert of matching()) expect(counts.get(versionKey(alert))).toBe(1);
	expect(new Set(all.map((a) => a.id))).toEqual(new Set(matching().map((a) => a.id)));
	expect(all.some((a) => lowIds.includes(a.id))).toBe(false);
	// Each High alert's machine isolated exactly once (the killed execution's too: Defender acted before the kill),
	// and no machine twice.
	const perMachine = new Map<string, number>();
	for (const a of isolations()) perMachine.set(a.machineId, (perMachine.get(a.machineId) ?? 0) + 1);
	expect([...perMachine.values()].every((n) => n === 1)).toBe(true);
	expect([...perMachine.keys()].sort()).toEqual(highs.map((h) => h.machineId).sort());
	// Comments: one per High alert whose execution finished; none for the killed one.
	for (const h of highs) {
		const comments = ((emu.alerts.get(h.id) as unknown as Json).comments as Json[]).filter((c) => /isolated by n8n/.test(c.comment));
		expect(comments).toHaveLength(h.id === report.killedAlert ? 0 : 1);
	}

	// Every execution of both workflows was enqueued by a main and started by exactly one worker (its own log).
	const triage = await executions(demo.WORKFLOW_ID);
	const scan = await executions(q.SCAN_WORKFLOW_ID);
	const enqueued = new Set(mains.flatMap((m) => q.enqueuedExecutions(m)));
	const perWorker: Record<string, { triage: number; scan: number }> = Object.fromEntries(workers.map((w) => [w.name, { triage: 0, scan: 0 }]));
	for (const [kind, list] of [
		['triage', triage],
		['scan', scan],
	] as const) {
		for (const e of list) {
			expect(enqueued.has(String(e.id))).toBe(true);
			const on = ranOn(e.id);
			expect(on).toHaveLength(1);
			perWorker[on[0]][kind]++;
		}
	}
	expect(triage.filter((e) => String(e.id) !== killed!.executionId && e.status !== 'success')).toEqual([]);
	expect(triage.every((e) => e.mode === 'trigger')).toBe(true);
	report.executions = { triage: triage.length, scan: scan.length, perWorker };
	report.alerts = { versionsEmitted: all.length, alerts: matching().length, isolatedMachines: perMachine.size };

	// The trigger's state, read back from PostgreSQL with every process stopped.
	await Promise.all([...mains, ...workers].map((p) => p.stop()));
	const [row] = sql(`SELECT "staticData" FROM workflow_entity WHERE id = '${demo.WORKFLOW_ID}'`);
	const pollerRows = sql(`SELECT * FROM poller_state WHERE "workflowId" = '${demo.WORKFLOW_ID}'`);
	expect(pollerRows).toHaveLength(1);
	const durableState = parseJson(pollerRows[0].cursor)?.alertCursor;
	const cursorShape = { version: 1, cursorField: 'lastUpdateTime', source: 'mde', tenant: emu.tenantId.toLowerCase() };
	expect(durableState).toMatchObject(cursorShape);
	// The durable cursor started from the classic one (n8n copies the static data into poller_state on the first
	// durable poll) and has moved past it; the static data column keeps the classic copy, no longer written.
	expect(durableState.highWater > classicState!.highWater).toBe(true);
	expect(parseJson(row.staticData)?.[`node:${TRIGGER}`]?.alertCursor).toEqual(classicState);
	const newest = all.map((a) => a.lastUpdateTime).sort().pop();
	expect(durableState.highWater >= newest!).toBe(true);
	report.state = { classicHighWater: classicState!.highWater, durableHighWater: durableState.highWater, newestEmitted: newest };
});
