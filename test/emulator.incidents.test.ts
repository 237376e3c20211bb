/**
 * The emulator's Microsoft Graph security incidents (`/v1.0/security/incidents`): incidents derived from the
 * alerts' incidentId, OData (filter, $top ≤ 50, $skip ≤ 500, $count, $expand=alerts), the API profiles' $orderby
 * rules, updates and comments (lastUpdateDateTime), roles, the evolvable status, the $expand fault, the handle,
 * the admin API and the demo stream.
 *
 * Requests go through https.request with the emulator CA passed explicitly (test/helpers/emulatorHttp.ts).
 */
import { startEmulator, type ApiProfile, type Emulator } from './emulator';
import { startAlertStream } from './emulator/cli';
import { closeEmulatorConnections, emulatorCall, emulatorToken, GRAPH_SCOPE, type EmulatorRequest, type EmulatorResponse } from './helpers/emulatorHttp';

const TS7 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;
const BASE = '/v1.0/security/incidents';
const APP = 'n8n Defender emulator app';

let emu: Emulator;
let graph: string;

const call = (method: string, urlPath: string, req: EmulatorRequest = {}): Promise<EmulatorResponse> => emulatorCall(emu, method, urlPath, req);

const q = (params: Record<string, string | number>): string =>
	'?' + Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');

/** A Graph token by client credentials. */
const tokenFor = (client = emu.client): Promise<string> => emulatorToken(emu, client, GRAPH_SCOPE);

const gapi = (method: string, p: string, json?: unknown, headers?: Record<string, string>) => call(method, p, { token: graph, json, headers });
const list = (params: Record<string, string | number> = {}, headers?: Record<string, string>) => gapi('GET', `${BASE}${q(params)}`, undefined, headers);
const idsOf = (res: EmulatorResponse): string[] => {
	expect(res.status).toBe(200);
	return res.json.value.map((i: { id: string }) => i.id);
};
const admin = (method: string, p: string, json?: unknown) => call(method, `/_emulator${p}`, { json });

const T = (h: number, m = 0) => `2026-11-27T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00.0000000Z`;
/** One alert of incident `incidentId`, created at `at`. */
const alert = (incidentId: number | null, at: string, extra: Record<string, unknown> = {}) =>
	emu.alerts.create({ incidentId, alertCreationTime: at, status: 'New', ...extra });

beforeAll(async () => {
	emu = await startEmulator();
	graph = await tokenFor();
});
afterAll(async () => {
	closeEmulatorConnections();
	await emu.close();
});
beforeEach(() => emu.reset());

// ------------------------------------------------------------------------------------------------

describe('incidents from alerts', () => {
	test('alerts sharing an incidentId form one incident in the Graph v1.0 shape; alerts without one form none', async () => {
		const [m1, m2] = emu.machines.seed(2);
		alert(100, T(8), { severity: 'Medium', category: 'Execution', machineId: m1.id, detectionSource: 'WindowsDefenderAtp' });
		alert(100, T(9), { severity: 'High', category: 'CommandAndControl', machineId: m2.id, detectionSource: 'WindowsDefenderAv' });
		const single = alert(101, T(10), { severity: 'Low', machineId: m1.id, title: 'Suspicious PowerShell command line' });
		alert(null, T(11));
		const res = await list();
		expect(res.json['@odata.context']).toBe(`${emu.url}/v1.0/$metadata#security/incidents`);
		expect(res.json).not.toHaveProperty('@odata.nextLink');
		expect(idsOf(res)).toEqual(['101', '100']);
		const [one, multi] = res.json.value;
		expect(multi).toEqual({
			'@odata.type': '#microsoft.graph.security.incident',
			id: '100',
			tenantId: emu.tenantId,
			status: 'active',
			incidentWebUrl: `https://security.microsoft.com/incidents/100?tid=${emu.tenantId}`,
			redirectIncidentId: null,
			displayName: 'Multi-stage incident involving Execution & Command and control on multiple endpoints reported by multiple sources',
			description: null,
			summary: null,
			createdDateTime: T(8),
			lastUpdateDateTime: T(9),
			assignedTo: null,
			classification: 'unknown',
			determination: 'unknown',
			severity: 'high',
			customTags: [],
			systemTags: [],
			comments: [],
			resolvingComment: null,
			lastModifiedBy: null,
		});
		expect(one).toMatchObject({ id: '101', displayName: `${single.title} on one endpoint`, severity: 'low', createdDateTime: T(10), lastUpdateDateTime: T(10) });
		expect(one.createdDateTime).toMatch(TS7);
	});

	test('severity is the highest of its alerts (UnSpecified = unknown); get by id; 404 when unknown or not numeric', async () => {
		alert(7, T(8), { severity: 'UnSpecified' });
		expect((await gapi('GET', `${BASE}/7`)).json.severity).toBe('unknown');
		alert(7, T(9), { severity: 'Informational' });
		const res = await gapi('GET', `${BASE}/7`);
		expect(res.status).toBe(200);
		expect(res.json).toMatchObject({ '@odata.context': `${emu.url}/v1.0/$metadata#security/incidents/$entity`, id: '7', severity: 'informational' });
		for (const id of ['8', 'abc', '7x']) {
			const missing = await gapi('GET', `${BASE}/${id}`);
			expect(missing.status).toBe(404);
			expect(missing.json.error).toMatchObject({ code: 'NotFound', message: `Incident with id '${id}' was not found.` });
			expect(missing.json.error.innerError).toHaveProperty('request-id');
		}
	});

	test('an incident exists once one of its alerts is visible (ingestion delay)', async () => {
		const now = emu.clock.now().getTime();
		const created = new Date(now - 60_000).toISOString();
		emu.incidents.createAlert(5, { alertCreationTime: created }, { visibleAt: new Date(now + 5 * 60_000) });
		expect(idsOf(await list())).toEqual([]);
		expect((await gapi('GET', `${BASE}/5`)).status).toBe(404);
		expect(emu.incidents.get('5')).toBeUndefined();
		emu.clock.advance(5 * 60_000);
		expect(idsOf(await list())).toEqual(['5']);
		expect(emu.incidents.get('5')).toMatchObject({ id: '5', createdDateTime: created.replace('Z', '0000Z') });
	});

	test('lastUpdateDateTime moves when an alert joins (to its creation time, when later), also a late one', async () => {
		alert(40, T(8));
		alert(40, T(10));
		expect((await gapi('GET', `${BASE}/40`)).json).toMatchObject({ createdDateTime: T(8), lastUpdateDateTime: T(10) });
		// Joins with an earlier creation time: part of the incident, lastUpdateDateTime stays.
		alert(40, T(9));
		expect((await gapi('GET', `${BASE}/40`)).json.lastUpdateDateTime).toBe(T(10));
		expect(emu.incidents.alerts('40')).toHaveLength(3);
		// A late alert (created 11:00, visible only later) moves it once visible, to its creation time: a poller
		// whose cursor already passed 11:00 must overlap to see the change, as with alerts.
		const visibleAt = new Date(emu.clock.now().getTime() + 60_000);
		emu.incidents.createAlert(40, { alertCreationTime: T(11) }, { visibleAt });
		expect((await gapi('GET', `${BASE}/40`)).json.lastUpdateDateTime).toBe(T(10));
		emu.clock.advance(60_000);
		expect((await gapi('GET', `${BASE}/40`)).json.lastUpdateDateTime).toBe(T(11));
	});

	test('lastUpdateDateTime moves on PATCH and on a comment (to now); a PATCH that changes nothing leaves it', async () => {
		alert(41, T(8));
		const before = emu.clock.now().toISOString().replace('Z', '0000Z');
		const patched = await gapi('PATCH', `${BASE}/41`, { status: 'inProgress' });
		expect(patched.status).toBe(200);
		expect(patched.json.lastUpdateDateTime).toMatch(TS7);
		expect(patched.json.lastUpdateDateTime >= before).toBe(true);
		const again = await gapi('PATCH', `${BASE}/41`, { status: 'inProgress' });
		expect(again.json.lastUpdateDateTime).toBe(patched.json.lastUpdateDateTime);
		await gapi('POST', `${BASE}/41/comments`, { comment: 'looking' });
		const after = (await gapi('GET', `${BASE}/41`)).json;
		expect(after.lastUpdateDateTime > patched.json.lastUpdateDateTime).toBe(true);
		expect(after.lastUpdateDateTime).toBe(after.comments[0].createdDateTime);
	});

	test('ties: same createdDateTime (newest first, ties by numeric id desc) and same lastUpdateDateTime', async () => {
		for (const id of [998, 1000, 999]) alert(id, T(8));
		alert(5, T(7));
		expect(idsOf(await list())).toEqual(['1000', '999', '998', '5']);
		for (const id of ['998', '1000', '999', '5']) emu.incidents.update(id, {}, { at: T(12) });
		expect(idsOf(await list({ $filter: `lastUpdateDateTime eq ${T(12)}` }))).toEqual(['1000', '999', '998', '5']);
		expect(idsOf(await list({ $orderby: 'lastUpdateDateTime asc' }))).toEqual(['5', '998', '999', '1000']);
		expect(idsOf(await list({ $orderby: 'lastUpdateDateTime desc' }))).toEqual(['5', '998', '999', '1000']);
		expect(idsOf(await list({ $filter: `lastUpdateDateTime gt ${T(11)}`, $orderby: 'createdDateTime asc' }))).toEqual(['5', '998', '999', '1000']);
	});
});

describe('OData', () => {
	/** 60 incidents: ids 1..60 created one minute apart from 08:00 (id 60 newest). */
	const sixty = (): void => {
		for (let i = 1; i <= 60; i++) alert(i, T(8, i - 1), { severity: i % 3 === 0 ? 'High' : 'Low' });
	};

	test('$top: default 50, at most 50; above it the production 400', async () => {
		sixty();
		const all = await list();
		expect(idsOf(all)).toHaveLength(50);
		expect(idsOf(all)[0]).toBe('60');
		expect(idsOf(await list({ $top: 50 }))).toHaveLength(50);
		expect(idsOf(await list({ $top: 3 }))).toEqual(['60', '59', '58']);
		for (const top of [51, 100]) {
			const res = await list({ $top: top });
			expect(res.status).toBe(400);
			expect(res.json.error).toMatchObject({
				code: 'BadRequest',
				message: `The query specified in the URI is not valid. The limit of '50' for Top query has been exceeded. The value from the incoming request is '${top}'.`,
			});
		}
		expect((await list({ $top: 'x' })).status).toBe(400);
	});

	test('$skip (≤ 500), $count, never a nextLink', async () => {
		sixty();
		expect(idsOf(await list({ $skip: 10, $top: 3 }))).toEqual(['50', '49', '48']);
		expect(idsOf(await list({ $skip: 500 }))).toEqual([]);
		const skip = await list({ $skip: 501 });
		expect(skip.status).toBe(400);
		expect(skip.json.error.message).toBe("Invalid $skip value '501'. The maximum allowed $skip value is 500.");
		const counted = await list({ $count: 'true', $filter: "severity eq 'high'" });
		expect(counted.json['@odata.count']).toBe(20);
		expect(idsOf(counted)).toHaveLength(20);
		const page = await list({ $count: 'true' });
		expect(page.json['@odata.count']).toBe(60);
		expect(page.json.value).toHaveLength(50);
		expect(page.json).not.toHaveProperty('@odata.nextLink');
	});

	test('$filter: eq on the documented properties, ranges on the two timestamps, and/or/parentheses', async () => {
		alert(1, T(8), { severity: 'High' });
		alert(2, T(9), { severity: 'Low' });
		alert(3, T(10), { severity: 'Medium' });
		emu.incidents.update('2', { assignedTo: 'secop@contoso.com', classification: 'truePositive', determination: 'malware', status: 'resolved' }, { at: T(13) });
		const ids = async (filter: string) => idsOf(await list({ $filter: filter }));
		expect(await ids("severity eq 'high'")).toEqual(['1']);
		expect(await ids("assignedTo eq 'secop@contoso.com'")).toEqual(['2']);
		expect(await ids("classification eq 'truePositive' and determination eq 'malware'")).toEqual(['2']);
		expect(await ids("status eq 'active'")).toEqual(['3', '1']);
		expect(await ids("status eq 'resolved' or severity eq 'medium'")).toEqual(['3', '2']);
		expect(await ids(`createdDateTime ge ${T(9)} and createdDateTime lt ${T(10)}`)).toEqual(['2']);
		expect(await ids(`createdDateTime gt ${T(8)}`)).toEqual(['3', '2']);
		expect(await ids(`createdDateTime le ${T(9)}`)).toEqual(['2', '1']);
		expect(await ids(`lastUpdateDateTime gt ${T(12)}`)).toEqual(['2']);
		expect(await ids(`(severity eq 'high' or severity eq 'low') and lastUpdateDateTime lt ${T(12)}`)).toEqual(['1']);
		expect(await ids("assignedTo eq null")).toEqual(['3', '1']);
	});

	test.each<[string, string]>([
		["displayName eq 'x'", "Invalid filter clause: Could not find a property named 'displayName' on type 'microsoft.graph.security.incident'."],
		["serviceSource eq 'microsoftDefenderForEndpoint'", "Invalid filter clause: Could not find a property named 'serviceSource' on type 'microsoft.graph.security.incident'."],
		["severity eq 'High'", "Invalid filter clause: The string 'High' is not a valid enumeration type constant."],
	])('$filter=%s → 400', async (filter, message) => {
		alert(1, T(8));
		const res = await list({ $filter: filter });
		expect(res.status).toBe(400);
		expect(res.json.error).toMatchObject({ code: 'BadRequest', message });
	});

	test.each<ApiProfile>(['ordered', 'ignoresOrderby', 'documentedOnly'])('%s: id is not filterable (400)', async (profile) => {
		alert(1, T(8));
		emu.setApiProfile(profile);
		for (const filter of ["id eq '1'", "id gt '0'", "severity eq 'low' and ID eq '1'"]) {
			const res = await list({ $filter: filter });
			expect(res.status).toBe(400);
			expect(res.json.error).toMatchObject({ code: 'BadRequest', message: "Invalid filter clause: The property 'id' cannot be used in the $filter query option." });
		}
	});

	test('$expand=alerts: each incident carries its visible alerts exactly as alerts_v2 serializes them', async () => {
		alert(70, T(8), { severity: 'High' });
		alert(70, T(9));
		alert(71, T(10));
		const hidden = emu.incidents.createAlert(70, { alertCreationTime: T(11) }, { visibleAt: new Date(emu.clock.now().getTime() + 60_000) });
		const res = await list({ $expand: 'alerts' });
		expect(res.json['@odata.context']).toBe(`${emu.url}/v1.0/$metadata#security/incidents(alerts())`);
		const incident = res.json.value.find((i: { id: string }) => i.id === '70');
		const v2 = await gapi('GET', `/v1.0/security/alerts_v2${q({ $filter: "incidentId eq '70'", $orderby: 'createdDateTime asc' })}`);
		expect(v2.json.value).toHaveLength(2);
		expect(incident.alerts).toEqual(v2.json.value);
		expect(incident.alerts.map((a: { id: string }) => a.id)).not.toContain(hidden.id);
		expect(incident.alerts[0].evidence.length).toBeGreaterThan(0);
		const { '@odata.context': _context, ...single } = (await gapi('GET', `/v1.0/security/alerts_v2/${incident.alerts[1].id}`)).json;
		expect(incident.alerts[1]).toEqual(single);
		const one = await gapi('GET', `${BASE}/71?$expand=alerts`);
		expect(one.json.alerts.map((a: { incidentId: string }) => a.incidentId)).toEqual(['71']);
		expect((await list()).json.value[0]).not.toHaveProperty('alerts');
		for (const expand of ['evidence', 'alerts,comments']) {
			const bad = await list({ $expand: expand });
			expect(bad.status).toBe(400);
			expect(bad.json.error.message).toMatch(/Could not find a property named '(evidence|comments)' on type 'microsoft.graph.security.incident'/);
		}
		expect((await gapi('GET', `${BASE}/71?$expand=evidence`)).status).toBe(400);
	});
});

describe('API profiles', () => {
	/** createdDateTime and lastUpdateDateTime orders differ; ids 2 and 3 tie on creation. */
	const fixture = (): void => {
		alert(1, T(8));
		alert(2, T(9));
		alert(3, T(9));
		alert(4, T(10));
		emu.incidents.update('1', {}, { at: T(14) });
		emu.incidents.update('3', {}, { at: T(12) });
	};
	const NEWEST_FIRST = ['4', '3', '2', '1'];

	test.each<[ApiProfile, string | null, string[] | string]>([
		['ordered', null, NEWEST_FIRST],
		['ordered', 'createdDateTime asc', ['1', '2', '3', '4']],
		['ordered', 'createdDateTime desc', ['4', '2', '3', '1']],
		['ordered', 'lastUpdateDateTime asc', ['2', '4', '3', '1']],
		['ordered', 'LastUpdateDateTime DESC', ['1', '3', '4', '2']],
		['ordered', 'createdDateTime asc, id desc', "The query option '$orderby' supports only one property on incidents; found 2: 'createdDateTime asc, id desc'."],
		['ordered', 'severity desc', "The query option '$orderby' on incidents supports only createdDateTime or lastUpdateDateTime; found 'severity'."],
		['ordered', 'id', "The query option '$orderby' on incidents supports only createdDateTime or lastUpdateDateTime; found 'id'."],
		['ignoresOrderby', null, NEWEST_FIRST],
		['ignoresOrderby', 'createdDateTime asc', NEWEST_FIRST],
		['ignoresOrderby', 'lastUpdateDateTime asc', NEWEST_FIRST],
		['ignoresOrderby', 'lastUpdateDateTime asc, severity desc', NEWEST_FIRST],
		['ignoresOrderby', 'colour desc', "Could not find a property named 'colour' on type 'microsoft.graph.security.incident' to order by."],
		['documentedOnly', null, NEWEST_FIRST],
		['documentedOnly', 'createdDateTime asc', "The query option '$orderby' is not supported on incidents."],
		['documentedOnly', 'lastUpdateDateTime asc', "The query option '$orderby' is not supported on incidents."],
	])('%s, $orderby=%s', async (profile, orderby, expected) => {
		fixture();
		emu.setApiProfile(profile);
		const res = await list(orderby === null ? {} : { $orderby: orderby });
		if (typeof expected === 'string') {
			expect(res.status).toBe(400);
			expect(res.json.error).toMatchObject({ code: 'BadRequest', message: expected });
		} else {
			expect(idsOf(res)).toEqual(expected);
		}
	});

	test.each<[ApiProfile, boolean]>([
		['ordered', true],
		['ignoresOrderby', true],
		['documentedOnly', false],
	])("%s: alerts_v2 $filter=incidentId eq '<id>' accepted: %s", async (profile, accepted) => {
		const a = alert(80, T(8));
		alert(81, T(9));
		emu.setApiProfile(profile);
		const res = await gapi('GET', `/v1.0/security/alerts_v2${q({ $filter: "incidentId eq '80'" })}`);
		if (accepted) {
			expect(idsOf(res)).toEqual([a.id]);
		} else {
			expect(res.status).toBe(400);
			expect(res.json.error).toMatchObject({
				code: 'BadRequest',
				message: "Invalid filter clause: The property 'incidentId' cannot be used in the $filter query option.",
			});
		}
	});
});

describe('updates and comments', () => {
	test('PATCH sets the documented properties, returns the incident; customTags replace the list', async () => {
		alert(50, T(8));
		const res = await gapi('PATCH', `${BASE}/50`, {
			'@odata.type': '#microsoft.graph.security.incident',
			status: 'resolved',
			assignedTo: 'secop@contoso.com',
			classification: 'truePositive',
			determination: 'multiStagedAttack',
			customTags: ['Demo', 'n8n'],
			resolvingComment: 'contained',
			summary: 'a summary',
			description: 'a description',
		});
		expect(res.status).toBe(200);
		expect(res.json).toMatchObject({
			'@odata.context': `${emu.url}/v1.0/$metadata#security/incidents/$entity`,
			id: '50',
			status: 'resolved',
			assignedTo: 'secop@contoso.com',
			classification: 'truePositive',
			determination: 'multiStagedAttack',
			customTags: ['Demo', 'n8n'],
			resolvingComment: 'contained',
			summary: 'a summary',
			description: 'a description',
			lastModifiedBy: APP,
		});
		const tags = await gapi('PATCH', `${BASE}/50`, { customTags: ['only'], assignedTo: null, classification: null });
		expect(tags.json).toMatchObject({ customTags: ['only'], assignedTo: null, classification: 'unknown', status: 'resolved' });
		expect(emu.incidents.get('50')).toMatchObject({ customTags: ['only'], assignedTo: null });
	});

	test.each<[unknown, RegExp]>([
		[{ severity: 'high' }, /The property 'severity' does not exist/],
		[{ Status: 'resolved' }, /The property 'Status' does not exist/],
		[{ displayName: 'x' }, /The property 'displayName' does not exist/],
		[{ systemTags: ['x'] }, /The property 'systemTags' does not exist/],
		[{ status: 'closed' }, /'closed' is not a valid value for 'status'/],
		[{ status: 'unknownFutureValue' }, /'unknownFutureValue' is not a valid value for 'status'/],
		[{ classification: 'TruePositive' }, /'TruePositive' is not a valid value for 'classification'/],
		[{ determination: 'compromisedUser' }, /'compromisedUser' is not a valid value for 'determination'/],
		[{ customTags: 'Demo' }, /'customTags' property must be an array of strings/],
		[{ customTags: [1] }, /'customTags' property must be an array of strings/],
		[{ assignedTo: 5 }, /'assignedTo' property must be a string/],
		[[], /must be a JSON object/],
	])('PATCH %j → 400 naming what is wrong, nothing applied', async (body, message) => {
		alert(51, T(8));
		const res = await gapi('PATCH', `${BASE}/51`, body);
		expect(res.status).toBe(400);
		expect(res.json.error.code).toBe('BadRequest');
		expect(res.json.error.message).toMatch(message);
		expect(emu.incidents.get('51')).toMatchObject({ status: 'active', lastUpdateDateTime: T(8), lastModifiedBy: null });
	});

	test('PATCH and comments on an unknown incident: 404', async () => {
		expect((await gapi('PATCH', `${BASE}/52`, { status: 'resolved' })).status).toBe(404);
		expect((await gapi('POST', `${BASE}/52/comments`, { comment: 'x' })).status).toBe(404);
	});

	test('comments: 200 with every comment of the incident, as alerts_v2 answers; an empty one is a 400', async () => {
		alert(53, T(8));
		const first = await gapi('POST', `${BASE}/53/comments`, { '@odata.type': 'microsoft.graph.security.alertComment', comment: 'first' });
		expect(first.status).toBe(200);
		expect(first.json['@odata.context']).toBe(`${emu.url}/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)`);
		expect(first.json.value).toEqual([{ comment: 'first', createdByDisplayName: APP, createdDateTime: expect.stringMatching(TS7) }]);
		const second = await gapi('POST', `${BASE}/53/comments`, { comment: 'second' });
		expect(second.json.value.map((c: { comment: string }) => c.comment)).toEqual(['first', 'second']);
		expect((await gapi('GET', `${BASE}/53`)).json.comments).toEqual(second.json.value);
		for (const body of [{ comment: '' }, { comment: '   ' }, {}, { comment: 'x', createdBy: 'me' }]) {
			const bad = await gapi('POST', `${BASE}/53/comments`, body);
			expect(bad.status).toBe(400);
			expect(bad.json.error.code).toBe('BadRequest');
		}
		expect(emu.incidents.get('53')!.comments).toHaveLength(2);
	});

	test('acted, then …: a PATCH or comment faulted after the handler is applied', async () => {
		alert(54, T(8));
		emu.faults.inject({ kind: '500', after: true, match: /^PATCH \/v1\.0\/security\/incidents\// });
		const res = await gapi('PATCH', `${BASE}/54`, { status: 'inProgress' });
		expect(res.status).toBe(500);
		expect(res.json.error.code).toBe('InternalServerError');
		expect(emu.incidents.get('54')!.status).toBe('inProgress');
		expect(emu.requestLog[emu.requestLog.length - 1]).toMatchObject({ status: 500, fault: '500', handledStatus: 200 });
		emu.faults.inject({ kind: 'reset', after: true, match: /^POST \/v1\.0\/security\/incidents\/54\/comments$/ });
		await expect(gapi('POST', `${BASE}/54/comments`, { comment: 'once' })).rejects.toThrow(/socket hang up|ECONNRESET/);
		expect(emu.incidents.get('54')!.comments.map((c) => c.comment)).toEqual(['once']);
		expect(emu.requestLog[emu.requestLog.length - 1]).toMatchObject({ status: 0, fault: 'reset', handledStatus: 200 });
	});

	test('awaitingAction is shown only with Prefer: include-unknown-enum-members (else unknownFutureValue)', async () => {
		alert(60, T(8));
		alert(61, T(9));
		const PREFER = { Prefer: 'odata.maxpagesize=10, include-unknown-enum-members' };
		const patched = await gapi('PATCH', `${BASE}/60`, { status: 'awaitingAction' });
		expect(patched.json.status).toBe('unknownFutureValue');
		expect((await gapi('GET', `${BASE}/60`)).json.status).toBe('unknownFutureValue');
		expect((await gapi('GET', `${BASE}/60`, undefined, PREFER)).json.status).toBe('awaitingAction');
		expect((await list()).json.value.map((i: { status: string }) => i.status)).toEqual(['active', 'unknownFutureValue']);
		expect((await list({}, PREFER)).json.value.map((i: { status: string }) => i.status)).toEqual(['active', 'awaitingAction']);
		// $filter compares the value the client is shown.
		expect(idsOf(await list({ $filter: "status eq 'awaitingAction'" }, PREFER))).toEqual(['60']);
		expect(idsOf(await list({ $filter: "status eq 'awaitingAction'" }))).toEqual([]);
		expect(idsOf(await list({ $filter: "status eq 'unknownFutureValue'" }))).toEqual(['60']);
		expect(emu.incidents.get('60')!.status).toBe('awaitingAction');
	});
});

describe('access, quota, faults, stats', () => {
	test('the default client holds SecurityIncident.ReadWrite.All; without an incident role: 403; a reader cannot write', async () => {
		const claims = JSON.parse(Buffer.from(graph.split('.')[1], 'base64url').toString('utf8'));
		expect(claims.roles).toContain('SecurityIncident.ReadWrite.All');
		alert(90, T(8));
		const alertsOnly = await tokenFor(emu.addClient({ roles: ['SecurityAlert.ReadWrite.All'] }));
		for (const [method, p, json] of [
			['GET', BASE, undefined],
			['GET', `${BASE}/90`, undefined],
			['PATCH', `${BASE}/90`, { status: 'resolved' }],
			['POST', `${BASE}/90/comments`, { comment: 'x' }],
		] as const) {
			const res = await call(method, p, { token: alertsOnly, json });
			expect(res.status).toBe(403);
			expect(res.json.error.code).toBe('Forbidden');
			expect(res.json.error.message).toMatch(/SecurityIncident\.ReadWrite\.All/);
		}
		const reader = await tokenFor(emu.addClient({ roles: ['SecurityIncident.Read.All'] }));
		expect((await call('GET', BASE, { token: reader })).status).toBe(200);
		expect((await call('GET', `${BASE}/90`, { token: reader })).status).toBe(200);
		const write = await call('PATCH', `${BASE}/90`, { token: reader, json: { status: 'resolved' } });
		expect(write.status).toBe(403);
		expect(write.json.error.message).toBe(
			'Missing application roles. API required roles: SecurityIncident.ReadWrite.All. Application roles on the token: SecurityIncident.Read.All.',
		);
		expect((await call('POST', `${BASE}/90/comments`, { token: reader, json: { comment: 'x' } })).status).toBe(403);
		expect(emu.incidents.get('90')!.status).toBe('active');
	});

	test("incidents share Graph's /security quota (150/min) with alerts_v2", async () => {
		emu.setRateLimits(true);
		try {
			const results = await Promise.all(
				Array.from({ length: 151 }, (_, i) => gapi('GET', i % 2 ? `${BASE}?$top=1` : '/v1.0/security/alerts_v2?$top=1')),
			);
			const throttled = results.filter((r) => r.status === 429);
			expect(throttled).toHaveLength(1);
			expect(throttled[0].json.error.code).toBe('TooManyRequests');
			expect((await gapi('GET', `${BASE}/1`)).status).toBe(429);
		} finally {
			emu.setRateLimits(false);
		}
	});

	test('the $expand=alerts fault: 500 on list and get with $expand=alerts until switched off; clear() and reset() end it', async () => {
		alert(95, T(8));
		emu.faults.setIncidentExpandFailure(true);
		expect(emu.faults.incidentExpandFailure).toBe(true);
		for (let i = 0; i < 3; i++) {
			const res = await list({ $expand: 'alerts', $filter: "status eq 'active'" });
			expect(res.status).toBe(500);
			expect(res.json.error).toMatchObject({ code: 'InternalServerError', message: expect.any(String) });
		}
		expect((await gapi('GET', `${BASE}/95?$expand=alerts`)).status).toBe(500);
		expect((await list()).status).toBe(200);
		expect((await gapi('GET', `${BASE}/95`)).status).toBe(200);
		expect((await gapi('GET', '/v1.0/security/alerts_v2')).status).toBe(200);
		expect(emu.faults.injectedCount()).toBe(4);
		// Query errors still come first.
		expect((await list({ $expand: 'alerts', $top: 51 })).status).toBe(400);
		emu.faults.setIncidentExpandFailure(false);
		expect((await list({ $expand: 'alerts' })).status).toBe(200);
		emu.faults.setIncidentExpandFailure(true);
		emu.faults.clear();
		expect((await list({ $expand: 'alerts' })).status).toBe(200);
		emu.faults.setIncidentExpandFailure(true);
		emu.reset();
		expect(emu.faults.incidentExpandFailure).toBe(false);
	});

	test('requests are counted and logged by route', async () => {
		alert(96, T(8));
		await list();
		await list({ $top: 1 });
		await gapi('GET', `${BASE}/96`);
		await gapi('PATCH', `${BASE}/96`, { status: 'inProgress' });
		await gapi('POST', `${BASE}/96/comments`, { comment: 'c' });
		const { requests } = emu.stats();
		expect(requests[`GET ${BASE}`]).toBe(2);
		expect(requests[`GET ${BASE}/:id`]).toBe(1);
		expect(requests[`PATCH ${BASE}/:id`]).toBe(1);
		expect(requests[`POST ${BASE}/:id/comments`]).toBe(1);
		expect(emu.requestLog.filter((e) => e.path.startsWith(BASE)).map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
			`GET ${BASE} 200`,
			`GET ${BASE} 200`,
			`GET ${BASE}/96 200`,
			`PATCH ${BASE}/96 200`,
			`POST ${BASE}/96/comments 200`,
		]);
	});
});

describe('handle, admin API, demo stream', () => {
	test('in-process: list, get, alerts, update, comment, createAlert; validation and unknown ids throw', () => {
		const first = emu.incidents.createAlert(200, { alertCreationTime: T(8) });
		const joined = emu.incidents.createAlert('200', { alertCreationTime: T(9) });
		emu.incidents.createAlert(201, { alertCreationTime: T(10) });
		expect(first.incidentId).toBe(200);
		expect(emu.incidents.list().map((i) => i.id)).toEqual(['201', '200']);
		expect(emu.incidents.alerts('200').map((a) => a.id)).toEqual([first.id, joined.id]);
		const updated = emu.incidents.update('200', { status: 'redirected', redirectIncidentId: '201', systemTags: ['Defender Experts'] }, { at: T(15), by: 'analyst' });
		expect(updated).toMatchObject({ status: 'redirected', redirectIncidentId: '201', systemTags: ['Defender Experts'], lastUpdateDateTime: T(15), lastModifiedBy: 'analyst' });
		expect(emu.incidents.comment('200', 'note', { at: T(16) })).toEqual([{ comment: 'note', createdByDisplayName: APP, createdDateTime: T(16) }]);
		expect(emu.incidents.get('200')!.lastUpdateDateTime).toBe(T(16));
		// Copies: changing what the handle returned changes nothing.
		emu.incidents.get('200')!.customTags.push('x');
		expect(emu.incidents.get('200')!.customTags).toEqual([]);
		expect(() => emu.incidents.update('999', { status: 'resolved' })).toThrow(/Unknown incident 999/);
		expect(() => emu.incidents.update('200', { status: 'closed' as never })).toThrow(/'closed' is not a valid value for 'status'/);
		expect(() => emu.incidents.comment('200', ' ')).toThrow(/non-empty/);
		expect(() => emu.incidents.createAlert('abc')).toThrow(/Incident ids are numbers/);
		// Later alerts without a chosen incident never land in a caller-chosen one.
		const fresh = emu.alerts.create({});
		expect(fresh.incidentId).toBeGreaterThan(201);
		expect(emu.alerts.create({ incidentId: null }).incidentId).toBeNull();
	});

	test('an update before the incident is visible is kept for when it is', async () => {
		emu.incidents.createAlert(210, { alertCreationTime: T(8) }, { visibleAt: new Date(emu.clock.now().getTime() + 60_000) });
		expect(emu.incidents.update('210', { assignedTo: 'a@contoso.com' }, { at: T(9) })).toBeUndefined();
		emu.clock.advance(60_000);
		expect((await gapi('GET', `${BASE}/210`)).json).toMatchObject({ assignedTo: 'a@contoso.com', lastUpdateDateTime: T(9) });
	});

	test('admin HTTP API: incidents, updates with at, comments, joining alerts, the expand fault', async () => {
		expect((await admin('POST', '/incidents/300/alerts', { alertCreationTime: T(8), severity: 'High' })).status).toBe(201);
		expect((await admin('POST', '/incidents/300/alerts', { alert: { alertCreationTime: T(9) } })).status).toBe(201);
		const listed = await admin('GET', '/incidents');
		expect(listed.json.value.map((i: { id: string }) => i.id)).toEqual(['300']);
		const one = await admin('GET', '/incidents/300');
		expect(one.json).toMatchObject({ id: '300', severity: 'high', lastUpdateDateTime: T(9) });
		expect(one.json.alertIds).toHaveLength(2);
		expect((await admin('GET', '/incidents/301')).status).toBe(404);
		const patched = await admin('PATCH', '/incidents/300', { patch: { status: 'inProgress' }, at: T(12), by: 'soc' });
		expect(patched.json).toMatchObject({ status: 'inProgress', lastUpdateDateTime: T(12), lastModifiedBy: 'soc' });
		expect((await admin('PATCH', '/incidents/300', { status: 'bogus' })).status).toBe(400);
		const commented = await admin('POST', '/incidents/300/comments', { comment: 'from the portal', by: 'soc', at: T(13) });
		expect(commented.json.value).toEqual([{ comment: 'from the portal', createdByDisplayName: 'soc', createdDateTime: T(13) }]);
		expect((await gapi('GET', `${BASE}/300`)).json.lastUpdateDateTime).toBe(T(13));

		expect((await admin('PUT', '/faults/incidentExpand', { enabled: true })).json).toEqual({ enabled: true });
		expect((await list({ $expand: 'alerts' })).status).toBe(500);
		expect((await admin('GET', '/faults/incidentExpand')).json).toEqual({ enabled: true });
		expect((await admin('PUT', '/faults/incidentExpand', {})).status).toBe(400);
		expect((await admin('DELETE', '/faults')).status).toBe(204);
		expect((await list({ $expand: 'alerts' })).status).toBe(200);
	});

	test('the demo stream opens new incidents and joins recent ones', async () => {
		emu.alerts.seed(10);
		// The stream logs every event to stdout.
		const quiet = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
		const stream = startAlertStream(emu, { intervalSeconds: 0.02, seed: 3 });
		try {
			const deadline = Date.now() + 10_000;
			while (emu.alerts.all().length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
		} finally {
			stream.stop();
			quiet.mockRestore();
		}
		const streamed = emu.alerts.all().slice(10);
		expect(streamed.length).toBeGreaterThanOrEqual(50);
		const incidents = new Set(streamed.map((a) => a.incidentId));
		expect(incidents.size).toBeGreaterThan(15);
		expect(incidents.size).toBeLessThan(streamed.length);
		const sizes = emu.incidents.list().map((i) => emu.incidents.alerts(i.id).length);
		expect(Math.max(...sizes)).toBeGreaterThan(1);
		expect(sizes.filter((n) => n === 1).length).toBeGreaterThan(0);
	});
});
