/**
 * The alert resource with Source = Microsoft Graph (alerts_v2), run through n8n-core's ExecuteContext against the
 * emulator: the exact requests Graph receives (method, path, query, headers, body), the items the node returns, the
 * paging beyond Graph's $skip cap, and the validation that stops bad input before any request is sent.
 */
import { randomBytes } from 'crypto';
import { NodeHelpers, type IDataObject, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { buildAlertFilter, buildGraphAlertFilter } from '../../nodes/MicrosoftDefender/actions/alert/getAll.operation';
import { graphAlertPages } from '../../nodes/MicrosoftDefender/actions/alert/graph';
import * as transport from '../../nodes/MicrosoftDefender/transport';
import { parseCredentials } from '../../nodes/MicrosoftDefender/transport/credentials';
import { startEmulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode } from '../helpers/n8n';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;
type Alert = ReturnType<Emulator['alerts']['create']>;

const PREFER = 'include-unknown-enum-members';
const ALERTS = '/v1.0/security/alerts_v2';
const ORDER = 'createdDateTime desc';
const MDE_ONLY = "serviceSource eq 'microsoftDefenderForEndpoint'";

let emu: Emulator;

/** What the node handed n8n's HTTP client (method, URL, headers, body), API calls only (tokens go through MSAL). */
const sent: Array<{ method: string; url: string; headers: Record<string, string>; body?: unknown }> = [];

beforeAll(async () => {
	transport.transportSettings.baseDelayMs = 10;
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
	await emu?.close();
});

const unique = () => randomBytes(6).toString('hex');
const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource: 'alert', source: 'graph', ...parameters }, emulatorCredentials(emu));
	if (options.continueOnFail) h.node.continueOnFail = true;
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

const failure = async (parameters: IDataObject): Promise<Error> =>
	await run(parameters).then(
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

function sentSince(from: ReturnType<typeof mark>) {
	return sent.slice(from.sent);
}

/** One alert of its own, assigned to a unique analyst so list filters can single it out. */
function newAlert(fields: IDataObject = {}): Alert {
	return emu.alerts.create({ assignedTo: `analyst-${unique()}@contoso.com`, detectionSource: 'WindowsDefenderAtp', ...fields });
}

/** Newest first, as Graph sorts (createdDateTime desc; the emulator breaks ties by id). */
const newestFirst = (alerts: Alert[]) =>
	[...alerts].sort((a, b) =>
		a.alertCreationTime === b.alertCreationTime ? (a.id < b.id ? -1 : 1) : a.alertCreationTime < b.alertCreationTime ? 1 : -1,
	);

describe('alert (Graph): get', () => {
	it('gets the alert from alerts_v2 with the Prefer header and outputs it as Graph returns it', async () => {
		const alert = newAlert({ title: 'Suspicious PowerShell command line', status: 'InProgress', severity: 'UnSpecified' });
		const start = mark();
		const output = await run({ operation: 'get', alertId: byId(alert.id) });

		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([['GET', `${ALERTS}/${alert.id}`, {}, 200]]);
		const requests = sentSince(start);
		expect(requests).toHaveLength(1);
		expect(requests[0].url).toBe(`${emu.url}${ALERTS}/${alert.id}`);
		expect(requests[0].headers).toMatchObject({ Prefer: PREFER, Accept: 'application/json' });
		expect(requests[0].headers.Authorization).toMatch(/^Bearer /);

		expect(output).toHaveLength(1);
		expect(output[0].pairedItem).toEqual({ item: 0 });
		const json = output[0].json;
		// Raw Graph: its names and camelCase values, evidence included, only the response's @odata.context dropped.
		expect(json).toMatchObject({
			'@odata.type': '#microsoft.graph.security.alert',
			id: alert.id,
			providerAlertId: alert.id,
			title: 'Suspicious PowerShell command line',
			status: 'inProgress',
			severity: 'unknown',
			serviceSource: 'microsoftDefenderForEndpoint',
			createdDateTime: alert.alertCreationTime,
			assignedTo: alert.assignedTo,
		});
		expect(json).not.toHaveProperty(['@odata.context']);
		expect(json).not.toHaveProperty('alertCreationTime');
		expect((json.evidence as IDataObject[]).length).toBeGreaterThan(0);
	});

	it('takes the alert IDs of other Defender products and portal links', async () => {
		const office = newAlert({ id: `fa${randomBytes(4).toString('hex')}-4bfc-80a3-9600-08dd53ec811c`, detectionSource: 'OfficeATP' });
		const cloudApps = newAlert({ id: `ca${randomBytes(12).toString('hex')}`, detectionSource: 'MCAS' });
		const start = mark();
		const first = await run({ operation: 'get', alertId: byId(office.id) });
		const second = await run({
			operation: 'get',
			alertId: { __rl: true, mode: 'url', value: `https://security.microsoft.com/alerts/${cloudApps.id}?tid=${emu.tenantId}` },
		});
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([
			['GET', `${ALERTS}/${office.id}`],
			['GET', `${ALERTS}/${cloudApps.id}`],
		]);
		expect(first[0].json).toMatchObject({ id: office.id, serviceSource: 'microsoftDefenderForOffice365' });
		expect(second[0].json).toMatchObject({ id: cloudApps.id, serviceSource: 'microsoftDefenderForCloudApps' });

		// The Defender for Endpoint API source keeps its own ID check.
		const error = await failure({ operation: 'get', source: 'mde', alertId: byId(cloudApps.id) });
		expect(error.message).toMatch(/is not a Defender for Endpoint alert ID/);
	});

	it('reports Graph errors per item with Continue On Fail', async () => {
		const good = newAlert();
		const start = mark();
		const output = await run(
			{ operation: 'get', alertId: { __rl: true, mode: 'id', value: '={{ $json.id }}' } },
			[{ json: { id: 'da000000000000000003_404' } }, { json: { id: good.id } }, { json: { id: 'x/../../machines' } }],
			{ continueOnFail: true },
		);
		expect(apiCalls(start).map((c) => [c.method, c.path, c.status])).toEqual([
			['GET', `${ALERTS}/da000000000000000003_404`, 404],
			['GET', `${ALERTS}/${good.id}`, 200],
		]);
		expect(output.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(output[0].json.httpCode).toBe('404');
		expect(output[0].json.errorDescription).toMatch(/API error code: NotFound/);
		expect(output[1].json.id).toBe(good.id);
		expect(output[2].json.error).toMatch(/Alert ID "x\/..\/..\/machines" is not a Microsoft Graph alert ID/);
	});
});

describe('alert (Graph): get many', () => {
	it('maps the filters to Graph fields and camelCase values, newest first, up to the limit', async () => {
		const analyst = `triage-${unique()}@contoso.com`;
		const base = { assignedTo: analyst, detectionSource: 'WindowsDefenderAtp', status: 'New', severity: 'High' } as const;
		const times = ['2026-03-01T10:00:00Z', '2026-03-02T10:00:00Z', '2026-03-03T10:00:00Z', '2026-03-04T10:00:00Z'];
		const matching = times.map((t, i) =>
			emu.alerts.create({
				...base,
				alertCreationTime: t,
				lastUpdateTime: '2026-03-05T00:00:00Z',
				...(i % 2 ? ({ status: 'InProgress', severity: 'UnSpecified' } as const) : {}),
				...(i === 3 ? { classification: 'TruePositive', determination: 'Malware' } : {}),
			}),
		);
		// Filtered out by severity, product, time and determination.
		emu.alerts.create({ ...base, severity: 'Low', alertCreationTime: '2026-03-03T12:00:00Z', lastUpdateTime: '2026-03-05T00:00:00Z' });
		emu.alerts.create({ ...base, detectionSource: 'OfficeATP', alertCreationTime: '2026-03-03T13:00:00Z', lastUpdateTime: '2026-03-05T00:00:00Z' });
		emu.alerts.create({ ...base, alertCreationTime: '2026-02-01T13:00:00Z', lastUpdateTime: '2026-03-05T00:00:00Z' });
		emu.alerts.create({
			...base,
			alertCreationTime: '2026-03-03T14:00:00Z',
			lastUpdateTime: '2026-03-05T00:00:00Z',
			classification: 'TruePositive',
			determination: 'Phishing',
		});

		const start = mark();
		const output = await run({
			operation: 'getAll',
			returnAll: false,
			limit: 3,
			filters: {
				assignedTo: analyst,
				statuses: ['New', 'InProgress'],
				severities: ['High', 'UnSpecified'],
				classifications: ['truePositive', 'unknown'],
				determinations: ['malware', 'unknown'],
				createdAfter: '2026-03-01T00:00:00Z',
				createdBefore: '2026-04-01T00:00:00Z',
				updatedAfter: '2026-03-04T00:00:00Z',
			},
		});

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'GET', path: ALERTS, status: 200 });
		expect(calls[0].query).toEqual({
			$filter:
				"(status eq 'new' or status eq 'inProgress') and (severity eq 'high' or severity eq 'unknown')" +
				" and (classification eq 'truePositive' or classification eq 'unknown') and (determination eq 'malware' or determination eq 'unknown')" +
				` and ${MDE_ONLY} and assignedTo eq '${analyst}'` +
				' and createdDateTime ge 2026-03-01T00:00:00.000Z and createdDateTime lt 2026-04-01T00:00:00.000Z' +
				' and lastUpdateDateTime ge 2026-03-04T00:00:00.000Z',
			$orderby: ORDER,
			$top: '3',
		});
		expect(sentSince(start).map((r) => r.headers.Prefer)).toEqual([PREFER]);
		expect(output.map((i) => i.json.id)).toEqual([matching[3].id, matching[2].id, matching[1].id]);
		expect(output.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }, { item: 0 }]);
		expect(output[0].json).toMatchObject({ status: 'inProgress', severity: 'unknown', classification: 'truePositive', determination: 'malware' });
		expect(output[0].json['@odata.type']).toBe('#microsoft.graph.security.alert');
	});

	it('filters on the chosen products; none selected means every product', async () => {
		const analyst = `products-${unique()}@contoso.com`;
		const endpoint = emu.alerts.create({ assignedTo: analyst, detectionSource: 'WindowsDefenderAv', alertCreationTime: '2026-04-01T00:00:00Z' });
		const office = emu.alerts.create({ assignedTo: analyst, detectionSource: 'OfficeATP', alertCreationTime: '2026-04-02T00:00:00Z' });
		const identity = emu.alerts.create({ assignedTo: analyst, detectionSource: 'AzureATP', alertCreationTime: '2026-04-03T00:00:00Z' });

		const start = mark();
		const defaults = await run({ operation: 'getAll', returnAll: true, filters: { assignedTo: analyst } });
		const two = await run({
			operation: 'getAll',
			returnAll: true,
			serviceSources: ['microsoftDefenderForOffice365', 'microsoftDefenderForIdentity'],
			filters: { assignedTo: analyst },
		});
		const all = await run({ operation: 'getAll', returnAll: true, serviceSources: [], filters: { assignedTo: analyst } });

		expect(apiCalls(start).map((c) => c.query)).toEqual([
			{ $filter: `${MDE_ONLY} and assignedTo eq '${analyst}'`, $orderby: ORDER, $top: '1000' },
			{
				$filter: `(serviceSource eq 'microsoftDefenderForOffice365' or serviceSource eq 'microsoftDefenderForIdentity') and assignedTo eq '${analyst}'`,
				$orderby: ORDER,
				$top: '1000',
			},
			{ $filter: `assignedTo eq '${analyst}'`, $orderby: ORDER, $top: '1000' },
		]);
		expect(defaults.map((i) => i.json.id)).toEqual([endpoint.id]);
		expect(two.map((i) => i.json.id)).toEqual([identity.id, office.id]);
		expect(all.map((i) => i.json.id)).toEqual([identity.id, office.id, endpoint.id]);
	});

	it('lists with only the default product filter and limit 50', async () => {
		emu.alerts.seed(60, { overrides: { detectionSource: 'WindowsDefenderAtp' } });
		const start = mark();
		const output = await run({ operation: 'getAll', limit: 50 });
		expect(apiCalls(start).map((c) => [c.method, c.path, c.query])).toEqual([
			['GET', ALERTS, { $filter: MDE_ONLY, $orderby: ORDER, $top: '50' }],
		]);
		expect(output).toHaveLength(50);
		const created = output.map((i) => String(i.json.createdDateTime));
		expect([...created].sort().reverse()).toEqual(created);
	});

	describe('beyond Graph\'s $skip cap of 500 (1,250 matching alerts)', () => {
		const analyst = `bulk-${unique()}@contoso.com`;
		let expected: string[];
		beforeAll(() => {
			const seeded = emu.alerts.seed(1250, { overrides: { assignedTo: analyst, detectionSource: 'WindowsDefenderAtp' } });
			// Same-instant alerts at the page boundary must neither be lost nor repeated.
			const boundary = newestFirst(seeded)[999];
			const twins = [1, 2].map(() => emu.alerts.create({ assignedTo: analyst, detectionSource: 'WindowsDefenderAtp', alertCreationTime: boundary.alertCreationTime }));
			expected = newestFirst([...seeded, ...twins]).map((a) => a.id);
		});
		const filter = `${MDE_ONLY} and assignedTo eq '${analyst}'`;

		it('returns all with Return All: a full page, then pages by time from the oldest alert seen', async () => {
			const start = mark();
			const output = await run({ operation: 'getAll', returnAll: true, filters: { assignedTo: analyst } });

			const calls = apiCalls(start);
			const oldestOfFirstPage = emu.alerts.get(expected[999])!.alertCreationTime;
			expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([
				['GET', ALERTS, { $filter: filter, $orderby: ORDER, $top: '1000' }, 200],
				['GET', ALERTS, { $filter: `${filter} and createdDateTime le ${oldestOfFirstPage}`, $orderby: ORDER, $top: '1000' }, 200],
			]);
			expect(sentSince(start).every((r) => r.headers.Prefer === PREFER)).toBe(true);
			const ids = output.map((i) => i.json.id);
			expect(ids).toHaveLength(1252);
			expect(new Set(ids).size).toBe(1252);
			expect(ids).toEqual(expected);
		});

		it('stops at a limit above 1,000, asking the second page for the rest plus the alerts seen at its start', async () => {
			const start = mark();
			const output = await run({ operation: 'getAll', returnAll: false, limit: 1200, filters: { assignedTo: analyst } });

			const oldestOfFirstPage = emu.alerts.get(expected[999])!.alertCreationTime;
			// Alert 1,000 has two twins created in the same instant; the ones of them on the first page are asked again.
			const seenAtBoundary = expected.slice(0, 1000).filter((id) => emu.alerts.get(id)!.alertCreationTime === oldestOfFirstPage).length;
			expect(apiCalls(start).map((c) => c.query)).toEqual([
				{ $filter: filter, $orderby: ORDER, $top: '1000' },
				{ $filter: `${filter} and createdDateTime le ${oldestOfFirstPage}`, $orderby: ORDER, $top: String(200 + seenAtBoundary) },
			]);
			expect(output.map((i) => i.json.id)).toEqual(expected.slice(0, 1200));
		});

		it('uses $skip up to 500 with smaller pages, then time windows (graphAlertPages)', async () => {
			const context = await directTransport();
			const start = mark();
			const ids: string[] = [];
			for await (const page of graphAlertPages(context, { filter, pageSize: 200 })) ids.push(...page.map((a) => String(a.id)));

			expect(ids).toEqual(expected);
			const queries = apiCalls(start).map((c) => c.query);
			expect(queries.slice(0, 4)).toEqual([
				{ $filter: filter, $orderby: ORDER, $top: '200' },
				{ $filter: filter, $orderby: ORDER, $top: '200', $skip: '200' },
				{ $filter: filter, $orderby: ORDER, $top: '200', $skip: '400' },
				{ $filter: `${filter} and createdDateTime le ${emu.alerts.get(expected[599])!.alertCreationTime}`, $orderby: ORDER, $top: '200' },
			]);
			expect(queries.every((q) => Number(q.$skip ?? 0) <= 500 && Number(q.$top) <= 200)).toBe(true);
			expect(queries.filter((q) => q.$filter.includes('createdDateTime le')).length).toBeGreaterThan(1);
			expect(queries.length).toBeLessThanOrEqual(9);
		});
	});
});

/** A transport to the emulator outside n8n (for the pager alone): Node's fetch, which trusts the emulator CA. */
async function directTransport(
	send?: transport.HttpSender,
): Promise<transport.TransportContext> {
	const fetchSender: transport.HttpSender = async ({ method, url, headers, body }) => {
		const response = await fetch(url, {
			method,
			headers: body ? { ...headers, 'Content-Type': 'application/json' } : headers,
			body: body ? JSON.stringify(body) : undefined,
		});
		const text = await response.text();
		return { status: response.status, headers: Object.fromEntries(response.headers), body: text ? JSON.parse(text) : undefined };
	};
	return { credentials: parseCredentials(emulatorCredentials(emu)), send: send ?? fetchSender };
}

describe('alert (Graph): paging edge cases (graphAlertPages)', () => {
	it('keeps alerts created in the same instant across time windows, each once', async () => {
		const analyst = `ties-${unique()}@contoso.com`;
		const at = (t: string) => emu.alerts.create({ assignedTo: analyst, detectionSource: 'WindowsDefenderAtp', alertCreationTime: t });
		const newer = [1, 2, 3, 4, 5].map((d) => at(`2026-06-1${d}T00:00:00Z`));
		const ties = Array.from({ length: 8 }, () => at('2026-06-01T00:00:00.1234567Z'));
		const older = Array.from({ length: 15 }, (_, i) => at(`2026-05-${String(i + 1).padStart(2, '0')}T00:00:00Z`));
		const expected = newestFirst([...newer, ...ties, ...older]).map((a) => a.id);

		const context = await directTransport();
		const filter = `assignedTo eq '${analyst}'`;
		const start = mark();
		const ids: string[] = [];
		for await (const page of graphAlertPages(context, { filter, pageSize: 10, maxSkip: 5 })) ids.push(...page.map((a) => String(a.id)));

		expect(ids).toEqual(expected);
		expect(apiCalls(start).map((c) => [c.query.$filter, c.query.$top, c.query.$skip])).toEqual([
			[filter, '10', undefined],
			[`${filter} and createdDateTime le 2026-06-01T00:00:00.1234567Z`, '10', undefined],
			[`${filter} and createdDateTime le ${older[13].alertCreationTime}`, '10', undefined],
			[`${filter} and createdDateTime le ${older[4].alertCreationTime}`, '10', undefined],
		]);
	});

	it('steps over a window of one instant with $skip, and fails when $skip cannot reach past it', async () => {
		const analyst = `instant-${unique()}@contoso.com`;
		const ties = Array.from({ length: 12 }, () =>
			emu.alerts.create({ assignedTo: analyst, detectionSource: 'WindowsDefenderAtp', alertCreationTime: '2026-07-01T00:00:00Z' }),
		);
		const context = await directTransport();
		const filter = `assignedTo eq '${analyst}'`;

		let start = mark();
		const ids: string[] = [];
		for await (const page of graphAlertPages(context, { filter, pageSize: 5, maxSkip: 10 })) ids.push(...page.map((a) => String(a.id)));
		expect(ids).toEqual(newestFirst(ties).map((a) => a.id));
		expect(apiCalls(start).map((c) => [c.query.$top, c.query.$skip])).toEqual([
			['5', undefined],
			['5', '5'],
			['5', '10'],
		]);

		start = mark();
		const collected: string[] = [];
		const paging = (async () => {
			for await (const page of graphAlertPages(context, { filter, pageSize: 5, maxSkip: 2 })) collected.push(...page.map((a) => String(a.id)));
		})();
		await expect(paging).rejects.toThrow(/Paging Microsoft Graph alerts stopped at 2026-07-01T00:00:00.0000000Z after 5 alerts/);
		expect(collected).toHaveLength(5);
		expect(apiCalls(start)).toHaveLength(2);
	});

	it('orders timestamps of any precision to 100 ns and pages with canonical literals', async () => {
		// Graph trims trailing zeros of the fraction: .72 is earlier than .7211305.
		const data = [
			{ id: 'da1_1', createdDateTime: '2026-01-01T00:00:00.8Z' },
			{ id: 'da1_2', createdDateTime: '2026-01-01T00:00:00.7999999Z' },
			{ id: 'da1_3', createdDateTime: '2026-01-01T00:00:00.7211305Z' },
			{ id: 'da1_4', createdDateTime: '2026-01-01T01:00:00.72+01:00' },
		];
		const canonical = (t: string) => new Date(t).toISOString().slice(0, 20) + (t.match(/\.(\d+)/)?.[1] ?? '').padEnd(7, '0') + 'Z';
		const queries: Array<Record<string, string>> = [];
		const context = await directTransport(async ({ url }) => {
			const query = Object.fromEntries(new URL(url).searchParams);
			queries.push(query);
			const bound = /createdDateTime le (\S+)/.exec(query.$filter ?? '')?.[1];
			const window = data.filter((a) => !bound || canonical(a.createdDateTime) <= bound);
			const skip = Number(query.$skip ?? 0);
			return { status: 200, headers: {}, body: { value: window.slice(skip, skip + Number(query.$top)) } };
		});
		const ids: string[] = [];
		for await (const page of graphAlertPages(context, { pageSize: 2, maxSkip: 0 })) ids.push(...page.map((a) => String(a.id)));

		expect(ids).toEqual(['da1_1', 'da1_2', 'da1_3', 'da1_4']);
		expect(queries.map((q) => [q.$filter, q.$top, q.$skip])).toEqual([
			[undefined, '2', undefined],
			['createdDateTime le 2026-01-01T00:00:00.7999999Z', '2', undefined],
			['createdDateTime le 2026-01-01T00:00:00.7211305Z', '2', undefined],
			['createdDateTime le 2026-01-01T00:00:00.7200000Z', '2', undefined],
		]);
	});

	it('follows @odata.nextLink when Graph sends one, keeping the Prefer header', async () => {
		const requests: Array<{ url: string; headers: Record<string, string> }> = [];
		const alert = (n: number) => ({ id: `da63755122767756081${n}_1`, createdDateTime: `2026-01-0${9 - n}T00:00:00Z` });
		const pages = [
			{ value: [alert(1), alert(2)], '@odata.nextLink': `${emu.url}${ALERTS}?$top=2&$skiptoken=page%202` },
			{ value: [alert(2), alert(3)], '@odata.nextLink': `${emu.url}${ALERTS}?$top=2&$skiptoken=page%203` },
			{ value: [alert(4)] },
		];
		const context = await directTransport(async ({ url, headers }) => {
			requests.push({ url, headers });
			return { status: 200, headers: {}, body: pages[requests.length - 1] };
		});
		const ids: string[] = [];
		for await (const page of graphAlertPages(context, { filter: MDE_ONLY })) ids.push(...page.map((a) => String(a.id)));

		expect(ids).toEqual([1, 2, 3, 4].map((n) => alert(n).id));
		expect(requests.map((r) => r.url)).toEqual([
			`${emu.url}${ALERTS}?$filter=${encodeURIComponent(MDE_ONLY)}&$orderby=${encodeURIComponent(ORDER)}&$top=1000`,
			`${emu.url}${ALERTS}?$top=2&$skiptoken=page%202`,
			`${emu.url}${ALERTS}?$top=2&$skiptoken=page%203`,
		]);
		expect(requests.every((r) => r.headers.Prefer === PREFER)).toBe(true);
	});

	it('does not send the token to a next-page link on another host', async () => {
		const requests: string[] = [];
		const context = await directTransport(async ({ url }) => {
			requests.push(url);
			return {
				status: 200,
				headers: {},
				body: { value: [{ id: 'da1_1', createdDateTime: '2026-01-01T00:00:00Z' }], '@odata.nextLink': 'https://attacker.example.com/v1.0/security/alerts_v2?$skiptoken=x' },
			};
		});
		const ids: string[] = [];
		const paging = (async () => {
			for await (const page of graphAlertPages(context)) ids.push(...page.map((a) => String(a.id)));
		})();
		await expect(paging).rejects.toThrow(/next-page link outside the Graph base URL/);
		expect(requests).toHaveLength(1);
		expect(ids).toEqual(['da1_1']);
	});
});

describe('alert (Graph): update', () => {
	it('patches Graph values of exactly the fields set and outputs the updated Graph alert', async () => {
		const alert = newAlert({ status: 'New', classification: null, determination: null });
		const start = mark();
		const output = await run({
			operation: 'update',
			alertId: byId(alert.id),
			status: 'Resolved',
			assignedTo: ' secop2@contoso.com ',
			classification: 'FalsePositive',
			graphFalsePositiveDetermination: 'notMalicious',
			// The MDE determinations and the comment are not shown for Graph and are ignored.
			falsePositiveDetermination: 'Clean',
			comment: 'not sent',
		});

		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([['PATCH', `${ALERTS}/${alert.id}`, {}, 200]]);
		expect(calls[0].body).toEqual({
			status: 'resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'falsePositive',
			determination: 'notMalicious',
		});
		const [request] = sentSince(start);
		expect(request.headers.Prefer).toBe(PREFER);
		expect(request.body).toEqual(calls[0].body);

		expect(output).toHaveLength(1);
		expect(output[0].pairedItem).toEqual({ item: 0 });
		expect(output[0].json).toMatchObject({
			'@odata.type': '#microsoft.graph.security.alert',
			id: alert.id,
			status: 'resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'falsePositive',
			determination: 'notMalicious',
		});
		expect(output[0].json).not.toHaveProperty(['@odata.context']);
		const stored = emu.alerts.get(alert.id)!;
		expect(stored).toMatchObject({ status: 'Resolved', classification: 'FalsePositive', determination: 'Clean' });
		expect(stored.comments.map((c) => c.comment)).not.toContain('not sent');
	});

	it("offers Graph's determinations for each classification", async () => {
		const alert = newAlert();
		const start = mark();
		await run({ operation: 'update', alertId: byId(alert.id), classification: 'TruePositive', graphTruePositiveDetermination: 'compromisedAccount' });
		await run({
			operation: 'update',
			alertId: byId(alert.id),
			classification: 'InformationalExpectedActivity',
			graphExpectedActivityDetermination: 'confirmedActivity',
		});
		await run({ operation: 'update', alertId: byId(alert.id), classification: 'FalsePositive', graphFalsePositiveDetermination: 'Not Enough Data to Validate' });
		expect(apiCalls(start).map((c) => [c.method, c.body])).toEqual([
			['PATCH', { classification: 'truePositive', determination: 'compromisedAccount' }],
			['PATCH', { classification: 'informationalExpectedActivity', determination: 'confirmedActivity' }],
			['PATCH', { classification: 'falsePositive', determination: 'notEnoughDataToValidate' }],
		]);
		expect(emu.alerts.get(alert.id)).toMatchObject({ classification: 'FalsePositive', determination: 'InsufficientData' });
	});

	it('sends only the status when only the status is set; Graph values from expressions work too', async () => {
		const alert = newAlert({ status: 'New' });
		const start = mark();
		await run({ operation: 'update', alertId: byId(alert.id), status: 'InProgress' });
		await run({ operation: 'update', alertId: byId(alert.id), status: '={{ "resolved" }}' });
		expect(apiCalls(start).map((c) => c.body)).toEqual([{ status: 'inProgress' }, { status: 'resolved' }]);
	});
});

describe('alert (Graph): add comment', () => {
	it('posts an alertComment and outputs the returned comment list as one item', async () => {
		const alert = newAlert({ status: 'InProgress' });
		const start = mark();
		const output = await run({ operation: 'addComment', alertId: byId(alert.id), comment: '  Checked with the user: expected  ' });

		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query, c.status])).toEqual([['POST', `${ALERTS}/${alert.id}/comments`, {}, 200]]);
		expect(calls[0].body).toEqual({ '@odata.type': 'microsoft.graph.security.alertComment', comment: 'Checked with the user: expected' });
		expect(sentSince(start)[0].headers.Prefer).toBe(PREFER);

		expect(output).toHaveLength(1);
		expect(output[0].pairedItem).toEqual({ item: 0 });
		expect(Object.keys(output[0].json).sort()).toEqual(['comments', 'id']);
		expect(output[0].json.id).toBe(alert.id);
		const comments = output[0].json.comments as IDataObject[];
		expect(comments.length).toBe(emu.alerts.get(alert.id)!.comments.length);
		expect(comments[comments.length - 1]).toMatchObject({ comment: 'Checked with the user: expected' });
		expect(comments[comments.length - 1]).toHaveProperty('createdByDisplayName');
		expect(comments[comments.length - 1]).toHaveProperty('createdDateTime');
	});
});

describe('alert (Graph): MDE-only operations', () => {
	it('Get Related Entities and Batch Update stay on the Defender for Endpoint API', async () => {
		const alert = newAlert({ status: 'New' });
		const start = mark();
		// A leftover Source value does not move them to Graph.
		await run({ operation: 'getRelated', alertId: byId(alert.id), entityType: 'machine' });
		await run({ operation: 'batchUpdate', alertIds: alert.id, status: 'InProgress' });
		expect(apiCalls(start).map((c) => [c.method, c.path])).toEqual([
			['GET', `/api/alerts/${alert.id}/machine`],
			['POST', '/api/alerts/batchUpdate'],
		]);
		expect(sentSince(start).every((r) => r.headers.Prefer === undefined)).toBe(true);
	});
});

describe('alert (Graph): validation before any request', () => {
	const cases: Array<[string, IDataObject, RegExp]> = [
		['an unknown source', { operation: 'get', source: 'sentinel' }, /Source "sentinel" is not valid. Use one of: mde, graph/],
		['an update with nothing to change', { operation: 'update', status: '', classification: '' }, /Nothing to update. Set at least one of Status, Assigned To or Classification \(with Determination\)\.$/],
		['a status Graph does not accept', { operation: 'update', status: 'Closed' }, /Status "Closed" is not valid. Use one of: inProgress, new, resolved/],
		[
			'a determination of another classification',
			{ operation: 'update', classification: 'FalsePositive', graphFalsePositiveDetermination: 'malware' },
			/Determination \(for False Positive\) "malware" is not valid. Use one of: notEnoughDataToValidate, notMalicious, other/,
		],
		[
			'an MDE determination name',
			{ operation: 'update', classification: 'TruePositive', graphTruePositiveDetermination: 'CompromisedUser' },
			/Determination \(for True Positive\) "CompromisedUser" is not valid/,
		],
		['an empty comment', { operation: 'addComment', comment: '   ' }, /Comment is empty/],
		['a path-changing alert ID', { operation: 'get', alertIdValue: 'da1_1/../../machines' }, /Alert ID "da1_1\/..\/..\/machines" is not a Microsoft Graph alert ID/],
		['an alert ID with ".."', { operation: 'update', status: 'New', alertIdValue: 'da1..2' }, /Alert ID "da1..2" is not a Microsoft Graph alert ID/],
		['an empty alert ID', { operation: 'addComment', comment: 'x', alertIdValue: '' }, /Alert ID is empty/],
		['a bad limit', { operation: 'getAll', limit: 0 }, /Limit "0" is not valid/],
		['a filter status Graph lacks', { operation: 'getAll', filters: { statuses: ['Closed'] } }, /Filters › Statuses "Closed" is not valid. Use one of: inProgress, new, resolved, unknown/],
		['an unknown product', { operation: 'getAll', serviceSources: ['microsoftDefenderForToasters'] }, /Service Sources "microsoftDefenderForToasters" is not valid/],
		['an unknown determination filter', { operation: 'getAll', filters: { determinations: ['clean'] } }, /Filters › Determinations "clean" is not valid/],
		[
			'an inverted time range',
			{ operation: 'getAll', filters: { updatedAfter: '2026-05-02T00:00:00Z', updatedBefore: '2026-05-01T00:00:00Z' } },
			/Filters › Updated After .* must be earlier than Filters › Updated Before/,
		],
	];

	it.each(cases)('rejects %s', async (_name, parameters, message) => {
		const { alertIdValue, ...rest } = parameters;
		const alertId = byId(alertIdValue === undefined ? 'da637472900382838869_1364969609' : String(alertIdValue));
		const before = emu.stats().total;
		const start = mark();
		const error = await failure({ alertId, ...rest });
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toMatch(message);
		expect(emu.stats().total).toBe(before);
		expect(sentSince(start)).toEqual([]);
	});
});

describe('alert (Graph): node description', () => {
	const description = new MicrosoftDefender().description;
	const node = { typeVersion: 1 };
	const displayed = (values: IDataObject): INodeProperties[] =>
		description.properties.filter((p) => NodeHelpers.displayParameter({ resource: 'alert', ...values } as never, p, node, description));
	const operations = ['get', 'getAll', 'update', 'addComment', 'batchUpdate', 'getRelated'];

	it('offers the source for Get, Get Many, Update and Add Comment, defaulting to the MDE API', () => {
		for (const operation of operations) {
			const source = displayed({ operation }).find((p) => p.name === 'source');
			const notice = displayed({ operation }).find((p) => p.name === 'mdeOnlyNotice');
			if (['batchUpdate', 'getRelated'].includes(operation)) {
				expect(source).toBeUndefined();
				expect(notice).toBeDefined();
			} else {
				expect(source).toMatchObject({ default: 'mde', type: 'options' });
				expect((source!.options as Array<{ value: string }>).map((o) => o.value)).toEqual(['mde', 'graph']);
				expect(notice).toBeUndefined();
			}
		}
	});

	it.each(['mde', 'graph'])('shows each parameter once per operation (source %s)', (source) => {
		for (const operation of operations) {
			for (const classification of ['TruePositive', 'FalsePositive', 'InformationalExpectedActivity']) {
				const names = displayed({ operation, source, classification }).map((p) => p.name);
				expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
			}
		}
	});

	it('shows the parameters of the chosen source', () => {
		const names = (values: IDataObject) => displayed(values).map((p) => p.name);
		expect(names({ operation: 'update', source: 'graph', classification: 'FalsePositive' })).toEqual(
			expect.arrayContaining(['graphFalsePositiveDetermination', 'graphCommentNotice']),
		);
		expect(names({ operation: 'update', source: 'graph', classification: 'FalsePositive' })).not.toEqual(
			expect.arrayContaining(['falsePositiveDetermination']),
		);
		expect(names({ operation: 'update', source: 'graph' })).not.toContain('comment');
		expect(names({ operation: 'update', source: 'mde', classification: 'FalsePositive' })).toEqual(
			expect.arrayContaining(['falsePositiveDetermination', 'comment']),
		);
		expect(names({ operation: 'getAll', source: 'graph' })).toContain('serviceSources');
		expect(names({ operation: 'getAll', source: 'graph' })).not.toContain('options');
		expect(names({ operation: 'getAll', source: 'mde' })).not.toContain('serviceSources');
		expect(names({ operation: 'get', source: 'graph' })).not.toContain('options');
		expect(names({ operation: 'batchUpdate', classification: 'TruePositive' })).toEqual(
			expect.arrayContaining(['truePositiveDetermination', 'comment']),
		);

		const filters = displayed({ operation: 'getAll', source: 'graph' }).find((p) => p.name === 'filters')!;
		const filterNames = (source: string) =>
			(filters.options as INodeProperties[])
				.filter((o) => NodeHelpers.displayParameter({}, o, node, description, { resource: 'alert', operation: 'getAll', source } as never))
				.map((o) => o.name);
		expect(filterNames('graph').sort()).toEqual(
			['assignedTo', 'classifications', 'createdAfter', 'createdBefore', 'determinations', 'severities', 'statuses', 'updatedAfter', 'updatedBefore'].sort(),
		);
		expect(filterNames('mde')).not.toEqual(expect.arrayContaining(['classifications']));
		expect(filterNames('mde')).toEqual(expect.arrayContaining(['categories', 'detectionSources', 'incidentId', 'customCategories']));
	});

	it('lets the Graph alert locator take any Defender product ID, the MDE one only MDE IDs', () => {
		const issues = (source: string, id: string) =>
			NodeHelpers.getNodeParametersIssues(
				description.properties,
				{
					id: 'n',
					name: 'n',
					type: 'microsoftDefender',
					typeVersion: 1,
					position: [0, 0],
					parameters: { resource: 'alert', operation: 'get', source, alertId: { __rl: true, mode: 'id', value: id } },
				},
				description,
			);
		const cloudAppsId = 'ca5f2c1d9e8b7a6f5e4d3c2b1a0f9e8d';
		expect(issues('graph', cloudAppsId)).toBeNull();
		expect(issues('mde', cloudAppsId)?.parameters?.alertId).toBeDefined();
		expect(issues('graph', 'da637472900382838869_1364969609')).toBeNull();
		expect(issues('graph', 'a/b')?.parameters?.alertId).toBeDefined();
	});

	it('accepts portal alert links as the portal gives them (with ?tid=…): n8n matches the whole value', () => {
		const issues = (value: string) =>
			NodeHelpers.getNodeParametersIssues(
				description.properties,
				{
					id: 'n',
					name: 'n',
					type: 'microsoftDefender',
					typeVersion: 1,
					position: [0, 0],
					parameters: { resource: 'alert', operation: 'get', source: 'graph', alertId: { __rl: true, mode: 'url', value } },
				},
				description,
			);
		expect(issues('https://security.microsoft.com/alerts/da637472900382838869_1364969609?tid=b3c1b5fc')).toBeNull();
		expect(issues('https://security.microsoft.com/alerts/da637472900382838869_1364969609')).toBeNull();
		expect(issues('https://security.microsoft.com/incidents/28282')?.parameters?.alertId).toBeDefined();
	});
});

describe('alert (Graph): filter builder', () => {
	it('maps labels and MDE names to Graph values, and dates in the workflow time zone', () => {
		expect(buildGraphAlertFilter({}, [], 'UTC')).toBeUndefined();
		expect(
			buildGraphAlertFilter(
				{
					statuses: ['in progress', 'Unknown'],
					severities: 'UnSpecified, informational',
					classifications: ['False Positive'],
					determinations: ['Not Malicious'],
					assignedTo: "o'brien@contoso.com",
					createdAfter: '2026-11-27T10:15:00',
					updatedBefore: '2026-11-28T00:00:00+01:00',
				},
				['microsoftDefenderForEndpoint', 'Microsoft Defender for Identity'],
				'Europe/Berlin',
			),
		).toBe(
			"(status eq 'inProgress' or status eq 'unknown') and (severity eq 'unknown' or severity eq 'informational')" +
				" and classification eq 'falsePositive' and determination eq 'notMalicious'" +
				" and (serviceSource eq 'microsoftDefenderForEndpoint' or serviceSource eq 'microsoftDefenderForIdentity')" +
				" and assignedTo eq 'o''brien@contoso.com' and createdDateTime ge 2026-11-27T09:15:00.000Z and lastUpdateDateTime lt 2026-11-27T23:00:00.000Z",
		);
	});

	it("refuses the other source's filters when they reach it (n8n drops hidden filters from the node's own parameters)", () => {
		expect(() => buildGraphAlertFilter({ categories: ['Malware'] }, [], 'UTC')).toThrow(
			/Filters › Categories works only with the Defender for Endpoint API/,
		);
		expect(() => buildGraphAlertFilter({ incidentId: '42' }, [], 'UTC')).toThrow(/Filters › Incident ID works only with the Defender for Endpoint API/);
		expect(() => buildGraphAlertFilter({ detectionSources: [] , customCategories: '' }, [], 'UTC')).not.toThrow();
		expect(() => buildAlertFilter({ classifications: ['truePositive'] }, 'UTC')).toThrow(/Filters › Classifications works only with Microsoft Graph/);
		expect(() => buildAlertFilter({ determinations: [] }, 'UTC')).not.toThrow();
	});

	it('runs a Graph list with MDE-only filters left over from the MDE source without them', async () => {
		const analyst = `leftover-${unique()}@contoso.com`;
		const alert = newAlert({ assignedTo: analyst, category: 'Malware' });
		const start = mark();
		const output = await run({ operation: 'getAll', filters: { assignedTo: analyst, categories: ['Exploit'], incidentId: '1' } });
		expect(apiCalls(start).map((c) => c.query.$filter)).toEqual([`${MDE_ONLY} and assignedTo eq '${analyst}'`]);
		expect(output.map((i) => i.json.id)).toEqual([alert.id]);
	});
});
