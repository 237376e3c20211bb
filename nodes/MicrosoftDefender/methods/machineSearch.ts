import type { IDataObject, ILoadOptionsFunctions, INodeListSearchResult } from 'n8n-workflow';

import { DefenderApiError, loadCredentials, n8nSender, odataString, sendDefenderRequest, toNodeError } from '../transport';

const PAGE_SIZE = 50;

/**
 * Resource-locator search for the Machine parameter: machines whose computer DNS name starts with the typed text,
 * 50 per page (`paginationToken` is the next `$skip`).
 */
export async function searchMachines(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const skip = Number(paginationToken ?? 0) || 0;
	const prefix = (filter ?? '').trim().toLowerCase();
	let machines: IDataObject[] = [];
	try {
		const transport = { credentials: await loadCredentials(this), send: n8nSender(this) };
		const response = await sendDefenderRequest(transport, {
			method: 'GET',
			path: '/api/machines',
			qs: {
				$filter: prefix ? `startswith(computerDnsName,${odataString(prefix)})` : undefined,
				$top: PAGE_SIZE,
				$skip: skip || undefined,
			},
		});
		machines = (response.body as { value?: IDataObject[] })?.value ?? [];
	} catch (error) {
		// "No recent machines" is a 404.
		if (!(error instanceof DefenderApiError && error.status === 404)) throw toNodeError(this.getNode(), error);
	}
	return {
		results: machines.map((m) => ({
			name: `${String(m.computerDnsName ?? m.id)}${m.osPlatform ? ` (${String(m.osPlatform)})` : ''}`,
			value: String(m.id),
		})),
		paginationToken: machines.length === PAGE_SIZE ? String(skip + PAGE_SIZE) : undefined,
	};
}
