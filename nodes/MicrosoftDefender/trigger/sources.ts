import {
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	GRAPH_ALERT_SEVERITIES,
	GRAPH_ALERT_STATUSES,
	graphSpelling,
} from '../helpers/enums';
import type { ApiResource } from '../transport/auth';
import { odataString } from '../transport';
import type { CursorFields, PageQuery } from './cursor';

/** What the trigger filters on; every value is an enum member or escaped before it reaches `$filter`. */
export interface AlertFilters {
	statuses: string[];
	severities: string[];
	categories: string[];
	detectionSources: string[];
	assignedTo?: string;
	/** Graph only: the Defender products whose alerts are wanted. */
	serviceSources: string[];
	/** Advanced: an OData expression the user writes, and-ed with the rest in parentheses. */
	additionalFilter?: string;
}

/** One alert API the trigger can read: where it lives and how its fields and filters are named. */
export interface AlertSource {
	api: ApiResource;
	path: string;
	maxPageSize: number;
	/** Keyset paging needs `id gt '…'` in $filter and a second $orderby key; otherwise ties are skipped. */
	paging: 'keyset' | 'skip';
	fields(triggerOnUpdates: boolean): CursorFields;
	filterClauses(filters: AlertFilters): string[];
	/** Query options besides `$filter`, `$orderby`, `$top` and `$skip`. */
	extraQuery(options: { includeEvidence: boolean }): Record<string, string>;
	headers?: Record<string, string>;
	/** Filters the API cannot apply, checked on each alert read (the cursor still moves past the others). */
	clientFilter?(filters: AlertFilters): ((alert: Record<string, unknown>) => boolean) | undefined;
}

/** The `$filter` clause and `$orderby` that select one page of the scan. */
export function pageSelection(source: AlertSource, cursorField: string, idField: string, query: PageQuery): { clause: string; orderby: string } {
	const clause = query.after
		? `(${cursorField} gt ${query.from} or (${cursorField} eq ${query.from} and ${idField} gt ${odataString(query.after.id)}))`
		: `${cursorField} ge ${query.from}`;
	return { clause, orderby: source.paging === 'keyset' ? `${cursorField} asc,${idField} asc` : `${cursorField} asc` };
}

/** `(field eq 'a' or field eq 'b')`, or nothing when the list is empty (empty means all). */
export function anyOf(field: string, values: string[]): string | undefined {
	if (!values.length) return undefined;
	const terms = values.map((v) => `${field} eq ${odataString(v)}`);
	return terms.length === 1 ? terms[0] : `(${terms.join(' or ')})`;
}

const MDE_TRACKED_FIELDS = [
	'status',
	'severity',
	'category',
	'classification',
	'determination',
	'assignedTo',
	'investigationState',
	'title',
	'threatName',
	'incidentId',
	'resolvedTime',
	'comments',
];

export const mdeAlertSource: AlertSource = {
	api: 'mde',
	path: '/api/alerts',
	maxPageSize: 10_000,
	paging: 'keyset',
	fields: (triggerOnUpdates) => ({
		id: 'id',
		cursor: triggerOnUpdates ? 'lastUpdateTime' : 'alertCreationTime',
		created: 'alertCreationTime',
		tracked: MDE_TRACKED_FIELDS,
	}),
	filterClauses: (f) =>
		[
			anyOf('status', f.statuses),
			anyOf('severity', f.severities),
			anyOf('category', f.categories),
			anyOf('detectionSource', f.detectionSources),
			f.assignedTo ? `assignedTo eq ${odataString(f.assignedTo)}` : undefined,
			f.additionalFilter ? `(${f.additionalFilter})` : undefined,
		].filter((c): c is string => Boolean(c)),
	extraQuery: ({ includeEvidence }): Record<string, string> => (includeEvidence ? { $expand: 'evidence' } : {}),
};

export const GRAPH_DETECTION_SOURCE: Record<string, string> = {
	AutomatedInvestigation: 'automatedInvestigation',
	CustomDetection: 'customDetection',
	CustomerTI: 'customTi',
	MTP: 'microsoft365Defender',
	OfficeATP: 'microsoftDefenderForOffice365',
	ThreatExperts: 'microsoftThreatExperts',
	WindowsDefenderAtp: 'microsoftDefenderForEndpoint',
	WindowsDefenderAv: 'antivirus',
	WindowsDefenderSmartScreen: 'smartScreen',
};

const GRAPH_TRACKED_FIELDS = [
	'status',
	'severity',
	'category',
	'classification',
	'determination',
	'assignedTo',
	'title',
	'threatDisplayName',
	'incidentId',
	'resolvedDateTime',
	'comments',
];

/**
 * Graph `alerts_v2`: `$top` is capped at 1,000, `$skip` at 500, `@odata.nextLink` is often missing and `id` is
 * not a documented filter field, so the scan pages by time and skips ties. Only the documented filter fields go
 * into `$filter`; category and detection source are checked on each alert read.
 */
export const graphAlertSource: AlertSource = {
	api: 'graph',
	path: '/v1.0/security/alerts_v2',
	maxPageSize: 1_000,
	paging: 'skip',
	headers: { Prefer: 'include-unknown-enum-members' },
	fields: (triggerOnUpdates) => ({
		id: 'id',
		cursor: triggerOnUpdates ? 'lastUpdateDateTime' : 'createdDateTime',
		created: 'createdDateTime',
		tracked: GRAPH_TRACKED_FIELDS,
	}),
	filterClauses: (f) =>
		[
			anyOf('serviceSource', f.serviceSources),
			anyOf('status', f.statuses.map((v) => graphSpelling(v, ALERT_STATUSES, GRAPH_ALERT_STATUSES))),
			anyOf('severity', f.severities.map((v) => graphSpelling(v, ALERT_SEVERITIES, GRAPH_ALERT_SEVERITIES))),
			f.assignedTo ? `assignedTo eq ${odataString(f.assignedTo)}` : undefined,
			f.additionalFilter ? `(${f.additionalFilter})` : undefined,
		].filter((c): c is string => Boolean(c)),
	extraQuery: (): Record<string, string> => ({}),
	clientFilter: (f) => {
		const categories = new Set(f.categories);
		const sources = new Set(f.detectionSources.map((v) => GRAPH_DETECTION_SOURCE[v] ?? v));
		if (!categories.size && !sources.size) return undefined;
		return (alert) =>
			(!categories.size || categories.has(String(alert.category))) &&
			(!sources.size || sources.has(String(alert.detectionSource)));
	},
};

export const ALERT_SOURCES: Record<string, AlertSource> = { mde: mdeAlertSource, graph: graphAlertSource };
