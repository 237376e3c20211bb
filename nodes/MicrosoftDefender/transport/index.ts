import { randomBytes } from 'crypto';
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
import { rateLimitFamily, RateLimitWaitError, SlidingWindowLimiter, type RateLimit } from './rateLimiter';

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
/** Connection failures after which the request may have reached the API. */
const RETRYABLE_NETWORK = /\b(ECONNRESET|ETIMEDOUT|ECONNABORTED|EPIPE|ESOCKETTIMEDOUT|socket hang up|timeout of \d+ms exceeded)\b/i;
/** The connection was refused: nothing was sent, so every request (writes too) can be sent again. */
const REFUSED_NETWORK = /\bECONNREFUSED\b/;
const TIMED_OUT = /ETIMEDOUT|ECONNABORTED|ESOCKETTIMEDOUT|timeout/i;

export type RequestContext = IExecuteFunctions | IPollFunctions | ILoadOptionsFunctions;

export interface DefenderRequest {
	/** Which API: the Defender for Endpoint API (default) or Microsoft Graph. */
	api?: ApiResource;
	method: IHttpRequestMethods;
	/** Path below the API base URL, e.g. `/api/alerts`. Build it with `pathId()` for ids. */
	path: string;
	qs?: Record<string, string | number | boolean | undefined>;
	body?: IDataObject | IDataObject[];
	/** A multipart/form-data body instead of JSON (file uploads); sent as `rawBody` with its Content-Type. */
	multipart?: MultipartForm;
	headers?: Record<string, string>;
	timeoutMs?: number;
	/** Return the body as a Buffer (file downloads). */
	binary?: boolean;
	/** Retry when no response arrived in time (default true). Off for calls whose repetition costs quota. */
	retryTimeouts?: boolean;
	/**
	 * Whether sending it twice does no more than sending it once. Default: GET and HEAD yes; POST, PATCH, PUT and
	 * DELETE no (writes). A write is retried only when it surely did not take effect — HTTP 429, 503 with
	 * Retry-After, a refused connection (nothing was sent), 401 before the token refresh — or when `verify` reads
	 * back that it did not. After any other failure (a timeout or a dropped connection after sending, HTTP 500, 502,
	 * 504, 503 without Retry-After) the API may have acted: `verify` decides, and without it the request fails with
	 * a WriteOutcomeUnknownError ("may have been applied").
	 */
	idempotent?: boolean;
	/** For a write: reads back whether an attempt whose outcome is unclear took effect (see `WriteVerifier`). */
	verify?: WriteVerifier;
	/** For a write: what it is and what to check, for the error when its outcome stays unclear. */
	effect?: WriteEffect;
}

/** A multipart/form-data body: text fields in order, then one file. */
export interface MultipartForm {
	fields: Array<{ name: string; value: string }>;
	file: { fieldName: string; fileName: string; contentType: string; data: Buffer };
}

/** Encodes a MultipartForm (RFC 7578) with a random boundary; returns the bytes and the Content-Type header. */
export function encodeMultipart(form: MultipartForm): { body: Buffer; contentType: string } {
	const boundary = `----n8nDefender${randomBytes(12).toString('hex')}`;
	// Names and file names are quoted; a quote, CR or LF in them would end the header, so they are escaped.
	const quoted = (text: string) => text.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
	const parts: Buffer[] = [];
	for (const field of form.fields) {
		parts.push(
			Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(field.name)}"\r\n\r\n${field.value}\r\n`, 'utf8'),
		);
	}
	const { file } = form;
	parts.push(
		Buffer.from(
			`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(file.fieldName)}"; filename="${quoted(file.fileName)}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
			'utf8',
		),
		file.data,
		Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
	);
	return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Names a write for its "may have been applied" error: `${action}: … ; ${check} before retrying.` */
export interface WriteEffect {
	/** The operation, e.g. `Add Comment`. */
	action: string;
	/** What the user should look at, e.g. `check the alert's comments`. */
	check: string;
}

/**
 * What reading back found after a write whose answer was lost:
 * - `applied`: it took effect; `body` (e.g. the re-read entity) stands in for the lost answer.
 * - `notApplied`: sending it again cannot apply anything twice (it did not take effect, or it is an upsert whose
 *   repetition changes nothing more): the transport retries it.
 * - `unknown`: cannot tell; the request fails with the "may have been applied" error (`reason` added to it).
 */
export type WriteCheck =
	| 'applied'
	| 'notApplied'
	| 'unknown'
	| { outcome: 'applied'; body?: unknown }
	| { outcome: 'notApplied' }
	| { outcome: 'unknown'; reason?: string };

/**
 * Called after a write's attempt failed in a way that does not say whether the API acted. `sentAt` is when the
 * request's first attempt was sent (the earliest its effect can be dated); `failure` says what happened. Its own
 * reads go through `sendDefenderRequest` (with GET's retries). A throw counts as `unknown`.
 */
export type WriteVerifier = (attempt: { sentAt: Date; failure: string }) => Promise<WriteCheck>;

export interface RawResponse {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	body: unknown;
	/** Set when the answer was lost and a read-back found the write applied: `body` is what `verify` returned. */
	verified?: boolean;
}

/** Sends one HTTP request; resolves for every HTTP status, rejects only when no response arrived. */
export type HttpSender = (request: {
	method: IHttpRequestMethods;
	url: string;
	headers: Record<string, string>;
	body?: IDataObject | IDataObject[];
	/** Bytes to send as they are (a multipart body); its Content-Type is in `headers`. Takes the place of `body`. */
	rawBody?: Buffer;
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

	/**
	 * Set on an error of a retried request when an earlier attempt of it may have taken effect (e.g. a DELETE that
	 * answers 404 because its lost first attempt deleted the resource).
	 */
	afterUnclearAttempt = false;

	/** The same API error with another message (status, code, body and attempt history kept). */
	withMessage(message: string): DefenderApiError {
		const copy = new DefenderApiError(message, this.status, this.code, this.apiMessage, this.correlationId, this.body, this.retryAfterSeconds);
		copy.afterUnclearAttempt = this.afterUnclearAttempt;
		return copy;
	}
}

/**
 * A write failed in a way that does not say whether the API applied it, and reading back could not tell either:
 * it was not sent again, since that could apply it twice.
 */
export class WriteOutcomeUnknownError extends DefenderApiError {
	constructor(
		message: string,
		cause: DefenderApiError,
		/** Why reading back did not settle it. */
		readonly reason: string | undefined,
	) {
		super(message, cause.status, cause.code, cause.apiMessage, cause.correlationId, { ...cause.body, mayHaveBeenApplied: true }, cause.retryAfterSeconds);
		this.name = 'WriteOutcomeUnknownError';
		this.failure = cause;
	}

	/** The failure that left the outcome unclear. */
	readonly failure: DefenderApiError;
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
	/**
	 * Longest single wait the API may impose (a `Retry-After` of a 429 or 503, room in the client-side rate limit),
	 * in ms. A longer one is not waited for: a `MaxWaitExceededError` says when the API accepts the next call. The
	 * limit a wait must fit is min(deadline − now, maxWaitMs). Undefined: only the deadline (the trigger's poll
	 * budget) limits the wait. Our own backoff between retries (at most `transportSettings.maxDelayMs`) is not
	 * throttling and only the deadline limits it.
	 */
	maxWaitMs?: number;
}

/**
 * Default of the action node's Request Options › Max Wait for Throttling: 120 s.
 *
 * Defender for Endpoint limits each endpoint to 100 calls per minute and 1,500 per hour per app and tenant (a few
 * endpoints less, e.g. batch update 10/min, all in minute and hour windows). A wait caused by the per-minute limit
 * ends when the oldest call leaves its one-minute window: at most 60 s, plus the rounding of Retry-After. 120 s
 * covers that twice over, so bursts against the minute limits are waited out as before. A longer wait only comes
 * from the hourly budget (up to an hour once 1,500 calls were made) or from a service that asks for more (an
 * hour-long Retry-After): holding an execution, and the n8n worker running it, for that long helps no one, so
 * the item fails at once and says when the API will accept the next call.
 */
export const DEFAULT_MAX_WAIT_SECONDS = 120;

/** Where the node's users raise the cap; named in the error. */
export const MAX_WAIT_OPTION = 'Request Options › Max Wait for Throttling (Seconds)';

/**
 * The API will accept the next call later than the caller's maximum wait (`maxWaitMs`): nothing was waited for,
 * and the request was not carried out (a 429 or a 503 with Retry-After means the API refused it; a client-side
 * rate-limit wait means it was not sent).
 */
export class MaxWaitExceededError extends Error {
	constructor(
		message: string,
		/** When the API will accept the next call. */
		readonly resumeAt: Date,
		/** How long the API asked to wait, in ms. */
		readonly waitMs: number,
		/** The HTTP status that asked for the wait (429, 503); undefined for the client-side rate limit. */
		readonly status?: number,
	) {
		super(message);
		this.name = 'MaxWaitExceededError';
	}
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

/**
 * Epoch ms until which the caller can wait for the API: min(deadline, now + maxWaitMs); undefined without either.
 * `throttling` false (our own backoff) leaves `maxWaitMs` out.
 */
function waitLimitAt(ctx: TransportContext, throttling: boolean): number | undefined {
	const byMaxWait = throttling && ctx.maxWaitMs !== undefined ? Date.now() + ctx.maxWaitMs : undefined;
	if (ctx.deadline === undefined) return byMaxWait;
	return byMaxWait === undefined ? ctx.deadline : Math.min(ctx.deadline, byMaxWait);
}

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));

/**
 * The error for a wait that ends past the limit: a DeadlineError when the deadline is what it passes (the
 * trigger's poll budget, as before), else a MaxWaitExceededError naming the time and the option to raise.
 */
function waitTooLong(
	ctx: TransportContext,
	resumeAt: number,
	deadlineMessage: string,
	maxWaitMessage: string,
	status?: number,
): Error {
	if (ctx.deadline !== undefined && (ctx.maxWaitMs === undefined || resumeAt > ctx.deadline)) {
		return new DeadlineError(deadlineMessage, new Date(resumeAt));
	}
	const waitMs = Math.max(0, resumeAt - Date.now());
	return new MaxWaitExceededError(
		`${maxWaitMessage}: the API accepts the next call at ${new Date(resumeAt).toISOString()} (in ${seconds(waitMs)} s), longer than the maximum wait of ${seconds(ctx.maxWaitMs ?? 0)} s. The request was not carried out; run it again after that time, or raise ${MAX_WAIT_OPTION}.`,
		new Date(resumeAt),
		waitMs,
		status,
	);
}

/**
 * Sleeps `ms` unless that runs past the caller's limit, in which case it throws instead of waiting. `apiWait`
 * marks a wait the API asked for (Retry-After): it must also fit `maxWaitMs`, compared with the API's own figure
 * (the jitter added to it is cut to the cap). Without it (backoff), only the deadline counts.
 */
async function sleepWithin(
	ctx: TransportContext,
	ms: number,
	why: string,
	apiWait?: { requiredMs: number; status: number },
): Promise<void> {
	if (ms > remainingMs(ctx)) {
		throw new DeadlineError(`${why}: the API asked to wait ${Math.round(ms / 1000)} s, past this poll's time budget`, new Date(Date.now() + ms));
	}
	if (apiWait && ctx.maxWaitMs !== undefined) {
		if (apiWait.requiredMs > ctx.maxWaitMs) {
			throw waitTooLong(ctx, Date.now() + apiWait.requiredMs, why, why, apiWait.status);
		}
		ms = Math.min(ms, Math.max(ctx.maxWaitMs, apiWait.requiredMs));
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

/** `100 calls per minute, 1500 per hour` (window lengths as configured, before time scaling). */
function describeLimits(limits: RateLimit[], timeScale: number): string {
	const per = (windowMs: number) =>
		windowMs === 60_000 ? 'minute' : windowMs === 3_600_000 ? 'hour' : `${Math.round(windowMs / 1000)} s`;
	const text = limits.map((l, i) => `${l.max}${i === 0 ? ' calls' : ''} per ${per(l.windowMs)}`).join(', ');
	return timeScale === 1 ? text : `${text}, time scaled by ${timeScale}`;
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

/**
 * Encodes one name for a URL path (e.g. a live response library file name, which may hold spaces or brackets that
 * `pathId` refuses): refuses what could change the path or its meaning (`/`, `\\`, `?`, `#`, `%`, control
 * characters, `.` and `..`), then percent-encodes the rest.
 */
export function pathName(value: unknown, field: string): string {
	const name = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
	if (!name) throw new InvalidInputError(`${field} is empty. Enter the ${field}.`);
	// eslint-disable-next-line no-control-regex
	if (/[/\\?#%\u0000-\u001f\u007f]/.test(name) || name === '.' || name === '..' || name.length > 256) {
		throw new InvalidInputError(
			`${field} "${name.slice(0, 80)}" cannot be used: a name may not contain / \\ ? # % or control characters, or be "." or "..".`,
		);
	}
	return encodeURIComponent(name);
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
 * Retry-After), refreshes the token once on 401, and waits for the client-side rate limit first. Writes
 * (`idempotent` false) are retried only when they surely did not take effect, or after `verify` read back that
 * they did not (see DefenderRequest.idempotent).
 */
export async function sendDefenderRequest(ctx: TransportContext, request: DefenderRequest): Promise<RawResponse> {
	const c = ctx.credentials;
	const api = request.api ?? 'mde';
	const base = api === 'graph' ? c.endpoints.graphBaseUrl : c.endpoints.apiBaseUrl;
	const url = buildUrl(base, request.path, request.qs);
	const { family, limits } = rateLimitFamily(request.method, request.path);
	const idempotent = request.idempotent ?? (request.method === 'GET' || request.method === 'HEAD');
	const what = `${request.method} ${request.path}`;
	const multipart = request.multipart ? encodeMultipart(request.multipart) : undefined;
	let refreshedAfter401 = false;
	let lastError: DefenderApiError | undefined;
	/** When the first attempt was sent; whether an earlier attempt may have taken effect. */
	let firstSentAt: Date | undefined;
	let unclearBefore = false;

	for (let attempt = 1; attempt <= transportSettings.maxAttempts; attempt++) {
		const token = await within(ctx, getAccessToken(c, api, { forceRefresh: refreshedAfter401 && attempt === 1 }), 'Sign-in');
		const settled = transportSettings.rateLimitEnabled
			? await limiter
					.acquire(`${c.tenantId}|${c.clientId}|${api}|${family}`, limits, transportSettings.rateLimitTimeScale, waitLimitAt(ctx, true))
					.catch((error: unknown) => {
						if (error instanceof RateLimitWaitError) {
							throw waitTooLong(
								ctx,
								error.freeAt,
								error.message,
								`${what}: Defender's rate limit for this endpoint (${describeLimits(limits, transportSettings.rateLimitTimeScale)}) is used up`,
							);
						}
						throw error;
					})
			: undefined;
		ctx.onRequest?.(request.method, request.path);
		let response: RawResponse;
		try {
			const timeoutMs = Math.min(request.timeoutMs ?? transportSettings.requestTimeoutMs, remainingMs(ctx));
			if (timeoutMs <= 0) throw new DeadlineError(`${what}: no time left in this poll's budget`);
			firstSentAt ??= new Date();
			response = await ctx.send({
				method: request.method,
				url,
				headers: {
					Authorization: `Bearer ${token.accessToken}`,
					Accept: 'application/json',
					...(multipart ? { 'Content-Type': multipart.contentType } : {}),
					...request.headers,
				},
				body: multipart ? undefined : request.body,
				rawBody: multipart?.body,
				timeoutMs,
				binary: request.binary,
			});
			settled?.();
		} catch (error) {
			settled?.();
			if (error instanceof DeadlineError) throw error;
			const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? ''}`;
			lastError = new DefenderApiError(
				redactSecrets(`${what} failed: no response (${text.trim()})`, c),
				undefined,
				(error as { code?: string }).code,
				undefined,
				undefined,
				{ message: redactSecrets((error as Error).message ?? String(error), c) },
			);
			const refused = REFUSED_NETWORK.test(text);
			const timedOut = TIMED_OUT.test(text);
			const mayHaveArrived = !refused && RETRYABLE_NETWORK.test(text);
			if (!idempotent && mayHaveArrived) {
				// Sent, and no answer: the API may have acted. Retried only if reading back shows it did not.
				const outcome = await settleUnclearWrite(ctx, request, lastError, timedOut ? 'the request timed out' : 'the connection dropped', firstSentAt);
				if (outcome) return outcome;
				if (attempt === transportSettings.maxAttempts) throw notAppliedError(lastError);
			} else {
				const retryable = refused || (mayHaveArrived && !(timedOut && request.retryTimeouts === false));
				if (remainingMs(ctx) <= 0) throw new DeadlineError(`${what}: no answer within this poll's time budget`);
				if (!retryable || attempt === transportSettings.maxAttempts) throw markUnclear(lastError, unclearBefore);
				if (mayHaveArrived) unclearBefore = true;
			}
			await sleepWithin(ctx, retryDelayMs(attempt, undefined), what);
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
		if (!RETRYABLE_STATUS.has(response.status)) throw markUnclear(lastError, unclearBefore);
		const retryAfter = lastError.retryAfterSeconds;
		// The API refused it before acting: a 429, or a 503 that says when to come back.
		const refusedByApi = response.status === 429 || (response.status === 503 && retryAfter !== undefined);
		if (!refusedByApi && !idempotent) {
			// A 5xx from a service that may have acted before failing: retried only if reading back shows it did not.
			const outcome = await settleUnclearWrite(ctx, request, lastError, `the API answered HTTP ${response.status}${lastError.code ? ` ${lastError.code}` : ''}`, firstSentAt);
			if (outcome) return outcome;
			if (attempt === transportSettings.maxAttempts) throw notAppliedError(lastError);
		} else if (!refusedByApi) {
			unclearBefore = true;
		}
		if (attempt === transportSettings.maxAttempts) throw markUnclear(lastError, unclearBefore);
		await sleepWithin(
			ctx,
			retryDelayMs(attempt, retryAfter),
			`${what} answered HTTP ${response.status}`,
			retryAfter !== undefined ? { requiredMs: Math.ceil(retryAfter * 1000), status: response.status } : undefined,
		);
	}
	throw lastError ?? new Error('unreachable');
}

function markUnclear(error: DefenderApiError, unclear: boolean): DefenderApiError {
	error.afterUnclearAttempt = unclear;
	return error;
}

/** The last attempt failed, and reading back showed it did not take effect: the API's error, saying so. */
function notAppliedError(error: DefenderApiError): DefenderApiError {
	const result = error.withMessage(`${error.message} (read back afterwards: it did not take effect, so running it again is safe)`);
	result.afterUnclearAttempt = false;
	return result;
}

const checkOf = (check: WriteCheck): Exclude<WriteCheck, string> =>
	typeof check === 'string' ? ({ outcome: check } as Exclude<WriteCheck, string>) : check;

/**
 * After a write's attempt failed without saying whether the API acted: asks `verify`. Returns the response to use
 * when it took effect, undefined when it did not (the caller retries); throws WriteOutcomeUnknownError otherwise.
 */
async function settleUnclearWrite(
	ctx: TransportContext,
	request: DefenderRequest,
	error: DefenderApiError,
	failure: string,
	sentAt: Date | undefined,
): Promise<RawResponse | undefined> {
	let check: Exclude<WriteCheck, string> = { outcome: 'unknown', reason: 'This request has no read-back to tell.' };
	if (request.verify) {
		try {
			check = checkOf(await request.verify({ sentAt: sentAt ?? new Date(), failure }));
		} catch (verifyError) {
			const message = verifyError instanceof Error ? verifyError.message : String(verifyError);
			check = { outcome: 'unknown', reason: `Reading it back failed: ${redactSecrets(message, ctx.credentials)}` };
		}
	}
	if (check.outcome === 'applied') return { status: 200, headers: {}, body: check.body, verified: true };
	if (check.outcome === 'notApplied') return undefined;
	const effect = request.effect ?? {
		action: `${request.method} ${request.path}`,
		check: 'check in Defender whether it took effect',
	};
	const how = failure.startsWith('the API answered') ? `${failure}, and it may have applied the request anyway` : `${failure} after the API may have applied it`;
	throw new WriteOutcomeUnknownError(`${effect.action}: ${how}; ${effect.check} before retrying.`, error, check.reason);
}

/** The tenant the credential signs in to, as Entra ID names it (the token's tenant GUID); one cached token. */
export async function signedInTenant(ctx: TransportContext, api: ApiResource): Promise<string> {
	const token = await within(ctx, getAccessToken(ctx.credentials, api), 'Sign-in');
	return tokenTenant(token.accessToken) ?? ctx.credentials.tenantId.toLowerCase();
}

/** Sends with n8n's own HTTP client, so n8n's proxy and TLS settings apply. */
export function n8nSender(context: RequestContext): HttpSender {
	return async ({ method, url, headers, body, rawBody, timeoutMs, binary }) => {
		const options: IHttpRequestOptions = {
			method,
			url,
			headers,
			body: rawBody ?? body,
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
	if (error instanceof MaxWaitExceededError) {
		const description = `Defender asked for a wait longer than this node waits. It accepts the next call at ${error.resumeAt.toISOString()}. Raise ${MAX_WAIT_OPTION} to wait that long instead of failing.`;
		if (error.status !== undefined) {
			const nodeError = new NodeApiError(
				node,
				{ status: error.status, message: error.message, resumeAt: error.resumeAt.toISOString() },
				{ message: error.message, description, httpCode: String(error.status), itemIndex },
			);
			nodeError.message = error.message;
			return nodeError;
		}
		return new NodeOperationError(node, error.message, { itemIndex, description });
	}
	if (error instanceof AuthenticationError) {
		return new NodeOperationError(node, error.message, {
			itemIndex,
			description: 'Sign-in to Microsoft Entra ID failed. Fix the credential and try again.',
		});
	}
	if (error instanceof WriteOutcomeUnknownError) {
		const nodeError = new NodeApiError(node, error.body, {
			message: error.message,
			description: [
				'It was not sent again, since that could apply it twice.',
				error.reason,
				`What happened: ${error.failure.message}.`,
				error.correlationId ? `Correlation ID: ${error.correlationId}.` : undefined,
			]
				.filter(Boolean)
				.join(' '),
			httpCode: error.status !== undefined ? String(error.status) : undefined,
			itemIndex,
		});
		nodeError.message = error.message;
		return nodeError;
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

/** Tunables of `mdeListStable`; tests shrink the page to make paging visible with a few rows. */
export const stableListSettings = {
	/** Rows per request (`$top`), at most MDE_MAX_PAGE_SIZE. */
	pageSize: MDE_MAX_PAGE_SIZE,
	/** Rows before the end of the last answer that each next request reads again, to find its place. */
	overlap: 100,
	/** Answers that may miss their place (each widens the re-read) without the listing getting further, before it gives up. */
	maxRereads: 30,
};

/** The list changed so fast between page requests that the listing could not find its place in it. */
export class ListChangedError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ListChangedError';
	}
}

/**
 * Every row of an MDE list endpoint (up to `limit`) read with `$top`/`$skip` such that rows added or removed
 * between page requests make no row appear twice and none that existed throughout the listing go missing.
 *
 * Why not an order or a key. Microsoft documents `$filter`, `$top` (≤ 10,000) and `$skip` for these lists, and
 * no `$orderby` and no order:
 * - List machines API (https://learn.microsoft.com/en-us/defender-endpoint/api/get-machines): `$filter` on
 *   computerDnsName, id, version, deviceValue, aadDeviceId, machineTags, lastSeen, exposureLevel, onboardingStatus,
 *   lastIpAddress, healthStatus, osPlatform, riskScore, rbacGroupId.
 * - List MachineActions API (https://learn.microsoft.com/en-us/defender-endpoint/api/get-machineactions-collection):
 *   `$filter` on id, status, machineId, type, requestor, creationDateTimeUtc.
 * - List Indicators API (https://learn.microsoft.com/en-us/defender-endpoint/api/get-ti-indicators-collection):
 *   `$filter` on application, createdByDisplayName, expirationTime, generateAlert, title, rbacGroupNames,
 *   rbacGroupIds, indicatorValue, indicatorType, creationTimeDateTimeUtc, createdBy, action, severity.
 * - OData queries with Microsoft Defender for Endpoint
 *   (https://learn.microsoft.com/en-us/defender-endpoint/api/exposed-apis-odata-samples) lists the same kind of
 *   filterable properties; its examples (and those of the three pages) use on these lists only `riskScore eq`,
 *   `healthStatus ne`, `startswith(computerDnsName, …)`, `requestor eq`, `type eq`, `machineId eq`, `action eq` and,
 *   the one time field, `lastSeen gt 2018-08-01Z`. No operator is shown for creationDateTimeUtc (machine actions) or
 *   creationTimeDateTimeUtc (indicators).
 * A complete time-window scan (as the trigger's cursor does on alerts) needs a bounded window `field ge A and
 * field lt B` on a field that does not change: machines document only `gt` on lastSeen, which moves every time a
 * device reports; the machine-action and indicator creation times document no operator at all. So no documented
 * order or keyset exists, and this reads by offset and checks its place on every page instead.
 *
 * The assumption (the least any `$skip` paging needs): the API lists rows in some order that is the same for every
 * request of the same query, apart from rows added or removed in between (for example by creation or by an internal
 * key; newest first counts too). Then every row that existed throughout is returned, and no row twice. If the API
 * orders by a field that changes (a row moves while the list is read), the row that moved may be missed (never
 * repeated); only if that coincides with `overlap` or more removals before a page boundary in the same gap (rows
 * that moved away count) can a row behind it be missed too.
 *
 * How. Rows are kept in memory by id (`id`); a row whose id was already returned is dropped (the first copy stays;
 * a row without an id is always kept).
 * The first request starts at 0. Every next request starts `overlap` rows before the end of the previous answer,
 * `$skip = end − overlap`, so it must contain rows already read. An answer is *anchored* when it starts at 0 or
 * contains a row already read (at any place):
 * - Invariant: for every row read so far, every surviving row listed before it has been read too. It holds after the
 *   first answer (a prefix of the list). An anchored answer is one contiguous stretch of the current list holding a
 *   read row K; each row X in it is preceded by survivors listed before K (read, by the invariant for K) or between
 *   K and X (in this answer): the invariant holds for X. Inserts or deletes before the boundary only shift where K
 *   is found, which is why the anchor is looked for anywhere in the answer and not at a fixed place.
 * - An anchored answer shorter than asked ends the list: every survivor after its anchor was in it, every survivor
 *   before it was read. Complete.
 * - An answer without a read row (`overlap` or more rows before the boundary were removed, so the list moved past
 *   the place asked for) proves nothing: it is discarded and asked again from further back (twice as many rows
 *   back each time, at worst from 0, which always anchors). Discarding keeps the invariant: only anchored answers
 *   add rows. After `maxRereads` such answers without getting past the furthest position reached (the list keeps
 *   changing faster than it is read) this throws ListChangedError rather than return a list that may be incomplete.
 *   Termination: a run of misses ends at 0 at the latest; between misses every answer moves forward.
 * Costs: `overlap` re-read rows per page (1 % at 10,000 per page), one more request per re-read; a list that fits
 * one page is one request, as before. Limit: rows are returned in the order read until `limit` rows were returned;
 * `$top` asks for no more new rows than still wanted.
 */
export async function mdeListStable<T extends IDataObject = IDataObject>(
	ctx: TransportContext,
	path: string,
	qs: DefenderRequest['qs'] = {},
	options: {
		limit?: number;
		pageSize?: number;
		overlap?: number;
		/** A 404 answer counts as an empty page (GET /api/machines answers 404 when no machine matches). */
		notFoundIsEmpty?: boolean;
	} = {},
): Promise<T[]> {
	const pageSize = Math.max(2, Math.min(options.pageSize ?? stableListSettings.pageSize, MDE_MAX_PAGE_SIZE));
	const overlap = Math.max(1, Math.min(options.overlap ?? stableListSettings.overlap, pageSize - 1));
	const limit = options.limit ?? Number.POSITIVE_INFINITY;
	const key = (row: T): string | undefined =>
		typeof row.id === 'string' || typeof row.id === 'number' ? String(row.id) : undefined;
	const read = new Set<string>();
	const rows: T[] = [];
	/** Position just after the last anchored answer, and how many rows before it the next request re-reads. */
	let end = 0;
	let back = 0;
	/** Misses since the listing last got past `furthest`. */
	let rereads = 0;
	let furthest = 0;
	while (rows.length < limit) {
		const skip = Math.max(0, end - back);
		const top = Math.min(pageSize, end - skip + (limit - rows.length));
		let page: T[];
		try {
			const response = await sendDefenderRequest(ctx, { method: 'GET', path, qs: { ...qs, $top: top, $skip: skip || undefined } });
			page = ((response.body as { value?: T[] })?.value ?? []) as T[];
		} catch (error) {
			if (!(options.notFoundIsEmpty && error instanceof DefenderApiError && error.status === 404)) throw error;
			page = [];
		}
		const anchored =
			skip === 0 ||
			page.some((row) => {
				const id = key(row);
				return id !== undefined && read.has(id);
			});
		if (!anchored) {
			if (++rereads > stableListSettings.maxRereads) {
				throw new ListChangedError(
					`GET ${path}: the list changed faster than it could be read (${stableListSettings.maxRereads} re-reads without getting further: rows before a page boundary kept being removed). Run it again, or narrow it with filters.`,
				);
			}
			back = Math.max(overlap, (end - skip) * 2);
			continue;
		}
		for (const row of page) {
			const id = key(row);
			if (id !== undefined) {
				if (read.has(id)) continue;
				read.add(id);
			}
			rows.push(row);
			if (rows.length >= limit) break;
		}
		if (page.length < top) break;
		end = skip + page.length;
		back = overlap;
		if (end > furthest) {
			furthest = end;
			rereads = 0;
		}
	}
	return rows;
}
