/**
 * Microsoft Graph security incidents (`/v1.0/security/incidents`), derived from the alerts: the alerts
 * that share an `incidentId` form incident `String(incidentId)`, and it exists for the API as soon as one of
 * them is visible (so ingestion delay applies to incidents too). What an update sets (status, owner, tags,
 * comments, …) is stored per incident on top of what the alerts give.
 *
 * Sources (microsoft-graph-docs-contrib, api-reference/v1.0):
 * * resources/security-incident.md: properties, incidentStatus (evolvable: `awaitingAction` only with
 *   `Prefer: include-unknown-enum-members`, else `unknownFutureValue`), the `alerts` relationship ($expand).
 * * api/security-list-incidents.md: `$count, $filter, $skip, $top, $expand`; "The most recent incidents are
 *   displayed at the top of the list"; filterable assignedTo, classification, createdDateTime, determination,
 *   lastUpdateDateTime, severity, status. `$top` above 50 is a 400 in production (wazuh/wazuh#28070).
 * * api/security-incident-get.md, api/security-incident-update.md, api/security-incident-post-comments.md.
 * `$expand=alerts` can fail persistently with a 500 on a large tenant (elastic/integrations#18144): a fault
 * switch (FaultInjector.incidentExpandFailure) reproduces it.
 */
import type { AlertSnapshot, AlertStore } from './alerts';
import { BodyReader } from './body';
import { toTimestamp, type Clock } from './clock';
import { ApiError } from './errors';
import {
	GRAPH_BUCKET,
	GRAPH_CLASSIFICATIONS,
	GRAPH_DETERMINATIONS,
	GRAPH_SETTABLE_CLASSIFICATIONS,
	GRAPH_SETTABLE_DETERMINATIONS,
	GRAPH_SEVERITIES,
	graphSeverity,
	toGraphAlert,
} from './graph';
import { field, GRAPH_DIALECT, listItems, queryOption, type EntitySchema } from './odata';
import { incidentListProfileOptions } from './profiles';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import type { Alert } from './types';

export const GRAPH_INCIDENT_READ_ROLES = ['SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All'];
export const GRAPH_INCIDENT_WRITE_ROLES = ['SecurityIncident.ReadWrite.All'];

/** incidentStatus in member order; `awaitingAction` comes after the sentinel (evolvable member). */
export const INCIDENT_STATUSES = ['active', 'resolved', 'inProgress', 'redirected', 'unknownFutureValue', 'awaitingAction'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
/** What an update may set (not the sentinel). */
const SETTABLE_STATUSES = ['active', 'inProgress', 'resolved', 'redirected', 'awaitingAction'];
/** Members after `unknownFutureValue`, returned only to a client that opts in. */
const EVOLVABLE_STATUSES: readonly string[] = ['awaitingAction'];
/** security-list-incidents: `$top` above 50 is rejected (the message production answers, wazuh/wazuh#28070). */
const MAX_TOP = 50;

/** alertComment as Graph serializes it. */
export interface IncidentComment {
	comment: string;
	createdByDisplayName: string;
	createdDateTime: string;
}

/** microsoft.graph.security.incident (v1.0), without the `alerts` relationship. */
export interface Incident {
	'@odata.type': '#microsoft.graph.security.incident';
	id: string;
	tenantId: string;
	status: IncidentStatus;
	incidentWebUrl: string;
	redirectIncidentId: string | null;
	displayName: string;
	description: string | null;
	summary: string | null;
	createdDateTime: string;
	lastUpdateDateTime: string;
	assignedTo: string | null;
	classification: string;
	determination: string;
	severity: string;
	customTags: string[];
	systemTags: string[];
	comments: IncidentComment[];
	resolvingComment: string | null;
	lastModifiedBy: string | null;
}

/**
 * What an update sets. The API's PATCH takes the documented properties (assignedTo, classification,
 * determination, status, customTags, resolvingComment, summary, description); the handle also takes the
 * service-set systemTags and redirectIncidentId.
 */
export interface IncidentPatch {
	status?: IncidentStatus;
	assignedTo?: string | null;
	classification?: string | null;
	determination?: string | null;
	customTags?: string[];
	resolvingComment?: string | null;
	summary?: string | null;
	description?: string | null;
	systemTags?: string[];
	redirectIncidentId?: string | null;
}

export interface IncidentUpdateOptions {
	/** New lastUpdateDateTime (default: now); the incident shows the later of it and its newest alert's creation. */
	at?: Date | string;
	/** lastModifiedBy (the handle's default: the default client's display name). */
	by?: string;
}

interface StoredIncident {
	patch: IncidentPatch;
	comments: IncidentComment[];
	/** Time of the last update (PATCH, comment, handle update); '' = never updated. */
	updatedAt: string;
	lastModifiedBy: string | null;
}

/** An incident the API can see, with its visible alerts (creation order). */
export interface IncidentEntry {
	incident: Incident;
	alerts: readonly Alert[];
}

export interface IncidentSnapshot {
	items: readonly IncidentEntry[];
	byId: ReadonlyMap<string, IncidentEntry>;
	sortCache: Map<string, readonly IncidentEntry[]>;
}

const SEVERITY_RANK = new Map(GRAPH_SEVERITIES.map((s, i) => [s, i]));
const byCreation = (a: Alert, b: Alert): number =>
	a.alertCreationTime < b.alertCreationTime ? -1 : a.alertCreationTime > b.alertCreationTime ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
/** `CommandAndControl` → `Command and control`, as the portal names incidents. */
const humanize = (category: string): string => {
	const words = category.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
	return words.charAt(0).toUpperCase() + words.slice(1);
};

/**
 * The portal's naming: a one-alert incident is named after its alert, a larger one "Multi-stage incident
 * involving <categories> on <endpoints>" (the update example in security-incident-update.md shows one).
 */
function displayNameOf(alerts: readonly Alert[]): string {
	const machines = new Set(alerts.map((a) => a.machineId).filter((m) => m !== null)).size;
	const where = machines === 0 ? '' : machines === 1 ? ' on one endpoint' : ' on multiple endpoints';
	if (alerts.length === 1) return `${alerts[0].title}${where}`;
	const categories = Array.from(new Set(alerts.map((a) => humanize(a.category))));
	const sources = new Set(alerts.map((a) => a.detectionSource)).size;
	return `Multi-stage incident involving ${categories.join(' & ')}${where}${sources > 1 ? ' reported by multiple sources' : ''}`;
}

export class IncidentStore {
	private readonly stored = new Map<string, StoredIncident>();
	private version = 0;
	private cache: { alerts: AlertSnapshot; version: number; snapshot: IncidentSnapshot } | null = null;

	constructor(
		private readonly clock: Clock,
		private readonly alerts: AlertStore,
	) {}

	clear(): void {
		this.stored.clear();
		this.cache = null;
		this.version++;
	}

	/** The incidents the API can see now, in no particular order (rebuilt only when alerts or updates change). */
	visible(): IncidentSnapshot {
		const alertSnapshot = this.alerts.visible();
		const c = this.cache;
		if (c && c.alerts === alertSnapshot && c.version === this.version) return c.snapshot;
		const groups = new Map<string, Alert[]>();
		for (const alert of alertSnapshot.items) {
			if (alert.incidentId === null || alert.incidentId === undefined) continue;
			const id = String(alert.incidentId);
			const group = groups.get(id);
			if (group) group.push(alert);
			else groups.set(id, [alert]);
		}
		const items: IncidentEntry[] = [];
		const byId = new Map<string, IncidentEntry>();
		for (const [id, group] of groups) {
			const entry = this.build(id, group);
			items.push(entry);
			byId.set(id, entry);
		}
		const snapshot: IncidentSnapshot = { items, byId, sortCache: new Map() };
		this.cache = { alerts: alertSnapshot, version: this.version, snapshot };
		return snapshot;
	}

	/** Whether any alert (visible yet or not) belongs to the incident. */
	exists(id: string): boolean {
		return this.alerts.all().some((a) => a.incidentId !== null && String(a.incidentId) === id);
	}

	/** Applies an update; lastUpdateDateTime moves to `at` (default now). Throws for an incident without alerts. */
	update(id: string, patch: IncidentPatch, opts: IncidentUpdateOptions = {}): void {
		const record = this.record(id);
		record.patch = { ...record.patch, ...patch };
		if (patch.customTags) record.patch.customTags = patch.customTags.slice();
		if (patch.systemTags) record.patch.systemTags = patch.systemTags.slice();
		record.updatedAt = opts.at ? toTimestamp(opts.at) : this.clock.stamp();
		if (opts.by !== undefined) record.lastModifiedBy = opts.by;
		this.version++;
	}

	/** Appends a comment; lastUpdateDateTime moves to `at` (default now). Returns every comment. */
	comment(id: string, comment: string, by: string, at?: Date | string): IncidentComment[] {
		const record = this.record(id);
		const createdDateTime = at ? toTimestamp(at) : this.clock.stamp();
		record.comments = [...record.comments, { comment, createdByDisplayName: by, createdDateTime }];
		record.updatedAt = createdDateTime;
		this.version++;
		return record.comments.map((c) => ({ ...c }));
	}

	private record(id: string): StoredIncident {
		let record = this.stored.get(id);
		if (record) return record;
		if (!this.exists(id)) throw new Error(`Unknown incident ${id}: no alert has incidentId ${id}`);
		record = { patch: {}, comments: [], updatedAt: '', lastModifiedBy: null };
		this.stored.set(id, record);
		return record;
	}

	/** The incident as its (visible) alerts and its stored updates make it. */
	private build(id: string, group: Alert[]): IncidentEntry {
		const alerts = group.sort(byCreation);
		const first = alerts[0];
		const stored = this.stored.get(id);
		const patch = stored?.patch ?? {};
		// An alert joining moves lastUpdateDateTime to its creation time when later; an update moves it to its own time.
		let lastUpdateDateTime = alerts[alerts.length - 1].alertCreationTime;
		if (stored && stored.updatedAt > lastUpdateDateTime) lastUpdateDateTime = stored.updatedAt;
		let severity = 'unknown';
		for (const a of alerts) {
			const s = graphSeverity(a);
			if ((SEVERITY_RANK.get(s) ?? 0) > (SEVERITY_RANK.get(severity) ?? 0)) severity = s;
		}
		const incident: Incident = {
			'@odata.type': '#microsoft.graph.security.incident',
			id,
			tenantId: first.aadTenantId,
			status: patch.status ?? 'active',
			incidentWebUrl: `https://security.microsoft.com/incidents/${id}?tid=${first.aadTenantId}`,
			redirectIncidentId: patch.redirectIncidentId ?? null,
			displayName: displayNameOf(alerts),
			description: patch.description ?? null,
			summary: patch.summary ?? null,
			createdDateTime: first.alertCreationTime,
			lastUpdateDateTime,
			assignedTo: patch.assignedTo ?? null,
			classification: patch.classification ?? 'unknown',
			determination: patch.determination ?? 'unknown',
			severity,
			customTags: patch.customTags?.slice() ?? [],
			systemTags: patch.systemTags?.slice() ?? [],
			comments: stored?.comments.map((c) => ({ ...c })) ?? [],
			resolvingComment: patch.resolvingComment ?? null,
			lastModifiedBy: stored?.lastModifiedBy ?? null,
		};
		return { incident, alerts };
	}
}

// ---------------------------------------------------------------------------------------------
// Body validation (shared by PATCH and the handle)

const PATCH_KEYS = ['assignedTo', 'classification', 'determination', 'status', 'customTags', 'resolvingComment', 'summary', 'description'];

function tagList(b: BodyReader, key: string): string[] | undefined {
	if (!b.has(key) || b.obj[key] === undefined) return undefined;
	const value = b.obj[key];
	if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw b.error(`The '${key}' property must be an array of strings.`);
	return value as string[];
}

/**
 * Reads an incident update: only the documented keys (case-sensitive; `@odata.type` tolerated), enums as exact
 * members. `extra` lets the handle also set the service-set properties. A bad body is a 400 naming the property.
 */
export function readIncidentPatch(body: unknown, extra = false): IncidentPatch {
	const keys = ['@odata.type', ...PATCH_KEYS, ...(extra ? ['systemTags', 'redirectIncidentId'] : [])];
	const b = new BodyReader(body, 'BadRequest').only(keys);
	const patch: IncidentPatch = {};
	const status = b.enumValue('status', SETTABLE_STATUSES);
	if (status) patch.status = status as IncidentStatus;
	const strings: Array<'assignedTo' | 'resolvingComment' | 'summary' | 'description' | 'redirectIncidentId'> = [
		'assignedTo',
		'resolvingComment',
		'summary',
		'description',
	];
	if (extra) strings.push('redirectIncidentId');
	for (const key of strings) {
		const value = b.string(key, { nullable: true });
		if (value !== undefined) patch[key] = value;
	}
	// null clears a classification or determination, as on alerts_v2.
	const classification = b.enumValue('classification', GRAPH_SETTABLE_CLASSIFICATIONS, { nullable: true });
	if (classification !== undefined) patch.classification = classification ?? 'unknown';
	const determination = b.enumValue('determination', GRAPH_SETTABLE_DETERMINATIONS, { nullable: true });
	if (determination !== undefined) patch.determination = determination ?? 'unknown';
	const customTags = tagList(b, 'customTags');
	if (customTags) patch.customTags = customTags;
	const systemTags = extra ? tagList(b, 'systemTags') : undefined;
	if (systemTags) patch.systemTags = systemTags;
	return patch;
}

// ---------------------------------------------------------------------------------------------
// OData schema and serialization

/**
 * Evolvable enum members need `Prefer: include-unknown-enum-members` (resources/security-incident.md, Graph
 * best practices "Handling future members in evolvable enumerations"); the header may carry other preferences.
 */
export function includesUnknownEnumMembers(prefer: string | string[] | undefined): boolean {
	const values = Array.isArray(prefer) ? prefer : prefer ? [prefer] : [];
	return values.some((v) => v.split(',').some((p) => p.trim().toLowerCase() === 'include-unknown-enum-members'));
}

const shownStatus = (status: string, includeUnknown: boolean): string =>
	!includeUnknown && EVOLVABLE_STATUSES.includes(status) ? 'unknownFutureValue' : status;

/**
 * The documented filterable properties (others → 400 "Could not find a property"), plus `id` for the tie-break
 * (numeric, so 999 sorts before 1000), which every profile refuses in $filter. `status` compares the value the
 * client is shown: without the Prefer header an awaitingAction incident is `unknownFutureValue` to it.
 */
function incidentSchema(includeUnknown: boolean): EntitySchema<IncidentEntry> {
	return {
		typeName: 'microsoft.graph.security.incident',
		keyField: 'id',
		fields: {
			id: field.number((e) => Number(e.incident.id)),
			assignedTo: field.string((e) => e.incident.assignedTo),
			classification: field.enum(GRAPH_CLASSIFICATIONS, (e) => e.incident.classification),
			createdDateTime: field.datetime((e) => e.incident.createdDateTime),
			determination: field.enum(GRAPH_DETERMINATIONS, (e) => e.incident.determination),
			lastUpdateDateTime: field.datetime((e) => e.incident.lastUpdateDateTime),
			severity: field.enum(GRAPH_SEVERITIES, (e) => e.incident.severity),
			status: field.enum(INCIDENT_STATUSES, (e) => shownStatus(e.incident.status, includeUnknown)),
		},
	};
}
const SCHEMAS = { shown: incidentSchema(false), all: incidentSchema(true) };

/** `$expand=alerts` is the only expansion (the `alerts` relationship); anything else is a 400. */
function wantsAlerts(query: Record<string, string>): boolean {
	const expand = queryOption(query, 'expand');
	if (expand === undefined || expand.trim() === '') return false;
	for (const part of expand.split(',').map((p) => p.trim())) {
		if (part.toLowerCase() !== 'alerts') {
			throw new ApiError(400, 'BadRequest', `Could not find a property named '${part}' on type 'microsoft.graph.security.incident'.`);
		}
	}
	return true;
}

function toJson(state: EmulatorState, entry: IncidentEntry, expand: boolean, includeUnknown: boolean): Record<string, unknown> {
	const json: Record<string, unknown> = { ...entry.incident, status: shownStatus(entry.incident.status, includeUnknown) };
	// The alerts exactly as alerts_v2 serializes them (evidence included).
	if (expand) json.alerts = entry.alerts.map((a) => toGraphAlert(state, a));
	return json;
}

// ---------------------------------------------------------------------------------------------
// Routes

export function registerIncidentRoutes(router: Router, state: EmulatorState): void {
	const base = '/v1.0/security/incidents';
	const graph = { family: 'graph' as const, limits: LIMITS.graph, bucket: GRAPH_BUCKET };
	const context = (suffix: string) => `${state.origin()}/v1.0/$metadata#${suffix}`;
	// The key is a String in Graph's model, so any segment routes; only a known (numeric) id is ever found, and
	// a non-numeric one is simply not found: 404, not 400.
	const find = (id: string): IncidentEntry => {
		const entry = /^\d+$/.test(id) ? state.incidents.visible().byId.get(id) : undefined;
		if (!entry) throw new ApiError(404, 'NotFound', `Incident with id '${id}' was not found.`);
		return entry;
	};
	/** elastic/integrations#18144: `$expand=alerts` answered 500 on every call until the switch is cleared. */
	const expandFails = (expand: boolean): void => {
		if (!expand || !state.faults.incidentExpandFailure) return;
		state.faults.injected++;
		throw new ApiError(500, 'InternalServerError', 'An unexpected error occurred while processing the request.');
	};

	router.add({
		...graph,
		method: 'GET',
		pattern: base,
		roles: GRAPH_INCIDENT_READ_ROLES,
		handler: ({ query, headers }) => {
			const expand = wantsAlerts(query);
			const includeUnknown = includesUnknownEnumMembers(headers.prefer);
			const topRaw = queryOption(query, 'top');
			if (topRaw !== undefined && /^\d+$/.test(topRaw.trim()) && Number(topRaw.trim()) > MAX_TOP) {
				throw new ApiError(
					400,
					'BadRequest',
					`The query specified in the URI is not valid. The limit of '${MAX_TOP}' for Top query has been exceeded. The value from the incoming request is '${topRaw.trim()}'.`,
				);
			}
			const snapshot = state.incidents.visible();
			const { page, count } = listItems(snapshot.items, query, {
				schema: includeUnknown ? SCHEMAS.all : SCHEMAS.shown,
				dialect: GRAPH_DIALECT,
				maxTop: MAX_TOP,
				defaultTop: MAX_TOP,
				maxSkip: 500,
				sortCache: snapshot.sortCache,
				// $orderby, id comparisons and the order without $orderby depend on the API profile.
				...incidentListProfileOptions<IncidentEntry>(state.apiProfile),
			});
			expandFails(expand);
			const json: Record<string, unknown> = { '@odata.context': context(expand ? 'security/incidents(alerts())' : 'security/incidents') };
			if (count !== undefined) json['@odata.count'] = count;
			json.value = page.map((e) => toJson(state, e, expand, includeUnknown));
			return { status: 200, json };
		},
	});

	router.add({
		...graph,
		method: 'GET',
		pattern: `${base}/:id`,
		roles: GRAPH_INCIDENT_READ_ROLES,
		handler: ({ params, query, headers }) => {
			const expand = wantsAlerts(query);
			const entry = find(params.id);
			expandFails(expand);
			return {
				status: 200,
				json: {
					'@odata.context': context(expand ? 'security/incidents(alerts())/$entity' : 'security/incidents/$entity'),
					...toJson(state, entry, expand, includesUnknownEnumMembers(headers.prefer)),
				},
			};
		},
	});

	router.add({
		...graph,
		method: 'PATCH',
		pattern: `${base}/:id`,
		roles: GRAPH_INCIDENT_WRITE_ROLES,
		handler: ({ params, body, auth, headers }) => {
			const current = find(params.id).incident;
			const patch = readIncidentPatch(body);
			// Like an alert update: a PATCH that changes nothing (a retry of one that was applied) leaves the incident
			// as it is, so a poller keyed on lastUpdateDateTime does not see it again.
			const changed = (Object.keys(patch) as Array<keyof IncidentPatch>).some(
				(k) => JSON.stringify(patch[k]) !== JSON.stringify(current[k]),
			);
			if (changed) state.incidents.update(params.id, patch, { by: auth?.appName ?? 'unknown' });
			return {
				status: 200,
				json: {
					'@odata.context': context('security/incidents/$entity'),
					...toJson(state, find(params.id), false, includesUnknownEnumMembers(headers.prefer)),
				},
			};
		},
	});

	router.add({
		...graph,
		method: 'POST',
		pattern: `${base}/:id/comments`,
		roles: GRAPH_INCIDENT_WRITE_ROLES,
		handler: ({ params, body, auth }) => {
			find(params.id);
			const comment = new BodyReader(body, 'BadRequest').only(['@odata.type', 'comment']).requiredString('comment');
			const comments = state.incidents.comment(params.id, comment, auth?.appName ?? 'unknown');
			return {
				status: 200,
				json: { '@odata.context': context('Collection(microsoft.graph.security.alertComment)'), value: comments },
			};
		},
	});
}
