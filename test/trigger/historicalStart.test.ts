/**
 * Max Historical Poll Start: parsing (relative, absolute, errors), reading in the workflow's time zone (across
 * daylight-saving changes), and the check that refuses phrases whose floor can come closer to a poll than the
 * Ingestion Look-Back plus the time between polls.
 */
import { spawnSync } from 'child_process';
import path from 'path';

import {
	checkHistoricalStart,
	HISTORICAL_START_EXAMPLES,
	historicalFloor,
	HistoricalStartError,
	parseHistoricalStart,
	shortestReachMs,
	type HistoricalStart,
} from '../../nodes/MicrosoftDefender/trigger/historicalStart';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const at = (iso: string) => new Date(iso);
/** The floor a setting gives at `now`, read in `zone`. */
const floorOf = (value: string, now: Date, zone?: string) =>
	historicalFloor(parseHistoricalStart(value, now, zone), now, undefined, zone).toISOString();

describe('parseHistoricalStart', () => {
	const now = at('2026-03-29T12:00:00Z');

	test('empty, blank or not a string: from activation on', () => {
		for (const value of ['', '   ', undefined, null, 42]) expect(parseHistoricalStart(value, now)).toEqual({ kind: 'activation' });
	});

	test.each(['30 days ago', '12 hours ago', '2 weeks ago', 'yesterday', 'last monday', 'March 1', 'today'])(
		'%j is relative: read again at each poll',
		(phrase) => {
			expect(parseHistoricalStart(` ${phrase} `, now)).toEqual({ kind: 'relative', phrase });
		},
	);

	test.each([
		['2026-03-01T10:00:00Z', '2026-03-01T10:00:00.000Z'],
		['2026-03-01', '2026-03-01T00:00:00.000Z'],
		['2026-03-01 10:00', '2026-03-01T10:00:00.000Z'],
		['March 1 2026 10:00', '2026-03-01T10:00:00.000Z'],
		['1 March 2026 10:00 +0200', '2026-03-01T08:00:00.000Z'],
	])('%j is absolute (it names one instant whatever the clock says)', (value, iso) => {
		expect(parseHistoricalStart(value, now)).toEqual({ kind: 'absolute', at: at(iso) });
	});

	test('a value that is not a date', () => {
		expect(() => parseHistoricalStart('whenever', now)).toThrow(
			new HistoricalStartError(
				`Max Historical Poll Start "whenever" is not a date or a relative time. Use for example ${HISTORICAL_START_EXAMPLES}, or leave it empty to start from activation.`,
			),
		);
	});

	test('a value in the future', () => {
		expect(() => parseHistoricalStart('tomorrow', now)).toThrow(
			new HistoricalStartError(
				`Max Historical Poll Start "tomorrow" is in the future (2026-03-30T12:00:00.000Z). Use a past time such as ${HISTORICAL_START_EXAMPLES}.`,
			),
		);
		expect(() => parseHistoricalStart('2026-03-29T12:05:00Z', now)).toThrow(/is in the future \(2026-03-29T12:05:00.000Z\)/);
		// A zone-less date is local: 13:30 in Berlin (CEST) is 11:30Z, in the past; in UTC it is in the future.
		expect(parseHistoricalStart('2026-03-29T13:30:00', now, 'Europe/Berlin')).toEqual({ kind: 'absolute', at: at('2026-03-29T11:30:00Z') });
		expect(() => parseHistoricalStart('2026-03-29T13:30:00', now)).toThrow(HistoricalStartError);
	});

	test('HISTORICAL_START_EXAMPLES are all accepted', () => {
		for (const example of HISTORICAL_START_EXAMPLES.match(/"[^"]+"/g)!.map((e) => e.slice(1, -1))) {
			expect(() => parseHistoricalStart(example, at('2027-01-01T00:00:00Z'))).not.toThrow();
		}
	});
});

describe('historicalFloor', () => {
	const now = at('2026-03-29T12:00:00Z');

	test('relative: read at each poll; absolute: fixed; empty: the activation time, else now', () => {
		const relative = parseHistoricalStart('2 hours ago', now);
		expect(historicalFloor(relative, now, undefined).toISOString()).toBe('2026-03-29T10:00:00.000Z');
		expect(historicalFloor(relative, at('2026-04-01T00:00:00Z'), undefined).toISOString()).toBe('2026-03-31T22:00:00.000Z');
		const absolute: HistoricalStart = { kind: 'absolute', at: at('2026-01-01T00:00:00Z') };
		expect(historicalFloor(absolute, now, undefined, 'Europe/Berlin')).toEqual(at('2026-01-01T00:00:00Z'));
		expect(historicalFloor({ kind: 'activation' }, now, at('2026-03-01T00:00:00Z'))).toEqual(at('2026-03-01T00:00:00Z'));
		expect(historicalFloor({ kind: 'activation' }, now, undefined)).toEqual(now);
	});

	test('a phrase that no longer reads gives now', () => {
		expect(historicalFloor({ kind: 'relative', phrase: 'whenever' }, now, undefined)).toEqual(now);
	});

	test('the zone defaults to UTC; an unknown zone reads as UTC', () => {
		expect(floorOf('yesterday 9am', now)).toBe('2026-03-28T09:00:00.000Z');
		expect(floorOf('yesterday 9am', now, 'Mars/Olympus_Mons')).toBe('2026-03-28T09:00:00.000Z');
		expect(floorOf('2026-03-28T09:00:00', now, 'Mars/Olympus_Mons')).toBe('2026-03-28T09:00:00.000Z');
	});
});

describe('reading in the workflow time zone', () => {
	test('"yesterday" is the day before in the zone: Pacific/Auckland and UTC at the same instant', () => {
		// 12:00Z on 29 March 2026 is 01:00 on 30 March in Auckland (NZDT, +13).
		const now = at('2026-03-29T12:00:00Z');
		expect(floorOf('yesterday', now, 'UTC')).toBe('2026-03-28T12:00:00.000Z');
		expect(floorOf('yesterday', now, 'Pacific/Auckland')).toBe('2026-03-28T12:00:00.000Z'); // 29 March 01:00 NZDT
		expect(floorOf('yesterday 9am', now, 'UTC')).toBe('2026-03-28T09:00:00.000Z');
		expect(floorOf('yesterday 9am', now, 'Pacific/Auckland')).toBe('2026-03-28T20:00:00.000Z'); // 29 March 09:00 NZDT
		// Sunday the 29th in UTC, Monday the 30th in Auckland: last Monday is the 23rd at noon in both, hours apart.
		expect(floorOf('last monday', now, 'UTC')).toBe('2026-03-23T12:00:00.000Z');
		expect(floorOf('last monday', now, 'Pacific/Auckland')).toBe('2026-03-22T23:00:00.000Z');

		// Auckland leaves daylight saving at 03:00 NZDT on 5 April 2026 (back to 02:00 NZST, +12). 12:00Z on the 5th is
		// 00:00 on the 6th there: yesterday at 00:00 was still NZDT, 25 real hours before.
		const after = at('2026-04-05T12:00:00Z');
		expect(floorOf('yesterday', after, 'UTC')).toBe('2026-04-04T12:00:00.000Z');
		expect(floorOf('yesterday', after, 'Pacific/Auckland')).toBe('2026-04-04T11:00:00.000Z');
	});

	test('Europe/Berlin across the change to summer time (02:00 CET -> 03:00 CEST on 29 March 2026)', () => {
		const zone = 'Europe/Berlin';
		// 12:00Z on the 29th is 14:00 CEST; the 28th and 27th were CET (+1): 14:00 there is 13:00Z.
		const sunday = at('2026-03-29T12:00:00Z');
		expect(floorOf('yesterday', sunday, zone)).toBe('2026-03-28T13:00:00.000Z'); // 23 hours back
		expect(floorOf('2 days ago', sunday, zone)).toBe('2026-03-27T13:00:00.000Z'); // 47 hours back
		expect(floorOf('12 hours ago', sunday, zone)).toBe('2026-03-29T00:00:00.000Z'); // durations are real time
		// 12:00Z on the 30th is 14:00 CEST: the 29th at 14:00 was CEST already, the 28th CET.
		const monday = at('2026-03-30T12:00:00Z');
		expect(floorOf('yesterday', monday, zone)).toBe('2026-03-29T12:00:00.000Z'); // 24 hours back
		expect(floorOf('2 days ago', monday, zone)).toBe('2026-03-28T13:00:00.000Z'); // 47 hours back
		// In UTC nothing moves.
		expect(floorOf('yesterday', sunday, 'UTC')).toBe('2026-03-28T12:00:00.000Z');
		expect(floorOf('2 days ago', monday, 'UTC')).toBe('2026-03-28T12:00:00.000Z');
	});

	test('America/New_York across the change to summer time (02:00 EST -> 03:00 EDT on 8 March 2026)', () => {
		const zone = 'America/New_York';
		const sunday = at('2026-03-08T18:00:00Z'); // 14:00 EDT
		expect(floorOf('yesterday', sunday, zone)).toBe('2026-03-07T19:00:00.000Z'); // 14:00 EST, 23 hours back
		expect(floorOf('2 days ago', at('2026-03-09T18:00:00Z'), zone)).toBe('2026-03-07T19:00:00.000Z');
		expect(floorOf('yesterday', at('2026-03-09T18:00:00Z'), zone)).toBe('2026-03-08T18:00:00.000Z');
	});

	test('zone-less dates are local time on either side of the change; Z or an offset is kept', () => {
		const now = at('2026-04-01T00:00:00Z');
		const berlin = 'Europe/Berlin';
		const newYork = 'America/New_York';
		expect(floorOf('2026-03-29T01:30:00', now, berlin)).toBe('2026-03-29T00:30:00.000Z'); // CET, +1
		expect(floorOf('2026-03-29T03:30:00', now, berlin)).toBe('2026-03-29T01:30:00.000Z'); // CEST, +2
		expect(floorOf('2026-03-29T02:30:00', now, berlin)).toBe('2026-03-29T01:30:00.000Z'); // skipped: moves to 03:30
		expect(floorOf('2026-03-29', now, berlin)).toBe('2026-03-28T23:00:00.000Z');
		expect(floorOf('2026-03-29 01:30', now, berlin)).toBe('2026-03-29T00:30:00.000Z');
		expect(floorOf('March 29 2026 03:30', now, berlin)).toBe('2026-03-29T01:30:00.000Z');
		expect(floorOf('2026-03-08T01:30:00', now, newYork)).toBe('2026-03-08T06:30:00.000Z'); // EST, -5
		expect(floorOf('2026-03-08T03:30:00', now, newYork)).toBe('2026-03-08T07:30:00.000Z'); // EDT, -4
		expect(floorOf('2026-03-29T01:30:00', now, newYork)).toBe('2026-03-29T05:30:00.000Z');
		for (const zone of ['UTC', berlin, newYork, 'Pacific/Auckland']) {
			expect(floorOf('2026-03-29T01:30:00Z', now, zone)).toBe('2026-03-29T01:30:00.000Z');
			expect(floorOf('2026-03-29T01:30:00+05:00', now, zone)).toBe('2026-03-28T20:30:00.000Z');
			expect(floorOf('March 29 2026 01:30 UTC', now, zone)).toBe('2026-03-29T01:30:00.000Z');
		}
	});

	test('in the hour the change to winter time repeats, "today" is the poll itself', () => {
		// 25 October 2026: 03:00 CEST -> 02:00 CET. 00:30Z is 02:30 CEST, 01:30Z is 02:30 CET.
		for (const iso of ['2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z']) {
			expect(floorOf('today', at(iso), 'Europe/Berlin')).toBe(new Date(iso).toISOString());
			expect(floorOf('0 days ago', at(iso), 'Europe/Berlin')).toBe(new Date(iso).toISOString());
		}
	});
});

describe('common phrases (computed without chrono)', () => {
	const now = at('2026-03-31T12:00:00Z');

	test.each([
		['now', '2026-03-31T12:00:00.000Z'],
		['Today', '2026-03-31T12:00:00.000Z'],
		['0 minutes ago', '2026-03-31T12:00:00.000Z'],
		['30 seconds ago', '2026-03-31T11:59:30.000Z'],
		['an hour ago', '2026-03-31T11:00:00.000Z'],
		['1h ago', '2026-03-31T11:00:00.000Z'],
		['90 mins ago', '2026-03-31T10:30:00.000Z'],
		['1 day 2 hours ago', '2026-03-30T10:00:00.000Z'],
		['2 hours and 30 minutes ago', '2026-03-31T09:30:00.000Z'],
		['1 week, 1 day ago', '2026-03-23T12:00:00.000Z'],
		['a week ago', '2026-03-24T12:00:00.000Z'],
		['last week', '2026-03-24T12:00:00.000Z'],
		['1 month ago', '2026-02-28T12:00:00.000Z'], // 31 March: the last day of February
		['last month', '2026-02-28T12:00:00.000Z'],
		['2 years ago', '2024-03-31T12:00:00.000Z'],
		['last year', '2025-03-31T12:00:00.000Z'],
		['1d ago', '2026-03-30T12:00:00.000Z'],
		['yesterday', '2026-03-30T12:00:00.000Z'],
	])('%j', (phrase, iso) => {
		expect(floorOf(phrase, now)).toBe(iso);
	});

	test('units below a day are real time, days and longer keep the clock time in the zone', () => {
		const berlin = at('2026-03-29T12:00:00Z'); // 14:00 CEST, the day summer time began
		expect(floorOf('24 hours ago', berlin, 'Europe/Berlin')).toBe('2026-03-28T12:00:00.000Z');
		expect(floorOf('1 day ago', berlin, 'Europe/Berlin')).toBe('2026-03-28T13:00:00.000Z');
		expect(floorOf('1 day 2 hours ago', berlin, 'Europe/Berlin')).toBe('2026-03-28T11:00:00.000Z');
		expect(floorOf('1 week ago', berlin, 'Europe/Berlin')).toBe('2026-03-22T13:00:00.000Z');
	});

	test('the same instants whatever the server zone (chrono moves clock times the server zone skips)', () => {
		// 02:30Z on 29 March 2026 is 02:30 in UTC, a clock time Berlin skips. Run in a server set to Europe/Berlin.
		const script = [
			"const h = require('./nodes/MicrosoftDefender/trigger/historicalStart');",
			"const now = new Date('2026-03-29T02:30:00Z');",
			"const out = ['now', '10 minutes ago', 'yesterday', '12 hours ago'].map((p) => h.historicalFloor(h.parseHistoricalStart(p, now), now, undefined).toISOString());",
			'console.log(JSON.stringify(out));',
		].join('\n');
		const result = spawnSync(process.execPath, ['-r', 'ts-node/register', '-e', script], {
			cwd: path.resolve(__dirname, '../..'),
			env: { ...process.env, TZ: 'Europe/Berlin', TS_NODE_PROJECT: 'tsconfig.test.json', TS_NODE_TRANSPILE_ONLY: 'true' },
			encoding: 'utf8',
		});
		expect(result.stderr).toBe('');
		expect(JSON.parse(result.stdout)).toEqual([
			'2026-03-29T02:30:00.000Z',
			'2026-03-29T02:20:00.000Z',
			'2026-03-28T02:30:00.000Z',
			'2026-03-28T14:30:00.000Z',
		]);
	});
});

describe('shortestReachMs: the closest a phrase comes to a poll', () => {
	const now = at('2026-03-29T12:00:00Z');

	test.each([
		['now', 'UTC', 0],
		['today', 'UTC', 0],
		['today', 'Europe/Berlin', 0],
		['0 days ago', 'Europe/Berlin', 0],
		['10 minutes ago', 'Europe/Berlin', 10 * MINUTE],
		['12 hours ago', 'Europe/Berlin', 12 * HOUR],
		['yesterday', 'UTC', DAY],
		['yesterday', 'Europe/Berlin', 23 * HOUR], // the day after the change to summer time
		['yesterday', 'Pacific/Auckland', 23 * HOUR],
		['2 days ago', 'Europe/Berlin', 47 * HOUR],
		['last monday', 'UTC', 12 * HOUR], // at Tuesday 00:00: Monday noon
		['yesterday 9am', 'UTC', 15 * HOUR], // at 00:00: yesterday 09:00
		['noon', 'UTC', -12 * HOUR], // at 00:00: noon today, 12 hours ahead
		['this morning', 'UTC', -6 * HOUR],
		['1 month ago', 'UTC', 28 * DAY], // on 1 March: 1 February
		['whenever', 'UTC', 0], // unreadable: the floor is the poll itself
	])('%j in %s: %d ms', (phrase, zone, expected) => {
		expect(shortestReachMs(phrase, now, zone)).toBe(expected);
	});

	test('"this month" is ahead of the poll on the 1st (by how much depends on the server zone: chrono reads its month there)', () => {
		expect(shortestReachMs('this month', now, 'UTC')).toBeLessThan(0);
	});

	test('the same answer from the cache', () => {
		const first = shortestReachMs('2 days ago', now, 'America/New_York');
		expect(shortestReachMs('2 days ago', at('2026-03-29T13:00:00Z'), 'America/New_York')).toBe(first);
		expect(first).toBe(47 * HOUR);
	});
});

describe('checkHistoricalStart', () => {
	const now = at('2026-03-29T12:00:00Z');
	const everyMinute = { now, zone: 'UTC', lookbackMs: 15 * MINUTE, pollGapMs: MINUTE };
	const check = (value: string, options: Partial<typeof everyMinute> = {}) => {
		const merged = { ...everyMinute, ...options };
		checkHistoricalStart(parseHistoricalStart(value, merged.now, merged.zone), merged);
	};
	const refused = (value: string, options: Partial<typeof everyMinute> = {}) => {
		try {
			check(value, options);
		} catch (error) {
			expect(error).toBeInstanceOf(HistoricalStartError);
			return (error as Error).message;
		}
		throw new Error(`"${value}" was accepted`);
	};

	describe.each(['UTC', 'Europe/Berlin', 'Pacific/Auckland', 'America/New_York'])('look-back 15 minutes, polls every minute, %s', (zone) => {
		test.each([
			['today', '0 minutes'],
			['now', '0 minutes'],
			['0 days ago', '0 minutes'],
			['1 minute ago', '1 minute'],
			['10 minutes ago', '10 minutes'],
			['15 minutes ago', '15 minutes'],
		])('%j is refused', (phrase, recent) => {
			expect(refused(phrase, { zone })).toBe(
				`Max Historical Poll Start "${phrase}" can be as recent as ${recent} before a poll, so the trigger would skip alerts (it must reach back at least the Ingestion Look-Back plus the time between polls: 16 minutes). Use "16 minutes ago" or more, such as "1 day ago", or an absolute date.`,
			);
		});

		test.each([
			'16 minutes ago',
			'1 hour ago',
			'12 hours ago',
			'yesterday',
			'1 day ago',
			'2 days ago',
			'2 weeks ago',
			'30 days ago',
			'last week',
			'last month',
			'1 year ago',
			'last monday',
			'yesterday 9am',
			'3 days ago at noon',
		])('%j is accepted', (phrase) => {
			expect(() => check(phrase, { zone })).not.toThrow();
		});

		test('absolute dates and an empty setting are never refused, however recent', () => {
			expect(() => check('2026-03-29T11:59:00Z', { zone })).not.toThrow();
			expect(() => check('2026-03-29T12:00:00Z', { zone, lookbackMs: DAY, pollGapMs: 7 * DAY })).not.toThrow();
			expect(() => check('', { zone, lookbackMs: DAY, pollGapMs: 7 * DAY })).not.toThrow();
			expect(() => checkHistoricalStart({ kind: 'absolute', at: now }, { ...everyMinute, zone })).not.toThrow();
			expect(() => checkHistoricalStart({ kind: 'activation' }, { ...everyMinute, zone })).not.toThrow();
		});
	});

	test('calendar phrases whose floor can be after the poll are refused', () => {
		const tail =
			'so the trigger would skip alerts (it must reach back at least the Ingestion Look-Back plus the time between polls: 16 minutes). Use "16 minutes ago" or more, such as "1 day ago", or an absolute date.';
		expect(refused('noon')).toBe(`Max Historical Poll Start "noon" can be as late as 12 hours after a poll, ${tail}`);
		expect(refused('this morning')).toBe(`Max Historical Poll Start "this morning" can be as late as 6 hours after a poll, ${tail}`);
		expect(refused('this month')).toMatch(/^Max Historical Poll Start "this month" can be as late as/);
		expect(refused('this week')).toMatch(/^Max Historical Poll Start "this week" can be as late as/);
		expect(refused('March 1')).toMatch(/^Max Historical Poll Start "March 1" can be as late as/);
	});

	test('the requirement follows the look-back and the time between polls', () => {
		expect(() => check('30 minutes ago', { lookbackMs: 20 * MINUTE, pollGapMs: 10 * MINUTE })).not.toThrow();
		expect(refused('29 minutes ago', { lookbackMs: 20 * MINUTE, pollGapMs: 10 * MINUTE })).toBe(
			'Max Historical Poll Start "29 minutes ago" can be as recent as 29 minutes before a poll, so the trigger would skip alerts (it must reach back at least the Ingestion Look-Back plus the time between polls: 30 minutes). Use "30 minutes ago" or more, such as "1 day ago", or an absolute date.',
		);
		expect(refused('0 days ago', { lookbackMs: 0 })).toMatch(/between polls: 1 minute\)\. Use "1 minute ago" or more, such as "1 day ago"/);
		// Daily polls in UTC: a day is not enough with a look-back on top.
		expect(refused('yesterday', { pollGapMs: DAY })).toBe(
			'Max Historical Poll Start "yesterday" can be as recent as 1 day before a poll, so the trigger would skip alerts (it must reach back at least the Ingestion Look-Back plus the time between polls: 1 day 15 minutes). Use "25 hours ago" or more, such as "2 days ago", or an absolute date.',
		);
		expect(() => check('25 hours ago', { pollGapMs: DAY })).not.toThrow();
		expect(() => check('24 hours ago', { lookbackMs: 0, pollGapMs: DAY })).not.toThrow();
	});

	test('polls more than an hour apart: one daylight-saving change more, in a zone that has them', () => {
		expect(refused('25 hours ago', { zone: 'Europe/Berlin', pollGapMs: DAY })).toBe(
			'Max Historical Poll Start "25 hours ago" can be as recent as 1 day 1 hour before a poll, so the trigger would skip alerts (it must reach back at least the Ingestion Look-Back plus the time between polls plus 1 hour for daylight-saving time changes: 1 day 1 hour 15 minutes). Use "26 hours ago" or more, such as "2 days ago", or an absolute date.',
		);
		expect(() => check('26 hours ago', { zone: 'Europe/Berlin', pollGapMs: DAY })).not.toThrow();
		expect(() => check('25 hours ago', { zone: 'Asia/Tokyo', pollGapMs: DAY })).not.toThrow();
		// Hourly polls keep their spacing through the change: no allowance.
		expect(() => check('75 minutes ago', { zone: 'Europe/Berlin', pollGapMs: HOUR })).not.toThrow();
		expect(() => check('3 hours ago', { zone: 'Europe/Berlin', pollGapMs: 2 * HOUR, lookbackMs: 0 })).not.toThrow();
		expect(refused('2 hours ago', { zone: 'Europe/Berlin', pollGapMs: 2 * HOUR, lookbackMs: 0 })).toMatch(
			/plus 1 hour for daylight-saving time changes: 3 hours\)\. Use "3 hours ago" or more/,
		);
	});

	test('"yesterday" is 23 hours the day after the change to summer time', () => {
		const options = { lookbackMs: 23 * HOUR, pollGapMs: MINUTE };
		expect(refused('yesterday', { ...options, zone: 'Europe/Berlin' })).toBe(
			'Max Historical Poll Start "yesterday" can be as recent as 23 hours before a poll, so the trigger would skip alerts (it must reach back at least the Ingestion Look-Back plus the time between polls: 23 hours 1 minute). Use "24 hours ago" or more, such as "2 days ago", or an absolute date.',
		);
		expect(() => check('yesterday', { ...options, zone: 'UTC' })).not.toThrow();
		expect(() => check('24 hours ago', { ...options, zone: 'Europe/Berlin' })).not.toThrow();
	});

	test('the shortest phrase offered is itself accepted ("3 days ago" is 71 hours across the change)', () => {
		const options = { zone: 'Europe/Berlin', lookbackMs: 0, pollGapMs: 71 * HOUR };
		expect(refused('1 day ago', options)).toMatch(/: 3 days\)\. Use "4 days ago" or more, such as "1 week ago", or an absolute date\.$/);
		expect(() => check('4 days ago', options)).not.toThrow();
		expect(refused('3 days ago', options)).toMatch(/can be as recent as 2 days 23 hours before a poll/);
		expect(refused('1 day ago', { ...options, zone: 'UTC' })).toMatch(/: 2 days 23 hours\)\. Use "3 days ago" or more, such as "1 week ago"/);
	});

	test('no friendly example when none reaches far enough', () => {
		expect(refused('1 day ago', { pollGapMs: 200 * DAY })).toMatch(/Use "201 days ago" or more, or an absolute date\.$/);
	});
});
