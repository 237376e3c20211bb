import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as cancel from './cancel.operation';
import * as downloadInvestigationPackage from './downloadInvestigationPackage.operation';
import * as get from './get.operation';
import * as getAll from './getAll.operation';
import * as getLiveResponseResult from './getLiveResponseResult.operation';

export const operations: Record<string, Operation> = {
	cancel,
	downloadInvestigationPackage,
	get,
	getAll,
	getLiveResponseResult,
};

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['machineAction'] } },
		options: [
			{
				name: 'Cancel',
				value: 'cancel',
				description: 'Cancel a machine action that is still pending',
				action: 'Cancel a machine action',
			},
			{
				name: 'Download Investigation Package',
				value: 'downloadInvestigationPackage',
				description: 'Download the package of a completed Collect Investigation Package action as binary data',
				action: 'Download an investigation package',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get a machine action and its status',
				action: 'Get a machine action',
			},
			{
				name: 'Get Live Response Result',
				value: 'getLiveResponseResult',
				description:
					'Get the result of one command of a live response session: a Run Script transcript as fields, a Get File file as binary data',
				action: 'Get a live response command result',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List machine actions, filtered by machine, type, status, requestor or creation time',
				action: 'Get many machine actions',
			},
		],
		default: 'get',
	},
	...cancel.description,
	...downloadInvestigationPackage.description,
	...get.description,
	...getAll.description,
	...getLiveResponseResult.description,
];
