/**
 * The same `npm pack` tarball in a real n8n 1.123 (the newest 1.x the registry serves), SQLite and n8n's classic
 * static data: the "Defender alert triage" and "Defender incident triage" workflows against the emulator, the
 * credential test through n8n's REST API, and an n8n restart. The checks mirror n8n.e2e.test.ts (classic scenario).
 *
 * What differs from 2.x is read from the installed n8n (harness.n8nFeatures), not assumed: 1.123 has no
 * `publish:workflow` (the harness activates with `update:workflow --active=true`), no `getPollBudgetMs` (the
 * trigger falls back to its own 5-minute budget), no durable cursors (no `__commitCursor`; the cursor is in
 * `workflow_entity.staticData`). N8N_1_VERSION picks another 1.x.
 *
 * n8n 1.x saves a workflow's static data only when the workflow ID has at most 16 characters (`isWorkflowIdValid`
 * in n8n 1.123's utils.js; 2.41 allows 21; harness.n8nFeatures reads the limit). IDs n8n generates have 16, and
 * so do the demo's; a longer ID (as an earlier demo had) would silently lose the trigger's cursor on every
 * restart, so any longer ID is imported here under a 16-character one.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { startEmulator, type Emulator } from '../emulator';

// Plain JS helpers shared with `npm start`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harness = require('../../scripts/n8n-harness');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const demo = require('../../scripts/demo-workflow');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { N8N_1_VERSION } = require('../../scripts/n8n-install');

type Json = Record<string, any>;

const VERSION: string = process.env.N8N_1_VERSION || N8N_1_VERSION;
const OWNER = { email: 'owner@example.com', firstName: 'Sam', lastName: 'Soc', password: 'E2e-password-1' };
const ALERT_TRIGGER = 'Defender Alerts';
const INCIDENT_TRIGGER = 'Defender Incidents';
/** The comment the incident workflow writes: "Triaged by n8n: <alerts> alert(s), severity <severity>, assigned to <upn>." */
const TRIAGE_COMMENT = /^Triaged by n8n: (\d+) alert\(s\), severity (\w+), assigned to (\S+)\.$/;
/** The demo's IDs, or 16-character ones where this n8n would not save a longer ID's static data (file comment). */
let ALERT_WORKFLOW_ID: string;
let INCIDENT_WORKFLOW_ID: string;
const fitting = (id: string, short: string): string => (id.length <= (features.maxWorkflowIdLength ?? 16) ? id : short);

let n8nPaths: Json;
let features: Json;
let tarball: string;
let emu: Emulator;
const work = mkdtempSync(join(tmpdir(), 'mde-e2e-n8n1-'));

beforeAll(async () => {
	const started = Date.now();
	n8nPaths = harness.install(VERSION);
	features = harness.n8nFeatures(n8nPaths);
	ALERT_WORKFLOW_ID = fitting(demo.WORKFLOW_ID, 'mdeAlertTriag001');
	INCIDENT_WORKFLOW_ID = fitting(demo.INCIDENT_WORKFLOW_ID, 'mdeIncTriage0001');
	// eslint-disable-next-line no-console
	console.log(`n8n ${VERSION} install (cached after the first run): ${Math.round((Date.now() - started) / 1000)} s; features ${JSON.stringify(features)}`);
	tarball = harness.packPackage(join(work, 'pack'));
	emu = await startEmulator({ machineActionStepMs: 500 });
}, 30 * 60 * 1000);
afterAll(async () => {
	await emu?.close();
});

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 150_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	while (Date.now() < deadline) {
		try {
			if (await probe()) return;
		} catch (error) {
			last = error;
		}
		await new Promise((r) => setTimeout(r, 2000));
	}
	throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Items each node produced, across all executions. */
function nodeItems(executions: Json[], node: string): Json[] {
	return executions.flatMap((e) =>
		(e.data?.resultData?.runData?.[node] ?? []).flatMap((run: Json) => (run.data?.main?.[0] ?? []).map((i: Json) => i.json)),
	);
}
const versionKey = (alert: Json): string => `${alert.id}@${alert.lastUpdateTime}`;
const byNumber = (a: string, b: string): number => Number(a) - Number(b);
const alert = (id: string): Json => emu.alerts.get(id) as unknown as Json;
const incident = (id: string): Json => emu.incidents.get(id) as unknown as Json;
const triageComments = (id: string): Json[] => ((incident(id)?.comments ?? []) as Json[]).filter((c) => TRIAGE_COMMENT.test(c.comment));
/** Successful calls n8n made to one incident (PATCH …/incidents/<id>, POST …/incidents/<id>/comments). */
const incidentWrites = (id: string, method: string, suffix = ''): number =>
	emu.requestLog.filter((r) => r.method === method && r.path === `/v1.0/security/incidents/${id}${suffix}` && r.status === 200).length;

test(`n8n ${VERSION}, classic static data: alert and incident triage, the credential test, a restart`, async () => {
	const scenarioStarted = Date.now();
	const userFolder = join(work, 'user');
	const options = {
		userFolder,
		port: await harness.freePort(),
		brokerPort: await harness.freePort(),
		caCertPath: emu.caCertPath,
		logFile: join(work, 'n8n.log'),
	};
	expect(features.version).toBe(VERSION);
	harness.installCommunityPackage(userFolder, tarball);
	writeFileSync(join(work, 'credentials.json'), JSON.stringify([demo.emulatorCredential(emu)]));
	harness.n8nCli(n8nPaths, options, ['import:credentials', `--input=${join(work, 'credentials.json')}`]);
	for (const [file, workflow] of [
		['alert-workflow.json', { ...demo.triageWorkflow({ isolationPollInterval: 1 }), id: ALERT_WORKFLOW_ID }],
		['incident-workflow.json', { ...demo.incidentTriageWorkflow(), id: INCIDENT_WORKFLOW_ID }],
	]) {
		writeFileSync(join(work, file), JSON.stringify(workflow));
		harness.n8nCli(n8nPaths, options, ['import:workflow', `--input=${join(work, file)}`]);
		expect(harness.publishWorkflow(n8nPaths, options, workflow.id)).toBe(features.publishCommand);
	}

	// Seeded before start: High alerts on distinct machines, Medium, and Low ones the filters exclude.
	const machines = emu.machines.seed(8);
	const ids: string[] = [];
	const seed = (severity: string, machine: Json): Json => {
		const created = emu.alerts.create({ severity: severity as never, status: 'New', machineId: machine.id, computerDnsName: machine.computerDnsName });
		ids.push(created.id);
		return created as unknown as Json;
	};
	const highs = [seed('High', machines[0]), seed('High', machines[1])];
	seed('Medium', machines[2]);
	seed('Medium', machines[3]);
	seed('Low', machines[4]);
	seed('Informational', machines[4]);
	const matching = (): Json[] => ids.map(alert).filter((a) => ['High', 'Medium'].includes(a.severity));
	// Incidents with several alerts and createdDateTime ties (Low/Informational alerts: outside the alert filter).
	const openIncident = (partial: Json = {}): string => String(emu.alerts.create({ severity: 'Low', status: 'New', ...partial } as never).incidentId);
	const joinIncident = (id: string): void => void emu.incidents.createAlert(id, { severity: 'Informational', status: 'New' } as never);
	const tied = new Date(Date.now() - 120_000).toISOString();
	const incA = openIncident({ alertCreationTime: tied });
	joinIncident(incA);
	const incB = openIncident({ alertCreationTime: tied, severity: 'Informational' });
	const resolved = openIncident();
	emu.incidents.update(resolved, { status: 'resolved' });
	const atStart = emu.incidents
		.list()
		.map((i) => i.id)
		.filter((id) => id !== resolved);
	/** How many alerts each incident has when the trigger first sees it. */
	const alertCounts = new Map<string, number>(atStart.map((id) => [id, emu.incidents.alerts(id).length]));

	let n8n = await harness.startN8n(n8nPaths, options);
	try {
		const cookie = await harness.ownerCookie(n8n.url, OWNER);
		const key = await harness.apiKey(n8n.url, cookie);
		alertCounts.set(openIncident(), 1);

		// The community package's node types.
		const types = await harness.httpJson(`${n8n.url}/types/nodes.json`, { headers: { cookie } });
		expect((types.json as Json[]).map((t) => t.name)).toEqual(
			expect.arrayContaining([`${harness.PACKAGE_NAME}.microsoftDefenderTrigger`, `${harness.PACKAGE_NAME}.microsoftDefender`]),
		);

		const allExecutions = async (): Promise<Json[]> => await harness.executions(n8n.url, key, ALERT_WORKFLOW_ID);
		const emittedNow = async (): Promise<Json[]> => nodeItems(await allExecutions(), ALERT_TRIGGER);
		await waitFor('the seeded alerts', async () => (await emittedNow()).length >= matching().length);
		await waitFor('isolations and comments', () => highs.every((h) => (alert(h.id).comments as Json[]).some((c) => /isolated by n8n/.test(c.comment))));

		// Each matching alert once as new, the alert JSON intact, the $jmespath Set node, one isolation per High alert.
		let emitted = await emittedNow();
		const firsts = emitted.filter((a) => a._change?.type === 'new');
		expect(firsts.map((a) => a.id).sort()).toEqual(matching().map((a) => a.id).sort());
		expect(new Set(emitted.map(versionKey)).size).toBe(emitted.length);
		for (const { _change, ...item } of firsts) {
			expect(_change).toMatchObject({ type: 'new' });
			expect(item.title).toBe(alert(item.id).title);
			expect(item.evidence).toEqual(JSON.parse(JSON.stringify(alert(item.id).evidence)));
		}
		for (const row of nodeItems(await allExecutions(), 'Extract Evidence')) {
			const stored = alert(row.alertId);
			expect(row.fileSha256).toEqual((stored.evidence as Json[]).filter((e) => e.entityType === 'File').map((e) => e.sha256));
			expect(row.machineId).toBe(stored.machineId);
		}
		const isolations = emu.requestLog.filter((r) => r.method === 'POST' && /\/isolate$/.test(r.path) && r.status === 201);
		expect(isolations.map((r) => r.path.split('/')[3]).sort()).toEqual(highs.map((h) => h.machineId).sort());

		// An update fires one execution carrying it.
		const medium = matching().find((a) => a.severity === 'Medium') as Json;
		const updated = emu.alerts.update(medium.id, { status: 'InProgress', assignedTo: 'analyst@contoso.com' });
		await waitFor('the update', async () => (await emittedNow()).some((a) => a.id === medium.id && a.lastUpdateTime === updated.lastUpdateTime));
		const updateItems = (await emittedNow()).filter((a) => a.id === medium.id);
		expect(updateItems).toHaveLength(2);
		expect(updateItems[1]._change).toMatchObject({ type: 'update', changedFields: ['status', 'assignedTo'] });

		// The credential test through the REST endpoint the editor's "Test" button calls.
		const credential = demo.emulatorCredential(emu);
		const ok = await harness.httpJson(`${n8n.url}/rest/credentials/test`, { method: 'POST', headers: { cookie }, body: { credentials: credential } });
		expect(ok.json.data).toMatchObject({ status: 'OK', message: expect.stringMatching(/^Connected\. Roles granted: .*Alert\.ReadWrite\.All/) });
		const bad = { ...credential, data: { ...credential.data, clientSecret: 'definitely-the-wrong-secret' } };
		const failed = await harness.httpJson(`${n8n.url}/rest/credentials/test`, { method: 'POST', headers: { cookie }, body: { credentials: bad } });
		expect(failed.json.data).toMatchObject({ status: 'Error', message: expect.stringMatching(/^The client secret is wrong\./) });

		// Incidents of the activation poll triaged; then changes that must not trigger again (Trigger on Updates off).
		await waitFor('the incidents triaged before the restart', () => atStart.every((id) => triageComments(id).length > 0));
		joinIncident(incA);
		emu.incidents.update(incB, { status: 'active' });

		// Restart while alerts and incidents keep arriving.
		await n8n.stop();
		seed('High', machines[5]);
		seed('Medium', machines[6]);
		emu.alerts.update(highs[0].id, { status: 'InProgress' });
		const incC = openIncident({ alertCreationTime: tied });
		joinIncident(incB);
		alertCounts.set(incC, 1);
		n8n = await harness.startN8n(n8nPaths, options);
		seed('Medium', machines[7]);
		joinIncident(incA);
		const incF = openIncident({ alertCreationTime: new Date(Date.now() - 60_000).toISOString() });
		alertCounts.set(incF, 1);

		// Every alert version exactly once, nothing failed.
		const expectedVersions = (): string[] => matching().map(versionKey);
		await waitFor('every alert after the restart', async () => {
			const got = new Set((await emittedNow()).map(versionKey));
			return expectedVersions().every((v) => got.has(v));
		});
		emitted = await emittedNow();
		const counts = new Map<string, number>();
		for (const a of emitted) counts.set(versionKey(a), (counts.get(versionKey(a)) ?? 0) + 1);
		expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
		for (const version of expectedVersions()) expect(counts.get(version)).toBe(1);
		expect(new Set(emitted.map((a) => a.id))).toEqual(new Set(matching().map((a) => a.id)));
		// Updates: the workflow's own comments on every High alert, the analyst's change, the status change during the restart.
		const unexpectedUpdates = emitted.filter((a) => a._change?.type !== 'new' && alert(a.id).severity !== 'High' && a.id !== medium.id);
		expect(unexpectedUpdates.map(versionKey)).toEqual([]);
		expect((await allExecutions()).filter((e) => e.status !== 'success')).toEqual([]);

		// Every active incident handled exactly once across the restart: one trigger item, one PATCH, one comment.
		const expectedIncidents = [...new Set([...ids.map((id) => String(alert(id).incidentId)), ...alertCounts.keys()])].sort(byNumber);
		await waitFor('every incident triaged after the restart', () => expectedIncidents.every((id) => triageComments(id).length > 0));
		expect(
			emu.incidents
				.list()
				.map((i) => i.id)
				.filter((id) => id !== resolved)
				.sort(byNumber),
		).toEqual(expectedIncidents);
		const incidentExecutions = await harness.executions(n8n.url, key, INCIDENT_WORKFLOW_ID);
		expect(incidentExecutions.filter((e: Json) => e.status !== 'success')).toEqual([]);
		const triggered = nodeItems(incidentExecutions, INCIDENT_TRIGGER);
		expect(triggered.map((i) => i.id).sort(byNumber)).toEqual(expectedIncidents);
		expect(nodeItems(incidentExecutions, 'Comment on Incident').map((i) => i.id).sort(byNumber)).toEqual(expectedIncidents);
		for (const item of triggered) {
			expect(item).toMatchObject({ createdDateTime: incident(item.id).createdDateTime, status: 'active' });
			for (const a of item.alerts as Json[]) expect(a.incidentId).toBe(item.id);
			if (alertCounts.has(item.id)) expect(item.alerts).toHaveLength(alertCounts.get(item.id) as number);
			const [, alerts, severity, assignee] = TRIAGE_COMMENT.exec(triageComments(item.id)[0].comment) as RegExpExecArray;
			expect({ alerts: Number(alerts), severity, assignee }).toEqual({ alerts: item.alerts.length, severity: item.severity, assignee: demo.INCIDENT_ASSIGNEE });
			expect(triageComments(item.id)).toHaveLength(1);
			expect(incident(item.id)).toMatchObject({
				assignedTo: demo.INCIDENT_ASSIGNEE,
				customTags: [demo.INCIDENT_TAG],
				status: item.id === incB ? 'active' : 'inProgress',
			});
			expect(incidentWrites(item.id, 'PATCH')).toBe(1);
			expect(incidentWrites(item.id, 'POST', '/comments')).toBe(1);
		}
		expect(incident(incC).createdDateTime).toBe(incident(incA).createdDateTime);
		expect(incident(resolved)).toMatchObject({ status: 'resolved', assignedTo: null, comments: [], customTags: [] });
		expect(incidentWrites(resolved, 'PATCH') + incidentWrites(resolved, 'POST', '/comments')).toBe(0);
	} finally {
		await n8n.stop();
	}

	// Without durable cursors, n8n keeps the trigger's cursor in the workflow's static data.
	expect(features.durableCursors).toBe(false);
	const staticData = (id: string): Json =>
		JSON.parse(harness.queryDatabase(n8nPaths, userFolder, `SELECT staticData FROM workflow_entity WHERE id = '${id}'`)[0].staticData);
	const tenant = emu.tenantId.toLowerCase();
	expect(staticData(ALERT_WORKFLOW_ID)[`node:${ALERT_TRIGGER}`].alertCursor).toMatchObject({ version: 1, cursorField: 'lastUpdateTime', source: 'mde', tenant });
	expect(staticData(INCIDENT_WORKFLOW_ID)[`node:${INCIDENT_TRIGGER}`].alertCursor).toMatchObject({
		version: 1,
		cursorField: 'createdDateTime',
		source: 'incidents',
		tenant,
	});
	const tables = harness.queryDatabase(n8nPaths, userFolder, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'poller_state'");
	expect(tables).toEqual([]);
	// eslint-disable-next-line no-console
	console.log(`n8n ${VERSION} scenario: ${Math.round((Date.now() - scenarioStarted) / 1000)} s`);
});
