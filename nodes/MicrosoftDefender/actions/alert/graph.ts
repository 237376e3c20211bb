/**
 * Microsoft Graph security alerts_v2 as an alert source (reference mde-api.md §6): paths, the camelCase enums, and
 * list paging within Graph's caps (`$top` ≤ 1,000, `$skip` ≤ 500, `@odata.nextLink` often missing).
 */
import type { IDataObject } from 'n8n-workflow';
import {
	GRAPH_ALERT_SEVERITIES,
	GRAPH_ALERT_STATUSES,
	GRAPH_FILTER_CLASSIFICATIONS,
	GRAPH_FILTER_DETERMINATIONS,
	GRAPH_SERVICE_SOURCES,
} from '../../helpers/enums';

import {
	DefenderApiError,
	pathId,
	sendDefenderRequest,
	type DefenderRequest,
	type RawResponse,
	type TransportContext,
} from '../../transport';
import { canonicalTimestamp } from '../../helpers/timestamps';
import type { ChangeEnums } from './common';

export const GRAPH_ALERTS_PATH = '/v1.0/security/alerts_v2';

/** Largest `$top` Graph's security alerts accept (larger values are clamped). */
export const GRAPH_MAX_TOP = 1000;
/** Largest `$skip` Graph's security alerts accept (`$skip=501` is a 400). */
export const GRAPH_MAX_SKIP = 500;

/**
 * Sent with every Graph call: without it, Graph replaces enum members added after `unknownFutureValue` (e.g.
 * serviceSource `microsoftDefenderForCloud`, newer detection sources) by `unknownFutureValue`.
 */
export const GRAPH_HEADERS: Readonly<Record<string, string>> = { Prefer: 'include-unknown-enum-members' };

/** `/v1.0/security/alerts_v2/{id}[/suffix]`, the id checked and encoded by `pathId`. */
export function graphAlertPath(id: string, suffix = ''): string {
	return `${GRAPH_ALERTS_PATH}/${pathId(id, 'Alert ID')}${suffix ? `/${suffix}` : ''}`;
}

/** One Graph call with the Graph token and the `Prefer` header. */
export async function sendGraphRequest(
	transport: TransportContext,
	request: Omit<DefenderRequest, 'api'>,
): Promise<RawResponse> {
	return await sendDefenderRequest(transport, {
		...request,
		api: 'graph',
		headers: { ...GRAPH_HEADERS, ...request.headers },
	});
}

// ---------------------------------------------------------------------------------------------
// Enums (camelCase; names as the MDE options so that the shared parameters' MDE values map by `enumValue`)

/** Filter statuses and severities: the labels of the MDE lists, Graph's values. */
export const GRAPH_STATUSES = GRAPH_ALERT_STATUSES;
export const GRAPH_SEVERITIES = GRAPH_ALERT_SEVERITIES;

export { GRAPH_FILTER_CLASSIFICATIONS, GRAPH_FILTER_DETERMINATIONS };
export { GRAPH_SERVICE_SOURCES };

/** Graph's update values: PATCH takes status, classification, determination and assignedTo, no comment (§6.5). */
export const GRAPH_CHANGES: ChangeEnums = {
	statuses: [
		{ name: 'In Progress', value: 'inProgress' },
		{ name: 'New', value: 'new' },
		{ name: 'Resolved', value: 'resolved' },
	],
	classifications: [
		{ name: 'False Positive', value: 'falsePositive' },
		{ name: 'Informational, Expected Activity', value: 'informationalExpectedActivity' },
		{ name: 'True Positive', value: 'truePositive' },
	],
	determinations: {
		truePositive: {
			parameter: 'graphTruePositiveDetermination',
			options: [
				{ name: 'Compromised Account', value: 'compromisedAccount' },
				{ name: 'Malicious User Activity', value: 'maliciousUserActivity' },
				{ name: 'Malware', value: 'malware' },
				{ name: 'Multi-Staged Attack', value: 'multiStagedAttack' },
				{ name: 'Other', value: 'other' },
				{ name: 'Phishing', value: 'phishing' },
				{ name: 'Unwanted Software', value: 'unwantedSoftware' },
			],
		},
		informationalExpectedActivity: {
			parameter: 'graphExpectedActivityDetermination',
			options: [
				{ name: 'Confirmed Activity', value: 'confirmedActivity' },
				{ name: 'Line-of-Business Application', value: 'lineOfBusinessApplication' },
				{ name: 'Other', value: 'other' },
				{ name: 'Security Testing', value: 'securityTesting' },
			],
		},
		falsePositive: {
			parameter: 'graphFalsePositiveDetermination',
			options: [
				{ name: 'Not Enough Data to Validate', value: 'notEnoughDataToValidate' },
				{ name: 'Not Malicious', value: 'notMalicious' },
				{ name: 'Other', value: 'other' },
			],
		},
	},
	comment: false,
};

// ---------------------------------------------------------------------------------------------
// Paging

/** The request a Graph `@odata.nextLink` stands for, if it points below the credential's Graph base URL. */
function nextLinkRequest(transport: TransportContext, link: string): Pick<DefenderRequest, 'path' | 'qs'> {
	const base = new URL(transport.credentials.endpoints.graphBaseUrl);
	const basePath = base.pathname.replace(/\/+$/, '');
	let url: URL;
	try {
		url = new URL(link, base);
	} catch {
		throw new Error(`Microsoft Graph returned a next-page link that is not a URL: ${link.slice(0, 200)}`);
	}
	// The token goes only where the credential says Graph is.
	if (url.origin !== base.origin || !url.pathname.startsWith(`${basePath}/`)) {
		throw new Error(
			`Microsoft Graph returned a next-page link outside the Graph base URL (${url.origin}${url.pathname.slice(0, 100)}); it was not followed.`,
		);
	}
	return { path: url.pathname.slice(basePath.length), qs: Object.fromEntries(url.searchParams) };
}

export interface GraphAlertPageOptions {
	/** The caller's `$filter`, without the paging clause. */
	filter?: string;
	/** Stop after this many alerts (default: all). */
	limit?: number;
	/** `$top` per request (default and maximum 1,000). */
	pageSize?: number;
	/** Largest `$skip` to send (default and maximum 500). */
	maxSkip?: number;
	/**
	 * The first page, when full, must show its order by itself: at least two creation times (a page of one instant
	 * shows none, and an API listing in another order would pass it for the newest). Its `$top` is then at least 2.
	 * Get Many sets it; without it a first page of one instant is taken as it comes.
	 */
	requireOrderEvidence?: boolean;
}

/**
 * Graph answered in an order the pager cannot use as newest first (a page out of order, or a full first page that
 * does not show its order): what it yielded may not be the newest alerts. Get Many then reads them by time windows
 * instead (scan/cursor.ts), which does not depend on the order.
 */
export class GraphAlertOrderError extends Error {
	constructor(
		message: string,
		/** Set when Graph had rejected `$orderby` (HTTP 400) and the pages came without it: the reason. */
		readonly orderbyRejected?: string,
	) {
		super(message);
		this.name = 'GraphAlertOrderError';
	}
}

const NEWEST_FIRST = 'createdDateTime desc';

/**
 * Pages through `GET /v1.0/security/alerts_v2`, newest first, yielding each alert once.
 *
 * Order. security-list-alerts_v2 documents `$filter`, `$skip`, `$top` and `$count`, and "the most recent alerts
 * are displayed at the top of the list"; `$orderby` is not documented. So each request also asks for
 * `$orderby=createdDateTime desc` (one key), and every page is checked: creation times non-increasing within it
 * and from the page before. A page out of order throws `GraphAlertOrderError` (the caller falls back to time
 * windows). Where Graph rejects `$orderby` (HTTP 400), the request is sent once more without it and the rest of
 * the paging goes without it, relying on the documented newest-first order, still checked page by page; a
 * second 400 is the real error.
 *
 * Paging:
 * - follows `@odata.nextLink` when Graph sends one;
 * - otherwise continues with `$skip` while it stays within Graph's cap;
 * - beyond it, pages by time: `createdDateTime le <oldest seen>` from `$skip` 0. `le` rather than `lt` so that
 *   alerts created in the same instant as the oldest one seen are not lost; those seen already are dropped by id.
 *   Should a whole page share that instant, `$skip` passes over the ones seen (an error beyond the cap).
 */
export async function* graphAlertPages(
	transport: TransportContext,
	options: GraphAlertPageOptions = {},
): AsyncGenerator<IDataObject[]> {
	const pageSize = Math.max(1, Math.min(options.pageSize ?? GRAPH_MAX_TOP, GRAPH_MAX_TOP));
	const maxSkip = Math.max(0, Math.min(options.maxSkip ?? GRAPH_MAX_SKIP, GRAPH_MAX_SKIP));
	const limit = options.limit ?? Infinity;
	const seen = new Set<string>();
	let returned = 0;
	/** Upper bound (inclusive) of createdDateTime once paging by time. */
	let cursor: string | undefined;
	let skip = 0;
	/** The oldest createdDateTime seen (canonical: UTC, 7 fractional digits, ordered as text) and how many alerts have it. */
	let oldest: string | undefined;
	let oldestCount = 0;
	let link: Pick<DefenderRequest, 'path' | 'qs'> | undefined;
	/** Why `$orderby` is no longer sent (Graph rejected it), if it is not. */
	let orderbyRejected: string | undefined;
	/** The creation time of the last alert of the page before (in the order Graph listed it). */
	let previousLast: string | undefined;
	let pages = 0;

	while (returned < limit) {
		// A new time window starts with the alerts of the cursor's instant seen already: ask for them too.
		const overlap = cursor !== undefined && skip === 0 ? oldestCount : 0;
		const wanted = limit - returned + overlap;
		const top = Math.min(pageSize, pages === 0 && options.requireOrderEvidence ? Math.max(2, wanted) : wanted);
		let request: Pick<DefenderRequest, 'path' | 'qs'>;
		if (link) {
			request = link;
		} else {
			const clauses = [options.filter, cursor && `createdDateTime le ${cursor}`].filter(Boolean);
			request = {
				path: GRAPH_ALERTS_PATH,
				qs: {
					$filter: clauses.length ? clauses.join(' and ') : undefined,
					$orderby: orderbyRejected ? undefined : NEWEST_FIRST,
					$top: top,
					$skip: skip || undefined,
				},
			};
		}
		let response: RawResponse;
		try {
			response = await sendGraphRequest(transport, { method: 'GET', ...request });
		} catch (error) {
			if (!(error instanceof DefenderApiError) || error.status !== 400 || link || request.qs?.$orderby === undefined) throw error;
			// $orderby is not documented for alerts_v2: without it, Graph lists the most recent first.
			orderbyRejected = `HTTP 400${error.code ? ` ${error.code}` : ''}: ${error.apiMessage ?? 'no message'}`;
			request = { ...request, qs: { ...request.qs, $orderby: undefined } };
			response = await sendGraphRequest(transport, { method: 'GET', ...request });
		}
		const body = (response.body ?? {}) as { value?: unknown; '@odata.nextLink'?: unknown };
		const page = (Array.isArray(body.value) ? body.value : []) as IDataObject[];
		previousLast = checkNewestFirst(page, previousLast, orderbyRejected);
		if (pages === 0 && options.requireOrderEvidence && !link && page.length >= top && distinctCreationTimes(page) < 2) {
			throw new GraphAlertOrderError(
				`Microsoft Graph's first page of ${page.length} alerts holds fewer than two creation times, so it does not show that it is the newest.`,
				orderbyRejected,
			);
		}
		pages++;

		const fresh: IDataObject[] = [];
		for (const alert of page) {
			const id = String(alert.id);
			if (seen.has(id)) continue;
			seen.add(id);
			const created = canonicalTimestamp(alert.createdDateTime);
			if (created !== undefined) {
				if (oldest === undefined || created < oldest) {
					oldest = created;
					oldestCount = 1;
				} else if (created === oldest) {
					oldestCount++;
				}
			}
			if (returned + fresh.length < limit) fresh.push(alert);
		}
		if (fresh.length) {
			returned += fresh.length;
			yield fresh;
		}
		if (returned >= limit) return;

		const nextLink = body['@odata.nextLink'];
		if (typeof nextLink === 'string' && nextLink) {
			link = nextLinkRequest(transport, nextLink);
			continue;
		}
		// The last page of a nextLink chain, or a short page: nothing more matches.
		if (link || page.length < top) return;

		if (skip + page.length <= maxSkip) {
			skip += page.length;
			continue;
		}
		const pageOldest = page.reduce<string | undefined>((min, a) => {
			const created = canonicalTimestamp(a.createdDateTime);
			if (created === undefined) {
				throw new Error(
					`Microsoft Graph alert ${String(a.id)} has no valid createdDateTime ("${String(a.createdDateTime)}"), so alerts beyond the first ${returned} cannot be paged by time. Narrow the filters or set a Limit.`,
				);
			}
			return min === undefined || created < min ? created : min;
		}, undefined);
		if (cursor === undefined || (pageOldest !== undefined && pageOldest < cursor)) {
			cursor = oldest ?? pageOldest;
			skip = 0;
		} else {
			// The whole window shares one instant: step over the alerts of it seen already, if $skip reaches.
			if (oldestCount <= skip || oldestCount > maxSkip) {
				throw new Error(
					`Paging Microsoft Graph alerts stopped at ${cursor} after ${returned} alerts: more alerts were created in that instant than Graph's $skip limit of ${maxSkip} passes over, or the list changed while it was read. Narrow the filters or set a Limit.`,
				);
			}
			skip = oldestCount;
		}
	}
}

/**
 * Checks that `page` lists creation times newest first, also against the page before (`previousLast`); returns the
 * time of its last alert. Alerts without a valid creation time are no evidence either way.
 */
function checkNewestFirst(page: IDataObject[], previousLast: string | undefined, orderbyRejected: string | undefined): string | undefined {
	let last = previousLast;
	for (const alert of page) {
		const created = canonicalTimestamp(alert.createdDateTime);
		if (created === undefined) continue;
		if (last !== undefined && created > last) {
			throw new GraphAlertOrderError(
				`Microsoft Graph listed alerts_v2 out of newest-first order (alert ${String(alert.id)} created ${created} after one created ${last}).`,
				orderbyRejected,
			);
		}
		last = created;
	}
	return last;
}

function distinctCreationTimes(page: IDataObject[]): number {
	return new Set(page.map((alert) => canonicalTimestamp(alert.createdDateTime)).filter((t) => t !== undefined)).size;
}
