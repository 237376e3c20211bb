import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import {
	includeAlertsProperty,
	incidentIdLocator,
	readIncident,
	readIncidentId,
	readIncidentWithAlerts,
	withIncidentPermission,
} from './common';

const properties: INodeProperties[] = [incidentIdLocator('The incident to retrieve'), includeAlertsProperty('the incident')];

export const description = updateDisplayOptions({ show: { resource: ['incident'], operation: ['get'] } }, properties);

/** Get incident (security-incident-get): `GET /v1.0/security/incidents/{id}`, `$expand=alerts` when asked. */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = readIncidentId(this, itemIndex);
	const includeAlerts = this.getNodeParameter('includeAlerts', itemIndex, false) === true;
	const incident: IDataObject = await withIncidentPermission(false, async () =>
		includeAlerts ? await readIncidentWithAlerts(transport, id) : await readIncident(transport, id),
	);
	return toOutput(this, itemIndex, incident);
}
