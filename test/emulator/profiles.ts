/**
 * API profiles: how the two alert list endpoints (MDE `GET /api/alerts`, Graph
 * `GET /v1.0/security/alerts_v2`) treat what Microsoft does not document. Every other route behaves the
 * same under every profile.
 *
 * * `ordered` (default): the emulator's historical behaviour, a full OData engine: `$orderby` honoured
 *   (any number of keys), any operator on any filterable property, creation order without `$orderby`.
 * * `ignoresOrderby`: `$orderby` is still syntax-checked, then ignored: newest first by creation time,
 *   ties by id descending. For testing a client that must not depend on an undocumented sort.
 * * `documentedOnly`: only what the Microsoft Learn pages below document is accepted; the rest is a 400
 *   in the API's error dialect, naming what was rejected.
 *
 * Sources:
 * * MDE "List alerts API": https://learn.microsoft.com/en-us/defender-endpoint/api/get-alerts
 *   "OData supported operators: $filter on alertCreationTime, lastUpdateTime, incidentId, InvestigationId,
 *   id, asssignedTo, detectionSource, lastEventTime, status, severity and category properties; $top with max
 *   value of 10,000; $skip; $expand of evidence". No `$orderby`.
 * * MDE "OData queries with Microsoft Defender for Endpoint":
 *   https://learn.microsoft.com/en-us/defender-endpoint/api/exposed-apis-odata-samples
 *   "Get 10 latest Alerts with related Evidence: /api/alerts?$top=10&$expand=evidence": without $orderby the
 *   newest alerts come first. Its alert examples filter on time (`lastUpdateTime ge 2019-11-22T00:00:00Z`) and
 *   enum values; its list of alert properties that support $filter does not even include `id`.
 *   Neither page documents `$orderby`. Neither says which operators apply to `id`: the emulator allows only
 *   `eq` (an id is an opaque string, not an ordered key). Ties in the newest-first order (same creation time)
 *   are the emulator's choice: id descending.
 * * Graph "List alerts_v2": https://learn.microsoft.com/en-us/graph/api/security-list-alerts_v2
 *   "supports the following OData query parameters: $count, $filter, $skip, $top"; "The most recent alerts
 *   are displayed at the top of the list"; `$filter` on assignedTo, classification, determination,
 *   createdDateTime, lastUpdateDateTime, severity, serviceSource and status (the emulator keeps accepting
 *   its wider property set, but not `id` other than with `eq`, nor `incidentId`, which is not in that list).
 *
 * Graph incidents (`GET /v1.0/security/incidents`) follow the profile too:
 * * "List incidents": https://learn.microsoft.com/en-us/graph/api/security-list-incidents
 *   "supports the following OData query parameters: $count, $filter, $skip, $top, $expand"; "The most recent
 *   incidents are displayed at the top of the list"; `$filter` on assignedTo, classification, createdDateTime,
 *   determination, lastUpdateDateTime, severity and status. No `$orderby`, and `id` is not filterable.
 *   `ordered` honours one `$orderby` key on createdDateTime or lastUpdateDateTime (what a time-keyset poller
 *   needs, nothing more), `ignoresOrderby` checks and ignores it, `documentedOnly` rejects it. Without
 *   `$orderby` every profile lists newest first (createdDateTime desc, ties by id desc: the emulator's choice).
 */
import type { ComparisonCheck, FieldUse, ListOptions } from './odata';
import type { Alert } from './types';

export const API_PROFILES = ['ordered', 'ignoresOrderby', 'documentedOnly'] as const;
export type ApiProfile = (typeof API_PROFILES)[number];
export const DEFAULT_API_PROFILE: ApiProfile = 'ordered';

/** Validates a profile name (from an option, the admin API, the CLI or the environment). */
export function toApiProfile(value: unknown): ApiProfile {
	if (typeof value === 'string' && (API_PROFILES as readonly string[]).includes(value)) return value as ApiProfile;
	throw new Error(`Unknown API profile '${String(value)}'; valid profiles: ${API_PROFILES.join(', ')}.`);
}

/** The profile-dependent part of listItems' options for a list. */
export type ListProfileOptions<T> = Pick<ListOptions<T>, 'orderBy' | 'checkOrderBy' | 'checkComparison' | 'defaultOrderBy'>;
export type AlertListProfileOptions = ListProfileOptions<Alert>;

const OPERATORS: readonly string[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'in'];
const describeUse = (use: FieldUse): string => (OPERATORS.includes(use) ? `Operator '${use}'` : `Function '${use}'`);

/** `id` is an opaque string: get-alerts documents filtering on it; the emulator reads that as equality only. */
const idEqOnly =
	(rejected: (use: FieldUse) => boolean): ComparisonCheck =>
	(field, use) =>
		field === 'id' && rejected(use) ? `${describeUse(use)} is not supported for property 'id'; only 'eq'.` : undefined;

/** MDE: ordering comparisons and `ne` on `id` are rejected (`in (…)` is a list of equalities and passes). */
const MDE_ID_CHECK = idEqOnly((use) => ['ne', 'gt', 'ge', 'lt', 'le'].includes(use));
/** Graph: any use of `id` other than `eq` is rejected (stricter than MDE: also `in (…)` and functions). */
const GRAPH_ID_CHECK = idEqOnly((use) => use !== 'eq');
/** The OData library's message for a property its model marks as not filterable. */
const notFilterable = (field: string): string => `The property '${field}' cannot be used in the $filter query option.`;
/**
 * alerts_v2 under documentedOnly: `id` as above, and `incidentId` (how a client reads an incident's alerts
 * without `$expand`) is not in security-list-alerts_v2's filterable list.
 */
const GRAPH_DOCUMENTED_CHECK: ComparisonCheck = (field, use) =>
	GRAPH_ID_CHECK(field, use) ?? (field === 'incidentId' ? notFilterable(field) : undefined);

const MDE_NEWEST_FIRST = 'alertCreationTime desc,id desc';
const GRAPH_NEWEST_FIRST = 'createdDateTime desc,id desc';

const MDE: Record<ApiProfile, AlertListProfileOptions> = {
	ordered: {},
	ignoresOrderby: { orderBy: 'ignore', defaultOrderBy: MDE_NEWEST_FIRST },
	documentedOnly: {
		// get-alerts lists $filter, $top, $skip and $expand; $orderby is not among them.
		checkOrderBy: () => "The query option '$orderby' is not supported on alerts.",
		checkComparison: MDE_ID_CHECK,
		// exposed-apis-odata-samples: "$top=10" gives the "10 latest Alerts".
		defaultOrderBy: MDE_NEWEST_FIRST,
	},
};

const GRAPH: Record<ApiProfile, AlertListProfileOptions> = {
	ordered: {},
	ignoresOrderby: { orderBy: 'ignore', defaultOrderBy: GRAPH_NEWEST_FIRST },
	documentedOnly: {
		// security-list-alerts_v2 says the operation lets you "filter and sort" but documents no $orderby
		// syntax: one sort key is accepted, a compound one is not.
		checkOrderBy: (parts) =>
			parts.length > 1
				? `The query option '$orderby' supports only one property on alerts_v2; found ${parts.length}: '${parts.join(', ')}'.`
				: undefined,
		checkComparison: GRAPH_DOCUMENTED_CHECK,
		// security-list-alerts_v2: "The most recent alerts are displayed at the top of the list."
		defaultOrderBy: GRAPH_NEWEST_FIRST,
	},
};

export function alertListProfileOptions(profile: ApiProfile, api: 'mde' | 'graph'): AlertListProfileOptions {
	return (api === 'mde' ? MDE : GRAPH)[profile];
}

// ---------------------------------------------------------------------------------------------
// Graph incidents

/** security-list-incidents: "The most recent incidents are displayed at the top of the list." */
const INCIDENTS_NEWEST_FIRST = 'createdDateTime desc,id desc';
const INCIDENT_ORDER_KEYS = ['createdDateTime', 'lastUpdateDateTime'];
/** `id` is not among security-list-incidents' filterable properties, in any profile. */
const INCIDENT_ID_CHECK: ComparisonCheck = (field) => (field === 'id' ? notFilterable(field) : undefined);

/** `ordered`: one key, one of the two timestamps (a malformed part is left to the $orderby parser). */
const oneTimestampKey = (parts: readonly string[]): string | undefined => {
	if (parts.length > 1) {
		return `The query option '$orderby' supports only one property on incidents; found ${parts.length}: '${parts.join(', ')}'.`;
	}
	const name = /^([A-Za-z_]\w*)(?:\s+(?:asc|desc))?$/i.exec(parts[0] ?? '')?.[1];
	if (name !== undefined && !INCIDENT_ORDER_KEYS.some((k) => k.toLowerCase() === name.toLowerCase())) {
		return `The query option '$orderby' on incidents supports only ${INCIDENT_ORDER_KEYS.join(' or ')}; found '${name}'.`;
	}
	return undefined;
};

const INCIDENTS: Record<ApiProfile, ListProfileOptions<unknown>> = {
	ordered: { checkOrderBy: oneTimestampKey, checkComparison: INCIDENT_ID_CHECK, defaultOrderBy: INCIDENTS_NEWEST_FIRST },
	ignoresOrderby: { orderBy: 'ignore', checkComparison: INCIDENT_ID_CHECK, defaultOrderBy: INCIDENTS_NEWEST_FIRST },
	documentedOnly: {
		// security-list-incidents documents $count, $filter, $skip, $top and $expand; not $orderby.
		checkOrderBy: () => "The query option '$orderby' is not supported on incidents.",
		checkComparison: INCIDENT_ID_CHECK,
		defaultOrderBy: INCIDENTS_NEWEST_FIRST,
	},
};

export function incidentListProfileOptions<T>(profile: ApiProfile): ListProfileOptions<T> {
	return INCIDENTS[profile] as ListProfileOptions<T>;
}
