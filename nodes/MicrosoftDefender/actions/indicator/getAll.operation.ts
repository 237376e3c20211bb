import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { mdeListStable, odataString, type TransportContext } from '../../transport';
import { requireText } from '../../helpers/validation';
import { readLimit, returnAllOrLimit, toOutput, updateDisplayOptions } from '../utils';
import { indicatorActionOptions, indicatorSeverityOptions, indicatorTypeOptions } from './fields';

const properties: INodeProperties[] = [
	...returnAllOrLimit,
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add filter',
		default: {},
		options: [
			{
				displayName: 'Action',
				name: 'actions',
				type: 'multiOptions',
				options: indicatorActionOptions.map(({ name, value }) => ({ name, value })),
				default: [],
				description: 'Only indicators with one of these actions',
			},
			{
				displayName: 'Created By',
				name: 'createdBy',
				type: 'string',
				default: '',
				description: 'Only indicators created by this identity (user principal name or application ID)',
			},
			{
				displayName: 'Indicator Type',
				name: 'indicatorTypes',
				type: 'multiOptions',
				options: indicatorTypeOptions.map(({ name, value }) => ({ name, value })),
				default: [],
				description: 'Only indicators of one of these types',
			},
			{
				displayName: 'Severity',
				name: 'severities',
				type: 'multiOptions',
				options: indicatorSeverityOptions,
				default: [],
				description: 'Only indicators with one of these severities',
			},
			{
				displayName: 'Value',
				name: 'indicatorValue',
				type: 'string',
				default: '',
				description: 'Only the indicator with exactly this value (hash, IP address, domain or URL)',
			},
		],
	},
];

const displayOptions = { show: { resource: ['indicator'], operation: ['getAll'] } };

export const description = updateDisplayOptions(displayOptions, properties);

function anyOf(field: string, values: unknown): string | undefined {
	const list = (Array.isArray(values) ? values : []).map(String).filter(Boolean);
	if (!list.length) return undefined;
	const terms = list.map((v) => `${field} eq ${odataString(v)}`);
	return terms.length === 1 ? terms[0] : `(${terms.join(' or ')})`;
}

/** The `$filter` for the chosen filters (reference §3.4 lists the filterable fields). */
export function indicatorFilter(filters: IDataObject): string | undefined {
	const clauses = [
		anyOf('indicatorType', filters.indicatorTypes),
		anyOf('action', filters.actions),
		anyOf('severity', filters.severities),
		filters.indicatorValue
			? `indicatorValue eq ${odataString(requireText(filters.indicatorValue, 'Value filter'))}`
			: undefined,
		filters.createdBy ? `createdBy eq ${odataString(requireText(filters.createdBy, 'Created By filter'))}` : undefined,
	].filter((c): c is string => !!c);
	return clauses.length ? clauses.join(' and ') : undefined;
}

/**
 * GET /api/indicators with `$filter`, paged with `$top`/`$skip` so that indicators added or removed meanwhile are
 * neither repeated nor skipped (see mdeListStable); one output item per indicator.
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const limit = readLimit(this, itemIndex);
	const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
	const filter = indicatorFilter(filters);

	const indicators = await mdeListStable(transport, '/api/indicators', { $filter: filter }, { limit });
	return indicators.length ? toOutput(this, itemIndex, indicators) : [];
}
