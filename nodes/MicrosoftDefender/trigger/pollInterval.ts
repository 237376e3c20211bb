/**
 * The longest time between two polls of the trigger, from n8n's `pollTimes` parameter:
 * `{ item: [{ mode, minute?, hour?, weekday?, dayOfMonth?, value?, unit?, cronExpression? }] }`.
 *
 * n8n turns each item into a cron expression (n8n-workflow's `toCronExpression`) and runs every one of them with
 * the `cron` package, in the workflow's time zone:
 * - everyMinute: `s * * * * *`;               everyHour: `s <minute> * * * *`;
 * - everyX minutes: `s *∕<value> * * * *`;    everyX hours: `s m *∕<value> * * *`  (s, m chosen at random once);
 * - everyDay: `s <minute> <hour> * * *`;      everyWeek: `s <minute> <hour> * * <weekday>`;
 * - everyMonth: `s <minute> <hour> <dayOfMonth> * *`;  custom (and any other mode): `cronExpression` as written.
 * Each item is read with the same rules as the `cron` package (5 or 6 fields, seconds first when 6; `*`, lists,
 * ranges, steps, month and weekday names, `@daily`-style presets; months 1-12, weekdays 0-7 with 7 = Sunday; when
 * both day of month and weekday are restricted a day matching either fires). A step walks from the range's start,
 * so `*∕7` minutes fires at :00, :07 … :56 and the gap across the hour (4 minutes) is shorter than 7; `*∕90`
 * minutes fires at :00 only, once an hour.
 *
 * The longest gap of one item is exact and computed on the wall clock: the sorted fire times of a day give the
 * longest gap inside a day, and the days that fire over a whole Gregorian cycle of 400 years (146,097 days, which
 * repeats weekdays and leap days exactly) give the longest gap between days (a weekdays-at-9 schedule: Friday
 * 9:00 to Monday 9:00, 72 hours). Daylight-saving changes are not in it: on the zone's clock a change can lengthen
 * one gap of an every-few-hours or daily schedule by its size (checkHistoricalStart adds that).
 *
 * Several items fire at least as often as any one of them, so the longest gap of all is at most the smallest
 * longest gap of one: that is returned (an upper bound, the safe side for its use). Values:
 * - not an object with an `item` list, or no item n8n could run (a known mode with a missing or out-of-range
 *   field): 60,000 ms, n8n's shortest interval (it refuses to activate anything shorter);
 * - a custom expression this cannot read, or one that never fires: one day.
 */

const SECOND = 1000;
const DAY_SECONDS = 86_400;

/** n8n's shortest polling interval. */
export const MIN_POLL_GAP_MS = 60 * SECOND;
/** The gap assumed for a custom cron expression that cannot be read. */
export const UNKNOWN_CRON_GAP_MS = DAY_SECONDS * SECOND;

const PRESETS: Record<string, string> = {
	'@yearly': '0 0 0 1 1 *',
	'@monthly': '0 0 0 1 * *',
	'@weekly': '0 0 0 * * 0',
	'@daily': '0 0 0 * * *',
	'@hourly': '0 0 * * * *',
	'@minutely': '0 * * * * *',
	'@secondly': '* * * * * *',
	'@weekdays': '0 0 0 * * 1-5',
	'@weekends': '0 0 0 * * 0,6',
};

const ALIASES: Record<string, number> = {
	jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
	sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6,
};

/** second, minute, hour, day of month, month, day of week. */
const LIMITS: Array<[number, number]> = [
	[0, 59],
	[0, 59],
	[0, 23],
	[1, 31],
	[1, 12],
	[0, 7],
];

/** The values one field allows, or undefined when the `cron` package would refuse it. */
function parseField(text: string, [low, high]: [number, number], weekday: boolean): Set<number> | undefined {
	if (text.split(',').some((part) => part.indexOf('*') > 0)) return undefined;
	const values = new Set<number>();
	for (const range of text.replace(/\*/g, `${low}-${high}`).split(',')) {
		const match = /^(\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(range);
		if (!match) return undefined;
		const lower = parseInt(match[1], 10);
		const upperGiven = match[2] !== undefined ? parseInt(match[2], 10) : undefined;
		const step = match[3] !== undefined ? parseInt(match[3], 10) : 1;
		if (step === 0) return undefined;
		if (upperGiven !== undefined && lower > upperGiven) return undefined;
		if (lower < low || (upperGiven ?? lower) > high) return undefined;
		const upper = upperGiven ?? (match[3] !== undefined ? high : lower);
		for (let v = lower; v <= upper; v += step) values.add(weekday && v === 7 ? 0 : v);
	}
	return values;
}

export interface CronFields {
	seconds: number[];
	minutes: number[];
	hours: number[];
	daysOfMonth: Set<number>;
	months: Set<number>;
	weekdays: Set<number>;
}

/** A cron expression as the `cron` package reads it, or undefined when it would refuse it. */
export function parseCron(expression: string): CronFields | undefined {
	let source = expression.trim().toLowerCase();
	source = PRESETS[source] ?? source;
	let unknownName = false;
	source = source.replace(/[a-z]{1,3}/g, (name) => {
		if (Object.prototype.hasOwnProperty.call(ALIASES, name)) return String(ALIASES[name]);
		unknownName = true;
		return name;
	});
	if (unknownName) return undefined;
	const parts = source.split(/\s+/);
	if (parts.length < 5 || parts.length > 6) return undefined;
	if (parts.length === 5) parts.unshift('0');
	const sets: Array<Set<number>> = [];
	for (let i = 0; i < 6; i++) {
		const set = parseField(parts[i], LIMITS[i], i === 5);
		if (!set) return undefined;
		sets.push(set);
	}
	const sorted = (set: Set<number>) => [...set].sort((a, b) => a - b);
	return {
		seconds: sorted(sets[0]),
		minutes: sorted(sets[1]),
		hours: sorted(sets[2]),
		daysOfMonth: sets[3],
		months: sets[4],
		weekdays: sets[5],
	};
}

const CYCLE_DAYS = 146_097;

function daysInMonth(year: number, month: number): number {
	if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
	return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The longest wall-clock gap between two fire times of a cron expression, in ms; undefined if it never fires. */
export function longestCronGapMs(fields: CronFields): number | undefined {
	const times: number[] = [];
	for (const h of fields.hours) for (const m of fields.minutes) for (const s of fields.seconds) times.push(h * 3600 + m * 60 + s);
	let longest = 0;
	for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1]);
	const first = times[0];
	const last = times[times.length - 1];

	// The `cron` package: a restricted field is one that does not list every value; with both day fields
	// restricted, either one matching is enough.
	const domRestricted = fields.daysOfMonth.size !== 31;
	const dowRestricted = fields.weekdays.size !== 7;
	let firstDay: number | undefined;
	let previousDay: number | undefined;
	let index = 0;
	let weekday = 6; // 1 January 2000 was a Saturday.
	for (let year = 2000; year < 2400; year++) {
		for (let month = 1; month <= 12; month++) {
			const length = daysInMonth(year, month);
			for (let day = 1; day <= length; day++, index++, weekday = (weekday + 1) % 7) {
				if (!fields.months.has(month)) continue;
				const domMatch = fields.daysOfMonth.has(day);
				const dowMatch = fields.weekdays.has(weekday);
				const fires =
					domRestricted && dowRestricted ? domMatch || dowMatch : domRestricted ? domMatch : dowRestricted ? dowMatch : true;
				if (!fires) continue;
				if (previousDay !== undefined) longest = Math.max(longest, (index - previousDay) * DAY_SECONDS - last + first);
				firstDay ??= index;
				previousDay = index;
			}
		}
	}
	if (firstDay === undefined || previousDay === undefined) return undefined;
	// The cycle repeats: from its last firing day to the first one of the next cycle.
	longest = Math.max(longest, (firstDay + CYCLE_DAYS - previousDay) * DAY_SECONDS - last + first);
	return longest * SECOND;
}

/** The cron expression n8n makes of an item (with second and minute 0 where n8n picks them at random). */
function itemExpression(item: Record<string, unknown>): { expression: string; custom: boolean } | undefined {
	const { mode, minute, hour, weekday, dayOfMonth, value, unit, cronExpression } = item;
	// A missing or blank field makes n8n's expression unreadable, as here.
	const field = (v: unknown) => {
		const text = typeof v === 'number' || typeof v === 'string' ? String(v).trim() : '';
		return text && !/\s/.test(text) ? text : 'invalid';
	};
	switch (mode) {
		case 'everyMinute':
			return { expression: '0 * * * * *', custom: false };
		case 'everyHour':
			return { expression: `0 ${field(minute)} * * * *`, custom: false };
		case 'everyDay':
			return { expression: `0 ${field(minute)} ${field(hour)} * * *`, custom: false };
		case 'everyWeek':
			return { expression: `0 ${field(minute)} ${field(hour)} * * ${field(weekday)}`, custom: false };
		case 'everyMonth':
			return { expression: `0 ${field(minute)} ${field(hour)} ${field(dayOfMonth)} * *`, custom: false };
		case 'everyX':
			if (unit === 'minutes') return { expression: `0 */${field(value)} * * * *`, custom: false };
			if (unit === 'hours') return { expression: `0 0 */${field(value)} * * *`, custom: false };
			break;
	}
	// n8n-workflow uses the cron expression for every other mode (and an everyX with another unit).
	if (typeof cronExpression === 'string') return { expression: cronExpression, custom: true };
	return undefined;
}

/** The longest time between two polls for n8n's `pollTimes` parameter value (see the top of this file). */
export function longestPollGapMs(pollTimes: unknown): number {
	const items = (pollTimes as { item?: unknown } | null | undefined)?.item;
	if (!Array.isArray(items)) return MIN_POLL_GAP_MS;
	let shortest: number | undefined;
	for (const item of items) {
		if (!item || typeof item !== 'object') continue;
		const made = itemExpression(item as Record<string, unknown>);
		if (!made) continue;
		const fields = parseCron(made.expression);
		let gap: number | undefined;
		if (fields) gap = longestCronGapMs(fields) ?? UNKNOWN_CRON_GAP_MS;
		else if (made.custom) gap = UNKNOWN_CRON_GAP_MS;
		if (gap !== undefined) shortest = Math.min(shortest ?? Infinity, gap);
	}
	return shortest ?? MIN_POLL_GAP_MS;
}
