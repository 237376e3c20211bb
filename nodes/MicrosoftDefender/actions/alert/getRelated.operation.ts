import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { PERMISSIONS, readEntity, readEntityList, type EntityCall } from '../../helpers/entities';
import { sendDefenderRequest, type TransportContext } from '../../transport';
import { readIncident, withIncidentPermission } from '../incident/common';
import { toOutput, updateDisplayOptions } from '../utils';
import { alertIdLocator, alertPath, bodyOr, enumValue, readAlertId } from './common';

/**
 * Related-entity endpoints of an alert (reference §2.5): lists return `value[]`, machine and user one object. The
 * incident is not one of them: it is read from Microsoft Graph (security-incident-get) by the alert's incidentId.
 */
const ENTITIES = [
	{ name: 'Domains', value: 'domains', description: 'Domains (URL hosts) seen in the alert: one item per domain' },
	{ name: 'Files', value: 'files', description: 'Files involved in the alert, with hashes and prevalence: one item per file' },
	{
		name: 'Incident',
		value: 'incident',
		description:
			"The Defender XDR incident the alert belongs to, read with Microsoft Graph (needs the Graph permission SecurityIncident.Read.All); no item when the alert has no incident",
	},
	{ name: 'IP Addresses', value: 'ips', description: 'IP addresses seen in the alert: one item per address' },
	{ name: 'Machine', value: 'machine', description: 'The device the alert was raised on' },
	{ name: 'User', value: 'user', description: 'The user account related to the alert' },
];

const properties: INodeProperties[] = [
	alertIdLocator('The alert whose related entities to retrieve'),
	{
		displayName: 'Entity Type',
		name: 'entityType',
		type: 'options',
		options: ENTITIES,
		default: 'files',
		description: 'Which related entities to retrieve',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['alert'], operation: ['getRelated'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = readAlertId(this, itemIndex);
	const entity = enumValue(this.getNodeParameter('entityType', itemIndex, 'files'), ENTITIES, 'Entity Type');
	if (entity === 'incident') return toOutput(this, itemIndex, await alertIncident(transport, id));
	const call = ENTITY_CALLS[entity];
	// The same reads as the File, IP, Domain and User resources (helpers/entities.ts): lists as one item per entry.
	if (entity === 'machine' || entity === 'user') {
		return toOutput(this, itemIndex, await readEntity(transport, alertPath(id, entity), call));
	}
	return toOutput(this, itemIndex, await readEntityList(transport, alertPath(id, entity), call));
}

/** The permission each related-entity call needs (get-alert-related-*-info), named in a 403. */
const ENTITY_CALLS: Record<string, EntityCall> = {
	domains: { permission: PERMISSIONS.url, what: "Reading an alert's domains" },
	files: { permission: PERMISSIONS.file, what: "Reading an alert's files" },
	ips: { permission: PERMISSIONS.ip, what: "Reading an alert's IP addresses" },
	machine: { permission: PERMISSIONS.machineRead, what: "Reading an alert's machine" },
	user: { permission: PERMISSIONS.user, what: "Reading an alert's user" },
};

/**
 * The alert's incident: its `incidentId` (Nullable Long, `GET /api/alerts/{id}`), then that incident from Microsoft
 * Graph (`GET /v1.0/security/incidents/{incidentId}`). No incident: no item, as for an empty list of entities.
 */
async function alertIncident(transport: TransportContext, alertId: string): Promise<IDataObject[]> {
	const alert = bodyOr((await sendDefenderRequest(transport, { method: 'GET', path: alertPath(alertId) })).body, {});
	const incidentId = alert.incidentId;
	if (incidentId === undefined || incidentId === null || String(incidentId).trim() === '') return [];
	return [await withIncidentPermission(false, async () => await readIncident(transport, String(incidentId)))];
}
