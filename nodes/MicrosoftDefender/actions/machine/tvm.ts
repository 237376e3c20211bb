/**
 * The machine's Defender Vulnerability Management lists (the machine chosen with the machine locator; a name is
 * looked up with GET /api/machines, which needs Machine.Read.All):
 * - Get Vulnerabilities: `GET /api/machines/{id}/vulnerabilities` (get-discovered-vulnerabilities.md;
 *   Vulnerability.Read.All; 50 calls a minute, 1,500 an hour).
 * - Get Software: `GET /api/machines/{id}/software` (get-installed-software.md; Software.Read.All).
 * - Get Missing KBs: `GET /api/machines/{id}/getmissingkbs` (get-missing-kbs-machine.md; Software.Read.All).
 * - Get Recommendations: `GET /api/machines/{id}/recommendations` (get-security-recommendations.md;
 *   SecurityRecommendation.Read.All).
 */
import { TVM_PERMISSIONS, type TvmPermission } from '../../helpers/tvm';
import { segment, subCollectionOperation } from '../../helpers/tvmOperations';
import type { Operation } from '../utils';
import { machineLocator, resolveMachine } from './shared';

function machineList(operation: string, list: string, permission: TvmPermission, what: string): Operation {
	return subCollectionOperation({
		resource: 'machine',
		operation,
		entity: machineLocator,
		resolve: async (context, itemIndex, transport) => (await resolveMachine(context, itemIndex, transport)).id,
		path: (id) => `/api/machines/${segment(id, 'Machine ID')}/${list}`,
		permission,
		what,
		notFound: (id) => `no machine ${id} in Defender`,
	});
}

export const getVulnerabilities = machineList('getVulnerabilities', 'vulnerabilities', TVM_PERMISSIONS.vulnerability, 'Listing the vulnerabilities of a machine');
export const getSoftware = machineList('getSoftware', 'software', TVM_PERMISSIONS.software, 'Listing the software of a machine');
export const getMissingKbs = machineList('getMissingKbs', 'getmissingkbs', TVM_PERMISSIONS.software, 'Listing the missing security updates of a machine');
export const getRecommendations = machineList('getRecommendations', 'recommendations', TVM_PERMISSIONS.recommendation, 'Listing the security recommendations of a machine');
