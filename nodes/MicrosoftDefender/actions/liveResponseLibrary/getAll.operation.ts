/**
 * Live Response Library › Get Many: `GET /api/libraryfiles` (MicrosoftDocs/defender-docs
 * defender-endpoint/api/list-library-files.md; permission Library.Manage). The API returns the whole library in one
 * answer (no paging documented); Limit cuts it here.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { LIBRARY_PERMISSION, withPermissionHint } from '../../helpers/liveResponse';
import { sendDefenderRequest, type TransportContext } from '../../transport';
import { readLimit, returnAllOrLimit, toOutput, updateDisplayOptions } from '../utils';

export const description = updateDisplayOptions(
	{ show: { resource: ['liveResponseLibrary'], operation: ['getAll'] } },
	returnAllOrLimit,
);

/** Every file in the live response library. */
export async function listLibraryFiles(transport: TransportContext): Promise<IDataObject[]> {
	try {
		const response = await sendDefenderRequest(transport, { method: 'GET', path: '/api/libraryfiles' });
		return (response.body as { value?: IDataObject[] })?.value ?? [];
	} catch (error) {
		throw withPermissionHint(error, LIBRARY_PERMISSION, 'The live response library');
	}
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const limit = readLimit(this, itemIndex);
	const files = await listLibraryFiles(transport);
	return toOutput(this, itemIndex, limit === undefined ? files : files.slice(0, limit));
}
