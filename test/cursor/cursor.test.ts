/**
 * AlertScan scenario by scenario: every poll's emitted ids (and versions) and the exact page queries it issued.
 * Polls run through TriggerHost, which pages exactly like poll.ts and keeps static data the way n8n does.
 *
 * Scenarios whose pages depend on the paging mode run for both: keyset (the default, `paging` undefined) and
 * 'skip' (kept for sources that cannot compare ids). Their expected continuation pages are written once, as
 * "after the alert `lastId` at `t`, the `readAtT`-th read at `t`", and `next()` turns that into either mode's query.
 */
import { AlertScan, type ChangeInfo, type CursorState, type PageQuery } from '../../nodes/MicrosoftDefender/trigger/cursor';
import { subtractMs } from '../../nodes/MicrosoftDefender/trigger/timestamps';
import { compareKeys, DAY, FakeAlertApi, HOUR, MINUTE, SECOND, ts, type AlertFilter } from './fakeAlertApi';
import {
	ids,
	PAGING_MODES,
	pageRequest,
	PollFailure,
	pollOnce,
	scanOptions,
	TriggerHost,
	versions,
	type Paging,
	type ScanOptions,
} from './harness';

const T0 = Date.UTC(2024, 2, 1, 12);
/** `T0 + seconds`, plus `ticks` 100-ns ticks. */
const at = (seconds: number, ticks = 0): string => ts(T0 + seconds * SECOND, ticks);
const FLOOR = ts(T0 - DAY);
/** The first page of a scan (both modes): `cursor ge from`. */
const first = (from: string, top: number): PageQuery => ({ from, skip: 0, top });
/**
 * The page after one whose last alert is `lastId` at `t`, when `readAtT` alerts at `t` have been read so far:
 * keyset `(cursor gt t or (cursor eq t and id gt lastId))`; skip `cursor ge t` skipping the `readAtT` read.
 */
function next(paging: Paging, t: string, lastId: string, readAtT: number, top: number): PageQuery {
	return paging === 'skip' ? { from: t, skip: readAtT, top } : { from: t, after: { id: lastId }, skip: 0, top };
}

function setup(
	options: Partial<Omit<ScanOptions, 'fields'>> & { triggerOnUpdates?: boolean } = {},
	api: { filter?: AlertFilter; render?: 'canonical' | 'trimmed' } = {},
	floor: (nowMs: number) => string = () => FLOOR,
): { api: FakeAlertApi; host: TriggerHost } {
	const fake = new FakeAlertApi(api);
	return { api: fake, host: new TriggerHost(fake, scanOptions({ triggerOnUpdates: false, ...options }), floor) };
}

/** Tracked fields of a freshly created alert, as the change memory stores them (lists as their length). */
const DEFAULT_SNAPSHOT = { status: 'New', severity: 'High', title: 'Suspicious activity', assignedTo: null, comments: 0 };

const changes = (outcome: { emissions: Array<{ change: ChangeInfo }> }): ChangeInfo[] => outcome.emissions.map((e) => e.change);

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

describe('alerts sharing one timestamp', () => {
	test.each(PAGING_MODES)(
		'ties spanning page boundaries are read once each, in id order (paging=%s: after the last (timestamp, id) read, or skipping the ties read)',
		(paging) => {
			const { api, host } = setup({ paging, maxPageSize: 2 });
			api.create('z', at(-1));
			for (const id of ['e', 'a', 'd', 'b', 'c']) api.create(id, at(0, 5));
			api.create('y', at(1));
			const tiePages = [next(paging, at(0, 5), 'a', 1, 2), next(paging, at(0, 5), 'c', 3, 2), next(paging, at(0, 5), 'e', 5, 2)];

			let out = host.poll(T0 + 2 * SECOND);
			expect(ids(out)).toEqual(['z', 'a', 'b', 'c', 'd', 'e', 'y']);
			expect(out.queries).toEqual([first(FLOOR, 2), ...tiePages]);
			expect(out.pages.map((page) => page.map((alert) => alert.id))).toEqual([['z', 'a'], ['b', 'c'], ['d', 'e'], ['y']]);

			// Nothing new, but the look-back window (7 alerts) is larger than a page: it is re-read page by page.
			out = host.poll(T0 + MINUTE);
			expect(ids(out)).toEqual([]);
			expect(out.scan.stats).toMatchObject({ read: 7, alreadyEmitted: 7 });
			expect(out.queries).toEqual([first(at(1 - 900), 2), ...tiePages]);
		},
	);

	// The requests poll.ts sends for these queries (built by pageSelection, served by the fake from the OData text).
	test.each(PAGING_MODES)('the page requests are the OData poll.ts sends (paging=%s)', (paging) => {
		const { api, host } = setup({ paging, maxPageSize: 2 });
		for (const id of ['z', "o'b", 'a']) api.create(id, at(0, 5));
		expect(ids(host.poll(T0 + SECOND))).toEqual(['a', "o'b", 'z']);
		const t = at(0, 5);
		expect(api.requests).toEqual(
			paging === 'keyset'
				? [
						{ filter: `alertCreationTime ge ${FLOOR}`, orderby: 'alertCreationTime asc,id asc', top: 2 },
						{
							// The id is an OData string literal, quotes doubled.
							filter: `(alertCreationTime gt ${t} or (alertCreationTime eq ${t} and id gt 'o''b'))`,
							orderby: 'alertCreationTime asc,id asc',
							top: 2,
						},
					]
				: [
						{ filter: `alertCreationTime ge ${FLOOR}`, orderby: 'alertCreationTime asc', top: 2 },
						{ filter: `alertCreationTime ge ${t}`, orderby: 'alertCreationTime asc', top: 2, skip: 2 },
					],
		);
	});

	test.each(PAGING_MODES)(
		'ties are continued in plain string order of the ids, whatever their digits and case (paging=%s)',
		(paging) => {
			const { api, host } = setup({ paging, maxPageSize: 1 });
			const tied = ['9', '10', 'B', 'a', 'da1_-1', 'da1_1', '_', 'Z'];
			for (const id of tied) api.create(id, at(0, 3));
			const out = host.poll(T0 + SECOND);
			const order = [...tied].sort(); // UTF-16 code unit order, as `id gt` and the fake's tie order compare
			expect(order).toEqual(['10', '9', 'B', 'Z', '_', 'a', 'da1_-1', 'da1_1']);
			expect(ids(out)).toEqual(order);
			expect(out.queries).toEqual([first(FLOOR, 1), ...order.map((id, i) => next(paging, at(0, 3), id, i + 1, 1))]);
		},
	);

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

	test.each(PAGING_MODES)('order and page boundaries follow the full precision, not the ids (paging=%s)', (paging) => {
		const { api, host } = setup({ paging, maxPageSize: 1 });
		api.create('zz', ts(T0 + 123, 4561));
		api.create('yy', ts(T0 + 123, 4562));
		api.create('xx', ts(T0 + 123, 4563));
		const out = host.poll(T0 + SECOND);
		expect(ids(out)).toEqual(['zz', 'yy', 'xx']);
		expect(out.queries).toEqual([
			first(FLOOR, 1),
			next(paging, ts(T0 + 123, 4561), 'zz', 1, 1),
			next(paging, ts(T0 + 123, 4562), 'yy', 1, 1),
			next(paging, ts(T0 + 123, 4563), 'xx', 1, 1),
		]);
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

describe('a backlog larger than a page and than maxAlerts', () => {
	const base = T0 - 4 * HOUR;
	const t = (i: number): string => ts(base + i * 10 * MINUTE);
	const id = (i: number): string => `a${String(i).padStart(2, '0')}`;
	const range = (lo: number, hi: number): string[] => Array.from({ length: hi - lo + 1 }, (_, k) => id(lo + k));

	function backlog(triggerOnUpdates: boolean, paging: Paging): { api: FakeAlertApi; host: TriggerHost } {
		const s = setup({ triggerOnUpdates, paging, maxAlerts: 10, maxPageSize: 4 });
		for (let i = 0; i < 23; i++) s.api.create(id(i), t(i));
		return s;
	}
	/** The page of size `top` after one ending with alert i (each timestamp holds one alert). */
	const after = (paging: Paging, i: number, top = 4): PageQuery => next(paging, t(i), id(i), 1, top);

	test.each(PAGING_MODES.flatMap((paging) => [false, true].map((triggerOnUpdates) => [paging, triggerOnUpdates] as const)))(
		'is drained oldest first over several polls, nothing dropped (paging=%s, triggerOnUpdates=%s)',
		(paging, triggerOnUpdates) => {
			const { host } = backlog(triggerOnUpdates, paging);

			// Each page holds at most the room left in the batch: the third only 2, which fill it, so the scan stops there.
			let out = host.poll(T0);
			expect(ids(out)).toEqual(range(0, 9));
			expect(out.queries).toEqual([first(FLOOR, 4), after(paging, 3), after(paging, 7, 2)]);
			expect(out.scan.stats).toEqual({ pages: 3, read: 10, alreadyEmitted: 0, filteredOut: 0, emitted: 10, stoppedAtLimit: true });
			expect(out.state.seen).toEqual({ a08: t(8), a09: t(9) });

			// The first page is sized for the 2 re-reads ahead in `seen` plus maxAlerts, capped by maxPageSize; the later
			// ones, past the re-reads, for the room left; the batch fills exactly at the end of the third: no fourth request.
			out = host.poll(T0 + MINUTE);
			expect(ids(out)).toEqual(range(10, 19));
			expect(out.queries).toEqual([first(ts(base + 75 * MINUTE), 4), after(paging, 11), after(paging, 15)]);
			expect(out.scan.stats).toEqual({ pages: 3, read: 12, alreadyEmitted: 2, filteredOut: 0, emitted: 10, stoppedAtLimit: true });

			out = host.poll(T0 + 2 * MINUTE);
			expect(ids(out)).toEqual(range(20, 22));
			expect(out.queries).toEqual([first(ts(base + 175 * MINUTE), 4), after(paging, 21)]);
			expect(out.scan.stats.stoppedAtLimit).toBe(false);

			out = host.poll(T0 + 3 * MINUTE);
			expect(ids(out)).toEqual([]);
			expect(out.queries).toEqual([first(ts(base + 205 * MINUTE), 4)]);
		},
	);

	test.each(PAGING_MODES)('a poll failing on its second page commits nothing; the retry emits the same alerts once (paging=%s)', (paging) => {
		const { host } = backlog(false, paging);
		expect(() => host.poll(T0, { failOnRequest: 2 })).toThrow(PollFailure);
		expect(host.memory).toBeUndefined();

		let out = host.poll(T0 + MINUTE);
		expect(ids(out)).toEqual(range(0, 9));
		expect(out.queries).toEqual([first(FLOOR, 4), after(paging, 3), after(paging, 7, 2)]);

		// The next poll takes 3 requests (see above): it fails on its second, then on its last.
		const before = JSON.stringify(host.memory);
		expect(() => host.poll(T0 + 2 * MINUTE, { failOnRequest: 2 })).toThrow(PollFailure);
		expect(() => host.poll(T0 + 3 * MINUTE, { failOnRequest: 3 })).toThrow(PollFailure);
		expect(JSON.stringify(host.memory)).toBe(before);

		out = host.poll(T0 + 4 * MINUTE);
		expect(ids(out)).toEqual(range(10, 19));
	});
});

/**
 * A client-side filter (`source.clientFilter`, for what the API cannot filter, e.g. Graph's category): alerts it
 * rejects are read and move the cursor, but are not emitted, not remembered, and do not count towards maxAlerts.
 */
describe.each(PAGING_MODES)('client-side filter (paging=%s)', (paging) => {
	const notInformational = (alert: Record<string, unknown>): boolean => alert.severity !== 'Informational';

	test('rejected alerts are read past, page after page, and neither emitted nor counted towards maxAlerts', () => {
		const { api, host } = setup({ paging, maxAlerts: 2, maxPageSize: 2, clientFilter: notInformational });
		const severities = ['Low', 'Informational', 'Informational', 'High', 'Informational', 'High'];
		for (const [i, severity] of severities.entries()) api.create(`a${i}`, at(i), { severity });

		let out = host.poll(T0 + 10 * SECOND);
		expect(ids(out)).toEqual(['a0', 'a3']);
		// After a0 the room is 1: pages of one alert; a2 is rejected (read, not counted), a3 fills the batch, so the scan
		// stops there without reading a4 or a5.
		expect(out.scan.stats).toEqual({ pages: 3, read: 4, alreadyEmitted: 0, filteredOut: 2, emitted: 2, stoppedAtLimit: true });
		expect(out.queries).toEqual([first(FLOOR, 2), next(paging, at(1), 'a1', 1, 1), next(paging, at(2), 'a2', 1, 1)]);
		expect(out.state).toMatchObject({ highWater: at(3), seen: { a0: at(0), a3: at(3) } });

		// Pages sized for the room (2) plus the re-reads ahead (a0 and a3, then a3, still ahead at its own timestamp).
		out = host.poll(T0 + 20 * SECOND);
		expect(ids(out)).toEqual(['a5']);
		expect(out.scan.stats).toEqual({ pages: 4, read: 6, alreadyEmitted: 2, filteredOut: 3, emitted: 1, stoppedAtLimit: false });
		expect(out.queries).toEqual([
			first(at(3 - 900), 2),
			next(paging, at(1), 'a1', 1, 2),
			next(paging, at(3), 'a3', 1, 2),
			next(paging, at(5), 'a5', 1, 1),
		]);

		out = host.poll(T0 + 30 * SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.state.seen).toEqual({ a0: at(0), a3: at(3), a5: at(5) });
	});

	test('a poll emitting nothing still moves highWater past rejected alerts (in memory); a restart only re-reads them', () => {
		const { api, host } = setup({ paging, lookbackMs: MINUTE, maxPageSize: 100, clientFilter: notInformational });
		for (const [i, s] of [-600, -300, 0].entries()) api.create(`x${i}`, at(s), { severity: 'Informational' });
		let out = host.poll(T0 + SECOND);
		expect(ids(out)).toEqual([]);
		expect(out.state).toMatchObject({ highWater: at(0), seen: {} });
		expect(host.persisted).toBeUndefined();

		out = host.poll(T0 + MINUTE);
		expect(out.queries).toEqual([first(at(-60), 100)]);
		expect(out.scan.stats).toMatchObject({ read: 1, filteredOut: 1 });

		host.restart();
		api.create('h', at(70), { severity: 'High' });
		out = host.poll(T0 + 2 * MINUTE);
		expect(out.queries).toEqual([first(FLOOR, 100)]);
		expect(ids(out)).toEqual(['h']);
		expect(out.scan.stats).toMatchObject({ read: 4, filteredOut: 3 });
	});

	test('updates on: rejected versions are skipped; the next wanted one is an update with the changes since the last emitted', () => {
		const { api, host } = setup({ paging, triggerOnUpdates: true, clientFilter: notInformational });
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

// Both modes: N alerts with page size P (and maxAlerts above N) take ceil(N / P) requests, or N / P + 1 when P
// divides N (the last full page cannot tell it was the last: one more, empty, request).
describe.each(PAGING_MODES)('request counts (paging=%s)', (paging) => {
	const cases: Array<[number, number]> = [
		[1, 1],
		[3, 1],
		[5, 2],
		[6, 2],
		[7, 3],
		[9, 3],
		[10, 4],
		[3, 10],
		[10, 10],
	];
	test.each(cases.flatMap(([n, p]) => [[n, p, 'distinct'] as const, [n, p, 'tied'] as const]))(
		'draining %d alerts with page size %d (%s timestamps)',
		(n, p, kind) => {
			const { api, host } = setup({ paging, maxPageSize: p });
			const time = (i: number): string => (kind === 'tied' ? at(0, 42) : at(i));
			for (let i = 0; i < n; i++) api.create(`a${i}`, time(i)); // ids a0…a9: string order = creation order
			const out = host.poll(T0 + HOUR);
			expect(ids(out)).toEqual(Array.from({ length: n }, (_, i) => `a${i}`));
			const requests = n % p ? Math.ceil(n / p) : n / p + 1;
			expect(out.queries).toHaveLength(requests);
			// Page k continues after alert kP − 1 (the last of page k − 1), which is the (kP)-th read at its timestamp when tied.
			const continuations = Array.from({ length: requests - 1 }, (_, k) => {
				const last = (k + 1) * p - 1;
				return next(paging, time(last), `a${last}`, kind === 'tied' ? last + 1 : 1, p);
			});
			expect(out.queries).toEqual([first(FLOOR, p), ...continuations]);
			expect(out.pages.map((page) => page.length)).toEqual(
				Array.from({ length: requests }, (_, k) => Math.min(p, n - k * p)),
			);
		},
	);

	test('maxAlerts also bounds the first page: N = maxAlerts < maxPageSize fills the batch in one request, no extra empty page', () => {
		const { api, host } = setup({ paging, maxAlerts: 5, maxPageSize: 100 });
		for (let i = 0; i < 5; i++) api.create(`a${i}`, at(i));
		const out = host.poll(T0 + HOUR);
		expect(ids(out)).toHaveLength(5);
		expect(out.queries).toEqual([first(FLOOR, 5)]);
		expect(out.scan.stats).toMatchObject({ pages: 1, read: 5, emitted: 5, stoppedAtLimit: true });
	});

	// Nothing to re-read: each page is sized min(P, room left in the batch); the scan ends after a short page, or
	// after the page that fills the batch (even on a page boundary: no request just to find the next alert).
	test.each(
		(
			[
				// [N, P, maxAlerts, tops]
				[5, 2, 5, [2, 2, 1]],
				[6, 2, 6, [2, 2, 2]],
				[6, 4, 7, [4, 3]],
				[7, 3, 8, [3, 3, 2]],
				[10, 4, 6, [4, 2]],
				[10, 4, 5, [4, 1]],
				[3, 10, 4, [4]],
			] as const
		).flatMap(([n, p, max, tops]) => [[n, p, max, tops, 'distinct'] as const, [n, p, max, tops, 'tied'] as const]),
	)('draining %d alerts with page size %d and maxAlerts %d: pages of %j (%s timestamps)', (n, p, max, tops, kind) => {
		const { api, host } = setup({ paging, maxPageSize: p, maxAlerts: max });
		const time = (i: number): string => (kind === 'tied' ? at(0, 42) : at(i));
		for (let i = 0; i < n; i++) api.create(`a${i}`, time(i));
		const out = host.poll(T0 + HOUR);
		const emitted = Math.min(n, max);
		expect(ids(out)).toEqual(Array.from({ length: emitted }, (_, i) => `a${i}`));
		const ends = tops.map((_, k) => tops.slice(0, k + 1).reduce((sum, top) => sum + top, 0));
		const continuations = tops.slice(1).map((top, k) => {
			const last = ends[k] - 1;
			return next(paging, time(last), `a${last}`, kind === 'tied' ? last + 1 : 1, top);
		});
		expect(out.queries).toEqual([first(FLOOR, tops[0]), ...continuations]);
		expect(out.pages.map((page) => page.length)).toEqual(tops.map((top, k) => Math.min(top, n - (ends[k] - top))));
		expect(out.scan.stats).toMatchObject({ read: emitted, emitted, stoppedAtLimit: n >= max });
	});

	// The first page is sized for maxAlerts plus the 3 re-reads ahead, capped; after a full page at a2 only a2 (at the
	// tail timestamp itself) is still counted ahead: 1 + 1.
	test.each([
		[4, 1, [4]],
		[3, 2, [3, 2]],
	])('a poll with nothing new, a window of 3 alerts and maxPageSize %d makes %d request(s) of sizes %j', (maxPageSize, requests, tops) => {
		const { api, host } = setup({ paging, maxPageSize });
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
 * so they are read but never emitted; and keyset paging cannot continue after them.
 */
describe('alerts without ids', () => {
	/** A server for lists the fake cannot hold: order (cursor, id) with missing ids first; `id gt` false for them. */
	function serve(list: Array<Record<string, unknown>>, query: PageQuery): Array<Record<string, unknown>> {
		const idOf = (a: Record<string, unknown>): string => (typeof a.id === 'string' ? a.id : '');
		const sorted = [...list].sort((a, b) =>
			compareKeys(a.alertCreationTime as string, idOf(a), b.alertCreationTime as string, idOf(b)),
		);
		return sorted
			.filter((a) => {
				const t = a.alertCreationTime as string;
				if (t < query.from) return false;
				return !query.after || t > query.from || (typeof a.id === 'string' && a.id > query.after.id);
			})
			.slice(query.skip, query.skip + query.top);
	}

	function scanList(list: Array<Record<string, unknown>>, options: ScanOptions, previous?: CursorState) {
		const scan = new AlertScan(previous, options, FLOOR);
		const queries: PageQuery[] = [];
		for (let query = scan.nextQuery(); query; query = scan.nextQuery()) {
			queries.push(query);
			if (queries.length > 100) throw new Error(`runaway scan: ${JSON.stringify(queries.slice(-3))}`);
			scan.accept(serve(list, query));
		}
		expect(scan.complete).toBe(true);
		return { scan, queries, ids: scan.emissions.map((e) => e.alert.id), state: scan.commit() };
	}

	test.each([undefined, ''])(
		'a full page of alerts without ids (id %p) ends the scan instead of requesting the same page forever (keyset)',
		(id) => {
			const options = scanOptions({ triggerOnUpdates: false, maxPageSize: 2 });
			const list = [0, 1, 2].map(() => ({ ...(id === undefined ? {} : { id }), alertCreationTime: at(1) }));
			const out = scanList(list, options);
			// Id-less alerts do not move the keyset position: page 2 would be the same request, so it is not sent.
			expect(out.queries).toEqual([first(FLOOR, 2)]);
			expect(out.scan.nextQuery()).toBeUndefined();
			expect(out.ids).toEqual([]);
			expect(out.scan.stats).toEqual({ pages: 1, read: 2, alreadyEmitted: 0, filteredOut: 0, emitted: 0, stoppedAtLimit: false });
			expect(out.state).toMatchObject({ highWater: undefined, seen: {} });
			// The next poll ends too.
			const again = scanList(list, options, out.state);
			expect(again.queries).toEqual([first(FLOOR, 2)]);
		},
	);

	test('skip paging reads past a full page of alerts without ids', () => {
		const options = scanOptions({ triggerOnUpdates: false, maxPageSize: 2, paging: 'skip' });
		const list = [{ alertCreationTime: at(1) }, { alertCreationTime: at(1) }, { alertCreationTime: at(1) }, { id: 'y', alertCreationTime: at(3) }];
		const out = scanList(list, options);
		expect(out.queries).toEqual([first(FLOOR, 2), { from: at(1), skip: 2, top: 2 }, { from: at(3), skip: 1, top: 2 }]);
		expect(out.ids).toEqual(['y']);
	});

	// KNOWN LIMITATION (low severity, Defender alerts always have ids): with keyset paging, a page filled by alerts
	// without ids ends the scan (they do not move the (timestamp, id) position, so the next request would repeat
	// the same page), and every later poll stops at the same place: alerts after them are never emitted. Repro: page size 2; two id-less alerts at T+1 s
	// and y at T+3 s; every poll requests `ge FLOOR|…`, then `ge T+1 s`, and stops; y never comes. (Skip paging, or
	// keyset falling back to `skip = alerts read at t` when none of them had an id, reads past them.)
	test.failing('alerts after a page-filling run of id-less alerts at one timestamp are still emitted (keyset)', () => {
		const options = scanOptions({ triggerOnUpdates: false, maxPageSize: 2 });
		const list = [{ alertCreationTime: at(1) }, { alertCreationTime: at(1) }, { id: 'y', alertCreationTime: at(3) }];
		let state: CursorState | undefined;
		const emitted: unknown[] = [];
		for (let poll = 0; poll < 3; poll++) {
			const out = scanList(list, options, state);
			emitted.push(...out.ids);
			state = out.state;
		}
		expect(emitted).toEqual(['y']);
	});

	// Was a bug (an id-less alert moving the tail timestamp kept the earlier id, so the next keyset page skipped
	// the alerts at the new timestamp sorting before it); id-less alerts no longer move the keyset position.
	test('an id-less alert at a new timestamp does not make keyset paging skip the ids before the last one (keyset)', () => {
		const options = scanOptions({ triggerOnUpdates: false, maxPageSize: 2 });
		const list = [
			{ id: 'x', alertCreationTime: at(1) },
			{ alertCreationTime: at(2) },
			{ id: 'a', alertCreationTime: at(2) },
			{ id: 'y', alertCreationTime: at(3) },
		];
		let state: CursorState | undefined;
		const emitted: unknown[] = [];
		for (let poll = 0; poll < 3; poll++) {
			const out = scanList(list, options, state);
			emitted.push(...out.ids);
			state = out.state;
		}
		expect(emitted).toEqual(['x', 'a', 'y']);
	});

	test('skip paging reads every alert with an id among id-less ones', () => {
		const options = scanOptions({ triggerOnUpdates: false, maxPageSize: 2, paging: 'skip' });
		const list = [
			{ id: 'x', alertCreationTime: at(1) },
			{ alertCreationTime: at(2) },
			{ id: 'a', alertCreationTime: at(2) },
			{ id: 'y', alertCreationTime: at(3) },
		];
		expect(scanList(list, options).ids).toEqual(['x', 'a', 'y']);
	});
});

/**
 * Mutations between two page requests of ONE poll. What the module guarantees, in both paging modes:
 *  - a change to an alert strictly older than the last page's newest timestamp cannot shift later alerts out of
 *    reach (unlike pure $skip paging);
 *  - an alert updated after it was read is read again at its new version in the same poll (emitted twice, with
 *    increasing versions — both versions really existed);
 *  - an alert arriving late at the tail timestamp with an id below the last one read is not read by this poll;
 *    the next poll's look-back finds it.
 * Keyset paging only: an alert already read at the tail timestamp that leaves the results (updated, or no longer
 * matching) cannot make an unread alert at that timestamp get skipped. Skip paging over-counts then: see the
 * failing test at the end of this block (known limitation of 'skip').
 */
describe.each(PAGING_MODES)('mutations between two page requests of one poll (paging=%s)', (paging) => {
	test('an older alert leaving the filter does not shift the next page (pure $skip paging would lose c)', () => {
		const { api, host } = setup({ paging, maxPageSize: 2 }, { filter: { statuses: ['New'] } });
		for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) api.create(id, at(i + 1));
		const out = host.poll(T0 + 10 * SECOND, {
			beforeRequest: (n) => n === 2 && api.update('a', at(5), { status: 'Resolved' }),
		});
		expect(ids(out)).toEqual(['a', 'b', 'c', 'd']);
		expect(out.queries).toEqual([first(FLOOR, 2), next(paging, at(2), 'b', 1, 2), next(paging, at(4), 'd', 1, 2)]);
	});

	// Keyset continues after (at(1), c): page 2 is [d, e], nothing is read twice. Skip mode skips the first 2 of
	// the now 4 alerts at at(1), a and b: page 2 is [c, d], c is read again; a is never read either way.
	const lateTie = {
		keyset: { queries: [first(FLOOR, 2), next('keyset', at(1), 'c', 2, 2), next('keyset', at(2), 'e', 1, 2)], rereads: 0 },
		skip: { queries: [first(FLOOR, 2), next('skip', at(1), 'c', 2, 2), next('skip', at(1), 'd', 4, 2)], rereads: 1 },
	}[paging];
	test('an alert arriving at the tail timestamp with a smaller id is missed by this poll, emitted by the next', () => {
		const { api, host } = setup({ paging, maxPageSize: 2 });
		for (const id of ['b', 'c', 'd']) api.create(id, at(1));
		api.create('e', at(2));
		let out = host.poll(T0 + 10 * SECOND, { beforeRequest: (n) => n === 2 && api.create('a', at(1), {}, T0) });
		expect(ids(out)).toEqual(['b', 'c', 'd', 'e']);
		expect(out.queries).toEqual(lateTie.queries);
		expect(out.scan.stats.alreadyEmitted).toBe(lateTie.rereads);
		out = host.poll(T0 + 20 * SECOND);
		expect(ids(out)).toEqual(['a']);
	});

	test('updates on: an alert updated after it was read is emitted again at its new version in the same poll', () => {
		const { api, host } = setup({ paging, triggerOnUpdates: true, maxPageSize: 2 });
		for (const [i, id] of ['a', 'b', 'c'].entries()) api.create(id, at(i + 1));
		const out = host.poll(T0 + 10 * SECOND, {
			beforeRequest: (n) => n === 2 && api.update('a', at(5), { status: 'InProgress' }),
		});
		expect(versions(out)).toEqual([`a@${at(1)}`, `b@${at(2)}`, `c@${at(3)}`, `a@${at(5)}`]);
		expect(out.emissions[3].change).toEqual({
			type: 'update',
			version: at(5),
			changedFields: ['status'],
			previous: { status: 'New' },
		});
		expect(out.queries).toEqual([first(FLOOR, 2), next(paging, at(2), 'b', 1, 2), next(paging, at(5), 'a', 1, 2)]);
		expect(ids(host.poll(T0 + 20 * SECOND))).toEqual([]);
	});

	// Fixed by keyset paging; KNOWN LIMITATION of paging 'skip': it resumes with `from = tail timestamp, skip =
	// number of alerts read at it`, which assumes the alerts already read at the tail timestamp are still in the
	// result set. If one of them leaves it between two page requests — updated (moves to a newer lastUpdateTime;
	// common with updates on) or no longer matching the filter — the skip over-counts and one UNREAD alert with
	// the same timestamp is skipped. When the scan then advances highWater more than the look-back beyond that
	// timestamp (a backlog), the alert is never read again: lost. Repro (look-back 15 min, page size 2): a, b, c
	// at T−2h, d at T−1 min; after page 1 ([a, b]) b moves to T−30 s; page 2 {from: T−2h, skip: 2} returns [d, b']
	// (updates on) or [d] (off) — c is skipped and never emitted. Keyset continues after (T−2h, b) and reads c.
	(paging === 'skip' ? test.failing : test).each([true, false])(
		'an alert read at the tail timestamp that leaves the results between pages does not make an unread tie get lost (triggerOnUpdates=%s)',
		(triggerOnUpdates) => {
			const { api, host } = setup({ paging, triggerOnUpdates, maxPageSize: 2 }, { filter: { statuses: ['New'] } });
			for (const id of ['a', 'b', 'c']) api.create(id, at(-7200));
			api.create('d', at(-60));
			const moveB = (): void =>
				triggerOnUpdates ? api.update('b', at(-30), { title: 'edited' }) : api.update('b', at(-30), { status: 'Resolved' });
			const poll = versions(host.poll(T0, { beforeRequest: (n) => n === 2 && moveB() }));
			const later = [1, 2, 3].flatMap((i) => versions(host.poll(T0 + i * MINUTE)));
			// c is emitted at all (skip paging loses it for good: highWater moved 2 h past it) …
			expect([...poll, ...later]).toContain(`c@${at(-7200)}`);
			// … by this poll, in order, once. Updates on: b's new version (still matching) is read later in the same
			// poll; off: b no longer matches.
			expect(poll).toEqual([
				`a@${at(-7200)}`,
				`b@${at(-7200)}`,
				`c@${at(-7200)}`,
				`d@${at(-60)}`,
				...(triggerOnUpdates ? [`b@${at(-30)}`] : []),
			]);
			expect(later).toEqual([]);
		},
	);
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
		const out = pollOnce(api, previous, host.options, FLOOR, T0 + 400 * SECOND);
		expect(versions(out)).toEqual([`a@${at(200)}`, `c@${at(300)}`]);
		expect(JSON.stringify(previous)).toBe(copy);

		// A legacy state (lookbackMs, no horizon) is migrated into the new state, not in place.
		const { horizon: _horizon, ...rest } = JSON.parse(copy) as CursorState;
		const legacy = deepFreeze({ ...rest, lookbackMs: MINUTE } as CursorState);
		const legacyCopy = JSON.stringify(legacy);
		const migrated = pollOnce(api, legacy, host.options, FLOOR, T0 + 400 * SECOND);
		expect(versions(migrated)).toEqual(versions(out));
		expect(migrated.state).toStrictEqual(out.state);
		expect(JSON.stringify(legacy)).toBe(legacyCopy);
	});

	test('the fake API serves only the requests poll.ts sends, and fails loudly on anything else', () => {
		const api = new FakeAlertApi();
		api.create('a', at(0));
		api.create("o'b", at(0));
		const keyset = `(alertCreationTime gt ${at(0)} or (alertCreationTime eq ${at(0)} and id gt 'a'))`;
		expect(api.page('alertCreationTime', { filter: keyset, orderby: 'alertCreationTime asc,id asc', top: 5 }, T0).map((a) => a.id)).toEqual([
			"o'b",
		]);
		const bad: Array<[string, string, number?]> = [
			[`alertCreationTime ge 2024-03-01T12:00:00Z`, 'alertCreationTime asc'], // not canonical
			[`lastUpdateTime ge ${at(0)}`, 'alertCreationTime asc'], // other field
			[keyset, 'alertCreationTime asc'], // keyset without the id in $orderby
			[keyset.replace(`eq ${at(0)}`, `eq ${at(1)}`), 'alertCreationTime asc,id asc'], // two different timestamps
			[`alertCreationTime ge ${at(0)}`, 'alertCreationTime desc'],
			[`alertCreationTime ge ${at(0)}`, 'alertCreationTime asc', 0], // $skip=0 is left out by poll.ts
		];
		for (const [filter, orderby, skip] of bad) {
			expect(() => api.page('alertCreationTime', { filter, orderby, top: 5, skip }, T0)).toThrow(/unsupported|without the id|invalid/);
		}
	});

	test('the committed state survives a JSON round trip, and a finished scan ignores further pages', () => {
		const { api } = setup();
		api.create('a', at(0));
		const options = scanOptions({ triggerOnUpdates: true });
		const scan = new AlertScan(undefined, options, FLOOR);
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
		const empty = new AlertScan(undefined, options, FLOOR);
		expect(empty.nextQuery()).toEqual(first(FLOOR, 1000));
		expect(empty.accept([])).toBe(true);
		expect(empty.commit()).toMatchObject({ highWater: undefined, horizon: undefined, seen: {} });
	});
});
