/**
 * The one place where error responses are built. Handlers throw ApiError; the server renders it
 * in the shape of the API family that served the request (MDE, Graph, Entra ID, admin).
 */
import { randomUUID } from 'node:crypto';

export type ApiFamily = 'mde' | 'graph' | 'aad' | 'admin' | 'download';

export interface Reply {
	status: number;
	/** Serialized with JSON.stringify unless `body` is set. */
	json?: unknown;
	body?: string | Buffer;
	headers?: Record<string, string>;
	/** 'reset' = destroy the socket without answering (fault injection). */
	action?: 'reset';
}

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly headers: Record<string, string> = {},
		/** Entra ID errors only: the AADSTS number(s). */
		readonly aadCodes: number[] = [],
	) {
		super(message);
	}
}

/** Entra ID error: `error` is the OAuth code, the description starts with `AADSTS<n>: `. */
export function aadError(status: number, error: string, aadsts: number, description: string): ApiError {
	return new ApiError(status, error, `AADSTS${aadsts}: ${description}`, {}, [aadsts]);
}

export const notFound = (message: string): ApiError => new ApiError(404, 'ResourceNotFound', message);

export interface ErrorContext {
	family: ApiFamily;
	now: Date;
	origin: string;
	clientRequestId?: string;
}

/** Entra ID's timestamp style: `2026-11-28 10:15:02Z`. */
function aadTimestamp(now: Date): string {
	return now.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
}

export function renderError(err: ApiError, ctx: ErrorContext): Reply {
	const headers = { ...err.headers };
	switch (ctx.family) {
		case 'aad': {
			const traceId = randomUUID();
			const correlationId = ctx.clientRequestId ?? randomUUID();
			const timestamp = aadTimestamp(ctx.now);
			return {
				status: err.status,
				headers,
				json: {
					error: err.code,
					error_description:
						`${err.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}` +
						`\r\nTimestamp: ${timestamp}`,
					error_codes: err.aadCodes,
					timestamp,
					trace_id: traceId,
					correlation_id: correlationId,
					error_uri: `${ctx.origin}/error?code=${err.aadCodes[0] ?? 0}`,
				},
			};
		}
		case 'graph': {
			const requestId = randomUUID();
			headers['request-id'] = requestId;
			return {
				status: err.status,
				headers,
				json: {
					error: {
						code: err.code,
						message: err.message,
						innerError: {
							date: ctx.now.toISOString().slice(0, 19),
							'request-id': requestId,
							'client-request-id': ctx.clientRequestId ?? requestId,
						},
					},
				},
			};
		}
		case 'mde':
			return {
				status: err.status,
				headers,
				json: { error: { code: err.code, message: err.message, target: randomUUID() } },
			};
		default:
			return { status: err.status, headers, json: { error: { code: err.code, message: err.message } } };
	}
}
