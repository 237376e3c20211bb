/**
 * Reads of Defender for Endpoint's entity APIs, shared by the File, IP, Domain and User resources and by
 * Alert › Get Related: the path of each entity (its id checked first), the `value[]` of a list as items, and the
 * permission a 403 names. Microsoft's pages (learn.microsoft.com/en-us/defender-endpoint/api/…):
 * - get-file-information: `GET /api/files/{id}`, id a SHA-1 or SHA-256; File.Read.All; 404 when unknown.
 * - get-file-statistics: `GET /api/files/{id}/stats?lookBackHours=`; File.Read.All; lookBackHours ≤ 720.
 * - get-file-related-alerts / get-file-related-machines: `/api/files/{id}/alerts|machines`, "Only SHA-1 Hash
 *   Function is supported (not MD5 or SHA-256)"; Alert.Read.All / Machine.Read.All (or the ReadWrite ones);
 *   an unknown file answers an empty set.
 * - get-ip-statistics / get-ip-related-alerts: `/api/ips/{ip}/stats|alerts`; Ip.Read.All / Alert.Read.All; an
 *   invalid address answers 400, an unknown valid one prevalence 0 or an empty set.
 * - get-domain-statistics / get-domain-related-alerts / get-domain-related-machines: `/api/domains/{domain}/…`;
 *   URL.Read.All / Alert.ReadWrite.All (the 2025 page; earlier versions also listed Alert.Read.All) /
 *   Machine.Read.All; machines: at most 500 devices.
 * - get-user-related-alerts / get-user-related-machines: `/api/users/{id}/alerts|machines`, id = the account name,
 *   "not the full UPN"; Alert.Read.All / Machine.ReadWrite.All (the 2025 page; earlier versions also listed
 *   Machine.Read.All and answered 404 for an unknown user).
 * None of these lists documents OData options or paging: each answer is the whole list.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { bodyOr } from '../actions/alert/common';
import { toOutput, updateDisplayOptions, type Operation } from '../actions/utils';
import { DefenderApiError, InvalidInputError, sendDefenderRequest, type TransportContext } from '../transport';
import { withPermissionHint } from './liveResponse';
import { requireText, validateAccountName, validateDomain, validateFileHash, validateIp } from './validation';

/** What a call is and the WindowsDefenderATP application permission it needs, for the message of a 403. */
export interface EntityCall {
	permission: string;
	/** E.g. `Get file statistics`. */
	what: string;
}

/** The application permissions as Microsoft's page of each call lists them. */
export const PERMISSIONS = {
	alertRead: 'Alert.Read.All (or Alert.ReadWrite.All)',
	/** get-domain-related-alerts, as revised in 2025. */
	alertReadWrite: 'Alert.ReadWrite.All (the page of this call lists only it; its earlier versions also listed Alert.Read.All)',
	machineRead: 'Machine.Read.All (or Machine.ReadWrite.All)',
	/** get-user-related-machines, as revised in 2025. */
	machineReadWrite:
		'Machine.ReadWrite.All (the page of this call lists only it; its earlier versions also listed Machine.Read.All)',
	file: 'File.Read.All',
	ip: 'Ip.Read.All',
	url: 'URL.Read.All',
	user: 'User.Read.All',
} as const;

/** The `value[]` of a list answer (anything else: no items). */
export function valueList(body: unknown): IDataObject[] {
	const value = (body as { value?: unknown } | undefined)?.value;
	return Array.isArray(value) ? (value.filter((v) => v && typeof v === 'object') as IDataObject[]) : [];
}

async function get(
	transport: TransportContext,
	path: string,
	call: EntityCall,
	qs?: Record<string, string | number | undefined>,
): Promise<unknown> {
	try {
		return (await sendDefenderRequest(transport, { method: 'GET', path, qs })).body;
	} catch (error) {
		throw withPermissionHint(error, call.permission, call.what);
	}
}

/**
 * A list of entities (`value[]`), one item each. `notFoundIsEmpty`: a 404 is an empty list (an unknown user, as
 * earlier versions of get-user-related-machines answered).
 */
export async function readEntityList(
	transport: TransportContext,
	path: string,
	call: EntityCall,
	options: { notFoundIsEmpty?: boolean } = {},
): Promise<IDataObject[]> {
	try {
		return valueList(await get(transport, path, call));
	} catch (error) {
		if (options.notFoundIsEmpty && error instanceof DefenderApiError && error.status === 404) return [];
		throw error;
	}
}

/** One entity, without `@odata.context` (an empty answer: `{}`). */
export async function readEntity(
	transport: TransportContext,
	path: string,
	call: EntityCall,
	qs?: Record<string, string | number | undefined>,
): Promise<IDataObject> {
	return bodyOr(await get(transport, path, call, qs), {});
}

// ---------------------------------------------------------------------------------------------
// Paths: every id is validated, then encoded

export type Related = 'alerts' | 'machines' | 'stats';

const withSuffix = (base: string, suffix?: Related): string => (suffix ? `${base}/${suffix}` : base);

/** `/api/files/{hash}[/suffix]`; `accepted` are the hash kinds the call takes. */
export function filePath(hash: unknown, accepted: ReadonlyArray<'sha1' | 'sha256'>, suffix?: Related): string {
	return withSuffix(`/api/files/${validateFileHash(hash, accepted).hash}`, suffix);
}

/** `/api/ips/{ip}/suffix` (IPv6 addresses are percent-encoded, their colons included). */
export function ipPath(ip: unknown, suffix: Related): string {
	return `/api/ips/${encodeURIComponent(validateIp(ip, 'IP Address'))}/${suffix}`;
}

/** `/api/domains/{domain}/suffix`. */
export function domainPath(domain: unknown, suffix: Related): string {
	return `/api/domains/${encodeURIComponent(validateDomain(domain, 'Domain'))}/${suffix}`;
}

/** `/api/users/{account name}/suffix`. */
export function userPath(name: unknown, suffix: Related): string {
	return `/api/users/${encodeURIComponent(validateAccountName(name, 'User Name'))}/${suffix}`;
}

// ---------------------------------------------------------------------------------------------
// Statistics lookback

/** "The maximum value for lookbackhours is 720 hours (30 days)"; the API's default is 30 days. */
export const MAX_LOOKBACK_HOURS = 720;

/** The Options collection of the Get Statistics operations: the documented `lookBackHours`. */
export const lookBackOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add option',
	default: {},
	options: [
		{
			displayName: 'Lookback (Hours)',
			name: 'lookBackHours',
			type: 'number',
			default: MAX_LOOKBACK_HOURS,
			typeOptions: { minValue: 1, maxValue: MAX_LOOKBACK_HOURS, numberPrecision: 0 },
			description:
				'How many hours back the statistics cover, 1 to 720 (30 days). Without this option Defender uses its default, 30 days.',
		},
	],
};

/** The `lookBackHours` option checked (a whole number of hours, 1 to 720); undefined when not set. */
export function validateLookBackHours(value: unknown): number | undefined {
	if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return undefined;
	const hours = typeof value === 'string' ? Number(requireText(value, 'Lookback (Hours)')) : value;
	if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < 1 || hours > MAX_LOOKBACK_HOURS) {
		throw new InvalidInputError(
			`Lookback (Hours) "${String(value).slice(0, 40)}" is not valid: enter a whole number of hours from 1 to ${MAX_LOOKBACK_HOURS} (30 days, the most Defender allows).`,
		);
	}
	return hours;
}

// ---------------------------------------------------------------------------------------------
// Operations

export interface EntityOperationSpec {
	resource: string;
	operation: string;
	/** The parameters naming the entity (shown first). */
	properties: INodeProperties[];
	/** The request path for an item, its parameters validated (before any request is sent). */
	path(context: IExecuteFunctions, itemIndex: number): string;
	call: EntityCall;
	/** `entity`: one item; `list`: one item per entry of `value[]`; `stats`: one item, with the lookback option. */
	kind: 'entity' | 'list' | 'stats';
	/** A list whose 404 means an empty list (see readEntityList). */
	notFoundIsEmpty?: boolean;
}

/** One read of an entity API as a node operation. */
export function entityOperation(spec: EntityOperationSpec): Operation {
	const properties = spec.kind === 'stats' ? [...spec.properties, lookBackOptions] : spec.properties;
	return {
		description: updateDisplayOptions({ show: { resource: [spec.resource], operation: [spec.operation] } }, properties),
		async execute(this: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<INodeExecutionData[]> {
			const path = spec.path(this, itemIndex);
			if (spec.kind === 'list') {
				return toOutput(this, itemIndex, await readEntityList(transport, path, spec.call, { notFoundIsEmpty: spec.notFoundIsEmpty }));
			}
			let qs: Record<string, number | undefined> | undefined;
			if (spec.kind === 'stats') {
				const options = this.getNodeParameter('options', itemIndex, {}) as { lookBackHours?: unknown };
				qs = { lookBackHours: validateLookBackHours(options.lookBackHours) };
			}
			return toOutput(this, itemIndex, await readEntity(transport, path, spec.call, qs));
		},
	};
}

/** The operations of one entity resource, keyed by operation name, in the order given. */
export function entityOperations(
	resource: string,
	specs: Record<string, Omit<EntityOperationSpec, 'resource' | 'operation'>>,
): Record<string, Operation> {
	return Object.fromEntries(
		Object.entries(specs).map(([operation, spec]) => [operation, entityOperation({ ...spec, resource, operation })]),
	);
}
