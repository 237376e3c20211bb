/**
 * Machines, response actions and machine actions (reference §3.1–§3.3). Action lifecycles are
 * computed lazily from the emulator clock (no timers): Pending → InProgress → final outcome,
 * one step per `machineActionStepMs`.
 */
import * as crypto from 'node:crypto';
import { isIP } from 'node:net';
import { BodyReader } from './body';
import { addMs, Clock, normalizeTimestamp, timestampToMs } from './clock';
import { generateMachine, Rng } from './data';
import { ApiError, notFound, type Reply } from './errors';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import { field, listItems, MDE_DIALECT, type EntitySchema } from './odata';
import {
	DEVICE_VALUES,
	EXPOSURE_LEVELS,
	HEALTH_STATUSES,
	MACHINE_ACTION_STATUSES,
	MACHINE_ACTION_TYPES,
	RISK_SCORES,
	type Machine,
	type MachineAction,
	type MachineActionOutcome,
	type MachineActionType,
} from './types';
import { zip } from './zip';

export const MACHINE_READ_ROLES = ['Machine.Read.All', 'Machine.ReadWrite.All'];

// ---------------------------------------------------------------------------------------------
// Machines

export class MachineStore {
	private readonly list: Machine[] = [];
	private readonly byId = new Map<string, number>();

	constructor(
		private readonly clock: Clock,
		private readonly rng: Rng,
	) {}

	seed(count: number): Machine[] {
		return Array.from({ length: count }, () => this.create());
	}

	clear(): void {
		this.list.length = 0;
		this.byId.clear();
	}

	create(partial: Partial<Machine> = {}): Machine {
		let machine = generateMachine(this.rng, this.clock.nowMs(), partial);
		while (this.byId.has(machine.id)) machine = { ...machine, id: this.rng.hex(40) };
		this.byId.set(machine.id, this.list.length);
		this.list.push(machine);
		return machine;
	}

	/** By id, or by computer DNS name (full or host part, case-insensitive), like the real API. */
	get(idOrName: string): Machine | undefined {
		const index = this.byId.get(idOrName.toLowerCase());
		if (index !== undefined) return this.list[index];
		const name = idOrName.toLowerCase();
		return this.list.find((m) => m.computerDnsName.toLowerCase() === name || m.computerDnsName.toLowerCase().split('.')[0] === name);
	}

	/** Removes a machine (as if it left the tenant's device list); false when unknown. */
	remove(id: string): boolean {
		const index = this.byId.get(id.toLowerCase());
		if (index === undefined) return false;
		this.list.splice(index, 1);
		this.byId.clear();
		this.list.forEach((m, i) => this.byId.set(m.id, i));
		return true;
	}

	update(id: string, patch: Partial<Machine>): Machine {
		const index = this.byId.get(id);
		if (index === undefined) throw new Error(`Unknown machine ${id}`);
		this.list[index] = { ...this.list[index], ...patch, id };
		return this.list[index];
	}

	all(): readonly Machine[] {
		return this.list;
	}
}

export const machineSchema: EntitySchema<Machine> = {
	typeName: 'microsoft.windowsDefenderATP.api.PublicMachine',
	keyField: 'id',
	fields: {
		id: field.string((m) => m.id),
		computerDnsName: field.string((m) => m.computerDnsName),
		version: field.string((m) => m.version),
		deviceValue: field.enum(DEVICE_VALUES, (m) => m.deviceValue),
		aadDeviceId: field.string((m) => m.aadDeviceId),
		machineTags: field.collection('string', (m) => m.machineTags),
		lastSeen: field.datetime((m) => m.lastSeen),
		exposureLevel: field.enum(EXPOSURE_LEVELS, (m) => m.exposureLevel),
		onboardingStatus: field.string((m) => m.onboardingStatus),
		lastIpAddress: field.string((m) => m.lastIpAddress),
		healthStatus: field.enum(HEALTH_STATUSES, (m) => m.healthStatus),
		osPlatform: field.string((m) => m.osPlatform),
		riskScore: field.enum(RISK_SCORES, (m) => m.riskScore),
		rbacGroupId: field.number((m) => m.rbacGroupId),
		firstSeen: field.datetime((m) => m.firstSeen, false),
	},
};

// ---------------------------------------------------------------------------------------------
// Machine actions

interface ActionDefinition {
	type: MachineActionType;
	role: string;
	title: string;
	/** Optional/required enum body field that becomes the action's `scope`. */
	scope?: { key: string; values: readonly string[]; required: boolean; default: string };
	windowsOnly?: boolean;
	sha1?: boolean;
}

/** Keyed by the (case-insensitive) last path segment. */
const ACTIONS: Record<string, ActionDefinition> = {
	isolate: {
		type: 'Isolate',
		role: 'Machine.Isolate',
		title: 'Isolate device',
		scope: { key: 'IsolationType', values: ['Full', 'Selective', 'UnManagedDevice'], required: false, default: 'Full' },
	},
	unisolate: { type: 'Unisolate', role: 'Machine.Isolate', title: 'Release device from isolation' },
	runantivirusscan: {
		type: 'RunAntiVirusScan',
		role: 'Machine.Scan',
		title: 'Run antivirus scan',
		scope: { key: 'ScanType', values: ['Quick', 'Full'], required: true, default: 'Quick' },
	},
	restrictcodeexecution: { type: 'RestrictCodeExecution', role: 'Machine.RestrictExecution', title: 'Restrict app execution' },
	unrestrictcodeexecution: { type: 'UnrestrictCodeExecution', role: 'Machine.RestrictExecution', title: 'Remove app execution restriction' },
	collectinvestigationpackage: { type: 'CollectInvestigationPackage', role: 'Machine.CollectForensics', title: 'Collect investigation package' },
	stopandquarantinefile: { type: 'StopAndQuarantineFile', role: 'Machine.StopAndQuarantine', title: 'Stop and quarantine file', sha1: true },
	offboard: { type: 'Offboard', role: 'Machine.Offboard', title: 'Offboard device', windowsOnly: true },
};

const ACTION_ROLES = Array.from(new Set(Object.values(ACTIONS).map((a) => a.role).concat('Machine.LiveResponse')));
const FINAL = new Set(['Succeeded', 'Failed', 'TimeOut', 'Cancelled']);

interface ActionRecord {
	action: MachineAction;
	createdMs: number;
	outcome: MachineActionOutcome;
	/** Lifecycle computed by another module (live response sessions, liveresponse.ts) instead of `outcome`. */
	advance?: (nowMs: number) => void;
}

export class MachineActionStore {
	private readonly records: ActionRecord[] = [];
	private readonly byId = new Map<string, ActionRecord>();
	private readonly scripts = new Map<string, MachineActionOutcome>();
	private readonly downloads = new Map<string, { actionId: string; expiresAt: number }>();

	constructor(
		private readonly clock: Clock,
		public stepMs: number,
	) {}

	clear(): void {
		this.records.length = 0;
		this.byId.clear();
		this.scripts.clear();
		this.downloads.clear();
	}

	/** Scripts the outcome of every later `type` action on `machineId` (default outcome: Succeeded). */
	script(machineId: string, type: MachineActionType, outcome: MachineActionOutcome): void {
		this.scripts.set(`${machineId}|${type}`, outcome);
	}

	/** Brings a record's status up to date with the clock. */
	private refresh(record: ActionRecord): MachineAction {
		const a = record.action;
		if (record.advance) {
			if (!FINAL.has(a.status)) record.advance(this.clock.nowMs());
			return a;
		}
		if (FINAL.has(a.status) || record.outcome === 'Stuck') return a;
		const steps = Math.floor((this.clock.nowMs() - record.createdMs) / this.stepMs);
		if (steps >= 2) {
			a.status = record.outcome;
			a.lastUpdateDateTimeUtc = addMs(a.creationDateTimeUtc, 2 * this.stepMs);
			if (record.outcome === 'Failed') a.errorHResult = -2147024891;
		} else if (steps >= 1 && a.status === 'Pending') {
			a.status = 'InProgress';
			a.lastUpdateDateTimeUtc = addMs(a.creationDateTimeUtc, this.stepMs);
		}
		return a;
	}

	create(machine: Machine, def: ActionDefinition, requestor: string, comment: string, scope: string | null, sha1: string | null): MachineAction {
		const active = this.records.find(
			(r) => r.action.machineId === machine.id && r.action.type === def.type && !FINAL.has(this.refresh(r).status),
		);
		if (active) {
			throw new ApiError(
				400,
				'ActiveRequestAlreadyExists',
				`Action is already in progress. Action ${active.action.id} of type ${def.type} on machine ${machine.id} is ${active.action.status}.`,
			);
		}
		const created = this.clock.stamp();
		const action: MachineAction = {
			id: crypto.randomUUID(),
			type: def.type,
			title: `${def.title} on ${machine.computerDnsName}`,
			requestor,
			requestorComment: comment,
			status: 'Pending',
			machineId: machine.id,
			computerDnsName: machine.computerDnsName,
			creationDateTimeUtc: created,
			lastUpdateDateTimeUtc: created,
			cancellationRequestor: null,
			cancellationComment: null,
			cancellationDateTimeUtc: null,
			errorHResult: 0,
			scope,
			externalId: null,
			requestSource: 'PublicApi',
			relatedFileInfo: sha1 ? { fileIdentifier: sha1, fileIdentifierType: 'Sha1' } : null,
			commands: [],
			troubleshootInfo: null,
		};
		const record: ActionRecord = {
			action,
			createdMs: timestampToMs(created),
			outcome: this.scripts.get(`${machine.id}|${def.type}`) ?? 'Succeeded',
		};
		this.records.push(record);
		this.byId.set(action.id, record);
		return { ...action };
	}

	/**
	 * Lists an action whose status another module keeps up to date: `advance(nowMs)` runs on every read until the
	 * action is final (cancel() works as for any action). Used by live response sessions (liveresponse.ts).
	 */
	adopt(action: MachineAction, advance: (nowMs: number) => void): void {
		const record: ActionRecord = { action, createdMs: timestampToMs(action.creationDateTimeUtc), outcome: 'Succeeded', advance };
		this.records.push(record);
		this.byId.set(action.id, record);
	}

	/** An action of `type` on `machine` as the API would queue it (same duplicate rule), without an HTTP call. */
	createByType(machine: Machine, type: MachineActionType, requestor: string, comment: string): MachineAction {
		const def = Object.values(ACTIONS).find((a) => a.type === type);
		if (!def) throw new Error(`Unknown machine action type ${type}; use one of ${Object.values(ACTIONS).map((a) => a.type).join(', ')}`);
		return this.create(machine, def, requestor, comment, def.scope?.default ?? null, def.sha1 ? '0'.repeat(40) : null);
	}

	/** Removes an action from the list (as if it aged out); false when unknown. */
	remove(id: string): boolean {
		const record = this.byId.get(id.toLowerCase());
		if (!record) return false;
		this.byId.delete(id.toLowerCase());
		this.records.splice(this.records.indexOf(record), 1);
		return true;
	}

	get(id: string): MachineAction | undefined {
		const record = this.byId.get(id.toLowerCase());
		return record ? { ...this.refresh(record) } : undefined;
	}

	all(): MachineAction[] {
		return this.records.map((r) => this.refresh(r));
	}

	cancel(id: string, requestor: string, comment: string): MachineAction {
		const record = this.byId.get(id.toLowerCase());
		if (!record) throw notFound(`Machine action ${id} was not found`);
		const a = this.refresh(record);
		if (FINAL.has(a.status)) {
			throw new ApiError(400, 'BadRequest', `Machine action ${id} cannot be cancelled because its status is ${a.status}.`);
		}
		const now = this.clock.stamp();
		Object.assign(a, {
			status: 'Cancelled',
			cancellationRequestor: requestor,
			cancellationComment: comment,
			cancellationDateTimeUtc: now,
			lastUpdateDateTimeUtc: now,
		});
		return { ...a };
	}

	/** A short-lived download link token for a succeeded investigation package. */
	packageToken(actionId: string): string | null {
		const a = this.get(actionId);
		if (!a || a.type !== 'CollectInvestigationPackage' || a.status !== 'Succeeded') return null;
		const token = crypto.randomBytes(18).toString('base64url');
		this.downloads.set(token, { actionId: a.id, expiresAt: Date.now() + 30 * 60000 });
		return token;
	}

	download(token: string): Buffer | null {
		const entry = this.downloads.get(token);
		if (!entry || entry.expiresAt < Date.now()) return null;
		return packageBytes(entry.actionId);
	}
}

export const actionSchema: EntitySchema<MachineAction> = {
	typeName: 'microsoft.windowsDefenderATP.api.MachineAction',
	keyField: 'id',
	fields: {
		id: field.string((a) => a.id),
		status: field.enum(MACHINE_ACTION_STATUSES, (a) => a.status),
		machineId: field.string((a) => a.machineId),
		type: field.enum(MACHINE_ACTION_TYPES, (a) => a.type),
		requestor: field.string((a) => a.requestor),
		creationDateTimeUtc: field.datetime((a) => a.creationDateTimeUtc),
	},
};

// ---------------------------------------------------------------------------------------------
// Investigation package: a small, valid, deterministic ZIP (stored entries)

export function packageBytes(actionId: string): Buffer {
	const rng = new Rng(crypto.createHash('sha256').update(actionId).digest().readUInt32LE(0));
	const lines = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i)).join('\r\n');
	const files: Array<[string, string]> = [
		['CollectionSummaryReport.txt', `Investigation package\r\nAction: ${actionId}\r\n`],
		['Processes/processes.csv', 'Name,PID,Path\r\n' + lines(200, (i) => `proc${i}.exe,${rng.int(100, 30000)},C:\\Windows\\System32\\proc${i}.exe`)],
		['Autoruns/Run.txt', lines(50, (i) => `HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Entry${i} = ${rng.hex(16)}`)],
		['Network connections/ActiveNetConnections.txt', lines(100, () => `TCP 10.0.0.${rng.int(2, 254)}:${rng.int(1024, 65535)} ESTABLISHED`)],
	];
	return zip(
		files.map(([name, text]) => ({ name, data: Buffer.from(text, 'utf8') })),
		'store',
	);
}

// ---------------------------------------------------------------------------------------------
// Routes

export function registerMachineRoutes(router: Router, state: EmulatorState): void {
	const { machines, actions, clock } = state;
	const context = (name: string) => `${state.origin()}/api/$metadata#${name}`;
	const findMachine = (id: string): Machine => {
		const machine = machines.get(id);
		if (!machine) throw notFound(`Machine ${id} was not found`);
		return machine;
	};
	const mde = { family: 'mde' as const, limits: LIMITS.standard };

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines',
		roles: MACHINE_READ_ROLES,
		handler: ({ query }) => {
			const { page } = listItems(machines.all(), query, {
				schema: machineSchema,
				dialect: MDE_DIALECT,
				maxTop: 10000,
				defaultTop: 10000,
				defaultOrderBy: state.listOrder.machines,
			});
			return { status: 200, json: { '@odata.context': context('Machines'), value: page } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/findbyip(:args)',
		roles: MACHINE_READ_ROLES,
		handler: ({ params }) => {
			const ip = /ip\s*=\s*'([^']*)'/i.exec(params.args)?.[1];
			const rawTs = /timestamp\s*=\s*'?([^',)]+)'?/i.exec(params.args)?.[1];
			if (!ip || !isIP(ip)) throw new ApiError(400, 'InvalidIpAddress', `The ip parameter '${ip ?? ''}' is not a valid IP address.`);
			const ts = rawTs ? normalizeTimestamp(rawTs) : null;
			if (!ts) throw new ApiError(400, 'InvalidInput', `The timestamp parameter '${rawTs ?? ''}' is not a valid DateTimeOffset.`);
			const at = timestampToMs(ts);
			if (at < clock.nowMs() - 30 * 86400000) throw new ApiError(400, 'InvalidInput', 'The timestamp must be within the last 30 days.');
			// Seen with that IP within ±15 minutes of the timestamp.
			const window = 15 * 60000;
			const value = machines
				.all()
				.filter((m) => m.lastIpAddress === ip || m.ipAddresses.some((a) => a.ipAddress === ip))
				.filter((m) => timestampToMs(m.firstSeen) <= at + window && timestampToMs(m.lastSeen) >= at - window);
			return { status: 200, json: { '@odata.context': context('Machines'), value } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/findbytag',
		roles: MACHINE_READ_ROLES,
		handler: ({ query }) => {
			const tag = query.tag;
			if (!tag) throw new ApiError(400, 'InvalidInput', "The 'tag' query parameter is required.");
			const startsWith = (query.useStartsWithFilter ?? '').toLowerCase() === 'true';
			const want = tag.toLowerCase();
			const value = machines
				.all()
				.filter((m) => m.machineTags.some((t) => (startsWith ? t.toLowerCase().startsWith(want) : t.toLowerCase() === want)));
			return { status: 200, json: { '@odata.context': context('Machines'), value } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/:id',
		roles: MACHINE_READ_ROLES,
		handler: ({ params }) => ({ status: 200, json: { '@odata.context': context('Machines/$entity'), ...findMachine(params.id) } }),
	});

	router.add({
		...mde,
		method: 'POST',
		pattern: '/api/machines/:id/tags',
		roles: ['Machine.ReadWrite.All'],
		handler: ({ params, body }) => {
			const machine = findMachine(params.id);
			const b = new BodyReader(body).only(['Value', 'Action']);
			const value = b.requiredString('Value', 200);
			const action = b.enumValue('Action', ['Add', 'Remove'], { required: true });
			const tags =
				action === 'Add'
					? machine.machineTags.includes(value)
						? machine.machineTags
						: [...machine.machineTags, value]
					: machine.machineTags.filter((t) => t !== value);
			const updated = machines.update(machine.id, { machineTags: tags });
			return { status: 200, json: { '@odata.context': context('Machines/$entity'), ...updated } };
		},
	});

	for (const [segment, def] of Object.entries(ACTIONS)) {
		router.add({
			...mde,
			method: 'POST',
			pattern: `/api/machines/:id/${segment}`,
			roles: [def.role],
			handler: ({ params, body, auth }) => {
				const machine = findMachine(params.id);
				const allowed = ['Comment', ...(def.scope ? [def.scope.key] : []), ...(def.sha1 ? ['Sha1'] : [])];
				const b = new BodyReader(body).only(allowed);
				const comment = b.requiredString('Comment');
				let scope: string | null = null;
				if (def.scope) scope = (b.enumValue(def.scope.key, def.scope.values, { required: def.scope.required }) as string | undefined) ?? def.scope.default;
				let sha1: string | null = null;
				if (def.sha1) {
					sha1 = b.requiredString('Sha1');
					if (!/^[0-9a-fA-F]{40}$/.test(sha1)) throw b.error(`'${sha1}' is not a valid SHA-1 value for 'Sha1'.`);
				}
				if (def.windowsOnly && !machine.osPlatform.startsWith('Windows')) {
					throw new ApiError(400, 'OsPlatformNotSupported', `${def.type} is not supported on ${machine.osPlatform} devices.`);
				}
				const action = actions.create(machine, def, auth?.appName ?? 'unknown', comment, scope, sha1);
				return { status: 201, json: { '@odata.context': context('MachineActions/$entity'), ...action } };
			},
		});
	}

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machineactions',
		roles: MACHINE_READ_ROLES,
		handler: ({ query }) => {
			const { page } = listItems(actions.all(), query, {
				schema: actionSchema,
				dialect: MDE_DIALECT,
				maxTop: 10000,
				defaultTop: 10000,
				defaultOrderBy: state.listOrder.machineActions,
			});
			return { status: 200, json: { '@odata.context': context('MachineActions'), value: page.map((a) => ({ ...a })) } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machineactions/:id',
		roles: MACHINE_READ_ROLES,
		handler: ({ params }) => {
			const action = actions.get(params.id);
			if (!action) throw notFound(`Machine action ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('MachineActions/$entity'), ...action } };
		},
	});

	router.add({
		...mde,
		method: 'POST',
		pattern: '/api/machineactions/:id/cancel',
		roles: ACTION_ROLES,
		handler: ({ params, body, auth }) => {
			const comment = new BodyReader(body).only(['Comment']).requiredString('Comment');
			const action = actions.cancel(params.id, auth?.appName ?? 'unknown', comment);
			return { status: 200, json: { '@odata.context': context('MachineActions/$entity'), ...action } };
		},
	});

	router.add({
		family: 'mde',
		method: 'GET',
		pattern: '/api/machineactions/:id/GetPackageUri',
		roles: MACHINE_READ_ROLES,
		limits: LIMITS.packageUri,
		handler: ({ params }) => {
			if (!actions.get(params.id)) throw notFound(`Machine action ${params.id} was not found`);
			const token = actions.packageToken(params.id);
			if (!token) throw notFound(`Investigation package for machine action ${params.id} is not available`);
			return { status: 200, json: { '@odata.context': context('Edm.String'), value: `${state.origin()}/_download/${token}` } };
		},
	});

	router.add({
		family: 'download',
		method: 'GET',
		pattern: '/_download/:token',
		handler: ({ params }): Reply => {
			const bytes = actions.download(params.token);
			if (!bytes) {
				return {
					status: 403,
					headers: { 'Content-Type': 'application/xml' },
					body:
						'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to ' +
						'authenticate the request. Signed expiry time has passed or the signature is invalid.</Message></Error>',
				};
			}
			return {
				status: 200,
				headers: { 'Content-Type': 'application/zip', 'Content-Disposition': 'attachment; filename="InvestigationPackage.zip"' },
				body: bytes,
			};
		},
	});
}
