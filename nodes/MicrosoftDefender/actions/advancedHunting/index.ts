import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as runQuery from './runQuery.operation';

export const operations: Record<string, Operation> = {
	runQuery,
};

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['advancedHunting'] } },
		options: [
			{
				name: 'Run Query',
				value: 'runQuery',
				description: 'Run a KQL advanced hunting query and output its rows',
				action: 'Run an advanced hunting query',
			},
		],
		default: 'runQuery',
	},
	...runQuery.description,
];
