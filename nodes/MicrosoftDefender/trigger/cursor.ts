/**
 * The trigger's cursor and de-duplication, as a pure module (no n8n imports) so it can be tested exhaustively.
 *
 * A poll scans the alerts whose cursor field (lastUpdateTime with "trigger on updates", alertCreationTime
 * without) is at or after `from`, in ascending order, page by page:
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
 * Pages are keyset-paged on (cursor field, id), ordered by both: the next page starts strictly after the last
 * alert read, `cursor gt t or (cursor eq t and id gt lastId)`. Ties spanning pages are neither skipped nor read
 * twice, and alerts that change or leave the filter between two page requests cannot shift others out of reach
 * (as `$skip` paging would: skipping k alerts at t skips an unread one when a read one has gone). Sources without
 * id comparisons fall back to skipping the alerts already read at t (`paging: 'skip'`).
 */
import { canonicalTimestamp, maxTimestamp, subtractMs } from './timestamps';

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
}

export interface CursorOptions {
	triggerOnUpdates: boolean;
	lookbackMs: number;
	/** Most alerts emitted by one poll; the rest follow on the next polls, oldest first. */
	maxAlerts: number;
	/** Largest page the API accepts. */
	maxPageSize: number;
	/** Alerts whose last emitted field values are remembered, to name what an update changed. */
	changeMemory: number;
	fields: CursorFields;
	/** How the next page continues: after the last (cursor, id) read (default), or by skipping ties. */
	paging?: 'keyset' | 'skip';
}

export type Snapshot = Record<string, string | number | boolean | null>;

export interface CursorState {
	version: 1;
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
}

export interface ChangeInfo {
	type: 'new' | 'update';
	/** The cursor value of this version. */
	version: string;
	/** Tracked fields whose values differ from the version last emitted; absent when that version is unknown. */
	changedFields?: string[];
	/** Their values in the version last emitted (for list fields such as comments: the number of entries). */
	previous?: Snapshot;
}

export interface Emission {
	alert: Alert;
	change: ChangeInfo;
}

export interface PageQuery {
	/** Inclusive lower bound for the cursor field, canonical 7-digit UTC. */
	from: string;
	/** Keyset paging: continue strictly after this alert (cursor value `from`, then ids greater than `id`). */
	after?: { id: string };
	/** Skip paging: alerts at `from` already read. */
	skip: number;
	top: number;
}

export interface ScanStats {
	pages: number;
	read: number;
	alreadyEmitted: number;
	/** Read but excluded by the client-side filter. */
	filteredOut: number;
	emitted: number;
	stoppedAtLimit: boolean;
}

function snapshotValue(value: unknown): string | number | boolean | null {
	if (Array.isArray(value)) return value.length;
	if (value === undefined || value === null) return null;
	if (typeof value === 'object') return JSON.stringify(value);
	return value as string | number | boolean;
}

export function snapshot(alert: Alert, fields: string[]): Snapshot {
	const out: Snapshot = {};
	for (const field of fields) out[field] = snapshotValue(alert[field]);
	return out;
}

export class AlertScan {
	readonly emissions: Emission[] = [];

	readonly stats: ScanStats = { pages: 0, read: 0, alreadyEmitted: 0, filteredOut: 0, emitted: 0, stoppedAtLimit: false };

	private readonly seen: Record<string, string>;

	private readonly known: Map<string, { v: string; f: Snapshot }>;

	private readonly previous: CursorState | undefined;

	/** Versions already emitted, sorted: alerts the scan will read again, which take page slots too. */
	private readonly rereads: string[];

	/** The `top` of the page being answered (before the first query: the size it will have). */
	private lastTop = Number.POSITIVE_INFINITY;

	private highWater: string | undefined;

	private readonly horizon: string | undefined;

	private lastQuery = '';

	private tailTimestamp: string;

	private tailCount = 0;

	private tailId: string | undefined;

	private done = false;

	/** Where this scan starts (inclusive). */
	readonly from: string;

	constructor(
		previous: CursorState | undefined,
		private readonly options: CursorOptions,
		/** Canonical timestamp before which nothing is wanted (the max historical poll start). */
		private readonly floor: string,
	) {
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
		this.tailTimestamp = this.from;
		this.rereads = Object.values(this.seen).sort();
	}

	/**
	 * Page size: the room left in the batch plus the already-emitted alerts still ahead of the position, so a
	 * backlog poll reads one page and no alert is fetched only to be dropped.
	 */
	private pageSize(): number {
		let low = 0;
		let high = this.rereads.length;
		while (low < high) {
			const mid = (low + high) >> 1;
			if (this.rereads[mid] < this.tailTimestamp) low = mid + 1;
			else high = mid;
		}
		const ahead = this.rereads.length - low;
		const room = this.options.maxAlerts - this.emissions.length;
		return Math.max(1, Math.min(this.options.maxPageSize, room + ahead));
	}

	get complete(): boolean {
		return this.done;
	}

	/** The next page to request, or undefined when the scan is complete. */
	nextQuery(): PageQuery | undefined {
		if (this.done) return undefined;
		const top = this.pageSize();
		const query: PageQuery =
			this.options.paging !== 'skip' && this.tailId !== undefined
				? { from: this.tailTimestamp, after: { id: this.tailId }, skip: 0, top }
				: { from: this.tailTimestamp, skip: this.options.paging === 'skip' ? this.tailCount : 0, top };
		// A page that did not move the position (alerts without ids) would be requested forever.
		const key = JSON.stringify(query);
		if (key === this.lastQuery) {
			this.done = true;
			return undefined;
		}
		this.lastQuery = key;
		this.lastTop = top;
		return query;
	}

	/**
	 * Feeds one page (ascending by the cursor field, as requested). Returns true when the scan is complete.
	 * `matches` filters on the client what the API cannot filter: other alerts still move the cursor.
	 */
	accept(page: Alert[], matches?: (alert: Alert) => boolean): boolean {
		if (this.done) return true;
		this.stats.pages++;
		for (const alert of page) {
			if (!this.process(alert, matches ? matches(alert) : true)) {
				this.stats.stoppedAtLimit = true;
				this.done = true;
				return true;
			}
		}
		if (page.length < this.lastTop) this.done = true;
		// A full batch: the rest waits for the next poll, which starts at or before the last alert read.
		if (this.emissions.length >= this.options.maxAlerts) {
			this.stats.stoppedAtLimit = true;
			this.done = true;
		}
		return this.done;
	}

	/** Returns false when the batch is full and this alert must wait for the next poll. */
	private process(alert: Alert, wanted: boolean): boolean {
		const { fields, triggerOnUpdates, maxAlerts } = this.options;
		const id = String(alert[fields.id] ?? '');
		// An alert without a usable timestamp sorts where the server put it.
		const version = canonicalTimestamp(alert[fields.cursor]) ?? this.tailTimestamp;
		const emittedVersion = id ? this.seen[id] : undefined;
		const alreadyEmitted =
			emittedVersion !== undefined && (!triggerOnUpdates || emittedVersion >= version);

		if (!id) {
			// Cannot be de-duplicated (Defender always sends an id): not emitted. Skip paging counts it at its
			// timestamp; keyset paging cannot continue after it, so it leaves the (timestamp, id) position alone.
			this.stats.read++;
			if (this.options.paging === 'skip') this.moveTail(version, undefined);
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
		this.moveTail(version, id);
		return true;
	}

	/** The scan's position after reading an alert: the last (timestamp, id) and how many were read at it. */
	private moveTail(version: string, id: string | undefined): void {
		if (version > this.tailTimestamp) {
			this.tailTimestamp = version;
			this.tailCount = 1;
			this.tailId = id;
		} else if (version === this.tailTimestamp) {
			this.tailCount++;
			this.tailId = id ?? this.tailId;
		}
		this.highWater = maxTimestamp(this.highWater, version);
	}

	private describeChange(id: string, alert: Alert, version: string, emittedVersion: string | undefined): ChangeInfo {
		const { fields, triggerOnUpdates, changeMemory } = this.options;
		if (!triggerOnUpdates) return { type: 'new', version };
		const current = snapshot(alert, fields.tracked);
		const before = this.known.get(id);
		let change: ChangeInfo;
		if (before) {
			const changedFields = fields.tracked.filter((f) => before.f[f] !== current[f]);
			const previous: Snapshot = {};
			for (const f of changedFields) previous[f] = before.f[f];
			change = { type: 'update', version, changedFields, previous };
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
		const state: CursorState = {
			version: 1,
			cursorField: this.options.fields.cursor,
			since: this.previous?.since ?? this.floor,
			highWater: this.highWater,
			seen: {},
		};
		// Versions older than the look-back behind the high-water mark are never scanned again: forget them.
		const horizon = this.highWater
			? maxTimestamp(subtractMs(this.highWater, this.options.lookbackMs), this.horizon)
			: undefined;
		for (const [id, version] of Object.entries(this.seen)) {
			if (horizon === undefined || version >= horizon) state.seen[id] = version;
		}
		state.horizon = horizon;
		if (this.options.triggerOnUpdates) state.known = [...this.known].map(([id, { v, f }]) => [id, v, f]);
		return state;
	}
}
