/**
 * Alert › Get Many (both sources) and the alert list search under the emulator's three API profiles (`ordered`,
 * `ignoresOrderby`, `documentedOnly`, test/emulator/README.md "API profiles"), run through n8n-core's
 * ExecuteContext / LoadOptionsContext: exactly the newest N (or all) alerts, newest first, each once, within the
 * APIs' `$top`/`$skip` caps, no `id` comparison in `$filter`, and no `$orderby` after the API rejected it.
 *
 * Neither alert list documents `$orderby` (MDE get-alerts: `$filter`, `$top` ≤ 10,000, `$skip`, `$expand`; Graph
 * security-list-alerts_v2: `$filter`, `$skip`, `$top`, `$count`, "the most recent alerts are displayed at the
 * top"). Besides the profiles, two APIs that behave the other way are simulated at the HTTP client: one that
 * ignores `$orderby` and lists in creation (insertion) order, and a Graph that rejects `$orderby` with a 400.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { searchAlerts, searchGraphAlerts } from '../../nodes/MicrosoftDefender/methods/alertSearch';
import { graphAlertSource, mdeAlertSource } from '../../nodes/MicrosoftDefender/scan/sources';
import * as transport from '../../nodes/MicrosoftDefender/transport';
import { API_PROFILES, startEmulator, type ApiProfile, type Emulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode, loadOptionsContext } from '../helpers/n8n';

const MDE_ALERTS = '/api/alerts';
const GRAPH_ALERTS = '/v1.0/security/alerts_v2';
const ANALYST = 'profiles@contoso.com';
const EPOCH = '1970-01-01T00:00:00.0000000Z';
/** The page sizes the tests shrink the scan sources to, so that a few hundred alerts take several pages. */
const PAGE = 50;
const GRAPH_SKIP_CAP = 100;

let emu: Emulator;
const savedSettings = { ...transport.transportSettings };
const savedSources = {
	mdePage: mdeAlertSource.maxPageSize,
	graphPage: graphAlertSource.maxPageSize,
	graphSkip: graphAlertSource.maxSkip,
};

/** How the simulated API treats a request the node sends (on top of the emulator's profile). */
type Simulation = 'none' | 'ignoresOrderbyCreationOrder' | 'graphRejectsOrderby';
let simulation: Simulation = 'none';

/** The API requests the node sent (as it asked them) and the status each got. */
interface Sent {
	method: string;
	path: string;
	query: Record<string, string>;
	status: number;
}
const sent: Sent[] = [];

/** `url` without its `$orderby` parameter. */
function withoutOrderby(url: string): string {
	const [base, query = ''] = url.split('?');
	const rest = query.split('&').filter((p) => p && !p.startsWith('$orderby='));
	return rest.length ? `${base}?${rest.join('&')}` : base;
}

beforeAll(async () => {
	transport.transportSettings.baseDelayMs = 10;
	transport.transportSettings.maxDelayMs = 50;
	// The scans send dozens of list requests: the client-side limit of 100 calls a minute would make them wait.
	transport.transportSettings.rateLimitEnabled = false;
	mdeAlertSource.maxPageSize = PAGE;
	graphAlertSource.maxPageSize = PAGE;
	graphAlertSource.maxSkip = GRAPH_SKIP_CAP;
	emu = await startEmulator({});
	const original = transport.n8nSender;
	jest.spyOn(transport, 'n8nSender').mockImplementation((context) => {
		const send = original(context);
		return async (request) => {
			const url = new URL(request.url);
			const entry: Sent = { method: request.method, path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0 };
			const isList = url.pathname === MDE_ALERTS || url.pathname === GRAPH_ALERTS;
			let response: transport.RawResponse;
			if (simulation === 'graphRejectsOrderby' && url.pathname === GRAPH_ALERTS && url.searchParams.has('$orderby')) {
				response = {
					status: 400,
					headers: { 'content-type': 'application/json' },
					body: { error: { code: 'BadRequest', message: "The query option '$orderby' is not supported on alerts_v2." } },
				};
			} else if (simulation === 'ignoresOrderbyCreationOrder' && isList) {
				response = await send({ ...request, url: withoutOrderby(request.url) });
			} else {
				response = await send(request);
			}
			entry.status = response.status;
			if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/v1.0/')) sent.push(entry);
			return response;
		};
	});
});

afterAll(async () => {
	jest.restoreAllMocks();
	Object.assign(transport.transportSettings, savedSettings);
	mdeAlertSource.maxPageSize = savedSources.mdePage;
	graphAlertSource.maxPageSize = savedSources.graphPage;
	graphAlertSource.maxSkip = savedSources.graphSkip;
	await emu?.close();
});

afterEach(() => {
	simulation = 'none';
});

async function run(parameters: IDataObject): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource: 'alert', operation: 'getAll', ...parameters }, emulatorCredentials(emu));
	const [output] = await executeNode(h, nodeType, [{ json: {} }]);
	return output;
}

const mark = () => sent.length;
const since = (from: number) => sent.slice(from);

/**
 * The list search's requests as the emulator logged them (a LoadOptionsContext sends through the transport's own
 * n8nSender, which the spy does not see).
 */
const logMark = () => emu.requestLog.length;
const logged = (from: number): Sent[] =>
	emu.requestLog
		.slice(from)
		.filter((e) => e.path.startsWith('/api/') || e.path.startsWith('/v1.0/'))
		.map((e) => ({ method: e.method, path: e.path, query: e.query, status: e.status }));

interface Seeded {
	id: string;
	created: string;
	updated: string;
	status: string;
}
let seeded: Seeded[];

/**
 * 348 alerts of one analyst: 240 instants 37 minutes apart, every tenth holding three alerts, and 60 in one
 * instant (more than a page). Created in a shuffled order, so that creation (insertion) order is no time order.
 */
function seed(): Seeded[] {
	const base = Date.parse('2026-01-05T00:00:00Z');
	const times: Array<{ at: string; ms: number }> = [];
	for (let i = 0; i < 240; i++) {
		const ms = base + i * 37 * 60_000;
		for (let k = 0; k < (i % 10 === 0 ? 3 : 1); k++) times.push({ at: new Date(ms).toISOString().replace('Z', '1234Z'), ms });
	}
	const crowded = base + 100 * 37 * 60_000 + 1;
	for (let k = 0; k < 60; k++) times.push({ at: new Date(crowded).toISOString(), ms: crowded });
	expect(times.length).toBe(348);
	// 347 is prime: i → i·101 mod 348 is a permutation mixing old and new.
	const order = times.map((_, i) => (i * 101) % times.length);
	expect(new Set(order).size).toBe(times.length);
	return order.map((index, n) => {
		const { at, ms } = times[index];
		const alert = emu.alerts.create({
			assignedTo: ANALYST,
			detectionSource: 'WindowsDefenderAtp',
			alertCreationTime: at,
			lastUpdateTime: new Date(ms + (n % 5) * 3_600_000).toISOString(),
			status: n % 4 === 0 ? 'Resolved' : 'New',
		});
		return { id: alert.id, created: alert.alertCreationTime, updated: alert.lastUpdateTime, status: alert.status };
	});
}

/** Newest first: creation time, then id, both descending (the order the scans output). */
const newestFirst = (alerts: Seeded[]) =>
	[...alerts].sort((a, b) => (a.created !== b.created ? (a.created < b.created ? 1 : -1) : a.id < b.id ? 1 : -1));

/**
 * `ids` are exactly the newest `n` of `expected` (sorted newest first), newest first, each once. Alerts of the
 * instant at the cut may be any of that instant's (the APIs break ties as they like); with `exact`, the order must
 * be `expected`'s itself.
 */
function expectNewest(ids: unknown[], expected: Seeded[], n: number, exact = false): void {
	const wanted = expected.slice(0, n);
	expect(ids).toHaveLength(wanted.length);
	expect(new Set(ids).size).toBe(ids.length);
	if (exact) {
		expect(ids).toEqual(wanted.map((a) => a.id));
		return;
	}
	const byId = new Map(expected.map((a) => [a.id, a]));
	const times = ids.map((id) => byId.get(String(id))?.created);
	expect(times).toEqual(wanted.map((a) => a.created));
}

/** The rules every list request keeps, whatever the profile. */
function checkRequests(calls: Sent[], path: string, options: { filterPrefix?: string; maxTop: number; maxSkip?: number }): void {
	expect(calls.length).toBeGreaterThan(0);
	let rejected = false;
	for (const call of calls) {
		expect([call.method, call.path]).toEqual(['GET', path]);
		expect(Number(call.query.$top)).toBeLessThanOrEqual(options.maxTop);
		expect(Number(call.query.$skip ?? 0)).toBeLessThanOrEqual(options.maxSkip ?? Number.POSITIVE_INFINITY);
		// No id comparisons (documentedOnly rejects them; ids are no order).
		expect(call.query.$filter ?? '').not.toMatch(/(^|[\s(])id\s/);
		if (options.filterPrefix !== undefined) expect(call.query.$filter.startsWith(options.filterPrefix)).toBe(true);
		// After a 400 for $orderby, never again.
		if (rejected) expect(call.query.$orderby).toBeUndefined();
		if (call.status === 400) {
			expect(call.query.$orderby).toBeDefined();
			rejected = true;
		} else {
			expect(call.status).toBe(200);
		}
	}
}

/** Request counts per test and profile, printed once at the end (the numbers in the report). */
const counts: string[] = [];
const count = (label: string, calls: Sent[]) =>
	counts.push(`${label}: ${calls.length} (${calls.filter((c) => c.status === 400).length} × 400)`);
afterAll(() => {
	if (process.env.ALERT_PROFILE_COUNTS) console.log(counts.join('\n'));
});

const ASSIGNED = `assignedTo eq '${ANALYST}'`;
const MDE_ONLY = "serviceSource eq 'microsoftDefenderForEndpoint'";
const GRAPH_FILTER = `${MDE_ONLY} and ${ASSIGNED}`;

describe.each(API_PROFILES)('alert Get Many under the %s API profile (348 alerts, ties, 60 in one instant)', (profile: ApiProfile) => {
	let all: Seeded[];
	beforeAll(() => {
		emu.reset();
		emu.setApiProfile(profile);
		seeded = seed();
		all = newestFirst(seeded);
	});

	describe('Defender for Endpoint API', () => {
		const mde = { source: 'mde', filters: { assignedTo: ANALYST } };

		it('Limit 5: one request asking for the newest (two after a 400 for $orderby), the newest 5', async () => {
			const start = mark();
			const output = await run({ ...mde, returnAll: false, limit: 5 });
			const calls = since(start);
			count(`${profile} MDE Limit 5`, calls);
			checkRequests(calls, MDE_ALERTS, { filterPrefix: ASSIGNED, maxTop: PAGE });
			const asked = { $filter: ASSIGNED, $orderby: 'alertCreationTime desc', $top: '5' };
			expect(calls.map((c) => [c.query, c.status])).toEqual(
				profile === 'documentedOnly'
					? [
							[asked, 400],
							[{ $filter: ASSIGNED, $top: '5' }, 200],
						]
					: [[asked, 200]],
			);
			expectNewest(output.map((i) => i.json.id), all, 5, true);
		});

		it('Limit 10 (ties at the cut): the newest 10, newest first', async () => {
			const start = mark();
			const output = await run({ ...mde, returnAll: false, limit: 10 });
			const calls = since(start);
			count(`${profile} MDE Limit 10`, calls);
			checkRequests(calls, MDE_ALERTS, { filterPrefix: ASSIGNED, maxTop: PAGE });
			expect(calls.length).toBe(profile === 'documentedOnly' ? 2 : 1);
			expectNewest(output.map((i) => i.json.id), all, 10);
			// The instant at the cut holds three alerts, two of which fit.
			expect(all[9].created).toBe(all[10].created);
		});

		it('Limit 120 (above a page): reads them all by time windows, returns the newest 120', async () => {
			const start = mark();
			const output = await run({ ...mde, returnAll: false, limit: 120 });
			const calls = since(start);
			count(`${profile} MDE Limit 120`, calls);
			checkRequests(calls, MDE_ALERTS, { filterPrefix: ASSIGNED, maxTop: PAGE });
			expect(calls[0].query).toEqual({ $filter: `${ASSIGNED} and alertCreationTime ge ${EPOCH}`, $orderby: 'alertCreationTime asc', $top: String(PAGE) });
			// Sorted pages take about one request per page; time windows alone cost more (from 1970, and the crowded
			// instant is found by halving), but stay bounded.
			expect(calls.length).toBeLessThanOrEqual(profile === 'ordered' ? 12 : 120);
			expectNewest(output.map((i) => i.json.id), all, 120, true);
		});

		it('Return All: every alert once, newest first', async () => {
			const start = mark();
			const output = await run({ ...mde, returnAll: true });
			const calls = since(start);
			count(`${profile} MDE Return All`, calls);
			checkRequests(calls, MDE_ALERTS, { filterPrefix: ASSIGNED, maxTop: PAGE });
			if (profile === 'documentedOnly') {
				expect(calls.filter((c) => c.status === 400).map((c) => c.query.$orderby)).toEqual(['alertCreationTime asc']);
			}
			// Sorted pages take about one request per page; time windows alone cost more (from 1970, and the crowded
			// instant is found by halving), but stay bounded.
			expect(calls.length).toBeLessThanOrEqual(profile === 'ordered' ? 12 : 120);
			expectNewest(output.map((i) => i.json.id), all, all.length, true);
		});

		it('Return All with status, Created After/Before and Updated After: the floor, an lt clause and the filters on every page', async () => {
			const after = all[300].created;
			const before = all[20].created;
			const updatedAfter = '2026-01-07T00:00:00Z';
			const expected = all.filter(
				(a) => a.status === 'New' && a.created >= after && a.created < before && a.updated >= '2026-01-07T00:00:00.0000000Z',
			);
			expect(expected.length).toBeGreaterThan(100);
			const start = mark();
			const output = await run({
				...mde,
				returnAll: true,
				filters: { assignedTo: ANALYST, statuses: ['New'], createdAfter: after, createdBefore: before, updatedAfter },
				options: { includeEvidence: true },
			});
			const calls = since(start);
			count(`${profile} MDE Return All filtered`, calls);
			// Created After/Before as the filter reads them (to the millisecond), canonical.
			const ms = (t: string) => `${t.slice(0, 23)}0000Z`;
			const prefix = `status eq 'New' and ${ASSIGNED} and alertCreationTime lt ${ms(before)} and lastUpdateTime ge 2026-01-07T00:00:00.000Z and `;
			checkRequests(calls, MDE_ALERTS, { filterPrefix: prefix, maxTop: PAGE });
			expect(calls[0].query.$filter).toBe(`${prefix}alertCreationTime ge ${ms(after)}`);
			expect(calls.every((c) => c.query.$expand === 'evidence')).toBe(true);
			expectNewest(output.map((i) => i.json.id), expected, expected.length, true);
			expect((output[0].json.evidence as IDataObject[]).length).toBeGreaterThan(0);
		});
	});

	describe('Microsoft Graph', () => {
		const graph = { source: 'graph', filters: { assignedTo: ANALYST } };
		const limits = { filterPrefix: GRAPH_FILTER, maxTop: PAGE, maxSkip: GRAPH_SKIP_CAP };

		it('Limit 5: one request in the newest-first order', async () => {
			const start = mark();
			const output = await run({ ...graph, returnAll: false, limit: 5 });
			const calls = since(start);
			count(`${profile} Graph Limit 5`, calls);
			expect(calls.map((c) => [c.query, c.status])).toEqual([[{ $filter: GRAPH_FILTER, $orderby: 'createdDateTime desc', $top: '5' }, 200]]);
			expectNewest(output.map((i) => i.json.id), all, 5, true);
		});

		it('Limit 120 (above a page): pages with $skip, the newest 120', async () => {
			const start = mark();
			const output = await run({ ...graph, returnAll: false, limit: 120 });
			const calls = since(start);
			count(`${profile} Graph Limit 120`, calls);
			checkRequests(calls, GRAPH_ALERTS, limits);
			expect(calls.map((c) => [c.query.$top, c.query.$skip])).toEqual([
				['50', undefined],
				['50', '50'],
				['20', '100'],
			]);
			expectNewest(output.map((i) => i.json.id), all, 120);
		});

		it('Return All: every alert once, newest first, $skip within its cap, then time windows', async () => {
			const start = mark();
			const output = await run({ ...graph, returnAll: true });
			const calls = since(start);
			count(`${profile} Graph Return All`, calls);
			checkRequests(calls, GRAPH_ALERTS, limits);
			expect(calls.some((c) => c.query.$filter.includes('createdDateTime le'))).toBe(true);
			expect(calls.length).toBeLessThanOrEqual(12);
			expectNewest(output.map((i) => i.json.id), all, all.length);
		});
	});

	describe('list search ("From list")', () => {
		function context(source: 'mde' | 'graph') {
			const h = createHarness(new MicrosoftDefender(), 'microsoftDefender', { resource: 'alert', source, operation: 'get' }, emulatorCredentials(emu));
			return loadOptionsContext(h, 'alertId');
		}

		it('MDE: the newest alerts; without $orderby after a 400, also on the next page', async () => {
			let start = logMark();
			const first = await searchAlerts.call(context('mde'));
			let calls = logged(start);
			count(`${profile} MDE search`, calls);
			const asked = { $orderby: 'alertCreationTime desc', $top: '100' };
			expect(calls.map((c) => [c.query, c.status])).toEqual(
				profile === 'documentedOnly' ? [[asked, 400], [{ $top: '100' }, 200]] : [[asked, 200]],
			);
			expectNewest(first.results.map((r) => r.value), all, 100);
			expect(first.paginationToken).toBe(profile === 'documentedOnly' ? '100:unordered' : '100');

			start = logMark();
			const next = await searchAlerts.call(context('mde'), undefined, first.paginationToken);
			calls = logged(start);
			expect(calls.map((c) => c.query)).toEqual([
				profile === 'documentedOnly' ? { $top: '100', $skip: '100' } : { ...asked, $skip: '100' },
			]);
			expectNewest([...first.results, ...next.results].map((r) => r.value), all, 200);

			// Typed text is matched on the titles of the newest alerts.
			start = logMark();
			const title = emu.alerts.get(all[0].id)!.title;
			const matched = await searchAlerts.call(context('mde'), title.toLowerCase());
			calls = logged(start);
			checkRequests(calls, MDE_ALERTS, { maxTop: 500 });
			expect(matched.results.map((r) => r.value)).toContain(all[0].id);
			expect(matched.results.every((r) => r.name.toLowerCase().includes(title.toLowerCase()))).toBe(true);
		});

		it('Graph: the newest alerts', async () => {
			const start = logMark();
			const listed = await searchGraphAlerts.call(context('graph'));
			const calls = logged(start);
			count(`${profile} Graph search`, calls);
			expect(calls.map((c) => [c.query, c.status])).toEqual([[{ $orderby: 'createdDateTime desc', $top: '100' }, 200]]);
			expectNewest(listed.results.map((r) => r.value), all, 100);
		});
	});
});

describe('alert Get Many against APIs that behave the other way (simulated at the HTTP client)', () => {
	let all: Seeded[];
	beforeEach(() => {
		emu.reset();
		seeded = seed();
		all = newestFirst(seeded);
	});

	describe('an API that ignores $orderby and lists in creation order (ordered profile, $orderby dropped)', () => {
		beforeEach(() => {
			emu.setApiProfile('ordered');
			simulation = 'ignoresOrderbyCreationOrder';
		});

		it('MDE Limit 10: the page is out of order, so the scan reads them all; exactly the newest 10', async () => {
			const start = mark();
			const output = await run({ source: 'mde', filters: { assignedTo: ANALYST }, returnAll: false, limit: 10 });
			const calls = since(start);
			count('creation order MDE Limit 10', calls);
			checkRequests(calls, MDE_ALERTS, { filterPrefix: ASSIGNED, maxTop: PAGE });
			expect(calls[0].query).toEqual({ $filter: ASSIGNED, $orderby: 'alertCreationTime desc', $top: '10' });
			expect(calls[1].query).toEqual({ $filter: `${ASSIGNED} and alertCreationTime ge ${EPOCH}`, $orderby: 'alertCreationTime asc', $top: String(PAGE) });
			expect(calls.length).toBeLessThanOrEqual(120);
			expectNewest(output.map((i) => i.json.id), all, 10, true);
		});

		it('Graph Limit 10 and Return All: out of order, so the scan; exactly the newest / all, newest first', async () => {
			let start = mark();
			const limited = await run({ source: 'graph', filters: { assignedTo: ANALYST }, returnAll: false, limit: 10 });
			let calls = since(start);
			count('creation order Graph Limit 10', calls);
			checkRequests(calls, GRAPH_ALERTS, { filterPrefix: GRAPH_FILTER, maxTop: PAGE, maxSkip: GRAPH_SKIP_CAP });
			expect(calls[0].query).toEqual({ $filter: GRAPH_FILTER, $orderby: 'createdDateTime desc', $top: '10' });
			expect(calls[1].query).toEqual({ $filter: `${GRAPH_FILTER} and createdDateTime ge ${EPOCH}`, $orderby: 'createdDateTime asc', $top: String(PAGE) });
			expectNewest(limited.map((i) => i.json.id), all, 10, true);

			start = mark();
			const everything = await run({ source: 'graph', filters: { assignedTo: ANALYST }, returnAll: true });
			calls = since(start);
			count('creation order Graph Return All', calls);
			checkRequests(calls, GRAPH_ALERTS, { filterPrefix: GRAPH_FILTER, maxTop: PAGE, maxSkip: GRAPH_SKIP_CAP });
			expect(calls.length).toBeLessThanOrEqual(120);
			expectNewest(everything.map((i) => i.json.id), all, all.length, true);
		});
	});

	describe('a Graph that rejects $orderby (HTTP 400)', () => {
		beforeEach(() => {
			simulation = 'graphRejectsOrderby';
		});

		it('lists newest first without it (documentedOnly): asked again without $orderby, then pages without it', async () => {
			emu.setApiProfile('documentedOnly');
			const start = mark();
			const output = await run({ source: 'graph', filters: { assignedTo: ANALYST }, returnAll: false, limit: 120 });
			const calls = since(start);
			count('Graph 400 (documented order) Limit 120', calls);
			checkRequests(calls, GRAPH_ALERTS, { filterPrefix: GRAPH_FILTER, maxTop: PAGE, maxSkip: GRAPH_SKIP_CAP });
			expect(calls.map((c) => [c.query, c.status])).toEqual([
				[{ $filter: GRAPH_FILTER, $orderby: 'createdDateTime desc', $top: '50' }, 400],
				[{ $filter: GRAPH_FILTER, $top: '50' }, 200],
				[{ $filter: GRAPH_FILTER, $top: '50', $skip: '50' }, 200],
				[{ $filter: GRAPH_FILTER, $top: '20', $skip: '100' }, 200],
			]);
			expectNewest(output.map((i) => i.json.id), all, 120);
		});

		it('lists in creation order without it (ordered): the scan, without $orderby', async () => {
			emu.setApiProfile('ordered');
			const start = mark();
			const output = await run({ source: 'graph', filters: { assignedTo: ANALYST }, returnAll: true });
			const calls = since(start);
			count('Graph 400 (creation order) Return All', calls);
			checkRequests(calls, GRAPH_ALERTS, { filterPrefix: GRAPH_FILTER, maxTop: PAGE, maxSkip: GRAPH_SKIP_CAP });
			expect(calls.slice(0, 3).map((c) => [c.query, c.status])).toEqual([
				[{ $filter: GRAPH_FILTER, $orderby: 'createdDateTime desc', $top: '50' }, 400],
				[{ $filter: GRAPH_FILTER, $top: '50' }, 200],
				[{ $filter: `${GRAPH_FILTER} and createdDateTime ge ${EPOCH}`, $top: '50' }, 200],
			]);
			expect(calls.length).toBeLessThanOrEqual(120);
			expectNewest(output.map((i) => i.json.id), all, all.length, true);
		});
	});
});
