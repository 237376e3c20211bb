/**
 * Live Response Library › Delete: `DELETE /api/libraryfiles/{fileName}` (MicrosoftDocs/defender-docs
 * defender-endpoint/api/delete-library.md): 204, or 404 when no such file; permission Library.Manage.
 */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { LIBRARY_PERMISSION, validateLibraryFileName, withPermissionHint } from '../../helpers/liveResponse';
import { DefenderApiError, pathName, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

const properties: INodeProperties[] = [
	{
		displayName:
			'Destructive: the file is removed from the live response library for the whole tenant; sessions and workflows that run it fail afterwards.',
		name: 'destructiveNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'File Name',
		name: 'fileName',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. collect.ps1',
		description: 'Name of the library file to delete, as Get Many lists it',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['liveResponseLibrary'], operation: ['delete'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const fileName = validateLibraryFileName(this.getNodeParameter('fileName', itemIndex), 'File Name');
	try {
		// Deleting twice deletes no more than once: retried like a read.
		await sendDefenderRequest(transport, {
			method: 'DELETE',
			path: `/api/libraryfiles/${pathName(fileName, 'File Name')}`,
			idempotent: true,
		});
	} catch (error) {
		// A 404 after an attempt whose answer was lost: that attempt deleted it.
		if (error instanceof DefenderApiError && error.status === 404 && error.afterUnclearAttempt) {
			return toOutput(this, itemIndex, { deleted: true, fileName });
		}
		if (error instanceof DefenderApiError && error.status === 404) {
			throw error.withMessage(`${error.message} (no file named "${fileName}" in the live response library; names as Get Many lists them)`);
		}
		throw withPermissionHint(error, LIBRARY_PERMISSION, 'Deleting a live response library file');
	}
	return toOutput(this, itemIndex, { deleted: true, fileName });
}
