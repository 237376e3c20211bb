/**
 * Recommendation › Get Many: `GET /api/recommendations` (get-all-recommendations.md; SecurityRecommendation.Read.All).
 * `$filter` on id, productName, vendor, recommendedVersion, recommendationCategory, subCategory, severityScore,
 * remediationType, recommendedProgram, recommendedVendor and status; `$top` ≤ 10,000; `$skip`; read with the
 * transport's stable paging. Enum values as recommendation.md lists them.
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { allOf, anyOf } from '../../helpers/odata';
import { listTvm, TVM_MAX_TOP, TVM_PERMISSIONS } from '../../helpers/tvm';
import { InvalidInputError, odataString } from '../../transport';
import { getManyOperation } from '../utils';

const filtersProperty: INodeProperties = {
	displayName: 'Filters',
	name: 'filters',
	type: 'collection',
	placeholder: 'Add filter',
	default: {},
	options: [
		{
			displayName: 'Category',
			name: 'recommendationCategory',
			type: 'multiOptions',
			options: [
				{ name: 'Accounts', value: 'Accounts' },
				{ name: 'Application', value: 'Application' },
				{ name: 'Network', value: 'Network' },
				{ name: 'OS', value: 'OS' },
				{ name: 'Security Controls', value: 'SecurityControls' },
			],
			default: [],
			description: 'Only recommendations of one of these categories',
		},
		{
			displayName: 'Minimum Severity Score',
			name: 'minSeverityScore',
			type: 'number',
			default: 5,
			typeOptions: { minValue: 0, maxValue: 10, numberPrecision: 1 },
			description: "Only recommendations whose severity score (impact on the Secure Score for Devices, 1–10) is at least this",
		},
		{
			displayName: 'Product Name',
			name: 'productName',
			type: 'string',
			default: '',
			placeholder: 'e.g. chrome',
			description: 'Only recommendations about this software, as Defender names it (lowercase)',
		},
		{
			displayName: 'Remediation Type',
			name: 'remediationType',
			type: 'multiOptions',
			options: [
				{ name: 'Configuration Change', value: 'ConfigurationChange' },
				{ name: 'Uninstall', value: 'Uninstall' },
				{ name: 'Update', value: 'Update' },
				{ name: 'Upgrade', value: 'Upgrade' },
			],
			default: [],
			description: 'Only recommendations remediated in one of these ways',
		},
		{
			displayName: 'Status',
			name: 'status',
			type: 'multiOptions',
			options: [
				{ name: 'Active', value: 'Active' },
				{ name: 'Exception', value: 'Exception' },
			],
			default: [],
			description: 'Only recommendations with one of these exception statuses',
		},
		{
			displayName: 'Vendor',
			name: 'vendor',
			type: 'string',
			default: '',
			placeholder: 'e.g. google',
			description: 'Only recommendations about software of this vendor (lowercase)',
		},
	],
};

export function recommendationFilter(filters: IDataObject): string | undefined {
	const clauses: Array<string | undefined> = [];
	clauses.push(anyOf('recommendationCategory', (filters.recommendationCategory as string[] | undefined) ?? []));
	clauses.push(anyOf('remediationType', (filters.remediationType as string[] | undefined) ?? []));
	clauses.push(anyOf('status', (filters.status as string[] | undefined) ?? []));
	const productName = String(filters.productName ?? '').trim();
	if (productName) clauses.push(`productName eq ${odataString(productName.toLowerCase())}`);
	const vendor = String(filters.vendor ?? '').trim();
	if (vendor) clauses.push(`vendor eq ${odataString(vendor.toLowerCase())}`);
	if (filters.minSeverityScore !== undefined && filters.minSeverityScore !== '') {
		const score = Number(filters.minSeverityScore);
		if (!Number.isFinite(score) || score < 0 || score > 10) {
			throw new InvalidInputError(`Minimum Severity Score ${JSON.stringify(filters.minSeverityScore)} is not a score from 0 to 10.`);
		}
		clauses.push(`severityScore ge ${score}`);
	}
	return allOf(clauses);
}

export const { description, execute } = getManyOperation({
	resource: 'recommendation',
	filters: filtersProperty,
	filter: recommendationFilter,
	list: async (transport, filter, limit) =>
		await listTvm(transport, '/api/recommendations', filter, {
			limit,
			maxTop: TVM_MAX_TOP.recommendations,
			permission: TVM_PERMISSIONS.recommendation,
			what: 'Reading security recommendations',
		}),
});
