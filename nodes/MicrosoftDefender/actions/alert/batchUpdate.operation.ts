import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { chunk, splitList } from '../../helpers/validation';
import { fieldsMatch, hasCommentSince, slices } from '../../helpers/readBack';
import {
	DefenderApiError,
	InvalidInputError,
	odataString,
	sendDefenderRequest,
	type TransportContext,
	type WriteCheck,
	type WriteVerifier,
} from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { changeProperties, readChanges, requireChanges, validateAlertId } from './common';
import { ALERT_APIS } from './source';

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

/** Alert ids per read-back request (`id eq … or id eq …`, about 1,200 characters of URL). */
const READ_BACK_IDS = 25;

/**
 * The read-back of a batch update whose answer was lost. The API applies a batch whole (an unknown id fails all of
 * it): applied when every alert has the fields and (with a comment) the comment since the request; not applied when
 * no alert has the comment (or, without one, some alert lacks a field value: sending it again changes nothing more);
 * anything between is unknown.
 */
function batchUpdateVerifier(
	transport: TransportContext,
	ids: string[],
	fields: IDataObject,
	comment: string | undefined,
): WriteVerifier {
	return async ({ sentAt }): Promise<WriteCheck> => {
		const read: Array<IDataObject | undefined> = [];
		const commentedIn = (alerts: Array<IDataObject | undefined>) =>
			comment === undefined
				? 0
				: alerts.filter((a) => a !== undefined && hasCommentSince(ALERT_APIS.mde.comments(a), comment, sentAt)).length;
		for (const part of slices(ids, READ_BACK_IDS)) {
			const response = await sendDefenderRequest(transport, {
				method: 'GET',
				path: '/api/alerts',
				qs: { $filter: part.map((id) => `id eq ${odataString(id)}`).join(' or '), $top: part.length },
			});
			const byId = new Map(((response.body as { value?: IDataObject[] })?.value ?? []).map((a) => [String(a.id), a]));
			const alerts = part.map((id) => byId.get(id));
			// The first slice already shows a batch that was not applied (it applies whole): no need to read on.
			if (read.length === 0) {
				if (comment === undefined && !alerts.every((a) => a !== undefined && fieldsMatch(a, fields))) return 'notApplied';
				if (comment !== undefined && commentedIn(alerts) === 0) return 'notApplied';
			}
			read.push(...alerts);
		}
		const allFields = read.every((alert) => alert !== undefined && fieldsMatch(alert, fields));
		if (comment === undefined) return allFields ? { outcome: 'applied', body: '' } : 'notApplied';
		const commented = commentedIn(read);
		if (commented === ids.length && allFields) return { outcome: 'applied', body: '' };
		return {
			outcome: 'unknown',
			reason: `Read back, ${commented} of ${ids.length} alerts have the comment${allFields ? '' : ', and not all have the values sent'}.`,
		};
	};
}

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
	const { comment, ...fields } = changes;
	for (const ids of chunk(alertIds, BATCH_UPDATE_SIZE)) {
		try {
			await sendDefenderRequest(transport, {
				method: 'POST',
				path: '/api/alerts/batchUpdate',
				body: { alertIds: ids, ...changes },
				verify: batchUpdateVerifier(transport, ids, fields, typeof comment === 'string' ? comment : undefined),
				effect: {
					action: 'Batch Update',
					check: `check the status, owner, classification, determination and comments of alerts ${ids[0]}${ids.length > 1 ? ` to ${ids[ids.length - 1]} (${ids.length} alerts)` : ''}`,
				},
			});
		} catch (error) {
			// Earlier batches were applied: say so, so the user can retry only the rest.
			if (error instanceof DefenderApiError && updatedAlertIds.length) {
				error.message = `${error.message} (${updatedAlertIds.length} of ${alertIds.length} alerts were updated by earlier batches, up to ${updatedAlertIds[updatedAlertIds.length - 1]})`;
				error.body.updatedAlertIds = updatedAlertIds;
			}
			throw error;
		}
		requests++;
		updatedAlertIds.push(...ids);
	}

	const summary: IDataObject = { updatedAlertIds, updatedCount: updatedAlertIds.length, requests, changes };
	return toOutput(this, itemIndex, summary);
}
