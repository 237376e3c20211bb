/**
 * Alert store with per-alert version history (for ingestion delay) and the MDE alert routes
 * (reference §1, §2).
 *
 * Every write appends a version with a `visibleAt` time; the API serves, per alert, the newest
 * version whose `visibleAt` has passed. Reads go through a cached snapshot of the visible versions
 * (rebuilt only when data changes or a pending version becomes visible), and sorted copies of it
 * are cached per $orderby, so paging through 100,000 alerts does not re-sort on every request.
 */
import { BodyReader } from './body';
import { Clock, timestampToMs, toTimestamp } from './clock';
import { completeAlert, DOMAIN, generateAlert, generateEvidence, hash32, Rng, USERS } from './data';
import { urlHost } from './entities';
import { ApiError, notFound } from './errors';
import type { MachineStore } from './machines';
import { MACHINE_READ_ROLES } from './machines';
import { field, listItems, MDE_DIALECT, queryOption, type EntitySchema } from './odata';
import { alertListProfileOptions } from './profiles';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import {
	ALERT_CLASSIFICATIONS,
	ALERT_DETERMINATIONS,
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	type Alert,
	type AlertWithEvidence,
	type Evidence,
} from './types';

interface AlertVersion {
	alert: Alert;
	/** Normalized timestamp; '' = visible from the start. */
	visibleAt: string;
}

interface AlertRecord {
	versions: AlertVersion[];
	/** Explicit evidence, or 'generated' = derived deterministically from the alert. */
	evidence: Evidence[] | 'generated';
}

export interface AlertSnapshot {
	items: readonly Alert[];
	sortCache: Map<string, readonly Alert[]>;
}

export interface SeedOptions {
	/** Earliest alertCreationTime (default: now − 7 days). */
	from?: Date | string;
	/** Latest alertCreationTime and lastUpdateTime (default: now). */
	to?: Date | string;
	/** Generate evidence (default true); false = `evidence: []`. */
	evidence?: boolean;
	/** Random statuses with matching lastUpdateTime/assignedTo/classification (default true); false = all New. */
	randomLifecycle?: boolean;
	/** Fields forced on every seeded alert. */
	overrides?: Partial<Alert>;
	/** Machines to create first when none exist (default 25). */
	machines?: number;
}

export interface VisibilityOptions {
	/** The API returns this version only once the emulator clock reaches this time. */
	visibleAt?: Date | string;
}

export interface UpdateOptions extends VisibilityOptions {
	/** New lastUpdateTime (default: now). */
	at?: Date | string;
}

export type AlertInput = Partial<Alert> & { evidence?: Evidence[] };

export class AlertStore {
	private readonly records = new Map<string, AlertRecord>();
	private dataVersion = 0;
	private cache: { dataVersion: number; builtAt: string; validUntil: string | null; snapshot: AlertSnapshot } | null = null;
	/** Latest visibleAt ever set: once the clock passes it, every newest version is visible (fast path). */
	private latestVisibleAt = '';
	private nextIncidentId: number;

	constructor(
		private readonly clock: Clock,
		private readonly rng: Rng,
		private readonly machines: MachineStore,
		private readonly tenantId: string,
	) {
		this.nextIncidentId = 1000 + rng.int(0, 8000);
	}

	clear(): void {
		this.records.clear();
		this.cache = null;
		this.latestVisibleAt = '';
		this.dataVersion++;
		this.nextIncidentId = 1000 + this.rng.int(0, 8000);
	}

	// ------------------------------------------------------------------ writes

	/** Seeds `count` realistic alerts spread over [from, to], in creation order. */
	seed(count: number, opts: SeedOptions = {}): Alert[] {
		if (this.machines.all().length === 0) this.machines.seed(opts.machines ?? 25);
		const now = this.clock.nowMs();
		const fromMs = opts.from ? timestampToMs(toTimestamp(opts.from)) : now - 7 * 86400000;
		const toMs = opts.to ? timestampToMs(toTimestamp(opts.to)) : now;
		const latestUpdate = toTimestamp(toMs);
		const created = Array.from({ length: count }, () => this.rng.timestamp(fromMs, toMs)).sort();
		const machines = this.machines.all();
		const out: Alert[] = [];
		for (const createdAt of created) {
			// Roughly a third of alerts join the previous incident (multi-alert incidents).
			const incidentId = out.length > 0 && this.rng.chance(0.35) ? this.nextIncidentId - 1 : this.nextIncidentId++;
			let alert = generateAlert({
				rng: this.rng,
				tenantId: this.tenantId,
				machines,
				createdAt,
				latestUpdate,
				incidentId,
				randomLifecycle: opts.randomLifecycle ?? true,
			});
			if (opts.overrides) alert = { ...alert, ...opts.overrides };
			alert = this.uniqueId(alert);
			this.records.set(alert.id, { versions: [{ alert, visibleAt: '' }], evidence: opts.evidence === false ? [] : 'generated' });
			out.push(alert);
		}
		this.dataVersion++;
		return out;
	}

	/** Creates one alert; unspecified fields get realistic defaults and timestamps default to now. */
	create(input: AlertInput = {}, opts: VisibilityOptions = {}): Alert {
		const { evidence, ...partial } = input;
		if (partial.id && this.records.has(partial.id)) throw new Error(`Alert ${partial.id} already exists`);
		for (const key of ['alertCreationTime', 'lastUpdateTime', 'firstEventTime', 'lastEventTime', 'resolvedTime'] as const) {
			const value = partial[key];
			if (value) partial[key] = toTimestamp(value);
		}
		const createdAt = partial.alertCreationTime ?? this.clock.stamp();
		if (this.machines.all().length === 0) this.machines.seed(25);
		let alert = completeAlert(partial, {
			rng: this.rng,
			tenantId: this.tenantId,
			machines: this.machines.all(),
			createdAt,
			latestUpdate: partial.lastUpdateTime ?? createdAt,
			incidentId: partial.incidentId ?? this.nextIncidentId++,
			randomLifecycle: false,
		});
		if (!partial.id) alert = this.uniqueId(alert);
		// A caller-chosen incident (`incidentId: null` = none) is never handed out again to a later alert.
		if (alert.incidentId !== null && alert.incidentId >= this.nextIncidentId) this.nextIncidentId = alert.incidentId + 1;
		this.records.set(alert.id, { versions: [{ alert, visibleAt: this.visibility(opts) }], evidence: evidence ?? 'generated' });
		this.dataVersion++;
		return alert;
	}

	/**
	 * Appends a new version of an alert (based on its newest version, visible or not).
	 * lastUpdateTime becomes `at` (default now); resolvedTime follows status changes.
	 */
	update(id: string, patch: AlertInput, opts: UpdateOptions = {}): Alert {
		const record = this.records.get(id);
		if (!record) throw new Error(`Unknown alert ${id}`);
		const { evidence, ...fields } = patch;
		const base = record.versions[record.versions.length - 1].alert;
		const lastUpdateTime = opts.at ? toTimestamp(opts.at) : fields.lastUpdateTime ? toTimestamp(fields.lastUpdateTime) : this.clock.stamp();
		const next: Alert = { ...base, ...fields, id, lastUpdateTime };
		if (fields.status && fields.resolvedTime === undefined) {
			if (fields.status === 'Resolved' && base.status !== 'Resolved') next.resolvedTime = lastUpdateTime;
			if (fields.status !== 'Resolved') next.resolvedTime = null;
		}
		record.versions.push({ alert: next, visibleAt: this.visibility(opts) });
		if (evidence) record.evidence = evidence;
		this.dataVersion++;
		return next;
	}

	private visibility(opts: VisibilityOptions): string {
		if (!opts.visibleAt) return '';
		const visibleAt = toTimestamp(opts.visibleAt);
		if (visibleAt > this.latestVisibleAt) this.latestVisibleAt = visibleAt;
		return visibleAt;
	}

	private uniqueId(alert: Alert): Alert {
		let id = alert.id;
		while (this.records.has(id)) id = `${id.split('_')[0]}_${this.rng.int(-2147483648, 2147483647)}`;
		return id === alert.id ? alert : { ...alert, id };
	}

	// ------------------------------------------------------------------ reads (handle API)

	/** Newest version (visible or not), with evidence. */
	get(id: string): AlertWithEvidence | undefined {
		const record = this.records.get(id);
		if (!record) return undefined;
		const alert = record.versions[record.versions.length - 1].alert;
		return { ...alert, evidence: this.evidenceOf(alert) };
	}

	/** Newest version of every alert (visible or not), without evidence. */
	all(): Alert[] {
		return Array.from(this.records.values(), (r) => r.versions[r.versions.length - 1].alert);
	}

	/** Every version of an alert with its visibility time (for debugging ingestion-delay tests). */
	history(id: string): Array<{ alert: Alert; visibleAt: string | null }> {
		return (this.records.get(id)?.versions ?? []).map((v) => ({ alert: v.alert, visibleAt: v.visibleAt || null }));
	}

	evidenceOf(alert: Alert): Evidence[] {
		const record = this.records.get(alert.id);
		if (!record) return [];
		return record.evidence === 'generated' ? generateEvidence(alert) : record.evidence;
	}

	// ------------------------------------------------------------------ reads (API view)

	/** The alerts the API can see now (newest visible version of each). */
	visible(): AlertSnapshot {
		const now = this.clock.nowTimestamp();
		const c = this.cache;
		if (c && c.dataVersion === this.dataVersion && now >= c.builtAt && (c.validUntil === null || now < c.validUntil)) {
			return c.snapshot;
		}
		const items: Alert[] = [];
		let validUntil: string | null = null;
		if (this.latestVisibleAt <= now) {
			for (const record of this.records.values()) items.push(record.versions[record.versions.length - 1].alert);
		} else {
			for (const record of this.records.values()) {
				const v = this.visibleVersion(record, now);
				if (v) items.push(v);
				for (const version of record.versions) {
					if (version.visibleAt > now && (validUntil === null || version.visibleAt < validUntil)) validUntil = version.visibleAt;
				}
			}
		}
		const snapshot: AlertSnapshot = { items, sortCache: new Map() };
		this.cache = { dataVersion: this.dataVersion, builtAt: now, validUntil, snapshot };
		return snapshot;
	}

	visibleById(id: string): Alert | undefined {
		const record = this.records.get(id);
		return record ? this.visibleVersion(record, this.clock.nowTimestamp()) : undefined;
	}

	private visibleVersion(record: AlertRecord, now: string): Alert | undefined {
		for (let i = record.versions.length - 1; i >= 0; i--) {
			if (record.versions[i].visibleAt <= now) return record.versions[i].alert;
		}
		return undefined;
	}
}

// ---------------------------------------------------------------------------------------------
// OData schema (documented filterable properties only) and serialization

export const ALERT_READ_ROLES = ['Alert.Read.All', 'Alert.ReadWrite.All'];
export const ALERT_WRITE_ROLES = ['Alert.ReadWrite.All'];

const alertSchema: EntitySchema<Alert> = {
	typeName: 'microsoft.windowsDefenderATP.api.PublicAlert',
	keyField: 'id',
	fields: {
		id: field.string((a) => a.id),
		alertCreationTime: field.datetime((a) => a.alertCreationTime),
		lastUpdateTime: field.datetime((a) => a.lastUpdateTime),
		lastEventTime: field.datetime((a) => a.lastEventTime),
		firstEventTime: field.datetime((a) => a.firstEventTime),
		status: field.enum(ALERT_STATUSES, (a) => a.status),
		severity: field.enum(ALERT_SEVERITIES, (a) => a.severity),
		category: field.string((a) => a.category),
		detectionSource: field.string((a) => a.detectionSource),
		assignedTo: field.string((a) => a.assignedTo),
		incidentId: field.number((a) => a.incidentId),
		investigationId: field.number((a) => a.investigationId),
	},
};

function toMdeJson(alerts: AlertStore, alert: Alert, expandEvidence: boolean): AlertWithEvidence {
	return { ...alert, evidence: expandEvidence ? alerts.evidenceOf(alert) : [] };
}

/** `$expand=evidence` is the only expansion the alerts API has. */
function wantsEvidence(query: Record<string, string>): boolean {
	const expand = queryOption(query, 'expand');
	if (expand === undefined || expand.trim() === '') return false;
	for (const part of expand.split(',').map((p) => p.trim())) {
		if (part.toLowerCase() !== 'evidence') {
			throw new ApiError(400, 'ODataError', `Could not find a property named '${part}' on type '${alertSchema.typeName}'.`);
		}
	}
	return true;
}

const PATCH_KEYS = ['status', 'assignedTo', 'classification', 'determination', 'comment'];
const SETTABLE_STATUSES = ['New', 'InProgress', 'Resolved'];

/** Validates an MDE alert update body (keys are case-sensitive) into a patch + optional comment. */
function readAlertPatch(b: BodyReader): { patch: Partial<Alert>; comment: string | undefined } {
	const patch: Partial<Alert> = {};
	const status = b.enumValue('status', SETTABLE_STATUSES);
	if (status) patch.status = status as Alert['status'];
	const assignedTo = b.string('assignedTo', { nullable: true });
	if (assignedTo !== undefined) patch.assignedTo = assignedTo;
	const classification = b.enumValue('classification', ALERT_CLASSIFICATIONS, { nullable: true });
	if (classification !== undefined) patch.classification = classification;
	const determination = b.enumValue('determination', ALERT_DETERMINATIONS, { nullable: true });
	if (determination !== undefined) patch.determination = determination;
	const comment = b.string('comment') ?? undefined;
	return { patch, comment };
}

/** Applies an API update: a new, immediately visible version; a comment is appended by the app. */
export function applyAlertUpdate(state: EmulatorState, alert: Alert, patch: Partial<Alert>, comment: string | undefined, by: string): Alert {
	const changed = (Object.keys(patch) as Array<keyof Alert>).some((k) => patch[k] !== alert[k]);
	if (!changed && comment === undefined) return alert;
	const lastUpdateTime = state.clock.stamp();
	const comments = comment === undefined ? alert.comments : [...alert.comments, { comment, createdBy: by, createdTime: lastUpdateTime }];
	return state.alerts.update(alert.id, { ...patch, comments }, { at: lastUpdateTime });
}

// ---------------------------------------------------------------------------------------------
// Related entities (reference §2.5), derived from evidence

/** The files of an alert's File and Process evidence, each as `GET /api/files/{sha1}` profiles it (entities.ts). */
function relatedFiles(state: EmulatorState, evidence: Evidence[]): Array<Record<string, unknown>> {
	const sha1s = new Set<string>();
	for (const e of evidence) {
		if ((e.entityType === 'File' || e.entityType === 'Process') && e.sha1) sha1s.add(e.sha1.toLowerCase());
	}
	return [...sha1s].flatMap((sha1) => {
		const file = state.entities.file(sha1);
		return file ? [{ ...file }] : [];
	});
}

function relatedUser(alert: Alert, state: EmulatorState): Record<string, unknown> | null {
	if (!alert.relatedUser) return null;
	const { userName, domainName } = alert.relatedUser;
	const dir = USERS.find((u) => u.accountName === userName);
	const machineIds = state.machines.all().slice(0, 3).map((m) => m.id);
	return {
		id: `${domainName.toLowerCase()}\\${userName}`,
		accountName: userName,
		accountDomain: domainName || DOMAIN,
		accountSid: dir?.sid ?? null,
		firstSeen: '2025-06-02T08:11:46Z',
		lastSeen: alert.lastEventTime ?? alert.alertCreationTime,
		mostPrevalentMachineId: alert.machineId ?? machineIds[0] ?? null,
		leastPrevalentMachineId: machineIds[machineIds.length - 1] ?? null,
		logonTypes: 'Interactive',
		logOnMachinesCount: 1 + (hash32(userName) % 4),
		isDomainAdmin: false,
		isOnlyNetworkUser: false,
	};
}

// ---------------------------------------------------------------------------------------------
// Routes

export function registerAlertRoutes(router: Router, state: EmulatorState): void {
	const { alerts } = state;
	const context = (name: string) => `${state.origin()}/api/$metadata#${name}`;
	const findAlert = (id: string): Alert => {
		const alert = alerts.visibleById(id);
		if (!alert) throw notFound(`Alert ${id} was not found`);
		return alert;
	};
	const mde = { family: 'mde' as const, limits: LIMITS.standard };

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/alerts',
		roles: ALERT_READ_ROLES,
		handler: ({ query }) => {
			const expand = wantsEvidence(query);
			const snapshot = alerts.visible();
			const { page } = listItems(snapshot.items, query, {
				schema: alertSchema,
				dialect: MDE_DIALECT,
				maxTop: 10000,
				defaultTop: 10000,
				sortCache: snapshot.sortCache,
				// $orderby, id comparisons and the order without $orderby depend on the API profile.
				...alertListProfileOptions(state.apiProfile, 'mde'),
			});
			return { status: 200, json: { '@odata.context': context('Alerts'), value: page.map((a) => toMdeJson(alerts, a, expand)) } };
		},
	});

	router.add({
		family: 'mde',
		method: 'POST',
		pattern: '/api/alerts/batchUpdate',
		roles: ALERT_WRITE_ROLES,
		limits: LIMITS.batchUpdate,
		handler: ({ body, auth }) => {
			const b = new BodyReader(body).only(['alertIds', ...PATCH_KEYS]);
			const ids = b.stringArray('alertIds', { required: true }) as string[];
			const { patch, comment } = readAlertPatch(b);
			const targets = ids.map(findAlert);
			for (const alert of targets) applyAlertUpdate(state, alert, patch, comment, auth?.appName ?? 'unknown');
			return { status: 200, body: '' };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/alerts/:id',
		roles: ALERT_READ_ROLES,
		handler: ({ params, query }) => {
			const expand = wantsEvidence(query);
			return { status: 200, json: { '@odata.context': context('Alerts/$entity'), ...toMdeJson(alerts, findAlert(params.id), expand) } };
		},
	});

	router.add({
		...mde,
		method: 'PATCH',
		pattern: '/api/alerts/:id',
		roles: ALERT_WRITE_ROLES,
		handler: ({ params, body, auth }) => {
			const alert = findAlert(params.id);
			const { patch, comment } = readAlertPatch(new BodyReader(body).only(PATCH_KEYS));
			const updated = applyAlertUpdate(state, alert, patch, comment, auth?.appName ?? 'unknown');
			return { status: 200, json: { '@odata.context': context('Alerts/$entity'), ...toMdeJson(alerts, updated, false) } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/alerts/:id/files',
		roles: ['File.Read.All'],
		handler: ({ params }) => {
			const alert = findAlert(params.id);
			return { status: 200, json: { '@odata.context': context('Files'), value: relatedFiles(state, alerts.evidenceOf(alert)) } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/alerts/:id/ips',
		roles: ['Ip.Read.All'],
		handler: ({ params }) => {
			const ips = alerts.evidenceOf(findAlert(params.id)).filter((e) => e.ipAddress).map((e) => ({ id: e.ipAddress }));
			return { status: 200, json: { '@odata.context': context('Ips'), value: ips } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/alerts/:id/domains',
		roles: ['URL.Read.All'],
		handler: ({ params }) => {
			const hosts = new Set<string>();
			for (const e of alerts.evidenceOf(findAlert(params.id))) {
				// The same host the Domain APIs (entities.ts) know the domain by.
				const host = e.url ? urlHost(e.url) : undefined;
				if (host) hosts.add(host);
			}
			return { status: 200, json: { '@odata.context': context('Domains'), value: Array.from(hosts, (host) => ({ host })) } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/alerts/:id/machine',
		roles: MACHINE_READ_ROLES,
		handler: ({ params }) => {
			const alert = findAlert(params.id);
			const machine = alert.machineId ? state.machines.get(alert.machineId) : undefined;
			if (!machine) throw notFound(`Machine related to alert ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Machines/$entity'), ...machine } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/alerts/:id/user',
		roles: ['User.Read.All'],
		handler: ({ params }) => {
			const user = relatedUser(findAlert(params.id), state);
			if (!user) throw notFound(`User related to alert ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Users/$entity'), ...user } };
		},
	});
}
