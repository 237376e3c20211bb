/**
 * MSAL's network client for sign-in (the tenant's OpenID metadata GET and the token POST). MSAL's own client
 * uses Node's fetch, which ignores the proxy environment and gives the token POST no timeout; this one connects
 * the way n8n's `helpers.httpRequest` does for the API calls, so sign-in and API calls take the same route:
 *
 * - Proxy: n8n 2.x resolves the proxy per request with `getProxyForUrl` of `proxy-from-env` 1.1.0 on
 *   `https://host[:port]` (EnvProxyHttpsAgent in @n8n/backend-network), reading the environment at call time:
 *   `npm_config_https_proxy`, `https_proxy`, `npm_config_proxy`, `all_proxy` (lower case before upper case),
 *   skipped for hosts matched by `npm_config_no_proxy` / `no_proxy` / `NO_PROXY`. Same library, same input here.
 * - Through a proxy, an HTTP CONNECT tunnel (as https-proxy-agent, which n8n uses): `Proxy-Authorization: Basic`
 *   from the proxy URL's user and password; TLS to the proxy when its URL is https. TLS to the sign-in host runs
 *   end to end inside the tunnel, verified against Node's CAs (NODE_EXTRA_CA_CERTS included): the proxy sees
 *   only the CONNECT line, never the request, the secret or the token.
 * - Every request (connection, tunnel, TLS handshake and answer together) ends after `signInSettings.timeoutMs`
 *   with a one-line error naming the host; errors never carry the request body (the secret or the assertion).
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'http';
import { request as httpsRequest } from 'https';
import { connect as netConnect, isIP, type Socket } from 'net';
import { connect as tlsConnect } from 'tls';
import { AuthError, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { getProxyForUrl } from 'proxy-from-env';

export const signInSettings = {
	/** Longest one sign-in request may take, from connecting (to the proxy) to the last byte of the answer. */
	timeoutMs: 30_000,
	/** Largest answer accepted (metadata and token answers are a few kB). */
	maxResponseBytes: 1024 * 1024,
};

const CHECK = "Check the environment or custom URLs and the n8n host's network and proxy settings.";

/** A sign-in request that got no usable answer; `errorMessage` is one line for the user, without secrets. */
export class SignInNetworkError extends AuthError {
	constructor(
		readonly code: string,
		message: string,
	) {
		// An AuthError, so MSAL passes it through unchanged instead of replacing it with a bare "network_error".
		super('network_error', '', message);
		Object.setPrototypeOf(this, SignInNetworkError.prototype);
		this.name = 'SignInNetworkError';
	}
}

/** `[::1]` → `::1` (URL keeps the brackets of IPv6 literals; sockets and TLS want them bare). */
const bare = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1');

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/**
 * The proxy n8n's `httpRequest` uses for `target` (see the file comment), or undefined for a direct connection.
 * Throws when the proxy variable is not a usable URL, naming the variables but never their value (it may hold a
 * password).
 */
export function proxyFor(target: URL): URL | undefined {
	const proxy = getProxyForUrl(`${target.protocol}//${target.host}`);
	if (!proxy) return undefined;
	let url: URL;
	try {
		url = new URL(proxy);
	} catch {
		throw new SignInNetworkError(
			'EINVALIDPROXY',
			`The proxy set for ${target.host} (HTTPS_PROXY or ALL_PROXY) is not a valid URL. ${CHECK}`,
		);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new SignInNetworkError(
			'EINVALIDPROXY',
			`The proxy set for ${target.host} is a ${url.protocol.slice(0, -1)} proxy; sign-in supports http and https proxies. ${CHECK}`,
		);
	}
	return url;
}

function reason(error: Error & { code?: string }, hostname: string): string {
	const code = error.code;
	if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `its TLS certificate is not issued for ${hostname}`;
	if (code && /CERT|SIGN/.test(code)) return `its TLS certificate is not trusted: ${code}`;
	return code ?? (error.message || 'connection failed').split(/\r?\n/)[0].slice(0, 200);
}

/** What a request opened; closing it ends everything, including what is opened after (a late callback). */
class Opened {
	private readonly resources: Array<{ destroy(): unknown }> = [];

	private closed = false;

	push(resource: { destroy(): unknown }): void {
		if (this.closed) resource.destroy();
		else this.resources.push(resource);
	}

	close(): void {
		this.closed = true;
		for (const resource of this.resources.splice(0)) resource.destroy();
	}
}

/** A CONNECT tunnel to `target` through `proxy`: the raw byte stream, before TLS to the target. */
async function openTunnel(proxy: URL, target: URL, opened: Opened): Promise<Socket> {
	const authority = `${target.hostname}:${target.port || 443}`;
	const proxyHost = bare(proxy.hostname);
	const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
	const headers: OutgoingHttpHeaders = { Host: authority, 'Proxy-Connection': 'close' };
	if (proxy.username || proxy.password) {
		const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
		headers['Proxy-Authorization'] = `Basic ${Buffer.from(user).toString('base64')}`;
	}
	const refused = (status: number | undefined) =>
		new SignInNetworkError(
			'EPROXYREFUSED',
			`The proxy ${proxy.host} refused the tunnel to the sign-in host ${target.host} (HTTP ${status ?? '?'}${
				status === 407 ? ': it wants a user name and password, given in the proxy URL' : ''
			}). ${CHECK}`,
		);
	return await new Promise<Socket>((resolve, reject) => {
		const request = httpRequest({
			host: proxyHost,
			port: proxyPort,
			method: 'CONNECT',
			path: authority,
			headers,
			// Our own socket, never an agent: n8n may have replaced the global agents with proxying ones.
			createConnection: () => {
				const socket =
					proxy.protocol === 'https:'
						? tlsConnect({ host: proxyHost, port: proxyPort, servername: isIP(proxyHost) ? undefined : proxyHost, ALPNProtocols: ['http/1.1'] })
						: netConnect({ host: proxyHost, port: proxyPort });
				opened.push(socket);
				return socket;
			},
		});
		opened.push(request);
		request.once('connect', (response, socket, head) => {
			opened.push(socket);
			if (response.statusCode !== 200) return reject(refused(response.statusCode));
			if (head.length) socket.unshift(head);
			resolve(socket);
		});
		// Node reports a non-2xx answer to CONNECT as an ordinary response.
		request.once('response', (response) => {
			response.resume();
			reject(refused(response.statusCode));
		});
		request.once('error', (error: Error & { code?: string }) =>
			reject(
				new SignInNetworkError(
					error.code ?? 'EPROXY',
					`Cannot reach the proxy ${proxy.host} for the sign-in host ${target.host} (${reason(error, proxyHost)}). ${CHECK}`,
				),
			),
		);
		request.end();
	});
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
	const flat: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers)) {
		if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
	}
	return flat;
}

async function exchange<T>(
	method: 'GET' | 'POST',
	target: URL,
	options: NetworkRequestOptions | undefined,
	proxy: URL | undefined,
	via: string,
	opened: Opened,
): Promise<NetworkResponse<T>> {
	const tunnel = proxy ? await openTunnel(proxy, target, opened) : undefined;
	const hostname = bare(target.hostname);
	const body = method === 'POST' ? Buffer.from(options?.body ?? '', 'utf8') : undefined;
	// One connection per request: tokens are asked for once per lifetime, and nothing idles in a pool.
	const headers: OutgoingHttpHeaders = { ...(options?.headers ?? {}), Connection: 'close' };
	if (body) headers['Content-Length'] = body.length;
	return await new Promise<NetworkResponse<T>>((resolve, reject) => {
		const fail = (error: Error & { code?: string }) =>
			reject(
				error instanceof SignInNetworkError
					? error
					: new SignInNetworkError(error.code ?? 'ENETWORK', `Cannot reach the sign-in host ${target.host}${via} (${reason(error, hostname)}). ${CHECK}`),
			);
		const request = httpsRequest(
			target,
			{
				method,
				headers,
				// Verified TLS (Node's CAs and NODE_EXTRA_CA_CERTS), directly or inside the tunnel.
				createConnection: () => {
					const socket = tlsConnect({
						host: hostname,
						port: Number(target.port || 443),
						socket: tunnel,
						servername: isIP(hostname) ? undefined : hostname,
						ALPNProtocols: ['http/1.1'],
					});
					opened.push(socket);
					return socket;
				},
			},
			(response) => {
				const chunks: Buffer[] = [];
				let size = 0;
				response.on('data', (chunk: Buffer) => {
					size += chunk.length;
					if (size > signInSettings.maxResponseBytes) {
						request.destroy();
						fail(new SignInNetworkError('EBADRESPONSE', `The sign-in host ${target.host} sent an answer larger than ${signInSettings.maxResponseBytes} bytes${via}. ${CHECK}`));
						return;
					}
					chunks.push(chunk);
				});
				response.on('error', fail);
				response.on('end', () => {
					const status = response.statusCode ?? 0;
					let parsed: unknown;
					try {
						parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
					} catch {
						fail(new SignInNetworkError('EBADRESPONSE', `The sign-in host ${target.host} answered HTTP ${status} with something other than JSON${via}. ${CHECK}`));
						return;
					}
					resolve({ status, headers: flattenHeaders(response.headers), body: parsed as T });
				});
			},
		);
		opened.push(request);
		request.on('error', fail);
		request.end(body);
	});
}

/** One sign-in request with the proxy n8n would use and a timeout; throws only SignInNetworkError. */
export async function signInRequest<T>(
	method: 'GET' | 'POST',
	url: string,
	options?: NetworkRequestOptions,
	timeoutMs = signInSettings.timeoutMs,
): Promise<NetworkResponse<T>> {
	const target = new URL(url);
	const proxy = proxyFor(target);
	const via = proxy ? ` through the proxy ${proxy.host}` : '';
	const opened = new Opened();
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(
			() =>
				reject(
					new SignInNetworkError('ETIMEDOUT', `The sign-in host ${target.host} did not answer within ${seconds(timeoutMs)}${via}. ${CHECK}`),
				),
			timeoutMs,
		);
	});
	try {
		return await Promise.race([exchange<T>(method, target, options, proxy, via, opened), timeout]);
	} catch (error) {
		if (error instanceof SignInNetworkError) throw error;
		throw new SignInNetworkError('ENETWORK', `Cannot reach the sign-in host ${target.host}${via} (${reason(error as Error, target.hostname)}). ${CHECK}`);
	} finally {
		clearTimeout(timer);
		opened.close();
	}
}

/**
 * MSAL `system.networkClient`, one per MSAL application. MSAL drops the cause when the tenant's metadata cannot
 * be loaded (it only reports `endpoints_resolution_error`), so the last failed GET is kept for the error message.
 */
export class SignInNetworkClient implements INetworkModule {
	/** Why the latest metadata GET failed: the network error, or `HTTP <status> <body>`; undefined after a success. */
	lastGetFailure: SignInNetworkError | string | undefined;

	async sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
		const timeoutMs = timeout && timeout > 0 ? Math.min(timeout, signInSettings.timeoutMs) : signInSettings.timeoutMs;
		try {
			const response = await signInRequest<T>('GET', url, options, timeoutMs);
			this.lastGetFailure = response.status >= 400 ? `HTTP ${response.status} ${JSON.stringify(response.body).slice(0, 4000)}` : undefined;
			return response;
		} catch (error) {
			this.lastGetFailure = error as SignInNetworkError;
			throw error;
		}
	}

	async sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
		return await signInRequest<T>('POST', url, options);
	}
}
