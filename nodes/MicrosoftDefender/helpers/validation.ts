import { isIP } from 'net';

import { InvalidInputError } from '../transport';

/** Checks run on parameters before any request is sent; each error names the field and the expected form. */

export function requireText(value: unknown, field: string): string {
	const text = typeof value === 'string' ? value.trim() : value === undefined || value === null ? '' : String(value);
	if (!text) throw new InvalidInputError(`${field} is empty. Enter a value for ${field}.`);
	return text;
}

function matching(value: unknown, field: string, pattern: RegExp, expected: string): string {
	const text = requireText(value, field);
	if (!pattern.test(text)) {
		throw new InvalidInputError(`${field} "${text.slice(0, 100)}" is not ${expected}.`);
	}
	return text;
}

export const validateSha1 = (value: unknown, field = 'SHA-1'): string =>
	matching(value, field, /^[0-9a-fA-F]{40}$/, 'a SHA-1 hash (40 hexadecimal characters)').toLowerCase();

export const validateSha256 = (value: unknown, field = 'SHA-256'): string =>
	matching(value, field, /^[0-9a-fA-F]{64}$/, 'a SHA-256 hash (64 hexadecimal characters)').toLowerCase();

export const validateMd5 = (value: unknown, field = 'MD5'): string =>
	matching(value, field, /^[0-9a-fA-F]{32}$/, 'an MD5 hash (32 hexadecimal characters)').toLowerCase();

export const validateMachineId = (value: unknown, field = 'Machine ID'): string =>
	matching(value, field, /^[0-9a-fA-F]{40}$/, 'a machine ID (40 hexadecimal characters)').toLowerCase();

export const validateGuid = (value: unknown, field: string): string =>
	matching(value, field, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a GUID');

export function validateIp(value: unknown, field = 'IP Address'): string {
	const text = requireText(value, field);
	if (!isIP(text)) throw new InvalidInputError(`${field} "${text.slice(0, 100)}" is not an IPv4 or IPv6 address.`);
	return text;
}

export const validateDomain = (value: unknown, field = 'Domain'): string =>
	matching(
		value,
		field,
		/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
		'a domain name such as example.com',
	).toLowerCase();

export function validateUrl(value: unknown, field = 'URL'): string {
	const text = requireText(value, field);
	try {
		const url = new URL(text.includes('://') ? text : `http://${text}`);
		if (!['http:', 'https:'].includes(url.protocol) || !url.hostname.includes('.')) throw new Error();
	} catch {
		throw new InvalidInputError(`${field} "${text.slice(0, 100)}" is not a URL such as https://example.com/path.`);
	}
	return text;
}

/** ISO 8601 date-time, returned normalised to UTC (`2026-11-27T10:15:02.000Z`). */
export function validateDateTime(value: unknown, field: string): string {
	const text = requireText(value, field);
	const ms = Date.parse(text);
	if (Number.isNaN(ms)) {
		throw new InvalidInputError(`${field} "${text.slice(0, 100)}" is not a date-time. Use ISO 8601, e.g. 2026-11-27T10:15:00Z.`);
	}
	return new Date(ms).toISOString();
}

/** A list given as an array or comma/newline separated text, without blanks or duplicates. */
export function splitList(value: unknown): string[] {
	const parts = Array.isArray(value) ? value.map(String) : String(value ?? '').split(/[\s,;]+/);
	return [...new Set(parts.map((p) => p.trim()).filter(Boolean))];
}

/** Splits a list into chunks of the API's batch size. */
export function chunk<T>(list: T[], size: number): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
	return out;
}
