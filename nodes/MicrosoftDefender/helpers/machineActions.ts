/**
 * Response actions on machines (reference §3.1–§3.2): submit without ever queueing a duplicate, and wait for the
 * resulting MachineAction to finish.
 *
 * Duplicates matter: Defender answers a second isolate/scan/restrict request on the same machine either with the
 * pending action or with HTTP 400 "Action is already in progress", and a duplicate that stays Pending can complete
 * later, e.g. after the device was released, leaving it isolated (MicrosoftDocs/microsoft-365-docs#5903). So before
 * posting, an action of the same type that is still Pending or InProgress on that machine is looked up and
 * returned instead; a 400 "already in progress" answer (a race with another client) is resolved the same way.
 */
import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { notBefore } from './readBack';
import {
	DefenderApiError,
	mdeListStable,
	odataString,
	pathId,
	sendDefenderRequest,
	transportSettings,
	type TransportContext,
} from '../transport';

export const MACHINE_ACTION_TYPES = [
	'RunAntiVirusScan',
	'Offboard',
	'LiveResponse',
	'CollectInvestigationPackage',
	'Isolate',
	'Unisolate',
	'StopAndQuarantineFile',
	'RestrictCodeExecution',
	'UnrestrictCodeExecution',
] as const;
export type MachineActionType = (typeof MACHINE_ACTION_TYPES)[number];

export const MACHINE_ACTION_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'TimeOut', 'Cancelled'] as const;
export const ACTIVE_STATUSES = ['Pending', 'InProgress'];
export const FINAL_STATUSES = ['Succeeded', 'Failed', 'TimeOut', 'Cancelled'];

export interface MachineAction extends IDataObject {
	id: string;
	type: string;
	status: string;
	machineId: string;
}

export interface SubmitRequest {
	machineId: string;
	type: MachineActionType;
	/** Last path segment, e.g. `isolate` for POST /api/machines/{id}/isolate. */
	endpoint: string;
	/** PascalCase body as documented (`Comment`, `IsolationType`, `ScanType`, `Sha1`). */
	body: IDataObject;
	/** StopAndQuarantineFile: only an active action for the same file counts as a duplicate. */
	sha1?: string;
	/** 'reuse' returns an active action of the same type; 'error' refuses to submit next to one. */
	ifAlreadyRunning: 'reuse' | 'error';
}

export interface SubmitResult {
	action: MachineAction;
	reusedExistingAction: boolean;
}

/** Thrown when an action is already running and the user asked for an error rather than the existing action. */
export class ActionAlreadyRunningError extends Error {
	constructor(readonly action: MachineAction) {
		super(
			`A ${action.type} action is already ${action.status === 'InProgress' ? 'in progress' : 'pending'} on machine ${action.machineId} (machine action ID ${action.id}). No new action was submitted.`,
		);
		this.name = 'ActionAlreadyRunningError';
	}
}

/** The actions of this type on this machine that are still Pending or InProgress, newest first. */
export async function findActiveActions(
	transport: TransportContext,
	machineId: string,
	type: MachineActionType,
	sha1?: string,
): Promise<MachineAction[]> {
	const filter = [
		`machineId eq ${odataString(machineId)}`,
		`type eq ${odataString(type)}`,
		`(${ACTIVE_STATUSES.map((s) => `status eq ${odataString(s)}`).join(' or ')})`,
	].join(' and ');
	const response = await sendDefenderRequest(transport, {
		method: 'GET',
		path: '/api/machineactions',
		qs: { $filter: filter },
	});
	const actions = ((response.body as { value?: MachineAction[] })?.value ?? []).filter(
		// Filtered again here: a service that ignores part of the filter must not make us reuse the wrong action.
		(a) =>
			a.machineId?.toLowerCase() === machineId.toLowerCase() &&
			a.type === type &&
			ACTIVE_STATUSES.includes(a.status) &&
			(sha1 === undefined || relatedSha1(a) === sha1.toLowerCase()),
	);
	return actions.sort((a, b) => String(b.creationDateTimeUtc ?? '').localeCompare(String(a.creationDateTimeUtc ?? '')));
}

/** Every action of this type on this machine (any status), newest first; with `sha1`, only those on that file. */
export async function findActions(
	transport: TransportContext,
	machineId: string,
	type: MachineActionType,
	sha1?: string,
): Promise<MachineAction[]> {
	const actions = await mdeListStable<MachineAction>(transport, '/api/machineactions', {
		$filter: `machineId eq ${odataString(machineId)} and type eq ${odataString(type)}`,
	});
	return actions
		.filter(
			(a) =>
				a.machineId?.toLowerCase() === machineId.toLowerCase() &&
				a.type === type &&
				(sha1 === undefined || relatedSha1(a) === sha1.toLowerCase()),
		)
		.sort((a, b) => String(b.creationDateTimeUtc ?? '').localeCompare(String(a.creationDateTimeUtc ?? '')));
}

function relatedSha1(action: MachineAction): string | undefined {
	const info = action.relatedFileInfo as { fileIdentifier?: string } | null | undefined;
	return info?.fileIdentifier?.toLowerCase();
}

/** Defender's answers to a duplicate request: 400 "Action is already in progress" or ActiveRequestAlreadyExists. */
export function isAlreadyRunningError(error: unknown): boolean {
	if (!(error instanceof DefenderApiError) || error.status !== 400) return false;
	if (error.code === 'ActiveRequestAlreadyExists') return true;
	return /already in progress|already exists|pending machine action|already (been )?(submitted|running)/i.test(
		`${error.apiMessage ?? ''} ${error.message}`,
	);
}

/**
 * Submits a response action unless one of the same type is already active on the machine. Never posts twice: if
 * the POST is refused as a duplicate, the running action is looked up and returned.
 */
export async function submitMachineAction(transport: TransportContext, request: SubmitRequest): Promise<SubmitResult> {
	const existing = (await findActiveActions(transport, request.machineId, request.type, request.sha1))[0];
	if (existing) {
		if (request.ifAlreadyRunning === 'error') throw new ActionAlreadyRunningError(existing);
		return { action: existing, reusedExistingAction: true };
	}
	try {
		const response = await sendDefenderRequest(transport, {
			method: 'POST',
			path: `/api/machines/${pathId(request.machineId, 'Machine ID')}/${request.endpoint}`,
			body: request.body,
			// Read back: an action of this type on this machine, with this comment (and file), created since the request
			// → applied, that action. None → not applied: sending it again is safe, and should the action show up late,
			// Defender refuses the second one as "already in progress", which is resolved below to the running one.
			verify: async ({ sentAt }) => {
				const ours = (await findActions(transport, request.machineId, request.type, request.sha1)).filter(
					(a) => a.requestorComment === request.body.Comment && notBefore(a.creationDateTimeUtc, sentAt),
				);
				return ours.length ? { outcome: 'applied', body: ours[0] } : 'notApplied';
			},
			effect: {
				action: `${request.type} on machine ${request.machineId}`,
				check: `check the machine's actions (Machine Action → Get Many, machine ${request.machineId}, type ${request.type})`,
			},
		});
		return { action: response.body as MachineAction, reusedExistingAction: false };
	} catch (error) {
		if (!isAlreadyRunningError(error)) throw error;
		// Another client won the race. The running action may take a moment to show in the list.
		for (let attempt = 0; attempt < 3; attempt++) {
			if (attempt > 0) await sleep(transportSettings.baseDelayMs * attempt);
			const running = (await findActiveActions(transport, request.machineId, request.type, request.sha1))[0];
			if (running) {
				if (request.ifAlreadyRunning === 'error') throw new ActionAlreadyRunningError(running);
				return { action: running, reusedExistingAction: true };
			}
		}
		throw error;
	}
}

export async function getMachineAction(transport: TransportContext, id: string): Promise<MachineAction> {
	const response = await sendDefenderRequest(transport, {
		method: 'GET',
		path: `/api/machineactions/${pathId(id, 'Machine Action ID')}`,
	});
	return response.body as MachineAction;
}

/** POST /api/machineactions/{id}/cancel; only a Pending action can be cancelled. */
export async function cancelMachineAction(transport: TransportContext, id: string, comment: string): Promise<MachineAction> {
	const response = await sendDefenderRequest(transport, {
		method: 'POST',
		path: `/api/machineactions/${pathId(id, 'Machine Action ID')}/cancel`,
		body: { Comment: comment },
		// Read back: Cancelled → applied, the action; else sending it again is safe (a second cancel of a final
		// action is refused by the API).
		verify: async () => {
			const action = await getMachineAction(transport, id);
			return action.status === 'Cancelled' ? { outcome: 'applied', body: action } : 'notApplied';
		},
		effect: { action: 'Cancel Machine Action', check: `check the status of machine action ${id} (Machine Action → Get)` },
	});
	return response.body as MachineAction;
}

export interface WaitOptions {
	timeoutMs: number;
	pollIntervalMs: number;
	/** The execution's cancel signal: stop waiting (the action keeps running in Defender). */
	signal?: AbortSignal;
}

export interface WaitResult {
	action: MachineAction;
	timedOut: boolean;
	/** The execution was cancelled while waiting. */
	aborted?: boolean;
}

/**
 * Polls GET /api/machineactions/{id} until the action reaches Succeeded, Failed, TimeOut or Cancelled, or until
 * `timeoutMs` has passed. Each poll counts against the 100/min budget of the machine actions API.
 */
export async function waitForMachineAction(
	transport: TransportContext,
	action: MachineAction,
	options: WaitOptions,
): Promise<WaitResult> {
	const deadline = Date.now() + options.timeoutMs;
	let current = action;
	while (!FINAL_STATUSES.includes(current.status)) {
		if (options.signal?.aborted) return { action: current, timedOut: false, aborted: true };
		const remaining = deadline - Date.now();
		if (remaining <= 0) return { action: current, timedOut: true };
		await sleep(Math.min(options.pollIntervalMs, remaining));
		if (options.signal?.aborted) return { action: current, timedOut: false, aborted: true };
		current = await getMachineAction(transport, action.id);
	}
	return { action: current, timedOut: false };
}
