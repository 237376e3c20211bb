import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as addComment from './addComment.operation';
import * as batchUpdate from './batchUpdate.operation';
import * as get from './get.operation';
import * as getAll from './getAll.operation';
import * as getRelated from './getRelated.operation';
import { sourceProperties } from './source';
import * as update from './update.operation';

export const operations: Record<string, Operation> = {
	addComment,
	batchUpdate,
	get,
	getAll,
	getRelated,
	update,
};

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['alert'] } },
		options: [
			{
				name: 'Add Comment',
				value: 'addComment',
				description: "Add a comment to an alert's history without changing anything else",
				action: 'Add a comment to an alert',
			},
			{
				name: 'Batch Update',
				value: 'batchUpdate',
				description:
					'Apply the same status, owner, classification, determination or comment to many alerts at once',
				action: 'Update many alerts at once',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get one alert by its ID, with its evidence if asked (always with Microsoft Graph)',
				action: 'Get an alert',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description:
					'List alerts, newest first, filtered by status, severity, category, detection source, owner, incident or time',
				action: 'Get many alerts',
			},
			{
				name: 'Get Related Entities',
				value: 'getRelated',
				description: 'Get the files, IP addresses, domains, machine, user or Defender XDR incident related to an alert',
				action: 'Get entities related to an alert',
			},
			{
				name: 'Update',
				value: 'update',
				description: 'Change the status, owner, classification or determination of an alert, or comment on it',
				action: 'Update an alert',
			},
		],
		default: 'get',
	},
	...sourceProperties,
	...get.description,
	...getAll.description,
	...update.description,
	...batchUpdate.description,
	...addComment.description,
	...getRelated.description,
];
