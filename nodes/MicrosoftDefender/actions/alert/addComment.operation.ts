import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { requireText } from '../../helpers/validation';
import { sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { alertIdLocator, alertPath, bodyOr, readAlertId } from './common';

const properties: INodeProperties[] = [
	alertIdLocator('The alert to comment on'),
	{
		displayName: 'Comment',
		name: 'comment',
		type: 'string',
		typeOptions: { rows: 3 },
		required: true,
		default: '',
		placeholder: 'e.g. Investigated: the file was a signed admin tool',
		description: "Text added to the alert's comment history, attributed to the app",
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
	const id = readAlertId(this, itemIndex);
	const comment = requireText(this.getNodeParameter('comment', itemIndex, ''), 'Comment');
	const response = await sendDefenderRequest(transport, {
		method: 'PATCH',
		path: alertPath(id),
		body: { comment },
	});
	return toOutput(this, itemIndex, bodyOr(response.body, { id: id, comment }));
}
