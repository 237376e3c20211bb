/**
 * The incident resource (Microsoft Graph security incidents), run through n8n-core's ExecuteContext against the
 * emulator: the exact requests Graph receives (method, path, query, headers, body), the items the node returns,
 * Get Many's paging under the three API profiles (no repeats, none missing, newest first), the updates and their
 * read-back after a lost answer, the `$expand=alerts` fallback, Alert › Get Related Entities › Incident, the
 * permission named in a 403, and validation that stops bad input before any request is sent.
 */
import { NodeHelpers, type IDataObject, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { mergeTags, tagList } from '../../nodes/MicrosoftDefender/actions/incident/update.operation';
import { listSearch } from '../../nodes/MicrosoftDefender/methods/listSearch';
import * as transport from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, API_PROFILES, type AlertInput, type ApiProfile, type Emulator, type IncidentPatch } from '../emulator';
import { createHarness, emulatorCredentials, executeNode, loadOptionsContext } from '../helpers/n8n';
import { createObserver } from '../helpers/observed';

const PREFER = 'include-unknown-enum-members';
const INCIDENTS = '/v1.0/security/incidents';
const ALERTS_V2 = '/v1.0/security/alerts_v2';
const EPOCH = '1970-01-01T00:00:00.0000000Z';
/** The client gives up after this; an "acted, then slow" answer comes much later. */
const TIMEOUT_MS = 1_000;
const SLOW_MS = 2_500;

let emu: Emulator;
const saved = { ...transport.transportSettings };
const { observed, captured } = createObserver();
/** Client secrets that must never show. */
const secrets: string[] = [];

/** What the node handed n8n's HTTP client (method, URL, headers, body), API calls only (tokens go through MSAL). */
const sent: Array<{ method: string; url: string; headers: Record<string, string>; body?: unknown }> = [];

beforeAll(async () => {
	transport.transportSettings.baseDelayMs = 10;
	transport.transportSettings.maxDelayMs = 50;
	transport.transportSettings.requestTimeoutMs = TIMEOUT_MS;
	// The paging tests send hundreds of list requests: the client-side limit of 100 calls a minute would make them wait.
	transport.transportSettings.rateLimitEnabled = false;
	emu = await startEmulator({});
	const original = transport.n8nSender;
	jest.spyOn(transport, 'n8nSender').mockImplementation((context) => {
		const send = original(context);
		return async (request) => {
			sent.push({ method: request.method, url: request.url, headers: request.headers, body: request.body });
			return await send(request);
		};
	});
});

afterAll(async () => {
	jest.restoreAllMocks();
	Object.assign(transport.transportSettings, saved);
	await emu?.close();
});

beforeEach(() => emu.reset());

const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean; client?: { clientId: string; clientSecret: string } } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource: 'incident', ...parameters }, emulatorCredentials(emu, options.client));
	if (options.continueOnFail) h.node.continueOnFail = true;
	const [output] = await captured(async () => await executeNode(h, nodeType, items));
	return output;
}

const failure = async (parameters: IDataObject, options: Parameters<typeof run>[2] = {}): Promise<Error> =>
	await run(parameters, undefined, options).then(
		() => {
			throw new Error('expected the node to fail');
		},
		(e: Error) => e,
	);

const mark = () => ({ log: emu.requestLog.length, sent: sent.length });

/** API calls the emulator logged since `from` (MDE or Graph; not Entra ID). */
function apiCalls(from: ReturnType<typeof mark>) {
	return emu.requestLog.slice(from.log).filter((e) => e.path.startsWith('/api/') || e.path.startsWith('/v1.0/'));
}

const sentSince = (from: ReturnType<typeof mark>) => sent.slice(from.sent);

let nextIncident = 4_100_000;

/** A new incident of `alerts` alerts (the first created at `created`), with `patch` applied as an analyst would. */
function newIncident(
	options: { alerts?: number; created?: string; alert?: AlertInput; patch?: IncidentPatch } = {},
): { id: string; alertIds: string[] } {
	const id = String(nextIncident++);
	const created = options.created ?? '2026-03-10T08:00:00.1234567Z';
	const alertIds: string[] = [];
	for (let i = 0; i < (options.alerts ?? 1); i++) {
		const at = new Date(Date.parse(created) + i * 60_000).toISOString();
		alertIds.push(
			emu.incidents.createAlert(id, { alertCreationTime: i === 0 ? created : at, detectionSource: 'WindowsDefenderAtp', ...options.alert }).id,
		);
	}
	if (options.patch) emu.incidents.update(id, options.patch, { at: new Date(Date.parse(created) + 3_600_000) });
	return { id, alertIds };
}

/** What Graph serializes, as the emulator holds it now. */
const stored = (id: string) => emu.incidents.get(id)!;

describe('incident: get', () => {
	it('gets the incident from Graph with the Prefer header and outputs it as Graph returns it', async () => {
		const { id } = newIncident({ alerts: 2, patch: { status: 'awaitingAction', customTags: ['VIP'] } });
		const start = mark();
		const output = await run({ operation: 'get', incidentId: byId(id) });

		expect(apiCalls(start).map((c) => [c.method, c.path, c.query, c.status])).toEqual([['GET', `${INCIDENTS}/${id}`, {}, 200]]);
		const requests = sentSince(start);
		expect(requests).toHaveLength(1);
		expect(requests[0].url).toBe(`${emu.url}${INCIDENTS}/${id}`);
		expect(requests[0].headers).toMatchObject({ Prefer: PREFER, Accept: 'application/json' });
		expect(requests[0].headers.Authorization).toMatch(/^Bearer /);

		expect(output).toHaveLength(1);
		expect(output[0].pairedItem).toEqual({ item: 0 });
		// awaitingAction is an evolvable member: only shown with the Prefer header.
		expect(output[0].json).toEqual({ ...stored(id), status: 'awaitingAction' });
		expect(output[0].json).not.toHaveProperty(['@odata.context']);
		expect(output[0].json).not.toHaveProperty('alerts');
	});

	it('includes the alerts with $expand=alerts when asked', async () => {
		const { id, alertIds } = newIncident({ alerts: 3 });
		const start = mark();
		const output = await run({ operation: 'get', incidentId: byId(id), includeAlerts: true });

		expect(apiCalls(start).map((c) => [c.method, c.path, c.query, c.status])).toEqual([
			['GET', `${INCIDENTS}/${id}`, { $expand: 'alerts' }, 200],
		]);
		expect(sentSince(start)[0].headers.Prefer).toBe(PREFER);
		const alerts = output[0].json.alerts as IDataObject[];
		expect(alerts.map((a) => a.id)).toEqual(alertIds);
		expect(alerts[0]).toMatchObject({ '@odata.type': '#microsoft.graph.security.alert', incidentId: id });
		expect(output[0].json).toMatchObject({ id, displayName: stored(id).displayName });
	});

	it('takes portal links (incidents/<id> and incident2/<id>/overview)', async () => {
		const first = newIncident();
		const second = newIncident();
		const start = mark();
		const a = await run({
			operation: 'get',
			incidentId: { __rl: true, mode: 'url', value: `https://security.microsoft.com/incidents/${first.id}?tid=${emu.tenantId}` },
		});
		const b = await run({
			operation: 'get',
			incidentId: { __rl: true, mode: 'url', value: `https://security.microsoft.com/incident2/${second.id}/overview?tid=${emu.tenantId}` },
		});
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([
			['GET', `${INCIDENTS}/${first.id}`],
			['GET', `${INCIDENTS}/${second.id}`],
		]);
		expect(a[0].json.id).toBe(first.id);
		expect(b[0].json.id).toBe(second.id);
	});

	it.each([
		['letters', 'abc', /Incident ID "abc" is not a Microsoft Defender incident ID: incident IDs are numbers such as 2972395/],
		['a path', '12/../../alerts_v2', /Incident ID "12\/..\/..\/alerts_v2" is not a Microsoft Defender incident ID/],
		['an alert ID', 'da637472900382838869_1364969609', /Incident ID "da637472900382838869_1364969609" is not a Microsoft Defender incident ID/],
		['nothing', '  ', /Incident ID is empty/],
	])('rejects %s as the incident ID before any request', async (_name, value, message) => {
		const before = emu.stats().total;
		const start = mark();
		const error = await failure({ operation: 'get', incidentId: byId(value) });
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toMatch(message);
		expect(emu.stats().total).toBe(before);
		expect(sentSince(start)).toEqual([]);
	});

	it('reports an unknown incident as a 404 per item with Continue On Fail', async () => {
		const { id } = newIncident();
		const output = await run(
			{ operation: 'get', incidentId: { __rl: true, mode: 'id', value: '={{ $json.id }}' } },
			[{ json: { id: '999999999' } }, { json: { id } }, { json: { id: 'x' } }],
			{ continueOnFail: true },
		);
		expect(output.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(output[0].json.httpCode).toBe('404');
		expect(output[1].json.id).toBe(id);
		expect(output[2].json.error).toMatch(/Incident ID "x" is not a Microsoft Defender incident ID/);
	});
});

describe('incident: get many', () => {
	it('maps the filters to $filter and asks for the newest up to the limit in one request', async () => {
		const analyst = 'triage@contoso.com';
		const matching = [
			newIncident({ created: '2026-03-01T10:00:00Z', patch: { assignedTo: analyst, status: 'active' } }),
			newIncident({
				created: '2026-03-02T10:00:00Z',
				patch: { assignedTo: analyst, status: 'inProgress', classification: 'truePositive', determination: 'malware' },
			}),
			newIncident({ created: '2026-03-03T10:00:00Z', patch: { assignedTo: analyst, status: 'active' } }),
		];
		newIncident({ created: '2026-03-04T10:00:00Z', patch: { assignedTo: 'other@contoso.com', status: 'active' } });
		newIncident({ created: '2026-04-04T10:00:00Z', patch: { assignedTo: analyst, status: 'active' } });

		const start = mark();
		const output = await run({
			operation: 'getAll',
			returnAll: false,
			limit: 2,
			filters: {
				statuses: ['active', 'In Progress'],
				severities: ['high', 'medium', 'low', 'informational', 'unknown'],
				classifications: ['truePositive', 'unknown'],
				determinations: ['malware', 'unknown'],
				assignedTo: analyst,
				createdAfter: '2026-03-01T00:00:00Z',
				createdBefore: '2026-04-01T00:00:00Z',
			},
		});
		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([
			[
				'GET',
				INCIDENTS,
				{
					$filter:
						"(status eq 'active' or status eq 'inProgress')" +
						" and (severity eq 'high' or severity eq 'medium' or severity eq 'low' or severity eq 'informational' or severity eq 'unknown')" +
						" and (classification eq 'truePositive' or classification eq 'unknown')" +
						" and (determination eq 'malware' or determination eq 'unknown')" +
						` and assignedTo eq '${analyst}'` +
						' and createdDateTime ge 2026-03-01T00:00:00.0000000Z and createdDateTime lt 2026-04-01T00:00:00.0000000Z',
					$top: '2',
				},
				200,
			],
		]);
		expect(sentSince(start).map((r) => r.headers.Prefer)).toEqual([PREFER]);
		expect(output.map((i) => i.json.id)).toEqual([matching[2].id, matching[1].id]);
		expect(output.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
		expect(output[1].json).toEqual(stored(matching[1].id));
	});

	it('includes the alerts of each incident with $expand=alerts', async () => {
		const a = newIncident({ alerts: 2, created: '2026-03-01T10:00:00Z' });
		const b = newIncident({ alerts: 1, created: '2026-03-02T10:00:00Z' });
		const start = mark();
		const output = await run({ operation: 'getAll', limit: 50, includeAlerts: true });
		expect(apiCalls(start).map((c) => c.query)).toEqual([{ $top: '50', $expand: 'alerts' }]);
		expect(output.map((i) => [i.json.id, (i.json.alerts as IDataObject[]).map((x) => x.id)])).toEqual([
			[b.id, b.alertIds],
			[a.id, a.alertIds],
		]);
	});

	describe.each(API_PROFILES)('paging under the %s API profile: 330 incidents, ties, 60 in one instant', (profile: ApiProfile) => {
		let all: string[];
		let active: string[];
		beforeEach(() => {
			emu.setApiProfile(profile);
			const base = Date.parse('2026-01-05T00:00:00Z');
			const created: string[] = [];
			for (let i = 0; i < 240; i++) {
				const at = new Date(base + i * 37 * 60_000).toISOString().replace('Z', '1234Z');
				// Every tenth instant holds three incidents.
				for (let k = 0; k < (i % 10 === 0 ? 3 : 1); k++) created.push(at);
			}
			// More incidents in one instant than a page holds.
			const crowded = new Date(base + 100 * 37 * 60_000 + 1).toISOString();
			for (let k = 0; k < 60; k++) created.push(crowded);
			// Ids not in creation order, so that the tie-break is by id, not by insertion.
			created.reverse();
			created.forEach((at, i) => newIncident({ created: at, patch: i % 4 === 0 ? { status: 'resolved' } : undefined }));
			const list = emu.incidents.list();
			all = list.map((i) => i.id);
			active = list.filter((i) => i.status === 'active').map((i) => i.id);
			expect(all.length).toBe(348);
		});

		function checkRequests(from: ReturnType<typeof mark>, filterPrefix = '') {
			const calls = apiCalls(from);
			expect(calls.length).toBeGreaterThan(1);
			for (const call of calls) {
				expect([call.method, call.path]).toEqual(['GET', INCIDENTS]);
				expect(Number(call.query.$top)).toBeLessThanOrEqual(50);
				expect(Number(call.query.$skip ?? 0)).toBeLessThanOrEqual(500);
				expect(call.query.$filter.startsWith(filterPrefix)).toBe(true);
				if (profile !== 'documentedOnly') expect(call.status).toBe(200);
			}
			if (profile === 'documentedOnly') {
				// $orderby is refused once; the scan continues with time windows only.
				expect(calls.filter((c) => c.status === 400).map((c) => c.query.$orderby)).toEqual(['createdDateTime asc']);
				expect(calls.filter((c) => c.status === 200).every((c) => c.query.$orderby === undefined)).toBe(true);
			}
			expect(sentSince(from).every((r) => r.headers.Prefer === PREFER)).toBe(true);
			// Sorted pages need about one request per 50 incidents; time windows alone cost more (the crowded instant
			// is found by halving), but stay bounded.
			expect(calls.length).toBeLessThanOrEqual(profile === 'ordered' ? 12 : 120);
			return calls;
		}

		it('Return All: every incident once, newest first', async () => {
			const start = mark();
			const output = await run({ operation: 'getAll', returnAll: true });
			const calls = checkRequests(start);
			expect(calls[0].query).toEqual({ $filter: `createdDateTime ge ${EPOCH}`, $orderby: 'createdDateTime asc', $top: '50' });
			expect(output.map((i) => i.json.id)).toEqual(all);
		});

		it('Limit 120 (above 50): reads them all, returns the newest 120', async () => {
			const start = mark();
			const output = await run({ operation: 'getAll', returnAll: false, limit: 120 });
			checkRequests(start);
			expect(output.map((i) => i.json.id)).toEqual(all.slice(0, 120));
		});

		it('Limit 50: one request in the documented newest-first order', async () => {
			const start = mark();
			const output = await run({ operation: 'getAll', returnAll: false, limit: 50 });
			expect(apiCalls(start).map((c) => [c.query, c.status])).toEqual([[{ $top: '50' }, 200]]);
			expect(output.map((i) => i.json.id)).toEqual(all.slice(0, 50));
		});

		it('Return All with a status filter and Created After/Before: the filter on every page', async () => {
			const list = emu.incidents.list();
			const after = list[300].createdDateTime;
			const before = list[20].createdDateTime;
			const expected = list
				.filter((i) => i.status === 'active' && i.createdDateTime >= after && i.createdDateTime < before)
				.map((i) => i.id);
			expect(active.length).toBeGreaterThan(200);
			const start = mark();
			const output = await run({ operation: 'getAll', returnAll: true, filters: { statuses: ['active'], createdAfter: after, createdBefore: before } });
			const calls = checkRequests(start, `status eq 'active' and createdDateTime lt ${before} and `);
			expect(calls[0].query.$filter).toBe(`status eq 'active' and createdDateTime lt ${before} and createdDateTime ge ${after}`);
			expect(output.map((i) => i.json.id)).toEqual(expected);
		});
	});

	it.each([
		['a bad limit', { limit: 0 }, /Limit "0" is not valid/],
		['a status Graph lacks', { filters: { statuses: ['closed'] } }, /Filters › Statuses "closed" is not valid. Use one of: active, awaitingAction, inProgress, redirected, resolved/],
		['an unknown determination', { filters: { determinations: ['clean'] } }, /Filters › Determinations "clean" is not valid/],
		[
			'an inverted time range',
			{ filters: { createdAfter: '2026-05-02T00:00:00Z', createdBefore: '2026-05-01T00:00:00Z' } },
			/Filters › Created After .* must be earlier than Filters › Created Before/,
		],
		['a date that is none', { filters: { createdAfter: 'yesterday-ish' } }, /Filters › Created After "yesterday-ish" is not a date-time/],
	])('rejects %s before any request', async (_name, parameters, message) => {
		const start = mark();
		const error = await failure({ operation: 'getAll', ...parameters });
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toMatch(message);
		expect(sentSince(start)).toEqual([]);
	});
});

describe('incident: $expand=alerts failing with HTTP 500 (large tenants)', () => {
	it('Get reads the incident without it, then its alerts from alerts_v2 by incidentId', async () => {
		const { id, alertIds } = newIncident({ alerts: 3 });
		emu.faults.setIncidentExpandFailure(true);
		const start = mark();
		const output = await run({ operation: 'get', incidentId: byId(id), includeAlerts: true });
		const calls = apiCalls(start);
		const attempts = transport.transportSettings.maxAttempts;
		expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([
			...Array.from({ length: attempts }, () => ['GET', `${INCIDENTS}/${id}`, { $expand: 'alerts' }, 500]),
			['GET', `${INCIDENTS}/${id}`, {}, 200],
			['GET', ALERTS_V2, { $filter: `incidentId eq '${id}'`, $top: '1000' }, 200],
		]);
		expect(sentSince(start).every((r) => r.headers.Prefer === PREFER)).toBe(true);
		expect((output[0].json.alerts as IDataObject[]).map((a) => a.id)).toEqual(alertIds);
		expect(output[0].json).not.toHaveProperty('_alertsUnavailable');
	});

	it('Get Many (one page and Return All) still returns each incident with its alerts', async () => {
		const incidents = [1, 2, 3].map((n) => newIncident({ alerts: n, created: `2026-03-0${n}T10:00:00Z` }));
		emu.faults.setIncidentExpandFailure(true);
		const expected = [...incidents].reverse().map((i) => [i.id, i.alertIds]);

		const start = mark();
		const page = await run({ operation: 'getAll', limit: 10, includeAlerts: true });
		const calls = apiCalls(start);
		expect(calls.filter((c) => c.path === INCIDENTS).map((c) => [c.query, c.status]).slice(-1)).toEqual([[{ $top: '10' }, 200]]);
		// One alerts_v2 request for the page's incidents (or-ed), each incident's alerts told apart by incidentId.
		const alertFilters = calls.filter((c) => c.path === ALERTS_V2).map((c) => c.query.$filter);
		expect(alertFilters).toHaveLength(1);
		expect(alertFilters[0].replace(/^\(|\)$/g, '').split(' or ').sort()).toEqual(incidents.map((i) => `incidentId eq '${i.id}'`).sort());
		expect(page.map((i) => [i.json.id, (i.json.alerts as IDataObject[]).map((a) => a.id)])).toEqual(expected);

		const all = await run({ operation: 'getAll', returnAll: true, includeAlerts: true });
		expect(all.map((i) => [i.json.id, (i.json.alerts as IDataObject[]).map((a) => a.id)])).toEqual(expected);
	});

	it('says why the alerts are missing where alerts_v2 cannot filter by incidentId (documentedOnly)', async () => {
		emu.setApiProfile('documentedOnly');
		const { id } = newIncident({ alerts: 2 });
		emu.faults.setIncidentExpandFailure(true);
		const output = await run({ operation: 'get', incidentId: byId(id), includeAlerts: true });
		expect(output[0].json.id).toBe(id);
		expect(output[0].json).not.toHaveProperty('alerts');
		expect(output[0].json._alertsUnavailable).toMatch(/^\$expand=alerts failed \(HTTP 500 InternalServerError: .*\) and alerts_v2 cannot filter by incidentId \(HTTP 400/);
	});
});

describe('incident: update', () => {
	it('sends only the fields set, with the Prefer header, and outputs the updated incident', async () => {
		const { id } = newIncident();
		const start = mark();
		const output = await run({
			operation: 'update',
			incidentId: byId(id),
			updateFields: {
				status: 'resolved',
				assignedTo: ' secop2@contoso.com ',
				classification: 'truePositive',
				determination: 'multiStagedAttack',
				resolvingComment: 'Contained and cleaned',
			},
		});
		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([['PATCH', `${INCIDENTS}/${id}`, {}, 200]]);
		expect(calls[0].body).toEqual({
			status: 'resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'truePositive',
			determination: 'multiStagedAttack',
			resolvingComment: 'Contained and cleaned',
		});
		const [request] = sentSince(start);
		expect(request.headers.Prefer).toBe(PREFER);
		expect(request.body).toEqual(calls[0].body);
		expect(output).toHaveLength(1);
		expect(output[0].json).toEqual(stored(id));
		expect(stored(id)).toMatchObject({
			status: 'resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'truePositive',
			determination: 'multiStagedAttack',
			resolvingComment: 'Contained and cleaned',
		});
	});

	it('sets each field alone; labels and values from expressions work too', async () => {
		const { id } = newIncident();
		const start = mark();
		await run({ operation: 'update', incidentId: byId(id), updateFields: { status: 'In Progress' } });
		await run({ operation: 'update', incidentId: byId(id), updateFields: { assignedTo: 'kai@contoso.com' } });
		await run({ operation: 'update', incidentId: byId(id), updateFields: { classification: 'False Positive' } });
		await run({ operation: 'update', incidentId: byId(id), updateFields: { classification: 'informationalExpectedActivity', determination: 'securityTesting' } });
		await run({ operation: 'update', incidentId: byId(id), updateFields: { resolvingComment: '={{ "Red team exercise" }}' } });
		await run({ operation: 'update', incidentId: byId(id), updateFields: { status: 'active' } });
		expect(apiCalls(start).map((c) => [c.method, c.body])).toEqual([
			['PATCH', { status: 'inProgress' }],
			['PATCH', { assignedTo: 'kai@contoso.com' }],
			['PATCH', { classification: 'falsePositive' }],
			['PATCH', { classification: 'informationalExpectedActivity', determination: 'securityTesting' }],
			['PATCH', { resolvingComment: 'Red team exercise' }],
			['PATCH', { status: 'active' }],
		]);
		expect(stored(id)).toMatchObject({
			status: 'active',
			assignedTo: 'kai@contoso.com',
			classification: 'informationalExpectedActivity',
			determination: 'securityTesting',
			resolvingComment: 'Red team exercise',
		});
	});

	it('adds and removes tags on the tags read first, keeping the others', async () => {
		const { id } = newIncident({ patch: { customTags: ['Keep', 'Needs triage', 'Also kept'] } });
		const start = mark();
		const output = await run({
			operation: 'update',
			incidentId: byId(id),
			updateFields: { status: 'inProgress', customTagsToAdd: 'Phishing campaign, Keep', customTagsToRemove: ['Needs triage', 'Not there'] },
		});
		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query])).toEqual([
			['GET', `${INCIDENTS}/${id}`, {}],
			['PATCH', `${INCIDENTS}/${id}`, {}],
		]);
		expect(calls[1].body).toEqual({ status: 'inProgress', customTags: ['Keep', 'Also kept', 'Phishing campaign'] });
		expect(stored(id).customTags).toEqual(['Keep', 'Also kept', 'Phishing campaign']);
		expect(output[0].json).toMatchObject({ id, status: 'inProgress', customTags: ['Keep', 'Also kept', 'Phishing campaign'] });
	});

	it('writes nothing when the tags are already as asked and nothing else changes', async () => {
		const { id } = newIncident({ patch: { customTags: ['A', 'B'] } });
		const before = stored(id);
		const start = mark();
		const output = await run({ operation: 'update', incidentId: byId(id), updateFields: { customTagsToAdd: 'A', customTagsToRemove: 'C' } });
		expect(apiCalls(start).map((c) => c.method)).toEqual(['GET']);
		expect(output[0].json).toEqual(before);
		expect(stored(id)).toEqual(before);
	});

	it.each([
		['nothing to change', {}, /^Nothing to update\. Add at least one of Update Fields › Status, Assigned To, Classification \(with Determination\), Resolving Comment, Tags to Add or Tags to Remove\.$/],
		['only blanks', { assignedTo: '  ', customTagsToAdd: ' , ' }, /^Nothing to update/],
		[
			'a determination without its classification',
			{ determination: 'malware' },
			/Update Fields › Determination "malware" needs Update Fields › Classification: Microsoft Graph takes a determination only with the classification it belongs to/,
		],
		[
			'a determination of another classification',
			{ classification: 'falsePositive', determination: 'malware' },
			/Update Fields › Determination \(for False Positive\) "malware" is not valid. Use one of: notEnoughDataToValidate, notMalicious, other/,
		],
		['a status that cannot be set', { status: 'redirected' }, /Update Fields › Status "redirected" is not valid. Use one of: active, inProgress, resolved/],
		['awaiting action', { status: 'awaitingAction' }, /Update Fields › Status "awaitingAction" is not valid/],
		['an unknown classification', { classification: 'benignPositive' }, /Update Fields › Classification "benignPositive" is not valid/],
		['a tag added and removed', { customTagsToAdd: 'X, Y', customTagsToRemove: 'Y' }, /Tag "Y" is in both Update Fields › Tags to Add and Update Fields › Tags to Remove/],
	])('rejects %s before any request', async (_name, updateFields, message) => {
		const { id } = newIncident();
		const start = mark();
		const error = await failure({ operation: 'update', incidentId: byId(id), updateFields });
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toMatch(message);
		expect(sentSince(start)).toEqual([]);
		expect(apiCalls(start)).toEqual([]);
	});

	it('tag lists: comma or newline separated text or a list, trimmed, once each; merged in the incident order', () => {
		expect(tagList(' a, b ,\nc,, a ')).toEqual(['a', 'b', 'c']);
		expect(tagList(['x y', ' z ', '', 'x y'])).toEqual(['x y', 'z']);
		expect(tagList(undefined)).toEqual([]);
		expect(mergeTags(['k', 'r', 'k2'], ['n', 'k'], ['r'])).toEqual(['k', 'k2', 'n']);
	});
});

describe('incident: add comment', () => {
	it('posts an alertComment and outputs the incident id and its comment list', async () => {
		const { id } = newIncident();
		emu.incidents.comment(id, 'Earlier note', { by: 'someone@contoso.com' });
		const start = mark();
		const output = await run({ operation: 'addComment', incidentId: byId(id), comment: '  Contained: devices isolated  ' });
		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([['POST', `${INCIDENTS}/${id}/comments`, {}, 200]]);
		expect(calls[0].body).toEqual({ '@odata.type': 'microsoft.graph.security.alertComment', comment: 'Contained: devices isolated' });
		expect(sentSince(start)[0].headers.Prefer).toBe(PREFER);
		expect(output).toHaveLength(1);
		expect(Object.keys(output[0].json).sort()).toEqual(['comments', 'id']);
		expect(output[0].json.id).toBe(id);
		expect(output[0].json.comments).toEqual(stored(id).comments);
		expect((output[0].json.comments as IDataObject[]).map((c) => c.comment)).toEqual(['Earlier note', 'Contained: devices isolated']);
	});

	it('rejects an empty comment before any request', async () => {
		const { id } = newIncident();
		const start = mark();
		const error = await failure({ operation: 'addComment', incidentId: byId(id), comment: '   ' });
		expect(error.message).toMatch(/Comment is empty/);
		expect(sentSince(start)).toEqual([]);
	});
});

describe('incident writes are never applied twice', () => {
	const FAULTS = {
		'acted, then timed out': { kind: 'slow', after: true, delayMs: SLOW_MS },
		'acted, then the connection was reset': { kind: 'reset', after: true },
		'acted, then HTTP 500': { kind: '500', after: true },
	} as const;

	const writes = (from: ReturnType<typeof mark>, match: RegExp) =>
		emu.requestLog.slice(from.log).filter((e) => match.test(`${e.method} ${e.path}`));

	it.each(Object.keys(FAULTS) as Array<keyof typeof FAULTS>)('Update, %s: read back as applied, one PATCH', async (fault) => {
		const { id } = newIncident({ patch: { customTags: ['Keep'] } });
		const match = new RegExp(`^PATCH ${INCIDENTS}/${id}$`);
		emu.faults.inject({ ...FAULTS[fault], match });
		const start = mark();
		const output = await run({
			operation: 'update',
			incidentId: byId(id),
			updateFields: { status: 'resolved', classification: 'truePositive', determination: 'phishing', customTagsToAdd: 'Phish' },
		});
		expect(emu.faults.pending()).toBe(0);
		expect(writes(start, match)).toHaveLength(1);
		// The tags read, the PATCH, its read-back (a slow answer is logged when it is finally sent).
		expect(apiCalls(start).map((c) => c.method).sort()).toEqual(['GET', 'GET', 'PATCH']);
		expect(stored(id)).toMatchObject({ status: 'resolved', classification: 'truePositive', determination: 'phishing', customTags: ['Keep', 'Phish'] });
		expect(output[0].json).toEqual(stored(id));
	});

	it.each(Object.keys(FAULTS) as Array<keyof typeof FAULTS>)('Add Comment, %s: read back as applied, one comment', async (fault) => {
		const { id } = newIncident();
		const match = new RegExp(`^POST ${INCIDENTS}/${id}/comments$`);
		emu.faults.inject({ ...FAULTS[fault], match });
		const start = mark();
		const output = await run({ operation: 'addComment', incidentId: byId(id), comment: 'Once only' });
		expect(writes(start, match)).toHaveLength(1);
		expect(stored(id).comments.filter((c) => c.comment === 'Once only')).toHaveLength(1);
		expect(output[0].json).toEqual({ id, comments: stored(id).comments });
	});

	it('HTTP 500 before acting: read back as not applied, sent again, applied once', async () => {
		const { id } = newIncident();
		const comment = new RegExp(`^POST ${INCIDENTS}/${id}/comments$`);
		const patch = new RegExp(`^PATCH ${INCIDENTS}/${id}$`);
		emu.faults.inject({ kind: '500', match: comment });
		emu.faults.inject({ kind: '500', match: patch });
		const start = mark();
		await run({ operation: 'addComment', incidentId: byId(id), comment: 'After a 500' });
		await run({ operation: 'update', incidentId: byId(id), updateFields: { assignedTo: 'x@contoso.com' } });
		expect(apiCalls(start).map((c) => `${c.method} ${c.status}`)).toEqual(['POST 500', 'GET 200', 'POST 200', 'PATCH 500', 'GET 200', 'PATCH 200']);
		expect(stored(id).comments.filter((c) => c.comment === 'After a 500')).toHaveLength(1);
		expect(stored(id).assignedTo).toBe('x@contoso.com');
	});

	it('when reading back fails too: "may have been applied", naming what to check; not sent again', async () => {
		const { id } = newIncident();
		emu.faults.inject({ kind: 'reset', after: true, match: new RegExp(`^POST ${INCIDENTS}/${id}/comments$`) });
		emu.faults.inject({ kind: '500', count: transport.transportSettings.maxAttempts, match: new RegExp(`^GET ${INCIDENTS}/${id}$`) });
		const start = mark();
		const error = await failure({ operation: 'addComment', incidentId: byId(id), comment: 'Maybe' });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe("Add Comment: the connection dropped after the API may have applied it; check the incident's comments before retrying.");
		expect((error as NodeApiError).description).toMatch(/^It was not sent again, since that could apply it twice\. Reading it back failed: GET \/v1\.0\/security\/incidents\/\d+ .*HTTP 500/);
		expect(apiCalls(start).filter((c) => c.method === 'POST')).toHaveLength(1);
		expect(stored(id).comments.filter((c) => c.comment === 'Maybe')).toHaveLength(1);
	});
});

describe('alert: get related incident', () => {
	it("reads the MDE alert's incidentId, then that incident from Graph", async () => {
		const { id, alertIds } = newIncident({ alerts: 2 });
		const start = mark();
		const output = await run({ resource: 'alert', operation: 'getRelated', alertId: byId(alertIds[1]), entityType: 'incident' });
		expect(apiCalls(start).map((c) => [c.method, c.path, c.query, c.status])).toEqual([
			['GET', `/api/alerts/${alertIds[1]}`, {}, 200],
			['GET', `${INCIDENTS}/${id}`, {}, 200],
		]);
		expect(sentSince(start).map((r) => r.headers.Prefer)).toEqual([undefined, PREFER]);
		expect(output.map((i) => i.json)).toEqual([stored(id)]);
		expect(output[0].pairedItem).toEqual({ item: 0 });
	});

	it('returns no item for an alert without an incident', async () => {
		const alert = emu.alerts.create({ incidentId: null });
		const start = mark();
		const output = await run({ resource: 'alert', operation: 'getRelated', alertId: byId(alert.id), entityType: 'incident' });
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([['GET', `/api/alerts/${alert.id}`]]);
		expect(output).toEqual([]);
	});
});

describe('incident: permissions', () => {
	it('a client without SecurityIncident roles gets a 403 NodeApiError naming the permission', async () => {
		const client = emu.addClient({ roles: ['SecurityAlert.Read.All', 'Alert.Read.All'] });
		secrets.push(client.clientSecret);
		const { id, alertIds } = newIncident();
		const error = await failure({ operation: 'get', incidentId: byId(id) }, { client });
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('403');
		expect(error.message).toMatch(
			/^GET \/v1\.0\/security\/incidents\/\d+ failed: HTTP 403 .*This needs the Microsoft Graph application permission SecurityIncident\.Read\.All \(or SecurityIncident\.ReadWrite\.All\), with admin consent granted, on the app registration\.$/,
		);
		const many = await failure({ operation: 'getAll', returnAll: true }, { client });
		expect(many.message).toMatch(/HTTP 403 .*SecurityIncident\.Read\.All/);
		const related = await failure({ resource: 'alert', operation: 'getRelated', alertId: byId(alertIds[0]), entityType: 'incident' }, { client });
		expect(related.message).toMatch(/HTTP 403 .*SecurityIncident\.Read\.All/);
	});

	it('a read-only client cannot update: the 403 names SecurityIncident.ReadWrite.All', async () => {
		const client = emu.addClient({ roles: ['SecurityIncident.Read.All'] });
		secrets.push(client.clientSecret);
		const { id } = newIncident();
		const start = mark();
		const error = await failure({ operation: 'update', incidentId: byId(id), updateFields: { status: 'resolved' } }, { client });
		expect((error as NodeApiError).httpCode).toBe('403');
		expect(error.message).toMatch(/^PATCH .* HTTP 403 .*This needs the Microsoft Graph application permission SecurityIncident\.ReadWrite\.All, with admin/);
		// A refused write is not read back or sent again.
		expect(apiCalls(start).map((c) => `${c.method} ${c.status}`)).toEqual(['PATCH 403']);
		const comment = await failure({ operation: 'addComment', incidentId: byId(id), comment: 'x' }, { client });
		expect(comment.message).toMatch(/SecurityIncident\.ReadWrite\.All/);
		expect(stored(id).status).toBe('active');
	});
});

describe('incident: list search', () => {
	it('lists the newest incidents, matches names and looks up a typed number', async () => {
		const older = newIncident({ created: '2026-03-01T10:00:00Z', alert: { title: 'Suspicious PowerShell' } });
		const newer = newIncident({ created: '2026-03-02T10:00:00Z', alert: { title: 'Ransomware behavior' } });
		const nodeType = new MicrosoftDefender();
		const h = createHarness(nodeType, 'microsoftDefender', { resource: 'incident', operation: 'get' }, emulatorCredentials(emu));
		const context = loadOptionsContext(h, 'parameters.incidentId');
		const start = mark();
		const listed = await captured(async () => await listSearch.searchIncidents.call(context));
		expect(listed.results.map((r) => r.value)).toEqual([newer.id, older.id]);
		expect(listed.results[0].name).toBe(`${stored(newer.id).displayName} (#${newer.id}, ${stored(newer.id).severity}, active)`);
		const found = await listSearch.searchIncidents.call(context, 'powershell');
		expect(found.results.map((r) => r.value)).toEqual([older.id]);
		const exact = await listSearch.searchIncidents.call(context, newer.id);
		expect(exact.results.map((r) => r.value)).toEqual([newer.id]);
		expect(apiCalls(start).map((c) => [c.path, c.query])).toEqual([
			[INCIDENTS, { $top: '50' }],
			[INCIDENTS, { $top: '50' }],
			[`${INCIDENTS}/${newer.id}`, {}],
		]);
	});
});

describe('incident: node description', () => {
	const description = new MicrosoftDefender().description;
	const node = { typeVersion: 1.1 };
	const displayed = (values: IDataObject): INodeProperties[] =>
		description.properties.filter((p) => NodeHelpers.displayParameter({ resource: 'incident', ...values } as never, p, node, description));

	it('lists Incident among the resources, alphabetically, and names incidents in the node description', () => {
		const resource = description.properties.find((p) => p.name === 'resource')!;
		const names = (resource.options as Array<{ name: string }>).map((o) => o.name);
		// Case-insensitive, as the n8n lint rule orders options ("Indicator" before "IP Address").
		expect(names).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
		expect(names).toContain('Incident');
		expect(description.description).toMatch(/incidents/);
	});

	it('gives every operation an action and says the writes change the incident in Defender', () => {
		const operation = displayed({}).find((p) => p.name === 'operation')!;
		const options = operation.options as Array<{ value: string; action?: string; description?: string }>;
		expect(options.map((o) => o.value)).toEqual(['addComment', 'get', 'getAll', 'update']);
		for (const option of options) expect(option.action).toBeTruthy();
		for (const write of options.filter((o) => ['addComment', 'update'].includes(o.value))) expect(write.description).toMatch(/in Defender/);
	});

	it('shows each parameter once per operation', () => {
		for (const operation of ['get', 'getAll', 'update', 'addComment']) {
			const names = displayed({ operation }).map((p) => p.name);
			expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
		}
		expect(displayed({ operation: 'get' }).map((p) => p.name)).toEqual(expect.arrayContaining(['incidentId', 'includeAlerts']));
		expect(displayed({ operation: 'getAll', returnAll: false }).map((p) => p.name)).toEqual(
			expect.arrayContaining(['returnAll', 'limit', 'filters', 'includeAlerts']),
		);
	});

	it('checks locator IDs and URLs', () => {
		const issues = (incidentId: IDataObject) =>
			NodeHelpers.getNodeParametersIssues(
				description.properties,
				{
					id: 'n',
					name: 'n',
					type: 'microsoftDefender',
					typeVersion: 1.1,
					position: [0, 0],
					parameters: { resource: 'incident', operation: 'get', incidentId: { __rl: true, ...incidentId } },
				},
				description,
			);
		expect(issues({ mode: 'id', value: '2972395' })).toBeNull();
		expect(issues({ mode: 'id', value: '29a' })?.parameters?.incidentId).toBeDefined();
		expect(issues({ mode: 'url', value: 'https://security.microsoft.com/incidents/2972395?tid=x' })).toBeNull();
		expect(issues({ mode: 'url', value: 'https://security.microsoft.com/incident2/2972395/overview?tid=x' })).toBeNull();
		expect(issues({ mode: 'url', value: 'https://security.microsoft.com/incidents/2972395' })).toBeNull();
		expect(issues({ mode: 'url', value: 'https://security.microsoft.com/alerts/da1_2' })?.parameters?.incidentId).toBeDefined();
		expect(issues({ mode: 'url', value: 'https://security.microsoft.com/incidents/29a' })?.parameters?.incidentId).toBeDefined();
	});
});

test('secrets and tokens never appear in outputs or errors', () => {
	expect(observed.length).toBeGreaterThan(30);
	const haystack = observed.join('\n');
	secrets.push(emu.client.clientSecret);
	expect(secrets.length).toBe(3);
	for (const secret of secrets) expect(haystack.includes(secret)).toBe(false);
	expect(haystack).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
	expect(haystack).not.toMatch(/Bearer /);
});
