/**
 * Emulator time. The clock is real time plus an offset that tests can advance.
 *
 * Timestamps are handled as normalized strings `YYYY-MM-DDTHH:MM:SS.fffffffZ` (always 7 fractional
 * digits, UTC) because Defender serializes 100 ns precision and JS Dates keep only milliseconds:
 * two alerts 0.3 ms apart must stay distinguishable and ordered. Normalized strings compare
 * correctly with plain `<`.
 */

const TIMESTAMP_RE =
	/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Milliseconds between 0001-01-01 and 1970-01-01, for .NET ticks in alert ids. */
const DOTNET_EPOCH_OFFSET_MS = 62135596800000;

/** Normalizes an ISO-8601 date-time (any offset, 0-7 fractional digits) or returns null. */
export function normalizeTimestamp(input: string): string | null {
	const m = TIMESTAMP_RE.exec(input.trim());
	if (!m) return null;
	const [, y, mo, d, h, mi, s = '00', frac = '', zone] = m;
	const local = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
	// Reject out-of-range parts that Date.UTC would silently roll over (2026-02-31, 25:00).
	if (
		local.getUTCMonth() + 1 !== Number(mo) ||
		local.getUTCDate() !== Number(d) ||
		local.getUTCHours() !== Number(h) ||
		local.getUTCMinutes() !== Number(mi) ||
		local.getUTCSeconds() !== Number(s)
	) {
		return null;
	}
	let ms = local.getTime();
	if (zone.toUpperCase() !== 'Z') {
		const sign = zone[0] === '-' ? -1 : 1;
		ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60000;
	}
	return new Date(ms).toISOString().slice(0, 19) + '.' + frac.padEnd(7, '0') + 'Z';
}

const DAY_MS = 86400000;
const pad2 = (n: number): string => (n < 10 ? '0' + n : '' + n);
const pad3 = (n: number): string => (n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n);
const pad4 = (n: number): string => (n < 1000 ? '0' + pad3(n) : '' + n);
/** Two ASCII digits at position i of s, as a number. */
const digits2 = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
// Seeding 100,000 alerts formats and parses about a million timestamps: the date part is cached
// (one day at a time) and the time of day is done with arithmetic instead of Date objects.
let cachedDayMs = NaN;
let cachedDayPrefix = '';
let cachedParsePrefix = '';
let cachedParseDayMs = 0;

/** Formats epoch milliseconds plus 0-9999 sub-millisecond ticks (100 ns units) as a normalized timestamp. */
export function formatTimestamp(ms: number, subMsTicks = 0): string {
	const whole = Math.floor(ms);
	const dayMs = Math.floor(whole / DAY_MS) * DAY_MS;
	if (dayMs !== cachedDayMs) {
		cachedDayMs = dayMs;
		cachedDayPrefix = new Date(dayMs).toISOString().slice(0, 11); // 2026-11-27T
	}
	let rest = whole - dayMs;
	const h = Math.floor(rest / 3600000);
	rest -= h * 3600000;
	const m = Math.floor(rest / 60000);
	rest -= m * 60000;
	const s = Math.floor(rest / 1000);
	rest -= s * 1000;
	return `${cachedDayPrefix}${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(rest)}${pad4(subMsTicks)}Z`;
}

/** Epoch milliseconds of a normalized timestamp (sub-millisecond digits dropped). */
export function timestampToMs(ts: string): number {
	if (!ts.startsWith(cachedParsePrefix) || cachedParsePrefix === '') {
		cachedParsePrefix = ts.slice(0, 10);
		cachedParseDayMs = Date.parse(`${cachedParsePrefix}T00:00:00Z`);
	}
	return (
		cachedParseDayMs +
		digits2(ts, 11) * 3600000 +
		digits2(ts, 14) * 60000 +
		digits2(ts, 17) * 1000 +
		digits2(ts, 20) * 10 +
		ts.charCodeAt(22) -
		48
	);
}

/** The 4 sub-millisecond digits of a normalized timestamp. */
function subMsTicksOf(ts: string): number {
	return Number(ts.slice(23, 27));
}

/** Adds milliseconds to a normalized timestamp, keeping its sub-millisecond digits. */
export function addMs(ts: string, ms: number): string {
	return formatTimestamp(timestampToMs(ts) + ms, subMsTicksOf(ts));
}

/** .NET ticks (100 ns since 0001-01-01) of a normalized timestamp, as a decimal string. */
export function dotnetTicks(ts: string): string {
	return String(timestampToMs(ts) + DOTNET_EPOCH_OFFSET_MS) + ts.slice(23, 27);
}

/** `new Date(...)`/string input accepted by the handle API → normalized timestamp. */
export function toTimestamp(value: Date | string | number): string {
	if (value instanceof Date) return formatTimestamp(value.getTime());
	if (typeof value === 'number') return formatTimestamp(value);
	const normalized = normalizeTimestamp(value);
	if (!normalized) throw new Error(`Invalid timestamp: ${value}`);
	return normalized;
}

export class Clock {
	private offsetMs = 0;
	private lastMs = 0;
	private lastSub = 0;

	/** Emulator time as a Date (millisecond precision). */
	now(): Date {
		return new Date(this.nowMs());
	}

	nowMs(): number {
		return Date.now() + this.offsetMs;
	}

	/** Moves emulator time forward (or backward with a negative value). */
	advance(ms: number): Date {
		this.offsetMs += ms;
		return this.now();
	}

	/** Back to real time. */
	reset(): void {
		this.offsetMs = 0;
		this.lastMs = 0;
		this.lastSub = 0;
	}

	/** Current offset from real time, in milliseconds. */
	offset(): number {
		return this.offsetMs;
	}

	/** Current emulator time as a normalized timestamp (no sub-millisecond digits). */
	nowTimestamp(): string {
		return formatTimestamp(this.nowMs());
	}

	/**
	 * A strictly increasing 7-digit timestamp for events the emulator generates, so that two
	 * updates in the same millisecond still get distinct, ordered lastUpdateTime values
	 * (like the real service's 100 ns resolution).
	 */
	stamp(): string {
		const ms = this.nowMs();
		const sub = Math.floor(Number(process.hrtime()[1] % 1000000) / 100);
		if (ms > this.lastMs || (ms === this.lastMs && sub > this.lastSub)) {
			this.lastMs = ms;
			this.lastSub = sub;
		} else if (this.lastSub < 9999) {
			this.lastSub += 1;
		} else {
			this.lastMs += 1;
			this.lastSub = 0;
		}
		return formatTimestamp(this.lastMs, this.lastSub);
	}
}
