import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import {
	ALERT_CATEGORIES,
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	DETECTION_SOURCES,
} from '../../helpers/enums';
import { requireText, splitList } from '../../helpers/validation';
import { InvalidInputError, mdeListPages, odataString, type TransportContext } from '../../transport';
import { anyOf } from '../../trigger/sources';
import { toOutput, updateDisplayOptions } from '../utils';
import { enumValue, filterDateTime } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		displayOptions: { show: { returnAll: [false] } },
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		description: 'Alerts must match every filter set; a list filter matches any of its values',
		options: [
			{
				displayName: 'Assigned To',
				name: 'assignedTo',
				type: 'string',
				default: '',
				placeholder: 'e.g. secop@contoso.com',
				description: 'Only alerts assigned to this user principal name',
			},
			{
				displayName: 'Categories',
				name: 'categories',
				type: 'multiOptions',
				options: ALERT_CATEGORIES,
				default: [],
				description: 'Only alerts in one of these categories',
			},
			{
				displayName: 'Created After',
				name: 'createdAfter',
				type: 'dateTime',
				default: '',
				description: 'Only alerts created at or after this time (alertCreationTime)',
			},
			{
				displayName: 'Created Before',
				name: 'createdBefore',
				type: 'dateTime',
				default: '',
				description: 'Only alerts created before this time (alertCreationTime)',
			},
			{
				displayName: 'Detection Sources',
				name: 'detectionSources',
				type: 'multiOptions',
				options: DETECTION_SOURCES,
				default: [],
				description: 'Only alerts raised by one of these detection sources',
			},
			{
				displayName: 'Incident ID',
				name: 'incidentId',
				type: 'string',
				default: '',
				placeholder: 'e.g. 1126093',
				description: 'Only alerts of this incident',
			},
			{
				displayName: 'Other Categories',
				name: 'customCategories',
				type: 'string',
				default: '',
				placeholder: 'e.g. CredentialTheft, Backdoor',
				description:
					'Comma-separated category names that are not in the Categories list, such as the legacy names of older alerts',
			},
			{
				displayName: 'Severities',
				name: 'severities',
				type: 'multiOptions',
				options: ALERT_SEVERITIES,
				default: [],
				description: 'Only alerts with one of these severities',
			},
			{
				displayName: 'Statuses',
				name: 'statuses',
				type: 'multiOptions',
				options: ALERT_STATUSES,
				default: [],
				description: 'Only alerts with one of these statuses',
			},
			{
				displayName: 'Updated After',
				name: 'updatedAfter',
				type: 'dateTime',
				default: '',
				description: 'Only alerts last updated at or after this time (lastUpdateTime)',
			},
			{
				displayName: 'Updated Before',
				name: 'updatedBefore',
				type: 'dateTime',
				default: '',
				description: 'Only alerts last updated before this time (lastUpdateTime)',
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Include Evidence',
				name: 'includeEvidence',
				type: 'boolean',
				default: false,
				description:
					'Whether to include the evidence of each alert (files, processes, users, IP addresses, URLs, registry values)',
			},
		],
	},
];

export const description = updateDisplayOptions({ show: { resource: ['alert'], operation: ['getAll'] } }, properties);

const LABELS: Record<string, string> = {
	statuses: 'Statuses',
	severities: 'Severities',
	categories: 'Categories',
	detectionSources: 'Detection Sources',
};

/** Values of a multi-select filter, each checked against its options (expressions can return anything). */
function listFilter(filters: IDataObject, key: string, options: typeof ALERT_STATUSES): string[] {
	return splitList(filters[key]).map((v) => enumValue(v, options, `Filters › ${LABELS[key]}`));
}

/** A time window on one field: `field ge after and field lt before`. */
function timeRange(
	filters: IDataObject,
	field: string,
	afterKey: string,
	beforeKey: string,
	label: string,
	timezone: string,
): string[] {
	const present = (key: string) => filters[key] !== undefined && filters[key] !== null && filters[key] !== '';
	const after = present(afterKey) ? filterDateTime(filters[afterKey], `Filters › ${label} After`, timezone) : undefined;
	const before = present(beforeKey) ? filterDateTime(filters[beforeKey], `Filters › ${label} Before`, timezone) : undefined;
	if (after && before && after >= before) {
		throw new InvalidInputError(
			`Filters › ${label} After (${after}) must be earlier than Filters › ${label} Before (${before}).`,
		);
	}
	return [after && `${field} ge ${after}`, before && `${field} lt ${before}`].filter((c): c is string => Boolean(c));
}

/** The `$filter` expression for the chosen filters, or undefined for none. Exported for tests. */
export function buildAlertFilter(filters: IDataObject, timezone: string): string | undefined {
	const customCategories = splitList(filters.customCategories).map((c) => {
		if (!/^[A-Za-z][A-Za-z0-9]*$/.test(c)) {
			throw new InvalidInputError(
				`Filters › Other Categories "${c.slice(0, 80)}" is not a category name (letters and digits, e.g. CredentialTheft).`,
			);
		}
		return c;
	});
	const categories = [...new Set([...listFilter(filters, 'categories', ALERT_CATEGORIES), ...customCategories])];

	let incidentClause: string | undefined;
	const incidentText = String(filters.incidentId ?? '').trim();
	if (incidentText) {
		if (!/^\d{1,19}$/.test(incidentText)) {
			throw new InvalidInputError(`Filters › Incident ID "${incidentText.slice(0, 40)}" is not a number.`);
		}
		incidentClause = `incidentId eq ${incidentText}`;
	}

	const assignedTo =
		filters.assignedTo !== undefined && String(filters.assignedTo).trim() !== ''
			? requireText(filters.assignedTo, 'Filters › Assigned To')
			: undefined;

	const clauses = [
		anyOf('status', listFilter(filters, 'statuses', ALERT_STATUSES)),
		anyOf('severity', listFilter(filters, 'severities', ALERT_SEVERITIES)),
		anyOf('category', categories),
		anyOf('detectionSource', listFilter(filters, 'detectionSources', DETECTION_SOURCES)),
		assignedTo && `assignedTo eq ${odataString(assignedTo)}`,
		incidentClause,
		...timeRange(filters, 'alertCreationTime', 'createdAfter', 'createdBefore', 'Created', timezone),
		...timeRange(filters, 'lastUpdateTime', 'updatedAfter', 'updatedBefore', 'Updated', timezone),
	].filter((c): c is string => Boolean(c));
	return clauses.length ? clauses.join(' and ') : undefined;
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	let limit: number | undefined;
	if (!returnAll) {
		limit = Number(this.getNodeParameter('limit', itemIndex, 50));
		if (!Number.isInteger(limit) || limit < 1) {
			throw new InvalidInputError(`Limit "${limit}" is not valid. Enter a whole number of 1 or more.`);
		}
	}
	const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;

	const qs: Record<string, string> = { $orderby: 'alertCreationTime desc' };
	const filter = buildAlertFilter(filters, this.getTimezone());
	if (filter) qs.$filter = filter;
	if (options.includeEvidence === true) qs.$expand = 'evidence';

	// $skip paging over a list that can grow meanwhile may repeat an alert at a page boundary: keep the first.
	const alerts: IDataObject[] = [];
	const seen = new Set<unknown>();
	for await (const page of mdeListPages<IDataObject>(transport, '/api/alerts', qs, { limit })) {
		for (const alert of page) {
			if (alert.id !== undefined && seen.has(alert.id)) continue;
			seen.add(alert.id);
			alerts.push(alert);
		}
	}
	return toOutput(this, itemIndex, alerts);
}
