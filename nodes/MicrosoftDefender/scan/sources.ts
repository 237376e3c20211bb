import {
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	GRAPH_ALERT_SEVERITIES,
	GRAPH_ALERT_STATUSES,
	graphSpelling,
} from '../helpers/enums';
import type { ApiResource } from '../transport/auth';
import { anyOf } from '../helpers/odata';
import { odataString } from '../transport';
import type { CursorFields, PageQuery } from './cursor';

/**
 * What a scan filters on; every value is an enum member or escaped before it reaches `$filter`. Statuses and
 * severities are in the spelling of the source's options (MDE PascalCase for alerts, Graph camelCase for
 * incidents).
 */
export interface ScanFilters {
	statuses: string[];
	severities: string[];
	categories: string[];
	detectionSources: string[];
	assignedTo?: string;
	/** Graph only: the Defender products whose alerts are wanted. */
	serviceSources: string[];
	/** Advanced: an OData expression the user writes, and-ed with the rest in parentheses. */
	additionalFilter?: string;
	/** Incidents: classifications and determinations (Graph values). */
	classifications?: string[];
	determinations?: string[];
}

/**
 * One list API a scan can read (alerts of either API, incidents): where it lives and how its fields and filters
 * are named. The cursor (cursor.ts) and the scan loop (run.ts) are the same for all of them.
 */
export interface ScanSource {
	/** What it lists, singular, for messages ('alert', 'incident'). */
	noun: string;
	api: ApiResource;
	path: string;
	maxPageSize: number;
	/** Largest `$skip` the API accepts (only used inside one instant holding a full page). */
	maxSkip?: number;
	fields(triggerOnUpdates: boolean): CursorFields;
	filterClauses(filters: ScanFilters): string[];
	/** Query options besides `$filter`, `$orderby`, `$top` and `$skip`. */
	extraQuery(options: ExpandOptions): Record<string, string>;
	headers?: Record<string, string>;
	/** Filters the API cannot apply, checked on each alert read (the cursor still moves past the others). */
	clientFilter?(filters: ScanFilters): ((alert: Record<string, unknown>) => boolean) | undefined;
}

export interface ExpandOptions {
	/** MDE alerts: `$expand=evidence`. */
	includeEvidence?: boolean;
	/** Incidents: `$expand=alerts`. */
	includeAlerts?: boolean;
}

/**
 * The `$filter` clause and `$orderby` of one page of the scan: a time window on the cursor field with the
 * comparison operators both APIs document (`ge`, `gt`, `lt`, `eq` on the time fields), and at most one sort key.
 */
export function pageSelection(cursorField: string, query: PageQuery): { clause: string; orderby?: string } {
	let clause: string;
	if (query.instant) clause = `${cursorField} eq ${query.from}`;
	else {
		clause = `${cursorField} ${query.fromExclusive ? 'gt' : 'ge'} ${query.from}`;
		if (query.before !== undefined) clause += ` and ${cursorField} lt ${query.before}`;
	}
	return { clause, orderby: query.ordered ? `${cursorField} asc` : undefined };
}


/** The clauses every source takes alike: the assignee (escaped) and the user's own expression (in parentheses). */
function ownerAndExtra(f: ScanFilters): Array<string | undefined> {
	return [f.assignedTo ? `assignedTo eq ${odataString(f.assignedTo)}` : undefined, f.additionalFilter ? `(${f.additionalFilter})` : undefined];
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

/**
 * MDE `GET /api/alerts` (https://learn.microsoft.com/en-us/defender-endpoint/api/get-alerts): `$filter` on
 * alertCreationTime, lastUpdateTime, status, severity, category, detectionSource, assignedTo, id (…), `$top`
 * up to 10,000 ("Maximum page size is 10,000"), `$skip`, `$expand=evidence`. `$orderby` is not documented: the
 * trigger asks for it, checks every page and falls back to time windows (cursor.ts).
 */
export const mdeAlertSource: ScanSource = {
	noun: 'alert',
	api: 'mde',
	path: '/api/alerts',
	maxPageSize: 10_000,
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
			...ownerAndExtra(f),
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
 * Graph `alerts_v2` (https://learn.microsoft.com/en-us/graph/api/security-list-alerts_v2): documents `$count`,
 * `$filter` (assignedTo, classification, determination, createdDateTime, lastUpdateDateTime, severity,
 * serviceSource, status), `$skip` and `$top`, and "the most recent alerts are displayed at the top". Graph's
 * security constraints cap `$top` at 1,000 and `$skip` at 500, and `@odata.nextLink` is often missing, so the
 * scan pages by time windows itself. Category and detection source are checked on each alert read.
 */
export const graphAlertSource: ScanSource = {
	noun: 'alert',
	api: 'graph',
	path: '/v1.0/security/alerts_v2',
	maxPageSize: 1_000,
	maxSkip: 500,
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
			...ownerAndExtra(f),
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

export const ALERT_SOURCES: Record<string, ScanSource> = { mde: mdeAlertSource, graph: graphAlertSource };

const INCIDENT_TRACKED_FIELDS = [
	'status',
	'severity',
	'classification',
	'determination',
	'assignedTo',
	'displayName',
	'customTags',
	'comments',
	'resolvingComment',
	'redirectIncidentId',
	'alerts',
];

/**
 * Graph incidents (https://learn.microsoft.com/en-us/graph/api/security-list-incidents): documents `$count`,
 * `$filter` (assignedTo, classification, createdDateTime, determination, lastUpdateDateTime, severity, status),
 * `$skip`, `$top`, `$expand` (alerts), and "the most recent incidents are displayed at the top of the list".
 * `$top` above 50 is a 400 ("The limit of '50' for Top query has been exceeded", wazuh/wazuh#28070); `$skip` is
 * capped like the other security lists (500); `$orderby` is not documented (checked like for alerts).
 * Status `awaitingAction` is an evolvable member: it needs `Prefer: include-unknown-enum-members`
 * (resources/security-incident.md).
 */
export const graphIncidentSource: ScanSource = {
	noun: 'incident',
	api: 'graph',
	path: '/v1.0/security/incidents',
	maxPageSize: 50,
	maxSkip: 500,
	headers: { Prefer: 'include-unknown-enum-members' },
	fields: (triggerOnUpdates) => ({
		id: 'id',
		cursor: triggerOnUpdates ? 'lastUpdateDateTime' : 'createdDateTime',
		created: 'createdDateTime',
		tracked: INCIDENT_TRACKED_FIELDS,
		idLists: ['alerts'],
	}),
	filterClauses: (f) =>
		[
			anyOf('status', f.statuses),
			anyOf('severity', f.severities),
			anyOf('classification', f.classifications ?? []),
			anyOf('determination', f.determinations ?? []),
			...ownerAndExtra(f),
		].filter((c): c is string => Boolean(c)),
	extraQuery: ({ includeAlerts }): Record<string, string> => (includeAlerts ? { $expand: 'alerts' } : {}),
};
