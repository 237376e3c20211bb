/**
 * Alert operations run through n8n-core's ExecuteContext against the emulator: the exact requests Defender
 * receives, the items the node returns, Continue On Fail, and the validation that stops bad input before any
 * request is sent. The alert list search runs through n8n-core's LoadOptionsContext.
 */
import { randomBytes } from 'crypto';
import type { LoadOptionsContext } from 'n8n-core';
import type { IDataObject, INodeExecutionData, NodeApiError } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { BATCH_UPDATE_SIZE } from '../../nodes/MicrosoftDefender/actions/alert/batchUpdate.operation';
import { buildAlertFilter } from '../../nodes/MicrosoftDefender/actions/alert/getAll.operation';
import { searchAlerts } from '../../nodes/MicrosoftDefender/methods/alertSearch';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode, loadOptionsContext as loadOptionsContextFor } from '../helpers/n8n';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

let emu: Emulator;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	emu = await startEmulator({});
});

afterAll(async () => {
	await emu?.close();
});

const unique = () => randomBytes(6).toString('hex');
const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });
const fromList = (id: string) => ({ __rl: true, mode: 'list', value: id, cachedResultName: 'picked in the UI' });

function harness(parameters: IDataObject, options: { continueOnFail?: boolean } = {}) {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource: 'alert', ...parameters }, emulatorCredentials(emu));
	if (options.continueOnFail) h.node.continueOnFail = true;
	return { h, nodeType };
}

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean } = {},
): Promise<INodeExecutionData[]> {
	const { h, nodeType } = harness(parameters, options);
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

/** API calls (not token or discovery requests) logged since `from`. */
function apiCalls(from: number) {
	return emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/'));
}

const mark = (): number => emu.requestLog.length;

/**
 * An error's message plus the messages n8n moved aside. NodeApiError replaces a message containing "ENOTFOUND"
 * (as "ResourceNotFound" does) with a generic connection message and keeps the original in `messages`.
 */
const errorText = (error: unknown): string =>
	[(error as Error)?.message, ...((error as { messages?: string[] })?.messages ?? [])].join('\n');

/** One alert of its own, assigned to a unique analyst so list filters can single it out. */
function newAlert(fields: IDataObject = {}) {
	return emu.alerts.create({ assignedTo: `analyst-${unique()}@contoso.com`, ...fields });
}

describe('alert: get', () => {
	it('gets an alert by ID with its evidence', async () => {
		const alert = newAlert({ title: 'Suspicious PowerShell command line' });
		const start = mark();
		const output = await run({ operation: 'get', alertId: byId(alert.id), options: { includeEvidence: true } });

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'GET', path: `/api/alerts/${alert.id}`, status: 200 });
		expect(calls[0].query).toEqual({ $expand: 'evidence' });
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({ id: alert.id, title: 'Suspicious PowerShell command line' });
		expect(output[0].json).not.toHaveProperty(['@odata.context']);
		expect((output[0].json.evidence as IDataObject[]).length).toBeGreaterThan(0);
		expect(output[0].json.evidence).toEqual(emu.alerts.get(alert.id)!.evidence);
		expect(output[0].pairedItem).toEqual({ item: 0 });
	});

	it('takes the ID picked from the list, without evidence by default', async () => {
		const alert = newAlert();
		const start = mark();
		const output = await run({ operation: 'get', alertId: fromList(alert.id) });

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'GET', path: `/api/alerts/${alert.id}` });
		expect(calls[0].query).toEqual({});
		expect(output.map((i) => i.json.id)).toEqual([alert.id]);
		expect(output[0].json.evidence).toEqual([]);
	});

	it('takes the ID from a pasted portal link', async () => {
		const alert = newAlert();
		const start = mark();
		const output = await run({
			operation: 'get',
			alertId: { __rl: true, mode: 'url', value: `https://security.microsoft.com/alerts/${alert.id}?tid=${emu.tenantId}` },
		});
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([['GET', `/api/alerts/${alert.id}`]]);
		expect(output[0].json.id).toBe(alert.id);
	});

	it('accepts the documented ID forms, including a negative suffix and no prefix', async () => {
		for (const id of ['da637551227677560813_-961444813', '121688558380765161_2136280442']) {
			emu.alerts.create({ id });
			const output = await run({ operation: 'get', alertId: byId(id) });
			expect(output[0].json.id).toBe(id);
		}
	});
});

describe('alert: get many', () => {
	it('sends the filters as OData, newest first, and returns one item per alert up to the limit', async () => {
		const analyst = `triage-${unique()}@contoso.com`;
		const times = ['2026-03-01T10:00:00Z', '2026-03-02T10:00:00Z', '2026-03-03T10:00:00Z', '2026-03-04T10:00:00Z'];
		const created = times.map((t) =>
			emu.alerts.create({
				assignedTo: analyst,
				alertCreationTime: t,
				lastUpdateTime: t,
				status: 'New',
				severity: 'High',
				category: 'Malware',
			}),
		);
		// Same analyst, but filtered out by severity, status and time.
		emu.alerts.create({ assignedTo: analyst, alertCreationTime: '2026-03-03T12:00:00Z', severity: 'Low', status: 'New', category: 'Malware' });
		emu.alerts.create({ assignedTo: analyst, alertCreationTime: '2026-03-03T13:00:00Z', severity: 'High', status: 'Resolved', category: 'Malware' });
		emu.alerts.create({ assignedTo: analyst, alertCreationTime: '2026-02-01T13:00:00Z', severity: 'High', status: 'New', category: 'Malware' });

		const start = mark();
		const output = await run({
			operation: 'getAll',
			returnAll: false,
			limit: 3,
			filters: {
				assignedTo: analyst,
				statuses: ['New', 'InProgress'],
				severities: ['High'],
				categories: ['Malware'],
				customCategories: 'Backdoor',
				createdAfter: '2026-03-01T00:00:00Z',
				createdBefore: '2026-04-01T00:00:00Z',
			},
			options: { includeEvidence: true },
		});

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'GET', path: '/api/alerts', status: 200 });
		expect(calls[0].query).toEqual({
			$orderby: 'alertCreationTime desc',
			$filter:
				"(status eq 'New' or status eq 'InProgress') and severity eq 'High' and (category eq 'Malware' or category eq 'Backdoor')" +
				` and assignedTo eq '${analyst}' and alertCreationTime ge 2026-03-01T00:00:00.000Z and alertCreationTime lt 2026-04-01T00:00:00.000Z`,
			$expand: 'evidence',
			$top: '3',
		});
		expect(output.map((i) => i.json.id)).toEqual([created[3].id, created[2].id, created[1].id]);
		expect(output.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }, { item: 0 }]);
		expect((output[0].json.evidence as IDataObject[]).length).toBeGreaterThan(0);
	});

	it('returns all matching alerts with Return All, filtering on update time and detection source', async () => {
		const analyst = `owner-${unique()}@contoso.com`;
		const a = emu.alerts.create({ assignedTo: analyst, detectionSource: 'WindowsDefenderAv', lastUpdateTime: '2026-05-02T00:00:00Z', alertCreationTime: '2026-05-01T00:00:00Z' });
		const b = emu.alerts.create({ assignedTo: analyst, detectionSource: 'CustomDetection', lastUpdateTime: '2026-05-03T00:00:00Z', alertCreationTime: '2026-05-02T00:00:00Z' });
		emu.alerts.create({ assignedTo: analyst, detectionSource: 'WindowsDefenderAtp', lastUpdateTime: '2026-05-03T00:00:00Z', alertCreationTime: '2026-05-02T00:00:00Z' });
		emu.alerts.create({ assignedTo: analyst, detectionSource: 'CustomDetection', lastUpdateTime: '2026-04-01T00:00:00Z', alertCreationTime: '2026-04-01T00:00:00Z' });

		const start = mark();
		const output = await run({
			operation: 'getAll',
			returnAll: true,
			filters: {
				assignedTo: analyst,
				detectionSources: ['WindowsDefenderAv', 'CustomDetection'],
				updatedAfter: '2026-05-01T00:00:00Z',
			},
		});

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		// Return All reads by time windows on alertCreationTime, oldest first (scan/cursor.ts); the update-time
		// filter stays in $filter. Fewer than $top: every match, whatever the order.
		expect(calls[0].query).toEqual({
			$orderby: 'alertCreationTime asc',
			$filter: `(detectionSource eq 'WindowsDefenderAv' or detectionSource eq 'CustomDetection') and assignedTo eq '${analyst}' and lastUpdateTime ge 2026-05-01T00:00:00.000Z and alertCreationTime ge 1970-01-01T00:00:00.0000000Z`,
			$top: '10000',
		});
		expect(output.map((i) => i.json.id)).toEqual([b.id, a.id]);
		expect(output[0].json.evidence).toEqual([]);
	});

	it('lists without a filter, default limit 50', async () => {
		emu.alerts.seed(60);
		const start = mark();
		const output = await run({ operation: 'getAll', limit: 50 });
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0].query).toEqual({ $orderby: 'alertCreationTime desc', $top: '50' });
		expect(output).toHaveLength(50);
		const created = output.map((i) => String(i.json.alertCreationTime));
		expect([...created].sort().reverse()).toEqual(created);
	});

	it('builds filters from labels, incident IDs and dates in the workflow time zone', () => {
		expect(buildAlertFilter({}, 'UTC')).toBeUndefined();
		expect(
			buildAlertFilter(
				{
					statuses: ['in progress'],
					severities: 'Medium, high',
					incidentId: ' 1126093 ',
					createdAfter: '2026-11-27T10:15:00',
					updatedBefore: '2026-11-28T00:00:00+01:00',
					assignedTo: "o'brien@contoso.com",
				},
				'Europe/Berlin',
			),
		).toBe(
			"status eq 'InProgress' and (severity eq 'Medium' or severity eq 'High') and assignedTo eq 'o''brien@contoso.com'" +
				' and incidentId eq 1126093 and alertCreationTime ge 2026-11-27T09:15:00.000Z and lastUpdateTime lt 2026-11-27T23:00:00.000Z',
		);
		expect(() => buildAlertFilter({ statuses: ['Closed'] }, 'UTC')).toThrow(/Filters › Statuses "Closed" is not valid/);
		expect(() => buildAlertFilter({ customCategories: "x') or (1 eq 1" }, 'UTC')).toThrow(/Other Categories/);
		expect(() => buildAlertFilter({ incidentId: '12a' }, 'UTC')).toThrow(/Incident ID "12a" is not a number/);
		expect(() =>
			buildAlertFilter({ createdAfter: '2026-05-02T00:00:00Z', createdBefore: '2026-05-01T00:00:00Z' }, 'UTC'),
		).toThrow(/Created After .* must be earlier than Filters › Created Before/);
		expect(() => buildAlertFilter({ updatedAfter: 'next tuesday' }, 'UTC')).toThrow(/Updated After "next tuesday" is not a date-time/);
	});
});

describe('alert: update', () => {
	it('patches exactly the fields set, with the API keys, and outputs the updated alert', async () => {
		const alert = newAlert({ status: 'New', classification: null, determination: null });
		const start = mark();
		const output = await run({
			operation: 'update',
			alertId: byId(alert.id),
			status: 'Resolved',
			assignedTo: ' secop2@contoso.com ',
			classification: 'FalsePositive',
			falsePositiveDetermination: 'Clean',
			// Determinations of the other classifications are hidden in the UI and ignored.
			truePositiveDetermination: 'Malware',
			comment: 'Resolve my alert and assign to secop2',
		});

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'PATCH', path: `/api/alerts/${alert.id}`, status: 200 });
		expect(calls[0].query).toEqual({});
		expect(calls[0].body).toEqual({
			status: 'Resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'FalsePositive',
			determination: 'Clean',
			comment: 'Resolve my alert and assign to secop2',
		});
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({
			id: alert.id,
			status: 'Resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'FalsePositive',
			determination: 'Clean',
		});
		expect(output[0].pairedItem).toEqual({ item: 0 });
		const stored = emu.alerts.get(alert.id)!;
		expect(stored.status).toBe('Resolved');
		expect(stored.comments.map((c) => c.comment)).toContain('Resolve my alert and assign to secop2');
	});

	it('sends only the status when only the status is set', async () => {
		const alert = newAlert({ status: 'New' });
		const start = mark();
		await run({ operation: 'update', alertId: byId(alert.id), status: 'InProgress' });
		expect(apiCalls(start).map((c) => c.body)).toEqual([{ status: 'InProgress' }]);
	});

	it('offers the determinations of the chosen classification', async () => {
		const alert = newAlert();
		const start = mark();
		await run({
			operation: 'update',
			alertId: byId(alert.id),
			classification: 'InformationalExpectedActivity',
			expectedActivityDetermination: 'SecurityTesting',
		});
		await run({ operation: 'update', alertId: byId(alert.id), classification: 'TruePositive', truePositiveDetermination: 'MultiStagedAttack' });
		expect(apiCalls(start).map((c) => c.body)).toEqual([
			{ classification: 'InformationalExpectedActivity', determination: 'SecurityTesting' },
			{ classification: 'TruePositive', determination: 'MultiStagedAttack' },
		]);
		expect(emu.alerts.get(alert.id)).toMatchObject({ classification: 'TruePositive', determination: 'MultiStagedAttack' });
	});
});

describe('alert: batch update', () => {
	it('posts the IDs with the changes and summarises the result', async () => {
		const a = newAlert({ status: 'New' });
		const b = newAlert({ status: 'New' });
		const start = mark();
		const output = await run({
			operation: 'batchUpdate',
			alertIds: `${a.id}, ${b.id}\n${a.id}`,
			status: 'Resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'TruePositive',
			truePositiveDetermination: 'Phishing',
			comment: 'Closed in bulk',
		});

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'POST', path: '/api/alerts/batchUpdate', status: 200 });
		expect(calls[0].body).toEqual({
			alertIds: [a.id, b.id],
			status: 'Resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'TruePositive',
			determination: 'Phishing',
			comment: 'Closed in bulk',
		});
		expect(output).toHaveLength(1);
		expect(output[0].json).toEqual({
			updatedAlertIds: [a.id, b.id],
			updatedCount: 2,
			requests: 1,
			changes: {
				status: 'Resolved',
				assignedTo: 'secop2@contoso.com',
				classification: 'TruePositive',
				determination: 'Phishing',
				comment: 'Closed in bulk',
			},
		});
		expect(output[0].pairedItem).toEqual({ item: 0 });
		for (const id of [a.id, b.id]) expect(emu.alerts.get(id)).toMatchObject({ status: 'Resolved', determination: 'Phishing' });
	});

	it(`splits more than ${BATCH_UPDATE_SIZE} IDs into several calls; an array from an expression works too`, async () => {
		const alerts = emu.alerts.seed(BATCH_UPDATE_SIZE * 2 + 1, { overrides: { status: 'New' } });
		const ids = alerts.map((x) => x.id);
		const start = mark();
		const output = await run({ operation: 'batchUpdate', alertIds: `={{ ${JSON.stringify(ids)} }}`, status: 'InProgress' });

		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, (c.body as IDataObject).alertIds as string[]])).toEqual([
			['POST', '/api/alerts/batchUpdate', ids.slice(0, BATCH_UPDATE_SIZE)],
			['POST', '/api/alerts/batchUpdate', ids.slice(BATCH_UPDATE_SIZE, BATCH_UPDATE_SIZE * 2)],
			['POST', '/api/alerts/batchUpdate', ids.slice(BATCH_UPDATE_SIZE * 2)],
		]);
		expect(calls.every((c) => (c.body as IDataObject).status === 'InProgress')).toBe(true);
		expect(output[0].json).toMatchObject({ updatedAlertIds: ids, updatedCount: ids.length, requests: 3 });
		expect(ids.every((id) => emu.alerts.get(id)!.status === 'InProgress')).toBe(true);
	});

	it('reports how many alerts earlier batches updated when a later batch fails', async () => {
		const alerts = emu.alerts.seed(BATCH_UPDATE_SIZE, { overrides: { status: 'New' } });
		const ids = [...alerts.map((x) => x.id), 'da000000000000000001_1'];
		const start = mark();
		const error = await run({ operation: 'batchUpdate', alertIds: ids.join(','), status: 'Resolved' }).then(
			() => undefined,
			(e: Error) => e,
		);
		expect(apiCalls(start).map((c) => c.status)).toEqual([200, 404]);
		expect(errorText(error)).toContain(
			`${BATCH_UPDATE_SIZE} of ${BATCH_UPDATE_SIZE + 1} alerts were updated by earlier batches`,
		);
		expect((error as NodeApiError).httpCode).toBe('404');
	});
});

describe('alert: add comment', () => {
	it('patches only the comment', async () => {
		const alert = newAlert({ status: 'InProgress' });
		const start = mark();
		const output = await run({ operation: 'addComment', alertId: byId(alert.id), comment: '  Checked with the user: expected  ' });

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'PATCH', path: `/api/alerts/${alert.id}`, status: 200 });
		expect(calls[0].body).toEqual({ comment: 'Checked with the user: expected' });
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({ id: alert.id, status: 'InProgress' });
		const comments = output[0].json.comments as IDataObject[];
		expect(comments[comments.length - 1]).toMatchObject({ comment: 'Checked with the user: expected' });
	});
});

describe('alert: get related entities', () => {
	/** An alert with one entity of each kind in its evidence. */
	function alertWithEntities() {
		const base = emu.alerts.create({});
		const evidence = emu.alerts.get(base.id)!.evidence;
		const template = evidence[0];
		const blank = Object.fromEntries(Object.keys(template).map((k) => [k, null]));
		const extra = [
			{ ...blank, entityType: 'Ip', evidenceCreationTime: template.evidenceCreationTime, ipAddress: '203.0.113.7' },
			{ ...blank, entityType: 'Ip', evidenceCreationTime: template.evidenceCreationTime, ipAddress: '198.51.100.20' },
			{ ...blank, entityType: 'Url', evidenceCreationTime: template.evidenceCreationTime, url: 'https://evil.example.com/payload' },
		];
		return emu.alerts.update(base.id, { evidence: [...evidence, ...extra] as typeof evidence });
	}

	it('returns one item per related IP address, domain and file', async () => {
		const alert = alertWithEntities();
		for (const [entityType, check] of [
			['ips', (items: IDataObject[]) => expect(items.map((i) => i.id)).toEqual(expect.arrayContaining(['203.0.113.7', '198.51.100.20']))],
			['domains', (items: IDataObject[]) => expect(items.map((i) => i.host)).toContain('evil.example.com')],
			['files', (items: IDataObject[]) => expect(items.every((i) => typeof i.sha1 === 'string')).toBe(true)],
		] as const) {
			const start = mark();
			const output = await run({ operation: 'getRelated', alertId: byId(alert.id), entityType });
			const calls = apiCalls(start);
			expect(calls).toHaveLength(1);
			expect(calls[0]).toMatchObject({ method: 'GET', path: `/api/alerts/${alert.id}/${entityType}`, status: 200 });
			expect(calls[0].query).toEqual({});
			check(output.map((i) => i.json));
			expect(output.length).toBeGreaterThan(0);
			expect(output.every((i) => (i.pairedItem as { item: number }).item === 0)).toBe(true);
		}
	});

	it('returns the related machine and user as one item each', async () => {
		const alert = newAlert();
		expect(alert.machineId).toBeTruthy();
		let start = mark();
		const machine = await run({ operation: 'getRelated', alertId: byId(alert.id), entityType: 'machine' });
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([['GET', `/api/alerts/${alert.id}/machine`]]);
		expect(machine).toHaveLength(1);
		expect(machine[0].json).toMatchObject({ id: alert.machineId });
		expect(machine[0].json).not.toHaveProperty(['@odata.context']);

		const withUser = newAlert({ relatedUser: { userName: 'maria.garcia', domainName: 'CONTOSO' } });
		start = mark();
		const user = await run({ operation: 'getRelated', alertId: byId(withUser.id), entityType: 'user' });
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([['GET', `/api/alerts/${withUser.id}/user`]]);
		expect(user).toHaveLength(1);
		expect(user[0].json).toMatchObject({ id: 'contoso\\maria.garcia', accountName: 'maria.garcia' });
	});
});

describe('alert: Continue On Fail', () => {
	it('turns failing items into error items and keeps going, each output paired with its input', async () => {
		const good = newAlert();
		const items: INodeExecutionData[] = [
			{ json: { id: 'da000000000000000002_404' } },
			{ json: { id: good.id } },
			{ json: { id: '../machines/abc' } },
		];
		const start = mark();
		const output = await run(
			{ operation: 'get', alertId: { __rl: true, mode: 'id', value: '={{ $json.id }}' } },
			items,
			{ continueOnFail: true },
		);

		// The malformed ID never reached the API; the unknown one did (404), then the good one.
		expect(apiCalls(start).map((c) => [c.method, c.path, c.status])).toEqual([
			['GET', '/api/alerts/da000000000000000002_404', 404],
			['GET', `/api/alerts/${good.id}`, 200],
		]);
		expect(output).toHaveLength(3);
		expect(output.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(output[0].json.httpCode).toBe('404');
		expect(output[0].json.errorDescription).toMatch(/API error code: ResourceNotFound/);
		expect(output[1].json.id).toBe(good.id);
		expect(output[2].json.error).toMatch(/Alert ID "..\/machines\/abc" is not a Defender for Endpoint alert ID/);
	});

	it('fails the node on the first bad item without Continue On Fail', async () => {
		await expect(
			run({ operation: 'get', alertId: { __rl: true, mode: 'id', value: '={{ $json.id }}' } }, [{ json: { id: 'nope' } }]),
		).rejects.toThrow(/Alert ID "nope" is not a Defender for Endpoint alert ID/);
	});
});

describe('alert: validation before any request', () => {
	const cases: Array<[string, IDataObject, RegExp]> = [
		['an update with nothing to change', { operation: 'update', status: '', classification: '', comment: '  ' }, /Nothing to update/],
		['a status the API does not accept', { operation: 'update', status: 'Closed' }, /Status "Closed" is not valid/],
		[
			'a determination of another classification',
			{ operation: 'update', classification: 'FalsePositive', falsePositiveDetermination: 'Malware' },
			/Determination \(for False Positive\) "Malware" is not valid. Use one of: Clean, InsufficientData, Other/,
		],
		['an empty comment', { operation: 'addComment', comment: '   ' }, /Comment is empty/],
		['an unknown related entity', { operation: 'getRelated', entityType: 'registry' }, /Entity Type "registry" is not valid/],
		['a batch without IDs', { operation: 'batchUpdate', alertIds: ' , ', status: 'Resolved' }, /Alert IDs is empty/],
		['a batch with a malformed ID', { operation: 'batchUpdate', alertIds: 'da637472900382838869_1364969609, x/y', status: 'Resolved' }, /Alert IDs "x\/y" is not/],
		['a batch with nothing to change', { operation: 'batchUpdate', alertIds: 'da637472900382838869_1364969609' }, /Nothing to update/],
		['a path-changing alert ID', { operation: 'get', alertIdValue: 'da1_1/../../machines' }, /Alert ID "da1_1\/..\/..\/machines" is not/],
		['an empty alert ID', { operation: 'get', alertIdValue: '' }, /Alert ID is empty/],
		['a bad limit', { operation: 'getAll', limit: 0 }, /Limit "0" is not valid/],
	];

	it.each(cases)('rejects %s', async (_name, parameters, message) => {
		const { alertIdValue, ...rest } = parameters;
		const alertId = byId(alertIdValue === undefined ? 'da637472900382838869_1364969609' : String(alertIdValue));
		const before = emu.stats().total;
		const error = await run({ alertId, ...rest }).then(
			() => undefined,
			(e: Error) => e,
		);
		expect(error).toBeDefined();
		expect(error!.constructor.name).toBe('NodeOperationError');
		expect(error!.message).toMatch(message);
		expect(emu.stats().total).toBe(before);
	});
});

describe('alert: list search', () => {
	function loadOptionsContext(): LoadOptionsContext {
		const { h } = harness({ operation: 'get' });
		return loadOptionsContextFor(h, 'alertId');
	}

	it('lists the newest alerts as "title on host (severity, status)", matches titles, and looks up a full ID', async () => {
		const marker = `Marker ${unique()}`;
		const future = new Date(Date.now() + 3_600_000).toISOString();
		const alert = emu.alerts.create({ title: `${marker} credential dumping`, severity: 'High', status: 'InProgress', alertCreationTime: future });
		const context = loadOptionsContext();

		let start = mark();
		const newest = await searchAlerts.call(context);
		expect(apiCalls(start).map((c) => [c.method, c.path, c.query])).toEqual([
			['GET', '/api/alerts', { $orderby: 'alertCreationTime desc', $top: '100' }],
		]);
		expect(newest.results[0]).toEqual({ name: `${marker} credential dumping on ${String(alert.computerDnsName).split('.')[0]} (High, InProgress)`, value: alert.id });

		start = mark();
		const matched = await searchAlerts.call(context, marker.toLowerCase());
		// Titles are matched here (the API cannot filter on them): two pages of 500 per call, then a token.
		expect(emu.alerts.all().length).toBeGreaterThan(1000);
		expect(apiCalls(start).map((c) => c.query)).toEqual([
			{ $orderby: 'alertCreationTime desc', $top: '500' },
			{ $orderby: 'alertCreationTime desc', $top: '500', $skip: '500' },
		]);
		expect(matched.paginationToken).toBe('1000');
		expect(matched.results).toEqual([{ name: `${marker} credential dumping on ${String(alert.computerDnsName).split('.')[0]} (High, InProgress)`, value: alert.id }]);

		start = mark();
		const exact = await searchAlerts.call(context, alert.id);
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([['GET', `/api/alerts/${alert.id}`]]);
		expect(exact.results).toEqual([{ name: `${marker} credential dumping on ${String(alert.computerDnsName).split('.')[0]} (High, InProgress)`, value: alert.id }]);
	});
});
