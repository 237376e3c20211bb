import type { IDataObject, ILoadOptionsFunctions, INodeListSearchItems, INodeListSearchResult } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { validateAlertId, validateGraphAlertId } from '../actions/alert/common';
import { GRAPH_ALERTS_PATH, GRAPH_HEADERS, GRAPH_MAX_SKIP, graphAlertPath } from '../actions/alert/graph';
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

function toItem(alert: IDataObject): INodeListSearchItems {
	const title = typeof alert.title === 'string' && alert.title ? alert.title : String(alert.id);
	return { name: `${title} (${String(alert.severity ?? '?')}, ${String(alert.status ?? '?')})`, value: String(alert.id) };
}

/** Where an alert source lists and gets alerts, and how it checks an id. */
interface SearchSource {
	list: Pick<DefenderRequest, 'api' | 'path' | 'headers'> & { orderby: string; maxSkip: number };
	get(id: string): Pick<DefenderRequest, 'api' | 'path' | 'headers'>;
	validateId(value: unknown): string;
}

const MDE_SEARCH: SearchSource = {
	list: { path: '/api/alerts', orderby: 'alertCreationTime desc', maxSkip: Number.POSITIVE_INFINITY },
	get: (id) => ({ path: `/api/alerts/${pathId(id, 'Alert ID')}` }),
	validateId: (value) => validateAlertId(value),
};

/** Graph caps `$skip` at 500: the list offers the newest alerts up to there; a typed ID is looked up directly. */
const GRAPH_SEARCH: SearchSource = {
	list: { api: 'graph', path: GRAPH_ALERTS_PATH, headers: GRAPH_HEADERS, orderby: 'createdDateTime desc', maxSkip: GRAPH_MAX_SKIP },
	get: (id) => ({ api: 'graph', path: graphAlertPath(id), headers: GRAPH_HEADERS }),
	validateId: (value) => validateGraphAlertId(value),
};

/**
 * Resource-locator search for the `alertId` parameter: newest alerts first, shown as "title (severity, status)".
 * A filter matches the title or the ID (case-insensitive); a complete alert ID is looked up directly.
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
	let skip = Number(paginationToken ?? 0) || 0;
	const { orderby, maxSkip, ...list } = source.list;
	for (let page = 0; page < (needle ? MAX_PAGES_PER_CALL : 1) && skip <= maxSkip; page++) {
		const response = await defenderApiRequest.call(context, {
			method: 'GET',
			...list,
			qs: { $orderby: orderby, $top: top, $skip: skip || undefined },
		});
		const alerts = ((response as { value?: IDataObject[] }).value ?? []) as IDataObject[];
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
	return skip <= maxSkip ? { results, paginationToken: String(skip) } : { results };
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
