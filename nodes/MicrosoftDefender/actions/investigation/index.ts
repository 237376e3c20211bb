import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as get from './get.operation';
import * as getAll from './getAll.operation';
import * as start from './start.operation';

export const operations: Record<string, Operation> = { get, getAll, start };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['investigation'] } },
		options: [
			{
				name: 'Get',
				value: 'get',
				description: 'Get an automated investigation by its ID or the ID of the alert that triggered it',
				action: 'Get an automated investigation',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List automated investigations, filtered by state, machine, triggering alert or start time',
				action: 'Get many automated investigations',
			},
			{
				name: 'Start',
				value: 'start',
				description:
					'Start an automated investigation on a machine, unless one is already running there (Windows 10 1709+, Windows 11, Windows Server 2019+)',
				action: 'Start an automated investigation on a machine',
			},
		],
		default: 'get',
	},
	...get.description,
	...getAll.description,
	...start.description,
];
