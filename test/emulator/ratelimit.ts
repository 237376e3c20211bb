/**
 * Sliding-window rate limits per client + tenant (reference §5.1, §5.4), in real time.
 * Accepted-request timestamps are also kept per route so tests can assert a client never
 * exceeded a quota (`maxInWindow`).
 */
import { ApiError } from './errors';

export interface RateLimitRule {
	max: number;
	/** Window length in (unscaled) milliseconds. */
	windowMs: number;
}

const MINUTE = 60000;
const HOUR = 3600000;

export const LIMITS = {
	standard: [
		{ max: 100, windowMs: MINUTE },
		{ max: 1500, windowMs: HOUR },
	],
	batchUpdate: [
		{ max: 10, windowMs: MINUTE },
		{ max: 500, windowMs: HOUR },
	],
	packageUri: [
		{ max: 2, windowMs: MINUTE },
		{ max: 120, windowMs: HOUR },
	],
	hunting: [
		{ max: 45, windowMs: MINUTE },
		{ max: 1500, windowMs: HOUR },
	],
	indicatorImport: [{ max: 30, windowMs: MINUTE }],
	/** run-live-response.md: "10 calls per minute" (no hourly limit given). */
	liveResponse: [{ max: 10, windowMs: MINUTE }],
	indicatorBatchDelete: [
		{ max: 30, windowMs: MINUTE },
		{ max: 1500, windowMs: HOUR },
	],
	graph: [{ max: 150, windowMs: MINUTE }],
	/** get-assessment-software-vulnerabilities.md, export via files: "5 calls per minute and 20 calls per hour". */
	tvmExportFiles: [
		{ max: 5, windowMs: MINUTE },
		{ max: 20, windowMs: HOUR },
	],
	/** The same page, JSON response (and its delta variant): "30 calls per minute and 1,000 calls per hour". */
	tvmExportJson: [
		{ max: 30, windowMs: MINUTE },
		{ max: 1000, windowMs: HOUR },
	],
	/** get-discovered-vulnerabilities.md: "50 calls per minute and 1500 calls per hour". */
	tvmMachineVulnerabilities: [
		{ max: 50, windowMs: MINUTE },
		{ max: 1500, windowMs: HOUR },
	],
} satisfies Record<string, readonly RateLimitRule[]>;

/** Index of the first element >= value in an ascending array. */
function lowerBound(values: number[], value: number): number {
	let lo = 0;
	let hi = values.length;
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (values[mid] < value) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

export class RateLimiter {
	/** Accepted timestamps per `client|tenant|bucket`, pruned to the longest window. */
	private readonly windows = new Map<string, number[]>();
	/** Accepted timestamps per `client|tenant|routeKey`, kept until reset (for maxInWindow). */
	private readonly history = new Map<string, number[]>();

	constructor(
		public enabled: boolean,
		/** 60 = one emulated minute lasts one real second. */
		public timeScale: number,
	) {}

	/**
	 * Admits a request or throws 429 with Retry-After (whole real seconds, at least 1) = when the
	 * fullest window frees a slot. Admitted requests are recorded.
	 */
	admit(principal: string, bucket: string, routeKey: string, rules: readonly RateLimitRule[], family: 'mde' | 'graph'): void {
		const now = Date.now();
		const bucketKey = `${principal}|${bucket}`;
		if (this.enabled && rules.length > 0) {
			const times = this.windows.get(bucketKey) ?? [];
			const longest = Math.max(...rules.map((r) => r.windowMs / this.timeScale));
			times.splice(0, lowerBound(times, now - longest));
			let retryAfterMs = 0;
			let violated: RateLimitRule | undefined;
			for (const rule of rules) {
				const windowMs = rule.windowMs / this.timeScale;
				const start = lowerBound(times, now - windowMs + 1);
				const inWindow = times.length - start;
				if (inWindow >= rule.max) {
					// The request that makes room is the (inWindow - max + 1)-th oldest in the window.
					const freeAt = times[start + inWindow - rule.max] + windowMs;
					if (freeAt - now > retryAfterMs) {
						retryAfterMs = freeAt - now;
						violated = rule;
					}
				}
			}
			if (violated) {
				const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
				const per = violated.windowMs >= HOUR ? 'hour' : 'minute';
				const message =
					family === 'graph'
						? `Too many requests. The application has exceeded ${violated.max} requests per ${per} for this tenant.`
						: `API calls quota exceeded! Maximum admitted ${violated.max} per ${per}. Retry after ${seconds} seconds.`;
				throw new ApiError(429, 'TooManyRequests', message, { 'Retry-After': String(seconds) });
			}
			times.push(now);
			this.windows.set(bucketKey, times);
		}
		const historyKey = `${principal}|${routeKey}`;
		const history = this.history.get(historyKey);
		if (history) history.push(now);
		else this.history.set(historyKey, [now]);
	}

	/**
	 * The largest number of admitted requests for a route key (e.g.
	 * `POST /api/machines/:id/runAntiVirusScan`) that fell in any window of `windowMs` real
	 * milliseconds, for any single client + tenant.
	 */
	maxInWindow(routeKey: string, windowMs: number): number {
		let best = 0;
		for (const [key, times] of this.history) {
			if (!key.endsWith(`|${routeKey}`)) continue;
			let start = 0;
			for (let end = 0; end < times.length; end++) {
				while (times[end] - times[start] >= windowMs) start++;
				best = Math.max(best, end - start + 1);
			}
		}
		return best;
	}

	reset(): void {
		this.windows.clear();
		this.history.clear();
	}

	/** Forgets the maxInWindow history (quota windows keep running). */
	resetHistory(): void {
		this.history.clear();
	}
}
