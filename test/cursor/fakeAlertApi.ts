/**
 * An in-memory stand-in for the Defender alert list, just rich enough for the cursor tests:
 *
 * - every alert keeps its whole version history (one version per `lastUpdateTime`), each with the instant it
 *   becomes visible in the API (ingestion delay); the API shows the newest visible version of an alert;
 * - a page request carries the OData options the trigger sends (see `scanAlerts` in poll.ts and `pageSelection`
 *   in sources.ts): the page part of `$filter` is a time window, `<cursorField> ge|gt <from>` optionally
 *   `and <cursorField> lt <before>`, or one instant `<cursorField> eq <t>`; the rest of the filter
 *   (status/severity) is the fake's own `filter`; `$orderby` is `<cursorField> asc` or absent; then `$skip` and
 *   `$top`. Anything else is rejected, so a malformed request fails loudly instead of being served approximately;
 * - the server's order is its `order` profile: 'ordered' sorts by `$orderby` (ties by id asc) and otherwise
 *   returns its natural order (newest first); 'newestFirst' ignores `$orderby`; 'rejectsOrderby' answers any
 *   `$orderby` with an HTTP 400 (`OrderbyRejected`), as Microsoft's documented contract allows for MDE alerts;
 * - ids compare as plain strings (JavaScript `<`);
 * - timestamps are canonical 7-digit strings internally; the API can render them with trailing zeros trimmed
 *   (`…:05.12Z`, `…:05Z`), as .NET does, so the module's canonicalisation is exercised.
 *
 * The fake never reads the real clock: every read takes the simulated `nowMs`.
 */
import type { Alert } from '../../nodes/MicrosoftDefender/scan/cursor';
import { timestampFromMs, timestampToMs } from '../../nodes/MicrosoftDefender/helpers/timestamps';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Canonical timestamp of `ms` plus `ticks` 100-ns ticks (0–9999): the 7 fractional digits JS dates cannot hold. */
export function ts(ms: number, ticks = 0): string {
	if (!Number.isInteger(ticks) || ticks < 0 || ticks > 9999) throw new Error(`ticks out of range: ${ticks}`);
	return `${timestampFromMs(ms).slice(0, 23)}${String(ticks).padStart(4, '0')}Z`;
}

/** `2024-03-01T12:00:05.1200000Z` → `2024-03-01T12:00:05.12Z`; `…:05.0000000Z` → `…:05Z`. */
export function trimTimestamp(canonical: string): string {
	return canonical.replace(/\.?0+Z$/, 'Z');
}

export type CursorFieldName = 'lastUpdateTime' | 'alertCreationTime';

export const STATUSES = ['New', 'InProgress', 'Resolved'] as const;
export const SEVERITIES = ['Informational', 'Low', 'Medium', 'High'] as const;

/** The mutable, tracked part of an alert. */
export interface AlertBody {
	status: string;
	severity: string;
	title: string;
	assignedTo: string | null;
	comments: string[];
}

export interface AlertVersion extends AlertBody {
	/** Canonical. */
	lastUpdateTime: string;
	visibleAtMs: number;
}

export interface StoredAlert {
	id: string;
	/** Canonical. */
	alertCreationTime: string;
	versions: AlertVersion[];
}

/** Empty or absent list = no condition (as in the trigger's parameters). */
export interface AlertFilter {
	statuses?: string[];
	severities?: string[];
}

/** The OData query options of one page request, as `scanAlerts` sends them (`skip` absent when 0). */
export interface PageRequest {
	/** The page clause of `$filter` (the status/severity part is the fake's `filter`). */
	filter: string;
	orderby?: string;
	top: number;
	skip?: number;
}

/** How the server orders its answers (see the module comment). */
export type ServerOrder = 'ordered' | 'newestFirst' | 'rejectsOrderby';

export const SERVER_ORDERS: ServerOrder[] = ['ordered', 'newestFirst', 'rejectsOrderby'];

/** The HTTP 400 a server that does not support `$orderby` answers. */
export class OrderbyRejected extends Error {}

export interface FakeApiOptions {
	filter?: AlertFilter;
	render?: 'canonical' | 'trimmed';
	order?: ServerOrder;
}

const DEFAULT_BODY: AlertBody = { status: 'New', severity: 'High', title: 'Suspicious activity', assignedTo: null, comments: [] };

export class FakeAlertApi {
	readonly alerts = new Map<string, StoredAlert>();

	/** Every page request served, in order. */
	readonly requests: PageRequest[] = [];

	filter: AlertFilter;

	readonly render: 'canonical' | 'trimmed';

	order: ServerOrder;

	private mutations = 0;

	private cache: { key: string; list: Entry[] } | undefined;

	constructor(options: FakeApiOptions = {}) {
		this.filter = options.filter ?? {};
		this.render = options.render ?? 'canonical';
		this.order = options.order ?? 'ordered';
	}

	/** A new alert whose first version has `lastUpdateTime = alertCreationTime = at`, visible from `visibleAtMs`. */
	create(id: string, at: string, body: Partial<AlertBody> = {}, visibleAtMs = timestampToMs(at)): void {
		if (this.alerts.has(id)) throw new Error(`duplicate alert id ${id}`);
		this.alerts.set(id, {
			id,
			alertCreationTime: at,
			versions: [{ ...DEFAULT_BODY, ...body, comments: [...(body.comments ?? [])], lastUpdateTime: at, visibleAtMs }],
		});
		this.mutations++;
	}

	/** A new version of `id` (its fields as in the previous version, with `changes` applied). */
	update(id: string, at: string, changes: Partial<AlertBody> = {}, visibleAtMs = timestampToMs(at)): void {
		const alert = this.get(id);
		const last = alert.versions[alert.versions.length - 1];
		if (at <= last.lastUpdateTime) throw new Error(`update of ${id} at ${at} is not after ${last.lastUpdateTime}`);
		const { lastUpdateTime: _l, visibleAtMs: _v, ...body } = last;
		alert.versions.push({ ...body, ...changes, comments: [...(changes.comments ?? body.comments)], lastUpdateTime: at, visibleAtMs });
		this.mutations++;
	}

	/** Changes the server-side filter (stands for editing the trigger's filter parameters). */
	setFilter(filter: AlertFilter): void {
		this.filter = filter;
		this.mutations++;
	}

	get(id: string): StoredAlert {
		const alert = this.alerts.get(id);
		if (!alert) throw new Error(`no alert ${id}`);
		return alert;
	}

	/** The version the API shows at `nowMs`: the newest one already visible. */
	visibleVersion(id: string, nowMs: number): AlertVersion | undefined {
		let shown: AlertVersion | undefined;
		for (const v of this.get(id).versions) {
			if (v.visibleAtMs <= nowMs && (!shown || v.lastUpdateTime > shown.lastUpdateTime)) shown = v;
		}
		return shown;
	}

	matches(body: AlertBody): boolean {
		const { statuses, severities } = this.filter;
		if (statuses?.length && !statuses.includes(body.status)) return false;
		if (severities?.length && !severities.includes(body.severity)) return false;
		return true;
	}

	/** The alert as the API returns it at `nowMs`, or undefined when not visible. */
	view(id: string, nowMs: number): Alert | undefined {
		const version = this.visibleVersion(id, nowMs);
		return version && this.toJson(this.get(id), version);
	}

	/** Canonical cursor value of the version shown at `nowMs`. */
	cursorOf(id: string, field: CursorFieldName, nowMs: number): string | undefined {
		const version = this.visibleVersion(id, nowMs);
		if (!version) return undefined;
		return field === 'lastUpdateTime' ? version.lastUpdateTime : this.get(id).alertCreationTime;
	}

	/** Every alert the query `<filter> and field ge from`, ordered by (field asc, id asc), would return unpaged. */
	results(field: CursorFieldName, from: string, nowMs: number): Alert[] {
		const list = this.sorted(field, nowMs);
		return list.slice(lowerBound(list, from)).map((e) => this.toJson(e.alert, e.version));
	}

	/** One page request: `$filter=<filter> and <request.filter>`, `$orderby`, `$skip`, `$top`. */
	page(field: CursorFieldName, request: PageRequest, nowMs: number): Alert[] {
		this.requests.push({ ...request });
		const window = parsePageFilter(field, request.filter);
		if (request.orderby !== undefined && request.orderby !== `${field} asc`) {
			throw new Error(`unsupported $orderby: ${request.orderby}`);
		}
		if (request.orderby !== undefined && this.order === 'rejectsOrderby') {
			throw new OrderbyRejected(`The query option '$orderby' is not supported.`);
		}
		// scanAlerts leaves $skip out when it is 0.
		if (request.skip !== undefined && (!Number.isInteger(request.skip) || request.skip < 1)) {
			throw new Error(`invalid $skip: ${request.skip}`);
		}
		const skip = request.skip ?? 0;
		if (!Number.isInteger(request.top) || request.top < 1) throw new Error(`invalid $top: ${request.top}`);
		let list = this.sorted(field, nowMs).filter((e) => inWindow(e.cursor, window));
		const sorts = this.order === 'ordered' && request.orderby !== undefined;
		// Unsorted answers come newest first (Graph documents "the most recent alerts are displayed at the top").
		if (!sorts) list = list.slice().reverse();
		return list.slice(skip, skip + request.top).map((e) => this.toJson(e.alert, e.version));
	}

	/** Alert versions whose cursor value lies in [lo, hi] (all versions ever written, visible or not). */
	versionsBetween(field: CursorFieldName, lo: string, hi: string): number {
		let n = 0;
		for (const alert of this.alerts.values()) {
			if (field === 'alertCreationTime') {
				if (alert.alertCreationTime >= lo && alert.alertCreationTime <= hi) n++;
				continue;
			}
			for (const v of alert.versions) if (v.lastUpdateTime >= lo && v.lastUpdateTime <= hi) n++;
		}
		return n;
	}

	private sorted(field: CursorFieldName, nowMs: number): Entry[] {
		const key = `${field}|${nowMs}|${this.mutations}`;
		if (this.cache?.key === key) return this.cache.list;
		const list: Entry[] = [];
		for (const alert of this.alerts.values()) {
			const version = this.visibleVersion(alert.id, nowMs);
			if (!version || !this.matches(version)) continue;
			list.push({ cursor: field === 'lastUpdateTime' ? version.lastUpdateTime : alert.alertCreationTime, alert, version });
		}
		list.sort((a, b) => compareKeys(a.cursor, a.alert.id, b.cursor, b.alert.id));
		this.cache = { key, list };
		return list;
	}

	private toJson(alert: StoredAlert, version: AlertVersion): Alert {
		const time = (t: string): string => (this.render === 'trimmed' ? trimTimestamp(t) : t);
		return {
			id: alert.id,
			alertCreationTime: time(alert.alertCreationTime),
			lastUpdateTime: time(version.lastUpdateTime),
			status: version.status,
			severity: version.severity,
			title: version.title,
			assignedTo: version.assignedTo,
			comments: version.comments.map((comment) => ({ comment })),
		};
	}
}

type Entry = { cursor: string; alert: StoredAlert; version: AlertVersion };

/** Index of the first entry whose cursor value is ≥ `from` (the list is in server order). */
function lowerBound(list: Entry[], from: string): number {
	let lo = 0;
	let hi = list.length;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (list[mid].cursor < from) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

const CANONICAL = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z`;

/** The time window a page clause selects. Only canonical 7-digit timestamps are accepted: the module promises them. */
export interface PageWindow {
	from: string;
	fromExclusive: boolean;
	before?: string;
	instant: boolean;
}

export function parsePageFilter(field: string, filter: string): PageWindow {
	const instant = new RegExp(`^${field} eq (${CANONICAL})$`).exec(filter);
	if (instant) return { from: instant[1], fromExclusive: false, instant: true };
	const window = new RegExp(`^${field} (ge|gt) (${CANONICAL})(?: and ${field} lt (${CANONICAL}))?$`).exec(filter);
	if (window) return { from: window[2], fromExclusive: window[1] === 'gt', before: window[3], instant: false };
	throw new Error(`unsupported page $filter: ${filter}`);
}

export function inWindow(cursor: string, window: PageWindow): boolean {
	if (window.instant) return cursor === window.from;
	if (window.fromExclusive ? cursor <= window.from : cursor < window.from) return false;
	return window.before === undefined || cursor < window.before;
}

/** The server's order: cursor value asc, then id asc. */
export function compareKeys(cursorA: string, idA: string, cursorB: string, idB: string): number {
	if (cursorA !== cursorB) return cursorA < cursorB ? -1 : 1;
	if (idA === idB) return 0;
	return idA < idB ? -1 : 1;
}
