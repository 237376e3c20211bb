/**
 * Get Many incidents (security-list-incidents, https://learn.microsoft.com/en-us/graph/api/security-list-incidents):
 * `GET /v1.0/security/incidents` documents `$count`, `$filter` (assignedTo, classification, createdDateTime,
 * determination, lastUpdateDateTime, severity, status), `$skip`, `$top` and `$expand=alerts`, and "the most
 * recent incidents are displayed at the top of the list". `$top` above 50 is a 400 ("The limit of '50' for Top
 * query has been exceeded", wazuh/wazuh#28070), `$skip` is capped at 500 like Graph's other security lists,
 * `@odata.nextLink` is missing in practice and `$orderby` is not documented.
 *
 * So:
 * - Limit ≤ 50: one request, `$top=limit`, in the documented newest-first order.
 * - Return All or Limit > 50: the scan the trigger uses (scan/cursor.ts + scan/run.ts with graphIncidentSource),
 *   time windows on createdDateTime from Created After (or 1970) up, which neither repeats nor skips an incident
 *   whatever order the API answers in and stays within the `$top`/`$skip` caps. It reads oldest first, so a Limit
 *   keeps the newest `limit` of everything read.
 * Either way the output is newest first (createdDateTime, then id, both descending).
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import {
	GRAPH_FILTER_CLASSIFICATIONS,
	GRAPH_FILTER_DETERMINATIONS,
	INCIDENT_SEVERITIES,
	INCIDENT_STATUSES,
} from '../../helpers/enums';
import { canonicalTimestamp } from '../../helpers/timestamps';
import { requireText } from '../../helpers/validation';
import { IncidentPageReader } from '../../scan/incidentAlerts';
import { listPage, scanEverything, type ListQuery } from '../../scan/run';
import { graphIncidentSource, type ScanFilters } from '../../scan/sources';
import { InvalidInputError, type TransportContext } from '../../transport';
import { filterDateTime, filterValues } from '../alert/common';
import { readCheckedLimit, returnAllOrLimit, toOutput, updateDisplayOptions } from '../utils';
import { includeAlertsProperty, withIncidentPermission } from './common';

/** Largest `$top` Graph's incident list accepts. */
export const INCIDENT_MAX_TOP = 50;

const properties: INodeProperties[] = [
	...returnAllOrLimit.map((p) =>
		p.name === 'limit'
			? {
					...p,
					description:
						'Max number of results to return, newest first. Up to 50 takes one request; a limit above 50 reads every matching incident (as Return All does) to pick the newest.',
				}
			: p,
	),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add filter',
		default: {},
		description: 'Incidents must match every filter set; a list filter matches any of its values',
		options: [
			{
				displayName: 'Assigned To',
				name: 'assignedTo',
				type: 'string',
				default: '',
				placeholder: 'e.g. secop@contoso.com',
				description: 'Only incidents assigned to this user principal name',
			},
			{
				displayName: 'Classifications',
				name: 'classifications',
				type: 'multiOptions',
				options: GRAPH_FILTER_CLASSIFICATIONS,
				default: [],
				description: 'Only incidents with one of these classifications',
			},
			{
				displayName: 'Created After',
				name: 'createdAfter',
				type: 'dateTime',
				default: '',
				description: 'Only incidents created at or after this time (createdDateTime)',
			},
			{
				displayName: 'Created Before',
				name: 'createdBefore',
				type: 'dateTime',
				default: '',
				description: 'Only incidents created before this time (createdDateTime)',
			},
			{
				displayName: 'Determinations',
				name: 'determinations',
				type: 'multiOptions',
				options: GRAPH_FILTER_DETERMINATIONS,
				default: [],
				description: 'Only incidents with one of these determinations',
			},
			{
				displayName: 'Severities',
				name: 'severities',
				type: 'multiOptions',
				options: INCIDENT_SEVERITIES,
				default: [],
				description: 'Only incidents with one of these severities',
			},
			{
				displayName: 'Statuses',
				name: 'statuses',
				type: 'multiOptions',
				options: INCIDENT_STATUSES,
				default: [],
				description: 'Only incidents with one of these statuses',
			},
		],
	},
	includeAlertsProperty('each incident'),
];

export const description = updateDisplayOptions({ show: { resource: ['incident'], operation: ['getAll'] } }, properties);

const LABELS: Record<string, string> = {
	statuses: 'Statuses',
	severities: 'Severities',
	classifications: 'Classifications',
	determinations: 'Determinations',
};

function listFilter(filters: IDataObject, key: string, options: INodePropertyOptions[]): string[] {
	return filterValues(filters[key], options, LABELS[key]);
}

function dateFilter(filters: IDataObject, key: string, label: string, timezone: string): string | undefined {
	const value = filters[key];
	if (value === undefined || value === null || value === '') return undefined;
	const field = `Filters › ${label}`;
	// A timestamp with its offset (e.g. an incident's createdDateTime) keeps all 7 fractional digits; anything else
	// is read as n8n's date picker means it (the workflow's time zone when it names none).
	const exact = typeof value === 'string' && /(Z|[+-]\d{2}:?\d{2})$/i.test(value.trim()) ? canonicalTimestamp(value) : undefined;
	const canonical = exact ?? canonicalTimestamp(filterDateTime(value, field, timezone));
	if (canonical === undefined) throw new InvalidInputError(`${field} is not a valid date-time.`);
	return canonical;
}

/** The chosen filters, checked before any request: the scan filters, and the created-time window (canonical). */
export interface IncidentQuery {
	filters: ScanFilters;
	createdAfter?: string;
	createdBefore?: string;
}

export function readIncidentQuery(filters: IDataObject, timezone: string): IncidentQuery {
	const assignedTo =
		filters.assignedTo === undefined || String(filters.assignedTo).trim() === ''
			? undefined
			: requireText(filters.assignedTo, 'Filters › Assigned To');
	const query: IncidentQuery = {
		filters: {
			statuses: listFilter(filters, 'statuses', INCIDENT_STATUSES),
			severities: listFilter(filters, 'severities', INCIDENT_SEVERITIES),
			classifications: listFilter(filters, 'classifications', GRAPH_FILTER_CLASSIFICATIONS),
			determinations: listFilter(filters, 'determinations', GRAPH_FILTER_DETERMINATIONS),
			assignedTo,
			categories: [],
			detectionSources: [],
			serviceSources: [],
		},
		createdAfter: dateFilter(filters, 'createdAfter', 'Created After', timezone),
		createdBefore: dateFilter(filters, 'createdBefore', 'Created Before', timezone),
	};
	if (query.createdAfter && query.createdBefore && query.createdAfter >= query.createdBefore) {
		throw new InvalidInputError(
			`Filters › Created After (${query.createdAfter}) must be earlier than Filters › Created Before (${query.createdBefore}).`,
		);
	}
	return query;
}

/** Incident ids are digit strings: longer is larger. */
function compareIds(a: string, b: string): number {
	if (a.length !== b.length && /^\d+$/.test(a) && /^\d+$/.test(b)) return a.length - b.length;
	return a < b ? -1 : a > b ? 1 : 0;
}

/** Newest first: createdDateTime descending, then id descending; each id once (the first copy). */
export function newestFirst(incidents: IDataObject[]): IDataObject[] {
	const seen = new Set<string>();
	const unique = incidents.filter((incident) => {
		const id = String(incident.id ?? '');
		if (!id) return true;
		if (seen.has(id)) return false;
		seen.add(id);
		return true;
	});
	const created = (incident: IDataObject) => canonicalTimestamp(incident.createdDateTime) ?? '';
	return unique.sort((a, b) => {
		const ca = created(a);
		const cb = created(b);
		if (ca !== cb) return ca < cb ? 1 : -1;
		return compareIds(String(b.id ?? ''), String(a.id ?? ''));
	});
}

/** The newest `limit` (≤ 50) matching incidents: one request. */
async function firstPage(
	transport: TransportContext,
	query: IncidentQuery,
	limit: number,
	includeAlerts: boolean,
): Promise<IDataObject[]> {
	const source = graphIncidentSource;
	const clauses = [
		...source.filterClauses(query.filters),
		query.createdAfter && `createdDateTime ge ${query.createdAfter}`,
		query.createdBefore && `createdDateTime lt ${query.createdBefore}`,
	].filter((c): c is string => Boolean(c));
	const qs: ListQuery = {
		$filter: clauses.length ? clauses.join(' and ') : undefined,
		$top: limit,
		...source.extraQuery({ includeAlerts }),
	};
	const answer = includeAlerts
		? await new IncidentPageReader(transport, source, undefined, Date.now()).read(qs)
		: await listPage(transport, source, qs);
	return newestFirst(answer.items).slice(0, limit);
}

/** Every matching incident, through the trigger's scan (time windows on createdDateTime; any page order). */
async function scanAll(transport: TransportContext, query: IncidentQuery, includeAlerts: boolean): Promise<IDataObject[]> {
	const source = graphIncidentSource;
	const reader = includeAlerts ? new IncidentPageReader(transport, source, undefined, Date.now()) : undefined;
	return await scanEverything(
		transport,
		{
			source,
			filterClauses: [
				...source.filterClauses(query.filters),
				...(query.createdBefore ? [`createdDateTime lt ${query.createdBefore}`] : []),
			],
			extraQuery: source.extraQuery({ includeAlerts }),
			readPage: reader?.read,
		},
		query.createdAfter,
	);
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const limit = readCheckedLimit(this, itemIndex);
	const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
	const includeAlerts = this.getNodeParameter('includeAlerts', itemIndex, false) === true;
	// Validated before the first request.
	const query = readIncidentQuery(filters, this.getTimezone());

	const incidents = await withIncidentPermission(false, async () =>
		limit !== undefined && limit <= INCIDENT_MAX_TOP
			? await firstPage(transport, query, limit, includeAlerts)
			: newestFirst(await scanAll(transport, query, includeAlerts)).slice(0, limit),
	);
	return toOutput(this, itemIndex, incidents.map(withoutContext));
}

/** Items as Graph lists them (no `@odata.context` on list entries; kept defensive). */
function withoutContext(incident: IDataObject): IDataObject {
	const { '@odata.context': _context, ...rest } = incident;
	return rest;
}
