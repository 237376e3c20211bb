import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { downloadFromLink } from '../../helpers/download';
import { validateGuid } from '../../helpers/validation';
import {
	DefenderApiError,
	pathId,
	sendDefenderRequest,
	type TransportContext,
} from '../../transport';
import { updateDisplayOptions } from '../utils';
import { machineActionIdProperty } from './shared';

const properties: INodeProperties[] = [
	{
		...machineActionIdProperty,
		description: 'ID of a Collect Investigation Package action that has Succeeded',
	},
	{
		displayName: 'Put Output File in Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the output binary field to put the file in',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['machineAction'], operation: ['downloadInvestigationPackage'] } },
	properties,
);

/**
 * GET /api/machineactions/{id}/GetPackageUri returns a short-lived SAS URL (2 calls/min); the package is then
 * downloaded from that URL without the bearer token, which must not leave for the storage host.
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = validateGuid(this.getNodeParameter('machineActionId', itemIndex), 'Machine Action ID');
	const binaryPropertyName = String(this.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim();
	if (!binaryPropertyName) {
		throw new NodeOperationError(this.getNode(), 'Put Output File in Field is empty. Enter a field name such as data.', {
			itemIndex,
		});
	}

	let packageUri: string;
	try {
		const response = await sendDefenderRequest(transport, {
			method: 'GET',
			path: `/api/machineactions/${pathId(id, 'Machine Action ID')}/GetPackageUri`,
		});
		packageUri = String((response.body as { value?: unknown })?.value ?? '');
	} catch (error) {
		if (error instanceof DefenderApiError && error.status === 404) {
			throw new NodeOperationError(this.getNode(), `No investigation package for machine action ${id}`, {
				itemIndex,
				description: `${error.apiMessage ?? error.message}. The package can be downloaded once a Collect Investigation Package action has Succeeded; check it with Machine Action → Get.`,
			});
		}
		throw error;
	}
	let url: URL;
	try {
		url = new URL(packageUri);
		if (url.protocol !== 'https:') throw new Error('not https');
	} catch {
		throw new NodeOperationError(this.getNode(), `Defender returned no usable download link for machine action ${id}`, {
			itemIndex,
		});
	}

	// One link only (GetPackageUri allows 2 calls a minute): a 5xx or dropped connection is retried on it, a 4xx means
	// it is wrong or expired, and the error tells the user to run the node again for a fresh one.
	const result = await downloadFromLink(this, url);
	if (!result.ok) {
		const lastProblem = 'status' in result ? `HTTP ${result.status}` : (result.error as Error).message;
		throw new NodeOperationError(
			this.getNode(),
			`Downloading the investigation package of machine action ${id} failed: ${lastProblem}`,
			{
				itemIndex,
				description: 'The download link is valid for a short time only; run the node again for a fresh link.',
			},
		);
	}
	const data = result.data;

	const fileName = `investigation-package-${id}.zip`;
	const binary = await this.helpers.prepareBinaryData(data, fileName, 'application/zip');
	return [
		{
			json: { machineActionId: id, fileName, fileSize: data.length },
			binary: { [binaryPropertyName]: binary },
			pairedItem: { item: itemIndex },
		},
	];
}
