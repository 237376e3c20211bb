/**
 * Software › Get Many: `GET /api/Software` (get-software.md; Software.Read.All): the organization's software
 * inventory. `$filter` on id, name and vendor; `$top` ≤ 10,000; `$skip`; read with the transport's stable paging.
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { allOf } from '../../helpers/odata';
import { listTvm, TVM_MAX_TOP, TVM_PERMISSIONS } from '../../helpers/tvm';
import { odataString } from '../../transport';
import { getManyOperation } from '../utils';

const filtersProperty: INodeProperties = {
	displayName: 'Filters',
	name: 'filters',
	type: 'collection',
	placeholder: 'Add filter',
	default: {},
	options: [
		{
			displayName: 'Name',
			name: 'name',
			type: 'string',
			default: '',
			placeholder: 'e.g. chrome',
			description: 'Only software with this name, as Defender writes it (lowercase, underscores for spaces)',
		},
		{
			displayName: 'Vendor',
			name: 'vendor',
			type: 'string',
			default: '',
			placeholder: 'e.g. microsoft',
			description: 'Only software of this vendor, as Defender writes it (lowercase)',
		},
	],
};

export function softwareFilter(filters: IDataObject): string | undefined {
	const clauses: string[] = [];
	const name = String(filters.name ?? '').trim();
	if (name) clauses.push(`name eq ${odataString(name.toLowerCase())}`);
	const vendor = String(filters.vendor ?? '').trim();
	if (vendor) clauses.push(`vendor eq ${odataString(vendor.toLowerCase())}`);
	return allOf(clauses);
}

export const { description, execute } = getManyOperation({
	resource: 'software',
	filters: filtersProperty,
	filter: softwareFilter,
	list: async (transport, filter, limit) =>
		await listTvm(transport, '/api/Software', filter, {
			limit,
			maxTop: TVM_MAX_TOP.software,
			permission: TVM_PERMISSIONS.software,
			what: 'Reading the software inventory',
		}),
});
