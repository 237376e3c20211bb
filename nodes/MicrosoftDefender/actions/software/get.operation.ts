/**
 * Software › Get: `GET /api/Software/{id}` (get-software-by-id.md; Software.Read.All). Software IDs are
 * `vendor-_-name` in lowercase, e.g. `microsoft-_-edge`.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { getTvmEntity, TVM_PERMISSIONS, validateSoftwareId } from '../../helpers/tvm';
import { idProperty } from '../../helpers/tvmOperations';
import { DefenderApiError, pathId, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

export const softwareIdProperty = idProperty(
	'Software ID',
	'softwareId',
	'e.g. microsoft-_-edge',
	'The Defender software ID: vendor-_-name in lowercase, as Software › Get Many lists them',
);

export const description = updateDisplayOptions({ show: { resource: ['software'], operation: ['get'] } }, [softwareIdProperty]);

export async function execute(this: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<INodeExecutionData[]> {
	const id = validateSoftwareId(this.getNodeParameter('softwareId', itemIndex));
	try {
		return toOutput(this, itemIndex, await getTvmEntity(transport, `/api/Software/${pathId(id, 'Software ID')}`, TVM_PERMISSIONS.software, 'Reading the software inventory'));
	} catch (error) {
		if (error instanceof DefenderApiError && error.status === 404) {
			throw error.withMessage(`${error.message} (no software ${id} in the organization's inventory)`);
		}
		throw error;
	}
}
