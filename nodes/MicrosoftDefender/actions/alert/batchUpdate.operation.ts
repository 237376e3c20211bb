import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { chunk, splitList } from '../../helpers/validation';
import { DefenderApiError, InvalidInputError, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { changeProperties, readChanges, requireChanges, validateAlertId } from './common';

/**
 * Alert ids per `POST /api/alerts/batchUpdate` call. Microsoft documents no maximum (reference §2.2); 500 is the
 * largest batch the other MDE batch endpoints document (indicators import and BatchDelete), and with the
 * endpoint's 10 calls/min still updates 5,000 alerts a minute.
 */
export const BATCH_UPDATE_SIZE = 500;

const properties: INodeProperties[] = [
	{
		displayName: 'Alert IDs',
		name: 'alertIds',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. da637472900382838869_1364969609, da637551227677560813_-961444813',
		description:
			'IDs of the alerts to update, separated by commas, spaces or new lines (an expression may also return an array). Duplicates are ignored.',
	},
	...changeProperties,
];

export const description = updateDisplayOptions(
	{ show: { resource: ['alert'], operation: ['batchUpdate'] } },
	properties,
);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const alertIds = splitList(this.getNodeParameter('alertIds', itemIndex, '')).map((id) =>
		validateAlertId(id, 'Alert IDs'),
	);
	if (!alertIds.length) throw new InvalidInputError('Alert IDs is empty. Enter at least one alert ID.');
	const changes = readChanges(this, itemIndex);
	requireChanges(changes);

	const updatedAlertIds: string[] = [];
	let requests = 0;
	for (const ids of chunk(alertIds, BATCH_UPDATE_SIZE)) {
		try {
			await sendDefenderRequest(transport, {
				method: 'POST',
				path: '/api/alerts/batchUpdate',
				body: { alertIds: ids, ...changes },
			});
		} catch (error) {
			// Earlier batches were applied: say so, so the user can retry only the rest.
			if (error instanceof DefenderApiError && updatedAlertIds.length) {
				throw new DefenderApiError(
					`${error.message} (${updatedAlertIds.length} of ${alertIds.length} alerts were updated by earlier batches, up to ${updatedAlertIds[updatedAlertIds.length - 1]})`,
					error.status,
					error.code,
					error.apiMessage,
					error.correlationId,
					{ ...error.body, updatedAlertIds },
					error.retryAfterSeconds,
				);
			}
			throw error;
		}
		requests++;
		updatedAlertIds.push(...ids);
	}

	const summary: IDataObject = { updatedAlertIds, updatedCount: updatedAlertIds.length, requests, changes };
	return toOutput(this, itemIndex, summary);
}
