import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as addComment from './addComment.operation';
import * as get from './get.operation';
import * as getAll from './getAll.operation';
import * as update from './update.operation';

export const operations: Record<string, Operation> = {
	addComment,
	get,
	getAll,
	update,
};

export const description: INodeProperties[] = [
	{
		displayName:
			'Incidents are read and changed through Microsoft Graph: the app registration needs the Graph permission SecurityIncident.Read.All, or SecurityIncident.ReadWrite.All to update or comment',
		name: 'incidentNotice',
		type: 'notice',
		displayOptions: { show: { resource: ['incident'] } },
		default: '',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['incident'] } },
		options: [
			{
				name: 'Add Comment',
				value: 'addComment',
				description: "Add a comment to an incident's history in Defender, without changing anything else",
				action: 'Add a comment to an incident',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get one Defender XDR incident by its ID, with its alerts if asked',
				action: 'Get an incident',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description:
					'List incidents, newest first, filtered by status, severity, classification, determination, owner or creation time',
				action: 'Get many incidents',
			},
			{
				name: 'Update',
				value: 'update',
				description:
					'Change the status, owner, classification, determination, resolving comment or tags of an incident in Defender',
				action: 'Update an incident',
			},
		],
		default: 'get',
	},
	...get.description,
	...getAll.description,
	...update.description,
	...addComment.description,
];
