import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { alertIdLocator, alertPath, bodyOr, readAlertId } from './common';

const properties: INodeProperties[] = [
	alertIdLocator('The alert to retrieve'),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Include Evidence',
				name: 'includeEvidence',
				type: 'boolean',
				default: false,
				description:
					'Whether to include the evidence of the alert (files, processes, users, IP addresses, URLs, registry values)',
			},
		],
	},
];

export const description = updateDisplayOptions({ show: { resource: ['alert'], operation: ['get'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = readAlertId(this, itemIndex);
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const response = await sendDefenderRequest(transport, {
		method: 'GET',
		path: alertPath(id),
		qs: options.includeEvidence === true ? { $expand: 'evidence' } : undefined,
	});
	return toOutput(this, itemIndex, bodyOr(response.body, { id }));
}
