/**
 * Domain resource: how prevalent a domain is in the organization, and the alerts and machines it was seen in
 * (get-domain-statistics, get-domain-related-alerts, get-domain-related-machines; see helpers/entities.ts).
 */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { domainPath, entityOperations, PERMISSIONS, type Related } from '../../helpers/entities';

const domainProperty: INodeProperties = {
	displayName: 'Domain',
	name: 'domain',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'e.g. example.com',
	description: 'Domain name (host) only, without https:// or a path',
};
const path = (suffix: Related) => (context: IExecuteFunctions, itemIndex: number) =>
	domainPath(context.getNodeParameter('domain', itemIndex), suffix);

export const operations = entityOperations('domain', {
	getStatistics: {
		kind: 'stats',
		properties: [domainProperty],
		path: path('stats'),
		call: { permission: PERMISSIONS.url, what: "Reading a domain's statistics" },
	},
	getRelatedAlerts: {
		kind: 'list',
		properties: [domainProperty],
		path: path('alerts'),
		call: { permission: PERMISSIONS.alertReadWrite, what: "Reading a domain's alerts" },
	},
	getRelatedMachines: {
		kind: 'list',
		properties: [domainProperty],
		path: path('machines'),
		call: { permission: PERMISSIONS.machineRead, what: "Reading a domain's machines" },
	},
});

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['domain'] } },
		options: [
			{
				name: 'Get Related Alerts',
				value: 'getRelatedAlerts',
				description: 'Get the alerts a domain was seen in: one item per alert',
				action: 'Get the alerts related to a domain',
			},
			{
				name: 'Get Related Machines',
				value: 'getRelatedMachines',
				description: 'Get the machines that communicated with a domain (at most 500): one item per machine',
				action: 'Get the machines related to a domain',
			},
			{
				name: 'Get Statistics',
				value: 'getStatistics',
				description:
					'Get how many devices reached a domain and when it was first and last seen, over up to the last 30 days',
				action: 'Get the statistics of a domain',
			},
		],
		default: 'getStatistics',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
