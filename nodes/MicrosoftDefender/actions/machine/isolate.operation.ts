import type { INodeProperties } from 'n8n-workflow';

import { responseAction } from './responseAction';

const properties: INodeProperties[] = [
	{
		displayName: 'Isolation Type',
		name: 'isolationType',
		type: 'options',
		default: 'Full',
		options: [
			{
				name: 'Full',
				value: 'Full',
				description: 'Cut all network connections except to the Defender service',
			},
			{
				name: 'Selective',
				value: 'Selective',
				description: 'Like Full, but Outlook, Teams and Skype for Business keep working (Windows 10 1709+)',
			},
			{
				name: 'Unmanaged Device (Contain)',
				value: 'UnManagedDevice',
				description: 'Contain a device that is not onboarded: onboarded devices stop talking to it',
			},
		],
	},
];

export const { description, execute } = responseAction({
	operation: 'isolate',
	type: 'Isolate',
	endpoint: 'isolate',
	properties,
	body: (context, itemIndex) => ({
		fields: { IsolationType: context.getNodeParameter('isolationType', itemIndex, 'Full') as string },
	}),
	destructiveNotice:
		'Destructive: isolating cuts the machine off the network until it is released. Consider a human approval step before this node in agent workflows.',
});
