import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { alertIdLocator, alertPath, bodyOr, enumValue, readAlertId } from './common';

/** Related-entity endpoints of an alert (reference §2.5): lists return `value[]`, machine and user one object. */
const ENTITIES = [
	{ name: 'Domains', value: 'domains', description: 'Domains (URL hosts) seen in the alert: one item per domain' },
	{ name: 'Files', value: 'files', description: 'Files involved in the alert, with hashes and prevalence: one item per file' },
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
	const response = await sendDefenderRequest(transport, { method: 'GET', path: alertPath(id, entity) });
	const body = response.body as IDataObject | undefined;
	if (entity === 'machine' || entity === 'user') {
		return toOutput(this, itemIndex, bodyOr(body, {}));
	}
	const list = Array.isArray(body?.value) ? (body.value as IDataObject[]) : [];
	return toOutput(this, itemIndex, list);
}
