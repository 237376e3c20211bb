import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { mdeListStable, odataString } from '../../transport';
import { allOf, anyOf } from '../../helpers/odata';
import { requireText } from '../../helpers/validation';
import { getManyOperation } from '../utils';
import { indicatorActionOptions, indicatorSeverityOptions, indicatorTypeOptions } from './fields';

const filtersProperty: INodeProperties = {
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
};

/** The values chosen in a multi-options filter, as text (anything but a list: none). */
function chosen(values: unknown): string[] {
	return (Array.isArray(values) ? values : []).map(String).filter(Boolean);
}

/** The `$filter` for the chosen filters (reference §3.4 lists the filterable fields). */
export function indicatorFilter(filters: IDataObject): string | undefined {
	return allOf([
		anyOf('indicatorType', chosen(filters.indicatorTypes)),
		anyOf('action', chosen(filters.actions)),
		anyOf('severity', chosen(filters.severities)),
		filters.indicatorValue
			? `indicatorValue eq ${odataString(requireText(filters.indicatorValue, 'Value filter'))}`
			: undefined,
		filters.createdBy ? `createdBy eq ${odataString(requireText(filters.createdBy, 'Created By filter'))}` : undefined,
	]);
}

/**
 * GET /api/indicators with `$filter`, paged with `$top`/`$skip` so that indicators added or removed meanwhile are
 * neither repeated nor skipped (see mdeListStable); one output item per indicator.
 */
export const { description, execute } = getManyOperation({
	resource: 'indicator',
	filters: filtersProperty,
	filter: indicatorFilter,
	list: async (transport, filter, limit) => await mdeListStable(transport, '/api/indicators', { $filter: filter }, { limit }),
});
