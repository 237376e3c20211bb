import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	INode,
	IPollFunctions,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

import { AuthenticationError, getAccessToken, redactSecrets, tokenTenant, type ApiResource } from './auth';
import { CredentialConfigError, parseCredentials, type DefenderCredentials } from './credentials';
import { rateLimitFamily, RateLimitWaitError, SlidingWindowLimiter } from './rateLimiter';

export const CREDENTIAL_TYPE = 'microsoftDefenderApi';

/** Largest `$top` the MDE list endpoints accept. */
export const MDE_MAX_PAGE_SIZE = 10_000;

/**
 * Tunables. The defaults are production values; tests and benchmarks shorten the waits or scale the rate-limit
 * windows to an emulator clock that runs faster than real time.
 */
export const transportSettings = {
	maxAttempts: 5,
	baseDelayMs: 1_000,
	maxDelayMs: 30_000,
	requestTimeoutMs: 60_000,
	rateLimitEnabled: true,
	rateLimitTimeScale: 1,
};

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_NETWORK = /\b(ECONNRESET|ETIMEDOUT|ECONNABORTED|EPIPE|ESOCKETTIMEDOUT|socket hang up|timeout of \d+ms exceeded)\b/i;

export type RequestContext = IExecuteFunctions | IPollFunctions | ILoadOptionsFunctions;

export interface DefenderRequest {
	/** Which API: the Defender for Endpoint API (default) or Microsoft Graph. */
	api?: ApiResource;
	method: IHttpRequestMethods;
	/** Path below the API base URL, e.g. `/api/alerts`. Build it with `pathId()` for ids. */
	path: string;
	qs?: Record<string, string | number | boolean | undefined>;
	body?: IDataObject | IDataObject[];
	headers?: Record<string, string>;
	timeoutMs?: number;
	/** Return the body as a Buffer (file downloads). */
	binary?: boolean;
	/** Retry when no response arrived in time (default true). Off for calls whose repetition costs quota. */
	retryTimeouts?: boolean;
}

export interface RawResponse {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	body: unknown;
}

/** Sends one HTTP request; resolves for every HTTP status, rejects only when no response arrived. */
export type HttpSender = (request: {
	method: IHttpRequestMethods;
	url: string;
	headers: Record<string, string>;
	body?: IDataObject | IDataObject[];
	timeoutMs: number;
	binary?: boolean;
}) => Promise<RawResponse>;

/** An API failure after retries, with what the API said. Turned into a NodeApiError at the node boundary. */
export class DefenderApiError extends Error {
	constructor(
		message: string,
		readonly status: number | undefined,
		readonly code: string | undefined,
		readonly apiMessage: string | undefined,
		readonly correlationId: string | undefined,
		readonly body: JsonObject,
		readonly retryAfterSeconds?: number,
	) {
		super(message);
		this.name = 'DefenderApiError';
	}
}

export interface TransportContext {
	credentials: DefenderCredentials;
	send: HttpSender;
	/** Request counter hooks for the poll's own statistics. */
	onRequest?: (method: string, path: string) => void;
	/**
	 * Epoch ms by which the caller must be done (a poll's budget): no wait (Retry-After, backoff, rate-limit room,
	 * sign-in) and no request runs past it; a `DeadlineError` says what the API would have needed instead.
	 */
	deadline?: number;
}

/** The caller's time ran out before the API could answer; nothing was sent that took effect. */
export class DeadlineError extends Error {
	constructor(
		message: string,
		/** When the API will accept the next call, where it said so (Retry-After, rate-limit window). */
		readonly resumeAt?: Date,
	) {
		super(message);
		this.name = 'DeadlineError';
	}
}

/** Remaining ms before the deadline (Infinity without one). */
function remainingMs(ctx: TransportContext): number {
	return ctx.deadline === undefined ? Number.POSITIVE_INFINITY : ctx.deadline - Date.now();
}

/** Sleeps `ms` unless that runs past the deadline, in which case it throws instead of waiting. */
async function sleepWithin(ctx: TransportContext, ms: number, why: string): Promise<void> {
	if (ms > remainingMs(ctx)) {
		throw new DeadlineError(`${why}: the API asked to wait ${Math.round(ms / 1000)} s, past this poll's time budget`, new Date(Date.now() + ms));
	}
	await sleep(ms);
}

/** Settles with `promise`, or throws a DeadlineError when the deadline comes first (the promise is left to finish). */
async function within<T>(ctx: TransportContext, promise: Promise<T>, what: string): Promise<T> {
	const left = remainingMs(ctx);
	if (!Number.isFinite(left)) return await promise;
	if (left <= 0) throw new DeadlineError(`${what}: no time left in this poll's budget`);
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new DeadlineError(`${what}: no answer within this poll's time budget`)), left);
	});
	promise.catch(() => {});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		clearTimeout(timer);
	}
}

const limiter = new SlidingWindowLimiter({ now: () => Date.now(), sleep: async (ms) => await sleep(ms) });

/** Encodes one id for a URL path after checking it cannot change the path (`/`, `..`, `?`, `#`, `%`, spaces). */
export function pathId(value: unknown, field: string): string {
	const id = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
	if (!id) throw new InvalidInputError(`${field} is empty. Enter the ${field}.`);
	if (!/^[A-Za-z0-9][A-Za-z0-9_.:=+-]*$/.test(id) || id.includes('..') || id.length > 256) {
		throw new InvalidInputError(
			`${field} "${id.slice(0, 80)}" is not a valid ID: it may contain only letters, digits and - _ . : (no slashes, spaces, "..", "?" or "#").`,
		);
	}
	return encodeURIComponent(id);
}

/** Bad parameter values; turned into NodeOperationError naming the field. */
export class InvalidInputError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'InvalidInputError';
	}
}

/** Quotes a value for an OData `$filter` string literal (single quotes doubled). */
export function odataString(value: string): string {
	return `'${value.replace(/'/g, "''")}'`;
}

export function buildUrl(base: string, path: string, qs?: DefenderRequest['qs']): string {
	if (!path.startsWith('/')) throw new Error(`API path must start with "/": ${path}`);
	const query = Object.entries(qs ?? {})
		.filter(([, v]) => v !== undefined && v !== '')
		// `$` keys stay literal as in Microsoft's examples; values are fully encoded (spaces as %20).
		.map(([k, v]) => `${k.replace(/[^$\w.-]/g, encodeURIComponent)}=${encodeURIComponent(String(v))}`)
		.join('&');
	return `${base}${path}${query ? `?${query}` : ''}`;
}

function header(headers: RawResponse['headers'], name: string): string | undefined {
	const value = headers[name] ?? headers[name.toLowerCase()];
	return Array.isArray(value) ? value[0] : value;
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (!value) return undefined;
	if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/** Exponential backoff with full jitter; `Retry-After` wins when the API sends it. */
export function retryDelayMs(attempt: number, retryAfterSeconds: number | undefined, random = Math.random): number {
	if (retryAfterSeconds !== undefined) {
		return Math.ceil(retryAfterSeconds * 1000) + Math.floor(random() * 250);
	}
	const ceiling = Math.min(transportSettings.maxDelayMs, transportSettings.baseDelayMs * 2 ** (attempt - 1));
	return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

function parseErrorBody(body: unknown): { code?: string; message?: string; target?: string } {
	let parsed = body;
	if (Buffer.isBuffer(parsed)) parsed = parsed.toString('utf8');
	if (typeof parsed === 'string') {
		const text = parsed;
		try {
			parsed = JSON.parse(text);
		} catch {
			return { message: text.slice(0, 500) || undefined };
		}
	}
	const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
	if (!error || typeof error !== 'object') return {};
	const inner = error.innerError as Record<string, unknown> | undefined;
	return {
		code: typeof error.code === 'string' ? error.code : undefined,
		message: typeof error.message === 'string' ? error.message : undefined,
		target:
			typeof error.target === 'string'
				? error.target
				: typeof inner?.['request-id'] === 'string'
					? (inner['request-id'] as string)
					: undefined,
	};
}

function apiError(response: RawResponse, method: string, path: string, c: DefenderCredentials): DefenderApiError {
	const { code, message, target } = parseErrorBody(response.body);
	const text = `${method} ${path.split('?')[0]} failed: HTTP ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
	return new DefenderApiError(
		redactSecrets(text, c),
		response.status,
		code,
		message && redactSecrets(message, c),
		target,
		{ status: response.status, code: code ?? null, message: message ?? null, correlationId: target ?? null },
		parseRetryAfter(header(response.headers, 'retry-after')),
	);
}

/**
 * One API call with the credential's token: retries 429/5xx and dropped connections with backoff (honouring
 * Retry-After), refreshes the token once on 401, and waits for the client-side rate limit first.
 */
export async function sendDefenderRequest(ctx: TransportContext, request: DefenderRequest): Promise<RawResponse> {
	const c = ctx.credentials;
	const api = request.api ?? 'mde';
	const base = api === 'graph' ? c.endpoints.graphBaseUrl : c.endpoints.apiBaseUrl;
	const url = buildUrl(base, request.path, request.qs);
	const { family, limits } = rateLimitFamily(request.method, request.path);
	let refreshedAfter401 = false;
	let lastError: DefenderApiError | undefined;

	for (let attempt = 1; attempt <= transportSettings.maxAttempts; attempt++) {
		const token = await within(ctx, getAccessToken(c, api, { forceRefresh: refreshedAfter401 && attempt === 1 }), 'Sign-in');
		const settled = transportSettings.rateLimitEnabled
			? await limiter
					.acquire(`${c.tenantId}|${c.clientId}|${api}|${family}`, limits, transportSettings.rateLimitTimeScale, ctx.deadline)
					.catch((error: unknown) => {
						if (error instanceof RateLimitWaitError) throw new DeadlineError(error.message, new Date(error.freeAt));
						throw error;
					})
			: undefined;
		ctx.onRequest?.(request.method, request.path);
		let response: RawResponse;
		try {
			const timeoutMs = Math.min(request.timeoutMs ?? transportSettings.requestTimeoutMs, remainingMs(ctx));
			if (timeoutMs <= 0) throw new DeadlineError(`${request.method} ${request.path}: no time left in this poll's budget`);
			response = await ctx.send({
				method: request.method,
				url,
				headers: { Authorization: `Bearer ${token.accessToken}`, Accept: 'application/json', ...request.headers },
				body: request.body,
				timeoutMs,
				binary: request.binary,
			});
			settled?.();
		} catch (error) {
			settled?.();
			if (error instanceof DeadlineError) throw error;
			const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? ''}`;
			lastError = new DefenderApiError(
				redactSecrets(`${request.method} ${request.path} failed: no response (${text.trim()})`, c),
				undefined,
				(error as { code?: string }).code,
				undefined,
				undefined,
				{ message: redactSecrets((error as Error).message ?? String(error), c) },
			);
			const timedOut = /ETIMEDOUT|ECONNABORTED|ESOCKETTIMEDOUT|timeout/i.test(text);
			const retryable = RETRYABLE_NETWORK.test(text) && !(timedOut && request.retryTimeouts === false);
			if (remainingMs(ctx) <= 0) throw new DeadlineError(`${request.method} ${request.path}: no answer within this poll's time budget`);
			if (!retryable || attempt === transportSettings.maxAttempts) throw lastError;
			await sleepWithin(ctx, retryDelayMs(attempt, undefined), `${request.method} ${request.path}`);
			continue;
		}

		if (response.status < 400) return response;
		lastError = apiError(response, request.method, request.path, c);
		if (response.status === 401 && !refreshedAfter401) {
			// An expired or revoked token: one fresh token, one retry, outside the retry budget.
			refreshedAfter401 = true;
			attempt = 0;
			continue;
		}
		if (!RETRYABLE_STATUS.has(response.status) || attempt === transportSettings.maxAttempts) throw lastError;
		await sleepWithin(
			ctx,
			retryDelayMs(attempt, lastError.retryAfterSeconds),
			`${request.method} ${request.path} answered HTTP ${response.status}`,
		);
	}
	throw lastError ?? new Error('unreachable');
}

/** The tenant the credential signs in to, as Entra ID names it (the token's tenant GUID); one cached token. */
export async function signedInTenant(ctx: TransportContext, api: ApiResource): Promise<string> {
	const token = await within(ctx, getAccessToken(ctx.credentials, api), 'Sign-in');
	return tokenTenant(token.accessToken) ?? ctx.credentials.tenantId.toLowerCase();
}

/** Sends with n8n's own HTTP client, so n8n's proxy and TLS settings apply. */
export function n8nSender(context: RequestContext): HttpSender {
	return async ({ method, url, headers, body, timeoutMs, binary }) => {
		const options: IHttpRequestOptions = {
			method,
			url,
			headers,
			body,
			json: !binary,
			timeout: timeoutMs,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		};
		if (binary) options.encoding = 'arraybuffer';
		const response = (await context.helpers.httpRequest(options)) as {
			statusCode: number;
			headers: RawResponse['headers'];
			body: unknown;
		};
		let responseBody = response.body;
		if (binary && !Buffer.isBuffer(responseBody) && responseBody instanceof ArrayBuffer) {
			responseBody = Buffer.from(responseBody);
		}
		return { status: response.statusCode, headers: response.headers ?? {}, body: responseBody };
	};
}

/** Reads and validates the node's credential; configuration mistakes become NodeOperationError. */
export async function loadCredentials(context: RequestContext): Promise<DefenderCredentials> {
	const raw = (await context.getCredentials(CREDENTIAL_TYPE)) as ICredentialDataDecryptedObject;
	try {
		return parseCredentials(raw);
	} catch (error) {
		if (error instanceof CredentialConfigError) {
			throw new NodeOperationError(context.getNode(), `Credential: ${error.message}`);
		}
		throw error;
	}
}

/** Converts transport failures into n8n's error types, with status, API code, message and correlation id. */
export function toNodeError(node: INode, error: unknown, itemIndex?: number): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof InvalidInputError) {
		return new NodeOperationError(node, error.message, { itemIndex });
	}
	if (error instanceof AuthenticationError) {
		return new NodeOperationError(node, error.message, {
			itemIndex,
			description: 'Sign-in to Microsoft Entra ID failed. Fix the credential and try again.',
		});
	}
	if (error instanceof DefenderApiError) {
		const description = [
			error.code ? `API error code: ${error.code}` : undefined,
			error.correlationId ? `Correlation ID: ${error.correlationId}` : undefined,
			error.status === 403
				? 'The app registration lacks the application permission for this call, or admin consent was not granted.'
				: undefined,
		]
			.filter(Boolean)
			.join('. ');
		const nodeError = new NodeApiError(node, error.body, {
			message: error.message,
			description: description || undefined,
			httpCode: error.status !== undefined ? String(error.status) : undefined,
			itemIndex,
		});
		// NodeApiError swaps messages containing common network codes for generic text, and "ResourceNotFound"
		// contains "ENOTFOUND": keep the API's own words.
		nodeError.message = error.message;
		return nodeError;
	}
	return new NodeOperationError(node, (error as Error)?.message ?? String(error), { itemIndex });
}

/** The node-side entry point: credential, token, retries, and n8n error types. Returns the parsed body. */
export async function defenderApiRequest<T = IDataObject>(
	this: RequestContext,
	request: DefenderRequest,
	transport?: TransportContext,
): Promise<T> {
	try {
		const ctx = transport ?? { credentials: await loadCredentials(this), send: n8nSender(this) };
		const response = await sendDefenderRequest(ctx, request);
		return response.body as T;
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
}

/**
 * Pages through an MDE list endpoint with `$top`/`$skip` (its `@odata.nextLink` is unreliable), one page in
 * memory at a time. Stops on a short page or when `limit` items were yielded.
 */
export async function* mdeListPages<T = IDataObject>(
	ctx: TransportContext,
	path: string,
	qs: DefenderRequest['qs'] = {},
	options: { pageSize?: number; limit?: number } = {},
): AsyncGenerator<T[]> {
	const pageSize = Math.min(options.pageSize ?? MDE_MAX_PAGE_SIZE, MDE_MAX_PAGE_SIZE);
	const limit = options.limit ?? Infinity;
	let skip = 0;
	while (skip < limit) {
		const top = Math.min(pageSize, limit - skip);
		const response = await sendDefenderRequest(ctx, {
			method: 'GET',
			path,
			qs: { ...qs, $top: top, $skip: skip || undefined },
		});
		const page = ((response.body as { value?: T[] })?.value ?? []) as T[];
		if (page.length) yield page;
		if (page.length < top) return;
		skip += page.length;
	}
}

/** Every alert, machine or indicator of an MDE list (up to `limit`), read page by page. */
export async function mdeListAll<T = IDataObject>(
	ctx: TransportContext,
	path: string,
	qs: DefenderRequest['qs'] = {},
	options: { pageSize?: number; limit?: number } = {},
): Promise<T[]> {
	const all: T[] = [];
	for await (const page of mdeListPages<T>(ctx, path, qs, options)) all.push(...page);
	return all;
}
