/**
 * Parameters, enums and checks shared by the alert operations and both alert sources (reference mde-api.md §1–§2
 * for the Defender for Endpoint API, §6 for Microsoft Graph alerts_v2).
 */
import { DateTime } from 'luxon';
import type { IDataObject, IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { requireText, splitList } from '../../helpers/validation';
import { InvalidInputError, pathId } from '../../transport';

/**
 * MDE alert ids: a short product prefix (`da`), the creation time in .NET ticks, `_` and a signed 32-bit number
 * (`da637472900382838869_1364969609`, `da637551227677560813_-961444813`; the update doc also shows one without a
 * prefix). A prefixed GUID is accepted too, the form Defender XDR uses for other products' alerts [unconfirmed
 * whether the MDE API ever returns one].
 */
export const ALERT_ID_PATTERN =
	'^[A-Za-z]{0,4}(\\d+_-?\\d+|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(_-?\\d+)?)$';
const ALERT_ID_RE = new RegExp(ALERT_ID_PATTERN);

/** A Defender portal link to an alert (`https://security.microsoft.com/alerts/<id>?tid=…`); group 1 is the id. */
// n8n checks a locator value against `^<regex>$`: the tail (`?tid=…`) must be part of the pattern.
export const ALERT_URL_PATTERN = '^https?://[^/]+/alerts/([^/?#]+)(?:[/?#].*)?$';

/**
 * Graph alerts_v2 ids of every Defender product: besides the MDE form, e.g. `fa` + GUID (Office 365), `ca` + 24 hex
 * digits (Cloud Apps) or `ad` + a long hash (Entra ID Protection). Only what cannot change a URL path is required.
 */
export const GRAPH_ALERT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:=+-]{0,255}$';
const GRAPH_ALERT_ID_RE = new RegExp(GRAPH_ALERT_ID_PATTERN);

/** Checks the form of an alert id; returns it trimmed (not encoded: use `pathId` for URL paths). */
export function validateAlertId(value: unknown, field = 'Alert ID'): string {
	const id = requireText(value, field);
	if (!ALERT_ID_RE.test(id)) {
		throw new InvalidInputError(
			`${field} "${id.slice(0, 80)}" is not a Defender for Endpoint alert ID such as da637472900382838869_1364969609.`,
		);
	}
	return id;
}

/** Checks the form of a Graph alerts_v2 id (any Defender product); returns it trimmed. */
export function validateGraphAlertId(value: unknown, field = 'Alert ID'): string {
	const id = requireText(value, field);
	if (!GRAPH_ALERT_ID_RE.test(id) || id.includes('..')) {
		throw new InvalidInputError(
			`${field} "${id.slice(0, 80)}" is not a Microsoft Graph alert ID such as da637472900382838869_1364969609 (letters, digits and - _ . : only).`,
		);
	}
	return id;
}

/**
 * The `alertId` resource locator: pick one of the newest alerts, paste its portal link, or enter its ID. With
 * `source`, it is shown only for that alert source (Graph takes the alert IDs of every Defender product).
 */
export function alertIdLocator(description: string, source?: 'mde' | 'graph'): INodeProperties {
	const idPattern = source === 'graph' ? GRAPH_ALERT_ID_PATTERN : ALERT_ID_PATTERN;
	return {
		displayName: 'Alert',
		name: 'alertId',
		type: 'resourceLocator',
		default: { mode: 'list', value: '' },
		required: true,
		description,
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				placeholder: 'Select an alert...',
				typeOptions: { searchListMethod: source === 'graph' ? 'searchGraphAlerts' : 'searchAlerts', searchable: true },
			},
			{
				displayName: 'By URL',
				name: 'url',
				type: 'string',
				placeholder: 'e.g. https://security.microsoft.com/alerts/da637472900382838869_1364969609',
				validation: [
					{
						type: 'regex',
						properties: {
							regex: ALERT_URL_PATTERN,
							errorMessage: 'Not a Microsoft Defender portal alert URL',
						},
					},
				],
				extractValue: { type: 'regex', regex: ALERT_URL_PATTERN },
			},
			{
				displayName: 'By ID',
				name: 'id',
				type: 'string',
				placeholder: 'e.g. da637472900382838869_1364969609',
				validation: [
					{
						type: 'regex',
						properties: {
							regex: idPattern,
							errorMessage: 'Not a valid alert ID (e.g. da637472900382838869_1364969609)',
						},
					},
				],
			},
		],
		...(source ? { displayOptions: { show: { source: [source] } } } : {}),
	};
}

/** The alert id of the `alertId` locator, validated for its source (put it in a URL path only through `pathId`). */
export function readAlertId(context: IExecuteFunctions, itemIndex: number, source: 'mde' | 'graph' = 'mde'): string {
	const value = context.getNodeParameter('alertId', itemIndex, '', { extractValue: true });
	return source === 'graph' ? validateGraphAlertId(value, 'Alert ID') : validateAlertId(value, 'Alert ID');
}

/** `/api/alerts/{id}[/suffix]`, the id checked and encoded by `pathId`. */
export function alertPath(id: string, suffix = ''): string {
	return `/api/alerts/${pathId(id, 'Alert ID')}${suffix ? `/${suffix}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Enums of the update calls

/** Statuses an alert can be set to (PATCH and batchUpdate accept these three). */
export const UPDATE_STATUSES: INodePropertyOptions[] = [
	{ name: 'In Progress', value: 'InProgress' },
	{ name: 'New', value: 'New' },
	{ name: 'Resolved', value: 'Resolved' },
];

export const CLASSIFICATIONS: INodePropertyOptions[] = [
	{ name: 'False Positive', value: 'FalsePositive' },
	{ name: 'Informational, Expected Activity', value: 'InformationalExpectedActivity' },
	{ name: 'True Positive', value: 'TruePositive' },
];

/**
 * Determinations valid for each classification (§1.5; the names alerts.md and batch-update-alerts.md agree on),
 * with the parameter that offers them.
 */
export const DETERMINATIONS: Record<string, { parameter: string; options: INodePropertyOptions[] }> = {
	TruePositive: {
		parameter: 'truePositiveDetermination',
		options: [
			{ name: 'Compromised Account', value: 'CompromisedUser' },
			{ name: 'Malicious User Activity', value: 'MaliciousUserActivity' },
			{ name: 'Malware', value: 'Malware' },
			{ name: 'Multi-Staged Attack', value: 'MultiStagedAttack' },
			{ name: 'Other', value: 'Other' },
			{ name: 'Phishing', value: 'Phishing' },
			{ name: 'Unwanted Software', value: 'UnwantedSoftware' },
		],
	},
	InformationalExpectedActivity: {
		parameter: 'expectedActivityDetermination',
		options: [
			{ name: 'Confirmed User Activity', value: 'ConfirmedUserActivity' },
			{ name: 'Line-of-Business Application', value: 'LineOfBusinessApplication' },
			{ name: 'Other', value: 'Other' },
			{ name: 'Security Testing', value: 'SecurityTesting' },
		],
	},
	FalsePositive: {
		parameter: 'falsePositiveDetermination',
		options: [
			{ name: 'Clean', value: 'Clean' },
			{ name: 'Insufficient Data', value: 'InsufficientData' },
			{ name: 'Other', value: 'Other' },
		],
	},
};

const NO_CHANGE: INodePropertyOptions = { name: "Don't Change", value: '' };

function withNoChange(options: INodePropertyOptions[]): INodePropertyOptions[] {
	return [...options, NO_CHANGE].sort((a, b) => a.name.localeCompare(b.name));
}

const squash = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * The API value for an enum parameter. Accepts the value itself or its label in any case and spacing
 * ("in progress", "InProgress"), since expressions and AI agents fill these in; anything else names the field.
 */
export function enumValue(value: unknown, options: INodePropertyOptions[], field: string): string {
	const text = typeof value === 'string' ? value.trim() : String(value ?? '');
	const key = squash(text);
	const match = options.find((o) => squash(String(o.value)) === key || squash(o.name) === key);
	if (!match) {
		throw new InvalidInputError(
			`${field} "${text.slice(0, 80)}" is not valid. Use one of: ${options.map((o) => o.value).join(', ')}.`,
		);
	}
	return String(match.value);
}

/** The values of a multi-select filter (a list or comma-separated text), each checked against and mapped to the options, once each. */
export function filterValues(value: unknown, options: INodePropertyOptions[], label: string): string[] {
	return [...new Set(splitList(value).map((v) => enumValue(v, options, `Filters › ${label}`)))];
}

// ---------------------------------------------------------------------------------------------
// Update fields (Update and Batch Update)

/** The values one alert source takes in an update: statuses, classifications and determinations per classification. */
export interface ChangeEnums {
	statuses: INodePropertyOptions[];
	classifications: INodePropertyOptions[];
	/** Keyed by the source's classification value; `parameter` is the node parameter offering them. */
	determinations: Record<string, { parameter: string; options: INodePropertyOptions[] }>;
	/** Whether the update call itself takes a comment. */
	comment: boolean;
}

/** The Defender for Endpoint API's update values (PascalCase). */
export const MDE_CHANGES: ChangeEnums = {
	statuses: UPDATE_STATUSES,
	classifications: CLASSIFICATIONS,
	determinations: DETERMINATIONS,
	comment: true,
};

export const statusProperty: INodeProperties = {
	displayName: 'Status',
	name: 'status',
	type: 'options',
	options: withNoChange(UPDATE_STATUSES),
	default: '',
	description: 'New status of the alert',
};

export const assignedToProperty: INodeProperties = {
	displayName: 'Assigned To',
	name: 'assignedTo',
	type: 'string',
	default: '',
	placeholder: 'e.g. secop@contoso.com',
	description: 'User principal name of the analyst who owns the alert. Leave empty to keep the current owner.',
};

/** Its values are the MDE names; each source maps them to its own (`enumValue` ignores case). */
export const classificationProperty: INodeProperties = {
	displayName: 'Classification',
	name: 'classification',
	type: 'options',
	options: withNoChange(CLASSIFICATIONS),
	default: '',
	description:
		'Whether the alert is a true positive, expected activity, or a false positive. Choosing one offers the determinations that fit it.',
};

export const commentProperty: INodeProperties = {
	displayName: 'Comment',
	name: 'comment',
	type: 'string',
	typeOptions: { rows: 2 },
	default: '',
	description: "Comment to add to the alert's history. Leave empty to add none.",
};

/**
 * One determination parameter per classification of a source, shown when that classification is chosen (and
 * `show` holds, e.g. the source).
 */
export function determinationProperties(
	enums: ChangeEnums,
	show: Record<string, string[]> = {},
): INodeProperties[] {
	return Object.entries(enums.determinations).map(([classification, { parameter, options }]): INodeProperties => {
		const shownFor = CLASSIFICATIONS.find((c) => squash(String(c.value)) === squash(classification))?.value;
		return {
			displayName: 'Determination',
			name: parameter,
			type: 'options',
			displayOptions: { show: { ...show, classification: [shownFor ?? classification] } },
			options: withNoChange(options),
			default: '',
			description: 'What the alert turned out to be, among the determinations valid for this classification',
		};
	});
}

/** The change parameters of Batch Update (Defender for Endpoint API only). */
export const changeProperties: INodeProperties[] = [
	statusProperty,
	assignedToProperty,
	classificationProperty,
	...determinationProperties(MDE_CHANGES),
	commentProperty,
];

/** The fields to change, with the API's camelCase keys and the source's values; only what the user set. */
export function readChanges(context: IExecuteFunctions, itemIndex: number, enums: ChangeEnums = MDE_CHANGES): IDataObject {
	const text = (name: string): string => {
		const value = context.getNodeParameter(name, itemIndex, '') as unknown;
		return typeof value === 'string' ? value.trim() : value === undefined || value === null ? '' : String(value);
	};
	const changes: IDataObject = {};

	const status = text('status');
	if (status) changes.status = enumValue(status, enums.statuses, 'Status');

	const assignedTo = text('assignedTo');
	if (assignedTo) changes.assignedTo = assignedTo;

	const classificationText = text('classification');
	if (classificationText) {
		const classification = enumValue(classificationText, enums.classifications, 'Classification');
		changes.classification = classification;
		const { parameter, options } = enums.determinations[classification];
		const determination = text(parameter);
		if (determination) {
			const label = enums.classifications.find((c) => c.value === classification)?.name;
			changes.determination = enumValue(determination, options, `Determination (for ${label})`);
		}
	}

	if (enums.comment) {
		const comment = text('comment');
		if (comment) changes.comment = comment;
	}

	return changes;
}

/** Rejects an update that would change nothing. */
export function requireChanges(changes: IDataObject, enums: ChangeEnums = MDE_CHANGES): void {
	if (!Object.keys(changes).length) {
		throw new InvalidInputError(
			enums.comment
				? 'Nothing to update. Set at least one of Status, Assigned To, Classification (with Determination) or Comment.'
				: 'Nothing to update. Set at least one of Status, Assigned To or Classification (with Determination).',
		);
	}
}

// ---------------------------------------------------------------------------------------------
// Date-times in filters

/**
 * An OData DateTimeOffset literal (UTC, e.g. `2026-11-27T10:15:00.000Z`) from an n8n date-time value. Values
 * without an offset are read in the workflow's time zone, as n8n's date picker means them.
 */
export function filterDateTime(value: unknown, field: string, timezone: string): string {
	if (value instanceof Date) {
		if (Number.isNaN(value.getTime())) throw new InvalidInputError(`${field} is not a valid date-time.`);
		return value.toISOString();
	}
	if (DateTime.isDateTime(value)) {
		if (!value.isValid) throw new InvalidInputError(`${field} is not a valid date-time.`);
		return value.toUTC().toISO() as string;
	}
	const text = requireText(value, field);
	const parsed = DateTime.fromISO(text, { zone: timezone || 'UTC' });
	if (parsed.isValid) return parsed.toUTC().toISO() as string;
	const ms = Date.parse(text);
	if (Number.isNaN(ms)) {
		throw new InvalidInputError(
			`${field} "${text.slice(0, 100)}" is not a date-time. Use ISO 8601, e.g. 2026-11-27T10:15:00Z.`,
		);
	}
	return new Date(ms).toISOString();
}

/** The response body without its `@odata.context`; when it is no object (an empty 200), `fallback` instead. */
export function bodyOr(body: unknown, fallback: IDataObject): IDataObject {
	if (!body || typeof body !== 'object' || Array.isArray(body)) return fallback;
	const { '@odata.context': _context, ...entity } = body as IDataObject;
	return entity;
}

/** The MDE-only "Include Evidence" option (Graph alerts always carry their evidence). */
export function includeEvidenceOptions(subject: 'the alert' | 'each alert'): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: { show: { source: ['mde'] } },
		options: [
			{
				displayName: 'Include Evidence',
				name: 'includeEvidence',
				type: 'boolean',
				default: false,
				description: `Whether to include the evidence of ${subject} (files, processes, users, IP addresses, URLs, registry values)`,
			},
		],
	};
}
