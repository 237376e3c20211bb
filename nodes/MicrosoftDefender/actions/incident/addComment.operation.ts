/**
 * Create comment for incident (security-incident-post-comments,
 * https://learn.microsoft.com/en-us/graph/api/security-incident-post-comments): `POST
 * /v1.0/security/incidents/{id}/comments` with an alertComment → 200 with every comment of the incident. Output as
 * the Graph alert Add Comment: one item with the incident id and that comment list.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { hasCommentSince } from '../../helpers/readBack';
import { requireText } from '../../helpers/validation';
import type { TransportContext, WriteCheck } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import {
	incidentComments,
	incidentIdLocator,
	incidentPath,
	readIncident,
	readIncidentId,
	sendIncidentRequest,
	withIncidentPermission,
} from './common';

const properties: INodeProperties[] = [
	incidentIdLocator('The incident to comment on'),
	{
		displayName: 'Comment',
		name: 'comment',
		type: 'string',
		typeOptions: { rows: 3 },
		required: true,
		default: '',
		placeholder: 'e.g. Contained: both devices isolated, user password reset',
		description: "Text added to the incident's comment history, attributed to the app. Outputs the incident's comment list.",
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['incident'], operation: ['addComment'] } },
	properties,
);

export const INCIDENT_COMMENT_EFFECT = { action: 'Add Comment', check: "check the incident's comments" };

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = readIncidentId(this, itemIndex);
	const comment = requireText(this.getNodeParameter('comment', itemIndex, ''), 'Comment');
	const response = await withIncidentPermission(
		true,
		async () =>
			await sendIncidentRequest(transport, {
				method: 'POST',
				path: incidentPath(id, 'comments'),
				body: { '@odata.type': 'microsoft.graph.security.alertComment', comment },
				// Read back after a lost answer: the comment there, dated since the request, means it was added (the answer
				// is the incident's comment list, as POST …/comments answers); not there means not added, and it is sent
				// again.
				verify: async ({ sentAt }): Promise<WriteCheck> => {
					const incident = await readIncident(transport, id);
					return hasCommentSince(incidentComments(incident), comment, sentAt)
						? { outcome: 'applied', body: { value: incident.comments ?? [] } }
						: 'notApplied';
				},
				effect: INCIDENT_COMMENT_EFFECT,
			}),
	);
	const value = (response.body as { value?: unknown } | undefined)?.value;
	const comments: IDataObject[] = Array.isArray(value) ? (value as IDataObject[]) : [];
	return toOutput(this, itemIndex, { id, comments });
}
