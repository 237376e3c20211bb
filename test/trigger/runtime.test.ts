/**
 * The trigger against Microsoft's documented contract and n8n 2.41's runtime (issue 10): an API that ignores or
 * rejects `$orderby`, overlapping polls, the durable scheduler's poll budget, the activation poll under durable
 * cursors, starving Max Historical Poll Start phrases, and a position saved for another tenant or source. Each
 * test runs the node through n8n-core's real PollContext against the emulator.
 */
import { NodeOperationError, type IDataObject } from 'n8n-workflow';

import { graphAlertSource, mdeAlertSource } from '../../nodes/MicrosoftDefender/scan/sources';
import { clearTokenCache } from '../../nodes/MicrosoftDefender/transport/auth';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type ApiProfile, type Emulator } from '../emulator';
import { N8nPollLoop, pollContext, pollOnce, type Persistence } from '../helpers/n8n';
import { alertListQueries, pollIds, trigger, triggerHarness, ts7 } from './helpers';

let emu: Emulator;
const pageSizes = { mde: mdeAlertSource.maxPageSize, graph: graphAlertSource.maxPageSize };

beforeAll(() => {
	transportSettings.rateLimitEnabled = false;
	transportSettings.baseDelayMs = 5;
	transportSettings.maxDelayMs = 20;
});
afterEach(async () => {
	await emu?.close();
	mdeAlertSource.maxPageSize = pageSizes.mde;
	graphAlertSource.maxPageSize = pageSizes.graph;
});

async function emulator(apiProfile: ApiProfile = 'ordered'): Promise<Emulator> {
	emu = await startEmulator({ apiProfile });
	clearTokenCache();
	return emu;
}

const minutesAgo = (m: number): number => emu.clock.now().getTime() - m * 60_000;
const create = (id: string, at: string, extra: IDataObject = {}) =>
	emu.alerts.create({ id, alertCreationTime: at, lastUpdateTime: at, status: 'New', severity: 'High', ...extra });
const ids = (items: IDataObject[] | null): string[] => (items ?? []).map((a) => String(a.id));

describe('1. whatever order the API returns, on documented query options', () => {
	test('Graph answering newest first (ignoring $orderby), pages of 2, five alerts, three polls: each alert once, oldest first', async () => {
		await emulator('ignoresOrderby');
		graphAlertSource.maxPageSize = 2;
		const h = triggerHarness(emu, { source: 'graph', serviceSources: [] });
		for (let i = 1; i <= 5; i++) create(`g${i}`, ts7(minutesAgo(10 - i)));
		const logs: string[] = [];
		const loop = new N8nPollLoop(h, trigger, 'classic', undefined, logs);
		const polls = [await loop.poll(), await loop.poll(), await loop.poll()];
		// (Before: only g5 and g4 were ever emitted.)
		expect(polls.map(ids)).toEqual([['g1', 'g2', 'g3', 'g4', 'g5'], [], []]);
		expect(logs.filter((l) => l.includes('out of the requested $orderby order'))).toHaveLength(1);
		expect((loop.savedNodeState().alertCursor as IDataObject).order).toBe('none');
	});

	test('MDE rejecting $orderby (HTTP 400): the same page without it, said once in the log, kept in the state', async () => {
		await emulator('documentedOnly');
		const h = triggerHarness(emu);
		create('m1', ts7(minutesAgo(5)));
		create('m2', ts7(minutesAgo(4)));
		const logs: string[] = [];
		const loop = new N8nPollLoop(h, trigger, 'durable', undefined, logs);
		expect(ids(await loop.poll())).toEqual(['m1', 'm2']);
		const first = emu.requestLog.filter((r) => r.path === '/api/alerts').map((r) => [r.status, r.query.$orderby]);
		expect(first).toEqual([
			[400, 'alertCreationTime asc'],
			[200, undefined],
		]);
		const state = loop.savedNodeState().alertCursor as IDataObject;
		expect(state.order).toBe('none');
		expect(String(state.orderReason)).toMatch(/rejected \$orderby \(HTTP 400 .*\$orderby/);
		emu.resetStats();
		create('m3', ts7(minutesAgo(1)));
		expect(ids(await loop.poll())).toEqual(['m3']);
		expect(await loop.poll()).toBeNull();
		// No more $orderby, no more 400s, and an idle poll is one request.
		expect(emu.requestLog.every((r) => r.status === 200 && r.query.$orderby === undefined)).toBe(true);
		expect(emu.requestLog).toHaveLength(2);
		expect(logs.filter((l) => l.startsWith('warn') && l.includes('$orderby'))).toHaveLength(1);
	});

	test('a filter error is still an error (the 400 is not taken for a rejected $orderby)', async () => {
		await emulator('documentedOnly');
		const h = triggerHarness(emu, { options: { additionalFilter: "title eq 'x'" } });
		await expect(pollIds(h)).rejects.toThrow(/400/);
	});
});

describe('2. no overlapping polls', () => {
	test('a poll starting while the previous one waits out a Retry-After returns nothing and touches nothing', async () => {
		await emulator();
		const h = triggerHarness(emu);
		create('a1', ts7(minutesAgo(3)));
		create('a2', ts7(minutesAgo(2)));
		emu.faults.inject({ kind: '429', retryAfterSeconds: 2, match: /\/api\/alerts/ });
		const logs: string[] = [];
		const pollA = pollOnce(h, trigger, 'trigger', { logs });
		await new Promise((resolve) => setTimeout(resolve, 300));
		const stateBefore = JSON.stringify(h.workflow.staticData);
		const resultB = await pollOnce(h, trigger, 'trigger', { logs });
		expect(resultB).toBeNull();
		expect(JSON.stringify(h.workflow.staticData)).toBe(stateBefore);
		expect(logs.some((l) => l.startsWith('warn') && /previous poll .* is still running; this poll is skipped/.test(l))).toBe(true);
		const resultA = await pollA;
		expect(resultA?.[0].map((i) => i.json.id)).toEqual(['a1', 'a2']);
		// The next poll runs again, and emits nothing twice.
		expect(await pollIds(h)).toEqual([]);
	});
});

describe('3. within n8n\'s poll budget', () => {
	test.each<Persistence>(['durable', 'classic'])(
		'a backlog that needs more than one budget drains over several polls, every poll inside it (%s)',
		async (persistence) => {
			await emulator();
			mdeAlertSource.maxPageSize = 5;
			// Alerts 10 s apart and a 1-minute look-back: each poll re-reads at most 6 alerts before new ones.
			const h = triggerHarness(emu, { options: { maxAlertsPerPoll: 10000, lookbackMinutes: 1 } });
			const all = Array.from({ length: 40 }, (_, i) => `b${String(i).padStart(2, '0')}`);
			all.forEach((id, i) => create(id, ts7(minutesAgo(60) + i * 10_000)));
			// Every page answer takes 250 ms; the budget (1.2 s, less the 10 % reserve) holds about 4 of them.
			emu.faults.random({ rate: 1, kinds: ['slow'], delayMs: 250, match: /\/api\/alerts/ });
			const budgetMs = 1200;
			const loop = new N8nPollLoop(h, trigger, persistence, budgetMs);
			const durations: number[] = [];
			const emitted: string[] = [];
			for (let poll = 0; poll < 20 && emitted.length < all.length; poll++) {
				const started = Date.now();
				emitted.push(...ids(await loop.poll()));
				durations.push(Date.now() - started);
			}
			expect(emitted).toEqual(all);
			expect(durations.length).toBeGreaterThanOrEqual(3);
			expect(Math.max(...durations)).toBeLessThan(budgetMs);
			emu.faults.clear();
			expect(await loop.poll()).toBeNull();
		},
	);

	test('a Retry-After longer than the budget: no sleep past it; the poll fails clearly with nothing read, or hands over what it read', async () => {
		await emulator();
		mdeAlertSource.maxPageSize = 2;
		const h = triggerHarness(emu, { options: { maxAlertsPerPoll: 10000 } });
		for (let i = 0; i < 6; i++) create(`r${i}`, ts7(minutesAgo(30) + i * 1000));
		const budget = { budgetMs: 2000 };

		// The first page is throttled for 60 s: nothing to hand over, so the poll fails at once, saying when to retry.
		emu.faults.inject({ kind: '429', retryAfterSeconds: 60, match: /\/api\/alerts/ });
		let started = Date.now();
		const error = await pollOnce(h, trigger, 'trigger', budget).catch((e: unknown) => e);
		expect(Date.now() - started).toBeLessThan(2000);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toMatch(/ran out of time before Defender answered: .*asked to wait 60 s/);
		expect((error as NodeOperationError).description).toMatch(/accepts the next call at \d{4}-.*continues from the same position/);
		expect(JSON.stringify(h.workflow.staticData)).not.toContain('alertCursor');

		// The second page is throttled: the poll emits what the first page held and ends.
		const context = pollContext(h, 'trigger', budget);
		const httpRequest = context.helpers.httpRequest;
		let requests = 0;
		context.helpers.httpRequest = async (options) => {
			if (++requests === 2) emu.faults.inject({ kind: '429', retryAfterSeconds: 60, match: /\/api\/alerts/ });
			return await httpRequest(options);
		};
		started = Date.now();
		const partial = await trigger.poll.call(context);
		expect(Date.now() - started).toBeLessThan(2000);
		const first = (partial?.[0] ?? []).map((i) => String(i.json.id));
		expect(first.length).toBeGreaterThan(0);
		const rest = await pollIds(h);
		expect([...first, ...rest]).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
	});
});

describe('4. activation', () => {
	// The trigger's clock is the real one: an alert stamped now, then a real pause before the next poll.
	const pause = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

	test.each<Persistence>(['durable', 'classic'])(
		'Max Historical Poll Start empty: an alert between the activation poll and the first scheduled poll is emitted (%s)',
		async (persistence) => {
			await emulator();
			const h = triggerHarness(emu, { maxHistoricalPollStart: '' });
			create('before', ts7(minutesAgo(30)));
			const loop = new N8nPollLoop(h, trigger, persistence);
			expect(await loop.poll()).toBeNull(); // the activation poll: nothing since activation
			await pause(20);
			create('between', ts7(Date.now()));
			await pause(20);
			expect(ids(await loop.poll())).toEqual(['between']);
		},
	);

	test.each<Persistence>(['durable', 'classic'])(
		'Max Historical Poll Start empty: n8n restarts before the first alert; alerts while it was down are emitted (%s)',
		async (persistence) => {
			await emulator();
			const h = triggerHarness(emu, { maxHistoricalPollStart: '' });
			const loop = new N8nPollLoop(h, trigger, persistence);
			expect(await loop.poll()).toBeNull();
			await pause(20);
			expect(await loop.poll()).toBeNull();
			loop.restart();
			await pause(20);
			create('while-down', ts7(Date.now()));
			await pause(20);
			expect(ids(await loop.poll())).toEqual(['while-down']);
			expect(await loop.poll()).toBeNull();
		},
	);
});

test('Fetch Test Event with Max Historical Poll Start empty, before any activation, shows a recent alert', async () => {
	await emulator();
	const h = triggerHarness(emu, { maxHistoricalPollStart: '' });
	create('recent', ts7(minutesAgo(10)));
	const result = await pollOnce(h, trigger, 'manual');
	expect(result?.[0].map((i) => i.json.id)).toEqual(['recent']);
	expect(JSON.stringify(h.workflow.staticData)).not.toContain('alertCursor');
});

describe('5. Max Historical Poll Start that would starve the trigger', () => {
	test.each(['today', 'now', '0 days ago', '5 minutes ago'])('"%s" is refused at activation, naming the field and the shortest value', async (phrase) => {
		await emulator();
		const h = triggerHarness(emu, { maxHistoricalPollStart: phrase });
		const error = await pollIds(h).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toMatch(new RegExp(`^Max Historical Poll Start "${phrase}".*16 minutes ago`));
		expect(emu.stats().total + emu.stats().tokenRequests).toBe(0);
	});
});

describe('6. the saved position belongs to what was polled', () => {
	test('switching the credential to another tenant reads that tenant from Max Historical Poll Start', async () => {
		await emulator();
		const h = triggerHarness(emu);
		create('x1', ts7(minutesAgo(30)));
		create('x2', ts7(minutesAgo(20)));
		const logs: string[] = [];
		const loop = new N8nPollLoop(h, trigger, 'classic', undefined, logs);
		expect(ids(await loop.poll())).toEqual(['x1', 'x2']);
		expect(await loop.poll()).toBeNull();
		// The emulator serves one data set to every tenant: the other tenant's backlog is these alerts again.
		const other = emu.addTenant('6c1a9f7e-2b1d-4c3e-9f00-1234567890ab');
		h.credentials = { ...h.credentials, tenantId: other };
		clearTokenCache();
		expect(ids(await loop.poll())).toEqual(['x1', 'x2']);
		expect(logs.some((l) => l.includes(`tenant ${other}`))).toBe(true);
		expect((loop.savedNodeState().alertCursor as IDataObject).tenant).toBe(other);
	});

	test('the tenant written as a domain or as its GUID is the same tenant (the token says which)', async () => {
		await emulator();
		const h = triggerHarness(emu);
		create('y1', ts7(minutesAgo(30)));
		expect(await pollIds(h)).toEqual(['y1']);
		h.credentials = { ...h.credentials, tenantId: 'contoso.onmicrosoft.com' };
		clearTokenCache();
		expect(await pollIds(h)).toEqual([]);
	});

	test('switching the source from the MDE API to Graph starts again from Max Historical Poll Start', async () => {
		await emulator();
		const h = triggerHarness(emu);
		create('z0', ts7(minutesAgo(40)));
		create('z1', ts7(minutesAgo(30)));
		expect(await pollIds(h)).toEqual(['z0', 'z1']);
		h.node.parameters = { ...h.node.parameters, source: 'graph', serviceSources: [] };
		expect(await pollIds(h)).toEqual(['z0', 'z1']);
		expect(await pollIds(h)).toEqual([]);
	});

	test('changing the filters keeps the position', async () => {
		await emulator();
		const h = triggerHarness(emu);
		create('f1', ts7(minutesAgo(30)));
		expect(await pollIds(h)).toEqual(['f1']);
		h.node.parameters = { ...h.node.parameters, severities: ['High', 'Medium'] };
		expect(await pollIds(h)).toEqual([]);
	});
});
