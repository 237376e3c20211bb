/**
 * User resource: the alerts of a user and the machines the user logged on to (get-user-related-alerts,
 * get-user-related-machines; see helpers/entities.ts). Defender identifies the user by account name: "The ID is
 * not the full UPN, but only the user name"; a UPN or DOMAIN\user is refused before any request, naming the
 * account name to use instead (validateAccountName).
 */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { entityOperations, PERMISSIONS, userPath, type Related } from '../../helpers/entities';

const userProperty: INodeProperties = {
	displayName: 'User Name',
	name: 'userName',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'e.g. user1',
	description:
		"Account name of the user, without domain: for user1@contoso.com, user1. An alert's relatedUser.userName is one.",
};
const path = (suffix: Related) => (context: IExecuteFunctions, itemIndex: number) =>
	userPath(context.getNodeParameter('userName', itemIndex), suffix);

export const operations = entityOperations('user', {
	getRelatedAlerts: {
		kind: 'list',
		properties: [userProperty],
		path: path('alerts'),
		call: { permission: PERMISSIONS.alertRead, what: "Reading a user's alerts" },
	},
	getRelatedMachines: {
		kind: 'list',
		properties: [userProperty],
		path: path('machines'),
		call: { permission: PERMISSIONS.machineReadWrite, what: "Reading a user's machines" },
		// Earlier versions of the page answered 404 for an unknown user; the current one an empty set.
		notFoundIsEmpty: true,
	},
});

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['user'] } },
		options: [
			{
				name: 'Get Related Alerts',
				value: 'getRelatedAlerts',
				description: 'Get the alerts related to a user: one item per alert',
				action: 'Get the alerts related to a user',
			},
			{
				name: 'Get Related Machines',
				value: 'getRelatedMachines',
				description: 'Get the machines a user logged on to: one item per machine',
				action: 'Get the machines related to a user',
			},
		],
		default: 'getRelatedAlerts',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
