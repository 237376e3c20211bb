import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { getMachine, machineLocator, resolveMachine } from './shared';

const properties: INodeProperties[] = [machineLocator];

export const description = updateDisplayOptions({ show: { resource: ['machine'], operation: ['get'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const { id, machine } = await resolveMachine(this, itemIndex, transport);
	// A machine found by name was already fetched by the lookup.
	return toOutput(this, itemIndex, machine ?? (await getMachine(transport, id)));
}
