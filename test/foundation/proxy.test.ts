/**
 * Sign-in takes the same proxy route as the API calls. The credential names `defender.test` (authority host, API
 * and Graph base URLs, at the emulator's port), a name that does not resolve: the only way to the emulator is the
 * CONNECT proxy this test runs, which tunnels `defender.test:PORT` to the emulator and refuses everything else.
 * Sign-in, the credential test, a trigger poll and an action all succeed through it; with NO_PROXY=defender.test
 * the same credential fails to resolve. A token endpoint that accepts and never answers fails within the sign-in
 * timeout. Everything the proxy saw, every message and every log line is scanned for the secret and the tokens.
 * The emulator, started with `dnsNames: ['defender.test']`, has a certificate for that name and, asked under it,
 * names it in its Entra ID metadata: the token endpoint is at defender.test too, as Entra ID's is at its own host.
 */
import { lookup } from 'dns/promises';
import * as http from 'http';
import * as net from 'net';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';
import { resolveProxyUrl } from '@n8n/backend-network/proxy';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { microsoftDefenderApiTest } from '../../nodes/MicrosoftDefender/methods/credentialTest';
import {
	AuthenticationError,
	clearTokenCache,
	getAccessToken,
	signInSettings,
} from '../../nodes/MicrosoftDefender/transport/auth';
import { parseCredentials } from '../../nodes/MicrosoftDefender/transport/credentials';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { proxyFor } from '../../nodes/MicrosoftDefender/transport/signInNetwork';
import { startEmulator, type Emulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode, pollOnce, runCredentialTest } from '../helpers/n8n';
import { trigger, triggerHarness } from '../trigger/helpers';
import { createObserver } from '../helpers/observed';

const HOST = 'defender.test';

/** Every variable proxy-from-env (n8n's resolver) reads for https URLs, and the http ones for good measure. */
const PROXY_VARS = [
	'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy',
	'npm_config_https_proxy', 'npm_config_http_proxy', 'npm_config_proxy', 'npm_config_no_proxy',
];
const savedEnv = new Map(PROXY_VARS.map((name) => [name, process.env[name]]));

/** Sets exactly these proxy variables (the others unset). n8n-core and this package both read them per request. */
function proxyEnv(vars: Record<string, string>): void {
	for (const name of PROXY_VARS) delete process.env[name];
	Object.assign(process.env, vars);
}

function restoreEnv(): void {
	for (const [name, value] of savedEnv) {
		if (value === undefined) delete process.env[name];
		else process.env[name] = value;
	}
}

/** A server on a free 127.0.0.1 port that tracks its sockets, so `close()` ends every connection. */
abstract class LoopbackServer {
	port = 0;

	protected readonly sockets = new Set<net.Socket>();

	protected abstract readonly server: net.Server;

	async start(): Promise<void> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.port = (this.server.address() as net.AddressInfo).port;
	}

	async close(): Promise<void> {
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	protected track(socket: net.Socket): net.Socket {
		this.sockets.add(socket);
		socket.on('close', () => this.sockets.delete(socket));
		return socket;
	}
}

/** A plain HTTP CONNECT proxy on 127.0.0.1 with a route table; it refuses every other target and every plain request. */
class ConnectProxy extends LoopbackServer {
	/** `host:port` a client may ask for → the 127.0.0.1 port it is tunnelled to. */
	readonly routes = new Map<string, number>();
	/** Tunnels opened per target. */
	readonly tunnels = new Map<string, number>();
	readonly refused: string[] = [];
	/** Non-CONNECT requests (a client sending an https request in plain text to the proxy). */
	readonly plainRequests: string[] = [];
	/** Every CONNECT request as received: request line and headers. */
	readonly connectLines: string[] = [];
	/** Everything that passed through the tunnels, both directions. */
	readonly tunnelled: Buffer[] = [];
	/** The first byte the client sent in each tunnel (0x16: a TLS handshake). */
	readonly firstClientBytes: number[] = [];
	/** `Proxy-Authorization` value required, if any. */
	requiredAuth: string | undefined;

	protected readonly server = http.createServer((request, response) => {
		this.plainRequests.push(`${request.method} ${request.url}`);
		response.writeHead(405, { Connection: 'close' }).end();
	});

	constructor() {
		super();
		this.server.on('connection', (socket: net.Socket) => this.track(socket));
		this.server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
			const target = request.url ?? '';
			const headers: string[] = [];
			for (let i = 0; i < request.rawHeaders.length; i += 2) headers.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
			this.connectLines.push([`${request.method} ${target} HTTP/${request.httpVersion}`, ...headers].join('\r\n'));
			client.on('error', () => {});
			if (this.requiredAuth && request.headers['proxy-authorization'] !== this.requiredAuth) {
				client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
				return;
			}
			const port = this.routes.get(target);
			if (port === undefined) {
				this.refused.push(target);
				client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
				return;
			}
			this.tunnels.set(target, (this.tunnels.get(target) ?? 0) + 1);
			const upstream = this.track(net.connect(port, '127.0.0.1'));
			upstream.on('connect', () => {
				client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
				if (head.length) upstream.write(head);
				let first = true;
				client.on('data', (chunk: Buffer) => {
					if (first) this.firstClientBytes.push(chunk[0]);
					first = false;
					this.tunnelled.push(chunk);
				});
				upstream.on('data', (chunk: Buffer) => this.tunnelled.push(chunk));
				client.pipe(upstream);
				upstream.pipe(client);
			});
			upstream.on('error', () => client.destroy());
			upstream.on('close', () => client.destroy());
			client.on('close', () => upstream.destroy());
		});
	}

	count(target: string): number {
		return this.tunnels.get(target) ?? 0;
	}

	resetCounts(): void {
		this.tunnels.clear();
		this.refused.length = 0;
	}

}

/** A TCP server that accepts connections and never answers (not even a TLS handshake). */
class SilentServer extends LoopbackServer {
	accepted = 0;

	protected readonly server = net.createServer((socket) => {
		this.accepted++;
		this.track(socket).on('error', () => {});
	});
}

// What the leak scan at the end reads.
const { observed, observe, captured } = createObserver();
const logLines: string[] = [];
const secrets: string[] = [];


/** An error's message plus the messages n8n moved aside (NodeApiError swaps network codes for generic text). */
const errorText = (error: unknown): string =>
	[(error as Error)?.message, ...((error as { messages?: string[] })?.messages ?? [])].join('\n');

let emu: Emulator;
let proxy: ConnectProxy;
let silent: SilentServer;
/** The credential: every URL at defender.test, the emulator's port. */
let credentials: ICredentialDataDecryptedObject;
/** `defender.test:PORT`, what the proxy is asked for. */
let target: string;
const defaultTimeoutMs = signInSettings.timeoutMs;
const PROXY_PASSWORD = 'proxy-pass-8f3kq0zx';

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	transportSettings.maxDelayMs = 50;
	signInSettings.timeoutMs = 1_500;
	emu = await startEmulator({ dnsNames: [HOST] });
	secrets.push(emu.client.clientSecret);
	proxy = new ConnectProxy();
	await proxy.start();
	silent = new SilentServer();
	await silent.start();
	target = `${HOST}:${emu.port}`;
	credentials = emulatorCredentials({ url: `https://${target}`, tenantId: emu.tenantId, client: emu.client });
});

afterAll(async () => {
	signInSettings.timeoutMs = defaultTimeoutMs;
	restoreEnv();
	await proxy?.close();
	await silent?.close();
	await emu?.close();
});

beforeEach(() => {
	proxy.routes.clear();
	proxy.routes.set(target, emu.port);
	proxy.requiredAuth = undefined;
	proxy.resetCounts();
	proxyEnv({ HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` });
	clearTokenCache();
	emu.resetStats();
	emu.faults.clear();
});

/** A token (internal, never a node output: its failures are observed, the token is only added to the secrets). */
async function signIn(data: ICredentialDataDecryptedObject = credentials, resource: 'mde' | 'graph' = 'mde', forceRefresh = false) {
	try {
		const token = await getAccessToken(parseCredentials(data), resource, { forceRefresh });
		secrets.push(token.accessToken);
		return token;
	} catch (error) {
		observe(error);
		throw error;
	}
}

const credentialTest = async (data: ICredentialDataDecryptedObject = credentials) =>
	await captured(async () => await runCredentialTest(microsoftDefenderApiTest, data, logLines));

const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });

async function getAlert(id: string, data: ICredentialDataDecryptedObject = credentials): Promise<IDataObject> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource: 'alert', operation: 'get', alertId: byId(id) }, data);
	const [output] = await captured(async () => await executeNode(h, nodeType));
	return output[0].json;
}

/** Requests the emulator received since its stats were reset, by route key. */
const received = () => emu.stats().requests;

/**
 * Every request the emulator logged since the reset came through its own tunnel: sign-in uses one connection per
 * request, and n8n-core 2.41's httpRequest builds its proxy agent per request, so tunnels = requests.
 */
function expectEveryRequestTunnelled(): void {
	expect(emu.requestLog.length).toBeGreaterThan(0);
	expect(proxy.count(target)).toBe(emu.requestLog.length);
	expect(proxy.refused).toEqual([]);
	expect(proxy.plainRequests).toEqual([]);
}

test('the premise: defender.test does not resolve, so only the proxy reaches the emulator', async () => {
	await expect(lookup(HOST)).rejects.toMatchObject({ code: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/) });
	expect(signInSettings.timeoutMs).toBe(1_500);
	expect(defaultTimeoutMs).toBe(30_000);
});

describe('the same proxy decision as n8n', () => {
	// n8n-core's helpers.httpRequest routes each https request with EnvProxyRouter('https', 443, …).resolve(), which
	// asks proxy-from-env's getProxyForUrl about `https://<hostname>` plus `:<port>` unless 443; resolveProxyUrl is
	// @n8n/backend-network's exported wrapper of that call. Compare its answer with sign-in's.
	const P = 'http://127.0.0.1:3128';
	const Q = 'http://10.0.0.9:8080';
	const envs: Array<Record<string, string>> = [
		{},
		{ HTTPS_PROXY: P },
		{ https_proxy: Q, HTTPS_PROXY: P },
		{ ALL_PROXY: P },
		{ all_proxy: Q, HTTPS_PROXY: P },
		{ HTTP_PROXY: P },
		{ npm_config_https_proxy: Q, HTTPS_PROXY: P },
		{ npm_config_proxy: Q },
		{ HTTPS_PROXY: '127.0.0.1:3128' },
		{ HTTPS_PROXY: 'http://user:p%40ss@127.0.0.1:3128' },
		{ HTTPS_PROXY: P, NO_PROXY: 'defender.test' },
		{ HTTPS_PROXY: P, NO_PROXY: 'DEFENDER.TEST' },
		{ HTTPS_PROXY: P, no_proxy: '.test' },
		{ HTTPS_PROXY: P, NO_PROXY: '*.test' },
		{ HTTPS_PROXY: P, NO_PROXY: 'test' },
		{ HTTPS_PROXY: P, NO_PROXY: '*' },
		{ HTTPS_PROXY: P, NO_PROXY: 'defender.test:1' },
		{ HTTPS_PROXY: P, NO_PROXY: 'defender.test:8443' },
		{ HTTPS_PROXY: P, NO_PROXY: 'other.example, login.microsoftonline.com' },
		{ HTTPS_PROXY: P, NO_PROXY: 'other.example login.microsoftonline.com:443' },
		{ HTTPS_PROXY: P, no_proxy: 'nothing.example', NO_PROXY: 'defender.test' },
		{ HTTPS_PROXY: P, npm_config_no_proxy: 'defender.test' },
		{ HTTPS_PROXY: P, NO_PROXY: '127.0.0.1' },
	];
	const urls = [
		'https://defender.test:8443/tenant/oauth2/v2.0/token',
		'https://sub.defender.test/x',
		'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration',
		'https://127.0.0.1:8443/t/oauth2/v2.0/token',
	];
	test.each(envs)('%j', (env) => {
		proxyEnv(env);
		for (const url of urls) {
			const u = new URL(url);
			const port = u.port ? Number(u.port) : 443;
			const n8n = resolveProxyUrl(`https://${u.hostname}${port === 443 ? '' : `:${port}`}`);
			const ours = proxyFor(u);
			expect({ url, proxy: ours?.href }).toEqual({ url, proxy: n8n ? new URL(n8n).href : undefined });
		}
	});
});

describe('through the proxy', () => {
	test('sign-in: the metadata GET and the token POST both go through the proxy', async () => {
		const token = await signIn();
		expect(token.roles).toContain('Alert.ReadWrite.All');
		expect(received()).toMatchObject({
			'GET /:tenant/v2.0/.well-known/openid-configuration': 1,
			'POST /:tenant/oauth2/v2.0/token': 1,
		});
		// One tunnel per sign-in request (no pooled connections): the metadata GET and the token POST.
		expect(proxy.count(target)).toBe(2);
		expectEveryRequestTunnelled();
	});

	test('a proxy that refuses the tunnel: one line naming the proxy, the host and the status', async () => {
		proxy.routes.clear();
		const error = await signIn().catch((e: unknown) => e);
		expect(error).toBeInstanceOf(AuthenticationError);
		expect((error as Error).message).toBe(
			`The proxy 127.0.0.1:${proxy.port} refused the tunnel to the sign-in host ${target} (HTTP 403). Check the environment or custom URLs and the n8n host's network and proxy settings.`,
		);
		expect(proxy.refused).toEqual([target]);
		expect(emu.stats().requests).toEqual({});
	});

	test('a proxy that cannot be reached, or a proxy setting that is no URL: one line, no password', async () => {
		proxyEnv({ HTTPS_PROXY: `http://n8n:${PROXY_PASSWORD}@127.0.0.1:1` });
		secrets.push(PROXY_PASSWORD);
		const unreachable = await signIn().catch((e: unknown) => e);
		expect((unreachable as Error).message).toBe(
			`Cannot reach the proxy 127.0.0.1:1 for the sign-in host ${target} (ECONNREFUSED). Check the environment or custom URLs and the n8n host's network and proxy settings.`,
		);
		proxyEnv({ HTTPS_PROXY: `http://n8n:${PROXY_PASSWORD}@[not-a-host` });
		const invalid = await signIn().catch((e: unknown) => e);
		expect((invalid as Error).message).toBe(
			`The proxy set for ${target} (HTTPS_PROXY or ALL_PROXY) is not a valid URL. Check the environment or custom URLs and the n8n host's network and proxy settings.`,
		);
		expect(emu.stats().requests).toEqual({});
	});

	test('the credential test: sign-in, the API probe (n8n request helper) and the Graph token', async () => {
		const result = await credentialTest();
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(/^Connected\. Roles granted: .*Alert\.ReadWrite\.All.*Graph roles: .*SecurityAlert\.ReadWrite\.All/);
		expect(received()).toMatchObject({ 'GET /api/alerts': 1, 'POST /:tenant/oauth2/v2.0/token': 2 });
		expectEveryRequestTunnelled(); // metadata, 2 token POSTs, the API probe
	});

	test('a trigger poll (n8n-core PollContext, helpers.httpRequest)', async () => {
		const alert = emu.alerts.create({ status: 'New', severity: 'High' });
		const h = triggerHarness(emu);
		h.credentials = credentials;
		const logs: string[] = [];
		const result = await captured(async () => await pollOnce(h, trigger, 'trigger', { logs }));
		logLines.push(...logs);
		expect(result?.[0].map((item) => item.json.id)).toEqual([alert.id]);
		expect(emu.requestLog.some((entry) => entry.method === 'GET' && entry.path === '/api/alerts' && entry.status === 200)).toBe(true);
		expectEveryRequestTunnelled();
	});

	test('an action: alert Get (n8n-core ExecuteContext, helpers.httpRequest)', async () => {
		const alert = emu.alerts.create({ title: 'Through the proxy' });
		const json = await getAlert(alert.id);
		expect(json).toMatchObject({ id: alert.id, title: 'Through the proxy' });
		expect(received()).toMatchObject({ 'GET /api/alerts/:id': 1, 'POST /:tenant/oauth2/v2.0/token': 1 });
		expectEveryRequestTunnelled();
	});

	test('a proxy that wants a password: given in the URL, both routes authenticate; missing, one line says so', async () => {
		proxy.requiredAuth = `Basic ${Buffer.from(`n8n:${PROXY_PASSWORD}`).toString('base64')}`;
		secrets.push(PROXY_PASSWORD);
		const error = await signIn().catch((e: unknown) => e);
		expect((error as Error).message).toBe(
			`The proxy 127.0.0.1:${proxy.port} refused the tunnel to the sign-in host ${target} (HTTP 407: it wants a user name and password, given in the proxy URL). Check the environment or custom URLs and the n8n host's network and proxy settings.`,
		);
		proxyEnv({ HTTPS_PROXY: `http://n8n:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}` });
		const alert = emu.alerts.create({});
		expect((await getAlert(alert.id)).id).toBe(alert.id);
		expect(emu.stats().tokenRequests).toBe(1);
		expectEveryRequestTunnelled();
	});

	test('n8n and sign-in read the variables at call time: lower case wins over upper case', async () => {
		proxyEnv({ https_proxy: `http://127.0.0.1:${proxy.port}`, HTTPS_PROXY: 'http://127.0.0.1:1' });
		const alert = emu.alerts.create({});
		expect((await getAlert(alert.id)).id).toBe(alert.id);
		expectEveryRequestTunnelled();
	});
});

describe('with NO_PROXY=defender.test the same credential has no way to the emulator', () => {
	test('sign-in fails to resolve the host, and the proxy sees nothing', async () => {
		proxyEnv({ HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: HOST });
		const error = await signIn().catch((e: unknown) => e);
		expect(error).toBeInstanceOf(AuthenticationError);
		expect((error as Error).message).toMatch(
			new RegExp(`^Cannot reach the sign-in host defender\\.test:${emu.port} \\((ENOTFOUND|EAI_AGAIN)\\)\\. Check the environment`),
		);
		const result = await credentialTest();
		expect(result).toEqual({ status: 'Error', message: (error as Error).message });
		expect(proxy.tunnels.size).toBe(0);
		expect(emu.stats().requests).toEqual({});
	});

	test("n8n's API calls honour it too: with a token at hand, the action cannot resolve the host", async () => {
		await signIn(); // through the proxy
		proxy.resetCounts();
		emu.resetStats();
		proxyEnv({ HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, no_proxy: `.test` });
		const alert = emu.alerts.create({});
		const error = await getAlert(alert.id).catch((e: unknown) => e);
		expect(errorText(error)).toMatch(/ENOTFOUND|EAI_AGAIN/);
		expect(proxy.tunnels.size).toBe(0);
		expect(emu.stats().total).toBe(0);
	});
});

describe('a token endpoint that never answers', () => {
	test('through the proxy: the token POST fails within the timeout, one line naming the host', async () => {
		await signIn(); // metadata now cached: the next sign-in is only the token POST
		proxy.routes.set(target, silent.port);
		const accepted = silent.accepted;
		const started = Date.now();
		const error = await signIn(credentials, 'mde', true).catch((e: unknown) => e);
		const elapsed = Date.now() - started;
		expect(error).toBeInstanceOf(AuthenticationError);
		expect((error as Error).message).toBe(
			`The sign-in host ${target} did not answer within 1.5 s through the proxy 127.0.0.1:${proxy.port}. Check the environment or custom URLs and the n8n host's network and proxy settings.`,
		);
		expect(elapsed).toBeGreaterThanOrEqual(1_400);
		expect(elapsed).toBeLessThan(5_000);
		expect(silent.accepted).toBe(accepted + 1);
	});

	test('directly (NO_PROXY): the sign-in host accepts and never answers; the credential test says so in one line', async () => {
		proxyEnv({ HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: '127.0.0.1' });
		const hanging = { ...credentials, authorityHost: `https://127.0.0.1:${silent.port}` };
		const started = Date.now();
		const result = await credentialTest(hanging);
		const elapsed = Date.now() - started;
		expect(result).toEqual({
			status: 'Error',
			message: `The sign-in host 127.0.0.1:${silent.port} did not answer within 1.5 s. Check the environment or custom URLs and the n8n host's network and proxy settings.`,
		});
		expect(elapsed).toBeGreaterThanOrEqual(1_400);
		expect(elapsed).toBeLessThan(5_000);
		expect(proxy.tunnels.size).toBe(0);
	});

	test('in an action: the node fails with that line instead of hanging', async () => {
		proxy.routes.set(target, silent.port);
		const started = Date.now();
		const error = await getAlert('da637000000000000000_1').catch((e: unknown) => e);
		expect(Date.now() - started).toBeLessThan(5_000);
		expect((error as Error).message).toBe(
			`The sign-in host ${target} did not answer within 1.5 s through the proxy 127.0.0.1:${proxy.port}. Check the environment or custom URLs and the n8n host's network and proxy settings.`,
		);
	});
});

test('the proxy saw only CONNECT lines and TLS; the secret, tokens and JWTs appear nowhere', async () => {
	// Tokens issued through the proxy, to look for them everywhere below.
	proxyEnv({ HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` });
	proxy.routes.set(target, emu.port);
	for (const resource of ['mde', 'graph'] as const) secrets.push((await getAccessToken(parseCredentials(credentials), resource)).accessToken);

	expect(proxy.plainRequests).toEqual([]);
	expect(proxy.connectLines.length).toBeGreaterThan(15);
	for (const line of proxy.connectLines) {
		expect(line).toMatch(new RegExp(`^CONNECT ${HOST.replace('.', '\\.')}:\\d+ HTTP/1\\.1\\r\\n`));
	}
	expect(proxy.firstClientBytes.length).toBeGreaterThan(15);
	expect(new Set(proxy.firstClientBytes)).toEqual(new Set([0x16])); // every tunnel starts with a TLS handshake

	const tunnelled = Buffer.concat(proxy.tunnelled).toString('latin1');
	expect(tunnelled.length).toBeGreaterThan(10_000);
	const connectText = proxy.connectLines.join('\n');
	const messages = [...observed, ...logLines].join('\n');
	expect(secrets.length).toBeGreaterThanOrEqual(6);
	expect(observed.length).toBeGreaterThan(15);
	for (const secret of secrets) {
		expect(messages.includes(secret)).toBe(false);
		expect(tunnelled.includes(secret)).toBe(false);
		// The proxy's own password is the one thing a CONNECT line may carry (as Basic auth, for the proxy).
		if (secret !== PROXY_PASSWORD) expect(connectText.includes(secret)).toBe(false);
	}
	for (const text of [messages, tunnelled, connectText]) {
		expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
		expect(text).not.toMatch(/client_secret|Bearer /);
	}
	// Sign-in failures are one line.
	for (const error of observed.filter((o) => o.startsWith('{"status":"Error"'))) {
		expect(JSON.parse(error).message).not.toMatch(/\n/);
	}
});
