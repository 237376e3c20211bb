import * as chrono from 'chrono-node';
import { DateTime, Info } from 'luxon';

/**
 * "Max historical poll start": a relative phrase (`30 days ago`, `12 hours ago`, `yesterday`) re-evaluated on
 * every poll, or an ISO 8601 date. Empty means "from the first poll on".
 *
 * Phrases and dates without an offset are read in the workflow's time zone (`this.getTimezone()`): `yesterday` is
 * the day before in that zone, `2026-03-29T01:30:00` is 01:30 on that zone's clock; a date with `Z` or an offset
 * keeps it.
 */
export type HistoricalStart =
	| { kind: 'relative'; phrase: string }
	| { kind: 'absolute'; at: Date }
	| { kind: 'activation' };

export const HISTORICAL_START_EXAMPLES = '"30 days ago", "12 hours ago", "2 weeks ago", "yesterday" or "2026-11-01T00:00:00Z"';

export class HistoricalStartError extends Error {}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The zone to read in: an IANA name (`Europe/Berlin`) or a fixed offset (`UTC+2`); anything else reads as UTC. */
function zoneOrUtc(zone: string | undefined): string {
	if (!zone) return 'UTC';
	const normalized = Info.normalizeZone(zone);
	return normalized?.isValid ? zone : 'UTC';
}

const CLOCK_UNITS: Record<string, number> = {
	s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
	m: MINUTE, min: MINUTE, mins: MINUTE, minute: MINUTE, minutes: MINUTE,
	h: HOUR, hr: HOUR, hrs: HOUR, hour: HOUR, hours: HOUR,
};
type CalendarUnit = 'days' | 'weeks' | 'months' | 'years';
const CALENDAR_UNITS: Record<string, CalendarUnit> = {
	d: 'days', day: 'days', days: 'days',
	w: 'weeks', wk: 'weeks', wks: 'weeks', week: 'weeks', weeks: 'weeks',
	mo: 'months', mos: 'months', month: 'months', months: 'months',
	y: 'years', yr: 'years', yrs: 'years', year: 'years', years: 'years',
};
const LAST: Record<string, CalendarUnit> = { 'last week': 'weeks', 'last month': 'months', 'last year': 'years' };

/**
 * The common phrases, computed here rather than by chrono: "now", "today", "yesterday", "last week/month/year"
 * and "<n> <unit> ago" (several units allowed: "1 day 2 hours ago", "2 hours and 30 minutes ago"). Units below a
 * day are real time ("12 hours ago" is 12 hours before, whatever the clock did); days, weeks, months and years
 * are calendar steps in the zone that keep the clock time (luxon: "yesterday" at 14:00 is 14:00 the day before,
 * 23 or 25 real hours across a daylight-saving change; "1 month ago" on 31 March is 28 February). chrono does the
 * same on a fixed offset, but computes with the server's own zone underneath, which moves results by an hour
 * when a clock time falls in the hour the server's zone skips. undefined: not one of these phrases.
 */
function commonPhrase(phrase: string, reference: Date, zone: string): Date | null | undefined {
	const text = phrase.toLowerCase().replace(/\s+/g, ' ');
	if (text === 'now' || text === 'right now' || text === 'today') return reference;
	const local = DateTime.fromJSDate(reference, { zone });
	const calendar: Partial<Record<CalendarUnit, number>> = {};
	let clockMs = 0;
	if (text === 'yesterday') calendar.days = 1;
	else if (LAST[text]) calendar[LAST[text]] = 1;
	else {
		const body = /^(.+) ago$/.exec(text)?.[1];
		if (!body) return undefined;
		for (const part of body.split(/ ?, ?(?:and )?| and /)) {
			if (!/^(?:(?:\d+ ?|(?:an?|one) )[a-z]+ ?)+$/.test(part)) return undefined;
			for (const [, digits, unit] of part.matchAll(/(?:(\d+) ?|(?:an?|one) )([a-z]+)/g)) {
				const n = digits === undefined ? 1 : Number(digits);
				if (CLOCK_UNITS[unit]) clockMs += n * CLOCK_UNITS[unit];
				else if (CALENDAR_UNITS[unit]) calendar[CALENDAR_UNITS[unit]] = (calendar[CALENDAR_UNITS[unit]] ?? 0) + n;
				else return undefined;
			}
		}
	}
	const date = local.minus(calendar).minus(clockMs);
	return date.isValid ? new Date(date.toMillis()) : null;
}

/**
 * The instant a phrase means at `reference`, read in `zone`: an ISO 8601 date (luxon), a common phrase (above),
 * or anything else chrono-node reads.
 *
 * chrono-node only knows fixed offsets, so it is given the zone's offset at `reference` (which makes the
 * reference's date and clock time right). Its answer is then used in one of two ways:
 * - when chrono is certain of the offset (text with an explicit offset or zone such as "+0200" or "EST", and the
 *   relative times below a day it reads that commonPhrase does not), its instant is exact and kept;
 * - otherwise (calendar phrases such as "last monday", "yesterday 9am", "3 days ago at noon", dates without an
 *   offset such as "March 1 2026 10:00") only its wall-clock fields are kept and read in the zone at the date
 *   they name, whose offset can differ from the reference's across a daylight-saving change: "yesterday 2pm" at
 *   14:00 CEST on 29 March 2026 (Berlin) is 14:00 CET on the 28th, 23 real hours earlier. A wall-clock time the
 *   change skips moves forward (luxon's rule); one it repeats keeps the reference's offset when that is one of
 *   its two readings, else luxon picks.
 */
function instantAt(phrase: string, reference: Date, zone: string): Date | null {
	const iso = DateTime.fromISO(phrase, { zone });
	if (iso.isValid) return iso.toJSDate();
	const common = commonPhrase(phrase, reference, zone);
	if (common !== undefined) return common;
	const offset = DateTime.fromJSDate(reference, { zone }).offset;
	const [result] = chrono.parse(phrase, { instant: reference, timezone: offset }, { forwardDate: false });
	if (!result) return null;
	const start = result.start;
	const atReference = start.date();
	if (start.isCertain('timezoneOffset')) return atReference;
	const wall = {
		year: start.get('year') ?? undefined,
		month: start.get('month') ?? undefined,
		day: start.get('day') ?? undefined,
		hour: start.get('hour') ?? 0,
		minute: start.get('minute') ?? 0,
		second: start.get('second') ?? 0,
		millisecond: start.get('millisecond') ?? 0,
	};
	// Same offset as the reference (or, in the hour a change repeats, the reference's reading of it): chrono's.
	const check = DateTime.fromJSDate(atReference, { zone });
	if ((Object.keys(wall) as Array<keyof typeof wall>).every((unit) => wall[unit] === undefined || check[unit] === wall[unit])) {
		return atReference;
	}
	const local = DateTime.fromObject(wall, { zone });
	return local.isValid ? local.toJSDate() : atReference;
}

function isDate(date: Date | null): date is Date {
	return !!date && !Number.isNaN(date.getTime());
}

/** A reference far from any other: a phrase that names the same instant from both does not depend on the clock. */
const OTHER_REFERENCE_MS = 400 * DAY + 7 * HOUR + 13 * MINUTE + 17_500;

export function parseHistoricalStart(value: unknown, now = new Date(), zone = 'UTC'): HistoricalStart {
	const phrase = typeof value === 'string' ? value.trim() : '';
	if (!phrase) return { kind: 'activation' };
	const tz = zoneOrUtc(zone);
	const date = instantAt(phrase, now, tz);
	if (!isDate(date)) {
		throw new HistoricalStartError(
			`Max Historical Poll Start "${phrase}" is not a date or a relative time. Use for example ${HISTORICAL_START_EXAMPLES}, or leave it empty to start from activation.`,
		);
	}
	if (date.getTime() > now.getTime() + 60_000) {
		throw new HistoricalStartError(
			`Max Historical Poll Start "${phrase}" is in the future (${date.toISOString()}). Use a past time such as ${HISTORICAL_START_EXAMPLES}.`,
		);
	}
	// Relative phrases move with the clock: "30 days ago" means 30 days before each poll (the seed's rule). A phrase
	// that names one instant whatever the clock says ("1 March 2026 10:00") is a date like an ISO one.
	const other = instantAt(phrase, new Date(now.getTime() - OTHER_REFERENCE_MS), tz);
	const absolute =
		DateTime.fromISO(phrase).isValid ||
		/^\d{4}-\d{2}-\d{2}/.test(phrase) ||
		(isDate(other) && other.getTime() === date.getTime());
	return absolute ? { kind: 'absolute', at: date } : { kind: 'relative', phrase };
}

/** The earliest time this poll may go back to. `activatedAt` is the first poll's time for an empty setting. */
export function historicalFloor(
	start: HistoricalStart,
	now: Date,
	activatedAt: Date | undefined,
	zone = 'UTC',
): Date {
	switch (start.kind) {
		case 'absolute':
			return start.at;
		case 'relative': {
			const date = instantAt(start.phrase, now, zoneOrUtc(zone));
			return isDate(date) ? date : now;
		}
		default:
			return activatedAt ?? now;
	}
}

/** The first instant in (from, to] whose offset differs from `from`'s (one change between the two). */
function offsetChange(from: DateTime, to: DateTime, zone: string): number {
	let before = from.toMillis();
	let after = to.toMillis();
	while (after - before > 1) {
		const middle = Math.floor((before + after) / 2);
		if (DateTime.fromMillis(middle, { zone }).offset === from.offset) before = middle;
		else after = middle;
	}
	return after;
}

interface YearAhead {
	day: DateTime;
	midnights: DateTime[];
	/** The first instant of each offset change. */
	changes: number[];
	/** The largest offset change. */
	shiftMs: number;
}
const yearCache = new Map<string, YearAhead>();

/** Local midnights from the start of `now`'s day, for a year and a day, and the offset changes between them. */
function yearAhead(now: Date, zone: string): YearAhead {
	const day = DateTime.fromJSDate(now, { zone }).startOf('day');
	const key = `${day.zoneName}\u0000${day.toMillis()}`;
	const cached = yearCache.get(key);
	if (cached) return cached;
	const midnights = [day];
	const changes: number[] = [];
	let shiftMs = 0;
	for (let d = 1; d <= 367; d++) {
		const midnight = day.plus({ days: d });
		const previous = midnights[midnights.length - 1];
		if (midnight.offset !== previous.offset) {
			changes.push(offsetChange(previous, midnight, zone));
			shiftMs = Math.max(shiftMs, Math.abs(midnight.offset - previous.offset) * MINUTE);
		}
		midnights.push(midnight);
	}
	if (yearCache.size >= 100) yearCache.clear();
	const year = { day, midnights, changes, shiftMs };
	yearCache.set(key, year);
	return year;
}

const reachCache = new Map<string, number>();
const QUARTER = 15 * MINUTE;

/**
 * The shortest distance, over every poll from the start of today (in `zone`) to a year ahead, between a poll and
 * the floor a relative phrase gives at that poll (negative when the floor can be after the poll). A phrase that
 * cannot be read gives the poll's own time (see historicalFloor): 0.
 *
 * Why a finite set of instants is enough. Read at a poll t, a phrase gives a floor f(t) that
 * depends on t in one of three ways: a duration below a day ("12 hours ago", "now"): f(t) = t - k, the distance is
 * constant; a calendar shift keeping the poll's clock time ("yesterday", "2 days ago", "1 month ago", "last
 * week"): the distance is constant between two local midnights except that it steps at an offset change; a
 * calendar position with a fixed clock time ("today at 9", "noon", "last monday", "this week", "this month",
 * "March 1"): f is constant over each local day, so the distance grows through the day. In each case the
 * distance over a local day is smallest at the day's first instant or just after an offset change inside it, and
 * which day it is matters at most through its weekday, day of month, month or year: every local midnight of the
 * coming year, and both sides of every offset change in it, therefore include the smallest distance. Some
 * readings also depend on the hour of the poll ("last night" is today's midnight until 6 in the morning, in the
 * server's own zone): every quarter hour of the first 2 days (every zone's hour starts on a UTC quarter hour) and
 * every hour of the next 6 are added. The result only depends on the local date, so it is kept per date.
 */
export function shortestReachMs(phrase: string, now: Date, zone = 'UTC'): number {
	const tz = zoneOrUtc(zone);
	const { day, midnights, changes } = yearAhead(now, tz);
	const key = `${tz}\u0000${day.toMillis()}\u0000${phrase}`;
	const cached = reachCache.get(key);
	if (cached !== undefined) return cached;
	const polls: number[] = [...midnights.map((m) => m.toMillis()), ...changes.flatMap((c) => [c - 1, c])];
	// chrono computes with the server's own zone underneath: some fields come from it ("this month" is the
	// server's month), and a clock time that zone skips moves by an hour. Its midnights and offset changes are
	// added, and the polls whose clock time here is one the server's zone skips or repeats (every quarter hour
	// from two hours before to two hours after).
	const serverAhead = yearAhead(day.toJSDate(), 'system');
	if (serverAhead.day.zoneName !== day.zoneName) {
		polls.push(...serverAhead.midnights.map((m) => m.toMillis()), ...serverAhead.changes.flatMap((c) => [c - 1, c]));
		for (const change of serverAhead.changes) {
			for (const wall of [DateTime.fromMillis(change - 1, { zone: 'system' }), DateTime.fromMillis(change, { zone: 'system' })]) {
				const { year, month, day: date, hour, minute } = wall;
				const here = DateTime.fromObject({ year, month, day: date, hour, minute }, { zone: tz }).toMillis();
				for (let q = -8; q <= 8; q++) polls.push(Math.floor(here / QUARTER) * QUARTER + q * QUARTER);
			}
		}
	}
	const quarter = Math.floor(day.toMillis() / QUARTER) * QUARTER;
	for (let q = 1; q < 2 * 96; q++) polls.push(quarter + q * QUARTER);
	for (let h = 48; h < 8 * 24; h++) polls.push(day.plus({ hours: h }).toMillis());
	let shortest = Infinity;
	for (const poll of polls) {
		const floor = instantAt(phrase, new Date(poll), tz);
		shortest = Math.min(shortest, isDate(floor) ? poll - floor.getTime() : 0);
	}
	if (reachCache.size >= 500) reachCache.clear();
	reachCache.set(key, shortest);
	return shortest;
}

function plural(n: number, unit: string): string {
	return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** "1 day 2 hours 16 minutes", in whole minutes (rounded down, or up with `up`). */
function spell(ms: number, up = false): string {
	const total = Math.max(0, up ? Math.ceil(ms / MINUTE) : Math.floor(ms / MINUTE));
	const parts: string[] = [];
	const days = Math.floor(total / 1440);
	const hours = Math.floor((total % 1440) / 60);
	const minutes = total % 60;
	if (days) parts.push(plural(days, 'day'));
	if (hours) parts.push(plural(hours, 'hour'));
	if (minutes || !parts.length) parts.push(plural(minutes, 'minute'));
	return parts.join(' ');
}

/** The shortest "N minutes/hours/days ago" reaching `requiredMs` (checked: "N days ago" is shorter across a DST change). */
function shortestPhrase(requiredMs: number, now: Date, zone: string): string {
	const minutes = Math.max(1, Math.ceil(requiredMs / MINUTE));
	let n: number;
	let unit: string;
	if (minutes <= 120) [n, unit] = [minutes, 'minute'];
	else if (minutes <= 48 * 60) [n, unit] = [Math.ceil(minutes / 60), 'hour'];
	else [n, unit] = [Math.ceil(minutes / 1440), 'day'];
	let phrase = `${plural(n, unit)} ago`;
	for (let tries = 0; tries < 10 && shortestReachMs(phrase, now, zone) < requiredMs; tries++) {
		phrase = `${plural(++n, unit)} ago`;
	}
	return phrase;
}

const FRIENDLY_PHRASES = ['1 day ago', '2 days ago', '1 week ago', '30 days ago', '90 days ago'];

/**
 * Refuses a relative Max Historical Poll Start that would starve the trigger. Each poll re-reads the Ingestion
 * Look-Back behind the previous poll, so the floor must lie at least (look-back + the time since the previous
 * poll) before every poll: a closer floor cuts off alerts ingested late, and a floor at "now" ("today", "now",
 * "0 days ago") leaves nothing to read. The time between polls is `pollGapMs` (see longestPollGapMs); when it is
 * over an hour, n8n's cron runs the schedule on the zone's clock and a daylight-saving change lengthens one gap
 * by the size of the change (a 2-hourly poll is 3 hours apart that night), so that size is added. Hourly and
 * faster schedules keep their spacing through the change. Absolute dates and an empty setting are never refused.
 */
export function checkHistoricalStart(
	start: HistoricalStart,
	options: { now: Date; zone: string; lookbackMs: number; pollGapMs: number },
): void {
	if (start.kind !== 'relative') return;
	const { now } = options;
	const zone = zoneOrUtc(options.zone);
	const lookbackMs = Number.isFinite(options.lookbackMs) && options.lookbackMs > 0 ? options.lookbackMs : 0;
	const pollGapMs = Number.isFinite(options.pollGapMs) && options.pollGapMs > 0 ? options.pollGapMs : MINUTE;
	const dstMs = pollGapMs > HOUR ? yearAhead(now, zone).shiftMs : 0;
	const requiredMs = lookbackMs + pollGapMs + dstMs;
	const reachMs = shortestReachMs(start.phrase, now, zone);
	if (reachMs >= requiredMs) return;

	const recent =
		reachMs < 0 ? `can be as late as ${spell(-reachMs)} after a poll` : `can be as recent as ${spell(reachMs)} before a poll`;
	const parts = dstMs
		? `the Ingestion Look-Back plus the time between polls plus ${spell(dstMs, true)} for daylight-saving time changes`
		: 'the Ingestion Look-Back plus the time between polls';
	const shortest = shortestPhrase(requiredMs, now, zone);
	const example = FRIENDLY_PHRASES.find((p) => p !== shortest && shortestReachMs(p, now, zone) >= requiredMs);
	throw new HistoricalStartError(
		`Max Historical Poll Start "${start.phrase}" ${recent}, so the trigger would skip alerts (it must reach back at least ${parts}: ${spell(requiredMs, true)}). Use "${shortest}" or more${example ? `, such as "${example}"` : ''}, or an absolute date.`,
	);
}
