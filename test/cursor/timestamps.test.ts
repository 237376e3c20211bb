import {
	canonicalTimestamp,
	maxTimestamp,
	subtractMs,
	timestampFromMs,
	timestampToMs,
} from '../../nodes/MicrosoftDefender/helpers/timestamps';
import { DAY, MINUTE, ts } from './fakeAlertApi';
import { Random } from './harness';

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

/** Exact instant of a canonical timestamp in 100-ns ticks since 1970 (no precision lost). */
function ticksOf(canonical: string): bigint {
	expect(canonical).toMatch(CANONICAL);
	return BigInt(Date.parse(`${canonical.slice(0, 19)}Z`)) * 10_000n + BigInt(canonical.slice(20, 27));
}

/** The instant `ms` + `ticks`, written in the zone `offsetMinutes` with `digits` fractional digits (trailing zeros may be lost). */
function render(ms: number, ticks: number, offsetMinutes: number, digits: number): string {
	const local = new Date(ms + offsetMinutes * MINUTE).toISOString().slice(0, 19);
	const fraction = `${String(new Date(ms).getUTCMilliseconds()).padStart(3, '0')}${String(ticks).padStart(4, '0')}`;
	const sign = offsetMinutes < 0 ? '-' : '+';
	const abs = Math.abs(offsetMinutes);
	const zone =
		offsetMinutes === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
	return `${local}${digits ? `.${fraction.slice(0, digits)}` : ''}${zone}`;
}

describe('canonicalTimestamp', () => {
	test.each([
		['2024-03-01T12:00:05Z', '2024-03-01T12:00:05.0000000Z'],
		['2024-03-01T12:00:05.1Z', '2024-03-01T12:00:05.1000000Z'],
		['2024-03-01T12:00:05.12Z', '2024-03-01T12:00:05.1200000Z'],
		['2024-03-01T12:00:05.123Z', '2024-03-01T12:00:05.1230000Z'],
		['2024-03-01T12:00:05.1234Z', '2024-03-01T12:00:05.1234000Z'],
		['2024-03-01T12:00:05.12345Z', '2024-03-01T12:00:05.1234500Z'],
		['2024-03-01T12:00:05.123456Z', '2024-03-01T12:00:05.1234560Z'],
		['2024-03-01T12:00:05.1234567Z', '2024-03-01T12:00:05.1234567Z'],
		['2024-03-01T12:00:05.0000001Z', '2024-03-01T12:00:05.0000001Z'],
	])('pads %s to 7 fractional digits', (input, expected) => {
		expect(canonicalTimestamp(input)).toBe(expected);
	});

	test.each([
		// More than 7 digits (not sent by Defender) are truncated, never rounded up.
		['2024-03-01T12:00:05.123456789Z', '2024-03-01T12:00:05.1234567Z'],
		['2024-03-01T12:00:05,5Z', '2024-03-01T12:00:05.5000000Z'],
		['2024-03-01T12:00Z', '2024-03-01T12:00:00.0000000Z'],
		['2024-03-01T12:00:05.25', '2024-03-01T12:00:05.2500000Z'],
		['2024-03-01t12:00:05.25z', '2024-03-01T12:00:05.2500000Z'],
		['  2024-03-01T12:00:05.25Z\n', '2024-03-01T12:00:05.2500000Z'],
	])('accepts the variant %j', (input, expected) => {
		expect(canonicalTimestamp(input)).toBe(expected);
	});

	test.each([
		['2024-03-01T12:00:05.1234567+00:00', '2024-03-01T12:00:05.1234567Z'],
		['2024-03-01T14:30:05.1234567+02:30', '2024-03-01T12:00:05.1234567Z'],
		['2024-03-01T06:30:00+0530', '2024-03-01T01:00:00.0000000Z'],
		// Across the leap day, the month and the year.
		['2024-03-01T01:30:00.0000009+02:00', '2024-02-29T23:30:00.0000009Z'],
		['2024-12-31T20:00:00.5-05:00', '2025-01-01T01:00:00.5000000Z'],
		['2025-01-01T00:59:59.9999999+01:00', '2024-12-31T23:59:59.9999999Z'],
	])('converts the offset of %s to UTC without touching the fraction', (input, expected) => {
		expect(canonicalTimestamp(input)).toBe(expected);
	});

	test.each([[''], ['yesterday'], ['2024-03-01'], ['2024-03-01 12:00:00Z'], ['2024-03-01T12:00:00+02'], ['12:00:00Z']])(
		'rejects the non-timestamp %j',
		(input) => {
			expect(canonicalTimestamp(input)).toBeUndefined();
		},
	);

	test.each([[undefined], [null], [1709294400000], [new Date(0)], [{}]])('rejects the non-string %p', (input) => {
		expect(canonicalTimestamp(input)).toBeUndefined();
	});

	// Years 0–99 are kept as written (Date.UTC would map them to 1900–1999): `0001-01-01T00:00:00Z` is the .NET
	// DateTime.MinValue some Microsoft APIs use for "never".
	test.each([
		['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.0000000Z'],
		['0099-12-31T23:59:59.9999999Z', '0099-12-31T23:59:59.9999999Z'],
		['0100-01-01T00:00:00Z', '0100-01-01T00:00:00.0000000Z'],
		['0050-03-01T01:00:00+02:00', '0050-02-28T23:00:00.0000000Z'],
		['0004-02-29T12:00:00Z', '0004-02-29T12:00:00.0000000Z'],
	])('keeps the year of %s (before 100)', (input, expected) => {
		expect(canonicalTimestamp(input)).toBe(expected);
	});

	test('years before 100 still sort before real dates', () => {
		const never = canonicalTimestamp('0001-01-01T00:00:00Z') as string;
		expect(never < (canonicalTimestamp('1901-01-01T00:00:00Z') as string)).toBe(true);
		expect(never < (canonicalTimestamp('2024-03-01T12:00:00Z') as string)).toBe(true);
	});

	// Out-of-range fields are rejected, not rolled over into the next day, month or year.
	test.each([
		['2024-02-30T00:00:00Z'],
		['2023-02-29T00:00:00Z'], // not a leap year
		['2024-04-31T00:00:00Z'],
		['2024-13-01T00:00:00Z'],
		['2024-00-10T00:00:00Z'],
		['2024-03-00T00:00:00Z'],
		['2024-03-01T25:00:00Z'],
		['2024-03-01T24:00:00Z'],
		['2024-03-01T12:60:00Z'],
		['2024-03-01T12:00:60Z'],
		['2024-02-30T01:00:00+02:00'], // the offset would have moved it to a real instant
	])('rejects the impossible date %s', (input) => {
		expect(canonicalTimestamp(input)).toBeUndefined();
	});

	test.each([['2024-02-29T00:00:00Z'], ['2000-02-29T23:59:59Z'], ['2024-12-31T23:59:59.9999999Z'], ['2024-04-30T00:00Z']])(
		'accepts the boundary date %s',
		(input) => {
			expect(canonicalTimestamp(input)).toMatch(CANONICAL);
			expect((canonicalTimestamp(input) as string).slice(0, 10)).toBe(input.slice(0, 10));
		},
	);

	// Zone offsets are range-checked like the other fields: hours 00–23, minutes 00–59 (with or without the colon).
	test.each([
		['2024-03-01T12:00:00+05:60'],
		['2024-03-01T12:00:00+24:00'],
		['2024-03-01T12:00:00-24:00'],
		['2024-03-01T12:00:00+00:60'],
		['2024-03-01T12:00:00-99:99'],
		['2024-03-01T12:00:00+0560'],
		['2024-03-01T12:00:00+2400'],
	])('rejects the impossible zone offset of %s', (input) => {
		expect(canonicalTimestamp(input)).toBeUndefined();
	});

	test.each([
		['2024-03-01T12:00:00+23:59', '2024-02-29T12:01:00.0000000Z'],
		['2024-03-01T12:00:00-23:59', '2024-03-02T11:59:00.0000000Z'],
		['2024-03-01T12:00:00+0059', '2024-03-01T11:01:00.0000000Z'],
		['2024-03-01T12:00:00-00:00', '2024-03-01T12:00:00.0000000Z'],
	])('accepts the boundary zone offset of %s', (input, expected) => {
		expect(canonicalTimestamp(input)).toBe(expected);
	});

	test('every offset with hours 00–23 and minutes 00–59 is accepted and applied; every other one is rejected', () => {
		const base = Date.UTC(2024, 2, 1, 12);
		const wrong: Array<[string, string | undefined]> = [];
		for (let hours = 0; hours <= 99; hours++) {
			for (let minutes = 0; minutes <= 99; minutes++) {
				for (const sign of [1, -1]) {
					const zone = `${sign > 0 ? '+' : '-'}${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
					const result = canonicalTimestamp(`2024-03-01T12:00:00.1234567${zone}`);
					const expected =
						hours > 23 || minutes > 59 ? undefined : ts(base - sign * (hours * 60 + minutes) * MINUTE, 4567).replace(/\.\d{3}/, '.123');
					if (result !== expected) wrong.push([zone, result]);
				}
			}
		}
		expect(wrong).toEqual([]);
	});

	// An offset can move an instant out of the years 0000–9999, where the 4-digit form (and so string order = time
	// order) no longer holds: such instants are rejected, never returned as a non-canonical string.
	test.each([
		['0000-01-01T00:30:00+01:00'],
		['0000-01-01T00:00:00.0000000+00:01'],
		['9999-12-31T23:30:00-01:00'],
		['9999-12-31T23:59:59.9999999-00:01'],
	])('rejects %s, which the offset moves out of the years 0000–9999', (input) => {
		expect(canonicalTimestamp(input)).toBeUndefined();
	});

	test.each([
		['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.0000000Z'],
		['0000-01-01T01:00:00+01:00', '0000-01-01T00:00:00.0000000Z'],
		['0000-01-01T00:00:00-01:00', '0000-01-01T01:00:00.0000000Z'],
		['9999-12-31T23:59:59.9999999Z', '9999-12-31T23:59:59.9999999Z'],
		['9999-12-31T22:59:59.9999999-01:00', '9999-12-31T23:59:59.9999999Z'],
		['9999-12-31T23:59:59.9999999+01:00', '9999-12-31T22:59:59.9999999Z'],
	])('accepts %s, inside the years 0000–9999 after the offset', (input, expected) => {
		expect(canonicalTimestamp(input)).toBe(expected);
	});

	test('never returns a non-canonical string, whatever the year and offset', () => {
		const random = new Random(13);
		for (let i = 0; i < 3000; i++) {
			const year = random.pick([0, 1, 99, 100, 1970, 2024, 9998, 9999, random.int(0, 9999)]);
			const month = random.pick([1, 12, random.int(1, 12)]);
			const day = random.pick([1, 28, 31, random.int(1, 31)]);
			const time = random.pick(['00:00:00', '23:59:59.9999999', '12:00:00.5', '00:30:00']);
			const zone = random.pick(['Z', '+00:00', '+01:00', '-01:00', '+23:59', '-23:59', '+14:00', '-12:00', '+24:00', '+05:60']);
			const input = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${time}${zone}`;
			const result = canonicalTimestamp(input);
			if (result !== undefined) expect([input, result]).toEqual([input, expect.stringMatching(CANONICAL)]);
		}
	});

	test('keeps timestamps apart that differ only below the millisecond (where Date collapses them)', () => {
		const a = '2024-03-01T12:00:05.1234561Z';
		const b = '2024-03-01T12:00:05.1234567Z';
		expect(Date.parse(a)).toBe(Date.parse(b));
		expect(canonicalTimestamp(a)).not.toBe(canonicalTimestamp(b));
		expect((canonicalTimestamp(a) as string) < (canonicalTimestamp(b) as string)).toBe(true);
	});

	test('any rendering (zone, trimmed digits) of a random instant canonicalises to the same string; string order is time order', () => {
		const random = new Random(7);
		const instants: Array<{ canonical: string; ticks: bigint }> = [];
		for (let i = 0; i < 2000; i++) {
			// Clustered instants so many share the second or the millisecond.
			const ms = Date.UTC(2024, 1, 28) + random.int(0, 3) * DAY + random.int(0, 2) * 1000 + random.pick([0, 1, 999, random.int(0, 999)]);
			const ticks = random.pick([0, 1, 5000, 9999, random.int(0, 9999)]);
			const exact = ts(ms, ticks);
			// Fewer digits only where the dropped ones are zeros (a server trimming trailing zeros).
			const needed = exact.slice(20, 27).replace(/0+$/, '').length;
			const text = render(ms, ticks, random.pick([0, 60, -300, 330, 840, -720]), random.int(needed, 7));
			expect(canonicalTimestamp(text)).toBe(exact);
			instants.push({ canonical: exact, ticks: ticksOf(exact) });
		}
		const byString = [...instants].sort((x, y) => (x.canonical < y.canonical ? -1 : x.canonical > y.canonical ? 1 : 0));
		const byTime = [...instants].sort((x, y) => (x.ticks < y.ticks ? -1 : x.ticks > y.ticks ? 1 : 0));
		expect(byString.map((x) => x.ticks)).toEqual(byTime.map((x) => x.ticks));
	});
});

describe('timestampFromMs / timestampToMs', () => {
	test('millisecond instants round-trip, with 4 zero digits below the millisecond', () => {
		const ms = Date.UTC(2024, 1, 29, 23, 59, 59, 987);
		expect(timestampFromMs(ms)).toBe('2024-02-29T23:59:59.9870000Z');
		expect(timestampToMs(timestampFromMs(ms))).toBe(ms);
	});

	test('timestampToMs rounds down below the millisecond', () => {
		expect(timestampToMs('2024-03-01T12:00:05.1239999Z')).toBe(Date.UTC(2024, 2, 1, 12, 0, 5, 123));
	});
});

describe('subtractMs', () => {
	test('returns the timestamp unchanged (all 7 digits) for 0 or a negative amount', () => {
		expect(subtractMs('2024-03-01T12:00:05.1234567Z', 0)).toBe('2024-03-01T12:00:05.1234567Z');
		expect(subtractMs('2024-03-01T12:00:05.1234567Z', -5)).toBe('2024-03-01T12:00:05.1234567Z');
	});

	test.each([
		['2024-03-01T12:00:05.1234567Z', 15 * MINUTE, '2024-03-01T11:45:05.1230000Z'],
		['2024-03-01T12:00:00.0000000Z', 15 * MINUTE, '2024-03-01T11:45:00.0000000Z'],
		['2024-03-01T00:00:00.0000001Z', 1, '2024-02-29T23:59:59.9990000Z'],
		['2025-01-01T00:10:00.0000000Z', 15 * MINUTE, '2024-12-31T23:55:00.0000000Z'],
	])('%s − %d ms = %s (rounded down to the millisecond)', (input, ms, expected) => {
		expect(subtractMs(input, ms)).toBe(expected);
	});

	test('is a lower bound of the exact difference, less than 1 ms below it, so it never excludes the exact instant', () => {
		const random = new Random(11);
		for (let i = 0; i < 2000; i++) {
			const t = ts(Date.UTC(2024, 2, 1) + random.int(-DAY, DAY), random.int(0, 9999));
			const ms = random.pick([1, 999, 1000, 60_000, 15 * MINUTE, DAY, random.int(1, DAY)]);
			const result = subtractMs(t, ms);
			expect(result).toMatch(CANONICAL);
			const exact = ticksOf(t) - BigInt(ms) * 10_000n;
			expect(ticksOf(result) <= exact).toBe(true);
			expect(exact - ticksOf(result) < 10_000n).toBe(true);
		}
	});

	// BUG (found with this suite; very low severity, unreachable with Defender data): the 0000–9999 range check is
	// only in canonicalTimestamp. subtractMs (and timestampFromMs) format an instant before year 0000 as
	// `00-1-12-31T23:59:59.9990000Z`, which is not canonical and sorts below every canonical string by accident
	// only. In the cursor it needs a highWater within the look-back of 0000-01-01T00:00:00Z (Defender's "never" is
	// 0001-01-01), and the result is then max-ed with the floor, so no request carries it. Expected: a canonical
	// lower bound (e.g. clamped to 0000-01-01T00:00:00.0000000Z).
	test.failing('stays canonical (and a lower bound) for an instant the subtraction moves before year 0000', () => {
		const result = subtractMs('0000-01-01T00:00:00.0000000Z', 1);
		expect(result).toMatch(CANONICAL);
		expect(result <= '0000-01-01T00:00:00.0000000Z').toBe(true);
	});
});

describe('maxTimestamp', () => {
	test('ignores undefined and compares at full precision', () => {
		expect(maxTimestamp(undefined, undefined)).toBeUndefined();
		expect(maxTimestamp('2024-03-01T12:00:05.1234561Z', undefined)).toBe('2024-03-01T12:00:05.1234561Z');
		expect(maxTimestamp(undefined, '2024-03-01T12:00:05.1234561Z')).toBe('2024-03-01T12:00:05.1234561Z');
		expect(maxTimestamp('2024-03-01T12:00:05.1234561Z', '2024-03-01T12:00:05.1234567Z')).toBe('2024-03-01T12:00:05.1234567Z');
		expect(maxTimestamp('2024-03-01T12:00:05.1234567Z', '2024-03-01T12:00:05.1234561Z')).toBe('2024-03-01T12:00:05.1234567Z');
	});
});
