/**
 * Defender Vulnerability Management (TVM) reads shared by the Vulnerability, Software, Recommendation and Machine
 * operations. Microsoft's pages (MicrosoftDocs/defender-docs, defender-endpoint/api/):
 * - Lists with OData: get-all-vulnerabilities.md (`$filter` on id, name, description, cvssV3, publishedOn, severity,
 *   updatedOn; `$top` ≤ 8,000), get-software.md (`$filter` on id, name, vendor; `$top` ≤ 10,000),
 *   get-all-recommendations.md (`$filter` on id, productName, vendor, recommendedVersion, recommendationCategory,
 *   subCategory, severityScore, remediationType, recommendedProgram, recommendedVendor, status; `$top` ≤ 10,000);
 *   all with `$skip`. They are read with the transport's stable `$top`/`$skip` paging (mdeListStable).
 * - Sub-collections without documented OData (machine references of a vulnerability or software, a software's
 *   vulnerabilities, a machine's vulnerabilities, software, missing KBs and recommendations): one GET, and the
 *   `@odata.nextLink` pages if the API sends any (`readCollection`).
 * - Permissions: Vulnerability.Read.All (vulnerabilities, their machines, a software's vulnerabilities, a machine's
 *   vulnerabilities, the assessment by machine), Software.Read.All (software, its machines, a machine's software and
 *   missing KBs), SecurityRecommendation.Read.All (recommendations, a machine's recommendations).
 */
import type { IDataObject } from 'n8n-workflow';

import {
	DefenderApiError,
	InvalidInputError,
	mdeListStable,
	sendDefenderRequest,
	stableListSettings,
	type DefenderRequest,
	type TransportContext,
} from '../transport';
import { withPermissionHint } from './liveResponse';
import { requireText } from './validation';

/** The WindowsDefenderATP application permission each kind of TVM read needs. */
export const TVM_PERMISSIONS = {
	vulnerability: 'Vulnerability.Read.All',
	software: 'Software.Read.All',
	recommendation: 'SecurityRecommendation.Read.All',
} as const;
export type TvmPermission = (typeof TVM_PERMISSIONS)[keyof typeof TVM_PERMISSIONS];

/** Largest `$top` of each list (get-all-vulnerabilities.md: 8,000; get-software.md, get-all-recommendations.md: 10,000). */
export const TVM_MAX_TOP = { vulnerabilities: 8_000, software: 10_000, recommendations: 10_000 } as const;

/** `CVE-2024-21338`; Defender also lists vulnerabilities without a CVE under its own `TVM-2020-0002` ids. */
const VULNERABILITY_ID = /^(CVE|TVM)-\d{4}-\d{4,}$/i;
/** `vendor-_-name`, as Defender builds software ids (`microsoft-_-edge`, `notepad-plus-plus-_-notepad++`). */
const SOFTWARE_ID = /^[a-z0-9][a-z0-9._+-]*-_-[a-z0-9._+-]+$/i;
/** `va-_-microsoft-_-windows_11` (software updates), `sca-_-scid-2010` (configuration). */
const RECOMMENDATION_ID = /^[a-z]+-_-[a-z0-9._+-]+$/i;

export function validateVulnerabilityId(value: unknown, field = 'Vulnerability ID'): string {
	const text = requireText(value, field);
	if (!VULNERABILITY_ID.test(text)) {
		throw new InvalidInputError(`${field} "${text.slice(0, 100)}" is not a vulnerability ID such as CVE-2024-21338 (CVE-year-number).`);
	}
	return text.toUpperCase();
}

export function validateSoftwareId(value: unknown, field = 'Software ID'): string {
	const text = requireText(value, field);
	if (!SOFTWARE_ID.test(text)) {
		throw new InvalidInputError(
			`${field} "${text.slice(0, 100)}" is not a Defender software ID: vendor-_-name in lowercase, such as microsoft-_-edge or google-_-chrome (Software › Get Many lists them).`,
		);
	}
	return text.toLowerCase();
}

export function validateRecommendationId(value: unknown, field = 'Recommendation ID'): string {
	const text = requireText(value, field);
	if (!RECOMMENDATION_ID.test(text)) {
		throw new InvalidInputError(
			`${field} "${text.slice(0, 100)}" is not a Defender recommendation ID such as va-_-microsoft-_-windows_11 or sca-_-scid-2010 (Recommendation › Get Many lists them).`,
		);
	}
	return text.toLowerCase();
}

/** Runs a TVM read; a 403 names the application permission it needs. */
export async function withTvmPermission<T>(permission: TvmPermission, what: string, work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		throw withPermissionHint(error, permission, what);
	}
}

const withoutContext = (body: unknown): IDataObject => {
	const { '@odata.context': _context, ...entity } = (body ?? {}) as IDataObject;
	return entity;
};

/** GET of one entity, without its `@odata.context`. */
export async function getTvmEntity(transport: TransportContext, path: string, permission: TvmPermission, what: string): Promise<IDataObject> {
	return await withTvmPermission(permission, what, async () => withoutContext((await sendDefenderRequest(transport, { method: 'GET', path })).body));
}

/**
 * A TVM list with OData (vulnerabilities, software, recommendations): the transport's stable `$top`/`$skip` paging,
 * with pages no larger than the list's documented `$top` maximum.
 */
export async function listTvm(
	transport: TransportContext,
	path: string,
	filter: string | undefined,
	options: { limit?: number; maxTop: number; permission: TvmPermission; what: string },
): Promise<IDataObject[]> {
	return await withTvmPermission(options.permission, options.what, async () =>
		mdeListStable(transport, path, { $filter: filter }, { limit: options.limit, pageSize: Math.min(stableListSettings.pageSize, options.maxTop) }),
	);
}

/**
 * The request an MDE `@odata.nextLink` stands for: its path and query, sent to the credential's API base URL. The
 * bearer token goes only where the credential says the API is, whatever host the link names (Defender's links name
 * `api.securitycenter.microsoft.com` also to clients of a regional or `api.security.microsoft.com` base URL).
 */
export function mdeNextLinkRequest(transport: TransportContext, link: string): Pick<DefenderRequest, 'path' | 'qs'> {
	const base = new URL(transport.credentials.endpoints.apiBaseUrl);
	let url: URL;
	try {
		url = new URL(link, base);
	} catch {
		throw new Error(`Defender returned a next-page link that is not a URL: ${link.slice(0, 200)}`);
	}
	if (!/^\/api\//i.test(url.pathname)) {
		throw new Error(`Defender returned a next-page link outside its API (${url.pathname.slice(0, 100)}); it was not followed.`);
	}
	const basePath = base.pathname.replace(/\/+$/, '');
	return { path: `${url.pathname.startsWith(basePath + '/') ? url.pathname.slice(basePath.length) : url.pathname}`, qs: Object.fromEntries(url.searchParams) };
}

/**
 * Every row of a collection that documents no OData paging: one GET, then each `@odata.nextLink` the API sends (the
 * assessment by machine documents them; the sub-collections send none today). Stops after `limit` rows. `onPage`
 * sees each page's rows as they arrive (the caller may keep them or not).
 */
export async function readCollection(
	transport: TransportContext,
	path: string,
	options: { qs?: DefenderRequest['qs']; limit?: number; permission: TvmPermission; what: string; notFound?: string },
): Promise<IDataObject[]> {
	const limit = options.limit ?? Number.POSITIVE_INFINITY;
	const rows: IDataObject[] = [];
	let request: Pick<DefenderRequest, 'path' | 'qs'> | undefined = { path, qs: options.qs };
	const seen = new Set<string>();
	await withTvmPermission(options.permission, options.what, async () => {
		while (request && rows.length < limit) {
			let body: { value?: IDataObject[]; '@odata.nextLink'?: unknown };
			try {
				body = ((await sendDefenderRequest(transport, { method: 'GET', ...request })).body ?? {}) as typeof body;
			} catch (error) {
				if (options.notFound && error instanceof DefenderApiError && error.status === 404) {
					throw error.withMessage(`${error.message} (${options.notFound})`);
				}
				throw error;
			}
			for (const row of body.value ?? []) {
				rows.push(row);
				if (rows.length >= limit) break;
			}
			const next = body['@odata.nextLink'];
			request = undefined;
			if (typeof next === 'string' && next && rows.length < limit) {
				// A link seen before would loop forever.
				if (seen.has(next)) throw new Error(`Defender returned the same next-page link twice for ${path}; stopped after ${rows.length} rows.`);
				seen.add(next);
				request = mdeNextLinkRequest(transport, next);
			}
		}
	});
	return rows;
}
