import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { buildIndicatorBody, indicatorProperties, inputFromParameters, readBackIndicators } from './fields';

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
	const response = await sendDefenderRequest(transport, {
		method: 'POST',
		path: '/api/indicators',
		body,
		// Read back by value: there with the fields sent → applied (the indicator as listed); else sending it again is
		// safe, since the API updates the indicator with the same type and value rather than adding one.
		verify: async () => {
			const [indicator] = (await readBackIndicators(transport, [body])) ?? [];
			return indicator ? { outcome: 'applied', body: indicator } : 'notApplied';
		},
		effect: {
			action: 'Create Indicator',
			check: `check whether indicator ${String(body.indicatorValue)} exists with these values (Indicator → Get Many)`,
		},
	});
	const { '@odata.context': _context, ...indicator } = (response.body ?? {}) as IDataObject;
	return toOutput(this, itemIndex, indicator);
}
