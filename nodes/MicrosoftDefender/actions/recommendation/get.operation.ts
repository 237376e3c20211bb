/**
 * Recommendation › Get: `GET /api/recommendations/{id}` (get-recommendation-by-id.md; SecurityRecommendation.Read.All).
 * IDs look like `va-_-microsoft-_-windows_11` (software updates) or `sca-_-scid-2010` (configuration).
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { getTvmEntity, TVM_PERMISSIONS, validateRecommendationId } from '../../helpers/tvm';
import { idProperty } from '../../helpers/tvmOperations';
import { DefenderApiError, pathId, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

export const description = updateDisplayOptions({ show: { resource: ['recommendation'], operation: ['get'] } }, [
	idProperty(
		'Recommendation ID',
		'recommendationId',
		'e.g. va-_-microsoft-_-windows_11',
		'The security recommendation ID, as Recommendation › Get Many lists them',
	),
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<INodeExecutionData[]> {
	const id = validateRecommendationId(this.getNodeParameter('recommendationId', itemIndex));
	try {
		return toOutput(
			this,
			itemIndex,
			await getTvmEntity(transport, `/api/recommendations/${pathId(id, 'Recommendation ID')}`, TVM_PERMISSIONS.recommendation, 'Reading security recommendations'),
		);
	} catch (error) {
		if (error instanceof DefenderApiError && error.status === 404) {
			throw error.withMessage(`${error.message} (no security recommendation ${id} for the organization)`);
		}
		throw error;
	}
}
