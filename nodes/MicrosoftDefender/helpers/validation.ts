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

/**
 * A file hash for the file APIs (`/api/files/{id}`), lower-cased, and which kind it is. `accepted` lists the kinds
 * the call takes; another kind (an MD5, or a SHA-256 where only SHA-1 works) is refused, saying which the call takes.
 */
export function validateFileHash(
	value: unknown,
	accepted: ReadonlyArray<'sha1' | 'sha256'>,
	field = 'File Hash',
): { hash: string; kind: 'sha1' | 'sha256' } {
	const text = requireText(value, field);
	const kind = /^[0-9a-f]{40}$/i.test(text)
		? 'sha1'
		: /^[0-9a-f]{64}$/i.test(text)
			? 'sha256'
			: /^[0-9a-f]{32}$/i.test(text)
				? 'md5'
				: undefined;
	const names = { sha1: 'SHA-1 (40 hexadecimal characters)', sha256: 'SHA-256 (64 hexadecimal characters)' };
	const wanted = accepted.map((k) => names[k]).join(' or a ');
	if (kind === undefined) throw new InvalidInputError(`${field} "${text.slice(0, 100)}" is not a file hash: enter a ${wanted}.`);
	if (kind === 'md5' || !accepted.includes(kind)) {
		throw new InvalidInputError(
			`${field} "${text.slice(0, 100)}" is ${kind === 'md5' ? 'an MD5' : 'a SHA-256'} hash, which this call does not take: enter the file's ${wanted}.`,
		);
	}
	return { hash: text.toLowerCase(), kind };
}

/** Characters Windows refuses in an account name (sAMAccountName), plus what could change a URL path. */
// eslint-disable-next-line no-control-regex
const ACCOUNT_NAME_FORBIDDEN = /["/\\[\]:;|=,+*?<>@#%\u0000-\u001f\u007f]/;

/**
 * The account name of a user for `/api/users/{id}/…`. Microsoft: "The ID is not the full UPN, but only the user
 * name" (to read alerts for user1@contoso.com, use /api/users/user1/alerts). A UPN or a `DOMAIN\user` form is
 * refused rather than cut down, since the part before the @ of a UPN need not be the account name.
 */
export function validateAccountName(value: unknown, field = 'User Name'): string {
	const text = requireText(value, field);
	const at = text.indexOf('@');
	if (at > 0 && at < text.length - 1 && !text.includes('\\')) {
		const name = text.slice(0, at);
		throw new InvalidInputError(
			`${field} "${text.slice(0, 100)}" is a user principal name (UPN). Defender's user APIs take the account name only, not the UPN: for ${text.slice(0, 100)} that is usually "${name.slice(0, 64)}" (Microsoft's example: user1@contoso.com → user1). Enter the account name, e.g. the alert's relatedUser.userName.`,
		);
	}
	const slash = text.indexOf('\\');
	if (slash > 0 && slash < text.length - 1 && slash === text.lastIndexOf('\\') && !text.includes('@')) {
		throw new InvalidInputError(
			`${field} "${text.slice(0, 100)}" includes the domain. Defender's user APIs take the account name only: enter "${text.slice(slash + 1, slash + 65)}".`,
		);
	}
	if (ACCOUNT_NAME_FORBIDDEN.test(text) || text.length > 256) {
		throw new InvalidInputError(
			`${field} "${text.slice(0, 100)}" is not an account name such as user1 (it may not contain @, \\, / or any of " [ ] : ; | = , + * ? < > # %).`,
		);
	}
	return text;
}
