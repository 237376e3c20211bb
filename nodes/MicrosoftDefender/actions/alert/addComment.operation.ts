import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { requireText } from '../../helpers/validation';
import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { readAlertTarget, sourceAlertIdLocators } from './source';

const properties: INodeProperties[] = [
	...sourceAlertIdLocators('The alert to comment on'),
	{
		displayName: 'Comment',
		name: 'comment',
		type: 'string',
		typeOptions: { rows: 3 },
		required: true,
		default: '',
		placeholder: 'e.g. Investigated: the file was a signed admin tool',
		description:
			"Text added to the alert's comment history, attributed to the app. Outputs the updated alert (Defender for Endpoint API) or the alert's comment list (Microsoft Graph).",
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['alert'], operation: ['addComment'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const { api, id } = readAlertTarget(this, itemIndex);
	const comment = requireText(this.getNodeParameter('comment', itemIndex, ''), 'Comment');
	return toOutput(this, itemIndex, await api.addComment(transport, id, comment));
}
