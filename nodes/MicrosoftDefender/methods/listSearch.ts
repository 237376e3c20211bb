import type { ILoadOptionsFunctions, INodeListSearchResult } from 'n8n-workflow';

/** Resource-locator list searches, filled in per resource (see actions/alert and actions/machine). */
export const listSearch: Record<string, (this: ILoadOptionsFunctions, filter?: string, paginationToken?: string) => Promise<INodeListSearchResult>> = {};
