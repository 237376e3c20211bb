import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { DefenderApiError, pathId, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

const properties: INodeProperties[] = [
	{
		displayName: 'Indicator ID',
		name: 'indicatorId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. 995',
		description: 'The ID of the indicator to delete (the "ID" field from Get Many or Create)',
	},
];

const displayOptions = { show: { resource: ['indicator'], operation: ['delete'] } };

export const description = updateDisplayOptions(displayOptions, properties);

/** DELETE /api/indicators/{id}; Defender answers 204, the node outputs `{deleted: true, id}`. */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const raw = this.getNodeParameter('indicatorId', itemIndex) as unknown;
	const encoded = pathId(raw, 'Indicator ID');
	const id = String(raw).trim();
	try {
		// Deleting twice deletes no more than once: retried like a read.
		await sendDefenderRequest(transport, { method: 'DELETE', path: `/api/indicators/${encoded}`, idempotent: true });
	} catch (error) {
		// A 404 after an attempt whose answer was lost: that attempt deleted it.
		if (error instanceof DefenderApiError && error.status === 404 && error.afterUnclearAttempt) {
			return toOutput(this, itemIndex, { deleted: true, id });
		}
		throw error;
	}
	return toOutput(this, itemIndex, { deleted: true, id });
}
