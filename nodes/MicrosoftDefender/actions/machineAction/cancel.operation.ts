import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { requireText, validateGuid } from '../../helpers/validation';
import { cancelMachineAction } from '../../helpers/machineActions';
import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { machineActionIdProperty } from './shared';

const properties: INodeProperties[] = [
	machineActionIdProperty,
	{
		displayName: 'Comment',
		name: 'comment',
		type: 'string',
		default: 'Cancelled from n8n',
		required: true,
		description: 'Why the action is cancelled. Defender requires it.',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['machineAction'], operation: ['cancel'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = validateGuid(this.getNodeParameter('machineActionId', itemIndex), 'Machine Action ID');
	const comment = requireText(this.getNodeParameter('comment', itemIndex), 'Comment');
	return toOutput(this, itemIndex, (await cancelMachineAction(transport, id, comment)) as IDataObject);
}
