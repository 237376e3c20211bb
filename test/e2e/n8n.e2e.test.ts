/**
 * A real n8n 2.41 with the `npm pack` tarball installed as a community package (node types
 * `n8n-nodes-microsoft-defender.*`), running the "Defender alert triage" and "Defender incident triage" workflows
 * against the emulator, across an n8n restart. Runs twice: with n8n's classic static data, and with its durable poll
 * cursors (poller_state table).
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

type Json = Record<string, any>;

const DURABLE_ENV: Record<string, string> = harness.DURABLE_CURSORS_ENV;
const OWNER = { email: 'owner@example.com', firstName: 'Sam', lastName: 'Soc', password: 'E2e-password-1' };

let n8nPaths: Json;
let tarball: string;
let emu: Emulator;
const work = mkdtempSync(join(tmpdir(), 'mde-e2e-'));

beforeAll(async () => {
	n8nPaths = harness.install();
	tarball = harness.packPackage(join(work, 'pack'));
}, 30 * 60 * 1000);

// A fresh emulator (an empty tenant) per scenario.
beforeEach(async () => {
	emu = await startEmulator({ machineActionStepMs: 500 });
});
afterEach(async () => {
	await emu?.close();
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 150_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	while (Date.now() < deadline) {
		try {
			const value = await probe();
			if (value !== undefined) return value;
		} catch (error) {
			last = error;
		}
		await new Promise((r) => setTimeout(r, 2000));
	}
	throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Items each node produced, across all successful executions. */
function nodeItems(executions: Json[], node: string): Json[] {
	return executions.flatMap(
		(e) => (e.data?.resultData?.runData?.[node] ?? []).flatMap((run: Json) => (run.data?.main?.[0] ?? []).map((i: Json) => i.json)),
	);
}

function versionKey(alert: Json): string {
	return `${alert.id}@${alert.lastUpdateTime}`;
}

function matching(alertIds: string[]): Json[] {
	return alertIds.map((id) => emu.alerts.get(id) as unknown as Json).filter((a) => ['High', 'Medium'].includes(a.severity));
}

/** The comment the incident workflow writes: "Triaged by n8n: <alerts> alert(s), severity <severity>, assigned to <upn>." */
const TRIAGE_COMMENT = /^Triaged by n8n: (\d+) alert\(s\), severity (\w+), assigned to (\S+)\.$/;
const INCIDENT_TRIGGER = 'Defender Incidents';

function incident(id: string): Json {
	const found = emu.incidents.get(id);
	if (!found) throw new Error(`incident ${id} is not visible`);
	return found as unknown as Json;
}

/** The workflow's comments on the incident. */
function triageComments(id: string): Json[] {
	return ((emu.incidents.get(id)?.comments ?? []) as Json[]).filter((c) => TRIAGE_COMMENT.test(c.comment));
}

/** Successful calls n8n made to one incident (PATCH …/incidents/<id>, POST …/incidents/<id>/comments). */
function incidentWrites(id: string, method: string, suffix = ''): number {
	const path = `/v1.0/security/incidents/${id}${suffix}`;
	return emu.requestLog.filter((r) => r.method === method && r.path === path && r.status === 200).length;
}

const byNumber = (a: string, b: string): number => Number(a) - Number(b);

async function scenario(label: string, extraEnv: Record<string, string>, cursorStore: 'staticData' | 'poller_state'): Promise<void> {
	const userFolder = join(work, label);
	const options = {
		userFolder,
		port: await harness.freePort(),
		brokerPort: await harness.freePort(),
		caCertPath: emu.caCertPath,
		env: extraEnv,
		logFile: join(work, `${label}.log`),
	};
	harness.installCommunityPackage(userFolder, tarball);
	writeFileSync(join(work, `${label}-credentials.json`), JSON.stringify([demo.emulatorCredential(emu)]));
	writeFileSync(join(work, `${label}-workflow.json`), JSON.stringify(demo.triageWorkflow({ isolationPollInterval: 1 })));
	writeFileSync(join(work, `${label}-incident-workflow.json`), JSON.stringify(demo.incidentTriageWorkflow()));
	harness.n8nCli(n8nPaths, options, ['import:credentials', `--input=${join(work, `${label}-credentials.json`)}`]);
	for (const [file, id] of [
		['workflow', demo.WORKFLOW_ID],
		['incident-workflow', demo.INCIDENT_WORKFLOW_ID],
	]) {
		harness.n8nCli(n8nPaths, options, ['import:workflow', `--input=${join(work, `${label}-${file}.json`)}`]);
		harness.n8nCli(n8nPaths, options, ['publish:workflow', `--id=${id}`]);
	}

	// Seeded before start: High alerts on distinct machines, Medium, and Low ones the filters exclude.
	const machines = emu.machines.seed(8);
	const ids: string[] = [];
	const seed = (severity: string, machine: Json) => {
		const alert = emu.alerts.create({ severity: severity as never, status: 'New', machineId: machine.id, computerDnsName: machine.computerDnsName });
		ids.push(alert.id);
		return alert;
	};
	const highs = [seed('High', machines[0]), seed('High', machines[1])];
	seed('Medium', machines[2]);
	seed('Medium', machines[3]);
	seed('Low', machines[4]);
	seed('Informational', machines[4]);

	// Incidents for the incident workflow. Every alert above opened one (single-alert incidents of every severity);
	// these add multi-alert incidents, createdDateTime ties and alerts joining incidents already triaged. Their alerts
	// are Low or Informational, which the alert workflow's High/Medium filter leaves out.
	const openIncident = (partial: Json = {}): string =>
		String(emu.alerts.create({ severity: 'Low', status: 'New', ...partial } as never).incidentId);
	const joinIncident = (id: string, partial: Json = {}): void => {
		emu.incidents.createAlert(id, { severity: 'Informational', status: 'New', ...partial } as never);
	};
	const tied = new Date(Date.now() - 120_000).toISOString();
	const incA = openIncident({ alertCreationTime: tied });
	joinIncident(incA, { alertCreationTime: new Date(Date.now() - 90_000).toISOString() });
	const incB = openIncident({ alertCreationTime: tied, severity: 'Informational' });
	// Resolved before n8n ever sees it: Incident Statuses = Active leaves it out.
	const resolved = openIncident();
	emu.incidents.update(resolved, { status: 'resolved' });
	// The incidents the activation poll finds, and how many alerts each incident has when the trigger first sees it.
	const atStart = emu.incidents
		.list()
		.map((i) => i.id)
		.filter((id) => id !== resolved);
	const alertCounts = new Map<string, number>(atStart.map((id) => [id, emu.incidents.alerts(id).length]));

	let n8n = await harness.startN8n(n8nPaths, options);
	try {
		const cookie = await harness.ownerCookie(n8n.url, OWNER);
		const key = await harness.apiKey(n8n.url, cookie);
		// One more while n8n runs: a scheduled poll before the restart, or the activation poll after it, takes it.
		alertCounts.set(openIncident(), 1);

		// The package's node types are registered under the community package's name.
		const types = await harness.httpJson(`${n8n.url}/types/nodes.json`, { headers: { cookie } });
		const typeNames = (types.json as Json[]).map((t) => t.name);
		expect(typeNames).toEqual(expect.arrayContaining([`${harness.PACKAGE_NAME}.microsoftDefenderTrigger`, `${harness.PACKAGE_NAME}.microsoftDefender`]));

		const allExecutions = async () => await harness.executions(n8n.url, key, demo.WORKFLOW_ID);
		const emittedNow = async () => nodeItems(await allExecutions(), 'Defender Alerts');
		await waitFor('the seeded alerts', async () => ((await emittedNow()).length >= matching(ids).length ? true : undefined));
		const comments = async () =>
			highs.every((h) => ((emu.alerts.get(h.id) as unknown as Json).comments as Json[]).some((c) => /isolated by n8n/.test(c.comment)));
		await waitFor('isolations and comments', async () => ((await comments()) ? true : undefined));

		// Exactly the matching alerts, each once as new, with the alert JSON intact. (The workflow's own comments
		// update the High alerts: a poll after them emits those versions too, typed update, each once.)
		let emitted = await emittedNow();
		const firsts = emitted.filter((a) => a._change?.type === 'new');
		expect(firsts.map((a) => a.id).sort()).toEqual(matching(ids).map((a) => a.id).sort());
		expect(new Set(emitted.map(versionKey)).size).toBe(emitted.length);
		expect(emitted.filter((a) => a._change?.type !== 'new').every((a) => highs.some((h) => h.id === a.id))).toBe(true);
		for (const item of firsts) {
			const { _change, ...alert } = item;
			expect(_change).toMatchObject({ type: 'new' });
			const stored = emu.alerts.get(item.id) as unknown as Json;
			expect(alert.title).toBe(stored.title);
			expect(alert.evidence).toEqual(JSON.parse(JSON.stringify(stored.evidence)));
		}
		// The Set node's $jmespath result.
		const extracted = nodeItems(await allExecutions(), 'Extract Evidence');
		for (const row of extracted) {
			const stored = emu.alerts.get(row.alertId) as unknown as Json;
			expect(row.fileSha256).toEqual((stored.evidence as Json[]).filter((e) => e.entityType === 'File').map((e) => e.sha256));
			expect(row.machineId).toBe(stored.machineId);
		}
		// One isolation per High alert, and the comment on each.
		const isolations = emu.requestLog.filter((r) => r.method === 'POST' && /\/isolate$/.test(r.path) && r.status === 201);
		expect(isolations.map((r) => r.path.split('/')[3]).sort()).toEqual(highs.map((h) => h.machineId).sort());

		// An update fires one execution carrying it.
		const medium = matching(ids).find((a) => a.severity === 'Medium') as Json;
		const updated = emu.alerts.update(medium.id, { status: 'InProgress', assignedTo: 'analyst@contoso.com' });
		await waitFor('the update', async () =>
			(await emittedNow()).some((a) => a.id === medium.id && a.lastUpdateTime === updated.lastUpdateTime) ? true : undefined,
		);
		const updateItems = (await emittedNow()).filter((a) => a.id === medium.id);
		expect(updateItems).toHaveLength(2);
		expect(updateItems[1]._change).toMatchObject({ type: 'update', changedFields: ['status', 'assignedTo'] });

		// The credential test through the REST endpoint the editor uses.
		const credential = demo.emulatorCredential(emu);
		const ok = await harness.httpJson(`${n8n.url}/rest/credentials/test`, { method: 'POST', headers: { cookie }, body: { credentials: credential } });
		expect(ok.json.data).toMatchObject({ status: 'OK', message: expect.stringMatching(/^Connected\. Roles granted: .*Alert\.ReadWrite\.All/) });
		const bad = { ...credential, data: { ...credential.data, clientSecret: 'definitely-the-wrong-secret' } };
		const failed = await harness.httpJson(`${n8n.url}/rest/credentials/test`, { method: 'POST', headers: { cookie }, body: { credentials: bad } });
		expect(failed.json.data).toMatchObject({ status: 'Error', message: expect.stringMatching(/^The client secret is wrong\./) });

		// The incidents of the activation poll are triaged before the restart. Then changes that must not trigger the
		// incident workflow again (Trigger on Updates is off): an alert joins A (now In Progress), and an analyst
		// reopens B (Active again, same createdDateTime, later lastUpdateDateTime) and an alert joins it.
		expect(atStart).toEqual(expect.arrayContaining([incA, incB]));
		await waitFor('the incidents triaged before the restart', async () =>
			atStart.every((id) => triageComments(id).length > 0) ? true : undefined,
		);
		joinIncident(incA);
		emu.incidents.update(incB, { status: 'active' });
		joinIncident(incB);

		// Restart while alerts and incidents keep arriving.
		await n8n.stop();
		seed('High', machines[5]);
		seed('Medium', machines[6]);
		emu.alerts.update(highs[0].id, { status: 'InProgress' });
		// While n8n is down: C ties with A and B (created after they were triggered, ingested late), D and E tie with
		// each other (E has two alerts), and one more alert joins B.
		const incC = openIncident({ alertCreationTime: tied });
		const now = new Date().toISOString();
		const incD = openIncident({ alertCreationTime: now });
		const incE = openIncident({ alertCreationTime: now, severity: 'Informational' });
		joinIncident(incE);
		joinIncident(incB);
		for (const id of [incC, incD, incE]) alertCounts.set(id, emu.incidents.alerts(id).length);
		n8n = await harness.startN8n(n8nPaths, options);
		seed('Medium', machines[7]);
		// After the restart: alerts join A and B again, F reaches the API late (created a minute ago, before D and E,
		// which the trigger may have read already), and G opens with two alerts.
		joinIncident(incA);
		joinIncident(incB);
		const incF = openIncident({ alertCreationTime: new Date(Date.now() - 60_000).toISOString() });
		const incG = openIncident();
		joinIncident(incG);
		alertCounts.set(incF, 1);
		alertCounts.set(incG, 2);
		const expectedVersions = () => new Set(matching(ids).map(versionKey));
		await waitFor('every alert after the restart', async () => {
			const got = new Set((await emittedNow()).map(versionKey));
			return [...expectedVersions()].every((v) => got.has(v)) ? true : undefined;
		});
		emitted = await emittedNow();
		const counts = new Map<string, number>();
		for (const a of emitted) counts.set(versionKey(a), (counts.get(versionKey(a)) ?? 0) + 1);
		expect([...counts.values()].every((n) => n === 1)).toBe(true);
		for (const version of expectedVersions()) expect(counts.get(version)).toBe(1);
		expect(new Set(emitted.map((a) => a.id))).toEqual(new Set(matching(ids).map((a) => a.id)));
		const failedExecutions = (await allExecutions()).filter((e: Json) => e.status !== 'success');
		expect(failedExecutions).toEqual([]);

		// Incidents: every active one of the window (each seeded alert's, and the ones opened above) handled exactly
		// once, across the restart.
		const seededIncidents = ids.map((id) => String((emu.alerts.get(id) as unknown as Json).incidentId));
		const expectedIncidents = [...new Set([...seededIncidents, ...alertCounts.keys()])].sort(byNumber);
		expect(expectedIncidents).toHaveLength(17);
		await waitFor('every incident triaged after the restart', async () =>
			expectedIncidents.every((id) => emu.incidents.get(id) && triageComments(id).length > 0) ? true : undefined,
		);
		expect(
			emu.incidents
				.list()
				.map((i) => i.id)
				.filter((id) => id !== resolved)
				.sort(byNumber),
		).toEqual(expectedIncidents);
		const incidentExecutions = await harness.executions(n8n.url, key, demo.INCIDENT_WORKFLOW_ID);
		expect(incidentExecutions.filter((e: Json) => e.status !== 'success')).toEqual([]);
		const triggered = nodeItems(incidentExecutions, INCIDENT_TRIGGER);
		expect(triggered.map((i) => i.id).sort(byNumber)).toEqual(expectedIncidents);
		expect(nodeItems(incidentExecutions, 'Assign Incident').map((i) => i.id).sort(byNumber)).toEqual(expectedIncidents);
		expect(nodeItems(incidentExecutions, 'Comment on Incident').map((i) => i.id).sort(byNumber)).toEqual(expectedIncidents);
		// Each trigger item: the Graph incident with its alerts at that time (Include Alerts on).
		for (const item of triggered) {
			const stored = incident(item.id);
			expect(item).toMatchObject({ displayName: expect.any(String), createdDateTime: stored.createdDateTime, status: 'active' });
			const storedAlertIds = emu.incidents.alerts(item.id).map((a) => a.id);
			expect(item.alerts.length).toBeGreaterThan(0);
			for (const alert of item.alerts as Json[]) {
				expect(alert.incidentId).toBe(item.id);
				expect(storedAlertIds).toContain(alert.id);
			}
			if (alertCounts.has(item.id)) expect(item.alerts).toHaveLength(alertCounts.get(item.id) as number);
		}
		expect(incident(incB).createdDateTime).toBe(incident(incA).createdDateTime);
		expect(incident(incC).createdDateTime).toBe(incident(incA).createdDateTime);
		expect(incident(incE).createdDateTime).toBe(incident(incD).createdDateTime);
		expect(emu.incidents.alerts(incA)).toHaveLength(4);
		expect(emu.incidents.alerts(incB)).toHaveLength(4);
		// In Defender: one comment, one assignment (status, owner, tag) per incident, nothing written twice.
		for (const id of expectedIncidents) {
			const item = triggered.find((i) => i.id === id) as Json;
			const comments = triageComments(id);
			expect(comments).toHaveLength(1);
			const [, alerts, severity, assignee] = TRIAGE_COMMENT.exec(comments[0].comment) as RegExpExecArray;
			expect({ alerts: Number(alerts), severity, assignee }).toEqual({
				alerts: item.alerts.length,
				severity: item.severity,
				assignee: demo.INCIDENT_ASSIGNEE,
			});
			const stored = incident(id);
			expect(stored).toMatchObject({
				assignedTo: demo.INCIDENT_ASSIGNEE,
				customTags: [demo.INCIDENT_TAG],
				status: id === incB ? 'active' : 'inProgress',
			});
			expect(incidentWrites(id, 'PATCH')).toBe(1);
			expect(incidentWrites(id, 'POST', '/comments')).toBe(1);
		}
		expect(triggered.some((i) => i.id === resolved)).toBe(false);
		expect(incident(resolved)).toMatchObject({ status: 'resolved', assignedTo: null, comments: [], customTags: [] });
		expect(incidentWrites(resolved, 'PATCH') + incidentWrites(resolved, 'POST', '/comments')).toBe(0);
	} finally {
		await n8n.stop();
	}

	// Where n8n kept the trigger's cursor: the workflow's static data, or the durable poller_state table.
	const staticData = harness.queryDatabase(n8nPaths, userFolder, `SELECT staticData FROM workflow_entity WHERE id = '${demo.WORKFLOW_ID}'`);
	const incidentStaticData = harness.queryDatabase(
		n8nPaths,
		userFolder,
		`SELECT staticData FROM workflow_entity WHERE id = '${demo.INCIDENT_WORKFLOW_ID}'`,
	);
	const alertCursor = { version: 1, cursorField: 'lastUpdateTime', source: 'mde', tenant: emu.tenantId.toLowerCase() };
	const incidentCursor = { version: 1, cursorField: 'createdDateTime', source: 'incidents', tenant: emu.tenantId.toLowerCase() };
	if (cursorStore === 'staticData') {
		expect(JSON.parse(staticData[0].staticData)['node:Defender Alerts'].alertCursor).toMatchObject(alertCursor);
		expect(JSON.parse(incidentStaticData[0].staticData)[`node:${INCIDENT_TRIGGER}`].alertCursor).toMatchObject(incidentCursor);
	} else {
		const rows = harness.queryDatabase(n8nPaths, userFolder, 'SELECT * FROM poller_state');
		const cursors = rows.map((row: Json) => JSON.parse(String(row.cursor)).alertCursor);
		expect(cursors.filter((c: Json) => c?.source === 'mde')).toEqual([expect.objectContaining(alertCursor)]);
		expect(cursors.filter((c: Json) => c?.source === 'incidents')).toEqual([expect.objectContaining(incidentCursor)]);
		expect(staticData[0].staticData ?? null).toBeNull();
		expect(incidentStaticData[0].staticData ?? null).toBeNull();
	}
}

test('classic static data: alert and incident triage workflows end to end, across a restart', async () => {
	await scenario('classic', {}, 'staticData');
});

test('durable poll cursors (poller_state): the same checks', async () => {
	await scenario('durable', DURABLE_ENV, 'poller_state');
});
