import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { alertIdLocator, alertPath, bodyOr, changeProperties, readAlertId, readChanges, requireChanges } from './common';

const properties: INodeProperties[] = [alertIdLocator('The alert to update'), ...changeProperties];

export const description = updateDisplayOptions({ show: { resource: ['alert'], operation: ['update'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = readAlertId(this, itemIndex);
	const changes = readChanges(this, itemIndex);
	requireChanges(changes);
	// Only the fields being changed are sent: the API keeps (or recalculates) everything else.
	const response = await sendDefenderRequest(transport, { method: 'PATCH', path: alertPath(id), body: changes });
	return toOutput(this, itemIndex, bodyOr(response.body, { id, ...changes }));
}
