import type { IDataObject, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import {
	requireText,
	validateDateTime,
	validateDomain,
	validateIp,
	validateMd5,
	validateSha1,
	validateSha256,
	validateUrl,
} from '../../helpers/validation';
import { apiTimeMs, sameValue, slices } from '../../helpers/readBack';
import { InvalidInputError, odataString, sendDefenderRequest, type TransportContext } from '../../transport';

/** Reference §3.4: at most 500 indicators per import call and 15,000 active indicators per tenant. */
export const IMPORT_BATCH_SIZE = 500;
export const TENANT_INDICATOR_LIMIT = 15_000;

export const INDICATOR_TYPES = [
	'FileSha1',
	'FileSha256',
	'FileMd5',
	'CertificateThumbprint',
	'IpAddress',
	'DomainName',
	'Url',
] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

export const INDICATOR_ACTIONS = ['Allowed', 'Audit', 'Block', 'BlockAndRemediate', 'Warn'] as const;
export const INDICATOR_SEVERITIES = ['Informational', 'Low', 'Medium', 'High'] as const;

export const indicatorTypeOptions: INodePropertyOptions[] = [
	{ name: 'Certificate Thumbprint', value: 'CertificateThumbprint', description: 'SHA-1 thumbprint of a signing certificate' },
	{ name: 'Domain Name', value: 'DomainName', description: 'A domain such as example.com' },
	{ name: 'File MD5', value: 'FileMd5', description: 'MD5 hash of a file (32 hexadecimal characters)' },
	{ name: 'File SHA-1', value: 'FileSha1', description: 'SHA-1 hash of a file (40 hexadecimal characters)' },
	{ name: 'File SHA-256', value: 'FileSha256', description: 'SHA-256 hash of a file (64 hexadecimal characters)' },
	{ name: 'IP Address', value: 'IpAddress', description: 'A single IPv4 or IPv6 address (no CIDR ranges)' },
	{ name: 'URL', value: 'Url', description: 'A URL such as https://example.com/path' },
];

export const indicatorActionOptions: INodePropertyOptions[] = [
	{ name: 'Allow', value: 'Allowed', description: 'Allow the file, certificate or network destination' },
	{
		name: 'Audit',
		value: 'Audit',
		description: 'Only raise an alert when the indicator is seen (requires Generate Alert, which the node turns on)',
	},
	{
		name: 'Block',
		value: 'Block',
		description:
			'Block execution or connections on every device in scope. Destructive: consider a human approval step before this node in agent workflows.',
	},
	{
		name: 'Block and Remediate',
		value: 'BlockAndRemediate',
		description:
			'Block and remove the file on every device in scope (files and certificates). Destructive: consider a human approval step before this node in agent workflows.',
	},
	{ name: 'Warn', value: 'Warn', description: 'Warn the user, who may bypass the warning (URLs, domains, IPs)' },
];

export const indicatorSeverityOptions: INodePropertyOptions[] = [
	{ name: 'High', value: 'High' },
	{ name: 'Informational', value: 'Informational' },
	{ name: 'Low', value: 'Low' },
	{ name: 'Medium', value: 'Medium' },
];

/** The parameters of one indicator, shared by Create and Import (fields mode). */
export function indicatorProperties(): INodeProperties[] {
	return [
		{
			displayName: 'Indicator Type',
			name: 'indicatorType',
			type: 'options',
			required: true,
			options: indicatorTypeOptions,
			default: 'FileSha256',
			description: 'What kind of value the indicator matches',
		},
		{
			displayName: 'Value',
			name: 'indicatorValue',
			type: 'string',
			required: true,
			default: '',
			placeholder: 'e.g. 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
			description:
				'The hash, certificate thumbprint, IP address, domain or URL, checked against the chosen type before anything is sent',
		},
		{
			displayName: 'Action',
			name: 'action',
			type: 'options',
			required: true,
			options: indicatorActionOptions,
			default: 'Audit',
			description:
				'What Defender does when it sees the indicator. Block and Block and Remediate are destructive: consider a human approval step before this node in agent workflows.',
		},
		{
			displayName: 'Title',
			name: 'title',
			type: 'string',
			required: true,
			default: '',
			description: 'Title shown in the alert when the indicator matches',
		},
		{
			displayName: 'Description',
			name: 'indicatorDescription',
			type: 'string',
			required: true,
			typeOptions: { rows: 3 },
			default: '',
			description: 'Why the indicator exists',
		},
		{
			displayName: 'Additional Fields',
			name: 'additionalFields',
			type: 'collection',
			placeholder: 'Add field',
			default: {},
			options: [
				{
					displayName: 'Application',
					name: 'application',
					type: 'string',
					default: '',
					description: 'Application associated with the indicator',
				},
				{
					displayName: 'Educate URL',
					name: 'educateUrl',
					type: 'string',
					default: '',
					placeholder: 'e.g. https://intranet.example.com/security-policy',
					description: 'Page shown to the user for Block and Warn actions on URLs, domains and IPs',
				},
				{
					displayName: 'Expiration Time',
					name: 'expirationTime',
					type: 'dateTime',
					default: '',
					description: 'When the indicator expires; must be in the future. Leave empty for no expiration.',
				},
				{
					displayName: 'Generate Alert',
					name: 'generateAlert',
					type: 'boolean',
					default: false,
					description: 'Whether a match raises an alert. Required (and turned on) for the Audit action.',
				},
				{
					displayName: 'RBAC Group Names',
					name: 'rbacGroupNames',
					type: 'string',
					default: '',
					placeholder: 'e.g. Tier 1 servers, Finance laptops',
					description:
						'Device groups the indicator applies to, separated by commas or new lines (or an array from an expression). Empty: all devices.',
				},
				{
					displayName: 'Recommended Actions',
					name: 'recommendedActions',
					type: 'string',
					typeOptions: { rows: 2 },
					default: '',
					description: 'Recommended actions shown in the alert',
				},
				{
					displayName: 'Severity',
					name: 'severity',
					type: 'options',
					options: indicatorSeverityOptions,
					default: 'Informational',
					description: 'Severity of the alert a match raises',
				},
			],
		},
	];
}

/** RBAC group names from text (commas, semicolons or new lines; names may contain spaces) or an array. */
export function parseGroupNames(value: unknown): string[] {
	const parts = Array.isArray(value) ? value.map((v) => String(v)) : String(value ?? '').split(/[,;\r\n]+/);
	return [...new Set(parts.map((p) => p.trim()).filter(Boolean))];
}

/** Checks an indicator value against its type; returns the value as sent (hashes in lower case). */
export function validateIndicatorValue(type: string, value: unknown, field = 'Value'): string {
	switch (type as IndicatorType) {
		case 'FileSha1':
			return validateSha1(value, `${field} (SHA-1)`);
		case 'FileSha256':
			return validateSha256(value, `${field} (SHA-256)`);
		case 'FileMd5':
			return validateMd5(value, `${field} (MD5)`);
		case 'CertificateThumbprint':
			// Thumbprints are often copied with spaces or colons between the bytes.
			return validateSha1(
				typeof value === 'string' ? value.replace(/[\s:]/g, '') : value,
				`${field} (certificate thumbprint, SHA-1)`,
			);
		case 'IpAddress': {
			if (typeof value === 'string' && value.includes('/')) {
				throw new InvalidInputError(
					`${field} "${value.trim().slice(0, 100)}" is a CIDR range: Defender indicators take single IP addresses only.`,
				);
			}
			return validateIp(value, `${field} (IP address)`);
		}
		case 'DomainName':
			return validateDomain(value, `${field} (domain name)`);
		case 'Url':
			return validateUrl(value, `${field} (URL)`);
		default:
			throw new InvalidInputError(
				`Indicator type "${String(type).slice(0, 50)}" is not supported. Use one of: ${INDICATOR_TYPES.join(', ')}.`,
			);
	}
}

function oneOf(value: unknown, allowed: readonly string[], field: string): string {
	const text = requireText(value, field);
	if (!allowed.includes(text)) {
		const legacy = field === 'Action' && (text === 'Alert' || text === 'AlertAndBlock');
		throw new InvalidInputError(
			`${field} "${text.slice(0, 50)}" is not supported${legacy ? ' (retired by Microsoft in January 2022; use Audit, or Block with Generate Alert)' : ''}. Use one of: ${allowed.join(', ')}.`,
		);
	}
	return text;
}

/** The indicator as the user gave it, before validation. Keys are the API's camelCase names. */
export interface IndicatorInput {
	indicatorType?: unknown;
	indicatorValue?: unknown;
	action?: unknown;
	title?: unknown;
	description?: unknown;
	application?: unknown;
	educateUrl?: unknown;
	expirationTime?: unknown;
	generateAlert?: unknown;
	rbacGroupNames?: unknown;
	recommendedActions?: unknown;
	severity?: unknown;
}

export const INDICATOR_BODY_KEYS: ReadonlyArray<keyof IndicatorInput> = [
	'indicatorValue',
	'indicatorType',
	'action',
	'title',
	'description',
	'application',
	'educateUrl',
	'expirationTime',
	'generateAlert',
	'rbacGroupNames',
	'recommendedActions',
	'severity',
];

const isBlank = (value: unknown): boolean =>
	value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

/**
 * Validates one indicator and returns the camelCase body Defender expects (reference §3.4). Audit needs
 * `generateAlert: true`: it is set when not given and an explicit `false` is an error.
 */
export function buildIndicatorBody(input: IndicatorInput, now = Date.now()): IDataObject {
	const indicatorType = oneOf(input.indicatorType, INDICATOR_TYPES, 'Indicator Type');
	const body: IDataObject = {
		indicatorValue: validateIndicatorValue(indicatorType, input.indicatorValue),
		indicatorType,
		action: oneOf(input.action, INDICATOR_ACTIONS, 'Action'),
		title: requireText(input.title, 'Title'),
		description: requireText(input.description, 'Description'),
	};
	if (!isBlank(input.severity)) body.severity = oneOf(input.severity, INDICATOR_SEVERITIES, 'Severity');
	if (!isBlank(input.application)) body.application = requireText(input.application, 'Application');
	if (!isBlank(input.expirationTime)) {
		const expiration = validateDateTime(input.expirationTime, 'Expiration Time');
		if (Date.parse(expiration) <= now) {
			throw new InvalidInputError(
				`Expiration Time ${expiration} is in the past. Enter a future date-time, or leave it empty for no expiration.`,
			);
		}
		body.expirationTime = expiration.replace(/\.000Z$/, 'Z');
	}
	if (!isBlank(input.recommendedActions)) {
		body.recommendedActions = requireText(input.recommendedActions, 'Recommended Actions');
	}
	const groups = isBlank(input.rbacGroupNames) ? [] : parseGroupNames(input.rbacGroupNames);
	if (groups.length) body.rbacGroupNames = groups;
	if (!isBlank(input.educateUrl)) body.educateUrl = validateUrl(input.educateUrl, 'Educate URL');

	let generateAlert: boolean | undefined;
	if (!isBlank(input.generateAlert)) {
		const raw = input.generateAlert;
		if (typeof raw === 'boolean') generateAlert = raw;
		else if (raw === 'true' || raw === 'false') generateAlert = raw === 'true';
		else throw new InvalidInputError(`Generate Alert "${String(raw).slice(0, 20)}" is not true or false.`);
	}
	if (body.action === 'Audit') {
		if (generateAlert === false) {
			throw new InvalidInputError(
				'The Audit action only raises alerts, so Defender requires Generate Alert to be on. Turn Generate Alert on (or remove it), or choose another action.',
			);
		}
		generateAlert = true;
	}
	if (generateAlert !== undefined) body.generateAlert = generateAlert;
	return body;
}

/** The parameters of Create / Import (fields mode) for one item, as an IndicatorInput. */
export function inputFromParameters(get: (name: string, fallback?: unknown) => unknown): IndicatorInput {
	const additional = (get('additionalFields', {}) ?? {}) as IDataObject;
	return {
		indicatorType: get('indicatorType'),
		indicatorValue: get('indicatorValue'),
		action: get('action'),
		title: get('title'),
		description: get('indicatorDescription'),
		...additional,
	};
}

// ---------------------------------------------------------------------------------------------
// Read-back after a lost answer (Create, Import)

/** Whether an indicator as listed has every field of a submitted body (the values the API keeps as sent). */
export function indicatorMatches(indicator: IDataObject, body: IDataObject): boolean {
	for (const [key, wanted] of Object.entries(body)) {
		const actual = indicator[key];
		if (key === 'expirationTime') {
			if (apiTimeMs(actual) !== apiTimeMs(wanted)) return false;
		} else if (key === 'rbacGroupNames') {
			const names = (list: unknown) =>
				(Array.isArray(list) ? list : []).map((n) => String(n).toLowerCase()).sort().join('\n');
			if (names(actual) !== names(wanted)) return false;
		} else if (typeof wanted === 'boolean') {
			if (actual !== wanted) return false;
		} else if (!sameValue(actual, wanted)) {
			return false;
		}
	}
	return true;
}

/** Indicator values per read-back request (`indicatorValue eq … or …`, at most about 2,500 characters of URL). */
const READ_BACK_VALUES = 20;

/**
 * Reads back submitted indicators by value (`GET /api/indicators?$filter=indicatorValue eq … or …`, 20 values a
 * request) and returns, in the order of `bodies`, the indicator (same type and value, as the API upserts them) that
 * has every field sent. Stops at the first request that shows one missing or different, and returns undefined:
 * then at least one was not applied (a batch not applied at all costs one request).
 */
export async function readBackIndicators(
	transport: TransportContext,
	bodies: IDataObject[],
): Promise<IDataObject[] | undefined> {
	const matched: IDataObject[] = [];
	for (const part of slices(bodies, READ_BACK_VALUES)) {
		const values = [...new Set(part.map((b) => String(b.indicatorValue)))];
		const response = await sendDefenderRequest(transport, {
			method: 'GET',
			path: '/api/indicators',
			qs: { $filter: values.map((v) => `indicatorValue eq ${odataString(v)}`).join(' or ') },
		});
		const found = new Map<string, IDataObject>();
		for (const indicator of (response.body as { value?: IDataObject[] })?.value ?? []) {
			found.set(indicatorKey(indicator), indicator);
		}
		for (const body of part) {
			const indicator = found.get(indicatorKey(body));
			if (!indicator || !indicatorMatches(indicator, body)) return undefined;
			matched.push(indicator);
		}
	}
	return matched;
}

export const indicatorKey = (indicator: IDataObject): string =>
	`${String(indicator.indicatorType).toLowerCase()}|${String(indicator.indicatorValue).toLowerCase()}`;
