/**
 * Fault injection: scripted faults for the next N matching requests, or random faults on a
 * fraction of requests (deterministic when seeded).
 */
import { Rng } from './data';

export type FaultKind = '429' | '500' | '502' | '503' | '504' | 'reset' | 'slow' | 'expireToken';
export const FAULT_KINDS: readonly FaultKind[] = ['429', '500', '502', '503', '504', 'reset', 'slow', 'expireToken'];
/** Kinds that can come after the handler acted (`after: true`): the request took effect, the client cannot tell. */
export const AFTER_FAULT_KINDS: readonly FaultKind[] = ['500', '502', '503', '504', 'reset', 'slow'];

export interface FaultSpec {
	kind: FaultKind;
	/** How many matching requests get the fault (default 1). */
	count?: number;
	/** Retry-After header for 429/503 (default 1 for 429, none for 503). */
	retryAfterSeconds?: number;
	/** Delay for 'slow' (default 5000 ms). */
	delayMs?: number;
	/**
	 * Tested against `METHOD /path` (decoded path as sent, no query), e.g. `GET /api/alerts`.
	 * Without it, any API request matches, but never the token/discovery/download endpoints.
	 */
	match?: RegExp;
	/**
	 * The request is handled first (authentication, rate limit, handler: state changes as usual), then the fault
	 * replaces its answer: 'slow' delays the handler's answer by `delayMs`, 'reset' destroys the socket instead of
	 * answering, '500'/'502'/'503'/'504' answer that error. "Acted, then timed out / reset / failed". Only for
	 * AFTER_FAULT_KINDS.
	 */
	after?: boolean;
}

export interface RandomFaultSpec {
	/** Fraction of API requests that get a fault, 0..1. */
	rate: number;
	kinds?: FaultKind[];
	seed?: number;
	retryAfterSeconds?: number;
	delayMs?: number;
	match?: RegExp;
}

export interface Fault {
	kind: FaultKind;
	retryAfterSeconds?: number;
	delayMs: number;
	/** Applied after the handler ran (see FaultSpec.after). */
	after: boolean;
}

interface Scripted {
	spec: FaultSpec;
	remaining: number;
}

export class FaultInjector {
	private scripted: Scripted[] = [];
	private random: { spec: RandomFaultSpec; rng: Rng } | null = null;
	/** Faults actually applied, for assertions. */
	injected = 0;
	/**
	 * While set, every `/v1.0/security/incidents` request (list or get) with `$expand=alerts` answers 500
	 * `InternalServerError` (after authentication and query checks), as a large tenant did persistently
	 * (elastic/integrations#18144). Stays until switched off, clear() or reset(); each failed request counts in
	 * `injected`.
	 */
	incidentExpandFailure = false;

	inject(spec: FaultSpec): void {
		if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`Unknown fault kind: ${String(spec.kind)}`);
		if (spec.after && !AFTER_FAULT_KINDS.includes(spec.kind)) {
			throw new Error(`Fault kind ${spec.kind} cannot come after the handler; use one of ${AFTER_FAULT_KINDS.join(', ')}`);
		}
		this.scripted.push({ spec, remaining: spec.count ?? 1 });
	}

	setRandom(spec: RandomFaultSpec): void {
		const kinds = spec.kinds ?? ['429', '500', '503', 'reset'];
		for (const kind of kinds) if (!FAULT_KINDS.includes(kind)) throw new Error(`Unknown fault kind: ${String(kind)}`);
		this.random = { spec: { ...spec, kinds }, rng: new Rng(spec.seed ?? Date.now()) };
	}

	/** Drops scripted and random faults and the incident-expand failure (the injected counter keeps counting). */
	clear(): void {
		this.scripted = [];
		this.random = null;
		this.incidentExpandFailure = false;
	}

	reset(): void {
		this.clear();
		this.injected = 0;
	}

	/** Scripted faults still waiting for a request. */
	pending(): number {
		return this.scripted.reduce((n, s) => n + s.remaining, 0);
	}

	/**
	 * Takes the fault (if any) for this request. `isAuthEndpoint` requests (token, discovery,
	 * downloads) only get faults whose `match` explicitly selects them.
	 */
	take(target: string, isAuthEndpoint: boolean): Fault | null {
		const applies = (match: RegExp | undefined): boolean => (match ? match.test(target) : !isAuthEndpoint);
		const index = this.scripted.findIndex((s) => applies(s.spec.match));
		if (index >= 0) {
			const entry = this.scripted[index];
			entry.remaining--;
			if (entry.remaining <= 0) this.scripted.splice(index, 1);
			this.injected++;
			return this.toFault(entry.spec.kind, entry.spec.retryAfterSeconds, entry.spec.delayMs, entry.spec.after);
		}
		if (this.random && applies(this.random.spec.match)) {
			const { spec, rng } = this.random;
			if (rng.next() < spec.rate) {
				this.injected++;
				return this.toFault(rng.pick(spec.kinds ?? []), spec.retryAfterSeconds, spec.delayMs);
			}
		}
		return null;
	}

	private toFault(kind: FaultKind, retryAfterSeconds: number | undefined, delayMs: number | undefined, after = false): Fault {
		return {
			kind,
			retryAfterSeconds: retryAfterSeconds ?? (kind === '429' ? 1 : undefined),
			delayMs: delayMs ?? 5000,
			after,
		};
	}
}
