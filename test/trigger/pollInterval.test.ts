/**
 * longestPollGapMs: the longest time between two polls for each n8n poll-time mode, several items, custom cron
 * expressions (read as the `cron` package reads them) and invalid values.
 */
import { toCronExpression } from 'n8n-workflow';

import {
	longestCronGapMs,
	longestPollGapMs,
	MIN_POLL_GAP_MS,
	parseCron,
	UNKNOWN_CRON_GAP_MS,
} from '../../nodes/MicrosoftDefender/trigger/pollInterval';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const gap = (...item: object[]) => longestPollGapMs({ item });
const cronGap = (expression: string) => gap({ mode: 'custom', cronExpression: expression });

describe('each mode', () => {
	test.each([
		['everyMinute', { mode: 'everyMinute' }, MINUTE],
		['everyHour at :30', { mode: 'everyHour', minute: 30 }, HOUR],
		['everyDay at 14:00', { mode: 'everyDay', hour: 14, minute: 0 }, DAY],
		['everyWeek on Monday ("1", as the options give it)', { mode: 'everyWeek', hour: 9, minute: 0, weekday: '1' }, 7 * DAY],
		['everyWeek on Sunday (0)', { mode: 'everyWeek', hour: 9, minute: 0, weekday: 0 }, 7 * DAY],
		['everyMonth on the 1st', { mode: 'everyMonth', hour: 9, minute: 0, dayOfMonth: 1 }, 31 * DAY],
		['everyMonth on the 28th', { mode: 'everyMonth', hour: 9, minute: 0, dayOfMonth: 28 }, 31 * DAY],
		['everyMonth on the 29th (skips February outside leap years)', { mode: 'everyMonth', hour: 9, minute: 0, dayOfMonth: 29 }, 59 * DAY],
		['everyMonth on the 30th (Jan 30 to Mar 30 in a leap year)', { mode: 'everyMonth', hour: 9, minute: 0, dayOfMonth: 30 }, 60 * DAY],
		['everyMonth on the 31st (Aug 31 to Oct 31)', { mode: 'everyMonth', hour: 9, minute: 0, dayOfMonth: 31 }, 61 * DAY],
		['everyX 5 minutes', { mode: 'everyX', unit: 'minutes', value: 5 }, 5 * MINUTE],
		['everyX 7 minutes (:56 to :00 is shorter)', { mode: 'everyX', unit: 'minutes', value: 7 }, 7 * MINUTE],
		['everyX 90 minutes (a step past the hour: :00 only)', { mode: 'everyX', unit: 'minutes', value: 90 }, HOUR],
		['everyX 2 hours', { mode: 'everyX', unit: 'hours', value: 2 }, 2 * HOUR],
		['everyX 5 hours (20:00 to 00:00 is shorter)', { mode: 'everyX', unit: 'hours', value: 5 }, 5 * HOUR],
		['everyX 30 hours (00:xx only)', { mode: 'everyX', unit: 'hours', value: 30 }, DAY],
		['everyX with the value as a string', { mode: 'everyX', unit: 'minutes', value: '10' }, 10 * MINUTE],
	])('%s', (_name, item, expected) => {
		expect(gap(item)).toBe(expected);
	});

	test("every mode gives the gap of n8n's own cron expression (its random second and minute change nothing)", () => {
		const items = [
			{ mode: 'everyMinute' },
			{ mode: 'everyHour', minute: 7 },
			{ mode: 'everyDay', hour: 3, minute: 15 },
			{ mode: 'everyWeek', hour: 23, minute: 59, weekday: '5' },
			{ mode: 'everyMonth', hour: 0, minute: 0, dayOfMonth: 31 },
			{ mode: 'everyX', unit: 'minutes', value: 13 },
			{ mode: 'everyX', unit: 'hours', value: 7 },
			{ mode: 'custom', cronExpression: ' 0 0 9 * * 1-5 ' },
		];
		for (const item of items) {
			for (let i = 0; i < 3; i++) {
				const expression = toCronExpression(item as Parameters<typeof toCronExpression>[0]);
				expect([expression, longestCronGapMs(parseCron(expression)!)]).toEqual([expression, gap(item)]);
			}
		}
	});
});

describe('several items', () => {
	test('the smallest gap of one item (the union fires at least as often)', () => {
		expect(gap({ mode: 'everyDay', hour: 14, minute: 0 }, { mode: 'everyHour', minute: 0 })).toBe(HOUR);
		expect(gap({ mode: 'everyWeek', hour: 9, minute: 0, weekday: '1' }, { mode: 'custom', cronExpression: '0 0 9 * * 1-5' })).toBe(
			72 * HOUR,
		);
		expect(gap({ mode: 'everyX', unit: 'hours', value: 6 }, { mode: 'everyX', unit: 'minutes', value: 20 })).toBe(20 * MINUTE);
	});

	test('an item n8n could not run is left out; an unreadable custom one counts as a day', () => {
		expect(gap({ mode: 'everyHour' }, { mode: 'everyDay', hour: 9, minute: 0 })).toBe(DAY);
		expect(gap({ mode: 'custom', cronExpression: 'whenever' }, { mode: 'everyWeek', hour: 9, minute: 0, weekday: '1' })).toBe(DAY);
	});
});

describe('custom cron expressions', () => {
	test.each([
		['0 */5 * * * *', 5 * MINUTE],
		['0 0 9 * * 1-5', 72 * HOUR],
		['0 0 9 * * mon-fri', 72 * HOUR],
		['*/15 9-17 * * 1-5', 63 * HOUR + 15 * MINUTE],
		['0 9-17/2 * * *', 16 * HOUR],
		['0 0,30 * * * *', 30 * MINUTE],
		['0 15,45 * * * *', 30 * MINUTE],
		['0 0 12 * * 7', 7 * DAY],
		['0 0 0 1,15 * 1', 7 * DAY],
		['0 0 0 13 * 5', 7 * DAY],
		['0 0 0 29 2 *', Date.UTC(2104, 1, 29) - Date.UTC(2096, 1, 29)], // no 29 February in 2100
		['0 0 0 * jan,jul 0', 161 * DAY],
		['@daily', DAY],
		['@hourly', HOUR],
		['@weekdays', 72 * HOUR],
		['*/30 * * * * *', 30 * SECOND],
	])('%s', (expression, expected) => {
		expect(cronGap(expression)).toBe(expected);
	});

	test.each([
		['not a cron'],
		['0 0 L * *'],
		['0 0 ? * *'],
		['* * * *'],
		['0 0 0 0 * * *'],
		['0 60 * * * *'],
		['0 0 0 32 * *'],
		['0 0 0 * 13 *'],
		['0 */0 * * * *'],
		['0 5-1 * * * *'],
		['0 1*/5 * * * *'],
		['0 0 31 2 *'],
		[''],
	])('%j cannot be read or never fires: one day', (expression) => {
		expect(cronGap(expression)).toBe(UNKNOWN_CRON_GAP_MS);
	});

	test('another mode or an everyX with another unit uses its cron expression, as n8n does', () => {
		expect(gap({ mode: 'everySecondTuesday', cronExpression: '0 0 9 * * 2' })).toBe(7 * DAY);
		expect(gap({ mode: 'everyX', unit: 'days', value: 2, cronExpression: '0 */10 * * * *' })).toBe(10 * MINUTE);
	});
});

describe('invalid values: one minute, n8n’s shortest interval', () => {
	test.each([
		['undefined', undefined],
		['null', null],
		['a string', 'everyMinute'],
		['no item list', {}],
		['item not a list', { item: { mode: 'everyHour', minute: 0 } }],
		['no items', { item: [] }],
		['items that are not objects', { item: [null, 5, 'x'] }],
		['a missing field', { item: [{ mode: 'everyHour' }] }],
		['an out-of-range field', { item: [{ mode: 'everyHour', minute: 75 }] }],
		['a fractional field', { item: [{ mode: 'everyDay', hour: 9.5, minute: 0 }] }],
		['a blank field', { item: [{ mode: 'everyDay', hour: ' ', minute: 0 }] }],
		['a step of zero', { item: [{ mode: 'everyX', unit: 'minutes', value: 0 }] }],
		['an unknown unit without cron expression', { item: [{ mode: 'everyX', unit: 'days', value: 2 }] }],
		['an unknown mode without cron expression', { item: [{ mode: 'sometimes' }] }],
	])('%s', (_name, value) => {
		expect(longestPollGapMs(value)).toBe(MIN_POLL_GAP_MS);
	});
});
