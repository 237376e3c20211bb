import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { bodyOr, includeEvidenceOptions } from './common';
import { readAlertTarget, sourceAlertIdLocators } from './source';

const properties: INodeProperties[] = [
	...sourceAlertIdLocators('The alert to retrieve'),
	includeEvidenceOptions('the alert'),
];

export const description = updateDisplayOptions({ show: { resource: ['alert'], operation: ['get'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const { source, api, id } = readAlertTarget(this, itemIndex);
	const options = source === 'mde' ? (this.getNodeParameter('options', itemIndex, {}) as IDataObject) : {};
	const response = await api.send(transport, {
		method: 'GET',
		path: api.path(id),
		qs: options.includeEvidence === true ? { $expand: 'evidence' } : undefined,
	});
	return toOutput(this, itemIndex, bodyOr(response.body, { id }));
}
