/**
 * CursorScan scenario by scenario: every poll's emitted ids (and versions) and the page queries it issued.
 * Polls run through TriggerHost, which pages exactly like poll.ts and keeps static data the way n8n does; `Host`
 * below also hands each poll its clock (`now`), as poll.ts does.
 *
 * Scenarios whose pages depend on how the API orders its answers run for every server order of the fake:
 * 'ordered' (sorts by `$orderby`), 'newestFirst' (ignores it) and 'rejectsOrderby' (answers it with a 400).
 * For the sorted server the exact page queries are asserted: a time window `cursor ge from` (`and cursor lt
 * before` when the scan narrowed it) with `$orderby`, or one instant `cursor eq t` with `$skip`, no `$orderby`.
 * After a sorted full page the next one starts `ge` its last instant, sized for the room left in the batch, the
 * re-reads ahead and the alerts already read at that instant (at least 2). For the servers that do not sort,
 * the scan works in time windows whose widths depend on tuning constants, so those runs assert what is
 * delivered (exact ids per poll, nothing lost or repeated, oldest first), that `state.order` turned 'none' with
 * a reason, and bounds on the number of requests.
 */
import {
	CursorScan,
	continuesState,
	type Alert,
	type ChangeInfo,
	type CursorState,
	type PageQuery,
} from '../../nodes/MicrosoftDefender/scan/cursor';
import {
	maxTimestamp,
	subtractMs,
	timestampFromMs,
	timestampFromTicks,
	timestampToTicks,
} from '../../nodes/MicrosoftDefender/helpers/timestamps';
import {
	compareKeys,
	DAY,
	FakeAlertApi,
	HOUR,
	inWindow,
	MINUTE,
	OrderbyRejected,
	SECOND,
	SERVER_ORDERS,
	ts,
	type FakeApiOptions,
	type ServerOrder,
} from './fakeAlertApi';
import {
	ids,
	pageRequest,
	PollFailure,
	pollOnce,
	scanOptions,
	TriggerHost,
	versions,
	type PollHooks,
	type PollOutcome,
	type ScanOptions,
} from './harness';

const T0 = Date.UTC(2024, 2, 1, 12);
/** `T0 + seconds`, plus `ticks` 100-ns ticks. */
const at = (seconds: number, ticks = 0): string => ts(T0 + seconds * SECOND, ticks);
const FLOOR = ts(T0 - DAY);

/** A sorted page request: `cursor ge from` (`and cursor lt before`), `$orderby=cursor asc`. */
function ge(from: string, top: number, before?: string): PageQuery {
	return { from, fromExclusive: false, ...(before === undefined ? {} : { before }), instant: false, skip: 0, top, ordered: true };
}
/** The first page of a scan on a sorting server. */
const first = ge;
/** One instant read alone: `cursor eq t`, `$skip`, no `$orderby`. */
const eq = (t: string, skip: number, top: number): PageQuery => ({ from: t, fromExclusive: false, instant: true, skip, top, ordered: false });
/** 100 ns after `t`: where a scan goes on once every alert at `t` was read. */
const tickAfter = (t: string): string => timestampFromTicks(timestampToTicks(t) + BigInt(1));

/** The trigger host, with each poll's clock in the scan options (`now`), as poll.ts passes it. */
class Host extends TriggerHost {
	override poll(nowMs: number, hooks: PollHooks = {}): PollOutcome {
		this.options = { ...this.options, now: timestampFromMs(nowMs) };
		return super.poll(nowMs, hooks);
	}
}

function setup(
	options: Partial<Omit<ScanOptions, 'fields'>> & { triggerOnUpdates?: boolean } = {},
	api: FakeApiOptions = {},
	floor: (nowMs: number) => string = () => FLOOR,
): { api: FakeAlertApi; host: Host } {
	const fake = new FakeAlertApi(api);
	return { api: fake, host: new Host(fake, scanOptions({ triggerOnUpdates: false, ...options }), floor) };
}

/** Tracked fields of a freshly created alert, as the change memory stores them (lists as their length). */
const DEFAULT_SNAPSHOT = { status: 'New', severity: 'High', title: 'Suspicious activity', assignedTo: null, comments: 0 };

const changes = (outcome: { emissions: Array<{ change: ChangeInfo }> }): ChangeInfo[] => outcome.emissions.map((e) => e.change);

/** The scan statistics with nothing unusual: no split, no early stop, no instant cut. */
const STATS = { splits: 0, stoppedEarly: false, instantsCut: 0 };

/**
 * A bound on the requests of a poll in time windows over `ms` of history. The first answer (newest first) shows the
 * density only at its own end; from the start of the range, empty windows grow 8 times a step, then approach the
 * window known to be full half-way a step, down to the width of the alerts' cluster (at worst one 100-ns tick):
 * about log2 of the range in ticks, twice, plus a few. Far below what a runaway or a linear scan would take.
 */
function windowRequestBound(ms: number): number {
	return 2 * Math.ceil(Math.log2(ms * 10_000)) + 8;
}

/** Emissions are oldest first, ties in id order, however the pages came. */
function expectOldestFirst(outcome: PollOutcome): void {
	const list = outcome.emissions.map((e) => ({ version: e.change.version, id: String(e.alert.id) }));
	const sorted = [...list].sort((a, b) => compareKeys(a.version, a.id, b.version, b.id));
	expect(list).toEqual(sorted);
}

/**
 * What a poll on `order` must leave in `state.order`: nothing on the sorted server (it is never taken for one that
 * does not sort); 'none' with the reason once the server showed it does not sort (a rejected `$orderby`, or an
 * answer with two instants out of order), to be said in the log.
 */
function expectOrder(order: ServerOrder, state: CursorState, shownUnsorted = true): void {
	if (order === 'ordered' || (order === 'newestFirst' && !shownUnsorted)) {
		expect(state).not.toHaveProperty('order');
		expect(state).not.toHaveProperty('orderReason');
		return;
	}
	expect(state.order).toBe('none');
	expect(state.orderReason).toMatch(order === 'rejectsOrderby' ? /rejected \$orderby/ : /out of the requested \$orderby order/);
}

describe('consecutive polls', () => {
	test('the first poll scans from the floor; later ones from highWater − look-back and emit only what is new', () => {
		const { api, host } = setup({ maxPageSize: 100 });
		api.create('a1', at(-60));
		api.create('a2', at(-30));
		api.create('a3', at(-10));

		let out = host.poll(T0);
		expect(ids(out)).toEqual(['a1', 'a2', 'a3']);
		expect(changes(out)).toEqual([
			{ type: 'new', version: at(-60) },
			{ type: 'new', version: at(-30) },
			{ type: 'new', version: at(-10) },
		]);
		expect(out.queries).toEqual([first(FLOOR, 100)]);
		// Strict: `horizon` (what `seen` covers: highWater − look-back) replaces the stored `lookbackMs`.
		expect(out.state).toStrictEqual({
			version: 1,
			cursorField: 'alertCreationTime',
			since: FLOOR,
			highWater: at(-10),
			horizon: at(-910),
			seen: { a1: at(-60), a2: at(-30), a3: at(-10) },
		});

		out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toEqual([first(at(-910), 100)]);
		expect(out.state).toEqual(host.persisted);

		api.create('a4', at(90));
		out = host.poll(T0 + 2 * MINUTE);
		expect(ids(out)).toEqual(['a4']);
		expect(out.queries).toEqual([first(at(-910), 100)]);
		expect(out.state.highWater).toBe(at(90));
	});

	test('timestamps rendered with trailing zeros trimmed are canonicalised (versions, cursor, de-duplication)', () => {
		const { api, host } = setup({ triggerOnUpdates: true, maxPageSize: 100 }, { render: 'trimmed' });
		api.create('a', at(0));
		api.create('b', at(0, 5000));
		let out = host.poll(T0 + SECOND);
		expect(out.emissions.map((e) => e.alert.lastUpdateTime)).toEqual(['2024-03-01T12:00:00Z', '2024-03-01T12:00:00.0005Z']);
		expect(versions(out)).toEqual([`a@${at(0)}`, `b@${at(0, 5000)}`]);
		expect(out.state.highWater).toBe(at(0, 5000));
		out = host.poll(T0 + 2 * SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toEqual([first(ts(T0 - 15 * MINUTE), 100)]);
	});
});

describe.each(SERVER_ORDERS)('alerts sharing one timestamp (server %s)', (order) => {
	test('ties spanning page boundaries are read once each; an instant holding a full page is read alone with $skip', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order });
		api.create('z', at(-1));
		for (const id of ['e', 'a', 'd', 'b', 'c']) api.create(id, at(0, 5));
		api.create('y', at(1));
		const t = at(0, 5);

		let out = host.poll(T0 + 2 * SECOND);
		// Oldest first, ties in id order, whatever order the pages came in.
		expect(ids(out)).toEqual(['z', 'a', 'b', 'c', 'd', 'e', 'y']);
		expectOrder(order, out.state);
		if (order === 'ordered') {
			// [z, a] is sorted with two instants: trusted, the scan goes on from t. [a, b] holds one instant only (a
			// newest-first answer could look like that), so t is read alone, `eq t` with $skip in the server's own order
			// (here newest first), then the scan goes on 100 ns after t. Keyset paging needed 4 requests here.
			expect(out.queries).toEqual([first(FLOOR, 2), ge(t, 2), eq(t, 0, 2), eq(t, 2, 2), eq(t, 4, 2), ge(tickAfter(t), 2)]);
			expect(out.pages.map((page) => page.map((alert) => alert.id))).toEqual([['z', 'a'], ['a', 'b'], ['e', 'd'], ['c', 'b'], ['a'], ['y']]);
			expect(out.scan.stats).toEqual({ pages: 6, read: 7, alreadyEmitted: 0, filteredOut: 0, emitted: 7, stoppedAtLimit: false, ...STATS, splits: 1 });
		} else {
			// Time windows from the floor a day back, narrowed to the 100 ns the ties share: 65 requests (the bound: 88).
			expect(out.queries.length).toBeLessThanOrEqual(windowRequestBound(DAY));
		}

		// Nothing new, but the look-back window (7 alerts) is larger than a page: it is re-read, nothing emitted.
		out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.scan.stats).toMatchObject({ read: 7, alreadyEmitted: 7 });
		if (order === 'ordered') {
			expect(out.queries).toEqual([first(at(1 - 900), 2), ge(t, 2), eq(t, 0, 2), eq(t, 2, 2), eq(t, 4, 2), ge(tickAfter(t), 2)]);
		} else {
			expect(out.queries.length).toBeLessThanOrEqual(windowRequestBound(15 * MINUTE));
		}
	});

	test('ids take no part in paging: ties with any ids are read once each, and no request compares ids', () => {
		const { api, host } = setup({ maxPageSize: 3 }, { order });
		const tied = ['9', '10', 'B', 'a', 'da1_-1', 'da1_1', '_', 'Z', "o'b"];
		for (const id of tied) api.create(id, at(0, 3));
		const out = host.poll(T0 + SECOND);
		// UTF-16 code unit order, as the module sorts ties (the fake's server order too).
		expect(ids(out)).toEqual(['10', '9', 'B', 'Z', '_', 'a', 'da1_-1', 'da1_1', "o'b"]);
		expect(api.requests.filter((r) => /\bid\b/.test(`${r.filter} ${r.orderby ?? ''}`))).toEqual([]);
		if (order === 'ordered') {
			// The first sorted page holds one instant t after `from`: the window before t is asked first (empty, since the
			// server sorts), then t alone, 3 alerts per page, then what follows t.
			const t = at(0, 3);
			expect(out.queries).toEqual([
				first(FLOOR, 3),
				ge(FLOOR, 3, t),
				ge(t, 3),
				eq(t, 0, 3),
				eq(t, 3, 3),
				eq(t, 6, 3),
				eq(t, 9, 3),
				ge(tickAfter(t), 3),
			]);
		}
	});

	test('7-digit timestamps: order and page boundaries follow the full precision, not the ids', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order });
		api.create('zz', ts(T0 + 123, 4561));
		api.create('yy', ts(T0 + 123, 4562));
		api.create('xx', ts(T0 + 123, 4563));
		const out = host.poll(T0 + SECOND);
		expect(ids(out)).toEqual(['zz', 'yy', 'xx']);
		expectOrder(order, out.state);
		if (order === 'ordered') {
			expect(out.queries).toEqual([first(FLOOR, 2), ge(ts(T0 + 123, 4562), 2), ge(ts(T0 + 123, 4563), 2)]);
		} else {
			// Windows narrowed from a day down to 100-ns ticks.
			expect(out.queries.length).toBeLessThanOrEqual(windowRequestBound(DAY));
		}
	});
});

describe('alerts sharing one timestamp', () => {
	// The requests poll.ts sends for these queries (built by pageSelection, served by the fake from the OData text).
	test('the page requests are the OData poll.ts sends: time windows with $orderby, one instant with $skip and without', () => {
		const { api, host } = setup({ maxPageSize: 2 });
		for (const id of ['z', "o'b", 'a']) api.create(id, at(0, 5));
		expect(ids(host.poll(T0 + SECOND))).toEqual(['a', "o'b", 'z']);
		const t = at(0, 5);
		const orderby = 'alertCreationTime asc';
		expect(api.requests).toEqual([
			{ filter: `alertCreationTime ge ${FLOOR}`, orderby, top: 2 },
			// [a, o'b]: one instant, not trusted to be the oldest alerts: the window before it first.
			{ filter: `alertCreationTime ge ${FLOOR} and alertCreationTime lt ${t}`, orderby, top: 2 },
			{ filter: `alertCreationTime ge ${t}`, orderby, top: 2 },
			// The instant alone, in the server's own order (no $orderby: one instant needs none), $skip inside it.
			{ filter: `alertCreationTime eq ${t}`, top: 2 },
			{ filter: `alertCreationTime eq ${t}`, top: 2, skip: 2 },
			{ filter: `alertCreationTime ge ${tickAfter(t)}`, orderby, top: 2 },
		]);
	});

	test('look-back 0: from = highWater exactly; ties at it that show up later are emitted, the ones read are not', () => {
		const { api, host } = setup({ lookbackMs: 0, maxPageSize: 100 });
		api.create('b', at(0, 7));
		api.create('c', at(0, 7));
		let out = host.poll(T0 + SECOND);
		expect(ids(out)).toEqual(['b', 'c']);
		expect(out.state).toMatchObject({ highWater: at(0, 7), seen: { b: at(0, 7), c: at(0, 7) } });

		api.create('a', at(0, 7), {}, T0 + 1500);
		api.create('d', at(0, 7), {}, T0 + 1500);
		out = host.poll(T0 + 2 * SECOND);
		expect(ids(out)).toEqual(['a', 'd']);
		expect(out.queries).toEqual([first(at(0, 7), 100)]);

		out = host.poll(T0 + 3 * SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toEqual([first(at(0, 7), 100)]);
	});

	test('alerts exactly at the look-back boundary are re-read but not re-emitted (seen keeps versions ≥ highWater − look-back)', () => {
		const { api, host } = setup({ maxPageSize: 100 });
		api.create('k1', at(-900));
		api.create('k2', at(-900));
		api.create('kx', ts(T0 - 900 * SECOND - 1, 9999)); // 100 ns before the boundary
		api.create('h', at(0));

		let out = host.poll(T0);
		expect(ids(out)).toEqual(['kx', 'k1', 'k2', 'h']);
		// kx can never be scanned again, so it is forgotten; k1 and k2 sit exactly on the boundary and are kept.
		expect(out.state.seen).toEqual({ k1: at(-900), k2: at(-900), h: at(0) });
		expect(out.state.horizon).toBe(at(-900));

		out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toEqual([first(at(-900), 100)]);

		// Another alert on the boundary that shows up now (later than the look-back promises, still inside the window).
		api.create('k0', at(-900), {}, T0 + 90 * SECOND);
		out = host.poll(T0 + 2 * MINUTE);
		expect(ids(out)).toEqual(['k0']);
		expect(out.queries).toEqual([first(at(-900), 100)]);
	});
});

describe('7-digit timestamps that differ only below the millisecond', () => {
	test('an alert 600 ns after highWater (same millisecond) is neither lost nor is the older one repeated', () => {
		const { api, host } = setup({ lookbackMs: 0, maxPageSize: 100 });
		api.create('p', ts(T0 + 123, 4561));
		let out = host.poll(T0 + SECOND);
		expect(ids(out)).toEqual(['p']);

		api.create('q', ts(T0 + 123, 4567), {}, T0 + 1500);
		out = host.poll(T0 + 2 * SECOND);
		expect(ids(out)).toEqual(['q']);
		expect(out.queries).toEqual([first(ts(T0 + 123, 4561), 100)]);
		expect(out.state.highWater).toBe('2024-03-01T12:00:00.1234567Z');
	});
});

describe('ingestion delay', () => {
	test.each([false, true])(
		'an alert (or update) visible exactly look-back after its timestamp is emitted once (triggerOnUpdates=%s)',
		(triggerOnUpdates) => {
			const { api, host } = setup({ triggerOnUpdates, maxPageSize: 100 });
			api.create('u', at(-30 * 60));
			api.create('h', at(-60));
			expect(ids(host.poll(T0 - MINUTE))).toEqual(['u', 'h']);

			api.create('late', at(-15 * 60), {}, T0); // visible exactly 15 min after its timestamp
			api.create('tooLate', ts(T0 - 16 * MINUTE - 1), {}, T0); // outside the window: beyond the contract
			if (triggerOnUpdates) api.update('u', at(-15 * 60, 1), { title: 'late update' }, T0);
			const out = host.poll(T0);
			expect(out.queries).toEqual([first(at(-16 * 60), 100)]);
			expect(versions(out)).toEqual(
				triggerOnUpdates ? [`late@${at(-900)}`, `u@${at(-900, 1)}`] : [`late@${at(-900)}`],
			);
			expect(ids(host.poll(T0 + MINUTE))).toEqual([]);
		},
	);
});

describe.each(SERVER_ORDERS)('a backlog larger than a page and than maxAlerts (server %s)', (order) => {
	const base = T0 - 4 * HOUR;
	const t = (i: number): string => ts(base + i * 10 * MINUTE);
	const id = (i: number): string => `a${String(i).padStart(2, '0')}`;
	const range = (lo: number, hi: number): string[] => Array.from({ length: hi - lo + 1 }, (_, k) => id(lo + k));

	function backlog(triggerOnUpdates: boolean): { api: FakeAlertApi; host: Host } {
		const s = setup({ triggerOnUpdates, maxAlerts: 10, maxPageSize: 4 }, { order });
		for (let i = 0; i < 23; i++) s.api.create(id(i), t(i));
		return s;
	}

	test.each([false, true])('is drained oldest first over several polls, nothing dropped (triggerOnUpdates=%s)', (triggerOnUpdates) => {
		const { host } = backlog(triggerOnUpdates);

		let out = host.poll(T0);
		expect(ids(out)).toEqual(range(0, 9));
		// Whatever the server's order: a10 does not fit, so it is not read; highWater stays at a09.
		expect(out.scan.stats).toMatchObject({ read: 10, alreadyEmitted: 0, emitted: 10, stoppedAtLimit: true });
		expect(out.state.seen).toEqual({ a08: t(8), a09: t(9) });
		expectOrder(order, out.state);
		if (order === 'ordered') {
			// A sorted page is continued `ge` its last instant, whose alert is read again (no id comparison): each page is
			// sized for the room left plus that alert, capped by maxPageSize: 4, 4, 4 (keyset paging sent 4, 4, 2). The
			// batch fills exactly at the end of the third: no fourth request.
			expect(out.queries).toEqual([first(FLOOR, 4), ge(t(3), 4), ge(t(6), 4)]);
			expect(out.scan.stats).toEqual({ pages: 3, read: 10, alreadyEmitted: 0, filteredOut: 0, emitted: 10, stoppedAtLimit: true, ...STATS });
			expect(out.state).not.toHaveProperty('windowMs');
		} else {
			// The scan stopped with a backlog left: the window width that fitted is kept for the next poll.
			expect(out.state.windowMs).toBeGreaterThan(0);
			expect(out.queries.length).toBeLessThanOrEqual(windowRequestBound(DAY));
		}

		// The first page is sized for the 2 re-reads ahead in `seen` plus maxAlerts, capped by maxPageSize; the later
		// ones for the room left plus the alert read again at their start; the last only 3 (room 2, plus a17).
		out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual(range(10, 19));
		expect(out.scan.stats).toMatchObject({ read: 12, alreadyEmitted: 2, emitted: 10, stoppedAtLimit: true });
		if (order === 'ordered') {
			expect(out.queries).toEqual([first(ts(base + 75 * MINUTE), 4), ge(t(11), 4), ge(t(14), 4), ge(t(17), 3)]);
			expect(out.scan.stats).toEqual({ pages: 4, read: 12, alreadyEmitted: 2, filteredOut: 0, emitted: 10, stoppedAtLimit: true, ...STATS });
		} else {
			// Starting with the width kept, not from one open window narrowed down again: 7 requests for 10 alerts in pages
			// of 4 (the bound leaves room for tuning).
			expect(out.state.windowMs).toBeGreaterThan(0);
			expect(out.queries.length).toBeLessThanOrEqual(15);
		}

		out = host.poll(T0 + 2 * MINUTE);
		expect(ids(out)).toEqual(range(20, 22));
		expect(out.scan.stats.stoppedAtLimit).toBe(false);
		// Drained: the next poll starts with one open window again, whatever the server's order.
		expect(out.state).not.toHaveProperty('windowMs');
		if (order === 'ordered') expect(out.queries).toEqual([first(ts(base + 175 * MINUTE), 4), ge(t(21), 4)]);

		// Idle: the look-back window (a21, a22) fits in one page, whatever the server's order.
		out = host.poll(T0 + 3 * MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toHaveLength(1);
		expect(out.queries[0]).toMatchObject({ from: ts(base + 205 * MINUTE), fromExclusive: false, instant: false });
		expect(out.queries[0].before).toBeUndefined();
		if (order === 'ordered') expect(out.queries).toEqual([first(ts(base + 205 * MINUTE), 4)]);
		expectOrder(order, out.state);
	});

	test('a poll failing on its second page commits nothing; the retry emits the same alerts once', () => {
		const { api, host } = backlog(false);
		expect(() => host.poll(T0, { failOnRequest: 2 })).toThrow(PollFailure);
		expect(host.memory).toBeUndefined();

		let out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual(range(0, 9));
		if (order === 'ordered') expect(out.queries).toEqual([first(FLOOR, 4), ge(t(3), 4), ge(t(6), 4)]);

		// The next poll fails on its second request, then on its last (counted on a dry run: pollOnce commits nothing).
		const requests = pollOnce(api, host.memory, { ...host.options, now: timestampFromMs(T0 + 2 * MINUTE) }, FLOOR, T0 + 2 * MINUTE).queries.length;
		if (order === 'ordered') expect(requests).toBe(4);
		expect(requests).toBeGreaterThan(2);
		const before = JSON.stringify(host.memory);
		expect(() => host.poll(T0 + 2 * MINUTE, { failOnRequest: 2 })).toThrow(PollFailure);
		expect(() => host.poll(T0 + 2 * MINUTE, { failOnRequest: requests })).toThrow(PollFailure);
		expect(JSON.stringify(host.memory)).toBe(before);

		out = host.poll(T0 + 4 * MINUTE);
		expect(ids(out)).toEqual(range(10, 19));
	});
});

/**
 * A client-side filter (`source.clientFilter`, for what the API cannot filter, e.g. Graph's category): alerts it
 * rejects are read and move the cursor, but are not emitted, not remembered, and do not count towards maxAlerts.
 */
describe.each(SERVER_ORDERS)('client-side filter (server %s)', (order) => {
	const notInformational = (alert: Record<string, unknown>): boolean => alert.severity !== 'Informational';

	test('rejected alerts are read past, page after page, and neither emitted nor counted towards maxAlerts', () => {
		const { api, host } = setup({ maxAlerts: 2, maxPageSize: 2, clientFilter: notInformational }, { order });
		const severities = ['Low', 'Informational', 'Informational', 'High', 'Informational', 'High'];
		for (const [i, severity] of severities.entries()) api.create(`a${i}`, at(i), { severity });

		let out = host.poll(T0 + 10 * SECOND);
		expect(ids(out)).toEqual(['a0', 'a3']);
		expect(out.scan.stats).toMatchObject({ emitted: 2, stoppedAtLimit: true });
		expect(out.state).toMatchObject({ seen: { a0: at(0), a3: at(3) } });
		if (order === 'ordered') {
			// Pages of 2 (the smallest that can show an order) from the last instant read: a2 is rejected (read, not
			// counted), a3 fills the batch, so the scan stops there without reading a4 or a5.
			expect(out.scan.stats).toEqual({ pages: 3, read: 4, alreadyEmitted: 0, filteredOut: 2, emitted: 2, stoppedAtLimit: true, ...STATS });
			expect(out.queries).toEqual([first(FLOOR, 2), ge(at(1), 2), ge(at(2), 2)]);
			expect(out.state.highWater).toBe(at(3));
		} else {
			// A whole window is processed up to the alert that does not fit: a4 (rejected) may be read too.
			expect(out.scan.stats.filteredOut).toBeGreaterThanOrEqual(2);
			expect([at(3), at(4)]).toContain(out.state.highWater);
		}

		// Each sorted page re-reads the last instant of the one before: with pages of 2 the scan advances one alert a page.
		out = host.poll(T0 + 20 * SECOND);
		expect(ids(out)).toEqual(['a5']);
		expect(out.scan.stats).toMatchObject({ emitted: 1, stoppedAtLimit: false });
		if (order === 'ordered') {
			expect(out.scan.stats).toEqual({ pages: 6, read: 6, alreadyEmitted: 2, filteredOut: 3, emitted: 1, stoppedAtLimit: false, ...STATS });
			expect(out.queries).toEqual([first(at(3 - 900), 2), ge(at(1), 2), ge(at(2), 2), ge(at(3), 2), ge(at(4), 2), ge(at(5), 2)]);
		}

		out = host.poll(T0 + 30 * SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.state.seen).toEqual({ a0: at(0), a3: at(3), a5: at(5) });
	});

	test('a poll emitting nothing still moves highWater past rejected alerts (in memory); a restart only re-reads them', () => {
		const { api, host } = setup({ lookbackMs: MINUTE, maxPageSize: 100, clientFilter: notInformational }, { order });
		for (const [i, s] of [-600, -300, 0].entries()) api.create(`x${i}`, at(s), { severity: 'Informational' });
		let out = host.poll(T0 + SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.state).toMatchObject({ highWater: at(0), seen: {} });
		expect(host.persisted).toBeUndefined();
		// One short answer, newest first when the server does not sort: that shows it, even in a poll emitting nothing.
		expectOrder(order, out.state);

		out = host.poll(T0 + MINUTE);
		expect(out.queries).toHaveLength(1);
		expect(out.queries[0]).toMatchObject({ from: at(-60), instant: false, top: 100, ordered: order === 'ordered' });
		expect(out.scan.stats).toMatchObject({ read: 1, filteredOut: 1 });

		host.restart();
		api.create('h', at(70), { severity: 'High' });
		out = host.poll(T0 + 2 * MINUTE);
		expect(out.queries).toHaveLength(1);
		expect(out.queries[0]).toMatchObject({ from: FLOOR, instant: false, top: 100 });
		expect(ids(out)).toEqual(['h']);
		expect(out.scan.stats).toMatchObject({ read: 4, filteredOut: 3 });
	});

	test('updates on: rejected versions are skipped; the next wanted one is an update with the changes since the last emitted', () => {
		const { api, host } = setup({ triggerOnUpdates: true, clientFilter: notInformational }, { order });
		api.create('a', at(0), { severity: 'High', title: 'T1' });
		expect(versions(host.poll(T0 + SECOND))).toEqual([`a@${at(0)}`]);
		api.update('a', at(10), { severity: 'Informational', title: 'T2' });
		expect(ids(host.poll(T0 + 20 * SECOND))).toEqual([]);
		api.update('a', at(30), { severity: 'Low' });
		expect(changes(host.poll(T0 + 40 * SECOND))).toEqual([
			{ type: 'update', version: at(30), changedFields: ['severity', 'title'], previous: { severity: 'High', title: 'T1' } },
		]);
	});
});

describe('restarts (static data persisted only with emitted items)', () => {
	test('a poll that emits nothing leaves the state exactly as it was, so rolling back to the persisted state loses nothing', () => {
		const { api, host } = setup();
		// First poll, nothing yet: the state (with `since`) lives in memory only.
		expect(ids(host.poll(T0))).toEqual([]);
		expect(host.memory).toMatchObject({ since: FLOOR, seen: {} });
		expect(host.persisted).toBeUndefined();
		host.restart();
		expect(host.memory).toBeUndefined();

		api.create('a', at(10));
		api.create('b', at(20));
		expect(ids(host.poll(T0 + MINUTE))).toEqual(['a', 'b']);
		expect(host.persisted).toEqual(host.memory);

		expect(ids(host.poll(T0 + 2 * MINUTE))).toEqual([]);
		expect(host.memory).toEqual(host.persisted);
		host.restart();
		expect(() => host.poll(T0 + 3 * MINUTE, { failOnRequest: 1 })).toThrow(PollFailure);
		host.restart();
		expect(ids(host.poll(T0 + 4 * MINUTE))).toEqual([]);

		api.create('c', at(230));
		expect(ids(host.poll(T0 + 5 * MINUTE))).toEqual(['c']);
		host.restart();
		expect(ids(host.poll(T0 + 6 * MINUTE))).toEqual([]);
	});
});

describe('filters', () => {
	const open = { statuses: ['New', 'InProgress'] };

	test('updates on: leaving the filter emits nothing; matching again emits an update with the changes since the last emitted version', () => {
		const { api, host } = setup({ triggerOnUpdates: true }, { filter: open });
		api.create('a', at(0), { status: 'New', title: 'T1' });
		let out = host.poll(T0 + SECOND);
		expect(versions(out)).toEqual([`a@${at(0)}`]);
		expect(changes(out)).toEqual([{ type: 'new', version: at(0) }]);

		api.update('a', at(10), { status: 'Resolved', title: 'T2' });
		expect(ids(host.poll(T0 + 20 * SECOND))).toEqual([]);

		api.update('a', at(30), { status: 'InProgress' });
		out = host.poll(T0 + 40 * SECOND);
		expect(changes(out)).toEqual([
			{ type: 'update', version: at(30), changedFields: ['status', 'title'], previous: { status: 'New', title: 'T1' } },
		]);

		// Several updates between two polls: only the version visible at poll time can be emitted.
		api.update('a', at(50), { status: 'Resolved' });
		api.update('a', at(55), { status: 'New', comments: ['looked at it'] });
		out = host.poll(T0 + 60 * SECOND);
		expect(changes(out)).toEqual([
			{
				type: 'update',
				version: at(55),
				changedFields: ['status', 'comments'],
				previous: { status: 'InProgress', comments: 0 },
			},
		]);

		// Never matching: never emitted; starts matching: emitted, as new since it never was.
		api.create('n', at(61), { status: 'Resolved' });
		api.update('n', at(62), { severity: 'Low' });
		expect(ids(host.poll(T0 + 70 * SECOND))).toEqual([]);
		api.update('n', at(80), { status: 'New' });
		out = host.poll(T0 + 90 * SECOND);
		expect(changes(out)).toEqual([{ type: 'new', version: at(80) }]);
	});

	test('updates off: each id at most once; an alert that starts matching is emitted only while its creation time is in the window', () => {
		const { api, host } = setup({ triggerOnUpdates: false }, { filter: open });
		api.create('a', at(0), { status: 'New' });
		api.create('r', at(0, 1), { status: 'Resolved' });
		api.create('o', at(1), { status: 'Resolved' });
		expect(ids(host.poll(T0 + SECOND))).toEqual(['a']);

		api.update('a', at(10), { status: 'Resolved' });
		api.update('a', at(20), { status: 'New' });
		api.update('r', at(30), { status: 'New' });
		expect(ids(host.poll(T0 + MINUTE))).toEqual(['r']);

		// Much later: the creation time of `o` has left the look-back window; it is never emitted (documented limit).
		api.create('x', at(3600));
		expect(ids(host.poll(T0 + HOUR + MINUTE))).toEqual(['x']);
		api.update('o', at(3700), { status: 'New' });
		expect(ids(host.poll(T0 + HOUR + 2 * MINUTE))).toEqual([]);
	});
});

describe('change details (updates on)', () => {
	test('a touch without tracked changes is an update with no changed fields; alerts created before `since` are updates', () => {
		const { api, host } = setup({ triggerOnUpdates: true });
		api.create('old', ts(T0 - 2 * DAY), { status: 'New' }, T0 - 2 * DAY);
		api.update('old', at(-10), { status: 'InProgress' });
		api.create('a', at(0));
		let out = host.poll(T0 + SECOND);
		expect(changes(out)).toEqual([
			{ type: 'update', version: at(-10) },
			{ type: 'new', version: at(0) },
		]);
		api.update('a', at(5));
		out = host.poll(T0 + 10 * SECOND);
		expect(changes(out)).toEqual([{ type: 'update', version: at(5), changedFields: [], previous: {} }]);
		expect(out.state.since).toBe(FLOOR);
	});

	test('an update of an alert no longer in change memory is still an update, without change details', () => {
		const { api, host } = setup({ triggerOnUpdates: true, changeMemory: 1 });
		api.create('a', at(0));
		api.create('b', at(1));
		expect(ids(host.poll(T0 + 2 * SECOND))).toEqual(['a', 'b']);
		expect(host.memory?.known).toEqual([['b', at(1), DEFAULT_SNAPSHOT]]);
		api.update('a', at(10), { title: 'changed' });
		expect(changes(host.poll(T0 + 20 * SECOND))).toEqual([{ type: 'update', version: at(10) }]);
	});

	// Requirement: an alert that starts matching again "is emitted as type 'update' when it was emitted before".
	// Documented limit of the bounded state (by design, not a bug to fix here): once an emitted alert has left both
	// `seen` (older than the look-back window) and `known` (more than `changeMemory` other alerts emitted since —
	// 1000 in poll.ts, a busy day for a large tenant), nothing remembers it was emitted, and an update is typed by
	// `alertCreationTime < since` alone, i.e. 'new' for any alert created after the trigger's first poll. A reopened
	// old alert then looks like a brand-new one downstream. Remembering every alert ever emitted would make the
	// static data grow without bound; the trade-off keeps it within the look-back window plus `changeMemory`
	// entries. (A cheap improvement, if wanted: also call it 'update' when alertCreationTime is before the scan's
	// `from`.) This test pins the current behaviour so a change to it is deliberate.
	test('an alert emitted long ago and forgotten by the bounded memory is typed new (bounded-state trade-off)', () => {
		const { api, host } = setup({ triggerOnUpdates: true, changeMemory: 1, lookbackMs: MINUTE });
		api.create('a', at(0));
		api.create('b', at(1));
		expect(ids(host.poll(T0 + 2 * SECOND))).toEqual(['a', 'b']);
		api.create('c', at(600));
		expect(ids(host.poll(T0 + 601 * SECOND))).toEqual(['c']);
		// Nothing about `a` is left: not in `seen` (outside the window), not in `known` (one entry, for c).
		expect(host.memory?.seen).toEqual({ c: at(600) });
		expect(host.memory?.known?.map(([id]) => id)).toEqual(['c']);
		api.update('a', at(700), { status: 'InProgress' });
		expect(changes(host.poll(T0 + 701 * SECOND))).toEqual([{ type: 'new', version: at(700) }]);
	});

	// `known` is an array in emission order, so integer-like ids ("9", "10"), which JavaScript would put first in an
	// object's key order, are trimmed like any other: the least recently emitted goes first.
	test('change memory forgets the least recently emitted alerts, also with integer-like ids', () => {
		const { api, host } = setup({ triggerOnUpdates: true, changeMemory: 2 });
		api.create('10', at(0));
		api.create('9', at(1));
		api.create('11', at(2));
		expect(ids(host.poll(T0 + 3 * SECOND))).toEqual(['10', '9', '11']);
		expect(host.memory?.known?.map(([id, version]) => [id, version])).toEqual([
			['9', at(1)],
			['11', at(2)],
		]);
		api.update('9', at(10), { title: 'changed' });
		const out = host.poll(T0 + 20 * SECOND);
		expect(changes(out)).toEqual([
			{ type: 'update', version: at(10), changedFields: ['title'], previous: { title: 'Suspicious activity' } },
		]);
		// Re-emitted: now the most recent.
		expect(out.state.known).toEqual([
			['11', at(2), DEFAULT_SNAPSHOT],
			['9', at(10), { ...DEFAULT_SNAPSHOT, title: 'changed' }],
		]);
		// So `11` is forgotten before `9` when a third alert comes.
		api.create('8', at(30));
		expect(host.poll(T0 + 40 * SECOND).state.known?.map(([id]) => id)).toEqual(['9', '8']);
	});
});

describe('bounded state', () => {
	test('seen holds exactly the emitted versions inside [horizon = highWater − look-back, highWater], however many alerts came by', () => {
		const lookbackMs = 5 * MINUTE;
		const { api, host } = setup({ triggerOnUpdates: true, lookbackMs });
		const lastEmitted = new Map<string, string>();
		let maxSeen = 0;
		for (let s = 0; s < 2 * 3600; s += 30) {
			api.create(`a${s}`, at(s));
			if (s % 90 === 0 && s > 0) api.update(`a${s / 3}`, at(s, 1), { title: `t${s}` });
			if (s % 60 !== 30) continue;
			const out = host.poll(T0 + (s + 1) * SECOND);
			for (const e of out.emissions) lastEmitted.set(String(e.alert.id), e.change.version);
			const horizon = subtractMs(out.state.highWater as string, lookbackMs);
			// With a constant look-back the horizon is always highWater − look-back.
			expect(out.state.horizon).toBe(horizon);
			const expected = Object.fromEntries([...lastEmitted].filter(([, v]) => v >= horizon));
			expect(out.state.seen).toEqual(expected);
			maxSeen = Math.max(maxSeen, Object.keys(out.state.seen).length);
		}
		expect(lastEmitted.size).toBe(240);
		// A 5-min window (both ends inclusive) holds at most 11 creations (every 30 s) and 4 updates (every 90 s).
		expect(maxSeen).toBeLessThanOrEqual(15);
	});
});

/**
 * Request counts on the sorted server. N alerts at distinct instants with page size P (and maxAlerts above N): a
 * sorted full page is continued `ge` its last instant, whose alert is read again, so each page after the first
 * brings P − 1 new alerts; the scan ends after the first short page: 1 request when N < P, else
 * ⌊(N − P) / (P − 1)⌋ + 2. (Keyset paging needed ⌈N / P⌉, or N / P + 1 when P divides N.)
 * N alerts sharing one instant t with N ≥ P: the first sorted page holds one instant only, which is not trusted
 * (a newest-first answer could look the same): the window before t is asked (empty), then from t (the same page),
 * then t alone with $skip, ⌊N / P⌋ + 1 pages, then what follows t: ⌊N / P⌋ + 5 requests where keyset paging
 * needed ⌈N / P⌉ or so. The price of not relying on an id order the API does not document, only with ties
 * filling a page (tiny pages here; Defender's pages hold 1,000 or 10,000 alerts).
 */
describe('request counts (sorted server)', () => {
	const cases: Array<[number, number]> = [
		[1, 2],
		[2, 2],
		[5, 2],
		[6, 2],
		[7, 3],
		[9, 3],
		[10, 4],
		[3, 10],
		[10, 10],
	];
	test.each(cases)('draining %d alerts at distinct instants with page size %d', (n, p) => {
		const { api, host } = setup({ maxPageSize: p });
		for (let i = 0; i < n; i++) api.create(`a${i}`, at(i)); // ids a0…a9: string order = creation order
		const out = host.poll(T0 + HOUR);
		expect(ids(out)).toEqual(Array.from({ length: n }, (_, i) => `a${i}`));
		const requests = n < p ? 1 : Math.floor((n - p) / (p - 1)) + 2;
		// Page k ≥ 1 starts at the last alert of page k − 1, alert k(P − 1).
		const starts = Array.from({ length: requests }, (_, k) => k * (p - 1));
		expect(out.queries).toEqual([first(FLOOR, p), ...starts.slice(1).map((s) => ge(at(s), p))]);
		expect(out.pages.map((page) => page.length)).toEqual(starts.map((s) => Math.min(p, n - s)));
		expect(out.scan.stats).toEqual({ pages: requests, read: n, alreadyEmitted: 0, filteredOut: 0, emitted: n, stoppedAtLimit: false, ...STATS });
	});

	test.each(cases)('draining %d alerts sharing one instant with page size %d', (n, p) => {
		const { api, host } = setup({ maxPageSize: p });
		const t = at(0, 42);
		for (let i = 0; i < n; i++) api.create(`a${i}`, t);
		const out = host.poll(T0 + HOUR);
		// Ties go out in id order (a0…a9: string order = creation order), also when read over several pages.
		expect(ids(out)).toEqual(Array.from({ length: n }, (_, i) => `a${i}`));
		if (n < p) {
			expect(out.queries).toEqual([first(FLOOR, p)]);
			return;
		}
		const instantPages = Math.floor(n / p) + 1;
		expect(out.queries).toEqual([
			first(FLOOR, p),
			ge(FLOOR, p, t),
			ge(t, p),
			...Array.from({ length: instantPages }, (_, k) => eq(t, k * p, p)),
			ge(tickAfter(t), p),
		]);
		expect(out.pages.map((page) => page.length)).toEqual([
			p,
			0,
			p,
			...Array.from({ length: instantPages }, (_, k) => Math.min(p, n - k * p)),
			0,
		]);
		// The two sorted pages that hold t only are not processed: each alert is read once, on the instant's pages.
		expect(out.scan.stats).toEqual({ pages: instantPages + 4, read: n, alreadyEmitted: 0, filteredOut: 0, emitted: n, stoppedAtLimit: false, ...STATS, splits: 2 });
	});

	test('maxAlerts also bounds the first page: N = maxAlerts < maxPageSize fills the batch in one request, no extra empty page', () => {
		const { api, host } = setup({ maxAlerts: 5, maxPageSize: 100 });
		for (let i = 0; i < 5; i++) api.create(`a${i}`, at(i));
		const out = host.poll(T0 + HOUR);
		expect(ids(out)).toHaveLength(5);
		expect(out.queries).toEqual([first(FLOOR, 5)]);
		expect(out.scan.stats).toMatchObject({ pages: 1, read: 5, emitted: 5, stoppedAtLimit: true });
	});

	// Nothing to re-read: the first page is sized min(P, maxAlerts); each later one min(P, room left + 1), the 1 being
	// the alert read again at its start, and at least 2. The scan ends after a short page, or after the page that
	// fills the batch (even on a page boundary: no request just to find the next alert).
	test.each([
		// [N, P, maxAlerts, tops]
		[5, 2, 5, [2, 2, 2, 2]],
		[6, 2, 6, [2, 2, 2, 2, 2]],
		[6, 4, 7, [4, 4]],
		[7, 3, 8, [3, 3, 3, 2]],
		[10, 4, 6, [4, 3]],
		[10, 4, 5, [4, 2]],
		[3, 10, 4, [4]],
	] as const)('draining %d alerts with page size %d and maxAlerts %d: pages of %j', (n, p, max, tops) => {
		const { api, host } = setup({ maxPageSize: p, maxAlerts: max });
		for (let i = 0; i < n; i++) api.create(`a${i}`, at(i));
		const out = host.poll(T0 + HOUR);
		const emitted = Math.min(n, max);
		expect(ids(out)).toEqual(Array.from({ length: emitted }, (_, i) => `a${i}`));
		// Page k ≥ 1 starts at the last alert of page k − 1.
		const starts = tops.map((_, k) => tops.slice(0, k).reduce((sum, top) => sum + top - 1, 0));
		expect(out.queries).toEqual(tops.map((top, k) => ge(k ? at(starts[k]) : FLOOR, top)));
		expect(out.pages.map((page) => page.length)).toEqual(tops.map((top, k) => Math.min(top, n - starts[k])));
		expect(out.scan.stats).toMatchObject({ read: emitted, emitted, stoppedAtLimit: n >= max });
	});

	// The first page is sized for maxAlerts plus the 3 re-reads ahead, capped; after a full page the next is sized for
	// the room, the re-reads at or after its start and the alert read again there.
	test.each([
		[4, 1, [4]],
		[3, 2, [3, 3]],
		[2, 3, [2, 2, 2]],
	])('a poll with nothing new, a window of 3 alerts and maxPageSize %d makes %d request(s) of sizes %j', (maxPageSize, requests, tops) => {
		const { api, host } = setup({ maxPageSize });
		for (let i = 0; i < 3; i++) api.create(`a${i}`, at(i));
		expect(ids(host.poll(T0 + 10 * SECOND))).toHaveLength(3);
		host.options = { ...host.options, maxAlerts: 1 };
		const out = host.poll(T0 + 20 * SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toHaveLength(requests);
		expect(out.queries.map((query) => query.top)).toEqual(tops);
		expect(out.scan.stats.stoppedAtLimit).toBe(false);
	});
});

describe('moving floor ("1 day ago", recomputed every poll)', () => {
	const oneDayAgo = (nowMs: number): string => ts(nowMs - DAY);

	test('after a long pause only alerts older than the floor are skipped', () => {
		const { api, host } = setup({ maxPageSize: 100 }, {}, oneDayAgo);
		api.create('tooOld', ts(T0 - 2 * DAY), {}, T0 - 2 * DAY);
		api.create('b', ts(T0 - 12 * HOUR), {}, T0 - 12 * HOUR);
		let out = host.poll(T0);
		expect(ids(out)).toEqual(['b']);
		expect(out.queries).toEqual([first(ts(T0 - DAY), 100)]);

		// The trigger is off for 3 days.
		api.create('c', ts(T0 + DAY), {}, T0 + DAY);
		api.create('d', ts(T0 + 2.5 * DAY), {}, T0 + 2.5 * DAY);
		out = host.poll(T0 + 3 * DAY);
		expect(ids(out)).toEqual(['d']);
		expect(out.queries).toEqual([first(ts(T0 + 2 * DAY), 100)]);

		// Regular polling again: the floor is far behind highWater − look-back and changes nothing.
		api.create('e', ts(T0 + 3 * DAY - 10 * MINUTE), {}, T0 + 3 * DAY + MINUTE);
		out = host.poll(T0 + 3 * DAY + MINUTE);
		expect(ids(out)).toEqual(['e']);
		expect(out.queries).toEqual([first(ts(T0 + 2.5 * DAY - 15 * MINUTE), 100)]);
		expect(out.state.since).toBe(ts(T0 - DAY));
	});

	test('updates on: an update after the pause of an alert created before the floor is emitted, typed update', () => {
		const { api, host } = setup({ triggerOnUpdates: true, maxPageSize: 100 }, {}, oneDayAgo);
		api.create('x', ts(T0 - 2 * DAY), {}, T0 - 2 * DAY);
		api.create('y', ts(T0 - 2 * DAY, 1), {}, T0 - 2 * DAY);
		expect(ids(host.poll(T0))).toEqual([]);
		api.update('x', ts(T0 + 3 * DAY - HOUR), { status: 'InProgress' });
		api.update('y', ts(T0 + 1.5 * DAY), { status: 'InProgress' }); // before the floor of the next poll
		const out = host.poll(T0 + 3 * DAY);
		expect(changes(out)).toEqual([{ type: 'update', version: ts(T0 + 3 * DAY - HOUR) }]);
	});
});

describe('parameter changes while the trigger is active (not in the stated requirements)', () => {
	// `seen` covers the emitted versions at or after the stored `horizon`; a scan never starts below it:
	// from = max(highWater − look-back, horizon, floor), and commit() moves it to max(highWater − look-back, horizon).
	// So a raised look-back widens the window only as new versions are recorded (it cannot repeat an alert `seen` has
	// forgotten), and a lowered one takes effect at once.
	test('raising the look-back emits nothing a second time, on the next poll or any later one', () => {
		const { api, host } = setup({ lookbackMs: MINUTE, maxPageSize: 100 });
		api.create('a', at(-300));
		api.create('b', at(0));
		expect(ids(host.poll(T0 + SECOND))).toEqual(['a', 'b']);
		expect(host.memory).toMatchObject({ highWater: at(0), horizon: at(-60), seen: { b: at(0) } });
		host.options = { ...host.options, lookbackMs: 15 * MINUTE };
		for (const minutes of [1, 2, 3, 10]) {
			const out = host.poll(T0 + minutes * MINUTE);
			expect(ids(out)).toEqual([]);
			// Not at(−900): `a` (at −300) was forgotten and would be emitted again.
			expect(out.queries).toEqual([first(at(-60), 100)]);
			expect(out.state).toStrictEqual(host.persisted);
		}
	});

	test('after raising the look-back the window widens as new versions are recorded, up to the full look-back', () => {
		const { api, host } = setup({ lookbackMs: MINUTE, maxPageSize: 100 });
		api.create('a', at(-300));
		api.create('b', at(0));
		expect(ids(host.poll(T0 + SECOND))).toEqual(['a', 'b']);
		host.options = { ...host.options, lookbackMs: 15 * MINUTE };

		api.create('c', at(300));
		let out = host.poll(T0 + 301 * SECOND);
		expect(ids(out)).toEqual(['c']);
		expect(out.queries).toEqual([first(at(-60), 100)]);
		// highWater − 15 min (at −600) is below the horizon: it stays, and `seen` keeps everything since it.
		expect(out.state).toMatchObject({ highWater: at(300), horizon: at(-60), seen: { b: at(0), c: at(300) } });

		// 5 min late: beyond the old look-back, within the new one, after the horizon: caught. An alert as late but
		// stamped before the horizon is not (the look-back in force when it was due was 1 min; `seen` cannot tell
		// whether it was emitted).
		api.create('d', at(100), {}, T0 + 400 * SECOND);
		api.create('beforeHorizon', at(-120), {}, T0 + 400 * SECOND);
		out = host.poll(T0 + 400 * SECOND);
		expect(ids(out)).toEqual(['d']);
		expect(out.queries).toEqual([first(at(-60), 100)]);
		expect(out.state).toMatchObject({ horizon: at(-60), seen: { b: at(0), d: at(100), c: at(300) } });

		// highWater − 15 min passes the horizon: from now on the full look-back applies, and `seen` is pruned to it.
		api.create('e', at(1000));
		out = host.poll(T0 + 1001 * SECOND);
		expect(ids(out)).toEqual(['e']);
		expect(out.queries).toEqual([first(at(-60), 100)]);
		expect(out.state).toMatchObject({ highWater: at(1000), horizon: at(100) });
		expect(out.state.seen).toEqual({ d: at(100), c: at(300), e: at(1000) });

		api.create('f', at(150), {}, T0 + 1050 * SECOND); // 15 min late, within the full look-back
		out = host.poll(T0 + 1050 * SECOND);
		expect(ids(out)).toEqual(['f']);
		expect(out.queries).toEqual([first(at(100), 100)]);
		expect(ids(host.poll(T0 + 1100 * SECOND))).toEqual([]);
	});

	test('lowering then raising the look-back emits nothing a second time either', () => {
		const { api, host } = setup({ lookbackMs: 15 * MINUTE, maxPageSize: 100 });
		api.create('a', at(-300));
		api.create('b', at(0));
		expect(ids(host.poll(T0 + SECOND))).toEqual(['a', 'b']);
		expect(host.memory).toMatchObject({ horizon: at(-900), seen: { a: at(-300), b: at(0) } });
		host.options = { ...host.options, lookbackMs: MINUTE };
		let out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.state).toMatchObject({ horizon: at(-60), seen: { b: at(0) } });
		host.options = { ...host.options, lookbackMs: 15 * MINUTE };
		for (const minutes of [2, 3, 10]) {
			out = host.poll(T0 + minutes * MINUTE);
			expect(ids(out)).toEqual([]);
			expect(out.queries).toEqual([first(at(-60), 100)]);
			expect(out.state).toMatchObject({ horizon: at(-60), seen: { b: at(0) } });
		}
	});

	test('lowering the look-back takes effect at once (scan and pruning)', () => {
		const { api, host } = setup({ lookbackMs: 15 * MINUTE, maxPageSize: 100 });
		api.create('a', at(-300));
		api.create('b', at(0));
		expect(ids(host.poll(T0 + SECOND))).toEqual(['a', 'b']);
		expect(host.memory?.seen).toEqual({ a: at(-300), b: at(0) });
		host.options = { ...host.options, lookbackMs: MINUTE };
		const out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toEqual([first(at(-60), 100)]);
		expect(out.state).toMatchObject({ horizon: at(-60), seen: { b: at(0) } });
		expect(out.state).not.toHaveProperty('lookbackMs');
		expect(ids(host.poll(T0 + 2 * MINUTE))).toEqual([]);
	});

	// Toggling "trigger on updates" (documents the behaviour): the new cursor starts at the old highWater (inclusive,
	// no look-back: the horizon is set to it) with empty `seen` and `known`. Consequences: an alert whose
	// lastUpdateTime equals the old highWater is emitted again, and updates of alerts emitted before the toggle are
	// typed 'new' (nothing remembers them). Versions before the old highWater are never read by the new cursor, not
	// even by later polls' look-back.
	test('toggling "trigger on updates" keeps the position (from = old highWater, no look-back) and drops the per-field memory', () => {
		const { api, host } = setup({ triggerOnUpdates: false, maxPageSize: 100 });
		api.create('a', at(0));
		api.create('c', at(1));
		api.create('b', at(10));
		expect(ids(host.poll(T0 + MINUTE))).toEqual(['a', 'c', 'b']);
		expect(host.memory).toMatchObject({ highWater: at(10), horizon: at(-890) });
		api.update('a', at(20), { status: 'InProgress' });
		api.update('c', at(5)); // before the old highWater: not seen by the new cursor
		host.options = scanOptions({ triggerOnUpdates: true, maxPageSize: 100 });
		let out = host.poll(T0 + 2 * MINUTE);
		expect(out.queries).toEqual([first(at(10), 100)]);
		expect(changes(out)).toEqual([
			{ type: 'new', version: at(10) },
			{ type: 'new', version: at(20) },
		]);
		expect(ids(out)).toEqual(['b', 'a']);
		expect(out.state).toStrictEqual({
			version: 1,
			cursorField: 'lastUpdateTime',
			since: FLOOR,
			highWater: at(20),
			horizon: at(10),
			seen: { b: at(10), a: at(20) },
			known: [
				['b', at(10), DEFAULT_SNAPSHOT],
				['a', at(20), { ...DEFAULT_SNAPSHOT, status: 'InProgress' }],
			],
		});

		// The horizon keeps later polls at the old highWater too: c@5 is not emitted by a later look-back.
		out = host.poll(T0 + 3 * MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toEqual([first(at(10), 100)]);

		// And back: the creation-time cursor starts at the lastUpdateTime highWater (a, b, c are not emitted again).
		host.options = scanOptions({ triggerOnUpdates: false, maxPageSize: 100 });
		api.create('n', at(200));
		out = host.poll(T0 + 4 * MINUTE);
		expect(out.queries).toEqual([first(at(20), 100)]);
		expect(ids(out)).toEqual(['n']);
		expect(out.state).toMatchObject({ cursorField: 'alertCreationTime', highWater: at(200), horizon: at(20), seen: { n: at(200) } });
		expect(out.state).not.toHaveProperty('known');
	});
});

/**
 * States written before the horizon was stored carry `lookbackMs` (the look-back `seen` was pruned with) or, older
 * still, neither. They are read as horizon = highWater − stored look-back (or − the configured one when none is
 * stored), and the next commit stores the horizon and drops `lookbackMs`.
 */
describe('migration of states stored without a horizon', () => {
	const legacy = (extra: Partial<CursorState>): CursorState => ({
		version: 1,
		cursorField: 'alertCreationTime',
		since: FLOOR,
		highWater: at(0),
		...extra,
	}) as CursorState;

	/** `a` (at −300) and `b` (at 0) were emitted under the legacy state. */
	function migrate(lookbackMs: number, state: CursorState): { api: FakeAlertApi; host: TriggerHost } {
		const s = setup({ lookbackMs, maxPageSize: 100 });
		s.api.create('a', at(-300));
		s.api.create('b', at(0));
		s.host.memory = state;
		s.host.persisted = JSON.parse(JSON.stringify(state)) as CursorState;
		return s;
	}

	test.each([
		// [case, stored lookbackMs, configured look-back, the horizon and so `from`]; `seen` as pruned with the stored one.
		['a smaller stored look-back (the configured one was raised)', MINUTE, 15 * MINUTE, at(-60)],
		['a larger stored look-back (the configured one was lowered)', 15 * MINUTE, MINUTE, at(-60)],
		['the same look-back', 15 * MINUTE, 15 * MINUTE, at(-900)],
		['no stored look-back (oldest format: pruned with the configured one)', undefined, 15 * MINUTE, at(-900)],
		['no stored look-back, configured 1 min', undefined, MINUTE, at(-60)],
	] as const)('%s: horizon = highWater − stored look-back; nothing emitted twice', (_, stored, configured, from) => {
		const storedHorizon = subtractMs(at(0), stored ?? configured);
		const seen = Object.fromEntries(
			[['a', at(-300)], ['b', at(0)]].filter(([, v]) => v >= storedHorizon),
		) as Record<string, string>;
		const { host } = migrate(configured, legacy({ ...(stored === undefined ? {} : { lookbackMs: stored }), seen }));
		const out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toEqual([first(from, 100)]);
		expect(out.state).toStrictEqual({
			version: 1,
			cursorField: 'alertCreationTime',
			since: FLOOR,
			highWater: at(0),
			horizon: from,
			seen: Object.fromEntries(Object.entries(seen).filter(([, v]) => v >= from)),
		});
		for (const minutes of [2, 20]) {
			const later = host.poll(T0 + minutes * MINUTE);
			expect(ids(later)).toEqual([]);
			expect(later.queries).toEqual([first(from, 100)]);
		}
	});

	test('a new alert after the migration is emitted once, and the horizon then moves as usual', () => {
		const { api, host } = migrate(15 * MINUTE, legacy({ lookbackMs: MINUTE, seen: { b: at(0) } }));
		api.create('c', at(30));
		let out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual(['c']);
		expect(out.queries).toEqual([first(at(-60), 100)]);
		expect(out.state).toStrictEqual({
			version: 1,
			cursorField: 'alertCreationTime',
			since: FLOOR,
			highWater: at(30),
			horizon: at(-60),
			seen: { b: at(0), c: at(30) },
		});
		expect(host.persisted).toStrictEqual(out.state);
		api.create('d', at(1000));
		out = host.poll(T0 + 1001 * SECOND);
		expect(ids(out)).toEqual(['d']);
		expect(out.state).toMatchObject({ horizon: at(100), seen: { d: at(1000) } });
	});

	test('a legacy state of the other cursor field resumes at its highWater (its lookbackMs is irrelevant)', () => {
		const { api, host } = migrate(15 * MINUTE, legacy({ cursorField: 'lastUpdateTime', lookbackMs: MINUTE, seen: { b: at(0) } }));
		api.create('c', at(30));
		const out = host.poll(T0 + MINUTE);
		expect(out.queries).toEqual([first(at(0), 100)]);
		// b is at the old highWater exactly: emitted again, as on any toggle.
		expect(ids(out)).toEqual(['b', 'c']);
		expect(out.state).toStrictEqual({
			version: 1,
			cursorField: 'alertCreationTime',
			since: FLOOR,
			highWater: at(30),
			horizon: at(0),
			seen: { b: at(0), c: at(30) },
		});
	});

	test('a legacy state without highWater scans from the floor and stores a horizon once it has one', () => {
		const { host } = migrate(15 * MINUTE, { version: 1, cursorField: 'alertCreationTime', since: FLOOR, lookbackMs: MINUTE, seen: {} });
		const out = host.poll(T0 + MINUTE);
		expect(out.queries).toEqual([first(FLOOR, 100)]);
		expect(ids(out)).toEqual(['a', 'b']);
		expect(out.state).toStrictEqual({
			version: 1,
			cursorField: 'alertCreationTime',
			since: FLOOR,
			highWater: at(0),
			horizon: at(-900),
			seen: { a: at(-300), b: at(0) },
		});
	});
});

/**
 * Alerts without an id (Defender always sends one; a malformed source might not). They cannot be de-duplicated,
 * so they are read but never emitted; they must not stall the scan nor hide the alerts after them.
 */
describe.each(SERVER_ORDERS)('alerts without ids (server %s)', (order) => {
	type Raw = Record<string, unknown>;

	/**
	 * A server for lists the fake cannot hold (alerts without an id): the page's time window; sorted by (cursor, id),
	 * missing ids first, when it sorts and `$orderby` was asked, else newest first; a rejected `$orderby` reported to
	 * the scan as poll.ts does.
	 */
	function serve(list: Raw[], query: PageQuery, scan: CursorScan): Raw[] {
		if (query.ordered && order === 'rejectsOrderby') scan.rejectOrder('400');
		const idOf = (a: Raw): string => (typeof a.id === 'string' ? a.id : '');
		const sorted = list
			.filter((a) => inWindow(a.alertCreationTime as string, query))
			.sort((a, b) => compareKeys(a.alertCreationTime as string, idOf(a), b.alertCreationTime as string, idOf(b)));
		if (!(query.ordered && order === 'ordered')) sorted.reverse();
		return sorted.slice(query.skip, query.skip + query.top);
	}

	function scanList(list: Raw[], previous?: CursorState) {
		const options = { ...scanOptions({ triggerOnUpdates: false, maxPageSize: 2 }), now: at(60) };
		const scan = new CursorScan(previous, options, FLOOR);
		const queries: PageQuery[] = [];
		for (let query = scan.nextQuery(); query; query = scan.nextQuery()) {
			queries.push(query);
			if (queries.length > 200) throw new Error(`runaway scan: ${JSON.stringify(queries.slice(-3))}`);
			scan.accept(serve(list, query, scan));
		}
		expect(scan.complete).toBe(true);
		return { scan, queries, ids: scan.emissions.map((e) => e.alert.id), state: scan.commit() };
	}

	/** Three polls of an unchanging list: what each emitted. */
	function threePolls(list: Raw[]): unknown[][] {
		let state: CursorState | undefined;
		const emitted: unknown[][] = [];
		for (let poll = 0; poll < 3; poll++) {
			const out = scanList(list, state);
			emitted.push(out.ids);
			state = out.state;
		}
		return emitted;
	}

	test.each([undefined, ''])('a page filled by alerts without ids (id %p) neither stalls the scan nor hides the alerts after it', (id) => {
		const idless = (): Raw => ({ ...(id === undefined ? {} : { id }), alertCreationTime: at(1) });
		const list = [idless(), idless(), idless(), { id: 'y', alertCreationTime: at(3) }];
		const out = scanList(list);
		expect(out.ids).toEqual(['y']);
		// The id-less alerts are read (once each, as the instant is read alone) and move nothing.
		expect(out.scan.stats).toMatchObject({ emitted: 1, alreadyEmitted: 0 });
		expect(out.state).toMatchObject({ highWater: at(3), seen: { y: at(3) } });
		if (order === 'ordered') {
			expect(out.queries).toEqual([first(FLOOR, 2), ge(FLOOR, 2, at(1)), ge(at(1), 2), eq(at(1), 0, 2), eq(at(1), 2, 2), ge(tickAfter(at(1)), 2)]);
			expect(out.scan.stats.read).toBe(4);
		}
		expect(threePolls(list)).toEqual([['y'], [], []]);
	});

	test('alerts with ids among id-less ones at the same instants are each emitted once', () => {
		const list = [
			{ id: 'x', alertCreationTime: at(1) },
			{ alertCreationTime: at(2) },
			{ id: 'a', alertCreationTime: at(2) },
			{ alertCreationTime: at(3) },
			{ id: 'y', alertCreationTime: at(3) },
			{ id: 'z', alertCreationTime: at(4) },
		];
		expect(threePolls(list)).toEqual([['x', 'a', 'y', 'z'], [], []]);
	});
});

/**
 * Mutations between two page requests of ONE poll. What the module guarantees, whatever the server's order:
 *  - a change to an alert already read cannot shift later alerts out of reach: every request selects a time
 *    window, and `$skip` is only used inside one instant;
 *  - an alert updated after it was read is read again at its new version in the same poll (emitted twice, with
 *    increasing versions — both versions really existed);
 *  - an alert arriving late at the instant the scan goes on from is read (a sorted page is continued `ge` its last
 *    instant, skipping by id only the alerts read there), by this poll or by the next poll's look-back.
 * The changes are made before the first request after the page that read the alert concerned, so that on the
 * servers that do not sort they too fall between the pages that matter.
 */
describe.each(SERVER_ORDERS)('mutations between two page requests of one poll (server %s)', (order) => {
	/** Runs `change` once, before the first request after a page holding the alert `id`. */
	function after(id: string, change: () => void): PollHooks {
		let done = false;
		return {
			beforeRequest: (_n, pages) => {
				if (done || !pages.some((page) => page.some((alert) => alert.id === id))) return;
				done = true;
				change();
			},
		};
	}

	test('an alert read leaving the filter does not shift the next page (pure $skip paging would lose c)', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { filter: { statuses: ['New'] }, order });
		for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) api.create(id, at(i + 1));
		const out = host.poll(T0 + 10 * SECOND, after('a', () => api.update('a', at(5), { status: 'Resolved' })));
		if (order === 'ordered') {
			expect(ids(out)).toEqual(['a', 'b', 'c', 'd']);
			expect(out.queries).toEqual([first(FLOOR, 2), ge(at(2), 2), ge(at(3), 2), ge(at(4), 2)]);
		} else {
			// The page that held a may have been a full answer, split rather than processed: then a no longer matched
			// when its window was read. b, c and d are read in any case.
			expect(ids(out).filter((id) => id !== 'a')).toEqual(['b', 'c', 'd']);
		}
		expect(ids(host.poll(T0 + 20 * SECOND))).toEqual([]);
	});

	test('an alert arriving at the instant the scan goes on from, with a smaller id, is read once', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order });
		api.create('x', at(0));
		for (const id of ['b', 'c']) api.create(id, at(1));
		api.create('d', at(2));
		const out = host.poll(T0 + 10 * SECOND, after('b', () => api.create('a', at(1), {}, T0)));
		const next = host.poll(T0 + 20 * SECOND);
		expect([...ids(out), ...ids(next)].sort()).toEqual(['a', 'b', 'c', 'd', 'x']);
		expect(ids(out)).toHaveLength(new Set(ids(out)).size);
		if (order === 'ordered') {
			// [x, b] is trusted: the scan goes on from at(1), where b was read. [a, b] holds one instant: at(1) is read
			// alone (newest first: c, b, a), b skipped as read, then d. Keyset paging left a to the next poll.
			expect(ids(out)).toEqual(['x', 'b', 'a', 'c', 'd']);
			expect(out.queries).toEqual([first(FLOOR, 2), ge(at(1), 2), eq(at(1), 0, 2), eq(at(1), 2, 2), ge(tickAfter(at(1)), 2)]);
			expect(out.scan.stats.alreadyEmitted).toBe(0);
			expect(ids(next)).toEqual([]);
		}
	});

	test('updates on: an alert updated after it was read is emitted again at its new version in the same poll', () => {
		const { api, host } = setup({ triggerOnUpdates: true, maxPageSize: 2 }, { order });
		for (const [i, id] of ['a', 'b', 'c'].entries()) api.create(id, at(i + 1));
		const out = host.poll(T0 + 10 * SECOND, after('a', () => api.update('a', at(5), { status: 'InProgress' })));
		expectOldestFirst(out);
		expect(ids(host.poll(T0 + 20 * SECOND))).toEqual([]);
		if (order !== 'ordered') {
			// On a server that does not sort, the page that held a may have been a full answer that was split, not
			// processed: then a@1 is gone before the scan processed it, and only a@5 is emitted.
			expect(versions(out).filter((v) => v !== `a@${at(1)}`)).toEqual([`b@${at(2)}`, `c@${at(3)}`, `a@${at(5)}`]);
			return;
		}
		expect(versions(out)).toEqual([`a@${at(1)}`, `b@${at(2)}`, `c@${at(3)}`, `a@${at(5)}`]);
		expect(out.emissions[3].change).toEqual({
			type: 'update',
			version: at(5),
			changedFields: ['status'],
			previous: { status: 'New' },
		});
		expect(out.queries).toEqual([first(FLOOR, 2), ge(at(2), 2), ge(at(3), 2), ge(at(5), 2)]);
	});

	// Was the known limitation of skip paging (`from = tail timestamp, skip = alerts read at it` over-counts when one
	// of them leaves): a sorted page is now continued `ge` its last instant, skipping by id the alerts read there, so
	// one leaving it changes nothing. Repro: x just before a, b, c (2 h ago), d a minute ago; page size 2; after
	// [x, a] a moves to T−30 s (updated, or no longer matching); the scan reads b and c from T−2h on.
	test.each([true, false])(
		'an alert read at the instant the scan goes on from that leaves the results does not make an unread tie get lost (triggerOnUpdates=%s)',
		(triggerOnUpdates) => {
			const { api, host } = setup({ triggerOnUpdates, maxPageSize: 2 }, { filter: { statuses: ['New'] }, order });
			api.create('x', at(-7201));
			for (const id of ['a', 'b', 'c']) api.create(id, at(-7200));
			api.create('d', at(-60));
			const moveA = (): void =>
				triggerOnUpdates ? api.update('a', at(-30), { title: 'edited' }) : api.update('a', at(-30), { status: 'Resolved' });
			const out = host.poll(T0, after('a', moveA));
			const poll = versions(out);
			const later = [1, 2, 3].flatMap((i) => versions(host.poll(T0 + i * MINUTE)));
			// b and c are emitted at all (highWater moves 2 h past them: a later poll cannot catch them) …
			expect([...poll, ...later]).toEqual(expect.arrayContaining([`b@${at(-7200)}`, `c@${at(-7200)}`]));
			// … by this poll, in order, once. Updates on: a's new version (still matching) is read later in the same
			// poll; off: a no longer matches. a@−7200 is emitted when the page that read it was processed.
			const expected = [`x@${at(-7201)}`, `a@${at(-7200)}`, `b@${at(-7200)}`, `c@${at(-7200)}`, `d@${at(-60)}`, ...(triggerOnUpdates ? [`a@${at(-30)}`] : [])];
			if (order === 'ordered') expect(poll).toEqual(expected);
			else expect(poll).toEqual(expected.filter((v) => v !== `a@${at(-7200)}` || poll.includes(v)));
			expect(later).toEqual([]);
		},
	);

	// KNOWN LIMITATION of reading one instant with $skip (the only place $skip is used): the alerts of an instant
	// holding more than a page are read in the server's own order, `$skip` = alerts of that instant read so far. If
	// one already read leaves the instant between two of these pages (updated: moves to a newer lastUpdateTime; or
	// no longer matching the filter), the skip over-counts and one UNREAD alert of the instant is skipped; when the
	// scan then moves highWater more than the look-back beyond the instant, no later poll reads it: lost. Repro
	// (page size 2, filter status New): a…e at T−2h, z at T−1 min; `eq T−2h` returns [e, d]; d then moves to T−30 s
	// (or is resolved); `eq T−2h, $skip 2` returns [b, a] (the instant now holds a, b, c, e): c is never read. Needs
	// more alerts in one 100-ns instant than a page (1,000 or 10,000 on Defender) and a change in between, so rare.
	test.failing.each([true, false])(
		'an alert read inside an instant read with $skip that leaves it does not make an unread one get lost (triggerOnUpdates=%s)',
		(triggerOnUpdates) => {
			const { api, host } = setup({ triggerOnUpdates, maxPageSize: 2 }, { filter: { statuses: ['New'] }, order });
			for (const id of ['a', 'b', 'c', 'd', 'e']) api.create(id, at(-7200));
			api.create('z', at(-60));
			const moveD = (): void =>
				triggerOnUpdates ? api.update('d', at(-30), { title: 'edited' }) : api.update('d', at(-30), { status: 'Resolved' });
			let moved = false;
			const out = host.poll(T0, {
				beforeRequest: () => {
					// After the first page of the instant read alone (the last request sent was `… eq …` without $skip).
					const last = api.requests[api.requests.length - 1];
					if (moved || !last?.filter.includes(' eq ') || last.skip !== undefined) return;
					moved = true;
					moveD();
				},
			});
			expect(moved).toBe(true);
			const all = [...versions(out), ...[1, 2, 3].flatMap((i) => versions(host.poll(T0 + i * MINUTE)))];
			expect(all).toContain(`c@${at(-7200)}`);
		},
	);
});

describe('a server that ignores $orderby', () => {
	// The reproduction: Defender answered newest first whatever $orderby said; keyset paging then emitted only
	// g5 and g4, and every later poll read the same newest page again, so g1–g3 were never emitted.
	test.each([1000, 2])('pages of 2, five alerts, three polls: all five are emitted once, oldest first (maxAlerts %d)', (maxAlerts) => {
		const { api, host } = setup({ maxPageSize: 2, maxAlerts }, { order: 'newestFirst' });
		for (let i = 1; i <= 5; i++) api.create(`g${i}`, at(-60 + i * 10));
		const polls = [1, 2, 3].map((i) => host.poll(T0 + i * MINUTE));
		expect(polls.map(ids)).toEqual(maxAlerts === 2 ? [['g1', 'g2'], ['g3', 'g4'], ['g5']] : [['g1', 'g2', 'g3', 'g4', 'g5'], [], []]);
		polls.forEach(expectOldestFirst);
		for (const out of polls) expectOrder('newestFirst', out.state);
		// Said once, by the poll that found it; $orderby was sent once: the first answer (two instants, newest first)
		// showed that the server does not sort.
		expect(polls.map((out) => out.scan.orderChange)).toEqual(['the API returned a page out of the requested $orderby order', undefined, undefined]);
		expect(api.requests.map((r) => r.orderby !== undefined)).toEqual(api.requests.map((_, i) => i === 0));
	});

	// A newest-first answer holding a single instant looks sorted. Trusted, it would move the scan to that instant and
	// skip everything older: here o1.
	test('a full sorted-looking page of one instant is not trusted: the older alerts before it are read first', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order: 'newestFirst' });
		api.create('o1', at(0));
		for (const id of ['n1', 'n2', 'n3']) api.create(id, at(5));
		const out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual(['o1', 'n1', 'n2', 'n3']);
		expect(out.queries).toEqual([
			first(FLOOR, 2), // [n3, n2]: one instant, newest first or not
			ge(FLOOR, 2, at(5)), // the window before it: [o1], complete
			ge(at(5), 2), // [n3, n2] again: the instant at the position, read alone
			eq(at(5), 0, 2),
			eq(at(5), 2, 2),
			ge(tickAfter(at(5)), 2),
		]);
		// No answer showed two instants out of order: the scan still asks for $orderby.
		expectOrder('newestFirst', out.state, false);
	});
});

describe('a server that rejects $orderby', () => {
	test('the first request asks for it; after the 400 the same request is sent without it, and so is every later one, across polls', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order: 'rejectsOrderby' });
		for (let i = 1; i <= 5; i++) api.create(`g${i}`, at(-60 + i * 10));
		let out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual(['g1', 'g2', 'g3', 'g4', 'g5']);
		expect(api.requests.slice(0, 2)).toEqual([
			{ filter: `alertCreationTime ge ${FLOOR}`, orderby: 'alertCreationTime asc', top: 2 },
			{ filter: `alertCreationTime ge ${FLOOR}`, top: 2 },
		]);
		expect(api.requests.slice(1).filter((r) => r.orderby !== undefined)).toEqual([]);
		// One query, sent twice: rejectOrder marks it as sent without $orderby, and the retry's answer is processed.
		expect(api.requests).toHaveLength(out.queries.length + 1);
		expect(out.queries.filter((q) => q.ordered)).toEqual([]);
		expect(out.scan.orderChange).toBe(`the API rejected $orderby (The query option '$orderby' is not supported.)`);
		expect(out.state).toMatchObject({ order: 'none', orderReason: out.scan.orderChange });

		const sent = api.requests.length;
		api.create('g6', at(70));
		for (const [i, expected] of [[2, ['g6']], [3, []]] as const) {
			out = host.poll(T0 + i * MINUTE);
			expect(ids(out)).toEqual(expected);
			expect(out.scan.order).toBe('none');
			expect(out.scan.orderChange).toBeUndefined(); // said once
			expect(out.state).toMatchObject({ order: 'none', orderReason: `the API rejected $orderby (The query option '$orderby' is not supported.)` });
		}
		expect(api.requests.slice(sent).filter((r) => r.orderby !== undefined)).toEqual([]);
		// The restored state (persisted with g6) still says so after a restart.
		host.restart();
		out = host.poll(T0 + 4 * MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.queries.filter((q) => q.ordered)).toEqual([]);
	});
});

describe('an instant holding more alerts than a page', () => {
	const t = at(0, 7);
	function instant(maxSkip?: number): { api: FakeAlertApi; host: Host } {
		const s = setup({ maxPageSize: 2, ...(maxSkip === undefined ? {} : { maxSkip }) });
		for (let i = 0; i < 5; i++) s.api.create(`a${i}`, t);
		s.api.create('y', at(1));
		return s;
	}
	const upToInstant = [first(FLOOR, 2), ge(FLOOR, 2, t), ge(t, 2)];

	test.each([undefined, 4])('is read alone, `eq t` with $skip, to its end (maxSkip %p)', (maxSkip) => {
		const { api, host } = instant(maxSkip);
		const out = host.poll(T0 + SECOND);
		// Read in the server's own order (here newest first), emitted in id order once the instant is complete.
		expect(ids(out)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'y']);
		expect(out.queries).toEqual([...upToInstant, eq(t, 0, 2), eq(t, 2, 2), eq(t, 4, 2), ge(tickAfter(t), 2)]);
		expect(api.requests.filter((r) => r.filter.includes(' eq ')).map((r) => r.skip)).toEqual([undefined, 2, 4]);
		expect(out.scan.stats.instantsCut).toBe(0);
	});

	// The API's $skip cap (Graph: 500): the last allowed offset still reaches one page further (overlapping what was
	// read, each alert processed once); a full page there may hide more, so the instant is counted as cut.
	test.each([
		[3, [0, 2, 3], ['a0', 'a1', 'a2', 'a3', 'a4', 'y']],
		[2, [0, 2], ['a1', 'a2', 'a3', 'a4', 'y']],
	])('with maxSkip %d: $skip %j, the rest of the instant left out, counted in instantsCut, and the scan goes on', (maxSkip, skips, emitted) => {
		const { api, host } = instant(maxSkip);
		let out = host.poll(T0 + SECOND);
		// In the server's order (newest first) a0 comes last: $skip 4 would be past the API's cap.
		expect(ids(out)).toEqual(emitted);
		expect(out.queries).toEqual([...upToInstant, ...skips.map((skip) => eq(t, skip, 2)), ge(tickAfter(t), 2)]);
		expect(out.scan.stats).toMatchObject({ instantsCut: 1, emitted: emitted.length, stoppedAtLimit: false });
		// Each poll whose window holds the instant meets the cap again (and says so); nothing is emitted twice.
		out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual([]);
		expect(out.scan.stats.instantsCut).toBe(1);
	});
});

describe('identity: the source and tenant a saved position belongs to', () => {
	const mde = { source: 'Microsoft Defender for Endpoint', tenant: 'tenant-1' };

	function polled(): { api: FakeAlertApi; host: Host; saved: CursorState } {
		const s = setup({ identity: mde, maxPageSize: 100 });
		s.api.create('a', at(-60));
		s.api.create('b', at(-30));
		const out = s.host.poll(T0);
		expect(ids(out)).toEqual(['a', 'b']);
		expect(out.scan.restarted).toBe(false);
		return { ...s, saved: out.state };
	}

	test('the committed state records them', () => {
		const { saved } = polled();
		expect(saved).toMatchObject({ ...mde, highWater: at(-30) });
		expect(continuesState(saved, mde)).toBe(true);
	});

	test.each([
		['another tenant', { ...mde, tenant: 'tenant-2' }],
		['another source', { ...mde, source: 'Microsoft Graph security alerts' }],
	])('a state saved for %s is not continued: the scan starts at the floor', (_, identity) => {
		const { api, host, saved } = polled();
		expect(continuesState(saved, identity)).toBe(false);
		host.options = { ...host.options, identity };
		api.create('c', at(30));
		const out = host.poll(T0 + MINUTE);
		expect(out.scan.restarted).toBe(true);
		expect(out.scan.from).toBe(FLOOR);
		expect(out.queries).toEqual([first(FLOOR, 100)]);
		expect(ids(out)).toEqual(['a', 'b', 'c']);
		expect(out.state).toMatchObject({ ...identity, since: FLOOR, highWater: at(30), seen: { a: at(-60), b: at(-30), c: at(30) } });
	});

	test('a state saved before source and tenant were recorded is continued, and records them from then on', () => {
		const { api, host, saved } = polled();
		const { source: _source, tenant: _tenant, ...legacy } = saved;
		expect(continuesState(legacy, mde)).toBe(true);
		host.memory = legacy;
		api.create('c', at(30));
		const out = host.poll(T0 + MINUTE);
		expect(out.scan.restarted).toBe(false);
		expect(out.queries).toEqual([first(at(-930), 100)]);
		expect(ids(out)).toEqual(['c']);
		expect(out.state).toMatchObject({ ...mde, highWater: at(30) });
	});

	test('continuesState: each recorded part must match; without an identity to compare, any saved state is continued', () => {
		const base: CursorState = { version: 1, cursorField: 'alertCreationTime', seen: {} };
		expect(continuesState(undefined, mde)).toBe(false);
		expect(continuesState(undefined, undefined)).toBe(false);
		expect(continuesState({ ...base, ...mde }, undefined)).toBe(true);
		expect(continuesState({ ...base, source: mde.source }, mde)).toBe(true);
		expect(continuesState({ ...base, tenant: 'tenant-2' }, mde)).toBe(false);
		expect(continuesState({ ...base, source: 'other' }, mde)).toBe(false);
	});
});

describe.each(SERVER_ORDERS)('stopping early: the poll ran out of time (server %s)', (order) => {
	/** A poll like pollOnce that, before each request, stops as poll.ts does once `stop(scan)` says so. */
	function pollStopping(api: FakeAlertApi, previous: CursorState | undefined, options: ScanOptions, nowMs: number, stop: (scan: CursorScan) => boolean) {
		const scan = new CursorScan(previous, { ...options, now: timestampFromMs(nowMs) }, FLOOR);
		const field = options.fields.cursor;
		for (let query = scan.nextQuery(), n = 0; query; query = scan.nextQuery(), n++) {
			if (n > 1000) throw new Error('runaway scan');
			if (stop(scan)) {
				scan.stopEarly();
				break;
			}
			const request = pageRequest(query, options);
			let page: Alert[];
			try {
				page = api.page(field, request, nowMs);
			} catch (error) {
				if (!(error instanceof OrderbyRejected)) throw error;
				const { orderby: _rejected, ...unordered } = request;
				page = api.page(field, unordered, nowMs);
				scan.rejectOrder(error.message);
			}
			scan.accept(page);
		}
		return { scan, emissions: scan.emissions, state: scan.commit() };
	}

	test('the committed state holds exactly what was processed; the next poll re-reads the look-back and emits the rest once', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order });
		const all = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'];
		const time = (i: number): string => at(-60 + i * 10);
		for (const [i, id] of all.entries()) api.create(id, time(i));
		const stopped = pollStopping(api, undefined, host.options, T0, (scan) => scan.emissions.length >= 2);
		expect(stopped.scan.complete).toBe(true);
		expect(stopped.scan.nextQuery()).toBeUndefined();
		expect(stopped.scan.stats).toMatchObject({ stoppedEarly: true, stoppedAtLimit: false });
		const done = ids(stopped);
		expect(done.length).toBeGreaterThanOrEqual(2);
		expect(done.length).toBeLessThan(all.length);
		expect(done).toEqual(all.slice(0, done.length));
		// Where processing stopped: highWater is the last alert processed — or, reading time windows, the end of the
		// (empty) stretch read after it, before the first alert not processed — and `seen` holds what was emitted.
		const last = time(done.length - 1);
		const highWater = stopped.state.highWater as string;
		if (order === 'ordered') expect(highWater).toBe(last);
		expect(highWater >= last && highWater < time(done.length)).toBe(true);
		expect(stopped.state.seen).toEqual(Object.fromEntries(done.map((id, i) => [id, time(i)])));
		if (order === 'ordered') {
			expect(ids(stopped)).toEqual(['a0', 'a1']);
			expect(stopped.state).not.toHaveProperty('windowMs');
		} else {
			// Unfinished: the width that fitted is kept for the next poll.
			expect(stopped.state.windowMs).toBeGreaterThan(0);
		}

		// The next poll starts behind it by the look-back (late alerts are still caught) and emits the rest once.
		host.memory = stopped.state;
		const next = host.poll(T0 + SECOND);
		expect(next.queries[0].from).toBe(maxTimestamp(subtractMs(highWater, 15 * MINUTE), FLOOR));
		expect(ids(next)).toEqual(all.slice(done.length));
		expect(next.scan.stats.stoppedEarly).toBe(false);
		expect(next.state).not.toHaveProperty('windowMs');
		const after = host.poll(T0 + 2 * SECOND);
		expect(ids(after)).toEqual([]);
		expect(after.queries[0].from).toBe(subtractMs(time(5), 15 * MINUTE));
	});

	test('an empty stretch crossed before stopping is not crossed again: the next poll starts behind its end', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order });
		// Nothing for a day after the floor, then six alerts.
		const all = ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'];
		const time = (i: number): string => at(-60 + i * 10);
		for (const [i, id] of all.entries()) api.create(id, time(i));
		let requests = 0;
		const stopped = pollStopping(api, undefined, host.options, T0, () => ++requests >= 3); // two requests
		const covered = stopped.state.highWater;
		if (ids(stopped).length === 0) {
			// Only empty windows were read: their end is kept, so the next poll does not begin at the floor again.
			expect(covered).toBeDefined();
			expect((covered as string) > FLOOR && (covered as string) < time(0)).toBe(true);
		}
		host.memory = stopped.state;
		const next = host.poll(T0 + SECOND);
		expect(next.queries[0].from >= FLOOR).toBe(true);
		if (covered) expect(next.queries[0].from).toBe(maxTimestamp(subtractMs(covered, 15 * MINUTE), FLOOR));
		expect([...ids(stopped), ...ids(next)]).toEqual(all);
	});

	test('stopEarly on a complete scan changes nothing', () => {
		const { api, host } = setup({ maxPageSize: 100 }, { order });
		api.create('a', at(0));
		const out = pollOnce(api, undefined, { ...host.options, now: timestampFromMs(T0 + SECOND) }, FLOOR, T0 + SECOND);
		out.scan.stopEarly();
		expect(out.scan.stats.stoppedEarly).toBe(false);
		expect(out.scan.commit()).toEqual(out.state);
	});

	// An early stop must not cost the look-back: (look-back 15 min, pages of 2) p0 … p3 at T−10, −5, −4, −1 min;
	// poll 1 at T stops after [p0, p1]; x at T−6 min becomes visible at T+1 min (7 min late); q at T+19 min. (A
	// design that resumed the next poll where the last one stopped lost x here.)
	test('control: without the early stop, the alert arriving late in the look-back is emitted by the next poll', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order });
		for (const [id, minutes] of [['p0', -10], ['p1', -5], ['p2', -4], ['p3', -1]] as const) api.create(id, ts(T0 + minutes * MINUTE));
		expect(ids(host.poll(T0))).toEqual(['p0', 'p1', 'p2', 'p3']);
		api.create('x', ts(T0 - 6 * MINUTE), {}, T0 + MINUTE);
		api.create('q', ts(T0 + 19 * MINUTE));
		expect(ids(host.poll(T0 + 20 * MINUTE))).toEqual(['x', 'q']);
	});

	test('an alert arriving late behind the point where a poll stopped early is still emitted', () => {
		const { api, host } = setup({ maxPageSize: 2 }, { order });
		for (const [id, minutes] of [['p0', -10], ['p1', -5], ['p2', -4], ['p3', -1]] as const) api.create(id, ts(T0 + minutes * MINUTE));
		const stopped = pollStopping(api, undefined, host.options, T0, (scan) => scan.emissions.length >= 2);
		expect(ids(stopped)).toEqual(['p0', 'p1']);
		host.memory = stopped.state;
		api.create('x', ts(T0 - 6 * MINUTE), {}, T0 + MINUTE);
		api.create('q', ts(T0 + 19 * MINUTE));
		const later = [20, 40, 60].flatMap((minutes) => ids(host.poll(T0 + minutes * MINUTE)));
		expect(later).toEqual(expect.arrayContaining(['p2', 'p3', 'q']));
		expect(later).toContain('x');
	});
});

describe.each(SERVER_ORDERS)('time windows across polls (server %s)', (order) => {
	test('the window width is kept only after an unfinished scan; an idle poll after a drained backlog is one request', () => {
		// 60 alerts a minute apart; the look-back (15 min) holds at most 16 of them: fewer than a page of 20.
		const { api, host } = setup({ maxAlerts: 25, maxPageSize: 20 }, { order });
		const id = (i: number): string => `b${String(i).padStart(2, '0')}`;
		const time = (i: number): string => ts(T0 - HOUR + i * MINUTE);
		for (let i = 0; i < 60; i++) api.create(id(i), time(i));
		const range = (lo: number, hi: number): string[] => Array.from({ length: hi - lo }, (_, k) => id(lo + k));

		let out = host.poll(T0);
		expect(ids(out)).toEqual(range(0, 25));
		expect(out.scan.stats.stoppedAtLimit).toBe(true);
		expectOrder(order, out.state);
		const windowMs = out.state.windowMs;
		if (order === 'ordered') expect(windowMs).toBeUndefined();
		else expect(windowMs).toBeGreaterThan(0);

		out = host.poll(T0 + SECOND);
		expect(ids(out)).toEqual(range(25, 50));
		if (windowMs !== undefined) {
			// The next poll starts with the width kept (open when it reaches the poll's clock).
			const end = timestampFromTicks(timestampToTicks(out.scan.from) + BigInt(windowMs) * BigInt(10_000));
			expect(out.queries[0].before).toBe(end < timestampFromMs(T0 + SECOND) ? end : undefined);
			expect(out.state.windowMs).toBeGreaterThan(0);
		}

		out = host.poll(T0 + 2 * SECOND);
		expect(ids(out)).toEqual(range(50, 60));
		expect(out.scan.stats.stoppedAtLimit).toBe(false);
		expect(out.state).not.toHaveProperty('windowMs');

		out = host.poll(T0 + 3 * SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.queries).toHaveLength(1);
		expect(out.queries[0].before).toBeUndefined();
		expect(out.scan.stats).toMatchObject({ read: 16, alreadyEmitted: 16 });
		expect(out.state).not.toHaveProperty('windowMs');
		expectOrder(order, out.state);
	});
});

// Without the poll's clock (`now`, optional in CursorOptions) the scan cannot tell when a window reaches the
// present: it leaves the window after a complete one open unless a full one is known ahead (it once grew empty
// windows 8 times wider forever).
test('without `now` in the options, a scan in time windows still ends (and emits every alert)', () => {
	const api = new FakeAlertApi({ order: 'newestFirst' });
	for (let i = 1; i <= 5; i++) api.create(`g${i}`, at(i * 10));
	const options = scanOptions({ triggerOnUpdates: false, maxPageSize: 2 });
	expect(options.now).toBeUndefined();
	expect(ids(pollOnce(api, undefined, options, FLOOR, T0 + MINUTE))).toEqual(['g1', 'g2', 'g3', 'g4', 'g5']);
});

describe('module hygiene', () => {
	function deepFreeze<T>(value: T): T {
		if (value && typeof value === 'object') {
			for (const v of Object.values(value as object)) deepFreeze(v);
			Object.freeze(value);
		}
		return value;
	}

	test('a scan never mutates the previous state (n8n hands over its live static data object)', () => {
		const { api, host } = setup({ triggerOnUpdates: true, changeMemory: 1, lookbackMs: MINUTE });
		api.create('a', at(0));
		api.create('b', at(1));
		host.poll(T0 + 2 * SECOND);
		const previous = deepFreeze(JSON.parse(JSON.stringify(host.memory)) as CursorState);
		const copy = JSON.stringify(previous);
		api.update('a', at(200), { title: 'x' });
		api.create('c', at(300));
		const options = { ...host.options, now: timestampFromMs(T0 + 400 * SECOND) };
		const out = pollOnce(api, previous, options, FLOOR, T0 + 400 * SECOND);
		expect(versions(out)).toEqual([`a@${at(200)}`, `c@${at(300)}`]);
		expect(JSON.stringify(previous)).toBe(copy);

		// A legacy state (lookbackMs, no horizon) is migrated into the new state, not in place.
		const { horizon: _horizon, ...rest } = JSON.parse(copy) as CursorState;
		const legacy = deepFreeze({ ...rest, lookbackMs: MINUTE } as CursorState);
		const legacyCopy = JSON.stringify(legacy);
		const migrated = pollOnce(api, legacy, options, FLOOR, T0 + 400 * SECOND);
		expect(versions(migrated)).toEqual(versions(out));
		expect(migrated.state).toStrictEqual(out.state);
		expect(JSON.stringify(legacy)).toBe(legacyCopy);

		// A state in time windows, with a width kept for the next poll.
		const windows = deepFreeze({ ...(JSON.parse(copy) as CursorState), order: 'none', orderReason: 'test', windowMs: 1000 } as CursorState);
		const windowsCopy = JSON.stringify(windows);
		expect(versions(pollOnce(api, windows, options, FLOOR, T0 + 400 * SECOND))).toEqual(versions(out));
		expect(JSON.stringify(windows)).toBe(windowsCopy);
	});

	test('the fake API serves only the requests poll.ts sends, and fails loudly on anything else', () => {
		const api = new FakeAlertApi();
		api.create('a', at(0));
		api.create("o'b", at(0));
		api.create('c', at(1));
		api.create('d', at(2));
		const page = (filter: string, orderby?: string, skip?: number): unknown[] =>
			api.page('alertCreationTime', { filter, ...(orderby ? { orderby } : {}), top: 5, ...(skip ? { skip } : {}) }, T0 + MINUTE).map((a) => a.id);
		const asc = 'alertCreationTime asc';
		expect(page(`alertCreationTime ge ${at(0)} and alertCreationTime lt ${at(2)}`, asc)).toEqual(['a', "o'b", 'c']);
		expect(page(`alertCreationTime gt ${at(0)}`, asc)).toEqual(['c', 'd']);
		// Without $orderby: newest first (ties by id descending), also inside one instant, with $skip.
		expect(page(`alertCreationTime ge ${at(0)}`)).toEqual(['d', 'c', "o'b", 'a']);
		expect(page(`alertCreationTime eq ${at(0)}`, undefined, 1)).toEqual(['a']);
		const bad: Array<[string, string?, number?]> = [
			[`alertCreationTime ge 2024-03-01T12:00:00Z`, asc], // not canonical
			[`lastUpdateTime ge ${at(0)}`, asc], // other field
			[`(alertCreationTime gt ${at(0)} or (alertCreationTime eq ${at(0)} and id gt 'a'))`, asc], // id comparison
			[`alertCreationTime lt ${at(1)}`], // no lower bound
			[`alertCreationTime eq ${at(0)} and alertCreationTime lt ${at(1)}`], // an instant is not a window
			[`alertCreationTime ge ${at(0)}`, 'alertCreationTime desc'],
			[`alertCreationTime ge ${at(0)}`, 'alertCreationTime asc,id asc'], // second sort key
			[`alertCreationTime ge ${at(0)}`, asc, 0], // $skip=0 is left out by poll.ts
		];
		for (const [filter, orderby, skip] of bad) {
			expect(() => api.page('alertCreationTime', { filter, orderby, top: 5, skip }, T0)).toThrow(/unsupported|invalid/);
		}
	});

	test.each(SERVER_ORDERS)('the fake API answers $orderby as its order profile says (server %s)', (order) => {
		const api = new FakeAlertApi({ order });
		for (const [i, id] of ['a', 'b', 'c'].entries()) api.create(id, at(i));
		const request = { filter: `alertCreationTime ge ${at(0)}`, orderby: 'alertCreationTime asc', top: 5 };
		if (order === 'rejectsOrderby') {
			expect(() => api.page('alertCreationTime', request, T0 + MINUTE)).toThrow(OrderbyRejected);
		} else {
			expect(api.page('alertCreationTime', request, T0 + MINUTE).map((a) => a.id)).toEqual(order === 'ordered' ? ['a', 'b', 'c'] : ['c', 'b', 'a']);
		}
		const { orderby: _orderby, ...unordered } = request;
		expect(api.page('alertCreationTime', unordered, T0 + MINUTE).map((a) => a.id)).toEqual(['c', 'b', 'a']);
	});

	test('the committed state survives a JSON round trip, and a finished scan ignores further pages', () => {
		const { api } = setup();
		api.create('a', at(0));
		const options = scanOptions({ triggerOnUpdates: true });
		const scan = new CursorScan(undefined, options, FLOOR);
		expect(scan.accept(api.page('lastUpdateTime', pageRequest(scan.nextQuery() as PageQuery, options), T0))).toBe(true);
		expect(scan.complete).toBe(true);
		expect(scan.nextQuery()).toBeUndefined();
		expect(scan.accept([{ id: 'z', lastUpdateTime: at(1) }])).toBe(true);
		expect(scan.emissions).toHaveLength(1);
		const state = scan.commit();
		expect(JSON.parse(JSON.stringify(state))).toEqual(state);
		expect(state).not.toHaveProperty('lookbackMs');
		expect(state.horizon).toBe(subtractMs(at(0), 15 * MINUTE));
		// A scan that read nothing has no highWater, hence no horizon, and keeps `seen` empty. (The page answers the
		// scan's first query: its size is decided there, and a page shorter than it ends the scan.)
		const empty = new CursorScan(undefined, options, FLOOR);
		expect(empty.nextQuery()).toEqual(first(FLOOR, 1000));
		expect(empty.accept([])).toBe(true);
		expect(empty.commit()).toMatchObject({ highWater: undefined, horizon: undefined, seen: {} });
	});
});
