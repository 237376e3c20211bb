/**
 * Defender timestamps carry 7 fractional digits (100 ns ticks); JavaScript dates keep 3. Cursor logic compares
 * them in a canonical string form, `YYYY-MM-DDTHH:MM:SS.fffffffZ` in UTC, whose lexicographic order is time
 * order, so no precision is lost.
 */
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

function pad(value: number, width: number): string {
	return String(value).padStart(width, '0');
}

/** Canonical form of an API timestamp, or undefined when it is not one. */
export function canonicalTimestamp(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const m = PATTERN.exec(value.trim());
	if (!m) return undefined;
	const [, y, mo, d, h, mi, s = '00', fraction = '', zone = 'Z'] = m;
	const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
	const local = new Date(0);
	// setUTCFullYear, unlike Date.UTC, keeps years 0-99 as they are.
	local.setUTCFullYear(parts[0], parts[1], parts[2]);
	local.setUTCHours(parts[3], parts[4], parts[5], 0);
	// Reject impossible dates (2024-02-30, month 13, 25:00) instead of letting them roll over.
	if (
		local.getUTCFullYear() !== parts[0] ||
		local.getUTCMonth() !== parts[1] ||
		local.getUTCDate() !== parts[2] ||
		local.getUTCHours() !== parts[3] ||
		local.getUTCMinutes() !== parts[4] ||
		local.getUTCSeconds() !== parts[5]
	) {
		return undefined;
	}
	let seconds = local.getTime() / 1000;
	if (zone.toUpperCase() !== 'Z') {
		const sign = zone.startsWith('-') ? -1 : 1;
		const digits = zone.replace(/[^\d]/g, '');
		const [hours, minutes] = [Number(digits.slice(0, 2)), Number(digits.slice(2, 4))];
		if (hours > 23 || minutes > 59) return undefined;
		seconds -= sign * (hours * 3600 + minutes * 60);
	}
	const date = new Date(seconds * 1000);
	if (date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) return undefined;
	return `${formatSeconds(date)}.${fraction.slice(0, 7).padEnd(7, '0')}Z`;
}

function formatSeconds(date: Date): string {
	return (
		`${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
		`T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`
	);
}

/** Canonical timestamp of a JavaScript time (millisecond precision). */
export function timestampFromMs(ms: number): string {
	const date = new Date(ms);
	return `${formatSeconds(date)}.${pad(date.getUTCMilliseconds(), 3)}0000Z`;
}

/** Milliseconds of a canonical timestamp, rounded down (for window arithmetic, never for comparisons). */
export function timestampToMs(canonical: string): number {
	return Date.parse(`${canonical.slice(0, 23)}Z`);
}

/** `canonical − ms`, rounded down to the millisecond: a lower bound that never excludes the exact instant. */
export function subtractMs(canonical: string, ms: number): string {
	if (ms <= 0) return canonical;
	return timestampFromMs(timestampToMs(canonical) - ms);
}

export function maxTimestamp(a: string | undefined, b: string | undefined): string | undefined {
	if (a === undefined) return b;
	if (b === undefined) return a;
	return a >= b ? a : b;
}

const TICKS_PER_SECOND = BigInt(10_000_000);

/** 100-ns ticks since the epoch of a canonical timestamp (exact: window arithmetic below the millisecond). */
export function timestampToTicks(canonical: string): bigint {
	const seconds = Date.parse(`${canonical.slice(0, 19)}Z`) / 1000;
	return BigInt(seconds) * TICKS_PER_SECOND + BigInt(canonical.slice(20, 27));
}

/** Canonical timestamp of a tick count. */
export function timestampFromTicks(ticks: bigint): string {
	const seconds = ticks / TICKS_PER_SECOND;
	const fraction = ticks % TICKS_PER_SECOND;
	return `${formatSeconds(new Date(Number(seconds) * 1000))}.${pad(Number(fraction), 7)}Z`;
}
