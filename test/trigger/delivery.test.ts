/**
 * The trigger's delivery guarantees, each on a scripted timeline, through n8n-core's real PollContext against
 * the emulator. Each test asserts the exact alert ids emitted by every poll.
 */
import { NodeApiError, NodeOperationError, type IDataObject } from 'n8n-workflow';

import { graphAlertSource, mdeAlertSource, type ScanSource } from '../../nodes/MicrosoftDefender/scan/sources';
import { clearTokenCache } from '../../nodes/MicrosoftDefender/transport/auth';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { API_PROFILES, startEmulator, type ApiProfile, type Emulator } from '../emulator';
import { N8nPollLoop, pollContext } from '../helpers/n8n';
import { alertListQueries as listQueries, cursorState, pollIds, pollItems, trigger, triggerHarness as sourceHarness, ts7 } from './helpers';

let emu: Emulator;

/** The same guarantees for both alert sources: field names, enum spelling and paging differ. */
interface SourceCase {
	name: string;
	source: ScanSource;
	params: IDataObject;
	created: string;
	updated: string;
	/** An MDE enum value as this API spells it. */
	spell(value: string): string;
}
const SOURCES: SourceCase[] = [
	{ name: 'mde', source: mdeAlertSource, params: {}, created: 'alertCreationTime', updated: 'lastUpdateTime', spell: (v) => v },
	{
		name: 'graph',
		source: graphAlertSource,
		// All products: the emulator derives serviceSource from each alert's detection source.
		params: { source: 'graph', serviceSources: [] },
		created: 'createdDateTime',
		updated: 'lastUpdateDateTime',
		spell: (v) => v.charAt(0).toLowerCase() + v.slice(1),
	},
];
const defaultPageSizes = SOURCES.map((c) => c.source.maxPageSize);

beforeAll(() => {
	// The client-side rate limiter is tested with the action node; here it would only slow the timelines.
	transportSettings.rateLimitEnabled = false;
	transportSettings.baseDelayMs = 5;
	transportSettings.maxDelayMs = 20;
});
afterEach(async () => await emu.close());

/**
 * Every guarantee under each API profile of the emulator: an API that sorts as asked, one that ignores `$orderby`
 * (newest first), and one that accepts only what Microsoft documents (400 for `$orderby` on MDE alerts).
 */
describe.each(API_PROFILES.map((profile) => ({ profile })))('API profile: $profile', ({ profile }: { profile: ApiProfile }) => {
// A fresh emulator per test: every timeline starts from an empty tenant.
beforeEach(async () => {
	emu = await startEmulator({ apiProfile: profile });
	clearTokenCache();
	SOURCES.forEach((c, i) => (c.source.maxPageSize = defaultPageSizes[i]));
});

describe.each(SOURCES)('source: $name', (c) => {
/** Whether this API answers `$orderby=<field> asc` with sorted pages (else the trigger reads time windows). */
const sorts = profile === 'ordered' || (profile === 'documentedOnly' && c.name === 'graph');
const triggerHarness = (e: Emulator, parameters: IDataObject = {}) => sourceHarness(e, { ...c.params, ...parameters });
const alertListQueries = (e: Emulator) => listQueries(e, c.source.path);
const minutesAgo = (m: number) => emu.clock.now().getTime() - m * 60_000;
const create = (id: string, at: string, extra: IDataObject = {}, visibleAt?: Date) =>
	emu.alerts.create({ id, alertCreationTime: at, lastUpdateTime: at, status: 'New', severity: 'High', ...extra }, visibleAt ? { visibleAt } : {});

describe('new alerts', () => {
	test('consecutive polls emit each alert once, oldest first', async () => {
		const h = triggerHarness(emu);
		create('a2', ts7(minutesAgo(5)));
		create('a1', ts7(minutesAgo(10)));
		expect(await pollIds(h)).toEqual(['a1', 'a2']);
		expect(await pollIds(h)).toEqual([]);
		create('a3', ts7(minutesAgo(1)));
		expect(await pollIds(h)).toEqual(['a3']);
		expect(await pollIds(h)).toEqual([]);
	});

	test('alerts sharing one timestamp, also at the cursor boundary', async () => {
		const h = triggerHarness(emu);
		const t = ts7(minutesAgo(3), 4321);
		create('t1', t);
		create('t2', t);
		create('t3', t);
		expect(await pollIds(h)).toEqual(['t1', 't2', 't3']);
		// Same instant as the cursor, arriving after the poll that moved the cursor there.
		create('t0', t);
		create('t4', t);
		expect(await pollIds(h)).toEqual(['t0', 't4']);
		expect(await pollIds(h)).toEqual([]);
	});

	test('ties spanning page boundaries are neither skipped nor repeated, on documented query options only', async () => {
		c.source.maxPageSize = 2;
		const h = triggerHarness(emu);
		const t = ts7(minutesAgo(3), 7);
		for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) create(id, t);
		create('q1', ts7(minutesAgo(2)));
		create('q2', ts7(minutesAgo(1)));
		expect(await pollIds(h)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'q1', 'q2']);
		const queries = alertListQueries(emu);
		// No id comparison and at most one sort key, whatever the API; the instant holding more than a page is
		// read alone (`eq`) with $skip inside it.
		expect(queries.every((q) => !/\bid (gt|ge|lt|le|ne)\b/.test(q.$filter))).toBe(true);
		expect(queries.every((q) => !(q.$orderby ?? '').includes(','))).toBe(true);
		expect(queries.some((q) => q.$filter.includes(`${c.created} eq ${t}`))).toBe(true);
		const windows = queries.filter((q) => !q.$filter.includes(`${c.created} eq `));
		if (sorts) expect(windows.every((q) => q.$orderby === `${c.created} asc`)).toBe(true);
		// Once the trigger saw that the API does not sort, it stops asking.
		else expect(windows.slice(windows.findIndex((q) => q.$orderby === undefined)).every((q) => q.$orderby === undefined)).toBe(true);
		expect(await pollIds(h)).toEqual([]);
	});

	test('an alert read on one page and changed before the next page does not shift another out of reach', async () => {
		c.source.maxPageSize = 2;
		const h = triggerHarness(emu, { triggerOnUpdates: true, statuses: ['New'] });
		const t = ts7(minutesAgo(120), 3);
		for (const id of ['a', 'b', 'c']) create(id, t);
		create('d', ts7(minutesAgo(1)));
		const context = pollContext(h);
		const httpRequest = context.helpers.httpRequest;
		let requests = 0;
		context.helpers.httpRequest = async (options) => {
			// Between the first and the second page request, b is resolved and leaves the filter.
			if (++requests === 2) emu.alerts.update('b', { status: 'Resolved' });
			return await httpRequest(options);
		};
		const result = await trigger.poll.call(context);
		// b's New version is emitted only if a page that was used held it before it changed; a, c and d always.
		const emitted = (result?.[0] ?? []).map((i) => String(i.json.id));
		expect(emitted.filter((id) => id !== 'b')).toEqual(['a', 'c', 'd']);
		expect(new Set(emitted).size).toBe(emitted.length);
		expect(await pollIds(h)).toEqual([]);
	});

	test('timestamps are compared at full 7-digit precision', async () => {
		const h = triggerHarness(emu, { options: { lookbackMinutes: 0 } });
		const base = minutesAgo(2);
		create('n1', ts7(base, 1));
		create('n2', ts7(base, 2));
		expect(await pollIds(h)).toEqual(['n1', 'n2']);
		create('n3', ts7(base, 3)); // 100 ns later: the same JavaScript millisecond
		emu.resetStats();
		expect(await pollIds(h)).toEqual(['n3']);
		expect(alertListQueries(emu)[0].$filter).toContain(`${c.created} ge ${ts7(base, 2)}`);
		expect(await pollIds(h)).toEqual([]);
	});

	test('alerts that become visible up to the look-back after their timestamp are not missed', async () => {
		const h = triggerHarness(emu); // look-back 15 minutes
		create('on-time', ts7(minutesAgo(1)));
		expect(await pollIds(h)).toEqual(['on-time']);
		create('late', ts7(minutesAgo(12))); // ingested 12 minutes late
		expect(await pollIds(h)).toEqual(['late']);
		expect(await pollIds(h)).toEqual([]);
	});

	test('without a look-back, a late alert behind the cursor is not seen (why the option exists)', async () => {
		const h = triggerHarness(emu, { options: { lookbackMinutes: 0 } });
		create('on-time', ts7(minutesAgo(1)));
		expect(await pollIds(h)).toEqual(['on-time']);
		create('late', ts7(minutesAgo(12)));
		expect(await pollIds(h)).toEqual([]);
	});

	test('a backlog larger than a page and than Max Alerts per Poll drains over polls, oldest first', async () => {
		c.source.maxPageSize = 4;
		const h = triggerHarness(emu, { options: { maxAlertsPerPoll: 10 } });
		const ids = Array.from({ length: 25 }, (_, i) => `b${String(i).padStart(2, '0')}`);
		ids.forEach((id, i) => create(id, ts7(minutesAgo(60) + i * 1000)));
		expect(await pollIds(h)).toEqual(ids.slice(0, 10));
		expect(await pollIds(h)).toEqual(ids.slice(10, 20));
		expect(await pollIds(h)).toEqual(ids.slice(20));
		expect(await pollIds(h)).toEqual([]);
	});

	test('the first poll goes back only to Max Historical Poll Start', async () => {
		const h = triggerHarness(emu, { maxHistoricalPollStart: '2 hours ago' });
		create('too-old', ts7(minutesAgo(180)));
		create('recent', ts7(minutesAgo(90)));
		expect(await pollIds(h)).toEqual(['recent']);
	});

	test('after n8n was down longer than Max Historical Poll Start, polls go back only that far', async () => {
		const h = triggerHarness(emu, { maxHistoricalPollStart: '1 hour ago' });
		create('first', ts7(minutesAgo(300)));
		expect(await pollIds(h)).toEqual([]); // older than an hour
		create('x', ts7(minutesAgo(240)));
		expect(await pollIds(h)).toEqual([]);
		create('y', ts7(minutesAgo(30)));
		expect(await pollIds(h)).toEqual(['y']);
	});
});

describe('failures and restarts', () => {
	test('a poll failing on its second page moves nothing; the next poll emits everything', async () => {
		c.source.maxPageSize = 2;
		const h = triggerHarness(emu);
		for (const id of ['f1', 'f2', 'f3', 'f4', 'f5']) create(id, ts7(minutesAgo(5) + Number(id[1])));
		const before = cursorState(h);
		const context = pollContext(h);
		const httpRequest = context.helpers.httpRequest;
		let requests = 0;
		context.helpers.httpRequest = async (options) => {
			if (++requests === 2) emu.faults.inject({ kind: '503', count: transportSettings.maxAttempts });
			return await httpRequest(options);
		};
		const error = await trigger.poll.call(context).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('503');
		expect(cursorState(h)).toEqual(before);
		expect(await pollIds(h)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
	});

	test('restarts roll static data back to the last save without loss or repeats', async () => {
		const h = triggerHarness(emu);
		const loop = new N8nPollLoop(h, trigger);
		create('r1', ts7(minutesAgo(9)));
		create('r2', ts7(minutesAgo(8)));
		expect((await loop.poll())?.map((a) => a.id)).toEqual(['r1', 'r2']);
		expect(await loop.poll()).toBeNull(); // nothing new: not saved
		loop.restart();
		create('r3', ts7(minutesAgo(2)));
		expect((await loop.poll())?.map((a) => a.id)).toEqual(['r3']);
		loop.restart();
		expect(await loop.poll()).toBeNull();
		expect(loop.allEmitted().map((a) => a.id)).toEqual(['r1', 'r2', 'r3']);
	});

	test('a transient failure that survives retries fails the execution and keeps the cursor', async () => {
		const h = triggerHarness(emu);
		create('k1', ts7(minutesAgo(3)));
		expect(await pollIds(h)).toEqual(['k1']);
		create('k2', ts7(minutesAgo(2)));
		const before = cursorState(h);
		emu.faults.inject({ kind: '502', count: transportSettings.maxAttempts });
		await expect(pollIds(h)).rejects.toBeInstanceOf(NodeApiError);
		expect(cursorState(h)).toEqual(before);
		expect(await pollIds(h)).toEqual(['k2']);
	});
});

describe('updates', () => {
	test('with Trigger on Updates, each new version is emitted once, with what changed', async () => {
		const h = triggerHarness(emu, { triggerOnUpdates: true, statuses: ['New', 'InProgress'] });
		create('u1', ts7(minutesAgo(10)));
		const [first] = await pollItems(h);
		expect(first.id).toBe('u1');
		expect(first._change).toEqual({ type: 'new', version: first[c.updated] });
		emu.alerts.update('u1', { status: 'InProgress', assignedTo: 'secop@contoso.com' });
		const [second] = await pollItems(h);
		expect(second.id).toBe('u1');
		expect(second.status).toBe(c.spell('InProgress'));
		expect(second._change).toMatchObject({
			type: 'update',
			changedFields: ['status', 'assignedTo'],
			previous: { status: c.spell('New'), assignedTo: null },
		});
		expect(await pollIds(h)).toEqual([]);
	});

	test('an alert that stops matching is not emitted; one that starts matching is', async () => {
		const h = triggerHarness(emu, { triggerOnUpdates: true, severities: ['High'], statuses: ['New', 'InProgress'] });
		create('m1', ts7(minutesAgo(10)));
		create('m2', ts7(minutesAgo(9)), { severity: 'Low' });
		expect(await pollIds(h)).toEqual(['m1']);
		emu.alerts.update('m1', { status: 'Resolved' }); // leaves the filter
		emu.alerts.update('m2', { severity: 'High' }); // enters the filter
		const items = await pollItems(h);
		expect(items.map((a) => a.id)).toEqual(['m2']);
		expect((items[0]._change as IDataObject).type).toBe('new'); // never emitted before
		emu.alerts.update('m1', { status: 'InProgress' }); // reopened: matches again
		const again = await pollItems(h);
		expect(again.map((a) => a.id)).toEqual(['m1']);
		expect(again[0]._change).toMatchObject({ type: 'update', changedFields: ['status'], previous: { status: c.spell('New') } });
	});

	test('without Trigger on Updates, updates are not emitted again', async () => {
		const h = triggerHarness(emu);
		create('o1', ts7(minutesAgo(5)));
		expect(await pollIds(h)).toEqual(['o1']);
		emu.alerts.update('o1', { status: 'InProgress' });
		expect(await pollIds(h)).toEqual([]);
		const [item] = (await pollItems(triggerHarness(emu)));
		expect(item._change).toBeUndefined();
	});

	test('Include Change Details off leaves the alert exactly as the API returned it', async () => {
		const h = triggerHarness(emu, { triggerOnUpdates: true, options: { includeChangeDetails: false, includeEvidence: true } });
		create('raw', ts7(minutesAgo(5)));
		const context = pollContext(h);
		const httpRequest = context.helpers.httpRequest;
		const bodies: IDataObject[] = [];
		context.helpers.httpRequest = async (options) => {
			const response = await httpRequest(options);
			bodies.push(JSON.parse(JSON.stringify((response as { body: IDataObject }).body)));
			return response;
		};
		const result = await trigger.poll.call(context);
		const item = result?.[0][0].json as IDataObject;
		// The page that answered (under documentedOnly, MDE's first answer is the 400 for $orderby).
		expect(item).toEqual((bodies.find((b) => Array.isArray(b.value))?.value as IDataObject[])[0]);
		expect(item.evidence).toEqual(expect.arrayContaining([expect.anything()]));
		if (c.name === 'mde') expect(alertListQueries(emu)[0].$expand).toBe('evidence');
	});
});

describe('state and requests', () => {
	test('the de-duplication state holds only the look-back window', async () => {
		const h = triggerHarness(emu, { maxHistoricalPollStart: '1 day ago', options: { maxAlertsPerPoll: 10000 } });
		// 600 alerts over 10 hours, one poll per simulated 10 minutes.
		let created = 0;
		for (let step = 0; step < 60; step++) {
			for (let i = 0; i < 10; i++) create(`s${created++}`, ts7(minutesAgo(600 - step * 10) + i));
			await pollIds(h);
		}
		const state = cursorState(h).alertCursor as { seen: Record<string, string> };
		expect(Object.keys(state.seen).length).toBeGreaterThan(0);
		// Alerts within 15 minutes of the newest: the last two batches.
		expect(Object.keys(state.seen).length).toBeLessThanOrEqual(20);
	});

	test('a poll with nothing new is one API request and no token request', async () => {
		const h = triggerHarness(emu);
		create('i1', ts7(minutesAgo(5)));
		await pollIds(h);
		emu.resetStats();
		expect(await pollIds(h)).toEqual([]);
		expect(emu.stats().total).toBe(1);
		expect(emu.stats().tokenRequests).toBe(0);
	});

	test('draining N alerts: ceil((N − 1) / (page − 1)) list requests when the API sorts (each page re-reads the last instant of the one before)', async () => {
		c.source.maxPageSize = 10;
		const h = triggerHarness(emu, { options: { maxAlertsPerPoll: 10000 } });
		for (let i = 0; i < 95; i++) create(`d${i}`, ts7(minutesAgo(100) + i * 100));
		emu.resetStats();
		expect(await pollIds(h)).toEqual(Array.from({ length: 95 }, (_, i) => `d${i}`));
		const requests = alertListQueries(emu).length;
		if (sorts) expect(requests).toBe(Math.ceil(94 / 9) + (c.name === 'mde' && profile === 'documentedOnly' ? 1 : 0));
		// Without a usable order: time windows sized from what each answer held (many of them small or empty).
		else expect(requests).toBeLessThanOrEqual(60);
	});
});

describe('manual mode (Fetch Test Event)', () => {
	test('returns the newest matching alert and never moves the cursor', async () => {
		const h = triggerHarness(emu, { severities: ['High'] });
		create('old', ts7(minutesAgo(30)));
		create('newest', ts7(minutesAgo(1)));
		create('low', ts7(minutesAgo(0.5)), { severity: 'Low' });
		const before = cursorState(h);
		const result = await trigger.poll.call(pollContext(h, 'manual'));
		expect(result?.[0].map((i) => i.json.id)).toEqual(['newest']);
		expect(cursorState(h)).toEqual(before);
		expect(await pollIds(h)).toEqual(['old', 'newest']);
	});

	test('no matching alert gives a clear error', async () => {
		const h = triggerHarness(emu, { categories: ['Ransomware'] });
		const error = await trigger.poll.call(pollContext(h, 'manual')).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toMatch(/^No alert matches these filters since \d{4}-\d{2}-\d{2}T/);
	});
});

describe('activation errors', () => {
	test('an unparseable Max Historical Poll Start names the field and gives examples; nothing is sent', async () => {
		const h = triggerHarness(emu, { maxHistoricalPollStart: 'whenever' });
		const error = await pollIds(h).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toMatch(/^Max Historical Poll Start "whenever" is not a date.*"30 days ago"/);
		expect(emu.stats().total + emu.stats().tokenRequests).toBe(0);
	});

	test('a wrong secret fails activation with the one-line sign-in message', async () => {
		const h = triggerHarness(emu);
		h.credentials = { ...h.credentials, clientSecret: 'definitely-not-the-secret' };
		const error = await pollIds(h).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toMatch(/^The client secret is wrong\./);
	});

	test('missing consent (403) fails activation with status and code', async () => {
		const client = emu.addClient({ roles: ['Machine.Read.All'] });
		const h = triggerHarness(emu);
		h.credentials = { ...h.credentials, clientId: client.clientId, clientSecret: client.clientSecret };
		const error = await pollIds(h).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('403');
		expect((error as NodeApiError).description).toMatch(/lacks the application permission/);
	});
});
});
});
