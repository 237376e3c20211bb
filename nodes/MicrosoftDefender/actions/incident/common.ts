/**
 * Microsoft Graph security incidents (reference mde-api.md §6.1, §6.3): paths, ids, the `Prefer` header, the
 * permission named in a 403, and the reads the operations share. Microsoft's pages:
 * - resources/security-incident.md (https://learn.microsoft.com/en-us/graph/api/resources/security-incident):
 *   properties, `incidentStatus` (active, resolved, inProgress, redirected, unknownFutureValue, awaitingAction;
 *   awaitingAction is an evolvable member, returned only with `Prefer: include-unknown-enum-members`).
 * - security-incident-get.md (https://learn.microsoft.com/en-us/graph/api/security-incident-get):
 *   `GET /security/incidents/{incidentId}`, `$expand=alerts`; SecurityIncident.Read.All.
 * - security-incident-update.md (https://learn.microsoft.com/en-us/graph/api/security-incident-update):
 *   `PATCH /security/incidents/{incidentId}` → 200 with the updated incident; SecurityIncident.ReadWrite.All.
 * - security-incident-post-comments.md (https://learn.microsoft.com/en-us/graph/api/security-incident-post-comments):
 *   `POST /security/incidents/{incidentId}/comments` `{"@odata.type":"microsoft.graph.security.alertComment",
 *   "comment":"…"}` → 200 with every comment of the incident; SecurityIncident.ReadWrite.All.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { requireText } from '../../helpers/validation';
import {
	DefenderApiError,
	InvalidInputError,
	pathId,
	WriteOutcomeUnknownError,
	type DefenderRequest,
	type RawResponse,
	type TransportContext,
} from '../../transport';
import { IncidentPageReader } from '../../scan/incidentAlerts';
import { graphIncidentSource } from '../../scan/sources';
import { bodyOr } from '../alert/common';
import { sendGraphRequest } from '../alert/graph';

export const INCIDENTS_PATH = '/v1.0/security/incidents';

/** Graph incident ids are decimal numbers (`2972395`; the id field is a String holding digits). */
export const INCIDENT_ID_PATTERN = '^\\d{1,19}$';
const INCIDENT_ID_RE = new RegExp(INCIDENT_ID_PATTERN);

/**
 * A Defender portal link to an incident: `https://security.microsoft.com/incidents/<id>?tid=…` (the
 * incidentWebUrl Graph returns) or the portal's newer `…/incident2/<id>/overview?tid=…`; group 1 is the id.
 */
export const INCIDENT_URL_PATTERN = '^https?://[^/]+/incident(?:s|2)/(\\d{1,19})(?:[/?#].*)?$';

export const READ_PERMISSION = 'SecurityIncident.Read.All';
export const WRITE_PERMISSION = 'SecurityIncident.ReadWrite.All';

/** Checks an incident id (digits only); returns it trimmed (put it in a URL path only through `pathId`). */
export function validateIncidentId(value: unknown, field = 'Incident ID'): string {
	const id = requireText(typeof value === 'number' ? String(value) : value, field);
	if (!INCIDENT_ID_RE.test(id)) {
		throw new InvalidInputError(
			`${field} "${id.slice(0, 80)}" is not a Microsoft Defender incident ID: incident IDs are numbers such as 2972395. Pick the incident from the list, paste its portal link, or enter its number.`,
		);
	}
	return id;
}

/** `/v1.0/security/incidents/{id}[/suffix]`, the id checked (digits) and encoded by `pathId`. */
export function incidentPath(id: string, suffix = '', field = 'Incident ID'): string {
	return `${INCIDENTS_PATH}/${pathId(validateIncidentId(id, field), field)}${suffix ? `/${suffix}` : ''}`;
}

/** The `incidentId` resource locator: one of the newest incidents, its portal link, or its number. */
export function incidentIdLocator(description: string): INodeProperties {
	return {
		displayName: 'Incident',
		name: 'incidentId',
		type: 'resourceLocator',
		default: { mode: 'list', value: '' },
		required: true,
		description,
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				placeholder: 'Select an incident...',
				typeOptions: { searchListMethod: 'searchIncidents', searchable: true },
			},
			{
				displayName: 'By URL',
				name: 'url',
				type: 'string',
				placeholder: 'e.g. https://security.microsoft.com/incidents/2972395?tid=…',
				validation: [
					{
						type: 'regex',
						properties: {
							regex: INCIDENT_URL_PATTERN,
							errorMessage: 'Not a Microsoft Defender portal incident URL',
						},
					},
				],
				extractValue: { type: 'regex', regex: INCIDENT_URL_PATTERN },
			},
			{
				displayName: 'By ID',
				name: 'id',
				type: 'string',
				placeholder: 'e.g. 2972395',
				validation: [
					{
						type: 'regex',
						properties: {
							regex: INCIDENT_ID_PATTERN,
							errorMessage: 'Not a valid incident ID (a number, e.g. 2972395)',
						},
					},
				],
			},
		],
	};
}

/** The validated incident id of the `incidentId` locator. */
export function readIncidentId(context: IExecuteFunctions, itemIndex: number): string {
	const value = context.getNodeParameter('incidentId', itemIndex, '', { extractValue: true });
	return validateIncidentId(value, 'Incident ID');
}

/**
 * A 403 from Graph names the permission the call needs (the transport's generic description only says one is
 * missing): incidents need SecurityIncident.Read.All (SecurityIncident.ReadWrite.All to change them), the alerts
 * read for an incident (the `$expand=alerts` fallback) SecurityAlert.Read.All.
 */
export function withPermissionHint(error: unknown, write: boolean): unknown {
	if (!(error instanceof DefenderApiError) || error instanceof WriteOutcomeUnknownError || error.status !== 403) return error;
	const permission = error.message.includes('/security/alerts_v2')
		? 'the Microsoft Graph application permission SecurityAlert.Read.All (or SecurityAlert.ReadWrite.All), to read the alerts of the incident'
		: write
			? `the Microsoft Graph application permission ${WRITE_PERMISSION}`
			: `the Microsoft Graph application permission ${READ_PERMISSION} (or ${WRITE_PERMISSION})`;
	return error.withMessage(
		`${error.message.replace(/[.\s]+$/, '')}. This needs ${permission}, with admin consent granted, on the app registration.`,
	);
}

/** Runs an operation's requests, adding the permission to a 403 (see `withPermissionHint`). */
export async function withIncidentPermission<T>(write: boolean, work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		throw withPermissionHint(error, write);
	}
}

/** One Graph call with the Graph token and `Prefer: include-unknown-enum-members` (awaitingAction). */
export async function sendIncidentRequest(
	transport: TransportContext,
	request: Omit<DefenderRequest, 'api'>,
): Promise<RawResponse> {
	return await sendGraphRequest(transport, request);
}

/** The incident as Get incident returns it (without `@odata.context`). */
export async function readIncident(transport: TransportContext, id: string): Promise<IDataObject> {
	const response = await sendIncidentRequest(transport, { method: 'GET', path: incidentPath(id) });
	return bodyOr(response.body, { id });
}

/**
 * The incident with its alerts: `$expand=alerts`, or, when that fails with a 5xx, the incident without it and its
 * alerts from alerts_v2 (the trigger's fallback, scan/incidentAlerts.ts).
 */
export async function readIncidentWithAlerts(transport: TransportContext, id: string): Promise<IDataObject> {
	const reader = new IncidentPageReader(transport, graphIncidentSource, undefined, Date.now());
	return bodyOr(await reader.readOne(incidentPath(id)), { id });
}

/** Options shared by Get and Get Many. */
export function includeAlertsProperty(subject: 'the incident' | 'each incident'): INodeProperties {
	return {
		displayName: 'Include Alerts',
		name: 'includeAlerts',
		type: 'boolean',
		default: false,
		description: `Whether to include the alerts of ${subject}, with their evidence, in an "alerts" list. Where Defender fails to expand them (it can on large tenants), they are read from the alerts API instead, which needs SecurityAlert.Read.All.`,
	};
}

/** The comments of an incident as `hasCommentSince` reads them (alertComment: comment, createdDateTime). */
export function incidentComments(incident: IDataObject): Array<{ text: unknown; time: unknown }> {
	return (Array.isArray(incident.comments) ? (incident.comments as IDataObject[]) : []).map((c) => ({
		text: c.comment,
		time: c.createdDateTime,
	}));
}
