import type { IDataObject, ILoadOptionsFunctions, INodeListSearchItems, INodeListSearchResult } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { validateAlertId } from '../actions/alert/common';
import { defenderApiRequest, pathId } from '../transport';

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

/**
 * Resource-locator search for the `alertId` parameter: newest alerts first, shown as "title (severity, status)".
 * A filter matches the title or the ID (case-insensitive); a complete alert ID is looked up directly.
 */
export async function searchAlerts(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const needle = (filter ?? '').trim().toLowerCase();
	const results: INodeListSearchItems[] = [];

	if (needle && !paginationToken) {
		let exactId: string | undefined;
		try {
			exactId = validateAlertId(filter);
		} catch {
			exactId = undefined;
		}
		if (exactId) {
			try {
				const alert = (await defenderApiRequest.call(this, {
					method: 'GET',
					path: `/api/alerts/${pathId(exactId, 'Alert ID')}`,
				})) as IDataObject;
				return { results: [toItem(alert)] };
			} catch (error) {
				// Not found: fall through to searching titles.
				if (!(error instanceof NodeApiError && error.httpCode === '404')) throw error;
			}
		}
	}

	const top = needle ? SEARCH_PAGE_SIZE : PAGE_SIZE;
	let skip = Number(paginationToken ?? 0) || 0;
	for (let page = 0; page < (needle ? MAX_PAGES_PER_CALL : 1); page++) {
		const response = await defenderApiRequest.call(this, {
			method: 'GET',
			path: '/api/alerts',
			qs: { $orderby: 'alertCreationTime desc', $top: top, $skip: skip || undefined },
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
	return { results, paginationToken: String(skip) };
}
