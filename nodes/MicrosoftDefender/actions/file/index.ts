/**
 * File resource: a file's profile and in-organization statistics by hash, and the alerts and machines it was seen
 * in (helpers/entities.ts lists Microsoft's pages). Get and Get Statistics take a SHA-1 or a SHA-256 (the file's
 * id, as get-file-information defines it); the related alerts and machines calls take "only SHA-1".
 */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { entityOperations, filePath, PERMISSIONS, type Related } from '../../helpers/entities';

const hashProperty = (description: string, placeholder: string): INodeProperties => ({
	displayName: 'File Hash',
	name: 'fileHash',
	type: 'string',
	default: '',
	required: true,
	placeholder,
	description,
});
const ANY_HASH = 'SHA-1 or SHA-256 of the file';
const SHA1_ONLY = "SHA-1 of the file. Defender takes only SHA-1 here; File › Get with the SHA-256 gives the file's SHA-1.";

const path = (accepted: Array<'sha1' | 'sha256'>, suffix?: Related) => (context: IExecuteFunctions, itemIndex: number) =>
	filePath(context.getNodeParameter('fileHash', itemIndex), accepted, suffix);

export const operations = entityOperations('file', {
	get: {
		kind: 'entity',
		properties: [hashProperty(ANY_HASH, 'e.g. 4388963aaa83afe2042a46a3c017ad50bdcdafb3')],
		path: path(['sha1', 'sha256']),
		call: { permission: PERMISSIONS.file, what: 'Reading a file' },
	},
	getStatistics: {
		kind: 'stats',
		properties: [hashProperty(ANY_HASH, 'e.g. 0991a395da64e1c5fbe8732ed11e6be064081d9f')],
		path: path(['sha1', 'sha256'], 'stats'),
		call: { permission: PERMISSIONS.file, what: "Reading a file's statistics" },
	},
	getRelatedAlerts: {
		kind: 'list',
		properties: [hashProperty(SHA1_ONLY, 'e.g. 6532ec91d513acc05f43ee0aa3002599729fd3e1')],
		path: path(['sha1'], 'alerts'),
		call: { permission: PERMISSIONS.alertRead, what: "Reading a file's alerts" },
	},
	getRelatedMachines: {
		kind: 'list',
		properties: [hashProperty(SHA1_ONLY, 'e.g. 1e5bc9d7e413ddd7902c2932e418702b84d0cc07')],
		path: path(['sha1'], 'machines'),
		call: { permission: PERMISSIONS.machineRead, what: "Reading a file's machines" },
	},
});

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['file'] } },
		options: [
			{
				name: 'Get',
				value: 'get',
				description: 'Get the profile of a file by SHA-1 or SHA-256: publisher, signer, size, global prevalence, determination',
				action: 'Get a file',
			},
			{
				name: 'Get Related Alerts',
				value: 'getRelatedAlerts',
				description: 'Get the alerts a file (by SHA-1) was seen in: one item per alert',
				action: 'Get the alerts related to a file',
			},
			{
				name: 'Get Related Machines',
				value: 'getRelatedMachines',
				description: 'Get the machines a file (by SHA-1) was seen on: one item per machine',
				action: 'Get the machines related to a file',
			},
			{
				name: 'Get Statistics',
				value: 'getStatistics',
				description:
					'Get how prevalent a file is in the organization (devices, first and last seen) and globally, over up to the last 30 days',
				action: 'Get the statistics of a file',
			},
		],
		default: 'get',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
