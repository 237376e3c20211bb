/**
 * Automated investigations (Microsoft's pages: investigation, get-investigation-collection,
 * get-investigation-object, initiate-autoir-investigation).
 *
 * Two sources, one list:
 * - **From alerts**: the visible alerts carrying an `investigationId` form investigation `String(investigationId)`
 *   (alerts sharing one form one). Its triggering alert is the earliest of them; `startTime` its
 *   `alertCreationTime`; `state` its `investigationState` (what the data says; an unknown value → `Unknown`);
 *   `endTime` 30 minutes after the start once the state is final, else null; machine from the alert.
 * - **Started** by `POST /api/machines/{id}/startInvestigation` (or the handle's `start`): `Running` from the
 *   request, then the outcome two steps later (`machineActionStepMs` each, emulator clock, computed on read like
 *   machine actions). The outcome is the one scripted for the machine (`script`), else `SuccessfullyRemediated`
 *   when the machine has a visible alert that is not Resolved, else `Benign`. A machine whose OS automated
 *   investigation does not support (the page: Windows 10/11, Windows Server 2019 and later, Azure Stack HCI) gets
 *   `UnsupportedOs` at once (endTime = startTime). Started investigations have no triggering alert. An alert created
 *   later with the same `investigationId` joins it rather than forming another. Ids count up from 200000, skipping
 *   those alerts already use. The API does not document what a second start on the same machine does: the emulator
 *   starts another.
 *
 * `terminate(id, by)` ends either kind as `TerminatedByUser` with `cancelledBy` (the portal's cancel; no API).
 */
import { addMs, timestampToMs, type Clock } from './clock';
import { BodyReader } from './body';
import { notFound } from './errors';
import type { MachineStore } from './machines';
import { field, listItems, MDE_DIALECT, type EntitySchema } from './odata';
import type { RateLimitRule } from './ratelimit';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import type { AlertSnapshot, AlertStore } from './alerts';
import { INVESTIGATION_STATES, type Alert, type Machine } from './types';

export type InvestigationState = (typeof INVESTIGATION_STATES)[number];

/** The Investigation entity (investigation.md). */
export interface Investigation {
	id: string;
	startTime: string;
	endTime: string | null;
	state: InvestigationState;
	cancelledBy: string | null;
	statusDetails: string | null;
	machineId: string | null;
	computerDnsName: string | null;
	triggeringAlertId: string | null;
}

/** How a started investigation ends: a final state, `PendingApproval` (waits there), or `Stuck` (stays Running). */
export type InvestigationOutcome =
	| 'SuccessfullyRemediated'
	| 'Benign'
	| 'PartiallyRemediated'
	| 'PartiallyInvestigated'
	| 'Failed'
	| 'TerminatedBySystem'
	| 'InnerFailure'
	| 'PendingApproval'
	| 'Stuck';

/** States in which an investigation has not ended. */
export const ACTIVE_INVESTIGATION_STATES: readonly string[] = ['Queued', 'Running', 'PendingApproval', 'PendingResource'];

/** initiate-autoir-investigation: "Rate limitations for this API are 50 calls per hour." */
export const START_LIMITS: readonly RateLimitRule[] = [{ max: 50, windowMs: 3600000 }];

const DERIVED_DURATION_MS = 30 * 60000;
const FIRST_STARTED_ID = 200000;

/** Windows 10, Windows 11, Windows Server 2019 and later, Azure Stack HCI (the page's list; 10's build is not modelled). */
export function airSupports(osPlatform: string): boolean {
	if (/^Windows(10|11)$/i.test(osPlatform) || /AzureStackHCI/i.test(osPlatform)) return true;
	const server = /^WindowsServer(\d{4})/i.exec(osPlatform);
	return server !== null && Number(server[1]) >= 2019;
}

interface StartedRecord {
	investigation: Investigation;
	createdMs: number;
	outcome: InvestigationOutcome;
	/** Set when the outcome is final or UnsupportedOs from the start. */
	settled: boolean;
}

const asState = (value: unknown): InvestigationState =>
	(INVESTIGATION_STATES as readonly string[]).includes(String(value)) ? (value as InvestigationState) : 'Unknown';

export class InvestigationStore {
	private readonly started: StartedRecord[] = [];
	private readonly byId = new Map<string, StartedRecord>();
	private readonly scripts = new Map<string, InvestigationOutcome>();
	private readonly terminated = new Map<string, { by: string; at: string }>();
	private readonly derivedCache = new WeakMap<AlertSnapshot, Investigation[]>();
	private nextId = FIRST_STARTED_ID;

	constructor(
		private readonly clock: Clock,
		private readonly alerts: AlertStore,
		private readonly machines: MachineStore,
		/** One lifecycle step (the machine actions' step). */
		private readonly stepMs: () => number,
	) {}

	clear(): void {
		this.started.length = 0;
		this.byId.clear();
		this.scripts.clear();
		this.terminated.clear();
		this.nextId = FIRST_STARTED_ID;
	}

	/** The outcome of investigations started later on the machine. */
	script(machineId: string, outcome: InvestigationOutcome): void {
		this.scripts.set(machineId.toLowerCase(), outcome);
	}

	/** Starts one as `POST /api/machines/{id}/startInvestigation` does. */
	start(machine: Machine): Investigation {
		const used = new Set(this.alerts.all().map((a) => (a.investigationId === null ? '' : String(a.investigationId))));
		while (used.has(String(this.nextId)) || this.byId.has(String(this.nextId))) this.nextId++;
		const id = String(this.nextId++);
		const startTime = this.clock.stamp();
		const supported = airSupports(machine.osPlatform);
		const investigation: Investigation = {
			id,
			startTime,
			endTime: supported ? null : startTime,
			state: supported ? 'Running' : 'UnsupportedOs',
			cancelledBy: null,
			statusDetails: supported ? null : `Automated investigation does not support ${machine.osPlatform} devices.`,
			machineId: machine.id,
			computerDnsName: machine.computerDnsName,
			triggeringAlertId: null,
		};
		const record: StartedRecord = {
			investigation,
			createdMs: timestampToMs(startTime),
			outcome: this.scripts.get(machine.id.toLowerCase()) ?? this.defaultOutcome(machine.id),
			settled: !supported,
		};
		this.started.push(record);
		this.byId.set(id, record);
		return { ...investigation };
	}

	private defaultOutcome(machineId: string): InvestigationOutcome {
		const open = this.alerts.visible().items.some((a) => a.machineId === machineId && a.status !== 'Resolved');
		return open ? 'SuccessfullyRemediated' : 'Benign';
	}

	/** Ends an investigation as TerminatedByUser (the portal's cancel). Throws for an unknown id or one that ended. */
	terminate(id: string, by: string): Investigation {
		const current = this.get(id);
		if (!current) throw new Error(`Unknown investigation ${id}`);
		if (!ACTIVE_INVESTIGATION_STATES.includes(current.state)) throw new Error(`Investigation ${id} already ended (${current.state})`);
		this.terminated.set(current.id, { by, at: this.clock.stamp() });
		return this.get(current.id)!;
	}

	/** Every investigation the API lists now, up to date with the clock (copies). */
	all(): Investigation[] {
		const started = this.started.map((r) => this.view(this.refresh(r)));
		const derived = this.derived()
			.filter((i) => !this.byId.has(i.id))
			.map((i) => this.view(i));
		return [...derived, ...started].sort((a, b) =>
			a.startTime !== b.startTime ? (a.startTime < b.startTime ? -1 : 1) : Number(a.id) - Number(b.id),
		);
	}

	/** By investigation id, or by the id of the alert that triggered it ("ID can be … the investigation triggering alert ID"). */
	get(idOrAlertId: string): Investigation | undefined {
		const all = this.all();
		return all.find((i) => i.id === idOrAlertId) ?? all.find((i) => i.triggeringAlertId !== null && i.triggeringAlertId === idOrAlertId);
	}

	private view(investigation: Investigation): Investigation {
		const ended = this.terminated.get(investigation.id);
		if (!ended) return { ...investigation };
		return { ...investigation, state: 'TerminatedByUser', cancelledBy: ended.by, endTime: ended.at };
	}

	private refresh(record: StartedRecord): Investigation {
		const inv = record.investigation;
		if (record.settled || record.outcome === 'Stuck') return inv;
		const steps = Math.floor((this.clock.nowMs() - record.createdMs) / this.stepMs());
		if (steps >= 2) {
			inv.state = record.outcome;
			if (record.outcome !== 'PendingApproval') inv.endTime = addMs(inv.startTime, 2 * this.stepMs());
			record.settled = true;
		}
		return inv;
	}

	/** Investigations formed by the visible alerts' investigationId (cached per alert snapshot). */
	private derived(): Investigation[] {
		const snapshot = this.alerts.visible();
		const cached = this.derivedCache.get(snapshot);
		if (cached) return cached;
		const first = new Map<string, Alert>();
		for (const alert of snapshot.items) {
			if (alert.investigationId === null || alert.investigationId === undefined) continue;
			const id = String(alert.investigationId);
			const known = first.get(id);
			if (!known || alert.alertCreationTime < known.alertCreationTime) first.set(id, alert);
		}
		const list = Array.from(first, ([id, alert]): Investigation => {
			const state = asState(alert.investigationState);
			const machine = alert.machineId ? this.machines.get(alert.machineId) : undefined;
			return {
				id,
				startTime: alert.alertCreationTime,
				endTime: ACTIVE_INVESTIGATION_STATES.includes(state) ? null : addMs(alert.alertCreationTime, DERIVED_DURATION_MS),
				state,
				cancelledBy: null,
				statusDetails: null,
				machineId: alert.machineId,
				computerDnsName: machine?.computerDnsName ?? alert.computerDnsName,
				triggeringAlertId: alert.id,
			};
		});
		this.derivedCache.set(snapshot, list);
		return list;
	}
}

/** get-investigation-collection: `$filter` on startTime, id, state, machineId, triggeringAlertId. */
export const investigationSchema: EntitySchema<Investigation> = {
	typeName: 'microsoft.windowsDefenderATP.api.Investigation',
	keyField: 'id',
	fields: {
		id: field.string((i) => i.id),
		startTime: field.datetime((i) => i.startTime),
		state: field.enum(INVESTIGATION_STATES, (i) => i.state),
		machineId: field.string((i) => i.machineId),
		triggeringAlertId: field.string((i) => i.triggeringAlertId),
		endTime: field.datetime((i) => i.endTime, false),
	},
};

const READ_ROLES = ['Alert.Read.All', 'Alert.ReadWrite.All'];

export function registerInvestigationRoutes(router: Router, state: EmulatorState): void {
	const { investigations, machines } = state;
	const context = (name: string) => `${state.origin()}/api/$metadata#${name}`;
	const mde = { family: 'mde' as const, limits: LIMITS.standard };

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/investigations',
		roles: READ_ROLES,
		handler: ({ query }) => {
			// Without $orderby: by startTime, then id (numerically), as all() lists them.
			const { page } = listItems(investigations.all(), query, { schema: investigationSchema, dialect: MDE_DIALECT, maxTop: 10000, defaultTop: 10000 });
			return { status: 200, json: { '@odata.context': context('Investigations'), value: page } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/investigations/:id',
		roles: READ_ROLES,
		handler: ({ params }) => {
			const investigation = investigations.get(params.id);
			if (!investigation) throw notFound(`Investigation ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Investigations/$entity'), ...investigation } };
		},
	});

	router.add({
		family: 'mde',
		method: 'POST',
		pattern: '/api/machines/:id/startInvestigation',
		roles: ['Alert.ReadWrite.All'],
		limits: START_LIMITS,
		handler: ({ params, body }) => {
			const machine = machines.get(params.id);
			if (!machine) throw notFound(`Machine ${params.id} was not found`);
			new BodyReader(body).only(['Comment']).requiredString('Comment');
			return { status: 201, json: { '@odata.context': context('Investigations/$entity'), ...investigations.start(machine) } };
		},
	});
}
