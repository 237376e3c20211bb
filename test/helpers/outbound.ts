/**
 * Sees every HTTP request n8n's own client sends for the nodes (`helpers.httpRequest` goes through
 * `OutboundHttp` in n8n 2.41), before it is sent, in any execution context. Jest only; undone by
 * `jest.restoreAllMocks()`.
 */
import { OutboundHttp } from '@n8n/backend-network';
import type { IHttpRequestOptions } from 'n8n-workflow';

export function interceptOutboundRequests(beforeSend: (options: IHttpRequestOptions) => void): void {
	const original = OutboundHttp.prototype.requests;
	jest.spyOn(OutboundHttp.prototype, 'requests').mockImplementation(function (this: OutboundHttp, ...args) {
		const client = original.apply(this, args);
		return {
			...client,
			request: async (options: IHttpRequestOptions) => {
				beforeSend(options);
				return await client.request(options);
			},
		} as ReturnType<OutboundHttp['requests']>;
	});
}
