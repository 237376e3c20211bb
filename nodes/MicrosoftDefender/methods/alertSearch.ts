import type { IDataObject, ILoadOptionsFunctions, INodeListSearchItems, INodeListSearchResult } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { validateAlertId, validateGraphAlertId } from '../actions/alert/common';
import { GRAPH_ALERTS_PATH, GRAPH_HEADERS, GRAPH_MAX_SKIP, graphAlertPath } from '../actions/alert/graph';
import { canonicalTimestamp } from '../helpers/timestamps';
import { defenderApiRequest, pathId, type DefenderRequest } from '../transport';

/** Alerts listed per request when nothing is typed. */
const PAGE_SIZE = 100;
/**
 * The API cannot filter on title, so typed text is matched here: larger pages, at most two per search call
 * (each keystroke costs requests from the 100 calls/min budget), then a token to read further.
 */
const SEARCH_PAGE_SIZE = 500;
const MAX_PAGES_PER_CALL = 2;
/** Enough matches to fill the dropdown; more are loaded when the user scrolls. */
const ENOUGH_MATCHES = 20;

/**
 * "title on host (severity, status)": the same detection fires on many machines, so the title alone does not tell
 * two entries apart; the host is the first label of `computerDnsName` (MDE alerts; Graph alerts name devices only in
 * their evidence).
 */
function toItem(alert: IDataObject): INodeListSearchItems {
	const title = typeof alert.title === 'string' && alert.title ? alert.title : String(alert.id);
	const host = typeof alert.computerDnsName === 'string' && alert.computerDnsName ? alert.computerDnsName.split('.')[0] : '';
	return {
		name: `${title}${host ? ` on ${host}` : ''} (${String(alert.severity ?? '?')}, ${String(alert.status ?? '?')})`,
		value: String(alert.id),
	};
}

/** Where an alert source lists and gets alerts, and how it checks an id. */
interface SearchSource {
	/** `created`: the creation time field, `orderby` asks for it newest first. */
	list: Pick<DefenderRequest, 'api' | 'path' | 'headers'> & { orderby: string; created: string; maxSkip: number };
	get(id: string): Pick<DefenderRequest, 'api' | 'path' | 'headers'>;
	validateId(value: unknown): string;
}

const MDE_SEARCH: SearchSource = {
	list: { path: '/api/alerts', orderby: 'alertCreationTime desc', created: 'alertCreationTime', maxSkip: Number.POSITIVE_INFINITY },
	get: (id) => ({ path: `/api/alerts/${pathId(id, 'Alert ID')}` }),
	validateId: (value) => validateAlertId(value),
};

/** Graph caps `$skip` at 500: the list offers the newest alerts up to there; a typed ID is looked up directly. */
const GRAPH_SEARCH: SearchSource = {
	list: {
		api: 'graph',
		path: GRAPH_ALERTS_PATH,
		headers: GRAPH_HEADERS,
		orderby: 'createdDateTime desc',
		created: 'createdDateTime',
		maxSkip: GRAPH_MAX_SKIP,
	},
	get: (id) => ({ api: 'graph', path: graphAlertPath(id), headers: GRAPH_HEADERS }),
	validateId: (value) => validateGraphAlertId(value),
};

/** A page token: the `$skip` to continue at, and whether `$orderby` was rejected (then it is not sent again). */
const UNORDERED = ':unordered';

function readToken(token: string | undefined): { skip: number; ordered: boolean } {
	const text = token ?? '';
	const ordered = !text.endsWith(UNORDERED);
	const skip = Number(ordered ? text : text.slice(0, -UNORDERED.length));
	return { skip: Number.isFinite(skip) && skip > 0 ? Math.floor(skip) : 0, ordered };
}

/** Newest first by creation time (alerts without a valid one last), the API's order kept among equals. */
function newestFirst(alerts: IDataObject[], field: string): IDataObject[] {
	const time = (alert: IDataObject) => canonicalTimestamp(alert[field]) ?? '';
	return alerts
		.map((alert, index) => ({ alert, index, at: time(alert) }))
		.sort((a, b) => (a.at !== b.at ? (a.at < b.at ? 1 : -1) : a.index - b.index))
		.map(({ alert }) => alert);
}

/**
 * Resource-locator search for the `alertId` parameter: newest alerts first, shown as "title (severity, status)".
 * A filter matches the title or the ID (case-insensitive); a complete alert ID is looked up directly.
 *
 * Order: neither list documents `$orderby` (MDE get-alerts: `$filter`, `$top`, `$skip`, `$expand`; Graph
 * security-list-alerts_v2: `$filter`, `$skip`, `$top`, `$count`); both list the most recent alerts first without
 * it (MDE's OData samples read "Get 10 latest Alerts" as `$top=10`; Graph: "The most recent alerts are displayed
 * at the top of the list"). The search asks for `$orderby=<created> desc`; where the API rejects it (HTTP 400) the
 * page is asked again without it, sorted here newest first, and the rest of the search (its page token too) goes
 * without it.
 */
async function searchAlertsIn(
	context: ILoadOptionsFunctions,
	source: SearchSource,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const needle = (filter ?? '').trim().toLowerCase();
	const results: INodeListSearchItems[] = [];

	if (needle && !paginationToken) {
		let exactId: string | undefined;
		try {
			exactId = source.validateId(filter);
		} catch {
			exactId = undefined;
		}
		if (exactId) {
			try {
				const alert = (await defenderApiRequest.call(context, { method: 'GET', ...source.get(exactId) })) as IDataObject;
				return { results: [toItem(alert)] };
			} catch (error) {
				// Not found: fall through to searching titles.
				if (!(error instanceof NodeApiError && error.httpCode === '404')) throw error;
			}
		}
	}

	const top = needle ? SEARCH_PAGE_SIZE : PAGE_SIZE;
	let { skip, ordered } = readToken(paginationToken);
	const { orderby, created, maxSkip, ...list } = source.list;
	const readPage = async (): Promise<IDataObject[]> => {
		const request = async (withOrder: boolean): Promise<IDataObject> =>
			(await defenderApiRequest.call(context, {
				method: 'GET',
				...list,
				qs: { $orderby: withOrder ? orderby : undefined, $top: top, $skip: skip || undefined },
			})) as IDataObject;
		let response: IDataObject;
		try {
			response = await request(ordered);
		} catch (error) {
			if (!ordered || !(error instanceof NodeApiError && error.httpCode === '400')) throw error;
			ordered = false;
			response = await request(false);
		}
		const alerts = ((response as { value?: IDataObject[] }).value ?? []) as IDataObject[];
		return ordered ? alerts : newestFirst(alerts, created);
	};
	for (let page = 0; page < (needle ? MAX_PAGES_PER_CALL : 1) && skip <= maxSkip; page++) {
		const alerts = await readPage();
		skip += alerts.length;
		for (const alert of alerts) {
			const title = typeof alert.title === 'string' ? alert.title.toLowerCase() : '';
			if (!needle || title.includes(needle) || String(alert.id).toLowerCase().includes(needle)) {
				results.push(toItem(alert));
			}
		}
		if (alerts.length < top) return { results };
		if (results.length >= ENOUGH_MATCHES) break;
	}
	return skip <= maxSkip ? { results, paginationToken: `${skip}${ordered ? '' : UNORDERED}` } : { results };
}

export async function searchAlerts(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	return await searchAlertsIn(this, MDE_SEARCH, filter, paginationToken);
}

export async function searchGraphAlerts(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	return await searchAlertsIn(this, GRAPH_SEARCH, filter, paginationToken);
}
