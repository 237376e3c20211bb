import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { allOf, anyOf } from '../../helpers/odata';
import { requireText, validateDateTime, validateMachineId } from '../../helpers/validation';
import { mdeListStable, odataString } from '../../transport';
import { getManyOperation } from '../utils';
import { MACHINE_ACTION_STATUS_OPTIONS, MACHINE_ACTION_TYPE_OPTIONS } from './shared';

const filtersProperty: INodeProperties = {
	displayName: 'Filters',
	name: 'filters',
	type: 'collection',
	placeholder: 'Add filter',
	default: {},
	options: [
		{
			displayName: 'Created After',
			name: 'createdAfter',
			type: 'dateTime',
			default: '',
			description: 'Only actions requested after this time',
		},
		{
			displayName: 'Machine ID',
			name: 'machineId',
			type: 'string',
			default: '',
			placeholder: 'e.g. 7b1f4967d9728e5aa3c06a9e617a22a4a5a17378',
			description: 'Only actions on this machine (40 hexadecimal characters)',
		},
		{
			displayName: 'Requestor',
			name: 'requestor',
			type: 'string',
			default: '',
			placeholder: 'e.g. analyst@contoso.com',
			description: 'Only actions requested by this user or app',
		},
		{
			displayName: 'Status',
			name: 'status',
			type: 'multiOptions',
			options: MACHINE_ACTION_STATUS_OPTIONS,
			default: [],
			description: 'Only actions in one of these states',
		},
		{
			displayName: 'Type',
			name: 'type',
			type: 'multiOptions',
			options: MACHINE_ACTION_TYPE_OPTIONS,
			default: [],
			description: 'Only actions of one of these types',
		},
	],
};

/** `$filter` on the fields GET /api/machineactions documents as filterable (reference §3.2). */
export function machineActionFilter(filters: IDataObject): string | undefined {
	const clauses: Array<string | undefined> = [];
	if (filters.machineId) clauses.push(`machineId eq ${odataString(validateMachineId(filters.machineId))}`);
	clauses.push(anyOf('type', (filters.type as string[] | undefined) ?? []));
	clauses.push(anyOf('status', (filters.status as string[] | undefined) ?? []));
	if (filters.requestor) clauses.push(`requestor eq ${odataString(requireText(filters.requestor, 'Requestor'))}`);
	if (filters.createdAfter) {
		clauses.push(`creationDateTimeUtc gt ${validateDateTime(filters.createdAfter, 'Created After')}`);
	}
	return allOf(clauses);
}

export const { description, execute } = getManyOperation({
	resource: 'machineAction',
	filters: filtersProperty,
	filter: machineActionFilter,
	// Paged so that actions added or removed meanwhile are neither repeated nor skipped (see mdeListStable).
	list: async (transport, filter, limit) => await mdeListStable(transport, '/api/machineactions', { $filter: filter }, { limit }),
});
