/**
 * The HTTPS server and request pipeline:
 * parse → route → fault injection → token check → role check → rate limit → handler → log.
 */
import * as https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertStore, registerAlertRoutes } from './alerts';
import { Clock } from './clock';
import { Rng } from './data';
import { EntityStore, registerEntityRoutes } from './entities';
import { Directory, registerEntraRoutes, type ResourceKind } from './entra';
import { ApiError, renderError, type ApiFamily, type Reply } from './errors';
import { FaultInjector, type Fault } from './faults';
import { registerGraphRoutes } from './graph';
import { registerHuntingRoutes } from './hunting';
import { IncidentStore, registerIncidentRoutes } from './incidents';
import { IndicatorStore, registerIndicatorRoutes } from './indicators';
import { InvestigationStore, registerInvestigationRoutes } from './investigations';
import { LiveResponseStore, registerLiveResponseRoutes } from './liveresponse';
import { MachineActionStore, MachineStore, registerMachineRoutes } from './machines';
import { multipartBoundary, MultipartForm, parseMultipart } from './multipart';
import type { ApiProfile } from './profiles';
import { RateLimiter } from './ratelimit';
import { Router, type AuthInfo, type Route } from './router';
import type { EmulatorState } from './state';
import { Stats } from './stats';
import { issueServerCertificate, type CaPaths } from './tls';
import { registerTvmRoutes, TvmStore } from './tvm';

export interface ServerOptions {
	tenantId: string;
	tokenLifetimeSeconds: number;
	rateLimits: boolean;
	rateLimitTimeScale: number;
	machineActionStepMs: number;
	/** Seed of the data generator (same seed → same machines and alerts). */
	seed: number;
	ca: CaPaths;
	/** API profile at start; reset() goes back to it. */
	apiProfile: ApiProfile;
	/** Extra DNS names in the server certificate's subjectAltName (besides 127.0.0.1 and localhost). */
	dnsNames?: readonly string[];
	/** Lifetime of live response result links (emulator clock); reset() goes back to it. */
	liveResponseLinkTtlMs: number;
	/** Display name of the default client (createdBy of library files added in-process). */
	defaultAppName: string;
}

const MAX_BODY_BYTES = 50 * 1024 * 1024;
const JSON_TYPES: Record<ApiFamily, string> = {
	mde: 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8',
	graph: 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8',
	aad: 'application/json; charset=utf-8',
	admin: 'application/json; charset=utf-8',
	download: 'application/json; charset=utf-8',
};

/** Bad gateway pages come from the front end, not the API: HTML, not JSON. */
const gatewayPage = (status: number, text: string): Reply => ({
	status,
	headers: { 'Content-Type': 'text/html' },
	body: `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n</html>\r\n`,
});

function familyOf(path: string): ApiFamily {
	if (/^\/api(\/|$)/i.test(path)) return 'mde';
	if (/^\/(v1\.0|beta)(\/|$)/i.test(path)) return 'graph';
	if (path.startsWith('/_emulator')) return 'admin';
	if (path.startsWith('/_download')) return 'download';
	return 'aad';
}

function readBody(req: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > MAX_BODY_BYTES) {
				reject(new ApiError(413, 'RequestEntityTooLarge', 'The request body is too large.'));
				req.destroy();
				return;
			}
			chunks.push(chunk);
		});
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

function parseBody(raw: Buffer, family: ApiFamily, contentType: string | undefined): unknown {
	if (raw.length === 0) return undefined;
	// Uploads to the live response library (upload-library.md) are multipart/form-data; every other body is JSON.
	if (family === 'mde') {
		const boundary = multipartBoundary(contentType);
		if (boundary !== null) return parseMultipart(raw, boundary);
	}
	const text = raw.toString('utf8');
	// The token endpoint always reads a form, whatever the Content-Type says.
	if (family === 'aad') return Object.fromEntries(new URLSearchParams(text));
	try {
		return JSON.parse(text) as unknown;
	} catch (error) {
		const code = family === 'graph' ? 'BadRequest' : 'InvalidRequestBody';
		throw new ApiError(400, code, `The request body is not valid JSON: ${(error as Error).message}`);
	}
}

/** Request bodies are logged, but never client secrets or assertions. */
function redact(body: unknown): unknown {
	// Uploads can be 20 MB: the log keeps field names and sizes.
	if (body instanceof MultipartForm) return body.summary();
	if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
	const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
	for (const key of ['client_secret', 'client_assertion']) if (key in copy) copy[key] = '***';
	return copy;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class EmulatorServer {
	readonly state: EmulatorState;
	readonly router = new Router();
	private readonly server: https.Server;
	private origin = '';
	/** Extra names in the certificate; a client using one gets Entra ID metadata naming it (see originFor). */
	private readonly dnsNames: Set<string>;
	private readonly seed: number;
	private readonly apiProfile: ApiProfile;

	constructor(options: ServerOptions) {
		this.seed = options.seed;
		this.apiProfile = options.apiProfile;
		const clock = new Clock();
		const rng = new Rng(options.seed);
		const directory = new Directory(options.tenantId, options.tokenLifetimeSeconds);
		const machines = new MachineStore(clock, rng);
		const alerts = new AlertStore(clock, rng, machines, directory.defaultTenantId);
		const actions = new MachineActionStore(clock, options.machineActionStepMs);
		this.state = {
			origin: () => this.origin,
			clock,
			rng,
			directory,
			machines,
			alerts,
			incidents: new IncidentStore(clock, alerts),
			actions,
			indicators: new IndicatorStore(clock),
			entities: new EntityStore(clock, alerts, machines),
			investigations: new InvestigationStore(clock, alerts, machines, () => actions.stepMs),
			liveResponse: new LiveResponseStore(clock, machines, actions, options.liveResponseLinkTtlMs, options.defaultAppName),
			tvm: new TvmStore({ machines, clock }),
			faults: new FaultInjector(),
			rateLimiter: new RateLimiter(options.rateLimits, options.rateLimitTimeScale),
			stats: new Stats(),
			apiProfile: options.apiProfile,
			listOrder: {},
		};
		registerEntraRoutes(this.router, directory, (headers) => this.originFor(headers));
		registerAlertRoutes(this.router, this.state);
		// Before the machine routes: /api/machines/:id would take /api/machines/SoftwareVulnerabilitiesExport.
		registerTvmRoutes(this.router, this.state);
		registerMachineRoutes(this.router, this.state);
		registerIndicatorRoutes(this.router, this.state);
		registerHuntingRoutes(this.router, this.state);
		registerGraphRoutes(this.router, this.state);
		registerIncidentRoutes(this.router, this.state);
		registerLiveResponseRoutes(this.router, this.state);
		registerEntityRoutes(this.router, this.state);
		registerInvestigationRoutes(this.router, this.state);

		this.dnsNames = new Set((options.dnsNames ?? []).map((name) => name.toLowerCase()));
		const { keyPem, certPem } = issueServerCertificate(options.ca, options.dnsNames);
		this.server = https.createServer({ key: keyPem, cert: certPem }, (req, res) => {
			this.handle(req, res).catch((error: unknown) => {
				process.stderr.write(`[mde-emulator] unhandled error: ${String((error as Error)?.stack ?? error)}\n`);
				if (!res.headersSent) res.writeHead(500);
				res.end();
			});
		});
		this.server.on('clientError', (_error, socket) => socket.destroy());
		// Node's 5 s default makes idle keep-alive sockets race with client reuse (spurious ECONNRESET
		// after a long synchronous seed); Azure front ends keep idle connections for minutes.
		this.server.keepAliveTimeout = 120000;
		this.server.headersTimeout = 125000;
	}

	/** Fresh data, faults, stats, quotas, clock and the start API profile; app registrations, tenants and the URL stay. */
	reset(): void {
		const s = this.state;
		s.apiProfile = this.apiProfile;
		s.listOrder = {};
		s.rng.reseed(this.seed);
		s.clock.reset();
		s.alerts.clear();
		s.incidents.clear();
		s.machines.clear();
		s.actions.clear();
		s.indicators.clear();
		s.investigations.clear();
		s.liveResponse.clear();
		s.tvm.reset();
		s.faults.reset();
		s.rateLimiter.reset();
		s.stats.reset();
	}

	async listen(port: number, host = '127.0.0.1'): Promise<string> {
		await new Promise<void>((resolve, reject) => {
			this.server.once('error', reject);
			this.server.listen(port, host, () => {
				this.server.off('error', reject);
				resolve();
			});
		});
		const address = this.server.address() as AddressInfo;
		this.origin = `https://${host}:${address.port}`;
		return this.origin;
	}

	/**
	 * The origin Entra ID metadata and token audiences name: `https://<name>:<port>` when the client reached the
	 * emulator under one of its extra DNS names (as Entra ID names its own public host, and MSAL checks the issuer's
	 * host against the authority's), else the listening address.
	 */
	private originFor(headers: IncomingHttpHeaders): string {
		const name = (typeof headers.host === 'string' ? headers.host : '').toLowerCase().replace(/:\d+$/, '');
		return this.dnsNames.has(name) ? `https://${name}:${new URL(this.origin).port}` : this.origin;
	}

	close(): Promise<void> {
		return new Promise((resolve) => {
			this.server.close(() => resolve());
			// Keep-alive sockets from MSAL/axios would otherwise hold close() open.
			this.server.closeAllConnections();
		});
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const realTime = Date.now();
		const time = this.state.clock.nowTimestamp();
		const method = (req.method ?? 'GET').toUpperCase();
		const url = new URL(req.url ?? '/', 'https://emulator.invalid');
		let rawPath = url.pathname;
		try {
			rawPath = decodeURIComponent(url.pathname);
		} catch {
			// Keep the raw path; routing will 404 it.
		}
		const path = rawPath.replace(/^\/api\/v1\.0(?=\/|$)/i, '/api');
		const query: Record<string, string> = {};
		url.searchParams.forEach((value, key) => (query[key] = value));
		const matched = this.router.match(method, path);
		const route = matched && 'route' in matched ? matched.route : undefined;
		const family: ApiFamily = route?.family ?? familyOf(path);
		const clientRequestId = typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : undefined;

		let body: unknown;
		let auth: AuthInfo | undefined;
		let faultKind: string | undefined;
		let faultAfter: Fault | undefined;
		let handledStatus: number | undefined;
		let reply: Reply | null = null;
		const errorReply = (error: unknown): Reply =>
			renderError(this.asApiError(error, family), { family, now: this.state.clock.now(), origin: this.origin, clientRequestId });
		try {
			const contentType = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined;
			body = parseBody(await readBody(req), family, contentType);
			if (family !== 'admin') {
				const fault = this.state.faults.take(`${method} ${rawPath}`, family === 'aad' || family === 'download');
				if (fault) {
					faultKind = fault.kind;
					if (fault.after) faultAfter = fault;
					else reply = await this.applyFault(fault, family, req);
				}
			}
			if (!reply) {
				if (!route) {
					throw matched
						? new ApiError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`)
						: this.unknownPath(family, path);
				}
				if (family === 'mde' || family === 'graph') auth = this.authorize(route, req.headers.authorization, family);
				reply = await route.handler({
					method,
					path,
					query,
					body,
					headers: req.headers,
					params: matched && 'params' in matched ? matched.params : {},
					auth,
					routeKey: route.key,
				});
			}
		} catch (error) {
			reply = errorReply(error);
		}

		const record = (final: Reply): void => {
			if (family === 'admin') return;
			const form = family === 'aad' && body && typeof body === 'object' ? (body as Record<string, string>) : undefined;
			this.state.stats.record(
				{
					method,
					path: rawPath,
					query,
					body: redact(body),
					status: final.action === 'reset' ? 0 : final.status,
					time,
					realTime,
					key: route?.key ?? `${method} ${path}`,
					clientId: auth?.clientId ?? form?.client_id,
					fault: faultKind,
					...(handledStatus !== undefined ? { handledStatus } : {}),
				},
				family !== 'aad' ? 'api' : method === 'POST' ? 'token' : 'entra',
			);
		};

		if (faultAfter) {
			// The handler acted (or refused); now the client gets the fault instead of (or later than) its answer.
			handledStatus = reply.status;
			if (faultAfter.kind === 'slow') {
				// Logged when the handler acted (what a client reading the log after its timeout expects), sent later.
				record(reply);
				await sleep(faultAfter.delayMs);
				this.send(res, reply, family, clientRequestId);
				return;
			}
			try {
				reply = (await this.applyFault(faultAfter, family, req)) ?? reply;
			} catch (error) {
				reply = errorReply(error);
			}
		}

		this.send(res, reply, family, clientRequestId);
		record(reply);
	}

	/** Token, role and quota checks for MDE and Graph routes. */
	private authorize(route: Route, authorization: string | undefined, kind: ResourceKind): AuthInfo {
		const auth = this.state.directory.authenticate(authorization, kind);
		if (route.roles && !route.roles.some((role) => auth.roles.includes(role))) {
			throw new ApiError(
				403,
				'Forbidden',
				kind === 'graph'
					? `Missing application roles. API required roles: ${route.roles.join(',')}. Application roles on the token: ${auth.roles.join(',') || 'none'}.`
					: `Missing application permission. The application does not have any of the required application permissions (${route.roles.join(', ')}) to access the resource.`,
			);
		}
		this.state.rateLimiter.admit(`${auth.clientId}|${auth.tenantId}`, route.bucket ?? route.key, route.key, route.limits ?? [], kind);
		return auth;
	}

	/** Returns the fault's reply, or null to continue normally (after a 'slow' delay). */
	private async applyFault(fault: Fault, family: ApiFamily, req: IncomingMessage): Promise<Reply | null> {
		const retryAfter: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
		switch (fault.kind) {
			case 'reset':
				req.socket.destroy();
				return { status: 0, action: 'reset' };
			case 'slow':
				await sleep(fault.delayMs);
				return null;
			case '429':
				throw new ApiError(429, 'TooManyRequests', 'Rate limit is exceeded. Try again later.', retryAfter);
			case '500':
				throw new ApiError(500, 'InternalServerError', 'An unexpected error occurred while processing the request.');
			case '503':
				throw new ApiError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please retry later.', retryAfter);
			case '502':
				return gatewayPage(502, 'Bad Gateway');
			case '504':
				return gatewayPage(504, 'Gateway Time-out');
			case 'expireToken':
				if (family === 'mde' || family === 'graph') throw this.state.directory.expiredTokenError(family);
				return null;
		}
	}

	private unknownPath(family: ApiFamily, path: string): ApiError {
		if (family === 'graph') {
			return new ApiError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').filter(Boolean).pop() ?? ''}'.`);
		}
		if (family === 'mde') return new ApiError(404, 'ResourceNotFound', `No HTTP resource was found that matches the request URI '${path}'.`);
		return new ApiError(404, 'not_found', `No resource at '${path}'.`);
	}

	private asApiError(error: unknown, family: ApiFamily): ApiError {
		if (error instanceof ApiError) return error;
		const message = error instanceof Error ? error.message : String(error);
		// Admin calls report misuse (unknown alert id, bad options) as 400s.
		if (family === 'admin') return new ApiError(400, 'BadRequest', message);
		process.stderr.write(`[mde-emulator] ${String((error as Error)?.stack ?? error)}\n`);
		return new ApiError(500, 'InternalServerError', 'An unexpected error occurred while processing the request.');
	}

	private send(res: ServerResponse, reply: Reply, family: ApiFamily, clientRequestId: string | undefined): void {
		if (reply.action === 'reset') return;
		const headers: Record<string, string> = {};
		let payload: string | Buffer = '';
		if (reply.body !== undefined) payload = reply.body;
		else if (reply.json !== undefined) {
			payload = JSON.stringify(reply.json);
			headers['Content-Type'] = JSON_TYPES[family];
		}
		if (family === 'graph' && clientRequestId) headers['client-request-id'] = clientRequestId;
		Object.assign(headers, reply.headers);
		if (reply.status !== 204) headers['Content-Length'] = String(Buffer.byteLength(payload));
		res.writeHead(reply.status, headers);
		res.end(reply.status === 204 ? undefined : payload);
	}
}
