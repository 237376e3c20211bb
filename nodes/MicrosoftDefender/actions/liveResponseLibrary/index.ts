import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as del from './delete.operation';
import * as getAll from './getAll.operation';
import * as upload from './upload.operation';

export const operations: Record<string, Operation> = {
	delete: del,
	getAll,
	upload,
};

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['liveResponseLibrary'] } },
		options: [
			{
				name: 'Delete',
				value: 'delete',
				description:
					'Destructive: delete a file from the live response library for the whole tenant. Consider a human approval step before it in agent workflows.',
				action: 'Delete a live response library file as a destructive action so consider a human approval step first',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List the scripts and files in the live response library',
				action: 'Get many live response library files',
			},
			{
				name: 'Upload',
				value: 'upload',
				description:
					'Upload a script or file (20 MB at most) from binary data to the live response library, where Run Live Response can run it on any machine. Consider a human approval step before it in agent workflows.',
				action: 'Upload a file to the live response library',
			},
		],
		default: 'getAll',
	},
	...del.description,
	...getAll.description,
	...upload.description,
];
