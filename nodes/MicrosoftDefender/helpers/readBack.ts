/**
 * Helpers for the `verify` callbacks of writes (DefenderRequest.verify): after a write's answer was lost (a
 * timeout, a dropped connection, a 5xx), the operation reads the resource back and says whether the write took
 * effect, so it is neither lost nor applied twice.
 */
import type { IDataObject } from 'n8n-workflow';

import { canonicalTimestamp, timestampToMs } from './timestamps';

/**
 * How much earlier than the request was sent (n8n's clock) the API may date its effect (its own clock), and still
 * count as this request's: clock skew between n8n's host and Defender. A comment or machine action with the same
 * text dated earlier than that is someone else's. The price of the margin: an identical comment added within it by
 * something else counts as ours (a missing repeat rather than a doubled one).
 */
export const READ_BACK_CLOCK_SKEW_MS = 60_000;

/** Epoch ms of an API timestamp (ISO 8601, up to 7 fractional digits); undefined when it is not one. */
export function apiTimeMs(value: unknown): number | undefined {
	const canonical = canonicalTimestamp(value);
	return canonical === undefined ? undefined : timestampToMs(canonical);
}

/** Whether something the API dates `time` can be the effect of a request sent at `sentAt` (undated: it can). */
export function notBefore(time: unknown, sentAt: Date): boolean {
	const ms = apiTimeMs(time);
	return ms === undefined || ms >= sentAt.getTime() - READ_BACK_CLOCK_SKEW_MS;
}

/** Equal as the API compares them: strings ignoring case and surrounding space, empty and null alike. */
export function sameValue(actual: unknown, wanted: unknown): boolean {
	const norm = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v.trim().toLowerCase() : v);
	return norm(actual) === norm(wanted);
}

/** Whether every field of `wanted` has that value on `entity` (see `sameValue`). */
export function fieldsMatch(entity: IDataObject, wanted: IDataObject): boolean {
	return Object.entries(wanted).every(([key, value]) => sameValue(entity[key], value));
}

/** One comment as the API lists it, in either API's names. */
export interface ListedComment {
	text: unknown;
	time: unknown;
}

/** Whether `comments` hold `text` dated no earlier than the request (give or take the clock skew). */
export function hasCommentSince(comments: ListedComment[], text: string, sentAt: Date): boolean {
	return comments.some((c) => typeof c.text === 'string' && c.text.trim() === text.trim() && notBefore(c.time, sentAt));
}

/** `items` in slices of `size`. */
export function slices<T>(items: T[], size: number): T[][] {
	const result: T[][] = [];
	for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
	return result;
}
