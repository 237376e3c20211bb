import type { INodeProperties } from 'n8n-workflow';

import { validateSha1 } from '../../helpers/validation';
import { responseAction } from './responseAction';

const properties: INodeProperties[] = [
	{
		displayName: 'File SHA-1',
		name: 'sha1',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. 87662bc3d60e4200ceaf7aae249d1c343f4b83c9',
		description: 'SHA-1 hash of the file to stop and quarantine (40 hexadecimal characters)',
	},
];

export const { description, execute } = responseAction({
	operation: 'stopAndQuarantineFile',
	type: 'StopAndQuarantineFile',
	endpoint: 'StopAndQuarantineFile',
	properties,
	body: (context, itemIndex) => {
		const sha1 = validateSha1(context.getNodeParameter('sha1', itemIndex), 'File SHA-1');
		return { fields: { Sha1: sha1 }, sha1 };
	},
	destructiveNotice:
		'Destructive: running processes of this file are stopped and the file is quarantined. Consider a human approval step before this node in agent workflows.',
});
