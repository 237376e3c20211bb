import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { requireText } from '../../helpers/validation';
import { DefenderApiError, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

const properties: INodeProperties[] = [
	{
		displayName: 'Tag',
		name: 'tag',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. VIP',
		description: 'Machine tag to look for',
	},
	{
		displayName: 'Match Tags Starting With',
		name: 'useStartsWithFilter',
		type: 'boolean',
		default: false,
		description: 'Whether to also match tags that start with this text, not only the exact tag',
	},
];

export const description = updateDisplayOptions({ show: { resource: ['machine'], operation: ['findByTag'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const tag = requireText(this.getNodeParameter('tag', itemIndex), 'Tag');
	const useStartsWithFilter = this.getNodeParameter('useStartsWithFilter', itemIndex, false) as boolean;
	let machines: IDataObject[] = [];
	try {
		const response = await sendDefenderRequest(transport, {
			method: 'GET',
			path: '/api/machines/findbytag',
			qs: { tag, useStartsWithFilter },
		});
		machines = (response.body as { value?: IDataObject[] })?.value ?? [];
	} catch (error) {
		if (!(error instanceof DefenderApiError && error.status === 404)) throw error;
	}
	return toOutput(this, itemIndex, machines);
}
