/**
 * Alert › Get Many, from the Defender for Endpoint API (`GET /api/alerts`) or Microsoft Graph (`alerts_v2`).
 *
 * Neither list documents `$orderby`: MDE get-alerts (https://learn.microsoft.com/en-us/defender-endpoint/api/get-alerts)
 * documents `$filter`, `$top` (up to 10,000), `$skip` and `$expand=evidence`; Graph security-list-alerts_v2
 * (https://learn.microsoft.com/en-us/graph/api/security-list-alerts_v2) documents `$count`, `$filter`, `$skip` and
 * `$top`, and "the most recent alerts are displayed at the top of the list". So the newest-first answers asked for
 * with `$orderby=<created> desc` are checked before they are used, and where they cannot be (a page out of order,
 * one that does not show its order), every matching alert is read through the trigger's scan (scan/cursor.ts +
 * scan/run.ts: time windows on the creation time, any page order, within the `$top`/`$skip` caps) and the newest
 * are picked from it. A 400 for `$orderby` has the request sent again without it (the documented order), and
 * nothing after it asks for `$orderby` again. See `mdeAlerts` and `graphAlerts` below.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import {
	ALERT_CATEGORIES,
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	DETECTION_SOURCES,
} from '../../helpers/enums';
import { anyOf } from '../../helpers/odata';
import { canonicalTimestamp } from '../../helpers/timestamps';
import { requireText, splitList } from '../../helpers/validation';
import { listPage, scanEverything } from '../../scan/run';
import { graphAlertSource, mdeAlertSource, type ScanSource } from '../../scan/sources';
import { InvalidInputError, odataString, type TransportContext } from '../../transport';
import { readCheckedLimit, returnAllOrLimit, toOutput, updateDisplayOptions } from '../utils';
import { enumValue, filterDateTime, filterValues, includeEvidenceOptions } from './common';
import {
	GRAPH_FILTER_CLASSIFICATIONS,
	GRAPH_FILTER_DETERMINATIONS,
	GRAPH_SERVICE_SOURCES,
	GRAPH_SEVERITIES,
	GRAPH_STATUSES,
	GraphAlertOrderError,
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
		placeholder: 'Add filter',
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

/** The bounds of a time filter, as `filterDateTime` reads them (UTC ISO). */
interface TimeRange {
	after?: string;
	before?: string;
}

/** A time window on one field, checked: `after` must be earlier than `before`. */
function timeRange(filters: IDataObject, afterKey: string, beforeKey: string, label: string, timezone: string): TimeRange {
	const present = (key: string) => filters[key] !== undefined && filters[key] !== null && filters[key] !== '';
	const after = present(afterKey) ? filterDateTime(filters[afterKey], `Filters › ${label} After`, timezone) : undefined;
	const before = present(beforeKey) ? filterDateTime(filters[beforeKey], `Filters › ${label} Before`, timezone) : undefined;
	if (after && before && after >= before) {
		throw new InvalidInputError(
			`Filters › ${label} After (${after}) must be earlier than Filters › ${label} Before (${before}).`,
		);
	}
	return { after, before };
}

/** `field ge after and field lt before`, as far as they are set. */
function rangeClauses(field: string, range: TimeRange): string[] {
	return [range.after && `${field} ge ${range.after}`, range.before && `${field} lt ${range.before}`].filter(
		(c): c is string => Boolean(c),
	);
}

/**
 * The chosen filters of one source as `$filter` clauses, with the created-time window apart: one request puts it
 * in `$filter` (`joinFilter`), the scan reads Created After as its floor and Created Before as an `lt` clause.
 */
interface AlertFilterParts {
	/** The creation time field (alertCreationTime, createdDateTime on Graph). */
	createdField: string;
	/** The clauses before the created-time window. */
	head: string[];
	created: TimeRange;
	/** The clauses after it (the updated-time window, which stays in `$filter` either way). */
	tail: string[];
}

function joinFilter(parts: AlertFilterParts): string | undefined {
	const clauses = [...parts.head, ...rangeClauses(parts.createdField, parts.created), ...parts.tail];
	return clauses.length ? clauses.join(' and ') : undefined;
}

function assignedToClause(filters: IDataObject): string | undefined {
	if (filters.assignedTo === undefined || String(filters.assignedTo).trim() === '') return undefined;
	return `assignedTo eq ${odataString(requireText(filters.assignedTo, 'Filters › Assigned To'))}`;
}

/** Filters only Graph alerts_v2 can apply. */
const GRAPH_ONLY_FILTERS = ['classifications', 'determinations'];

function mdeFilterParts(filters: IDataObject, timezone: string): AlertFilterParts {
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

	const head = [
		anyOf('status', listFilter(filters, 'statuses', ALERT_STATUSES)),
		anyOf('severity', listFilter(filters, 'severities', ALERT_SEVERITIES)),
		anyOf('category', categories),
		anyOf('detectionSource', listFilter(filters, 'detectionSources', DETECTION_SOURCES)),
		assignedToClause(filters),
		incidentClause,
	].filter((c): c is string => Boolean(c));
	return {
		createdField: 'alertCreationTime',
		head,
		created: timeRange(filters, 'createdAfter', 'createdBefore', 'Created', timezone),
		tail: rangeClauses('lastUpdateTime', timeRange(filters, 'updatedAfter', 'updatedBefore', 'Updated', timezone)),
	};
}

/** The `$filter` expression for the chosen filters (Defender for Endpoint API), or undefined for none. */
export function buildAlertFilter(filters: IDataObject, timezone: string): string | undefined {
	return joinFilter(mdeFilterParts(filters, timezone));
}

/** Filters Graph alerts_v2 cannot apply (its `$filter` fields are listed in §6.4). */
const MDE_ONLY_FILTERS = ['categories', 'customCategories', 'detectionSources', 'incidentId'];

function graphFilterParts(filters: IDataObject, serviceSources: unknown, timezone: string): AlertFilterParts {
	for (const key of MDE_ONLY_FILTERS) {
		if (splitList(filters[key]).length) {
			throw new InvalidInputError(
				`Filters › ${LABELS[key]} works only with the Defender for Endpoint API: Microsoft Graph alerts_v2 cannot filter on it. Remove the filter (switch Source back to see it) or use the Defender for Endpoint API.`,
			);
		}
	}
	const sources = [...new Set(splitList(serviceSources).map((v) => enumValue(v, GRAPH_SERVICE_SOURCES, 'Service Sources')))];
	const head = [
		anyOf('status', listFilter(filters, 'statuses', GRAPH_STATUSES)),
		anyOf('severity', listFilter(filters, 'severities', GRAPH_SEVERITIES)),
		anyOf('classification', listFilter(filters, 'classifications', GRAPH_FILTER_CLASSIFICATIONS)),
		anyOf('determination', listFilter(filters, 'determinations', GRAPH_FILTER_DETERMINATIONS)),
		anyOf('serviceSource', sources),
		assignedToClause(filters),
	].filter((c): c is string => Boolean(c));
	return {
		createdField: 'createdDateTime',
		head,
		created: timeRange(filters, 'createdAfter', 'createdBefore', 'Created', timezone),
		tail: rangeClauses('lastUpdateDateTime', timeRange(filters, 'updatedAfter', 'updatedBefore', 'Updated', timezone)),
	};
}

/**
 * The `$filter` expression for Microsoft Graph alerts_v2: Graph's field names and camelCase values (the shared
 * status and severity filters hold MDE values: `InProgress` → `inProgress`, `UnSpecified` → `unknown`).
 */
export function buildGraphAlertFilter(filters: IDataObject, serviceSources: unknown, timezone: string): string | undefined {
	return joinFilter(graphFilterParts(filters, serviceSources, timezone));
}

// ---------------------------------------------------------------------------------------------
// Reading the list

type Log = (message: string) => void;

/** A filter bound as the scan takes it (canonical: UTC, 7 fractional digits). */
function canonicalBound(value: string, label: string): string {
	const canonical = canonicalTimestamp(value);
	if (canonical === undefined) throw new InvalidInputError(`Filters › ${label} is not a valid date-time.`);
	return canonical;
}

/** Newest first: creation time descending, then id descending; each id once (the first copy). */
function newestFirst(alerts: IDataObject[], createdField: string): IDataObject[] {
	const seen = new Set<string>();
	const unique = alerts.filter((alert) => {
		const id = String(alert.id ?? '');
		if (!id) return true;
		if (seen.has(id)) return false;
		seen.add(id);
		return true;
	});
	const created = (alert: IDataObject) => canonicalTimestamp(alert[createdField]) ?? '';
	return unique.sort((a, b) => {
		const ca = created(a);
		const cb = created(b);
		if (ca !== cb) return ca < cb ? 1 : -1;
		const ia = String(a.id ?? '');
		const ib = String(b.id ?? '');
		return ia === ib ? 0 : ia < ib ? 1 : -1;
	});
}

/**
 * Whether a full page shows by itself that it is newest first: creation times non-increasing, and at least two of
 * them (a page of one instant shows no order). An alert without a valid creation time shows nothing either.
 */
function showsNewestFirst(page: IDataObject[], createdField: string): boolean {
	const times = new Set<string>();
	let last: string | undefined;
	for (const alert of page) {
		const created = canonicalTimestamp(alert[createdField]);
		if (created === undefined || (last !== undefined && created > last)) return false;
		times.add(created);
		last = created;
	}
	return times.size >= 2;
}

/**
 * Every matching alert through the trigger's scan (scan/cursor.ts + scan/run.ts): time windows on the creation
 * time from Created After (or 1970) up, oldest first, which neither repeats nor skips an alert whatever order the
 * API answers in, and stays within the API's `$top` (and Graph's `$skip`) caps. Created Before is an `lt` clause,
 * the other filters (the updated-time window too) stay in `$filter`. With `orderbyRejected` (the API answered
 * `$orderby` with a 400 already) it never asks for `$orderby`.
 */
async function scanAll(
	transport: TransportContext,
	source: ScanSource,
	parts: AlertFilterParts,
	extraQuery: Record<string, string>,
	orderbyRejected: string | undefined,
): Promise<IDataObject[]> {
	const cursor = source.fields(false).cursor;
	const before = parts.created.before ? canonicalBound(parts.created.before, 'Created Before') : undefined;
	return await scanEverything(
		transport,
		{ source, filterClauses: [...parts.head, ...(before ? [`${cursor} lt ${before}`] : []), ...parts.tail], extraQuery },
		parts.created.after ? canonicalBound(parts.created.after, 'Created After') : undefined,
		orderbyRejected,
	);
}

/**
 * MDE `GET /api/alerts` (https://learn.microsoft.com/en-us/defender-endpoint/api/get-alerts) documents `$filter`,
 * `$top` (up to 10,000), `$skip` and `$expand=evidence`, not `$orderby`; its OData samples
 * (https://learn.microsoft.com/en-us/defender-endpoint/api/exposed-apis-odata-samples) read "Get 10 latest Alerts"
 * as `/api/alerts?$top=10`. So:
 * - Limit up to a page: one request with `$orderby=alertCreationTime desc` and `$top=limit` (at least 2). An answer
 *   shorter than `$top` is every match, in any order. A full one is used when it shows newest-first order by
 *   itself (`showsNewestFirst`). A 400 for `$orderby` has the request sent again without it (scan/run.ts
 *   `listPage`), and that answer is checked the same way.
 * - Otherwise (Return All, a Limit above a page, an answer that does not show its order): the scan (`scanAll`);
 *   after a 400 for `$orderby` without `$orderby`.
 * Either way the output is newest first (creation time, then id, both descending), `$expand=evidence` as asked.
 */
async function mdeAlerts(
	transport: TransportContext,
	parts: AlertFilterParts,
	limit: number | undefined,
	includeEvidence: boolean,
	log: Log,
): Promise<IDataObject[]> {
	const source = mdeAlertSource;
	const extraQuery = source.extraQuery({ includeEvidence });
	let orderbyRejected: string | undefined;
	if (limit !== undefined && limit <= source.maxPageSize) {
		const top = Math.min(source.maxPageSize, Math.max(2, limit));
		const answer = await listPage(transport, source, {
			$filter: joinFilter(parts),
			$orderby: `${parts.createdField} desc`,
			$top: top,
			...extraQuery,
		});
		if (answer.items.length < top || showsNewestFirst(answer.items, parts.createdField)) {
			return newestFirst(answer.items, parts.createdField).slice(0, limit);
		}
		orderbyRejected = answer.unordered;
		log(
			`Alert › Get Many: the Defender for Endpoint API's page of ${answer.items.length} alerts does not show newest-first order${orderbyRejected ? ` (it rejected $orderby: ${orderbyRejected})` : ''}; reading the alerts by time windows instead.`,
		);
	}
	return newestFirst(await scanAll(transport, source, parts, extraQuery, orderbyRejected), parts.createdField).slice(0, limit);
}

/**
 * Graph alerts_v2: `graphAlertPages` (graph.ts) asks for `$orderby=createdDateTime desc` (without it after a 400:
 * the documented order is newest first) and checks every page; when a page is out of order, or a full first page
 * does not show its order, the scan reads every match instead (`scanAll`), newest first afterwards.
 */
async function graphAlerts(transport: TransportContext, parts: AlertFilterParts, limit: number | undefined, log: Log): Promise<IDataObject[]> {
	const source = graphAlertSource;
	const alerts: IDataObject[] = [];
	try {
		const pages = graphAlertPages(transport, {
			filter: joinFilter(parts),
			limit,
			pageSize: source.maxPageSize,
			maxSkip: source.maxSkip,
			requireOrderEvidence: true,
		});
		for await (const page of pages) alerts.push(...page);
		return alerts;
	} catch (error) {
		if (!(error instanceof GraphAlertOrderError)) throw error;
		log(`Alert › Get Many: ${error.message} Reading the alerts by time windows instead.`);
		return newestFirst(await scanAll(transport, source, parts, {}, error.orderbyRejected), parts.createdField).slice(0, limit);
	}
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const source: AlertSource = readSource(this, itemIndex);
	const limit = readCheckedLimit(this, itemIndex);
	const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
	const log: Log = (message) => this.logger?.debug(message);
	// Built (and validated) before the first request.
	let alerts: IDataObject[];
	if (source === 'mde') {
		const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
		const parts = mdeFilterParts(filters, this.getTimezone());
		alerts = await mdeAlerts(transport, parts, limit, options.includeEvidence === true, log);
	} else {
		const serviceSources = this.getNodeParameter('serviceSources', itemIndex, []) as unknown;
		const parts = graphFilterParts(filters, serviceSources, this.getTimezone());
		alerts = await graphAlerts(transport, parts, limit, log);
	}

	// Each alert once (a list that grows while it is read could repeat one).
	const seen = new Set<unknown>();
	const unique = alerts.filter((alert) => {
		if (alert.id === undefined) return true;
		if (seen.has(alert.id)) return false;
		seen.add(alert.id);
		return true;
	});
	return toOutput(this, itemIndex, unique);
}
