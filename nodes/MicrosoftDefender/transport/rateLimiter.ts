/**
 * Client-side sliding-window limiter, so a burst of items waits for the API's budget instead of collecting 429s.
 * Limits are per credential and per endpoint family, as Defender documents them (per app and tenant).
 */
export interface RateLimit {
	max: number;
	windowMs: number;
}

export interface LimiterClock {
	now(): number;
	sleep(ms: number): Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Rule {
	method: string;
	path: RegExp;
	family: string;
	limits: RateLimit[];
}

/** Reference §5.1; the first matching rule wins. */
const RULES: Rule[] = [
	{ method: 'POST', path: /^\/api\/(v1\.0\/)?alerts\/batchUpdate$/i, family: 'alerts-batch', limits: [{ max: 10, windowMs: MINUTE }, { max: 500, windowMs: HOUR }] },
	{ method: 'POST', path: /^\/api\/(v1\.0\/)?alerts\/CreateAlertByReference$/i, family: 'alerts-create', limits: [{ max: 15, windowMs: MINUTE }] },
	{ method: 'GET', path: /^\/api\/(v1\.0\/)?machineactions\/[^/]+\/getPackageUri$/i, family: 'package-uri', limits: [{ max: 2, windowMs: MINUTE }, { max: 120, windowMs: HOUR }] },
	{ method: 'POST', path: /^\/api\/(v1\.0\/)?machines\/[^/]+\/runliveresponse$/i, family: 'live-response', limits: [{ max: 10, windowMs: MINUTE }] },
	{ method: 'POST', path: /^\/api\/(v1\.0\/)?advancedqueries\/run$/i, family: 'hunting', limits: [{ max: 45, windowMs: MINUTE }, { max: 1500, windowMs: HOUR }] },
	{ method: 'POST', path: /^\/api\/(v1\.0\/)?indicators\/import$/i, family: 'indicators-import', limits: [{ max: 30, windowMs: MINUTE }] },
	{ method: 'POST', path: /^\/api\/(v1\.0\/)?indicators\/BatchDelete$/i, family: 'indicators-delete', limits: [{ max: 30, windowMs: MINUTE }, { max: 1500, windowMs: HOUR }] },
	// get-assessment-software-vulnerabilities.md: the export via files 5/min and 20/h; its JSON pages 30/min and 1,000/h.
	{ method: 'GET', path: /^\/api\/(v1\.0\/)?machines\/SoftwareVulnerabilitiesExport$/i, family: 'tvm-export-files', limits: [{ max: 5, windowMs: MINUTE }, { max: 20, windowMs: HOUR }] },
	{ method: 'GET', path: /^\/api\/(v1\.0\/)?machines\/SoftwareVulnerabilitiesByMachine$/i, family: 'tvm-export-json', limits: [{ max: 30, windowMs: MINUTE }, { max: 1000, windowMs: HOUR }] },
	// get-discovered-vulnerabilities.md: 50/min and 1,500/h.
	{ method: 'GET', path: /^\/api\/(v1\.0\/)?machines\/[^/]+\/vulnerabilities$/i, family: 'machine-vulnerabilities', limits: [{ max: 50, windowMs: MINUTE }, { max: 1500, windowMs: HOUR }] },
	// initiate-autoir-investigation.md: "Rate limitations for this API are 50 calls per hour."
	{ method: 'POST', path: /^\/api\/(v1\.0\/)?machines\/[^/]+\/startInvestigation$/i, family: 'start-investigation', limits: [{ max: 50, windowMs: HOUR }] },
	{ method: '*', path: /^\/(v1\.0|beta)\/security\//i, family: 'graph-security', limits: [{ max: 150, windowMs: MINUTE }] },
];

/** Everything else on the MDE API: 100 calls per minute and 1,500 per hour, per endpoint. */
const DEFAULT_LIMITS: RateLimit[] = [
	{ max: 100, windowMs: MINUTE },
	{ max: 1500, windowMs: HOUR },
];

/** The endpoint family a request counts against: ids are folded so /machines/a and /machines/b share a budget. */
export function rateLimitFamily(method: string, path: string): { family: string; limits: RateLimit[] } {
	for (const rule of RULES) {
		if ((rule.method === '*' || rule.method === method) && rule.path.test(path)) {
			return { family: rule.family, limits: rule.limits };
		}
	}
	const template = path.replace(/^\/api\/v1\.0\//i, '/api/').split('/').slice(0, 3).join('/');
	const action = /\/machines\/[^/]+\/([A-Za-z]+)$/.exec(path)?.[1];
	return { family: `${method} ${template}${action ? `/:id/${action}` : ''}`, limits: DEFAULT_LIMITS };
}

/**
 * The API counts a call when it arrives, which is after it left here and before its response came back. Calls are
 * therefore stamped when their response arrives (an upper bound of the API's stamp), and calls still in flight
 * count as inside every window: then no window the API looks at can hold more than `max` calls, however long the
 * network or a busy event loop delays them.
 */
const IN_FLIGHT = Number.POSITIVE_INFINITY;
const IN_FLIGHT_RECHECK_MS = 50;

/** One call: `at` is IN_FLIGHT until its response arrives. An object, so every copy of the log sees the update. */
interface Stamp {
	at: number;
}

/** The room for the next call comes later than the caller can wait. */
export class RateLimitWaitError extends Error {
	constructor(
		readonly waitMs: number,
		/** Epoch ms from which the next call fits the limits. */
		readonly freeAt: number,
	) {
		super(`The API's rate limit leaves room for the next call in ${Math.ceil(waitMs / 1000)} s, past this poll's time budget`);
		this.name = 'RateLimitWaitError';
	}
}

export class SlidingWindowLimiter {
	private readonly log = new Map<string, Stamp[]>();

	constructor(private readonly clock: LimiterClock) {}

	/**
	 * Waits until one more call fits every window of `limits` and records it as in flight. Call the returned
	 * function when the call's response (or failure) arrived. `deadline` (epoch ms) is the latest the caller can
	 * wait until (its poll budget, or now + its maximum wait): room that comes later throws RateLimitWaitError at
	 * once, without waiting.
	 */
	async acquire(key: string, limits: RateLimit[], timeScale = 1, deadline?: number): Promise<() => void> {
		for (;;) {
			const now = this.clock.now();
			const longest = Math.max(...limits.map((l) => l.windowMs / timeScale));
			const stamps = (this.log.get(key) ?? []).filter((s) => s.at > now - longest);
			this.log.set(key, stamps);
			let waitMs = 0;
			for (const limit of limits) {
				const windowMs = limit.windowMs / timeScale;
				const inWindow = stamps
					.map((s) => s.at)
					.filter((t) => t > now - windowMs)
					.sort((a, b) => a - b);
				if (inWindow.length >= limit.max) {
					const frees = inWindow[inWindow.length - limit.max] + windowMs - now + 1;
					waitMs = Math.max(waitMs, Number.isFinite(frees) ? frees : IN_FLIGHT_RECHECK_MS);
				}
			}
			if (waitMs <= 0) {
				const stamp: Stamp = { at: IN_FLIGHT };
				stamps.push(stamp);
				return () => {
					if (stamp.at === IN_FLIGHT) stamp.at = this.clock.now();
				};
			}
			if (deadline !== undefined && now + waitMs > deadline) throw new RateLimitWaitError(waitMs, now + waitMs);
			await this.clock.sleep(waitMs);
		}
	}
}
