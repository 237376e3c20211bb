import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { buildIndicatorBody, indicatorProperties, inputFromParameters } from './fields';

const properties: INodeProperties[] = [
	{
		displayName:
			'Creates the indicator, or updates the existing one with the same value. Block and Block and Remediate stop files or connections on every device in scope: consider a human approval step before this node in agent workflows.',
		name: 'createNotice',
		type: 'notice',
		default: '',
	},
	...indicatorProperties(),
];

const displayOptions = { show: { resource: ['indicator'], operation: ['create'] } };

export const description = updateDisplayOptions(displayOptions, properties);

/** POST /api/indicators with the validated camelCase body (reference §3.4); outputs the indicator. */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const body = buildIndicatorBody(
		inputFromParameters((name, fallback) => this.getNodeParameter(name, itemIndex, fallback)),
	);
	const response = await sendDefenderRequest(transport, { method: 'POST', path: '/api/indicators', body });
	const { '@odata.context': _context, ...indicator } = (response.body ?? {}) as IDataObject;
	return toOutput(this, itemIndex, indicator);
}
