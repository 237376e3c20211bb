import type { IDataObject, ILoadOptionsFunctions, INodeListSearchItems, INodeListSearchResult } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { GRAPH_HEADERS } from '../actions/alert/graph';
import { INCIDENTS_PATH, incidentPath } from '../actions/incident/common';
import { defenderApiRequest } from '../transport';

/** Graph lists at most 50 incidents per request (security-list-incidents; a larger `$top` is a 400). */
const PAGE_SIZE = 50;
/** Largest `$skip` Graph's security lists accept: the dropdown offers the newest incidents up to there. */
const MAX_SKIP = 500;
/** The list cannot filter on the name: typed text is matched here, over at most this many pages per call. */
const MAX_PAGES_PER_CALL = 4;
/** Enough matches to fill the dropdown; more are loaded when the user scrolls. */
const ENOUGH_MATCHES = 20;

function toItem(incident: IDataObject): INodeListSearchItems {
	const name = typeof incident.displayName === 'string' && incident.displayName ? incident.displayName : `Incident ${String(incident.id)}`;
	return {
		name: `${name} (#${String(incident.id)}, ${String(incident.severity ?? '?')}, ${String(incident.status ?? '?')})`,
		value: String(incident.id),
		url: typeof incident.incidentWebUrl === 'string' ? incident.incidentWebUrl : undefined,
	};
}

/**
 * Resource-locator search for the Incident parameter: the newest incidents first (Graph's documented order),
 * shown as "name (#id, severity, status)". Typed text matches the name or the ID; a number is looked up directly.
 */
export async function searchIncidents(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const needle = (filter ?? '').trim().toLowerCase();
	if (needle && !paginationToken && /^\d{1,19}$/.test(needle)) {
		try {
			const incident = (await defenderApiRequest.call(this, {
				api: 'graph',
				method: 'GET',
				path: incidentPath(needle),
				headers: GRAPH_HEADERS,
			})) as IDataObject;
			return { results: [toItem(incident)] };
		} catch (error) {
			// Not found: fall through to searching names.
			if (!(error instanceof NodeApiError && error.httpCode === '404')) throw error;
		}
	}

	const results: INodeListSearchItems[] = [];
	let skip = Number(paginationToken ?? 0) || 0;
	for (let page = 0; page < (needle ? MAX_PAGES_PER_CALL : 1) && skip <= MAX_SKIP; page++) {
		const response = await defenderApiRequest.call(this, {
			api: 'graph',
			method: 'GET',
			path: INCIDENTS_PATH,
			headers: GRAPH_HEADERS,
			qs: { $top: PAGE_SIZE, $skip: skip || undefined },
		});
		const incidents = ((response as { value?: IDataObject[] }).value ?? []) as IDataObject[];
		skip += incidents.length;
		for (const incident of incidents) {
			const name = typeof incident.displayName === 'string' ? incident.displayName.toLowerCase() : '';
			if (!needle || name.includes(needle) || String(incident.id).includes(needle)) results.push(toItem(incident));
		}
		if (incidents.length < PAGE_SIZE) return { results };
		if (results.length >= ENOUGH_MATCHES) break;
	}
	return skip <= MAX_SKIP ? { results, paginationToken: String(skip) } : { results };
}
