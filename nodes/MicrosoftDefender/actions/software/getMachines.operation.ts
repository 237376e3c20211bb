/**
 * Software › Get Machines: `GET /api/Software/{id}/machineReferences` (get-machines-by-software.md; Software.Read.All):
 * the machines that have the software installed.
 */
import { TVM_PERMISSIONS, validateSoftwareId } from '../../helpers/tvm';
import { segment, subCollectionOperation } from '../../helpers/tvmOperations';
import { softwareIdProperty } from './get.operation';

export const { description, execute } = subCollectionOperation({
	resource: 'software',
	operation: 'getMachines',
	entity: softwareIdProperty,
	resolve: async (context, itemIndex) => validateSoftwareId(context.getNodeParameter('softwareId', itemIndex)),
	path: (id) => `/api/Software/${segment(id, 'Software ID')}/machineReferences`,
	permission: TVM_PERMISSIONS.software,
	what: 'Listing the machines of a software',
	notFound: (id) => `no software ${id} in the organization's inventory`,
});
