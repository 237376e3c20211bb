import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { allOf, anyOf } from '../../helpers/odata';
import { splitList, validateDateTime } from '../../helpers/validation';
import { InvalidInputError, mdeListStable, odataString } from '../../transport';
import { getManyOperation } from '../utils';

export const HEALTH_STATUSES = [
	{ name: 'Active', value: 'Active' },
	{ name: 'Impaired Communication', value: 'ImpairedCommunication' },
	{ name: 'Inactive', value: 'Inactive' },
	{ name: 'No Sensor Data', value: 'NoSensorData' },
	{ name: 'No Sensor Data, Impaired Communication', value: 'NoSensorDataImpairedCommunication' },
	{ name: 'Unknown', value: 'Unknown' },
];
export const RISK_SCORES = [
	{ name: 'High', value: 'High' },
	{ name: 'Informational', value: 'Informational' },
	{ name: 'Low', value: 'Low' },
	{ name: 'Medium', value: 'Medium' },
	{ name: 'None', value: 'None' },
];
export const EXPOSURE_LEVELS = [
	{ name: 'High', value: 'High' },
	{ name: 'Low', value: 'Low' },
	{ name: 'Medium', value: 'Medium' },
	{ name: 'None', value: 'None' },
];

const filtersProperty: INodeProperties = {
	displayName: 'Filters',
	name: 'filters',
	type: 'collection',
	placeholder: 'Add filter',
	default: {},
	options: [
		{
			displayName: 'Computer Name Starts With',
			name: 'computerDnsName',
			type: 'string',
			default: '',
			placeholder: 'e.g. desktop-',
			description: 'Only machines whose computer DNS name starts with this text',
		},
		{
			displayName: 'Exposure Level',
			name: 'exposureLevel',
			type: 'multiOptions',
			options: EXPOSURE_LEVELS,
			default: [],
			description: 'Only machines with one of these exposure levels',
		},
		{
			displayName: 'Health Status',
			name: 'healthStatus',
			type: 'multiOptions',
			options: HEALTH_STATUSES,
			default: [],
			description: 'Only machines with one of these sensor health states',
		},
		{
			displayName: 'Last Seen After',
			name: 'lastSeenAfter',
			type: 'dateTime',
			default: '',
			description: 'Only machines that reported after this time',
		},
		{
			displayName: 'OS Platform',
			name: 'osPlatform',
			type: 'string',
			default: '',
			placeholder: 'e.g. Windows11, WindowsServer2022, Linux, macOS',
			description: 'Only machines on one of these platforms (comma-separated, as Defender names them)',
		},
		{
			displayName: 'Risk Score',
			name: 'riskScore',
			type: 'multiOptions',
			options: RISK_SCORES,
			default: [],
			description: 'Only machines with one of these risk scores',
		},
		{
			displayName: 'Tag',
			name: 'tag',
			type: 'string',
			default: '',
			placeholder: 'e.g. VIP',
			description: 'Only machines carrying this tag',
		},
	],
};

/** The `$filter` for the chosen filters (reference §3.3: all of these fields are filterable). */
export function machineFilter(filters: IDataObject): string | undefined {
	const clauses: Array<string | undefined> = [];
	const name = String(filters.computerDnsName ?? '').trim();
	if (name) clauses.push(`startswith(computerDnsName,${odataString(name.toLowerCase())})`);
	clauses.push(anyOf('healthStatus', (filters.healthStatus as string[] | undefined) ?? []));
	clauses.push(anyOf('riskScore', (filters.riskScore as string[] | undefined) ?? []));
	clauses.push(anyOf('exposureLevel', (filters.exposureLevel as string[] | undefined) ?? []));
	const platforms = splitList(filters.osPlatform);
	for (const platform of platforms) {
		if (!/^[A-Za-z0-9._-]+$/.test(platform)) {
			throw new InvalidInputError(`OS Platform "${platform.slice(0, 80)}" is not a platform name such as Windows11.`);
		}
	}
	clauses.push(anyOf('osPlatform', platforms));
	const tag = String(filters.tag ?? '').trim();
	if (tag) clauses.push(`machineTags/any(tag: tag eq ${odataString(tag)})`);
	if (filters.lastSeenAfter) {
		clauses.push(`lastSeen gt ${validateDateTime(filters.lastSeenAfter, 'Last Seen After')}`);
	}
	return allOf(clauses);
}

export const { description, execute } = getManyOperation({
	resource: 'machine',
	filters: filtersProperty,
	filter: machineFilter,
	// Paged so that machines added or removed meanwhile are neither repeated nor skipped (see mdeListStable).
	// Defender answers 404 instead of an empty list when no machine matches ("no recent machines").
	list: async (transport, filter, limit) =>
		await mdeListStable(transport, '/api/machines', { $filter: filter }, { limit, notFoundIsEmpty: true }),
});
