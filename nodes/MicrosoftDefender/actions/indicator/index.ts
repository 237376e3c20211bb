import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as create from './create.operation';
import * as del from './delete.operation';
import * as getAll from './getAll.operation';
import * as importIndicators from './import.operation';

export const operations: Record<string, Operation> = {
	create,
	delete: del,
	getAll,
	import: importIndicators,
};

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['indicator'] } },
		options: [
			{
				name: 'Create',
				value: 'create',
				description:
					'Create or update a custom indicator (file hash, certificate, IP, domain, URL). Block actions are destructive: consider a human approval step first in agent workflows.',
				action: 'Create an indicator',
			},
			{
				name: 'Delete',
				value: 'delete',
				description: 'Delete an indicator by ID',
				action: 'Delete an indicator',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List indicators, filtered by type, action, value, severity or creator',
				action: 'Get many indicators',
			},
			{
				name: 'Import',
				value: 'import',
				description:
					'Create or update many indicators at once from the input items, 500 per API call. Block actions are destructive: consider a human approval step first in agent workflows.',
				action: 'Import indicators',
			},
		],
		default: 'create',
	},
	...create.description,
	...del.description,
	...getAll.description,
	...importIndicators.description,
];
