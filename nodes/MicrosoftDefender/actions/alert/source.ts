/**
 * The two alert sources: the Defender for Endpoint API (`/api/alerts`, default) and Microsoft Graph security
 * alerts_v2. Each is a small strategy (paths, request, update values, comment call); the operations share the
 * rest (parameters, validation, output).
 */
import type { IDataObject, IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { fieldsMatch, hasCommentSince, type ListedComment } from '../../helpers/readBack';
import {
	sendDefenderRequest,
	type DefenderRequest,
	type RawResponse,
	type TransportContext,
	type WriteCheck,
	type WriteVerifier,
} from '../../transport';
import {
	alertIdLocator,
	alertPath,
	assignedToProperty,
	bodyOr,
	classificationProperty,
	commentProperty,
	determinationProperties,
	enumValue,
	MDE_CHANGES,
	readAlertId,
	statusProperty,
	type ChangeEnums,
} from './common';
import { GRAPH_CHANGES, graphAlertPath, sendGraphRequest } from './graph';

export type AlertSource = 'mde' | 'graph';

export const ALERT_SOURCES: INodePropertyOptions[] = [
	{
		name: 'Defender for Endpoint API',
		value: 'mde',
		description:
			'The Defender for Endpoint alerts API (/api/alerts). Needs the WindowsDefenderATP permission Alert.Read.All or Alert.ReadWrite.All.',
	},
	{
		// The API's own resource name, lower case as Microsoft writes it.
		// eslint-disable-next-line n8n-nodes-base/node-param-display-name-miscased
		name: 'Microsoft Graph (alerts_v2)',
		value: 'graph',
		description:
			"Microsoft Graph security alerts_v2, Microsoft's recommended alerts API, with the alerts of every Defender product. Needs the Graph permission SecurityAlert.Read.All or SecurityAlert.ReadWrite.All.",
	},
];

/** Operations that can use either source; Batch Update and Get Related Entities exist only in the MDE API. */
export const SOURCE_OPERATIONS = ['get', 'getAll', 'update', 'addComment'];

export const sourceProperties: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['alert'], operation: SOURCE_OPERATIONS } },
		options: ALERT_SOURCES,
		default: 'mde',
		description:
			'Which API to read and change alerts with. Graph returns its own field names and camelCase values (e.g. status "inProgress").',
	},
	{
		displayName:
			'This operation uses the Defender for Endpoint API: Microsoft Graph alerts_v2 has no equivalent (Get Related › Incident reads the incident from Microsoft Graph)',
		name: 'mdeOnlyNotice',
		type: 'notice',
		displayOptions: { show: { resource: ['alert'], operation: ['batchUpdate', 'getRelated'] } },
		default: '',
	},
];

/** The chosen source; `mde` when the parameter is absent (workflows from before it existed). */
export function readSource(context: IExecuteFunctions, itemIndex: number): AlertSource {
	return enumValue(context.getNodeParameter('source', itemIndex, 'mde'), ALERT_SOURCES, 'Source') as AlertSource;
}

/** The `alertId` locator of an operation available for both sources: one per source, shown for it. */
export function sourceAlertIdLocators(description: string): INodeProperties[] {
	return [alertIdLocator(description, 'mde'), alertIdLocator(`${description} (any Defender product's alert ID)`, 'graph')];
}

/** Update's change parameters: shared status/owner/classification, each source's determinations, MDE's comment. */
export const sourceChangeProperties: INodeProperties[] = [
	statusProperty,
	assignedToProperty,
	classificationProperty,
	...determinationProperties(MDE_CHANGES, { source: ['mde'] }),
	...determinationProperties(GRAPH_CHANGES, { source: ['graph'] }),
	{
		...commentProperty,
		displayOptions: { show: { source: ['mde'] } },
	},
	{
		displayName: 'Microsoft Graph updates take no comment: add one with the Add Comment operation',
		name: 'graphCommentNotice',
		type: 'notice',
		displayOptions: { show: { source: ['graph'] } },
		default: '',
	},
];

export interface AlertApi {
	/** `/api/alerts/{id}` or `/v1.0/security/alerts_v2/{id}` (+ `/suffix`). */
	path(id: string, suffix?: string): string;
	/** Sends to this source's API with its token and headers. */
	send(transport: TransportContext, request: Omit<DefenderRequest, 'api'>): Promise<RawResponse>;
	/** The values Update takes. */
	changes: ChangeEnums;
	/** Adds a comment; returns the output item. */
	addComment(transport: TransportContext, id: string, comment: string): Promise<IDataObject>;
	/** Reads the alert (as the write's read-back). */
	read(transport: TransportContext, id: string): Promise<IDataObject>;
	/** The alert's comments as this API lists them. */
	comments(alert: IDataObject): ListedComment[];
}

/**
 * The read-back of an alert update whose answer was lost: applied when the alert has the update's fields and (with
 * a comment) the comment, dated since the request; not applied without the comment (an update applies whole), or
 * without one and with other field values (sending the fields again changes nothing more). The comment there but
 * the fields differing (someone changed them since, or the comment is an identical one of someone else): unknown.
 */
export function alertUpdateVerifier(
	api: AlertApi,
	transport: TransportContext,
	id: string,
	fields: IDataObject,
	comment: string | undefined,
	/** The answer the operation expects, from the re-read alert. */
	answer: (alert: IDataObject) => unknown = (alert) => alert,
): WriteVerifier {
	return async ({ sentAt }): Promise<WriteCheck> => {
		const alert = await api.read(transport, id);
		const matches = fieldsMatch(alert, fields);
		if (comment === undefined) return matches ? { outcome: 'applied', body: answer(alert) } : 'notApplied';
		if (!hasCommentSince(api.comments(alert), comment, sentAt)) return 'notApplied';
		if (matches) return { outcome: 'applied', body: answer(alert) };
		return {
			outcome: 'unknown',
			reason: `The alert has the comment, but not all of the values sent (${Object.keys(fields).join(', ')}).`,
		};
	};
}

export const ALERT_COMMENT_EFFECT = { action: 'Add Comment', check: "check the alert's comments" };

const mde: AlertApi = {
	path: alertPath,
	send: async (transport, request) => await sendDefenderRequest(transport, { ...request, api: 'mde' }),
	changes: MDE_CHANGES,
	// No comment endpoint: PATCH with only the comment (§2.3); outputs the updated alert.
	addComment: async (transport, id, comment) => {
		const response = await mde.send(transport, {
			method: 'PATCH',
			path: alertPath(id),
			body: { comment },
			verify: alertUpdateVerifier(mde, transport, id, {}, comment),
			effect: ALERT_COMMENT_EFFECT,
		});
		return bodyOr(response.body, { id, comment });
	},
	read: async (transport, id) => bodyOr((await mde.send(transport, { method: 'GET', path: alertPath(id) })).body, { id }),
	comments: (alert) =>
		(Array.isArray(alert.comments) ? (alert.comments as IDataObject[]) : []).map((c) => ({
			text: c.comment,
			time: c.createdTime,
		})),
};

const graph: AlertApi = {
	path: graphAlertPath,
	send: sendGraphRequest,
	changes: GRAPH_CHANGES,
	// POST …/comments answers with the alert's whole comment list (§6.5): one item with the alert id and it.
	addComment: async (transport, id, comment) => {
		const response = await sendGraphRequest(transport, {
			method: 'POST',
			path: graphAlertPath(id, 'comments'),
			body: { '@odata.type': 'microsoft.graph.security.alertComment', comment },
			// Read back: the alert's comments, answered as POST …/comments answers (the whole list).
			verify: alertUpdateVerifier(graph, transport, id, {}, comment, (alert) => ({ value: alert.comments ?? [] })),
			effect: ALERT_COMMENT_EFFECT,
		});
		const value = (response.body as { value?: unknown } | undefined)?.value;
		return { id, comments: Array.isArray(value) ? (value as IDataObject[]) : [] };
	},
	read: async (transport, id) =>
		bodyOr((await sendGraphRequest(transport, { method: 'GET', path: graphAlertPath(id) })).body, { id }),
	comments: (alert) =>
		(Array.isArray(alert.comments) ? (alert.comments as IDataObject[]) : []).map((c) => ({
			text: c.comment,
			time: c.createdDateTime,
		})),
};

export const ALERT_APIS: Record<AlertSource, AlertApi> = { mde, graph };

/** The source, its strategy and the validated alert id of the item. */
export function readAlertTarget(
	context: IExecuteFunctions,
	itemIndex: number,
): { source: AlertSource; api: AlertApi; id: string } {
	const source = readSource(context, itemIndex);
	return { source, api: ALERT_APIS[source], id: readAlertId(context, itemIndex, source) };
}
