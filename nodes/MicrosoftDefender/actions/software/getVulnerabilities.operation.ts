/**
 * Software › Get Vulnerabilities: `GET /api/Software/{id}/vulnerabilities` (get-vuln-by-software.md). That page names
 * Vulnerability.Read.All, not Software.Read.All.
 */
import { TVM_PERMISSIONS, validateSoftwareId } from '../../helpers/tvm';
import { segment, subCollectionOperation } from '../../helpers/tvmOperations';
import { softwareIdProperty } from './get.operation';

export const { description, execute } = subCollectionOperation({
	resource: 'software',
	operation: 'getVulnerabilities',
	entity: softwareIdProperty,
	resolve: async (context, itemIndex) => validateSoftwareId(context.getNodeParameter('softwareId', itemIndex)),
	path: (id) => `/api/Software/${segment(id, 'Software ID')}/vulnerabilities`,
	permission: TVM_PERMISSIONS.vulnerability,
	what: 'Listing the vulnerabilities of a software',
	notFound: (id) => `no software ${id} in the organization's inventory`,
});
