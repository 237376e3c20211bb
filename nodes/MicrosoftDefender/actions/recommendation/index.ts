import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as get from './get.operation';
import * as getAll from './getAll.operation';

export const operations: Record<string, Operation> = { get, getAll };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['recommendation'] } },
		options: [
			{
				name: 'Get',
				value: 'get',
				description: 'Get a security recommendation by ID',
				action: 'Get a security recommendation',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List security recommendations, filtered by category, remediation type, status, product or severity score',
				action: 'Get many security recommendations',
			},
		],
		default: 'getAll',
	},
	...get.description,
	...getAll.description,
];
