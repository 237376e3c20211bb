/**
 * Drives CursorScan the way the real trigger does (see `scanAlerts` in nodes/MicrosoftDefender/trigger/poll.ts)
 * against the fake API: each PageQuery becomes the request poll.ts would send (page clause and `$orderby` from
 * `pageSelection` in sources.ts, `$skip` left out when 0; a rejected `$orderby` is sent again without it and
 * reported with `rejectOrder`), and hands each page to `accept` with the source's client-side filter, if any
 * (`source.clientFilter`, e.g. Graph's category and detection source; here `clientFilter` in the scan options).
 * It simulates n8n's static
 * data: the committed state is kept in memory after every successful poll but persisted only when the poll
 * emitted items; a restart rolls the state back to the last persisted one; a poll that throws commits nothing.
 */
import {
	CursorScan,
	type Alert,
	type CursorFields,
	type CursorOptions,
	type CursorState,
	type Emission,
	type PageQuery,
} from '../../nodes/MicrosoftDefender/scan/cursor';
import { pageSelection } from '../../nodes/MicrosoftDefender/scan/sources';
import { OrderbyRejected, type CursorFieldName, type FakeAlertApi, type PageRequest } from './fakeAlertApi';

export const TRACKED = ['status', 'severity', 'title', 'assignedTo', 'comments'];

export function cursorFields(triggerOnUpdates: boolean): CursorFields & { cursor: CursorFieldName } {
	return {
		id: 'id',
		cursor: triggerOnUpdates ? 'lastUpdateTime' : 'alertCreationTime',
		created: 'alertCreationTime',
		tracked: TRACKED,
	};
}

export type ScanOptions = CursorOptions & {
	fields: CursorFields & { cursor: CursorFieldName };
	/** What `source.clientFilter(filters)` returns in poll.ts: alerts the API cannot filter out, passed to `accept`. */
	clientFilter?: (alert: Alert) => boolean;
};

export function scanOptions(
	overrides: Partial<Omit<ScanOptions, 'fields'>> & { triggerOnUpdates: boolean },
): ScanOptions {
	return {
		lookbackMs: 15 * 60_000,
		maxAlerts: 1000,
		maxPageSize: 10_000,
		changeMemory: 1000,
		...overrides,
		fields: cursorFields(overrides.triggerOnUpdates),
	};
}

/** The request `scanAlerts` sends for `query`. */
export function pageRequest(query: PageQuery, options: ScanOptions): PageRequest {
	const { clause, orderby } = pageSelection(options.fields.cursor, query);
	return { filter: clause, ...(orderby ? { orderby } : {}), top: query.top, ...(query.skip ? { skip: query.skip } : {}) };
}

export class PollFailure extends Error {}

export interface PollHooks {
	/** Throw instead of sending the n-th page request (1-based), as a request failing after its retries. */
	failOnRequest?: number;
	/** Runs just before the n-th page request is served (to mutate the API in the middle of a poll), with the pages so far. */
	beforeRequest?: (n: number, pages: Alert[][]) => void;
}

export interface PollOutcome {
	scan: CursorScan;
	emissions: Emission[];
	queries: PageQuery[];
	/** What each page request returned. */
	pages: Alert[][];
	state: CursorState;
}

/** One poll exactly like `scanAlerts` in poll.ts: page until `nextQuery()` is undefined, then commit. */
export function pollOnce(
	api: FakeAlertApi,
	previous: CursorState | undefined,
	options: ScanOptions,
	floor: string,
	nowMs: number,
	hooks: PollHooks = {},
): PollOutcome {
	const scan = new CursorScan(previous, options, floor);
	const queries: PageQuery[] = [];
	const pages: Alert[][] = [];
	for (let query = scan.nextQuery(); query; query = scan.nextQuery()) {
		queries.push(query);
		if (queries.length > 10_000) throw new Error(`runaway scan: ${JSON.stringify(queries.slice(-3))}`);
		hooks.beforeRequest?.(queries.length, pages);
		if (hooks.failOnRequest === queries.length) throw new PollFailure(`page request ${queries.length} failed`);
		const request = pageRequest(query, options);
		let page: Alert[];
		try {
			page = api.page(options.fields.cursor, request, nowMs);
		} catch (error) {
			if (!(error instanceof OrderbyRejected)) throw error;
			const { orderby: _rejected, ...unordered } = request;
			page = api.page(options.fields.cursor, unordered, nowMs);
			scan.rejectOrder(error.message);
		}
		pages.push(page);
		scan.accept(page, options.clientFilter);
	}
	return { scan, emissions: scan.emissions, queries, pages, state: scan.commit() };
}

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** The trigger as n8n runs it: static data in memory, persisted with emitted items only. */
export class TriggerHost {
	/** The node's static data in the running n8n process. */
	memory: CursorState | undefined;

	/** What the database holds (restored on restart). */
	persisted: CursorState | undefined;

	constructor(
		readonly api: FakeAlertApi,
		public options: ScanOptions,
		/** The floor for a poll at `nowMs` (fixed, or e.g. "1 day ago" recomputed each poll). */
		public floor: (nowMs: number) => string,
	) {}

	/** Throws (and changes nothing) when the poll fails. */
	poll(nowMs: number, hooks: PollHooks = {}): PollOutcome {
		const outcome = pollOnce(this.api, this.memory, this.options, this.floor(nowMs), nowMs, hooks);
		this.memory = outcome.state;
		if (outcome.emissions.length) this.persisted = clone(outcome.state);
		return outcome;
	}

	restart(): void {
		this.memory = clone(this.persisted);
	}
}

/** `id` of each emission, in order. */
export const ids = (outcome: { emissions: Emission[] }): string[] => outcome.emissions.map((e) => String(e.alert.id));

/** `id@version` of each emission, in order. */
export const versions = (outcome: { emissions: Emission[] }): string[] =>
	outcome.emissions.map((e) => `${String(e.alert.id)}@${e.change.version}`);

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export class Random {
	private readonly next: () => number;

	constructor(seed: number) {
		this.next = prng(seed);
	}

	float(): number {
		return this.next();
	}

	chance(p: number): boolean {
		return this.next() < p;
	}

	/** Integer in [lo, hi]. */
	int(lo: number, hi: number): number {
		return lo + Math.floor(this.next() * (hi - lo + 1));
	}

	pick<T>(values: readonly T[]): T {
		return values[Math.floor(this.next() * values.length)];
	}
}
