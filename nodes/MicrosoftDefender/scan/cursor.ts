/**
 * The trigger's cursor and de-duplication, as a pure module (no n8n imports) so it can be tested exhaustively.
 *
 * A poll scans the alerts whose cursor field (lastUpdateTime with "trigger on updates", alertCreationTime
 * without) is at or after `from`, oldest first:
 *
 *   from = max(highWater − lookback, horizon, floor)      (floor: the "max historical poll start")
 *
 * `highWater` is the newest cursor value the scans have processed in order. The look-back re-reads a window
 * behind it on every poll, which catches alerts that become visible in the API after their own timestamp
 * (ingestion delay). Re-read alerts are recognised by `seen` (id → cursor value last emitted), which holds the
 * emitted versions at or after `horizon` (= highWater − lookback, never moving back): anything older can never
 * be scanned again, so the state is bounded by the look-back window, not by the number of alerts ever seen.
 *
 * Delivery: an alert version is emitted when its id is unseen, or (with updates) its cursor value is newer than
 * the one emitted. Nothing is written to the state until `commit()`, which the caller runs only after the poll
 * succeeded; n8n saves the state together with the emitted items, so a failed or rolled-back poll leaves the
 * cursor where it was and the alerts are offered again.
 *
 * Page order. Microsoft documents `$filter` (with `ge`/`lt` on the time fields), `$top` and `$skip` for both
 * alert APIs, but no `$orderby` for MDE alerts, and Graph says its newest alerts come first. So the scan never
 * relies on an order it has not checked:
 *
 * - Every request selects a time window, `field ge A` (or `gt A` once every alert at A was read) and, when the
 *   scan narrowed it, `and field lt B`. An answer with fewer alerts than `$top` is the whole window, in any
 *   order: it is sorted here by (time, id) and processed oldest first.
 * - `order: 'asc'` (the default) also asks for `$orderby=<field> asc`, one key, as production integrations send
 *   it. A full page is used only when it shows that order (non-decreasing, at least two distinct instants):
 *   then every alert before its last instant was in it, and the next page starts at that instant, skipping the
 *   alerts already read there (by id: no `id` comparison, no second sort key).
 * - A page out of order (the API ignores `$orderby`) or a rejected `$orderby` (the caller reports the 400) turn
 *   the state's `order` to 'none' for good: time windows only. A full answer is then split (by the density the
 *   page shows when it came newest first, else in halves) until a window's answer is complete; the width that
 *   worked is kept for the next poll.
 * - An instant holding a full page of alerts is read alone (`field eq t`), with `$skip` inside it.
 */
import {
	canonicalTimestamp,
	maxTimestamp,
	subtractMs,
	timestampFromTicks,
	timestampToTicks,
} from '../helpers/timestamps';

export type Alert = Record<string, unknown>;

export interface CursorFields {
	/** Field holding the alert id. */
	id: string;
	/** Field the scan is ordered and filtered by. */
	cursor: string;
	/** Field holding the creation time (tells a new alert from an update of an older one). */
	created: string;
	/** Fields whose previous values are reported when an update is emitted. */
	tracked: string[];
	/**
	 * Tracked list fields whose entries carry an `id` (an incident's `alerts`): an update names the ids added
	 * and removed. While such a field is absent from the answer (not asked for, or not readable) it is not
	 * compared.
	 */
	idLists?: string[];
}

/** How the API answers `$orderby=<field> asc`: with sorted pages ('asc'), or not ('none': time windows only). */
export type PageOrder = 'asc' | 'none';

export interface CursorOptions {
	triggerOnUpdates: boolean;
	lookbackMs: number;
	/** Most alerts emitted by one poll; the rest follow on the next polls, oldest first. */
	maxAlerts: number;
	/** Largest page the API accepts. */
	maxPageSize: number;
	/** Largest `$skip` the API accepts (Graph: 500); only used inside one instant holding a full page. */
	maxSkip?: number;
	/** Alerts whose last emitted field values are remembered, to name what an update changed. */
	changeMemory: number;
	fields: CursorFields;
	/** The poll's clock, canonical: no alert is newer, so the last window is left open from there. */
	now?: string;
	/** What is polled (alert source, tenant): a state saved for something else is not continued. */
	identity?: { source: string; tenant: string };
}

export type Snapshot = Record<string, string | number | boolean | null>;

export interface CursorState {
	version: 1;
	/** The alert source and tenant the position belongs to (absent in states saved before they were recorded). */
	source?: string;
	tenant?: string;
	cursorField: string;
	/** The floor of the first poll: alerts created before it are updates of older alerts, not new ones. */
	since?: string;
	highWater?: string;
	/**
	 * `seen` holds every emitted version at or after this instant (older ones were pruned). Scans never start
	 * before it, so a raised look-back widens the window only as new versions are recorded.
	 */
	horizon?: string;
	/** Older states stored the look-back they were pruned with instead of the horizon. */
	lookbackMs?: number;
	seen: Record<string, string>;
	/** Last emitted field values, least recently emitted first: [id, version, snapshot]. */
	known?: Array<[string, string, Snapshot]>;
	/** Absent: 'asc' until the API shows otherwise. */
	order?: PageOrder;
	/** Why the order is 'none' (for the log and for support). */
	orderReason?: string;
	/** With order 'none' and a backlog left: the window width (ms) that last fitted in a page, to start the next poll with. */
	windowMs?: number;
	/**
	 * Incidents read without `$expand=alerts` since it failed (scan/incidentAlerts.ts keeps it; the cursor does
	 * not read it).
	 */
	alertsFallback?: { reason: string; sinceMs: number; alerts: 'filter' | 'none'; alertsReason?: string };
}

export interface ChangeInfo {
	type: 'new' | 'update';
	/** The cursor value of this version. */
	version: string;
	/** Tracked fields whose values differ from the version last emitted; absent when that version is unknown. */
	changedFields?: string[];
	/** Their values in the version last emitted (for list fields such as comments: the number of entries). */
	previous?: Snapshot;
	/** For the `idLists` fields that changed: the ids that joined, by field (e.g. `{ alerts: ['da63…'] }`). */
	added?: Record<string, string[]>;
	/** For the `idLists` fields that changed: the ids that left, by field. */
	removed?: Record<string, string[]>;
}

export interface Emission {
	alert: Alert;
	change: ChangeInfo;
}

/** One page request: a time window of the cursor field, and the OData options that go with it. */
export interface PageQuery {
	/** Lower bound, canonical 7-digit UTC: `field ge from`, or `field gt from` when `fromExclusive`. */
	from: string;
	fromExclusive: boolean;
	/** Exclusive upper bound (`field lt before`), when the scan narrowed the window. */
	before?: string;
	/** Only the alerts at exactly `from` (`field eq from`): an instant holding a full page. */
	instant: boolean;
	/** `$skip`, only inside an instant. */
	skip: number;
	top: number;
	/** Ask for `$orderby=<field> asc`. */
	ordered: boolean;
}

export interface ScanStats {
	pages: number;
	read: number;
	alreadyEmitted: number;
	/** Read but excluded by the client-side filter. */
	filteredOut: number;
	emitted: number;
	stoppedAtLimit: boolean;
	/** Full answers that had to be asked again as narrower windows. */
	splits: number;
	/** The scan ended before it was complete because the caller ran out of time (the next poll continues). */
	stoppedEarly: boolean;
	/** Instants holding more alerts than a page plus the API's `$skip` cap can reach (logged by the caller). */
	instantsCut: number;
}

function snapshotValue(value: unknown): string | number | boolean | null {
	if (Array.isArray(value)) return value.length;
	if (value === undefined || value === null) return null;
	if (typeof value === 'object') return JSON.stringify(value);
	return value as string | number | boolean;
}

/** The sorted ids of a list of entities, as one string (`null` when the field is absent). */
function idListValue(value: unknown): string | null {
	if (!Array.isArray(value)) return null;
	const ids = value.map((entry) => String((entry as { id?: unknown } | null)?.id ?? '')).filter(Boolean);
	return JSON.stringify([...new Set(ids)].sort());
}

export function snapshot(alert: Alert, fields: string[], idLists: string[] = []): Snapshot {
	const out: Snapshot = {};
	for (const field of fields) out[field] = idLists.includes(field) ? idListValue(alert[field]) : snapshotValue(alert[field]);
	return out;
}

function idsOf(value: string | number | boolean | null | undefined): string[] {
	return typeof value === 'string' ? (JSON.parse(value) as string[]) : [];
}

const ONE_TICK = BigInt(1);
const TWO = BigInt(2);
const TICKS_PER_MS = BigInt(10_000);
/** A window is sized to hold about this share of a page, so that it rarely overflows. */
const WINDOW_FILL = 0.7;
/** How much a window may grow after one whose answer was complete. */
const WINDOW_GROWTH = 8;

type Read = { alert: Alert; id: string; version: string | undefined };

export class CursorScan {
	readonly emissions: Emission[] = [];

	readonly stats: ScanStats = {
		pages: 0,
		read: 0,
		alreadyEmitted: 0,
		filteredOut: 0,
		emitted: 0,
		stoppedAtLimit: false,
		splits: 0,
		stoppedEarly: false,
		instantsCut: 0,
	};

	private readonly seen: Record<string, string>;

	private readonly known: Map<string, { v: string; f: Snapshot }>;

	private readonly previous: CursorState | undefined;

	/** Versions already emitted, sorted: alerts the scan will read again, which take page slots too. */
	private readonly rereads: string[];

	private highWater: string | undefined;

	private readonly horizon: string | undefined;

	/** Everything before the position was processed; at `lo` itself, the alerts in `readAtLo` (or all, when exclusive). */
	private lo: string;

	private loExclusive = false;

	private readonly readAtLo = new Set<string>();

	/** Upper end of the current window (exclusive); undefined: open. */
	private hi: string | undefined;

	/** Reading the instant `lo` alone, `instantSkip` alerts into it. */
	private instant = false;

	private instantSkip = 0;

	/** Width of the current (then the next) window in order 'none', in ticks. */
	private windowTicks: bigint | undefined;

	/** End of the narrowest window starting at or before `lo` known to hold a full page (order 'none'). */
	private fullEnd: bigint | undefined;

	/** The alerts of the instant being read alone, until it is complete. */
	private instantReads: Read[] = [];

	private readonly instantIds = new Set<string>();

	private query: PageQuery | undefined;

	private done = false;

	/** The page order this scan uses; see `orderChange` for a switch during the scan. */
	order: PageOrder;

	/** Set when this scan found that the API does not sort (to be said once in the log). */
	orderChange: string | undefined;

	/** Where this scan starts (inclusive). */
	readonly from: string;

	/** True when `previous` belonged to another source or tenant and was not continued. */
	readonly restarted: boolean;

	constructor(
		saved: CursorState | undefined,
		private readonly options: CursorOptions,
		/** Canonical timestamp before which nothing is wanted (the max historical poll start). */
		private readonly floor: string,
	) {
		this.restarted = saved !== undefined && !continuesState(saved, options.identity);
		const previous = this.restarted ? undefined : saved;
		// Toggling "trigger on updates" changes the cursor field: keep the position, not the per-field memory.
		const sameField = previous?.cursorField === options.fields.cursor;
		this.previous = previous;
		this.seen = sameField ? { ...previous.seen } : {};
		this.known = new Map(
			sameField && Array.isArray(previous.known) ? previous.known.map(([id, v, f]) => [id, { v, f }]) : [],
		);
		this.highWater = previous?.highWater;
		// What `seen` covers. After a cursor-field switch it covers nothing: resume exactly at the high-water mark.
		if (!sameField) {
			this.horizon = this.highWater;
		} else if (previous.horizon !== undefined || !previous.highWater) {
			this.horizon = previous.horizon;
		} else {
			this.horizon = subtractMs(previous.highWater, previous.lookbackMs ?? options.lookbackMs);
		}
		const resumeAt = this.highWater
			? maxTimestamp(subtractMs(this.highWater, options.lookbackMs), this.horizon)
			: floor;
		this.from = maxTimestamp(resumeAt, floor) as string;
		this.lo = this.from;
		this.rereads = Object.values(this.seen).sort();
		this.order = previous?.order === 'none' ? 'none' : 'asc';
		if (this.order === 'none' && previous?.windowMs) {
			this.windowTicks = BigInt(Math.max(1, Math.round(previous.windowMs))) * TICKS_PER_MS;
			this.hi = this.windowEnd(this.lo);
		}
	}

	get complete(): boolean {
		return this.done;
	}

	/** The next page to request, or undefined when the scan is complete. */
	nextQuery(): PageQuery | undefined {
		if (this.done) return undefined;
		const { maxPageSize } = this.options;
		if (this.instant) {
			// $skip within the API's cap: past it, the last allowed offset still reaches a page further.
			const skip = Math.min(this.instantSkip, this.options.maxSkip ?? Number.POSITIVE_INFINITY);
			this.query = { from: this.lo, fromExclusive: false, instant: true, skip, top: maxPageSize, ordered: false };
		} else {
			this.query = {
				from: this.lo,
				fromExclusive: this.loExclusive,
				...(this.hi !== undefined ? { before: this.hi } : {}),
				instant: false,
				skip: 0,
				top: this.order === 'asc' ? this.sortedPageSize() : maxPageSize,
				ordered: this.order === 'asc',
			};
		}
		return this.query;
	}

	/**
	 * Whether `item`, as read now, is a version not emitted yet (what `accept` would emit if it matches and fits):
	 * the incident trigger reads the alerts of those incidents only, not of every look-back re-read.
	 */
	wants(item: Alert): boolean {
		const read = this.describe(item);
		if (!read.id) return false;
		const emitted = this.seen[read.id];
		return emitted === undefined || (this.options.triggerOnUpdates && (read.version === undefined || emitted < read.version));
	}

	/**
	 * The API rejected `$orderby` (HTTP 400) and answered the same query without it: time windows from now on.
	 * The caller then hands that answer to `accept`.
	 */
	rejectOrder(reason: string): void {
		if (this.query) this.query.ordered = false;
		this.switchToWindows(`the API rejected $orderby (${reason})`);
	}

	/** Ends the scan before it is complete (the caller is out of time); what was processed is kept. */
	stopEarly(): void {
		if (this.done) return;
		this.stats.stoppedEarly = true;
		this.done = true;
	}

	/**
	 * Feeds the answer to the last query, in whatever order the API returned it. Returns true when the scan is
	 * complete. `matches` filters on the client what the API cannot filter: other alerts still move the cursor.
	 */
	accept(page: Alert[], matches?: (alert: Alert) => boolean): boolean {
		const query = this.query;
		if (this.done || !query) return true;
		this.query = undefined;
		this.stats.pages++;
		const reads = page.map((alert) => this.describe(alert));
		const full = page.length >= query.top;

		if (query.instant) {
			// Kept until the instant is complete, so that its alerts go out in id order like any other tie.
			for (const read of reads) if (!read.id || !this.instantIds.has(read.id)) this.instantReads.push(read);
			for (const read of reads) if (read.id) this.instantIds.add(read.id);
			this.instantSkip = query.skip + page.length;
			const cut = full && query.skip >= (this.options.maxSkip ?? Number.POSITIVE_INFINITY);
			// More alerts in 100 ns than a page plus the API's largest $skip: the rest cannot be asked for.
			if (cut) this.stats.instantsCut++;
			if (full && !cut) return this.done;
			const instantReads = this.instantReads.sort(byVersionThenId);
			this.instantReads = [];
			this.instantIds.clear();
			this.feed(instantReads, matches);
			if (!this.done) this.passInstant(instantReads.length);
			return this.done;
		}

		const ascending = isAscending(reads);
		if (query.ordered && !ascending) {
			this.switchToWindows('the API returned a page out of the requested $orderby order');
		}
		if (!full) {
			// The whole window, in any order.
			this.feed(reads.sort(byVersionThenId), matches);
			if (!this.done) this.nextWindow(page.length);
			return this.done;
		}
		const distinct = new Set(reads.map((r) => r.version)).size;
		const last = reads.reduce<string>((newest, r) => (r.version !== undefined && r.version > newest ? r.version : newest), '');
		if (query.ordered && ascending && distinct >= 2 && last > this.lo) {
			// A sorted full page: everything before its last instant was in it; continue at that instant.
			this.feed(reads.sort(byVersionThenId), matches);
			if (this.done) return true;
			this.readAtLo.clear();
			this.lo = last;
			this.loExclusive = false;
			for (const r of reads) if (r.version === last && r.id) this.readAtLo.add(r.id);
			return this.done;
		}
		this.split(reads, query.ordered && this.order === 'asc');
		return this.done;
	}

	/** Page size when the API sorts: the room left in the batch, plus the already-read alerts it will return again. */
	private sortedPageSize(): number {
		let low = 0;
		let high = this.rereads.length;
		while (low < high) {
			const mid = (low + high) >> 1;
			if (this.rereads[mid] < this.lo) low = mid + 1;
			else high = mid;
		}
		const ahead = this.rereads.length - low;
		const room = this.options.maxAlerts - this.emissions.length;
		// At least 2: a full page of one alert cannot show an order.
		return Math.max(2, Math.min(this.options.maxPageSize, room + ahead + this.readAtLo.size));
	}

	private describe(alert: Alert): Read {
		const { fields } = this.options;
		return { alert, id: String(alert[fields.id] ?? ''), version: canonicalTimestamp(alert[fields.cursor]) };
	}

	private switchToWindows(reason: string): void {
		if (this.order === 'none') return;
		this.order = 'none';
		this.orderChange = reason;
	}

	/** Processes sorted reads from the current position on; stops when the batch is full. */
	private feed(reads: Read[], matches?: (alert: Alert) => boolean): void {
		for (const read of reads) {
			// An alert without a usable timestamp sorts where the server put it: at the position.
			const version = read.version ?? this.lo;
			if (version === this.lo && (this.loExclusive || (read.id && this.readAtLo.has(read.id)))) continue;
			if (!this.process(read.alert, read.id, version, matches ? matches(read.alert) : true)) {
				this.stats.stoppedAtLimit = true;
				this.done = true;
				return;
			}
			if (version === this.lo && read.id) this.readAtLo.add(read.id);
		}
		if (this.emissions.length >= this.options.maxAlerts) {
			// A full batch: the rest waits for the next poll, which starts at or before the last alert read.
			this.stats.stoppedAtLimit = true;
			this.done = true;
		}
	}

	/** After a complete answer: the next window, or the end of the scan when the window was open. */
	private nextWindow(count: number): void {
		if (this.hi === undefined) {
			this.done = true;
			return;
		}
		this.lo = this.hi;
		this.loExclusive = false;
		this.readAtLo.clear();
		if (this.order === 'asc') {
			this.hi = undefined;
			return;
		}
		const start = timestampToTicks(this.lo);
		if (this.fullEnd !== undefined && this.fullEnd <= start) this.fullEnd = undefined;
		if (this.windowTicks !== undefined) {
			// Aim at the target share of a page: scale by what the last window held (an empty one: 8 times wider).
			const target = WINDOW_FILL * this.options.maxPageSize;
			const factor = count === 0 ? WINDOW_GROWTH : Math.min(WINDOW_GROWTH, Math.max(1 / WINDOW_GROWTH, target / count));
			let width = maxBig(ONE_TICK, scale(this.windowTicks, factor));
			if (this.fullEnd !== undefined) {
				// An empty window says nothing of how close the full one's alerts are: go at most half-way to it
				// (a binary search); otherwise the count just seen sizes the next window, up to the full one's end.
				const cap = count === 0 ? (this.fullEnd - start) / TWO : this.fullEnd - start;
				width = minBig(width, maxBig(ONE_TICK, cap));
			}
			this.windowTicks = width;
		}
		this.hi = this.windowEnd(this.lo);
	}

	/** `lo + windowTicks`, or open when that reaches the poll's clock. */
	private windowEnd(lo: string): string | undefined {
		if (this.windowTicks === undefined) return undefined;
		const end = timestampToTicks(lo) + this.windowTicks;
		// Open from where no alert can be newer (the poll's clock), or, without a clock, unless a full window is ahead.
		if (this.fullEnd === undefined && (this.options.now === undefined || end > timestampToTicks(this.options.now))) return undefined;
		return timestampFromTicks(end);
	}

	private startTicks(): bigint {
		return timestampToTicks(this.lo) + (this.loExclusive ? ONE_TICK : BigInt(0));
	}

	/** A full answer that cannot be trusted to be the oldest alerts of the window: ask a narrower window. */
	private split(reads: Read[], ordered: boolean): void {
		this.stats.splits++;
		const times = reads.map((r) => r.version).filter((v): v is string => v !== undefined).sort();
		const start = this.startTicks();
		const newest = times.length ? timestampToTicks(times[times.length - 1]) + ONE_TICK : start + ONE_TICK;
		const end = this.hi !== undefined ? timestampToTicks(this.hi) : maxBig(newest, start + ONE_TICK);
		if (ordered && times.length && times[0] === times[times.length - 1]) {
			// A sorted page of one instant t: nothing before t, or (t at the position) an instant to read alone.
			const t = timestampToTicks(times[0]);
			if (t > start && t < end) {
				this.hi = times[0];
				return;
			}
		}
		if (this.order === 'none') this.fullEnd = this.fullEnd === undefined ? end : minBig(this.fullEnd, end);
		let width = (end - start) / TWO;
		if (times.length >= 2 && isDescending(reads)) {
			// Newest first: the page holds every alert after its oldest instant, so it shows the density there.
			const covered = end - timestampToTicks(times[0]);
			width = minBig(width, scale(covered, WINDOW_FILL));
		}
		if (end - start <= ONE_TICK) {
			// One instant holds a full page: read it alone.
			this.lo = timestampFromTicks(start);
			if (this.loExclusive) this.readAtLo.clear();
			this.loExclusive = false;
			this.hi = timestampFromTicks(start + ONE_TICK);
			this.instant = true;
			this.instantSkip = 0;
			return;
		}
		this.windowTicks = maxBig(ONE_TICK, width);
		this.hi = timestampFromTicks(start + this.windowTicks);
	}

	/** Every alert at the instant `lo` was read (or `$skip` reached the API's cap): on to the rest of the window. */
	private passInstant(count: number): void {
		this.instant = false;
		this.instantSkip = 0;
		this.hi = timestampFromTicks(timestampToTicks(this.lo) + ONE_TICK);
		this.nextWindow(count);
	}

	/** Returns false when the batch is full and this alert must wait for the next poll. */
	private process(alert: Alert, id: string, version: string, wanted: boolean): boolean {
		const { triggerOnUpdates, maxAlerts } = this.options;
		const emittedVersion = id ? this.seen[id] : undefined;
		const alreadyEmitted = emittedVersion !== undefined && (!triggerOnUpdates || emittedVersion >= version);

		if (!id) {
			// Cannot be de-duplicated (Defender always sends an id): not emitted.
			this.stats.read++;
			return true;
		}
		if (!wanted) {
			this.stats.filteredOut++;
		} else if (!alreadyEmitted) {
			if (this.emissions.length >= maxAlerts) return false;
			this.emissions.push({ alert, change: this.describeChange(id, alert, version, emittedVersion) });
			this.seen[id] = version;
			this.stats.emitted++;
		} else {
			this.stats.alreadyEmitted++;
		}
		this.stats.read++;
		this.highWater = maxTimestamp(this.highWater, version);
		return true;
	}

	private describeChange(id: string, alert: Alert, version: string, emittedVersion: string | undefined): ChangeInfo {
		const { fields, triggerOnUpdates, changeMemory } = this.options;
		if (!triggerOnUpdates) return { type: 'new', version };
		const idLists = fields.idLists ?? [];
		const current = snapshot(alert, fields.tracked, idLists);
		const before = this.known.get(id);
		let change: ChangeInfo;
		if (before) {
			// An id list missing from this answer says nothing about it: keep what was known.
			for (const f of idLists) if (current[f] === null && before.f[f] !== undefined) current[f] = before.f[f];
			const changedFields = fields.tracked.filter((f) => before.f[f] !== current[f]);
			const previous: Snapshot = {};
			for (const f of changedFields) {
				previous[f] = idLists.includes(f) && before.f[f] !== null ? idsOf(before.f[f]).length : before.f[f];
			}
			change = { type: 'update', version, changedFields, previous };
			for (const f of changedFields.filter((c) => idLists.includes(c))) {
				const was = new Set(idsOf(before.f[f]));
				const now = idsOf(current[f]);
				const added = now.filter((x) => !was.has(x));
				const removed = [...was].filter((x) => !now.includes(x));
				if (added.length) (change.added ??= {})[f] = added;
				if (removed.length) (change.removed ??= {})[f] = removed;
			}
		} else {
			const created = canonicalTimestamp(alert[fields.created]);
			const since = this.previous?.since ?? this.floor;
			const olderThanWatch = created !== undefined && created < since;
			change = { type: emittedVersion !== undefined || olderThanWatch ? 'update' : 'new', version };
		}
		// Most recently emitted last, so trimming from the front forgets the longest-unchanged alerts first.
		this.known.delete(id);
		this.known.set(id, { v: version, f: current });
		for (const oldest of this.known.keys()) {
			if (this.known.size <= changeMemory) break;
			this.known.delete(oldest);
		}
		return change;
	}

	/** The state to store once the emitted alerts are handed to n8n. */
	commit(): CursorState {
		// A scan that ended early (time budget, batch) keeps the ground it covered even where it found nothing:
		// everything before the position was read, so the next poll need not cross those empty windows again (with a
		// short budget, a long empty stretch before the first alert would otherwise be re-read by every poll).
		let highWater = this.highWater;
		if (this.stats.stoppedEarly || this.stats.stoppedAtLimit) {
			const covered = timestampFromTicks(timestampToTicks(this.lo) - ONE_TICK);
			if (covered > this.from && (highWater === undefined || covered > highWater)) highWater = covered;
		}
		const state: CursorState = {
			version: 1,
			...(this.options.identity ?? {}),
			cursorField: this.options.fields.cursor,
			since: this.previous?.since ?? this.floor,
			highWater,
			seen: {},
		};
		// Versions older than the look-back behind the high-water mark are never scanned again: forget them.
		const horizon = highWater ? maxTimestamp(subtractMs(highWater, this.options.lookbackMs), this.horizon) : undefined;
		for (const [id, version] of Object.entries(this.seen)) {
			if (horizon === undefined || version >= horizon) state.seen[id] = version;
		}
		state.horizon = horizon;
		if (this.options.triggerOnUpdates) state.known = [...this.known].map(([id, { v, f }]) => [id, v, f]);
		if (this.order === 'none') {
			state.order = 'none';
			state.orderReason = this.orderChange ?? this.previous?.orderReason;
			// A scan that stopped before the end leaves a backlog: the next poll starts with the width that fitted.
			// Otherwise it starts with one open window, so that a poll with little to read is one request.
			const unfinished = this.stats.stoppedAtLimit || this.stats.stoppedEarly;
			if (unfinished && this.windowTicks !== undefined) state.windowMs = Math.max(1, Number(this.windowTicks / TICKS_PER_MS));
		}
		return state;
	}
}

/**
 * Whether a saved state is the position of what is polled now. States saved before the source and tenant were
 * recorded are taken as theirs (they were saved by this node, and nothing else could be told apart then).
 */
export function continuesState(saved: CursorState | undefined, identity: CursorOptions['identity']): boolean {
	if (!saved || !identity) return saved !== undefined;
	return (
		(saved.source === undefined || saved.source === identity.source) &&
		(saved.tenant === undefined || saved.tenant === identity.tenant)
	);
}

function byVersionThenId(a: Read, b: Read): number {
	const va = a.version ?? '';
	const vb = b.version ?? '';
	if (va !== vb) return va < vb ? -1 : 1;
	if (a.id === b.id) return 0;
	return a.id < b.id ? -1 : 1;
}

/** Non-decreasing by time (alerts without a usable timestamp are not evidence either way). */
function isAscending(reads: Read[]): boolean {
	let last = '';
	for (const { version } of reads) {
		if (version === undefined) continue;
		if (version < last) return false;
		last = version;
	}
	return true;
}

function isDescending(reads: Read[]): boolean {
	let last: string | undefined;
	for (const { version } of reads) {
		if (version === undefined) continue;
		if (last !== undefined && version > last) return false;
		last = version;
	}
	return true;
}

function scale(ticks: bigint, factor: number): bigint {
	return (ticks * BigInt(Math.round(factor * 1_000_000))) / BigInt(1_000_000);
}

function maxBig(a: bigint, b: bigint): bigint {
	return a > b ? a : b;
}

function minBig(a: bigint, b: bigint): bigint {
	return a < b ? a : b;
}
