/** Request counters and a bounded request log (admin `/_emulator` calls are not recorded). */

export interface RequestLogEntry {
	method: string;
	/** Decoded path as sent. */
	path: string;
	/** Decoded query parameters. */
	query: Record<string, string>;
	/** Parsed body (secrets in token requests redacted). */
	body: unknown;
	/** HTTP status, or 0 when the connection was reset by a fault. */
	status: number;
	/** Emulator-clock time the request arrived (ISO, 7 digits). */
	time: string;
	/** Real epoch milliseconds the request arrived. */
	realTime: number;
	/** Route key, e.g. `GET /api/alerts/:id`. */
	key: string;
	/** Client id from the bearer token or token request, when known. */
	clientId?: string;
	/** Fault applied to this request, if any. */
	fault?: string;
	/**
	 * Set when the fault came after the handler acted (`after: true`): the status the handler answered (its
	 * state changes took effect) before the fault replaced the answer the client got (`status`).
	 */
	handledStatus?: number;
}

export interface StatsSnapshot {
	/** POSTs to the token endpoint. */
	tokenRequests: number;
	/** Every request (Entra ID ones included) by route key, e.g. `GET /api/alerts/:id`. */
	requests: Record<string, number>;
	/** API requests (MDE, Graph, downloads); Entra ID discovery and token requests are not included. */
	total: number;
}

/** 'token' = token endpoint, 'entra' = other Entra ID endpoints (discovery, keys), 'api' = the rest. */
export type RequestCategory = 'token' | 'entra' | 'api';

/** Enough for long benchmarks without growing without bound. */
const MAX_LOG_ENTRIES = 50000;

export class Stats {
	private tokenRequests = 0;
	private readonly counts = new Map<string, number>();
	private total = 0;
	readonly log: RequestLogEntry[] = [];

	record(entry: RequestLogEntry, category: RequestCategory): void {
		if (category === 'api') this.total++;
		if (category === 'token') this.tokenRequests++;
		this.counts.set(entry.key, (this.counts.get(entry.key) ?? 0) + 1);
		this.log.push(entry);
		// Trim in chunks so a long run does not shift the whole array on every request.
		if (this.log.length > MAX_LOG_ENTRIES * 1.1) this.log.splice(0, this.log.length - MAX_LOG_ENTRIES);
	}

	snapshot(): StatsSnapshot {
		return { tokenRequests: this.tokenRequests, requests: Object.fromEntries(this.counts), total: this.total };
	}

	reset(): void {
		this.tokenRequests = 0;
		this.counts.clear();
		this.total = 0;
		this.log.length = 0;
	}
}
