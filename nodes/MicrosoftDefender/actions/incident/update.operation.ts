/**
 * Update incident (security-incident-update, https://learn.microsoft.com/en-us/graph/api/security-incident-update):
 * `PATCH /v1.0/security/incidents/{id}` with only the fields to change → 200 with the updated incident. The body
 * takes assignedTo, classification, determination, status, customTags (the whole list: it replaces the incident's
 * tags), resolvingComment, summary and description.
 *
 * Statuses offered: Active and Resolved, which the update page lists (with redirected and the unknownFutureValue
 * sentinel), and In Progress, an incidentStatus member ("The incident is in mitigation progress",
 * resources/security-incident.md) that the Defender portal sets. Not offered: Redirected (Defender sets it when it
 * merges the incident into another, naming that one in redirectIncidentId, which is not writable) and Awaiting
 * Action ("Only Microsoft 365 Defender experts can set this status", resources/security-incident.md).
 *
 * Classification and determination: the pairs Graph accepts, as for alerts (GRAPH_CHANGES in alert/graph.ts: the
 * SDK member names of alertDetermination, which the incident's determination property shares).
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { fieldsMatch } from '../../helpers/readBack';
import { InvalidInputError, type TransportContext, type WriteCheck } from '../../transport';
import { bodyOr, enumValue } from '../alert/common';
import { GRAPH_CHANGES } from '../alert/graph';
import { toOutput, updateDisplayOptions } from '../utils';
import {
	incidentIdLocator,
	incidentPath,
	readIncident,
	readIncidentId,
	sendIncidentRequest,
	withIncidentPermission,
} from './common';

/** Statuses an incident can be set to (see the file comment). */
export const INCIDENT_UPDATE_STATUSES: INodePropertyOptions[] = [
	{ name: 'Active', value: 'active' },
	{ name: 'In Progress', value: 'inProgress' },
	{ name: 'Resolved', value: 'resolved' },
];

/** Every determination of GRAPH_CHANGES once, saying which classification it belongs to. */
const DETERMINATION_OPTIONS: INodePropertyOptions[] = (() => {
	const byValue = new Map<string, { name: string; classifications: string[] }>();
	for (const [classification, { options }] of Object.entries(GRAPH_CHANGES.determinations)) {
		const label = GRAPH_CHANGES.classifications.find((c) => c.value === classification)?.name ?? classification;
		for (const option of options) {
			const entry = byValue.get(String(option.value)) ?? { name: option.name, classifications: [] };
			entry.classifications.push(label);
			byValue.set(String(option.value), entry);
		}
	}
	return [...byValue.entries()]
		.map(([value, { name, classifications }]) => ({
			name,
			value,
			description: `With the classification ${classifications.join(', or ')}`,
		}))
		.sort((a, b) => a.name.localeCompare(b.name));
})();

const properties: INodeProperties[] = [
	incidentIdLocator('The incident to update'),
	{
		displayName: 'Update Fields',
		name: 'updateFields',
		type: 'collection',
		placeholder: 'Add field',
		default: {},
		description: 'What to change; everything not set stays as it is',
		options: [
			{
				displayName: 'Assigned To',
				name: 'assignedTo',
				type: 'string',
				default: '',
				placeholder: 'e.g. secop@contoso.com',
				description: 'User principal name of the analyst who owns the incident',
			},
			{
				displayName: 'Classification',
				name: 'classification',
				type: 'options',
				options: GRAPH_CHANGES.classifications,
				default: 'truePositive',
				description: 'Whether the incident is a true positive, expected activity, or a false positive',
			},
			{
				displayName: 'Determination',
				name: 'determination',
				type: 'options',
				options: DETERMINATION_OPTIONS,
				default: 'other',
				description:
					'What the incident turned out to be. Needs Classification, and must be one of its determinations (each option names its classification).',
			},
			{
				displayName: 'Resolving Comment',
				name: 'resolvingComment',
				type: 'string',
				typeOptions: { rows: 2 },
				default: '',
				description: 'Why the incident was resolved and classified this way (resolvingComment)',
			},
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: INCIDENT_UPDATE_STATUSES,
				default: 'active',
				description: 'New status of the incident',
			},
			{
				displayName: 'Tags to Add',
				name: 'customTagsToAdd',
				type: 'string',
				default: '',
				placeholder: 'e.g. Phishing campaign, VIP',
				description:
					"Custom tags to add, comma-separated (or a list from an expression). The incident's other tags are kept.",
			},
			{
				displayName: 'Tags to Remove',
				name: 'customTagsToRemove',
				type: 'string',
				default: '',
				placeholder: 'e.g. Needs triage',
				description:
					"Custom tags to remove, comma-separated (or a list from an expression). The incident's other tags are kept.",
			},
		],
	},
];

export const description = updateDisplayOptions({ show: { resource: ['incident'], operation: ['update'] } }, properties);

const FIELD = (name: string) => `Update Fields › ${name}`;

/** Tags given as a list or comma/newline separated text: trimmed, without blanks or repeats (case as given). */
export function tagList(value: unknown): string[] {
	const parts = Array.isArray(value)
		? value.map((v) => (v === undefined || v === null ? '' : String(v)))
		: value === undefined || value === null
			? []
			: String(value).split(/[,\n]/);
	return [...new Set(parts.map((p) => p.trim()).filter(Boolean))];
}

export interface IncidentChanges {
	/** status, assignedTo, classification, determination, resolvingComment: sent as they are. */
	fields: IDataObject;
	add: string[];
	remove: string[];
}

/** The changes of the item, checked before any request is sent. */
export function readIncidentChanges(updateFields: IDataObject): IncidentChanges {
	const text = (key: string): string => {
		const value = updateFields[key];
		return value === undefined || value === null ? '' : String(value).trim();
	};
	const fields: IDataObject = {};

	const status = text('status');
	if (status) fields.status = enumValue(status, INCIDENT_UPDATE_STATUSES, FIELD('Status'));

	const assignedTo = text('assignedTo');
	if (assignedTo) fields.assignedTo = assignedTo;

	const classificationText = text('classification');
	const determinationText = text('determination');
	if (classificationText) {
		const classification = enumValue(classificationText, GRAPH_CHANGES.classifications, FIELD('Classification'));
		fields.classification = classification;
		if (determinationText) {
			const label = GRAPH_CHANGES.classifications.find((c) => c.value === classification)?.name;
			fields.determination = enumValue(
				determinationText,
				GRAPH_CHANGES.determinations[classification].options,
				`${FIELD('Determination')} (for ${label})`,
			);
		}
	} else if (determinationText) {
		throw new InvalidInputError(
			`${FIELD('Determination')} "${determinationText.slice(0, 80)}" needs ${FIELD('Classification')}: Microsoft Graph takes a determination only with the classification it belongs to. Add Classification (e.g. True Positive for Malware) or remove Determination.`,
		);
	}

	const resolvingComment = text('resolvingComment');
	if (resolvingComment) fields.resolvingComment = resolvingComment;

	const add = tagList(updateFields.customTagsToAdd);
	const remove = tagList(updateFields.customTagsToRemove);
	const both = add.filter((tag) => remove.includes(tag));
	if (both.length) {
		throw new InvalidInputError(
			`Tag "${both[0].slice(0, 80)}" is in both ${FIELD('Tags to Add')} and ${FIELD('Tags to Remove')}. Keep it in one of them.`,
		);
	}

	if (!Object.keys(fields).length && !add.length && !remove.length) {
		throw new InvalidInputError(
			'Nothing to update. Add at least one of Update Fields › Status, Assigned To, Classification (with Determination), Resolving Comment, Tags to Add or Tags to Remove.',
		);
	}
	return { fields, add, remove };
}

function currentTags(incident: IDataObject): string[] {
	return Array.isArray(incident.customTags) ? (incident.customTags as unknown[]).map(String) : [];
}

/** The incident's tags with `remove` taken out and `add` appended (each once, in the incident's order first). */
export function mergeTags(current: string[], add: string[], remove: string[]): string[] {
	const merged = current.filter((tag) => !remove.includes(tag));
	for (const tag of add) if (!merged.includes(tag)) merged.push(tag);
	return [...new Set(merged)];
}

const sameTags = (actual: unknown, wanted: string[]): boolean => {
	const have = new Set(Array.isArray(actual) ? (actual as unknown[]).map(String) : []);
	return have.size === new Set(wanted).size && wanted.every((tag) => have.has(tag));
};

export const INCIDENT_UPDATE_EFFECT = {
	action: 'Update',
	check: "check the incident's status, owner, classification, determination, resolving comment and tags",
};

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = readIncidentId(this, itemIndex);
	const { fields, add, remove } = readIncidentChanges(this.getNodeParameter('updateFields', itemIndex, {}) as IDataObject);

	return await withIncidentPermission(true, async () => {
		const body: IDataObject = { ...fields };
		if (add.length || remove.length) {
			// Graph has no add/remove for tags: customTags replaces the list. Read the current tags and send them
			// merged, so that other tags stay. A tag someone else changes between this read and the PATCH can still
			// be lost (Graph offers no conditional update).
			const incident = await readIncident(transport, id);
			const current = currentTags(incident);
			const merged = mergeTags(current, add, remove);
			if (!sameTags(current, merged) || merged.length !== current.length) body.customTags = merged;
			if (!Object.keys(body).length) {
				// The tags are already as asked and nothing else changes: there is nothing to write.
				return toOutput(this, itemIndex, incident);
			}
		}
		const tags = body.customTags as string[] | undefined;
		const response = await sendIncidentRequest(transport, {
			method: 'PATCH',
			path: incidentPath(id),
			body,
			// Read back after a lost answer: applied when the incident has every value sent; otherwise not applied
			// (sending the same values again changes nothing more than once).
			verify: async (): Promise<WriteCheck> => {
				const incident = await readIncident(transport, id);
				const applied = fieldsMatch(incident, fields) && (tags === undefined || sameTags(incident.customTags, tags));
				return applied ? { outcome: 'applied', body: incident } : 'notApplied';
			},
			effect: INCIDENT_UPDATE_EFFECT,
		});
		return toOutput(this, itemIndex, bodyOr(response.body, { id, ...body }));
	});
}
