/**
 * IP Address resource: how prevalent an address is in the organization and the alerts it was seen in
 * (get-ip-statistics, get-ip-related-alerts; see helpers/entities.ts). Defender answers 400 for an invalid address,
 * which is refused here before any request.
 */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { entityOperations, ipPath, PERMISSIONS, type Related } from '../../helpers/entities';

const ipProperty: INodeProperties = {
	displayName: 'IP Address',
	name: 'ipAddress',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'e.g. 10.209.67.177',
	description: 'IPv4 or IPv6 address',
};
const path = (suffix: Related) => (context: IExecuteFunctions, itemIndex: number) =>
	ipPath(context.getNodeParameter('ipAddress', itemIndex), suffix);

export const operations = entityOperations('ip', {
	getStatistics: {
		kind: 'stats',
		properties: [ipProperty],
		path: path('stats'),
		call: { permission: PERMISSIONS.ip, what: "Reading an IP address's statistics" },
	},
	getRelatedAlerts: {
		kind: 'list',
		properties: [ipProperty],
		path: path('alerts'),
		call: { permission: PERMISSIONS.alertRead, what: "Reading an IP address's alerts" },
	},
});

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['ip'] } },
		options: [
			{
				name: 'Get Related Alerts',
				value: 'getRelatedAlerts',
				description: 'Get the alerts an IP address was seen in: one item per alert',
				action: 'Get the alerts related to an IP address',
			},
			{
				name: 'Get Statistics',
				value: 'getStatistics',
				description:
					'Get how many devices connected to an IP address and when it was first and last seen, over up to the last 30 days',
				action: 'Get the statistics of an IP address',
			},
		],
		default: 'getStatistics',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
