import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { getInvestigation } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'Investigation ID',
		name: 'investigationId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. 63017',
		description:
			"ID of the automated investigation, or the ID of the alert that triggered it (an alert's investigationId is one)",
	},
];

export const description = updateDisplayOptions({ show: { resource: ['investigation'], operation: ['get'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = this.getNodeParameter('investigationId', itemIndex) as unknown;
	return toOutput(this, itemIndex, await getInvestigation(transport, typeof id === 'number' ? String(id) : (id as string)));
}
