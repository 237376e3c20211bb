/**
 * Model-based randomized test of AlertScan: a seeded random timeline of alerts (7-digit timestamps, many exact
 * ties, updates, late arrivals, filter-relevant status changes) in the fake API, polled by a driver that behaves
 * like n8n (random maxAlerts and page sizes, failing page requests, static data persisted only with items,
 * restarts, sometimes a client-side filter as Graph's category filter). Runs with keyset paging (the default, and
 * MDE's; the most seeds), with paging 'skip' (Graph's; fewer seeds), and with keyset paging plus changes between
 * the page requests of a poll.
 *
 * Checked on every successful poll whose API did not change during the poll, against an independent oracle built
 * from the driver's own record of what was emitted (not from the module's state):
 *  - the poll emits exactly the first `maxAlerts` not-yet-emitted alerts (versions, with updates on) of the
 *    unpaged result list at `from = max(highWater − look-back, horizon, floor)` (floor alone without highWater),
 *    oldest first, and nothing else;
 *  - the emitted objects are what the API returned, currently matching the filter (the server's and, when the
 *    config has one, the client-side filter: rejected alerts are read past, not emitted); change details are right;
 *  - each page's size (`top`) is max(1, min(maxPageSize, maxAlerts − emitted so far in the poll + ahead)), ahead =
 *    the versions in the previous state's `seen` at or after the query's `from` (the tail: the scan's `from`, then
 *    the cursor of the last alert read), and page k returns exactly the next `top` alerts of the unpaged list
 *    (none skipped, none read twice);
 *  - every page query is exact: the first `cursor ge from`; then, keyset, after the (cursor, id) of the last
 *    alert read, or, skip, from its cursor skipping the alerts already read at it;
 *  - the number of page requests is exactly what the page rules give: the scan ends on the page where a wanted new
 *    alert does not fit (stoppedAtLimit), after the page that fills the batch (stoppedAtLimit — no further request
 *    just to find the next new alert), or after a page shorter than its `top`; so a poll emits the first maxAlerts
 *    new alerts, stoppedAtLimit exactly when there are at least that many, and a quiet poll with a window smaller
 *    than maxPageSize makes one request (its first page is sized for every re-read ahead; without a client-side
 *    filter, see below);
 *  - the committed horizon is max(highWater − look-back, previous horizon) (undefined without highWater), never
 *    above highWater; `seen` holds exactly the last emitted version of every alert whose last emitted version is
 *    at or after the horizon (so every entry is in [horizon, highWater] and there are no more entries than
 *    versions emitted in that range); no `lookbackMs` is stored; a poll emitting nothing changes only highWater
 *    (following alerts rejected by the client-side filter) and the horizon (that, or a lowered look-back), and
 *    `seen` forgets what falls below the horizon — without a client-side filter and a lowered look-back it leaves
 *    the state unchanged;
 *  - a failing poll leaves the state untouched.
 * The look-back is changed now and then during a run (raised or lowered, never below the one the ingestion delays
 * are drawn for), so "a raised look-back repeats nothing" is checked by the final exactly-once check; and a state
 * restored on restart is sometimes rewritten in a format stored before the horizon (`lookbackMs` instead of
 * `horizon`, or neither), which must be read as the same state.
 * When the API changed during the poll (keyset runs with mid-poll changes), the per-poll checks that do not need
 * the oracle still hold: keys read strictly increase, page sizes and the number of requests by the page rules
 * (replayed on the pages received), the state invariants, the change details. At the end (after polling until quiet) the "exactly once" requirement is checked per mode.
 */
import type { Alert, ChangeInfo, CursorState, Emission, PageQuery } from '../../nodes/MicrosoftDefender/trigger/cursor';
import { canonicalTimestamp, maxTimestamp, subtractMs, timestampToMs } from '../../nodes/MicrosoftDefender/trigger/timestamps';
import {
	compareKeys,
	DAY,
	FakeAlertApi,
	MINUTE,
	SECOND,
	SEVERITIES,
	STATUSES,
	ts,
	type AlertBody,
	type AlertFilter,
	type CursorFieldName,
} from './fakeAlertApi';
import { ids, PollFailure, Random, scanOptions, TRACKED, TriggerHost, type Paging, type PollOutcome } from './harness';

const T0 = Date.UTC(2024, 2, 1, 12);
const FLOOR = ts(T0 - DAY);
/** Keyset: 24 seeds per updates mode by default (MODEL_SEEDS=300 for a longer hunt); skip a third of that, keyset
 * with changes during polls half. */
const SEED_COUNT = Number(process.env.MODEL_SEEDS ?? 24);
const seeds = (count: number): number[] => Array.from({ length: Math.max(1, count) }, (_, i) => i + 1);

interface Run {
	/** Label of this kind of run (also keys the coverage). */
	name: string;
	paging: Paging;
	/** Change the API between the page requests of a poll too. */
	midPoll: boolean;
	seeds: number[];
}

const RUNS: Run[] = [
	{ name: 'keyset', paging: 'keyset', midPoll: false, seeds: seeds(SEED_COUNT) },
	{ name: 'skip', paging: 'skip', midPoll: false, seeds: seeds(Math.ceil(SEED_COUNT / 3)) },
	// Not with 'skip': an alert read at the tail timestamp that leaves the results between two page requests makes
	// skip paging skip an unread one (known limitation, see cursor.test.ts).
	{ name: 'keyset, changes during polls', paging: 'keyset', midPoll: true, seeds: seeds(Math.ceil(SEED_COUNT / 2)) },
];

interface Config {
	paging: Paging;
	midPoll: boolean;
	triggerOnUpdates: boolean;
	/** The look-back the ingestion delays are drawn for; the configured one is never below it. */
	lookbackMs: number;
	/** Change the configured look-back now and then (to values ≥ `lookbackMs`). */
	lookbackChanges: boolean;
	maxAlerts: number;
	maxPageSize: number;
	render: 'canonical' | 'trimmed';
	filter: AlertFilter;
	/** Filter applied on the client (`accept`'s `matches`), on fields the fake's server filter does not cover. */
	clientFilter: keyof typeof CLIENT_FILTERS;
	steps: number;
}

const MAX_ALERTS = [1, 1, 2, 3, 5, 8, 1000];
const LOOKBACKS = [0, MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE];
const CLIENT_FILTERS = {
	none: undefined,
	notInformational: (alert: Record<string, unknown>): boolean => alert.severity !== 'Informational',
	notBob: (alert: Record<string, unknown>): boolean => alert.assignedTo !== 'bob@contoso.com',
};
const FILTERS: AlertFilter[] = [
	{},
	{ statuses: ['New', 'InProgress'] },
	{ severities: ['Medium', 'High'] },
	{ statuses: ['New', 'InProgress'], severities: ['Low', 'Medium', 'High'] },
];

function configFor(random: Random, run: Run, triggerOnUpdates: boolean): Config {
	const lookbacks = [0, MINUTE, 5 * MINUTE, 15 * MINUTE, 15 * MINUTE];
	return {
		paging: run.paging,
		midPoll: run.midPoll,
		triggerOnUpdates,
		// Changes during a poll are stamped within the look-back before the poll instant: with 0 there is no room.
		lookbackMs: random.pick(run.midPoll ? lookbacks.slice(1) : lookbacks),
		maxAlerts: random.pick(MAX_ALERTS),
		maxPageSize: random.pick([1, 2, 3, 4, 5, 7, 100]),
		render: random.pick(['canonical', 'trimmed'] as const),
		filter: random.pick(FILTERS),
		clientFilter: random.pick(['none', 'none', 'notInformational', 'notBob'] as const),
		steps: 60,
		lookbackChanges: random.chance(0.6),
	};
}

/** Interesting situations met by each kind of run: each must occur, or the model tests less than it claims. */
function newCoverage(midPoll: boolean): Record<string, number> {
	return {
		polls: 0,
		failures: 0,
		restarts: 0,
		limitStops: 0,
		tiesAcrossPages: 0,
		// An already emitted alert exactly at `from`: needs look-back 0 in practice, which mid-poll runs exclude.
		...(midPoll ? {} : { rereadAtBoundary: 0 }),
		lateEmitted: 0,
		belowMsNeighbours: 0,
		reentriesEmitted: 0,
		quietSinglePage: 0,
		quietMultiPage: 0,
		clientFiltered: 0,
		// A poll that emitted nothing but moved highWater past alerts rejected by the client-side filter.
		silentHighWaterMoves: 0,
		lookbackRaised: 0,
		lookbackLowered: 0,
		// A poll whose scan started at the horizon, above highWater − look-back (after a raised look-back).
		horizonAboveLookback: 0,
		// ... and below that start an already emitted alert that `seen` has forgotten: the duplicate the horizon avoids.
		duplicateAvoidedByHorizon: 0,
		// Polls from a restored state rewritten as stored before the horizon: with `lookbackMs`, and with neither.
		legacyLookbackState: 0,
		legacyOldestState: 0,
		...(midPoll
			? {
					pollsChangedMidway: 0,
					// An alert read at the tail timestamp left it before the next page while an unread one was at it
					// (what makes skip paging lose the unread one).
					readTieLeftBeforeNextPage: 0,
					// An alert updated after it was read, read again at its new version in the same poll.
					rereadInSamePoll: 0,
				}
			: {}),
	};
}
const coverageByRun = new Map<string, Record<string, number>>(RUNS.map((run) => [run.name, newCoverage(run.midPoll)]));

/** Tracked-field snapshot as the trigger documents it (lists as their length). */
function snap(alert: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(TRACKED.map((f) => [f, Array.isArray(alert[f]) ? (alert[f] as unknown[]).length : alert[f] ?? null]));
}

const cursorOf = (alert: Record<string, unknown>, field: CursorFieldName): string => {
	const value = canonicalTimestamp(alert[field]);
	if (!value) throw new Error(`alert without ${field}: ${JSON.stringify(alert)}`);
	return value;
};

/** Order of the server and of keyset paging: (cursor value, id). */
const byKey = (field: CursorFieldName) => (a: Alert, b: Alert): number =>
	compareKeys(cursorOf(a, field), String(a.id), cursorOf(b, field), String(b.id));

class ModelRun {
	readonly api: FakeAlertApi;
	readonly host: TriggerHost;
	readonly field: CursorFieldName;
	now = T0;
	private nextId = 0;

	/** The driver's own record of the emissions (never read from the module). */
	readonly emitted: Array<{ id: string; version: string; poll: number }> = [];
	readonly lastEmitted = new Map<string, { version: string; alert: Record<string, unknown> }>();

	/**
	 * Updates off: per alert, whether it was visible and matching every time the API was looked at since it became
	 * visible (each poll instant and, with changes during polls, each page request after a change).
	 */
	private readonly alwaysMatched = new Map<string, boolean>();

	private polls = 0;

	/** The API changed during the poll being run. */
	private changedMidway = false;

	/** Changes still allowed during the poll being run (bounded, or a poll with many pages keeps creating alerts). */
	private midwayChangesLeft = 0;

	/** The final quiet phase: no more changes. */
	private quiet = false;

	constructor(
		readonly seed: number,
		readonly cfg: Config,
		readonly random: Random,
		private readonly coverage: Record<string, number>,
	) {
		this.api = new FakeAlertApi({ filter: cfg.filter, render: cfg.render });
		const options = scanOptions({
			triggerOnUpdates: cfg.triggerOnUpdates,
			lookbackMs: cfg.lookbackMs,
			maxAlerts: cfg.maxAlerts,
			maxPageSize: cfg.maxPageSize,
			changeMemory: 1_000_000,
			paging: cfg.paging,
			clientFilter: CLIENT_FILTERS[cfg.clientFilter],
		});
		this.host = new TriggerHost(this.api, options, () => FLOOR);
		this.field = options.fields.cursor;
	}

	run(): void {
		const { random, coverage } = this;
		for (let step = 0; step < this.cfg.steps; step++) {
			const previous = this.now;
			this.now += random.pick([SECOND, 3 * SECOND, 10 * SECOND, 45 * SECOND, 2 * MINUTE, 7 * MINUTE, 20 * MINUTE]);
			if (random.chance(0.5)) this.now += random.int(1, 999);
			this.mutate(previous, this.now);
			// Not while the state is in the oldest format: it is read with the configured look-back, so changing that
			// in between changes what the state means (the reason the look-back, then the horizon, came to be stored).
			if (this.cfg.lookbackChanges && random.chance(0.08) && !this.isOldestFormat(this.host.memory)) {
				const before = this.host.options.lookbackMs;
				const lookbackMs = random.pick(LOOKBACKS.filter((l) => l >= this.cfg.lookbackMs && l !== before));
				if (lookbackMs !== undefined) {
					this.host.options = { ...this.host.options, lookbackMs };
					if (lookbackMs > before) coverage.lookbackRaised++;
					else coverage.lookbackLowered++;
				}
			}
			if (random.chance(0.08)) {
				this.host.restart();
				coverage.restarts++;
				if (random.chance(0.5)) this.host.memory = this.legacyForm(this.host.memory);
			}
			if (random.chance(0.05)) this.host.options = { ...this.host.options, maxAlerts: random.pick(MAX_ALERTS) };
			this.poll(random.chance(0.15) ? random.int(1, 3) : undefined);
		}
		// Quiet: no more changes, every ingestion delay over; poll until two polls in a row emit nothing.
		this.quiet = true;
		this.now += this.cfg.lookbackMs + MINUTE;
		let empty = 0;
		for (let i = 0; empty < 2; i++) {
			if (i > 5000) throw new Error('never quiet');
			const out = this.poll(undefined) as PollOutcome;
			empty = out.emissions.length ? 0 : empty + 1;
			if (!out.emissions.length) {
				if (out.queries.length === 1) coverage.quietSinglePage++;
				else coverage.quietMultiPage++;
			}
			this.now += SECOND;
		}
		this.checkExactlyOnce();
	}

	// ---- timeline ----

	private timestamp(lo: number, hi: number, pool: string[], after?: string): string | undefined {
		const { random } = this;
		for (let attempt = 0; attempt < 6; attempt++) {
			const r = random.float();
			let candidate: string;
			if (pool.length && r < 0.3) candidate = random.pick(pool); // exact tie
			else if (pool.length && r < 0.45) {
				// same millisecond, other digits below it
				candidate = `${random.pick(pool).slice(0, 23)}${String(random.int(0, 9999)).padStart(4, '0')}Z`;
			} else {
				const ms = random.int(lo + 1, hi);
				candidate = r < 0.75 ? ts(Math.floor(ms / SECOND) * SECOND) : ts(ms, random.int(0, 9999));
			}
			const ms = timestampToMs(candidate);
			if (ms <= lo || ms > hi || (after !== undefined && candidate <= after)) continue;
			pool.push(candidate);
			return candidate;
		}
		return undefined;
	}

	/** When a version stamped `at` becomes visible: mostly at once, sometimes up to the look-back later. */
	private visibleAt(at: string): number {
		const ms = timestampToMs(at);
		const lookback = this.cfg.lookbackMs;
		if (lookback === 0 || !this.random.chance(0.3)) return ms;
		return ms + this.random.pick([lookback, lookback - 1, this.random.int(1, lookback), this.random.int(1, Math.min(lookback, 5000))]);
	}

	private randomChanges(): Partial<AlertBody> {
		const { random } = this;
		const changes: Partial<AlertBody> = {};
		if (random.chance(0.5)) changes.status = random.pick(STATUSES);
		if (random.chance(0.2)) changes.severity = random.pick(SEVERITIES);
		if (random.chance(0.3)) changes.title = `title ${random.int(0, 99)}`;
		if (random.chance(0.2)) changes.assignedTo = random.pick([null, 'alice@contoso.com', 'bob@contoso.com']);
		return changes;
	}

	private update(id: string, lo: number, hi: number, pool: string[], visibleAt: (at: string) => number): void {
		const alert = this.api.get(id);
		const last = alert.versions[alert.versions.length - 1];
		const at = this.timestamp(lo, hi, pool, last.lastUpdateTime);
		if (!at) return;
		const changes = this.randomChanges();
		if (this.random.chance(0.3)) changes.comments = [...last.comments, 'note'];
		this.api.update(id, at, changes, visibleAt(at));
	}

	private create(lo: number, hi: number, pool: string[], visibleAt: (at: string) => number): void {
		const { random } = this;
		const at = this.timestamp(lo, hi, pool);
		if (!at) return;
		const id = `da${random.int(0, 0xffff).toString(16).padStart(4, '0')}_${this.nextId++}`;
		const body = { status: random.pick(['New', 'New', 'InProgress', 'Resolved']), severity: random.pick(SEVERITIES) };
		this.api.create(id, at, body, visibleAt(at));
	}

	/** Changes made between two polls, stamped in (lo, hi]. */
	private mutate(lo: number, hi: number): void {
		const { random, api } = this;
		const pool: string[] = [];
		const events = random.int(0, 5);
		for (let e = 0; e < events; e++) {
			if (api.alerts.size && random.chance(0.4)) this.update(random.pick([...api.alerts.keys()]), lo, hi, pool, (at) => this.visibleAt(at));
			else this.create(lo, hi, pool, (at) => this.visibleAt(at));
		}
	}

	/**
	 * Changes made between two page requests of the poll at `now`, visible at once and stamped within the look-back
	 * before `now` (the ingestion contract: the next poll's look-back still covers them). Biased to what the poll
	 * has just read: updates of the alerts of the last page (often the last one, the keyset position) and new
	 * alerts tied with their timestamps.
	 */
	private mutateMidway(pages: Alert[][]): void {
		const { random, api, now, field } = this;
		const lo = now - this.cfg.lookbackMs;
		const lastPage = pages[pages.length - 1] ?? [];
		const pool = lastPage.map((a) => cursorOf(a, field)).filter((t) => timestampToMs(t) > lo);
		const events = random.int(1, 3);
		for (let e = 0; e < events; e++) {
			const r = random.float();
			if (lastPage.length && r < 0.5) {
				const read = random.chance(0.5) ? lastPage[lastPage.length - 1] : random.pick(lastPage);
				this.update(String(read.id), lo, now, pool, timestampToMs);
			} else if (api.alerts.size && r < 0.65) {
				this.update(random.pick([...api.alerts.keys()]), lo, now, pool, timestampToMs);
			} else {
				this.create(lo, now, pool, timestampToMs);
			}
		}
	}

	// ---- states stored before the horizon ----

	private isOldestFormat(state: CursorState | undefined): boolean {
		return !!state?.highWater && state.horizon === undefined && state.lookbackMs === undefined;
	}

	/**
	 * The same state as an older version stored it: `lookbackMs` (the distance from highWater to the horizon) instead
	 * of the horizon; or neither, when the horizon is highWater − the configured look-back. Unchanged when the
	 * horizon cannot be written either way (it is not highWater − a whole number of ms).
	 */
	private legacyForm(state: CursorState | undefined): CursorState | undefined {
		if (!state) return state;
		const { horizon, ...rest } = state;
		if (!state.highWater || horizon === undefined) return rest;
		if (this.random.chance(0.4) && horizon === subtractMs(state.highWater, this.host.options.lookbackMs)) return rest;
		const lookbackMs = timestampToMs(state.highWater) - timestampToMs(horizon);
		return subtractMs(state.highWater, lookbackMs) === horizon ? { ...rest, lookbackMs } : state;
	}

	/** The horizon `previous` stands for: stored, or (older states) highWater − the stored or configured look-back. */
	private horizonOf(previous: CursorState | undefined): string | undefined {
		if (!previous?.highWater || previous.horizon !== undefined) return previous?.horizon;
		return subtractMs(previous.highWater, previous.lookbackMs ?? this.host.options.lookbackMs);
	}

	// ---- one poll, checked against the oracle ----

	private noteMatching(): void {
		for (const id of this.api.alerts.keys()) {
			const version = this.api.visibleVersion(id, this.now);
			if (!version) continue;
			this.alwaysMatched.set(id, (this.alwaysMatched.get(id) ?? true) && this.matchesAll(version));
		}
	}

	/** Wanted by the client-side filter (if any). */
	private wanted(alert: Record<string, unknown> | AlertBody): boolean {
		const filter = CLIENT_FILTERS[this.cfg.clientFilter];
		return !filter || filter(alert as unknown as Record<string, unknown>);
	}

	/** Matches the server's filter and the client-side one: what the trigger is meant to deliver. */
	private matchesAll(body: AlertBody): boolean {
		return this.api.matches(body) && this.wanted(body);
	}

	private isFresh(alert: Record<string, unknown>): boolean {
		const last = this.lastEmitted.get(String(alert.id));
		if (!last) return true;
		return this.cfg.triggerOnUpdates && cursorOf(alert, this.field) > last.version;
	}

	/** What a poll starting now must do, from the unpaged result list (valid while the API does not change). */
	private oracle(previous: CursorState | undefined) {
		const { lookbackMs } = this.host.options;
		const horizon = this.horizonOf(previous);
		const lookbackStart = previous?.highWater ? subtractMs(previous.highWater, lookbackMs) : undefined;
		const from = maxTimestamp(lookbackStart ? maxTimestamp(lookbackStart, horizon) : FLOOR, FLOOR) as string;
		const results = this.api.results(this.field, from, this.now);
		if (lookbackStart && horizon && horizon > lookbackStart && horizon > FLOOR) {
			this.coverage.horizonAboveLookback++;
			// Already emitted at this very version, forgotten by `seen`, in [highWater − look-back, from): a scan from
			// highWater − look-back would emit it again.
			const below = this.api.results(this.field, maxTimestamp(lookbackStart, FLOOR) as string, this.now);
			const avoided = below.some((a) => {
				const version = cursorOf(a, this.field);
				return version < from && this.wanted(a) && !this.isFresh(a) && previous?.seen[String(a.id)] === undefined;
			});
			if (avoided) this.coverage.duplicateAvoidedByHorizon++;
		}
		const fresh = results.filter((a) => this.wanted(a) && this.isFresh(a));
		const { maxAlerts } = this.host.options;
		// The scan over the unpaged list: page k is the next `top` alerts, `top` sized by the page rules (see `scanPages`).
		const scan = this.scanPages(previous, from, (_k, offset, top) => results.slice(offset, offset + top));
		// Always the first maxAlerts fresh alerts; the batch is full (stoppedAtLimit) exactly when there are that many.
		expect(scan.emit).toEqual(fresh.slice(0, maxAlerts));
		expect(scan.stopped).toBe(fresh.length >= maxAlerts);
		expect(scan.ended).toBe(true);
		return {
			from,
			results,
			emit: scan.emit,
			read: scan.read,
			stopped: scan.stopped,
			highWater: scan.highWater,
			horizon,
			lookbackMs,
			/** The size (`top`) of each page the scan requests. */
			tops: scan.tops,
		};
	}

	/**
	 * The `top` of a page requested at tail timestamp `t` after `emitted` emissions in this poll: the room left in the
	 * batch plus the versions of the previous state's `seen` (the re-reads still ahead, empty after a cursor-field
	 * switch) at or after `t`, within [1, maxPageSize].
	 */
	private pageTop(previous: CursorState | undefined, t: string, emitted: number): number {
		const seen = previous?.cursorField === this.field ? Object.values(previous.seen) : [];
		const ahead = seen.filter((version) => version >= t).length;
		return Math.max(1, Math.min(this.cfg.maxPageSize, this.host.options.maxAlerts - emitted + ahead));
	}

	/**
	 * What the scan must do with the pages `pageAt(k, offset, top)` serves (undefined: no page k), read in order:
	 * emit each alert not yet emitted (or, with updates, at a newer version than last emitted — also earlier in this
	 * poll) until maxAlerts; each page sized by `pageTop` at the tail (the `from` of its query: `from`, then the
	 * cursor of the last alert read). The scan ends on a page where a wanted new alert does not fit (stoppedAtLimit),
	 * after a page that leaves the batch full (stoppedAtLimit), or after a page shorter than its `top`; `ended` tells
	 * whether it ended on the last page served, `pages` how many pages it took.
	 */
	private scanPages(previous: CursorState | undefined, from: string, pageAt: (k: number, offset: number, top: number) => Alert[] | undefined) {
		const { maxAlerts } = this.host.options;
		const emittedNow = new Map<string, string>();
		const emit: Alert[] = [];
		const tops: number[] = [];
		let read = 0;
		let filteredOut = 0;
		let stopped = false;
		let ended = false;
		let highWater = previous?.highWater;
		let t = from;
		let pages = 0;
		scan: for (let k = 0; ; k++) {
			const top = this.pageTop(previous, t, emit.length);
			const page = pageAt(k, read, top);
			if (!page) break;
			pages++;
			tops.push(top);
			for (const alert of page) {
				const id = String(alert.id);
				const version = cursorOf(alert, this.field);
				const last = emittedNow.get(id) ?? this.lastEmitted.get(id)?.version;
				if (!this.wanted(alert)) filteredOut++;
				else if (last === undefined || (this.cfg.triggerOnUpdates && version > last)) {
					if (emit.length === maxAlerts) {
						stopped = true;
						ended = true;
						break scan;
					}
					emit.push(alert);
					emittedNow.set(id, version);
				}
				read++;
				highWater = maxTimestamp(highWater, version);
				t = version;
			}
			if (emit.length >= maxAlerts) stopped = true;
			if (stopped || page.length < top) {
				ended = true;
				break;
			}
		}
		return { emit, read, filteredOut, stopped, highWater, tops, pages, ended };
	}

	/**
	 * The page queries a scan from `from` must send for the pages it received, page k with size `tops[k]`: the first
	 * `cursor ge from`; each next one continues after the last alert of the page before — keyset: after its
	 * (cursor, id); skip: from its cursor, skipping the alerts read at that cursor so far.
	 */
	private expectedQueries(pages: Alert[][], from: string, tops: number[]): PageQuery[] {
		const queries: PageQuery[] = [{ from, skip: 0, top: tops[0] }];
		let t = from;
		let readAtT = 0;
		for (const [k, page] of pages.slice(0, -1).entries()) {
			for (const alert of page) {
				const cursor = cursorOf(alert, this.field);
				readAtT = cursor === t ? readAtT + 1 : 1;
				t = cursor;
			}
			const last = page[page.length - 1];
			const top = tops[k + 1];
			queries.push(
				this.cfg.paging === 'keyset'
					? { from: t, after: { id: String(last.id) }, skip: 0, top }
					: { from: t, skip: readAtT, top },
			);
		}
		return queries;
	}

	private poll(failOnRequest: number | undefined): PollOutcome | undefined {
		this.polls++;
		this.coverage.polls++;
		if (!this.cfg.triggerOnUpdates) this.noteMatching();
		const previous = this.host.memory;
		const before = JSON.stringify(previous);
		if (previous?.highWater && previous.horizon === undefined) {
			if (previous.lookbackMs === undefined) this.coverage.legacyOldestState++;
			else this.coverage.legacyLookbackState++;
		}
		const context = `seed ${this.seed} ${JSON.stringify(this.cfg)} poll ${this.polls} at ${ts(this.now)}`;
		this.changedMidway = false;
		this.midwayChangesLeft = 2;
		const beforeRequest = this.cfg.midPoll && !this.quiet ? (n: number, pages: Alert[][]) => this.maybeChangeMidway(n, pages) : undefined;
		try {
			// Before the poll: what it must do from the API as it is now.
			const expected = this.oracle(previous);
			let out: PollOutcome;
			try {
				out = this.host.poll(this.now, { failOnRequest, beforeRequest });
			} catch (error) {
				if (!(error instanceof PollFailure)) throw error;
				this.coverage.failures++;
				expect(JSON.stringify(this.host.memory)).toBe(before);
				return undefined;
			}
			this.check(out, expected, previous);
			return out;
		} catch (error) {
			if (error instanceof Error) error.message = `${context}\n${error.message}`;
			throw error;
		}
	}

	private maybeChangeMidway(request: number, pages: Alert[][]): void {
		if (request < 2 || this.midwayChangesLeft === 0 || !this.random.chance(0.35)) return;
		this.midwayChangesLeft--;
		const lastPage = pages[pages.length - 1];
		const last = lastPage[lastPage.length - 1];
		const t = cursorOf(last, this.field);
		const readAtT = pages.flat().filter((a) => cursorOf(a, this.field) === t);
		this.mutateMidway(pages);
		this.changedMidway = true;
		if (!this.cfg.triggerOnUpdates) this.noteMatching();
		// The situation keyset paging was made for: a tie read at t has left t (or the results) while an unread
		// alert at t is still to come after the keyset position.
		const nowAtT = this.api.results(this.field, t, this.now).filter((a) => cursorOf(a, this.field) === t);
		const stillThere = new Set(nowAtT.map((a) => String(a.id)));
		const unreadAfter = nowAtT.some((a) => String(a.id) > String(last.id));
		if (unreadAfter && readAtT.some((a) => !stillThere.has(String(a.id)))) this.coverage.readTieLeftBeforeNextPage++;
	}

	private check(out: PollOutcome, expected: ReturnType<ModelRun['oracle']>, previous: CursorState | undefined): void {
		const { field, cfg, coverage } = this;
		const key = (a: Record<string, unknown>): string => `${String(a.id)}@${cursorOf(a, field)}`;

		// What the scan must have done with the pages it actually received (whatever the API did meanwhile), read in
		// order with the page rules.
		const replay = this.scanPages(previous, expected.from, (k) => out.pages[k]);

		// Pages and their queries: keys read strictly increase, and each query continues exactly after the page before,
		// sized by the page rules.
		const received = out.pages.flat();
		const notIncreasing = received.findIndex((a, i) => i > 0 && byKey(field)(received[i - 1], a) !== -1);
		expect(notIncreasing === -1 ? undefined : received.slice(notIncreasing - 1, notIncreasing + 1)).toBeUndefined();
		expect(out.scan.from).toBe(expected.from);
		expect(out.queries).toEqual(this.expectedQueries(out.pages, expected.from, replay.tops));
		for (let k = 1; k < out.pages.length; k++) {
			const before = out.pages[k - 1];
			const boundary = before[before.length - 1];
			if (out.pages[k].length && cursorOf(out.pages[k][0], field) === cursorOf(boundary, field)) coverage.tiesAcrossPages++;
		}

		// What the scan did with them.
		expect(out.emissions.map((e) => key(e.alert))).toEqual(replay.emit.map(key));
		expect(out.emissions.map((e) => e.alert)).toEqual(replay.emit);
		expect(out.scan.stats.read).toBe(replay.read);
		expect(out.scan.stats.filteredOut).toBe(replay.filteredOut);
		expect(out.scan.stats.stoppedAtLimit).toBe(replay.stopped);
		if (replay.filteredOut) coverage.clientFiltered++;
		expect(out.scan.stats.pages).toBe(out.queries.length);
		// Exactly as many requests as the rules allow: the scan ends on the last page received (a wanted new alert that
		// does not fit, a full batch after it, or a page shorter than its top), not before and not after.
		expect({ pages: replay.pages, ended: replay.ended }).toEqual({ pages: out.pages.length, ended: true });
		expect(out.state.highWater).toBe(replay.highWater);
		if (replay.stopped) coverage.limitStops++;

		if (this.changedMidway) {
			coverage.pollsChangedMidway++;
			if (new Set(ids(out)).size < out.emissions.length) coverage.rereadInSamePoll++;
		} else {
			// The API did not change during the poll: the pages are the unpaged list cut into pages — nothing skipped,
			// nothing read twice — and the poll did exactly what the oracle says.
			const offsets = expected.tops.map((_, k) => expected.tops.slice(0, k).reduce((sum, top) => sum + top, 0));
			expect(out.pages).toEqual(expected.tops.map((top, k) => expected.results.slice(offsets[k], offsets[k] + top)));
			expect(out.queries.map((q) => q.top)).toEqual(expected.tops);
			expect(out.emissions.map((e) => key(e.alert))).toEqual(expected.emit.map(key));
			expect(out.scan.stats.read).toBe(expected.read);
			expect(out.scan.stats.stoppedAtLimit).toBe(expected.stopped);
			expect(out.state.highWater).toBe(expected.highWater);
			// A quiet poll whose window fits in a page makes one request: its first page is sized for maxAlerts plus every
			// version of `seen` at or after `from`, and without a client-side filter every alert in the window is such a
			// re-read, so the page comes back short. Not with a client-side filter: rejected alerts are re-read without
			// being in `seen`.
			if (!out.emissions.length && expected.results.length < cfg.maxPageSize && cfg.clientFilter === 'none') {
				expect(out.queries).toHaveLength(1);
			}
			if (previous?.highWater && expected.results.some((a) => cursorOf(a, field) === expected.from && !this.isFresh(a))) {
				if ('rereadAtBoundary' in coverage) coverage.rereadAtBoundary++;
			}
		}
		for (let i = 1; i < out.emissions.length; i++) {
			const [a, b] = [out.emissions[i - 1].alert, out.emissions[i].alert];
			if (cursorOf(a, field) !== cursorOf(b, field) && cursorOf(a, field).slice(0, 23) === cursorOf(b, field).slice(0, 23)) {
				coverage.belowMsNeighbours++;
			}
		}

		for (const emission of out.emissions) this.record(emission);

		// State.
		const { state } = out;
		expect(state.since).toBe(FLOOR);
		expect(state).not.toHaveProperty('lookbackMs');
		const horizon = state.highWater ? maxTimestamp(subtractMs(state.highWater, expected.lookbackMs), expected.horizon) : undefined;
		expect(state.horizon).toBe(horizon);
		if (!out.emissions.length && previous) {
			// Only highWater (past alerts rejected on the client) and the horizon may move, and `seen` forgets what falls
			// below the horizon. An older state is rewritten in the current format.
			const { lookbackMs: _stored, ...current } = previous;
			const seen = Object.fromEntries(Object.entries(previous.seen).filter(([, version]) => horizon === undefined || version >= horizon));
			expect(state).toEqual({ ...current, highWater: replay.highWater, horizon, seen });
			if (cfg.clientFilter === 'none') expect(state.highWater).toBe(previous.highWater);
			if (cfg.clientFilter === 'none' && previous.horizon !== undefined && horizon === previous.horizon) expect(state).toEqual(previous);
			if (state.highWater !== previous.highWater) coverage.silentHighWaterMoves++;
		}
		if (state.highWater) {
			const highWater = state.highWater;
			const lowest = horizon as string;
			expect(lowest <= highWater).toBe(true);
			const outside = Object.entries(state.seen).filter(([, version]) => version < lowest || version > highWater);
			expect(outside).toEqual([]);
			// Exactly the alerts whose last emitted version is at or after the horizon, at that version.
			const expectedSeen = [...this.lastEmitted].filter(([, last]) => last.version >= lowest).map(([id, last]) => [id, last.version]);
			expect(state.seen).toEqual(Object.fromEntries(expectedSeen));
			const emittedInRange = this.emitted.filter(({ version }) => version >= lowest && version <= highWater).length;
			expect(Object.keys(state.seen).length).toBeLessThanOrEqual(emittedInRange);
			expect(Object.keys(state.seen).length).toBeLessThanOrEqual(this.api.versionsBetween(field, lowest, highWater));
			if (!cfg.lookbackChanges) expect(state.horizon).toBe(subtractMs(highWater, cfg.lookbackMs));
		} else {
			expect(state.seen).toEqual({});
		}
	}

	private record(emission: Emission): void {
		const { alert, change } = emission;
		const id = String(alert.id);
		const version = cursorOf(alert, this.field);
		const last = this.lastEmitted.get(id);
		expect(this.matchesAll(alert as unknown as AlertBody)).toBe(true);
		const visible = this.api.visibleVersion(id, this.now);
		if (visible && visible.visibleAtMs - timestampToMs(visible.lastUpdateTime) >= MINUTE) this.coverage.lateEmitted++;
		let expectedChange: ChangeInfo;
		if (this.cfg.triggerOnUpdates) {
			if (last) {
				expect(version > last.version).toBe(true);
				const before = snap(last.alert);
				const now = snap(alert);
				const changedFields = TRACKED.filter((f) => before[f] !== now[f]);
				expectedChange = {
					type: 'update',
					version,
					changedFields,
					previous: Object.fromEntries(changedFields.map((f) => [f, before[f]])) as ChangeInfo['previous'],
				};
				if (this.api.get(id).versions.some((v) => v.lastUpdateTime > last.version && v.lastUpdateTime < version && !this.matchesAll(v))) {
					this.coverage.reentriesEmitted++;
				}
			} else {
				expectedChange = { type: 'new', version };
			}
		} else {
			expect(last).toBeUndefined();
			expectedChange = { type: 'new', version };
		}
		expect(change).toEqual(expectedChange);
		this.emitted.push({ id, version, poll: this.polls });
		this.lastEmitted.set(id, { version, alert });
	}

	// ---- the requirement, at the end ----

	private checkExactlyOnce(): void {
		const context = `seed ${this.seed} ${JSON.stringify(this.cfg)}`;
		const problems: string[] = [];
		const pairs = new Set<string>();
		for (const { id, version } of this.emitted) {
			const pair = this.cfg.triggerOnUpdates ? `${id}@${version}` : id;
			if (pairs.has(pair)) problems.push(`emitted twice: ${pair}`);
			pairs.add(pair);
		}
		for (const alert of this.api.alerts.values()) {
			const final = this.api.visibleVersion(alert.id, this.now);
			if (!final) throw new Error(`${alert.id} still invisible after the quiet period`);
			if (this.cfg.triggerOnUpdates) {
				if (this.matchesAll(final) && this.lastEmitted.get(alert.id)?.version !== final.lastUpdateTime) {
					problems.push(`lost: ${alert.id}@${final.lastUpdateTime} (last emitted ${this.lastEmitted.get(alert.id)?.version})`);
				}
			} else if (this.alwaysMatched.get(alert.id) && !this.lastEmitted.has(alert.id)) {
				problems.push(`lost: ${alert.id} (created ${alert.alertCreationTime})`);
			}
		}
		if (problems.length) throw new Error(`${context}\n${problems.join('\n')}`);
		expect(this.emitted.length).toBeGreaterThan(0);
	}
}

describe.each(RUNS)('model: random timelines, paging $name', (run) => {
	describe.each([false, true])('triggerOnUpdates=%s', (triggerOnUpdates) => {
		test.each(run.seeds)('seed %i: exactly once, bounded state, exact page requests', (seed) => {
			const random = new Random(seed * 7919 + (triggerOnUpdates ? 1 : 0));
			const coverage = coverageByRun.get(run.name) as Record<string, number>;
			new ModelRun(seed, configFor(random, run, triggerOnUpdates), random, coverage).run();
		});
	});
});

test.each(RUNS.map((run) => run.name))('the random runs (%s) met every situation they are meant to exercise', (name) => {
	const coverage = coverageByRun.get(name) as Record<string, number>;
	if (coverage.polls === 0) return; // these model runs were filtered out (-t)
	if (process.env.MODEL_COVERAGE) console.log(name, JSON.stringify(coverage));
	for (const [situation, count] of Object.entries(coverage)) {
		if (count === 0) throw new Error(`never met: ${situation} (${JSON.stringify(coverage)})`);
	}
});
