import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import {
	ALERT_CATEGORIES,
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	DETECTION_SOURCES,
} from '../../helpers/enums';
import { requireText, splitList } from '../../helpers/validation';
import { InvalidInputError, mdeListPages, odataString, type TransportContext } from '../../transport';
import { anyOf } from '../../helpers/odata';
import { readLimit, returnAllOrLimit, toOutput, updateDisplayOptions } from '../utils';
import { enumValue, filterDateTime, filterValues, includeEvidenceOptions } from './common';
import {
	GRAPH_FILTER_CLASSIFICATIONS,
	GRAPH_FILTER_DETERMINATIONS,
	GRAPH_SERVICE_SOURCES,
	GRAPH_SEVERITIES,
	GRAPH_STATUSES,
	graphAlertPages,
} from './graph';
import { readSource, type AlertSource } from './source';

const mdeOnly = { show: { '/source': ['mde'] } };
const graphOnly = { show: { '/source': ['graph'] } };

const properties: INodeProperties[] = [
	...returnAllOrLimit,
	{
		displayName: 'Service Sources',
		name: 'serviceSources',
		type: 'multiOptions',
		displayOptions: { show: { source: ['graph'] } },
		options: GRAPH_SERVICE_SOURCES,
		default: ['microsoftDefenderForEndpoint'],
		description: 'Only alerts of these Defender products (serviceSource). Empty means all.',
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		description: 'Alerts must match every filter set; a list filter matches any of its values',
		options: [
			{
				displayName: 'Assigned To',
				name: 'assignedTo',
				type: 'string',
				default: '',
				placeholder: 'e.g. secop@contoso.com',
				description: 'Only alerts assigned to this user principal name',
			},
			{
				displayName: 'Categories',
				name: 'categories',
				type: 'multiOptions',
				displayOptions: mdeOnly,
				options: ALERT_CATEGORIES,
				default: [],
				description: 'Only alerts in one of these categories',
			},
			{
				displayName: 'Classifications',
				name: 'classifications',
				type: 'multiOptions',
				displayOptions: graphOnly,
				options: GRAPH_FILTER_CLASSIFICATIONS,
				default: [],
				description: 'Only alerts with one of these classifications',
			},
			{
				displayName: 'Created After',
				name: 'createdAfter',
				type: 'dateTime',
				default: '',
				description: 'Only alerts created at or after this time (alertCreationTime; createdDateTime on Graph)',
			},
			{
				displayName: 'Created Before',
				name: 'createdBefore',
				type: 'dateTime',
				default: '',
				description: 'Only alerts created before this time (alertCreationTime; createdDateTime on Graph)',
			},
			{
				displayName: 'Detection Sources',
				name: 'detectionSources',
				type: 'multiOptions',
				displayOptions: mdeOnly,
				options: DETECTION_SOURCES,
				default: [],
				description: 'Only alerts raised by one of these detection sources',
			},
			{
				displayName: 'Determinations',
				name: 'determinations',
				type: 'multiOptions',
				displayOptions: graphOnly,
				options: GRAPH_FILTER_DETERMINATIONS,
				default: [],
				description: 'Only alerts with one of these determinations',
			},
			{
				displayName: 'Incident ID',
				name: 'incidentId',
				type: 'string',
				displayOptions: mdeOnly,
				default: '',
				placeholder: 'e.g. 1126093',
				description: 'Only alerts of this incident',
			},
			{
				displayName: 'Other Categories',
				name: 'customCategories',
				type: 'string',
				displayOptions: mdeOnly,
				default: '',
				placeholder: 'e.g. CredentialTheft, Backdoor',
				description:
					'Comma-separated category names that are not in the Categories list, such as the legacy names of older alerts',
			},
			{
				displayName: 'Severities',
				name: 'severities',
				type: 'multiOptions',
				options: ALERT_SEVERITIES,
				default: [],
				description: 'Only alerts with one of these severities (UnSpecified is "unknown" on Graph)',
			},
			{
				displayName: 'Statuses',
				name: 'statuses',
				type: 'multiOptions',
				options: ALERT_STATUSES,
				default: [],
				description: 'Only alerts with one of these statuses',
			},
			{
				displayName: 'Updated After',
				name: 'updatedAfter',
				type: 'dateTime',
				default: '',
				description: 'Only alerts last updated at or after this time (lastUpdateTime; lastUpdateDateTime on Graph)',
			},
			{
				displayName: 'Updated Before',
				name: 'updatedBefore',
				type: 'dateTime',
				default: '',
				description: 'Only alerts last updated before this time (lastUpdateTime; lastUpdateDateTime on Graph)',
			},
		],
	},
	includeEvidenceOptions('each alert'),
];

export const description = updateDisplayOptions({ show: { resource: ['alert'], operation: ['getAll'] } }, properties);

const LABELS: Record<string, string> = {
	statuses: 'Statuses',
	severities: 'Severities',
	categories: 'Categories',
	detectionSources: 'Detection Sources',
	classifications: 'Classifications',
	determinations: 'Determinations',
	incidentId: 'Incident ID',
	customCategories: 'Other Categories',
};

/** Values of a multi-select filter, each checked against (and mapped to) the options' values. */
function listFilter(filters: IDataObject, key: string, options: INodePropertyOptions[]): string[] {
	return filterValues(filters[key], options, LABELS[key]);
}

/** A time window on one field: `field ge after and field lt before`. */
function timeRange(
	filters: IDataObject,
	field: string,
	afterKey: string,
	beforeKey: string,
	label: string,
	timezone: string,
): string[] {
	const present = (key: string) => filters[key] !== undefined && filters[key] !== null && filters[key] !== '';
	const after = present(afterKey) ? filterDateTime(filters[afterKey], `Filters › ${label} After`, timezone) : undefined;
	const before = present(beforeKey) ? filterDateTime(filters[beforeKey], `Filters › ${label} Before`, timezone) : undefined;
	if (after && before && after >= before) {
		throw new InvalidInputError(
			`Filters › ${label} After (${after}) must be earlier than Filters › ${label} Before (${before}).`,
		);
	}
	return [after && `${field} ge ${after}`, before && `${field} lt ${before}`].filter((c): c is string => Boolean(c));
}

function assignedToClause(filters: IDataObject): string | undefined {
	if (filters.assignedTo === undefined || String(filters.assignedTo).trim() === '') return undefined;
	return `assignedTo eq ${odataString(requireText(filters.assignedTo, 'Filters › Assigned To'))}`;
}

/** Filters only Graph alerts_v2 can apply. */
const GRAPH_ONLY_FILTERS = ['classifications', 'determinations'];

/** The `$filter` expression for the chosen filters (Defender for Endpoint API), or undefined for none. */
export function buildAlertFilter(filters: IDataObject, timezone: string): string | undefined {
	for (const key of GRAPH_ONLY_FILTERS) {
		if (splitList(filters[key]).length) {
			throw new InvalidInputError(
				`Filters › ${LABELS[key]} works only with Microsoft Graph alerts_v2: the Defender for Endpoint API cannot filter on it. Remove the filter (switch Source to see it) or use Microsoft Graph.`,
			);
		}
	}
	const customCategories = splitList(filters.customCategories).map((c) => {
		if (!/^[A-Za-z][A-Za-z0-9]*$/.test(c)) {
			throw new InvalidInputError(
				`Filters › Other Categories "${c.slice(0, 80)}" is not a category name (letters and digits, e.g. CredentialTheft).`,
			);
		}
		return c;
	});
	const categories = [...new Set([...listFilter(filters, 'categories', ALERT_CATEGORIES), ...customCategories])];

	let incidentClause: string | undefined;
	const incidentText = String(filters.incidentId ?? '').trim();
	if (incidentText) {
		if (!/^\d{1,19}$/.test(incidentText)) {
			throw new InvalidInputError(`Filters › Incident ID "${incidentText.slice(0, 40)}" is not a number.`);
		}
		incidentClause = `incidentId eq ${incidentText}`;
	}

	const clauses = [
		anyOf('status', listFilter(filters, 'statuses', ALERT_STATUSES)),
		anyOf('severity', listFilter(filters, 'severities', ALERT_SEVERITIES)),
		anyOf('category', categories),
		anyOf('detectionSource', listFilter(filters, 'detectionSources', DETECTION_SOURCES)),
		assignedToClause(filters),
		incidentClause,
		...timeRange(filters, 'alertCreationTime', 'createdAfter', 'createdBefore', 'Created', timezone),
		...timeRange(filters, 'lastUpdateTime', 'updatedAfter', 'updatedBefore', 'Updated', timezone),
	].filter((c): c is string => Boolean(c));
	return clauses.length ? clauses.join(' and ') : undefined;
}

/** Filters Graph alerts_v2 cannot apply (its `$filter` fields are listed in §6.4). */
const MDE_ONLY_FILTERS = ['categories', 'customCategories', 'detectionSources', 'incidentId'];

/**
 * The `$filter` expression for Microsoft Graph alerts_v2: Graph's field names and camelCase values (the shared
 * status and severity filters hold MDE values: `InProgress` → `inProgress`, `UnSpecified` → `unknown`).
 */
export function buildGraphAlertFilter(filters: IDataObject, serviceSources: unknown, timezone: string): string | undefined {
	for (const key of MDE_ONLY_FILTERS) {
		if (splitList(filters[key]).length) {
			throw new InvalidInputError(
				`Filters › ${LABELS[key]} works only with the Defender for Endpoint API: Microsoft Graph alerts_v2 cannot filter on it. Remove the filter (switch Source back to see it) or use the Defender for Endpoint API.`,
			);
		}
	}
	const sources = [...new Set(splitList(serviceSources).map((v) => enumValue(v, GRAPH_SERVICE_SOURCES, 'Service Sources')))];
	const clauses = [
		anyOf('status', listFilter(filters, 'statuses', GRAPH_STATUSES)),
		anyOf('severity', listFilter(filters, 'severities', GRAPH_SEVERITIES)),
		anyOf('classification', listFilter(filters, 'classifications', GRAPH_FILTER_CLASSIFICATIONS)),
		anyOf('determination', listFilter(filters, 'determinations', GRAPH_FILTER_DETERMINATIONS)),
		anyOf('serviceSource', sources),
		assignedToClause(filters),
		...timeRange(filters, 'createdDateTime', 'createdAfter', 'createdBefore', 'Created', timezone),
		...timeRange(filters, 'lastUpdateDateTime', 'updatedAfter', 'updatedBefore', 'Updated', timezone),
	].filter((c): c is string => Boolean(c));
	return clauses.length ? clauses.join(' and ') : undefined;
}

/** Each source's list: its query from the parameters and its pages, newest first. */
const LISTS: Record<
	AlertSource,
	(context: IExecuteFunctions, itemIndex: number, transport: TransportContext, limit?: number) => AsyncIterable<IDataObject[]>
> = {
	mde: (context, itemIndex, transport, limit) => {
		const filters = context.getNodeParameter('filters', itemIndex, {}) as IDataObject;
		const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
		const qs: Record<string, string> = { $orderby: 'alertCreationTime desc' };
		const filter = buildAlertFilter(filters, context.getTimezone());
		if (filter) qs.$filter = filter;
		if (options.includeEvidence === true) qs.$expand = 'evidence';
		return mdeListPages<IDataObject>(transport, '/api/alerts', qs, { limit });
	},
	graph: (context, itemIndex, transport, limit) => {
		const filters = context.getNodeParameter('filters', itemIndex, {}) as IDataObject;
		const serviceSources = context.getNodeParameter('serviceSources', itemIndex, []) as unknown;
		const filter = buildGraphAlertFilter(filters, serviceSources, context.getTimezone());
		return graphAlertPages(transport, { filter, limit });
	},
};

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const source = readSource(this, itemIndex);
	const requested = readLimit(this, itemIndex);
	const limit = requested === undefined ? undefined : Number(requested);
	if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
		throw new InvalidInputError(`Limit "${requested}" is not valid. Enter a whole number of 1 or more.`);
	}
	// Built (and validated) before the first request.
	const pages = LISTS[source](this, itemIndex, transport, limit);

	// Paging over a list that can grow meanwhile may repeat an alert at a page boundary: keep the first.
	const alerts: IDataObject[] = [];
	const seen = new Set<unknown>();
	for await (const page of pages) {
		for (const alert of page) {
			if (alert.id !== undefined && seen.has(alert.id)) continue;
			seen.add(alert.id);
			alerts.push(alert);
		}
	}
	return toOutput(this, itemIndex, alerts);
}
