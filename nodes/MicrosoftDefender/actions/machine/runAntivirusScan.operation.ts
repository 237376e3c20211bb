import type { INodeProperties } from 'n8n-workflow';

import { responseAction } from './responseAction';

const properties: INodeProperties[] = [
	{
		displayName: 'Scan Type',
		name: 'scanType',
		type: 'options',
		default: 'Quick',
		options: [
			{ name: 'Quick', value: 'Quick', description: 'Scan the locations where malware is usually found' },
			{ name: 'Full', value: 'Full', description: 'Scan every file on the machine (can take hours)' },
		],
	},
];

export const { description, execute } = responseAction({
	operation: 'runAntivirusScan',
	type: 'RunAntiVirusScan',
	endpoint: 'runAntiVirusScan',
	properties,
	body: (context, itemIndex) => ({
		fields: { ScanType: context.getNodeParameter('scanType', itemIndex, 'Quick') as string },
	}),
});
