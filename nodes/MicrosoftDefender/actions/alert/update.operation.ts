import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { bodyOr, readChanges, requireChanges } from './common';
import { alertUpdateVerifier, readAlertTarget, sourceAlertIdLocators, sourceChangeProperties } from './source';

const properties: INodeProperties[] = [...sourceAlertIdLocators('The alert to update'), ...sourceChangeProperties];

export const description = updateDisplayOptions({ show: { resource: ['alert'], operation: ['update'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const { source, api, id } = readAlertTarget(this, itemIndex);
	const changes = readChanges(this, itemIndex, api.changes);
	requireChanges(changes, api.changes);
	const { comment, ...fields } = changes;
	// Only the fields being changed are sent: the API keeps (or recalculates) everything else.
	const response = await api.send(transport, {
		method: 'PATCH',
		path: api.path(id),
		body: changes,
		verify: alertUpdateVerifier(api, transport, id, fields, typeof comment === 'string' ? comment : undefined),
		effect: {
			action: 'Update',
			check:
				source === 'mde'
					? "check the alert's status, owner, classification, determination and comments"
					: "check the alert's status, owner, classification and determination",
		},
	});
	return toOutput(this, itemIndex, bodyOr(response.body, { id, ...changes }));
}
