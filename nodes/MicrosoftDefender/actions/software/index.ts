import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as get from './get.operation';
import * as getAll from './getAll.operation';
import * as getMachines from './getMachines.operation';
import * as getVulnerabilities from './getVulnerabilities.operation';

export const operations: Record<string, Operation> = { get, getAll, getMachines, getVulnerabilities };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['software'] } },
		options: [
			{
				name: 'Get',
				value: 'get',
				description: 'Get a software of the inventory by its ID (vendor-_-name)',
				action: 'Get a software',
			},
			{
				name: 'Get Machines',
				value: 'getMachines',
				description: 'List the machines that have a software installed',
				action: 'Get the machines that have a software installed',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: "List the organization's software inventory, filtered by name or vendor",
				action: 'Get many software',
			},
			{
				name: 'Get Vulnerabilities',
				value: 'getVulnerabilities',
				description: 'List the known vulnerabilities of a software',
				action: 'Get the vulnerabilities of a software',
			},
		],
		default: 'getAll',
	},
	...get.description,
	...getAll.description,
	...getMachines.description,
	...getVulnerabilities.description,
];
