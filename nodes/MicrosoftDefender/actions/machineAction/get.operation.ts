import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { getMachineAction } from '../../helpers/machineActions';
import { validateGuid } from '../../helpers/validation';
import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { machineActionIdProperty } from './shared';

const properties: INodeProperties[] = [machineActionIdProperty];

export const description = updateDisplayOptions(
	{ show: { resource: ['machineAction'], operation: ['get'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = validateGuid(this.getNodeParameter('machineActionId', itemIndex), 'Machine Action ID');
	return toOutput(this, itemIndex, await getMachineAction(transport, id));
}
