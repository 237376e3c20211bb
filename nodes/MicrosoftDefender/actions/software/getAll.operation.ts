/**
 * Software › Get Many: `GET /api/Software` (get-software.md; Software.Read.All): the organization's software
 * inventory. `$filter` on id, name and vendor; `$top` ≤ 10,000; `$skip`; read with the transport's stable paging.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { listTvm, TVM_MAX_TOP, TVM_PERMISSIONS } from '../../helpers/tvm';
import { odataString, type TransportContext } from '../../transport';
import { readLimit, returnAllOrLimit, toOutput, updateDisplayOptions } from '../utils';

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
	},
];

export const description = updateDisplayOptions({ show: { resource: ['software'], operation: ['getAll'] } }, properties);

export function softwareFilter(filters: IDataObject): string | undefined {
	const clauses: string[] = [];
	const name = String(filters.name ?? '').trim();
	if (name) clauses.push(`name eq ${odataString(name.toLowerCase())}`);
	const vendor = String(filters.vendor ?? '').trim();
	if (vendor) clauses.push(`vendor eq ${odataString(vendor.toLowerCase())}`);
	return clauses.length ? clauses.join(' and ') : undefined;
}

export async function execute(this: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<INodeExecutionData[]> {
	const limit = readLimit(this, itemIndex);
	const filter = softwareFilter(this.getNodeParameter('filters', itemIndex, {}) as IDataObject);
	const rows = await listTvm(transport, '/api/Software', filter, {
		limit,
		maxTop: TVM_MAX_TOP.software,
		permission: TVM_PERMISSIONS.software,
		what: 'Reading the software inventory',
	});
	return toOutput(this, itemIndex, rows);
}
