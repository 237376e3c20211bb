/**
 * Automated investigations (AIR) of Defender for Endpoint, as Microsoft's pages describe them
 * (learn.microsoft.com/en-us/defender-endpoint/api/…):
 * - investigation: id (String, e.g. "63017"), startTime, endTime, cancelledBy, state, statusDetails, machineId,
 *   computerDnsName, triggeringAlertId; the 18 states below.
 * - get-investigation-collection: `GET /api/investigations`, `$filter` on startTime, id, state, machineId and
 *   triggeringAlertId, `$top` ≤ 10,000 (the page writes "$stop"), `$skip`; Alert.Read.All or Alert.ReadWrite.All;
 *   100 calls a minute, 1,500 an hour.
 * - get-investigation-object: `GET /api/investigations/{id}`, "ID can be the investigation ID or the investigation
 *   triggering alert ID"; Alert.Read.All or Alert.ReadWrite.All.
 * - initiate-autoir-investigation: `POST /api/machines/{id}/startInvestigation` `{"Comment": "…"}` (required) →
 *   201 + Investigation; Alert.ReadWrite.All; 50 calls an hour; Windows 10 1709+, Windows 11, Windows Server 2019+,
 *   Azure Stack HCI 23H2+ only.
 */
import type { IDataObject, INodePropertyOptions } from 'n8n-workflow';

import { PERMISSIONS, type EntityCall } from '../../helpers/entities';
import { withPermissionHint } from '../../helpers/liveResponse';
import { requireText } from '../../helpers/validation';
import { InvalidInputError, mdeListStable, odataString, pathId, sendDefenderRequest, type TransportContext } from '../../transport';
import { bodyOr } from '../alert/common';
import { ALERT_ID_PATTERN } from '../alert/common';

export const INVESTIGATIONS_PATH = '/api/investigations';

export const INVESTIGATION_STATES: INodePropertyOptions[] = [
	{ name: 'Benign', value: 'Benign' },
	{ name: 'Failed', value: 'Failed' },
	{ name: 'Inner Failure', value: 'InnerFailure' },
	{ name: 'Partially Investigated', value: 'PartiallyInvestigated' },
	{ name: 'Partially Remediated', value: 'PartiallyRemediated' },
	{ name: 'Pending Approval', value: 'PendingApproval' },
	{ name: 'Pending Resource', value: 'PendingResource' },
	// Hyphenated: n8n replaces an error message containing "EEXIST" (any case) with a file-system message.
	{ name: 'Pre-Existing Alert', value: 'PreexistingAlert' },
	{ name: 'Queued', value: 'Queued' },
	{ name: 'Running', value: 'Running' },
	{ name: 'Successfully Remediated', value: 'SuccessfullyRemediated' },
	{ name: 'Suppressed Alert', value: 'SuppressedAlert' },
	{ name: 'Terminated', value: 'Terminated' },
	{ name: 'Terminated by System', value: 'TerminatedBySystem' },
	{ name: 'Terminated by User', value: 'TerminatedByUser' },
	{ name: 'Unknown', value: 'Unknown' },
	{ name: 'Unsupported Alert Type', value: 'UnsupportedAlertType' },
	{ name: 'Unsupported OS', value: 'UnsupportedOs' },
];

/** States of an investigation that has not ended: it is queued, running, or waiting for an approval or a resource. */
export const ACTIVE_STATES = ['Queued', 'Running', 'PendingApproval', 'PendingResource'];

export const READ_CALL: EntityCall = { permission: PERMISSIONS.alertRead, what: 'Reading automated investigations' };
export const START_CALL: EntityCall = { permission: 'Alert.ReadWrite.All', what: 'Starting an automated investigation' };

const INVESTIGATION_ID_RE = /^\d{1,19}$/;
const ALERT_ID_RE = new RegExp(ALERT_ID_PATTERN);

/** An investigation id (a number such as 63017) or the id of the alert that triggered it; returned trimmed. */
export function validateInvestigationId(value: unknown, field = 'Investigation ID'): string {
	const id = requireText(typeof value === 'number' ? String(value) : value, field);
	if (!INVESTIGATION_ID_RE.test(id) && !ALERT_ID_RE.test(id)) {
		throw new InvalidInputError(
			`${field} "${id.slice(0, 80)}" is neither an investigation ID (a number such as 63017) nor the ID of the alert that triggered it (such as da637139127150012465_1011995739).`,
		);
	}
	return id;
}

/** Runs reads or a start, naming the permission in a 403. */
export async function withPermission<T>(call: EntityCall, work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		throw withPermissionHint(error, call.permission, call.what);
	}
}

/** GET /api/investigations/{id}. */
export async function getInvestigation(transport: TransportContext, id: string): Promise<IDataObject> {
	const path = `${INVESTIGATIONS_PATH}/${pathId(validateInvestigationId(id), 'Investigation ID')}`;
	return await withPermission(READ_CALL, async () => bodyOr((await sendDefenderRequest(transport, { method: 'GET', path })).body, {}));
}

/** Every investigation matching `$filter`, up to `limit`, read page by page (see mdeListStable). */
export async function listInvestigations(transport: TransportContext, filter: string | undefined, limit?: number): Promise<IDataObject[]> {
	return await withPermission(READ_CALL, async () => await mdeListStable(transport, INVESTIGATIONS_PATH, { $filter: filter }, { limit }));
}

/** Every investigation of a machine (any state), newest first. */
export async function machineInvestigations(transport: TransportContext, machineId: string): Promise<IDataObject[]> {
	const all = await listInvestigations(transport, `machineId eq ${odataString(machineId)}`);
	return all
		// Filtered again: a service that ignored the filter must not make another machine's investigation ours.
		.filter((i) => String(i.machineId ?? '').toLowerCase() === machineId.toLowerCase())
		.sort((a, b) => String(b.startTime ?? '').localeCompare(String(a.startTime ?? '')));
}
