import type { ILoadOptionsFunctions, INodeListSearchResult } from 'n8n-workflow';

import { searchAlerts, searchGraphAlerts } from './alertSearch';
import { searchIncidents } from './incidentSearch';
import { searchMachines } from './machineSearch';

/** Resource-locator list searches. */
export const listSearch: Record<
	string,
	(this: ILoadOptionsFunctions, filter?: string, paginationToken?: string) => Promise<INodeListSearchResult>
> = { searchAlerts, searchGraphAlerts, searchIncidents, searchMachines };
