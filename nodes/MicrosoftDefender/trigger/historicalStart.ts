import * as chrono from 'chrono-node';
import { DateTime } from 'luxon';

/**
 * "Max historical poll start": a relative phrase (`30 days ago`, `12 hours ago`, `yesterday`) re-evaluated on
 * every poll, or an ISO 8601 date. Empty means "from the first poll on".
 */
export type HistoricalStart =
	| { kind: 'relative'; phrase: string }
	| { kind: 'absolute'; at: Date }
	| { kind: 'activation' };

export const HISTORICAL_START_EXAMPLES = '"30 days ago", "12 hours ago", "2 weeks ago", "yesterday" or "2026-11-01T00:00:00Z"';

export class HistoricalStartError extends Error {}

function parsePhrase(phrase: string, now: Date): Date | null {
	const iso = DateTime.fromISO(phrase, { zone: 'utc' });
	if (iso.isValid) return iso.toJSDate();
	return chrono.parseDate(phrase, { instant: now, timezone: 'UTC' }, { forwardDate: false });
}

export function parseHistoricalStart(value: unknown, now = new Date()): HistoricalStart {
	const phrase = typeof value === 'string' ? value.trim() : '';
	if (!phrase) return { kind: 'activation' };
	const date = parsePhrase(phrase, now);
	if (!date || Number.isNaN(date.getTime())) {
		throw new HistoricalStartError(
			`Max Historical Poll Start "${phrase}" is not a date or a relative time. Use for example ${HISTORICAL_START_EXAMPLES}, or leave it empty to start from activation.`,
		);
	}
	if (date.getTime() > now.getTime() + 60_000) {
		throw new HistoricalStartError(
			`Max Historical Poll Start "${phrase}" is in the future (${date.toISOString()}). Use a past time such as ${HISTORICAL_START_EXAMPLES}.`,
		);
	}
	// Relative phrases move with the clock: "30 days ago" means 30 days before each poll (the seed's rule).
	const absolute = DateTime.fromISO(phrase).isValid || /^\d{4}-\d{2}-\d{2}/.test(phrase);
	return absolute ? { kind: 'absolute', at: date } : { kind: 'relative', phrase };
}

/** The earliest time this poll may go back to. `activatedAt` is the first poll's time for an empty setting. */
export function historicalFloor(start: HistoricalStart, now: Date, activatedAt: Date | undefined): Date {
	switch (start.kind) {
		case 'absolute':
			return start.at;
		case 'relative':
			return parsePhrase(start.phrase, now) ?? now;
		default:
			return activatedAt ?? now;
	}
}
