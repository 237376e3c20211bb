/**
 * The emulator itself: Entra ID with the real MSAL, the MDE and Graph APIs, OData, ingestion delay,
 * faults, rate limits, machine actions, indicators, hunting, the admin API and the CLI.
 *
 * Requests go through https.request with the emulator CA passed explicitly (no TLS shortcuts); MSAL
 * needs the CA in NODE_EXTRA_CA_CERTS, which `npm test` (test/run-jest.js) sets.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { ConfidentialClientApplication } from '@azure/msal-node';

import { API_PROFILES, generateClientCertificate, startEmulator, type ApiProfile, type Emulator } from './emulator';

const MDE_SCOPE = 'https://api.securitycenter.microsoft.com/.default';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const TS7 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Machine-action step of the shared emulator: long, so only clock.advance moves actions (not a slow CI). */
const STEP = 60_000;

// ------------------------------------------------------------------------------------------------
// HTTP helpers

interface Res {
	status: number;
	headers: IncomingHttpHeaders;
	text: string;
	body: Buffer;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	json: any;
}

interface Req {
	token?: string;
	json?: unknown;
	form?: Record<string, string>;
	headers?: Record<string, string>;
}

let emu: Emulator;
let ca: Buffer;
const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });

function call(e: Emulator, method: string, urlPath: string, req: Req = {}): Promise<Res> {
	const headers: Record<string, string> = { ...req.headers };
	let payload: string | undefined;
	if (req.json !== undefined) {
		payload = JSON.stringify(req.json);
		headers['Content-Type'] = 'application/json';
	} else if (req.form) {
		payload = new URLSearchParams(req.form).toString();
		headers['Content-Type'] = 'application/x-www-form-urlencoded';
	}
	if (req.token) headers.Authorization = `Bearer ${req.token}`;
	return new Promise((resolve, reject) => {
		const r = https.request(`${e.url}${urlPath}`, { method, headers, ca, agent }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => {
				const body = Buffer.concat(chunks);
				const text = body.toString('utf8');
				let json: unknown;
				try {
					json = text ? JSON.parse(text) : undefined;
				} catch {
					json = undefined;
				}
				resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, json });
			});
		});
		r.on('error', reject);
		r.end(payload);
	});
}

const q = (params: Record<string, string | number>): string =>
	'?' + Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');

async function tokenFor(e: Emulator, scope = MDE_SCOPE, client = e.client): Promise<string> {
	const res = await call(e, 'POST', `/${e.tenantId}/oauth2/v2.0/token`, {
		form: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope },
	});
	expect(res.status).toBe(200);
	return res.json.access_token as string;
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
const isoAt = (ms: number, ticks = 0) => `${new Date(ms).toISOString().slice(0, 23)}${String(ticks).padStart(4, '0')}Z`;

let mde: string;
let graph: string;
const api = (method: string, p: string, json?: unknown) => call(emu, method, p, { token: mde, json });
const gapi = (method: string, p: string, json?: unknown) => call(emu, method, p, { token: graph, json });

beforeAll(async () => {
	emu = await startEmulator({ machineActionStepMs: STEP });
	ca = fs.readFileSync(emu.caCertPath);
	mde = await tokenFor(emu);
	graph = await tokenFor(emu, GRAPH_SCOPE);
});
afterAll(async () => {
	agent.destroy();
	await emu.close();
});
beforeEach(() => emu.reset());

// ------------------------------------------------------------------------------------------------

describe('TLS', () => {
	test('the server certificate chains to the stable CA (ca-path.js prints the same path)', async () => {
		const printed = await new Promise<string>((resolve, reject) => {
			const child = spawn(process.execPath, [path.join(__dirname, 'emulator', 'ca-path.js')]);
			let out = '';
			child.stdout.on('data', (c: Buffer) => (out += c.toString()));
			child.on('close', () => resolve(out.trim()));
			child.on('error', reject);
		});
		expect(printed).toBe(emu.caCertPath);
		expect((await call(emu, 'GET', `/${emu.tenantId}/v2.0/.well-known/openid-configuration`)).status).toBe(200);
	});

	test('a client without the CA is refused (TLS is real)', async () => {
		const error = await new Promise<Error>((resolve) => {
			https
				.get(`${emu.url}/_emulator/info`, { ca: [], agent: false }, () => resolve(new Error('connected')))
				.on('error', resolve);
		});
		expect(String((error as Error & { code?: string }).code ?? error.message)).toMatch(/CERT|SELF_SIGNED|UNABLE/);
	});
});

describe('Entra ID', () => {
	test('OIDC discovery points at the emulator, also for a verified domain name', async () => {
		for (const tenant of [emu.tenantId, 'contoso.onmicrosoft.com']) {
			const res = await call(emu, 'GET', `/${tenant}/v2.0/.well-known/openid-configuration`);
			expect(res.status).toBe(200);
			expect(res.json).toMatchObject({
				token_endpoint: `${emu.url}/${emu.tenantId}/oauth2/v2.0/token`,
				issuer: `${emu.url}/${emu.tenantId}/v2.0`,
				authorization_endpoint: `${emu.url}/${emu.tenantId}/oauth2/v2.0/authorize`,
				jwks_uri: `${emu.url}/${emu.tenantId}/discovery/v2.0/keys`,
			});
		}
	});

	test('unknown tenant: discovery answers 400 invalid_tenant AADSTS90002', async () => {
		const res = await call(emu, 'GET', '/11111111-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration');
		expect(res.status).toBe(400);
		expect(res.json).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
		expect(res.json.error_description).toMatch(/^AADSTS90002: Tenant '11111111-2222-3333-4444-555555555555' not found\./);
		expect(res.json.trace_id).toMatch(GUID);
		expect(res.json.correlation_id).toMatch(GUID);
		expect(res.json.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
	});

	describe('with the real MSAL', () => {
		const msal = (auth: Record<string, unknown>, tenant = emu.tenantId) =>
			new ConfidentialClientApplication({
				auth: {
					clientId: emu.client.clientId,
					authority: `${emu.url}/${tenant}`,
					knownAuthorities: [`127.0.0.1:${emu.port}`],
					...auth,
				},
			});

		beforeAll(() => {
			if (!process.env.NODE_EXTRA_CA_CERTS) {
				throw new Error('Run with NODE_EXTRA_CA_CERTS=$(node test/emulator/ca-path.js) (npm test does it) so MSAL trusts the emulator.');
			}
		});

		test('client secret: a token with the MDE audience and roles, then served from cache', async () => {
			const app = msal({ clientSecret: emu.client.clientSecret });
			const first = await app.acquireTokenByClientCredential({ scopes: [MDE_SCOPE] });
			expect(first?.tokenType).toBe('Bearer');
			const c = claims(first!.accessToken);
			expect(c).toMatchObject({ aud: 'https://api.securitycenter.microsoft.com', tid: emu.tenantId, appid: emu.client.clientId, appidacr: '1' });
			expect(c.roles).toEqual(expect.arrayContaining(['Alert.ReadWrite.All', 'Machine.Isolate', 'Ti.ReadWrite.All']));
			expect(c.roles).not.toContain('SecurityAlert.ReadWrite.All');
			expect(c.exp - c.iat).toBe(3599);
			const second = await app.acquireTokenByClientCredential({ scopes: [MDE_SCOPE] });
			expect(second?.fromCache).toBe(true);
			expect(emu.stats().tokenRequests).toBe(1);
			expect(emu.stats().requests['GET /:tenant/v2.0/.well-known/openid-configuration']).toBe(1);
			const graphToken = await app.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
			expect(claims(graphToken!.accessToken).roles).toEqual(['SecurityAlert.ReadWrite.All', 'SecurityIncident.ReadWrite.All', 'ThreatHunting.Read.All']);
		});

		test.each([
			['SHA-1 thumbprint (RS256, x5t)', 'thumbprint'],
			['SHA-256 thumbprint (PS256, x5t#S256)', 'thumbprintSha256'],
		])('certificate with a %s', async (_label, kind) => {
			const cert = generateClientCertificate();
			const client = emu.addClient({ certificatePem: cert.certificatePem, roles: ['Alert.Read.All'] });
			const thumbprint = kind === 'thumbprint' ? cert.thumbprintSha1Hex : cert.thumbprintSha256Hex;
			const app = msal({ clientId: client.clientId, clientCertificate: { [kind]: thumbprint, privateKey: cert.privateKeyPem } });
			const result = await app.acquireTokenByClientCredential({ scopes: [MDE_SCOPE] });
			const c = claims(result!.accessToken);
			expect(c).toMatchObject({ appid: client.clientId, appidacr: '2', roles: ['Alert.Read.All'] });
			const alert = emu.alerts.create({});
			expect((await call(emu, 'GET', `/api/alerts/${alert.id}`, { token: result!.accessToken })).status).toBe(200);
		});

		test('a certificate the app does not know: AADSTS700027', async () => {
			const registered = generateClientCertificate();
			const other = generateClientCertificate();
			const client = emu.addClient({ certificatePem: registered.certificatePem });
			const app = msal({ clientId: client.clientId, clientCertificate: { thumbprintSha256: other.thumbprintSha256Hex, privateKey: other.privateKeyPem } });
			const error = await app.acquireTokenByClientCredential({ scopes: [MDE_SCOPE] }).catch((e: unknown) => e);
			expect(error).toMatchObject({ errorCode: 'invalid_client' });
			expect(String((error as Error).message)).toMatch(/AADSTS700027/);
		});

		test('a signature made with another key under the registered thumbprint: AADSTS700027', async () => {
			const registered = generateClientCertificate();
			const other = generateClientCertificate();
			const client = emu.addClient({ certificatePem: registered.certificatePem });
			const app = msal({ clientId: client.clientId, clientCertificate: { thumbprintSha256: registered.thumbprintSha256Hex, privateKey: other.privateKeyPem } });
			const error = await app.acquireTokenByClientCredential({ scopes: [MDE_SCOPE] }).catch((e: unknown) => e);
			expect(String((error as Error).message)).toMatch(/AADSTS700027.*signature/);
		});

		test('wrong secret: invalid_client AADSTS7000215', async () => {
			const error = await msal({ clientSecret: 'wrong' }).acquireTokenByClientCredential({ scopes: [MDE_SCOPE] }).catch((e: unknown) => e);
			expect(error).toMatchObject({ errorCode: 'invalid_client' });
			expect(String((error as Error).message)).toMatch(/AADSTS7000215: Invalid client secret provided/);
		});

		test('unknown tenant: MSAL fails on the metadata, which says AADSTS90002', async () => {
			const error = await msal({ clientSecret: emu.client.clientSecret }, '11111111-2222-3333-4444-555555555555')
				.acquireTokenByClientCredential({ scopes: [MDE_SCOPE] })
				.catch((e: unknown) => e);
			expect(error).toMatchObject({ errorCode: 'endpoints_resolution_error' });
			const last = emu.requestLog[emu.requestLog.length - 1];
			expect(last).toMatchObject({ method: 'GET', status: 400 });
		});

		test('unknown client: unauthorized_client AADSTS700016', async () => {
			const error = await msal({ clientId: '99999999-2222-3333-4444-555555555555', clientSecret: 'x' })
				.acquireTokenByClientCredential({ scopes: [MDE_SCOPE] })
				.catch((e: unknown) => e);
			expect(error).toMatchObject({ errorCode: 'unauthorized_client' });
			expect(String((error as Error).message)).toMatch(/AADSTS700016: Application with identifier '99999999-2222-3333-4444-555555555555' was not found/);
		});
	});

	describe('token endpoint errors in AAD shape', () => {
		const post = (form: Record<string, string>, tenant = emu.tenantId) => call(emu, 'POST', `/${tenant}/oauth2/v2.0/token`, { form });
		const base = () => ({ grant_type: 'client_credentials', client_id: emu.client.clientId, client_secret: emu.client.clientSecret, scope: MDE_SCOPE });

		test.each([
			['wrong secret', { client_secret: 'nope' }, undefined, 401, 'invalid_client', 7000215],
			['unknown client', { client_id: '99999999-2222-3333-4444-555555555555' }, undefined, 400, 'unauthorized_client', 700016],
			['unknown tenant', {}, '11111111-2222-3333-4444-555555555555', 400, 'invalid_request', 90002],
			['unsupported scope', { scope: 'https://management.azure.com/.default' }, undefined, 400, 'invalid_scope', 70011],
			['scope without /.default', { scope: 'https://api.securitycenter.microsoft.com/Alert.Read' }, undefined, 400, 'invalid_scope', 1002012],
			['missing credential', { client_secret: undefined as unknown as string }, undefined, 401, 'invalid_client', 7000218],
			['other grant type', { grant_type: 'password' }, undefined, 400, 'unsupported_grant_type', 70003],
		])('%s', async (_name, change, tenant, status, error, code) => {
			const form: Record<string, string> = { ...base(), ...change };
			for (const k of Object.keys(form)) if (form[k] === undefined) delete form[k];
			const res = await post(form, tenant ?? emu.tenantId);
			expect(res.status).toBe(status);
			expect(res.json).toMatchObject({ error, error_codes: [code] });
			expect(res.json.error_description).toMatch(new RegExp(`^AADSTS${code}: .*\\r\\nTrace ID: .*\\r\\nCorrelation ID: .*\\r\\nTimestamp: `, 's'));
		});

		test('expired secret: AADSTS7000222', async () => {
			const client = emu.addClient({ secretExpired: true });
			const res = await post({ ...base(), client_id: client.clientId, client_secret: client.clientSecret });
			expect(res.status).toBe(401);
			expect(res.json.error_codes).toEqual([7000222]);
		});

		test('every documented MDE and Graph scope is accepted; gov scopes too', async () => {
			for (const scope of [
				'https://api.securitycenter.microsoft.com/.default',
				'https://api.security.microsoft.com/.default',
				'https://securitycenter.onmicrosoft.com/windowsatpservice/.default',
				'https://api-gcc.securitycenter.microsoft.us/.default',
				'https://api-gov.securitycenter.microsoft.us/.default',
				'https://api.securitycenter.microsoft.us/.default',
				'https://graph.microsoft.com/.default',
				'https://graph.microsoft.us/.default',
				'https://dod-graph.microsoft.us/.default',
			]) {
				const res = await post({ ...base(), scope });
				expect(res.status).toBe(200);
				expect(res.json).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
				expect(claims(res.json.access_token).aud).toBe(scope.replace('/.default', ''));
			}
		});

		test('a client with no roles gets a token without a roles claim (admin consent missing)', async () => {
			const client = emu.addClient({ roles: [] });
			const token = await tokenFor(emu, MDE_SCOPE, client);
			expect(claims(token)).not.toHaveProperty('roles');
		});
	});
});

describe('API authorization', () => {
	test('no token, a bad token, or a token for another audience: 401 in MDE and Graph shapes', async () => {
		const none = await call(emu, 'GET', '/api/alerts');
		expect(none.status).toBe(401);
		expect(none.json.error).toMatchObject({ code: 'Unauthorized' });
		expect(none.json.error.target).toMatch(GUID);
		expect((await call(emu, 'GET', '/api/alerts', { token: mde.slice(0, -4) + 'AAAA' })).status).toBe(401);
		expect((await call(emu, 'GET', '/api/alerts', { token: graph })).json.error.code).toBe('Unauthorized');
		const g = await call(emu, 'GET', '/v1.0/security/alerts_v2', { token: mde });
		expect(g.status).toBe(401);
		expect(g.json.error).toMatchObject({ code: 'InvalidAuthenticationToken' });
		expect(g.json.error.innerError).toHaveProperty('request-id');
	});

	test('an expired token is refused', async () => {
		const short = await startEmulator({ tokenLifetimeSeconds: 3 });
		try {
			const token = await tokenFor(short);
			expect((await call(short, 'GET', '/api/machines', { token })).status).toBe(200);
			await new Promise((r) => setTimeout(r, (claims(token).exp + 0.1) * 1000 - Date.now()));
			const res = await call(short, 'GET', '/api/machines', { token });
			expect(res.status).toBe(401);
			expect(res.json.error.message).toMatch(/expired/);
		} finally {
			await short.close();
		}
	});

	test('a missing role is a 403 naming the permissions; read roles read but do not write', async () => {
		const machinesOnly = await tokenFor(emu, MDE_SCOPE, emu.addClient({ roles: ['Machine.Read.All'] }));
		const res = await call(emu, 'GET', '/api/alerts', { token: machinesOnly });
		expect(res.status).toBe(403);
		expect(res.json.error.code).toBe('Forbidden');
		expect(res.json.error.message).toMatch(/missing application permission/i);
		expect(res.json.error.message).toMatch(/Alert\.Read\.All/);

		const reader = await tokenFor(emu, MDE_SCOPE, emu.addClient({ roles: ['Alert.Read.All'] }));
		const alert = emu.alerts.create({});
		expect((await call(emu, 'GET', `/api/alerts/${alert.id}`, { token: reader })).status).toBe(200);
		expect((await call(emu, 'PATCH', `/api/alerts/${alert.id}`, { token: reader, json: { status: 'Resolved' } })).status).toBe(403);

		const graphReader = await tokenFor(emu, GRAPH_SCOPE, emu.addClient({ roles: ['SecurityAlert.Read.All'] }));
		const gr = await call(emu, 'PATCH', `/v1.0/security/alerts_v2/${alert.id}`, { token: graphReader, json: { status: 'resolved' } });
		expect(gr.status).toBe(403);
		expect(gr.json.error.code).toBe('Forbidden');
	});
});

describe('alerts: OData', () => {
	const list = async (params: Record<string, string | number>) => {
		const res = await api('GET', `/api/alerts${q(params)}`);
		expect(res.status).toBe(200);
		return res.json;
	};
	const ids = (json: { value: Array<{ id: string }> }) => json.value.map((a) => a.id);

	test('timestamps are compared and serialized at 7-digit precision', async () => {
		const base = Date.parse('2026-11-27T10:15:02.123Z');
		emu.alerts.create({ id: 'p1', alertCreationTime: isoAt(base, 4567), lastUpdateTime: isoAt(base, 4567) });
		emu.alerts.create({ id: 'p2', alertCreationTime: isoAt(base, 4568), lastUpdateTime: isoAt(base, 4568) });
		emu.alerts.create({ id: 'p3', alertCreationTime: '2026-11-27T10:15:02Z' });
		expect(ids(await list({ $filter: 'lastUpdateTime gt 2026-11-27T10:15:02.1234567Z' }))).toEqual(['p2']);
		expect(ids(await list({ $filter: 'lastUpdateTime ge 2026-11-27T10:15:02.1234567Z', $orderby: 'lastUpdateTime asc' }))).toEqual(['p1', 'p2']);
		expect(ids(await list({ $filter: 'alertCreationTime eq 2026-11-27T12:15:02.1234568+02:00' }))).toEqual(['p2']);
		const all = await list({});
		const p3 = all.value.find((a: { id: string }) => a.id === 'p3');
		expect(p3.alertCreationTime).toBe('2026-11-27T10:15:02.0000000Z');
		for (const a of all.value) {
			for (const k of ['alertCreationTime', 'lastUpdateTime', 'firstEventTime', 'lastEventTime']) expect(a[k]).toMatch(TS7);
		}
		expect(all['@odata.context']).toBe(`${emu.url}/api/$metadata#Alerts`);
		expect(all).not.toHaveProperty('@odata.nextLink');
	});

	test('and/or/not, parentheses, in, escaped quotes, functions, null', async () => {
		emu.alerts.create({ id: 'a', severity: 'High', status: 'New', assignedTo: "o'brien@contoso.com", category: 'Malware' });
		emu.alerts.create({ id: 'b', severity: 'Low', status: 'InProgress', assignedTo: null, category: 'Execution' });
		emu.alerts.create({ id: 'c', severity: 'Medium', status: 'Resolved', assignedTo: 'secop@contoso.com', category: 'Malware' });
		const f = async (filter: string) => ids(await list({ $filter: filter, $orderby: 'id' }));
		expect(await f("assignedTo eq 'o''brien@contoso.com'")).toEqual(['a']);
		expect(await f("(severity eq 'High' or severity eq 'Low') and not (status eq 'InProgress')")).toEqual(['a']);
		expect(await f("status in ('New','Resolved')")).toEqual(['a', 'c']);
		expect(await f('assignedTo eq null')).toEqual(['b']);
		expect(await f("startswith(assignedTo,'secop') or contains(assignedTo,'brien')")).toEqual(['a', 'c']);
		expect(await f("severity ge 'Medium'")).toEqual(['a', 'c']);
		expect(await f("category eq 'Malware' and status ne 'Resolved'")).toEqual(['a']);
	});

	test('$orderby is total (ties by id), $top/$skip page without gaps, no nextLink', async () => {
		const t = '2026-11-27T08:00:00.0000001Z';
		for (let i = 0; i < 25; i++) emu.alerts.create({ id: `o${String(i).padStart(2, '0')}`, alertCreationTime: i % 2 ? t : isoAt(Date.parse('2026-11-27T07:00:00Z') + i) });
		const full = ids(await list({ $orderby: 'alertCreationTime desc' }));
		expect(full.slice(0, 12)).toEqual(['o01', 'o03', 'o05', 'o07', 'o09', 'o11', 'o13', 'o15', 'o17', 'o19', 'o21', 'o23']);
		const paged: string[] = [];
		for (let skip = 0; skip < 30; skip += 10) {
			const page = await list({ $orderby: 'alertCreationTime desc', $top: 10, $skip: skip });
			expect(page).not.toHaveProperty('@odata.nextLink');
			paged.push(...ids(page));
		}
		expect(paged).toEqual(full);
		expect(ids(await list({ $top: 0 }))).toEqual([]);
	});

	test('$top above 10,000 is clamped to 10,000', async () => {
		emu.alerts.seed(10005, { evidence: false });
		expect((await list({ $top: 20000 })).value).toHaveLength(10000);
		expect((await list({})).value).toHaveLength(10000);
		expect((await list({ $skip: 10000 })).value).toHaveLength(5);
	});

	test.each([
		['unknown property', { $filter: "colour eq 'red'" }, /colour/],
		['syntax error', { $filter: "status eq 'New' and" }, /Syntax error/],
		['invalid enum member', { $filter: "status eq 'new'" }, /'new' is not a valid enumeration/],
		['type mismatch', { $filter: "lastUpdateTime gt 'yesterday'" }, /yesterday/],
		['8 fractional digits', { $filter: 'lastUpdateTime gt 2026-11-27T10:15:02.12345678Z' }, /DateTimeOffset/],
		['negative $top', { $top: -1 }, /\$top/],
		['unknown $orderby property', { $orderby: 'colour desc' }, /colour/],
		['unknown $expand', { $expand: 'machines' }, /machines/],
	])('400 ODataError: %s', async (_name, params, message) => {
		const res = await api('GET', `/api/alerts${q(params as Record<string, string>)}`);
		expect(res.status).toBe(400);
		expect(res.json.error.code).toBe('ODataError');
		expect(res.json.error.message).toMatch(message);
		expect(res.json.error.target).toMatch(GUID);
	});

	test('$expand=evidence, /api/v1.0 prefix, single alert, 404', async () => {
		const alert = emu.alerts.create({ title: 'Suspicious PowerShell command line' });
		const plain = await api('GET', `/api/v1.0/alerts/${alert.id}`);
		expect(plain.status).toBe(200);
		expect(plain.json.evidence).toEqual([]);
		const expanded = await api('GET', `/api/alerts/${alert.id}?$expand=evidence`);
		const types = expanded.json.evidence.map((e: { entityType: string }) => e.entityType);
		expect(types).toEqual(expect.arrayContaining(['User', 'Process', 'Ip']));
		expect(Object.keys(expanded.json.evidence[0])).toHaveLength(25);
		expect(expanded.json.evidence).toEqual(emu.alerts.get(alert.id)!.evidence);
		const listed = await list({ $expand: 'evidence', $filter: `id eq '${alert.id}'` });
		expect(listed.value[0].evidence).toEqual(expanded.json.evidence);
		const missing = await api('GET', '/api/alerts/da000_1');
		expect(missing.status).toBe(404);
		expect(missing.json.error).toMatchObject({ code: 'ResourceNotFound', message: expect.stringContaining('da000_1') });
	});
});

describe('alerts: updates and related entities', () => {
	test('PATCH changes fields, appends the comment as the app, bumps lastUpdateTime', async () => {
		const alert = emu.alerts.create({ alertCreationTime: isoAt(Date.now() - 60000) });
		const res = await api('PATCH', `/api/alerts/${alert.id}`, {
			status: 'Resolved',
			assignedTo: 'secop2@contoso.com',
			classification: 'FalsePositive',
			determination: 'Clean',
			comment: 'Resolved by n8n',
		});
		expect(res.status).toBe(200);
		expect(res.json).toMatchObject({ id: alert.id, status: 'Resolved', assignedTo: 'secop2@contoso.com', classification: 'FalsePositive', determination: 'Clean' });
		expect(res.json.lastUpdateTime > alert.lastUpdateTime).toBe(true);
		expect(res.json.resolvedTime).toBe(res.json.lastUpdateTime);
		expect(res.json.comments[res.json.comments.length - 1]).toEqual({ comment: 'Resolved by n8n', createdBy: 'n8n Defender emulator app', createdTime: res.json.lastUpdateTime });
		expect(emu.alerts.get(alert.id)!.status).toBe('Resolved');
	});

	test.each([
		['wrong casing', { Status: 'Resolved' }],
		['unknown key', { severity: 'High' }],
		['bad status', { status: 'Closed' }],
		['bad classification', { classification: 'Benign' }],
		['not an object', [1, 2]],
	])('PATCH 400 InvalidRequestBody: %s', async (_name, body) => {
		const alert = emu.alerts.create({});
		const res = await api('PATCH', `/api/alerts/${alert.id}`, body);
		expect(res.status).toBe(400);
		expect(res.json.error.code).toBe('InvalidRequestBody');
	});

	test('batchUpdate answers 200 with an empty body and updates every alert', async () => {
		const a = emu.alerts.create({});
		const b = emu.alerts.create({});
		const res = await api('POST', '/api/alerts/batchUpdate', { alertIds: [a.id, b.id], status: 'InProgress', assignedTo: 'soc@contoso.com', comment: 'bulk' });
		expect(res.status).toBe(200);
		expect(res.text).toBe('');
		for (const id of [a.id, b.id]) expect(emu.alerts.get(id)).toMatchObject({ status: 'InProgress', assignedTo: 'soc@contoso.com' });
		expect((await api('POST', '/api/alerts/batchUpdate', { status: 'New' })).status).toBe(400);
	});

	test('related files, ips, domains, machine and user come from the evidence and the device', async () => {
		const alert = emu.alerts.create({ title: 'Possible data exfiltration over HTTP', relatedUser: { userName: 'maria.garcia', domainName: 'CONTOSO' } });
		const files = await api('GET', `/api/alerts/${alert.id}/files`);
		expect(files.json.value[0]).toMatchObject({ sha1: expect.stringMatching(/^[0-9a-f]{40}$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
		const ips = await api('GET', `/api/alerts/${alert.id}/ips`);
		expect(ips.json.value[0].id).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
		expect((await api('GET', `/api/alerts/${alert.id}/domains`)).json.value).toEqual([{ host: 'files.example-drop.org' }]);
		expect((await api('GET', `/api/alerts/${alert.id}/machine`)).json).toMatchObject({ id: alert.machineId, computerDnsName: alert.computerDnsName });
		expect((await api('GET', `/api/alerts/${alert.id}/user`)).json).toMatchObject({ id: 'contoso\\maria.garcia', accountName: 'maria.garcia', accountDomain: 'CONTOSO' });
	});
});

describe('ingestion delay', () => {
	test('an alert with a future visibleAt appears once the clock reaches it', async () => {
		const now = emu.clock.now().getTime();
		const late = emu.alerts.create({ id: 'late', alertCreationTime: isoAt(now - 60000) }, { visibleAt: new Date(now + 5 * 60000) });
		expect((await api('GET', '/api/alerts')).json.value).toEqual([]);
		expect((await api('GET', '/api/alerts/late')).status).toBe(404);
		emu.clock.advance(5 * 60000);
		const res = await api('GET', '/api/alerts');
		expect(res.json.value.map((a: { id: string }) => a.id)).toEqual(['late']);
		expect(res.json.value[0].alertCreationTime).toBe(late.alertCreationTime);
	});

	test('a delayed update leaves the previous version visible until then', async () => {
		const now = emu.clock.now().getTime();
		const created = emu.alerts.create({ id: 'u1', alertCreationTime: isoAt(now - 120000), status: 'New' });
		const updateAt = isoAt(now - 30000, 42);
		emu.alerts.update('u1', { status: 'InProgress' }, { at: updateAt, visibleAt: new Date(now + 60000) });
		const before = await api('GET', `/api/alerts${q({ $filter: `lastUpdateTime gt ${created.lastUpdateTime}` })}`);
		expect(before.json.value).toEqual([]);
		expect((await api('GET', '/api/alerts/u1')).json.status).toBe('New');
		emu.clock.advance(60000);
		const after = await api('GET', '/api/alerts/u1');
		expect(after.json).toMatchObject({ status: 'InProgress', lastUpdateTime: updateAt });
		expect(emu.alerts.history('u1').map((h) => h.alert.status)).toEqual(['New', 'InProgress']);
	});
});

describe('faults', () => {
	const get = (p = '/api/machines') => api('GET', p);

	test('429 with Retry-After, then normal service', async () => {
		emu.faults.inject({ kind: '429', retryAfterSeconds: 7 });
		const res = await get();
		expect(res.status).toBe(429);
		expect(res.headers['retry-after']).toBe('7');
		expect(res.json.error.code).toBe('TooManyRequests');
		expect((await get()).status).toBe(200);
	});

	test('500 and 503 in the API error shape; 502 and 504 as gateway HTML', async () => {
		emu.faults.inject({ kind: '500' });
		emu.faults.inject({ kind: '502' });
		emu.faults.inject({ kind: '503', retryAfterSeconds: 3 });
		emu.faults.inject({ kind: '504' });
		const [r500, r502, r503, r504] = [await get(), await get(), await get(), await get()];
		expect(r500.json.error.code).toBe('InternalServerError');
		expect(r502.status).toBe(502);
		expect(r502.headers['content-type']).toMatch(/text\/html/);
		expect(r503.json.error.code).toBe('ServiceUnavailable');
		expect(r503.headers['retry-after']).toBe('3');
		expect(r504.status).toBe(504);
		expect(emu.faults.injectedCount()).toBe(4);
	});

	test('reset drops the connection; slow delays the answer', async () => {
		emu.faults.inject({ kind: 'reset' });
		await expect(get()).rejects.toThrow(/socket hang up|ECONNRESET/);
		expect(emu.requestLog[emu.requestLog.length - 1]).toMatchObject({ status: 0, fault: 'reset' });
		emu.faults.inject({ kind: 'slow', delayMs: 300 });
		const started = Date.now();
		expect((await get()).status).toBe(200);
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
	});

	test('expireToken answers 401 as for an expired token, in each API shape', async () => {
		emu.faults.inject({ kind: 'expireToken', count: 2 });
		const m = await get();
		expect(m.status).toBe(401);
		expect(m.json.error).toMatchObject({ code: 'Unauthorized', message: expect.stringMatching(/expired/) });
		const g = await gapi('GET', '/v1.0/security/alerts_v2');
		expect(g.json.error.code).toBe('InvalidAuthenticationToken');
		expect((await get()).status).toBe(200);
	});

	test('match selects requests; the token endpoint only when matched explicitly; count', async () => {
		emu.faults.inject({ kind: '500', count: 2, match: /^GET \/api\/alerts$/ });
		expect((await get()).status).toBe(200);
		expect((await tokenFor(emu)).length).toBeGreaterThan(0);
		expect((await get('/api/alerts')).status).toBe(500);
		expect((await get('/api/alerts?$top=1')).status).toBe(500);
		expect((await get('/api/alerts')).status).toBe(200);
		emu.faults.inject({ kind: '503', match: /oauth2\/v2\.0\/token$/ });
		const res = await call(emu, 'POST', `/${emu.tenantId}/oauth2/v2.0/token`, { form: { grant_type: 'client_credentials' } });
		expect(res.status).toBe(503);
	});

	test('random faults are deterministic for a seed', async () => {
		const run = async () => {
			emu.faults.random({ rate: 0.5, kinds: ['500', '503'], seed: 42 });
			const statuses: number[] = [];
			for (let i = 0; i < 20; i++) statuses.push((await get()).status);
			emu.faults.clear();
			return statuses;
		};
		const first = await run();
		expect(first.filter((s) => s !== 200).length).toBeGreaterThan(3);
		expect(await run()).toEqual(first);
	});

	describe('acted, then … (after: true)', () => {
		const comments = (id: string) => emu.alerts.get(id)!.comments.map((c) => c.comment);
		const last = () => emu.requestLog[emu.requestLog.length - 1];

		test('reset after: the comment is added, then the connection drops without an answer', async () => {
			const alert = emu.alerts.create({});
			emu.faults.inject({ kind: 'reset', after: true, match: /^PATCH \/api\/alerts\// });
			await expect(api('PATCH', `/api/alerts/${alert.id}`, { comment: 'once' })).rejects.toThrow(/socket hang up|ECONNRESET/);
			expect(comments(alert.id)).toEqual(['once']);
			expect(last()).toMatchObject({ method: 'PATCH', status: 0, fault: 'reset', handledStatus: 200 });
		});

		test('500 after: the tag is added, then the client gets HTTP 500 in the API error shape', async () => {
			const [machine] = emu.machines.seed(1);
			emu.faults.inject({ kind: '500', after: true, match: /^POST \/api\/machines\/[^/]+\/tags$/ });
			const res = await api('POST', `/api/machines/${machine.id}/tags`, { Value: 'after-500', Action: 'Add' });
			expect(res.status).toBe(500);
			expect(res.json.error.code).toBe('InternalServerError');
			expect(emu.machines.get(machine.id)!.machineTags).toContain('after-500');
			expect(last()).toMatchObject({ status: 500, fault: '500', handledStatus: 200 });
		});

		test('503 and 504 after: the indicator exists, the client sees the error (503 with its Retry-After)', async () => {
			emu.faults.inject({ kind: '503', after: true, retryAfterSeconds: 4, match: /^POST \/api\/indicators$/ });
			const body = { indicatorValue: 'after.example.com', indicatorType: 'DomainName', action: 'Alert', title: 't', description: 'd' };
			const r503 = await api('POST', '/api/indicators', body);
			expect(r503.status).toBe(503);
			expect(r503.headers['retry-after']).toBe('4');
			emu.faults.inject({ kind: '504', after: true, match: /^POST \/api\/indicators$/ });
			expect((await api('POST', '/api/indicators', { ...body, indicatorValue: 'after2.example.com' })).status).toBe(504);
			expect(emu.indicators.all().map((i) => i.indicatorValue)).toEqual(['after.example.com', 'after2.example.com']);
		});

		test('slow after: the machine action is queued at once, its answer comes after delayMs', async () => {
			const [machine] = emu.machines.seed(1);
			emu.faults.inject({ kind: 'slow', after: true, delayMs: 400, match: /\/isolate$/ });
			const started = Date.now();
			const pending = api('POST', `/api/machines/${machine.id}/isolate`, { Comment: 'c', IsolationType: 'Full' });
			await new Promise((resolve) => setTimeout(resolve, 100));
			expect(emu.machineActions.all().filter((a) => a.machineId === machine.id)).toHaveLength(1);
			const res = await pending;
			expect(Date.now() - started).toBeGreaterThanOrEqual(390);
			expect(res.status).toBe(201);
			expect(res.json.type).toBe('Isolate');
			expect(last()).toMatchObject({ status: 201, fault: 'slow', handledStatus: 201 });
		});

		test('a handler that refuses (400) still gets the fault; 429 and expireToken cannot come after', async () => {
			emu.faults.inject({ kind: '500', after: true, match: /^PATCH \/api\/alerts\// });
			const alert = emu.alerts.create({});
			expect((await api('PATCH', `/api/alerts/${alert.id}`, { status: 'Bogus' })).status).toBe(500);
			expect(last()).toMatchObject({ status: 500, handledStatus: 400 });
			expect(() => emu.faults.inject({ kind: '429', after: true })).toThrow(/cannot come after the handler/);
			expect(() => emu.faults.inject({ kind: 'expireToken', after: true })).toThrow(/cannot come after the handler/);
		});

		test('over the admin API', async () => {
			const admin = (method: string, p: string, json?: unknown) => call(emu, method, `/_emulator${p}`, { json });
			expect((await admin('POST', '/faults', { kind: '500', after: true, match: '^PATCH /api/alerts/' })).status).toBe(201);
			const alert = emu.alerts.create({});
			expect((await api('PATCH', `/api/alerts/${alert.id}`, { comment: 'via admin' })).status).toBe(500);
			expect(comments(alert.id)).toEqual(['via admin']);
			expect((await admin('POST', '/faults', { kind: '429', after: true })).status).toBe(400);
		});
	});
});

describe('stats and request log', () => {
	test('route keys with :id, token requests apart from API requests, decoded queries', async () => {
		const alert = emu.alerts.create({});
		await tokenFor(emu);
		await api('GET', `/api/alerts/${alert.id}`);
		await api('GET', `/api/alerts${q({ $filter: "status eq 'New'", $top: 5 })}`);
		expect(emu.stats()).toEqual({
			tokenRequests: 1,
			total: 2,
			requests: { 'POST /:tenant/oauth2/v2.0/token': 1, 'GET /api/alerts/:id': 1, 'GET /api/alerts': 1 },
		});
		const last = emu.requestLog[emu.requestLog.length - 1];
		expect(last).toMatchObject({ method: 'GET', path: '/api/alerts', query: { $filter: "status eq 'New'", $top: '5' }, status: 200, clientId: emu.client.clientId });
		expect(last.time).toMatch(TS7);
		const tokenEntry = emu.requestLog.find((e) => e.key === 'POST /:tenant/oauth2/v2.0/token');
		expect(JSON.stringify(tokenEntry)).not.toContain(emu.client.clientSecret);
		emu.resetStats();
		expect(emu.stats()).toEqual({ tokenRequests: 0, total: 0, requests: {} });
		expect(emu.requestLog).toHaveLength(0);
	});
});

describe('rate limits', () => {
	// Real-time windows, so counts do not depend on how fast this machine is.
	let limited: Emulator;
	let token: string;
	let graphToken: string;
	beforeAll(async () => {
		limited = await startEmulator({ rateLimits: true });
		token = await tokenFor(limited);
		graphToken = await tokenFor(limited, GRAPH_SCOPE);
	});
	afterAll(async () => await limited.close());

	test('101st list call in a minute: 429 TooManyRequests with Retry-After; other routes have their own quota', async () => {
		const results = await Promise.all(Array.from({ length: 101 }, () => call(limited, 'GET', '/api/alerts?$top=1', { token })));
		const throttled = results.filter((r) => r.status === 429);
		expect(throttled).toHaveLength(1);
		expect(throttled[0].json.error.code).toBe('TooManyRequests');
		expect(throttled[0].json.error.target).toMatch(GUID);
		const retryAfter = Number(throttled[0].headers['retry-after']);
		expect(retryAfter).toBeGreaterThanOrEqual(1);
		expect(retryAfter).toBeLessThanOrEqual(60);
		expect(limited.maxInWindow('GET /api/alerts', 60000)).toBe(100);
		expect((await call(limited, 'GET', '/api/machines', { token })).status).toBe(200);
	});

	test('batchUpdate allows 10 per minute; Graph shares 150 per minute across /security', async () => {
		const batch = await Promise.all(Array.from({ length: 11 }, () => call(limited, 'POST', '/api/alerts/batchUpdate', { token, json: { alertIds: ['x'] } })));
		expect(batch.filter((r) => r.status === 429)).toHaveLength(1);
		const g = await Promise.all(
			Array.from({ length: 151 }, (_, i) => call(limited, 'GET', i % 2 ? '/v1.0/security/alerts_v2?$top=1' : '/v1.0/security/alerts_v2/nope', { token: graphToken })),
		);
		const throttled = g.filter((r) => r.status === 429);
		expect(throttled).toHaveLength(1);
		expect(throttled[0].json.error).toMatchObject({ code: 'TooManyRequests' });
		expect(throttled[0].json.error.innerError).toBeDefined();
	});

	test('on a scaled clock the window frees up after Retry-After seconds', async () => {
		// getPackageUri: 2 per minute; one minute lasts 2 s here.
		const scaled = await startEmulator({ rateLimits: true, rateLimitTimeScale: 30 });
		try {
			const t = await tokenFor(scaled);
			const get = () => call(scaled, 'GET', '/api/machineactions/00000000-0000-4000-8000-000000000000/GetPackageUri', { token: t });
			expect([(await get()).status, (await get()).status]).toEqual([404, 404]);
			const third = await get();
			expect(third.status).toBe(429);
			const retryAfter = Number(third.headers['retry-after']);
			expect(retryAfter).toBeGreaterThanOrEqual(1);
			expect(retryAfter).toBeLessThanOrEqual(2);
			await new Promise((r) => setTimeout(r, retryAfter * 1000));
			expect((await get()).status).toBe(404);
			expect(scaled.maxInWindow('GET /api/machineactions/:id/GetPackageUri', 2000)).toBe(2);
		} finally {
			await scaled.close();
		}
	});
});

describe('machines and machine actions', () => {
	const machine = () => emu.machines.create({ osPlatform: 'Windows11', computerDnsName: `pc-${Math.random().toString(36).slice(2, 8)}.contoso.com` });
	const action = (id: string) => emu.machineActions.get(id)!;

	test('isolate: 201 Pending, Pending → InProgress → Succeeded per step; a duplicate while active is a 400', async () => {
		const m = machine();
		const res = await api('POST', `/api/machines/${m.id}/isolate`, { Comment: 'Contain', IsolationType: 'Selective' });
		expect(res.status).toBe(201);
		expect(res.json).toMatchObject({ type: 'Isolate', status: 'Pending', scope: 'Selective', machineId: m.id, requestorComment: 'Contain', requestor: 'n8n Defender emulator app' });
		expect(res.json.id).toMatch(GUID);
		expect(res.json.creationDateTimeUtc).toMatch(TS7);
		const dup = await api('POST', `/api/machines/${m.id}/isolate`, { Comment: 'again' });
		expect(dup.status).toBe(400);
		expect(dup.json.error.code).toBe('ActiveRequestAlreadyExists');
		expect(dup.json.error.message).toMatch(/Action is already in progress/);
		emu.clock.advance(STEP);
		expect((await api('GET', `/api/machineactions/${res.json.id}`)).json.status).toBe('InProgress');
		emu.clock.advance(STEP);
		const done = await api('GET', `/api/machineactions/${res.json.id}`);
		expect(done.json.status).toBe('Succeeded');
		expect(done.json.lastUpdateDateTimeUtc > done.json.creationDateTimeUtc).toBe(true);
		expect((await api('POST', `/api/machines/${m.id}/isolate`, { Comment: 'again' })).status).toBe(201);
		// Also by computer name.
		expect((await api('POST', `/api/machines/${m.computerDnsName}/unisolate`, { Comment: 'release' })).json.type).toBe('Unisolate');
	});

	test('actions really move with real time too', async () => {
		const fast = await startEmulator({ machineActionStepMs: 100 });
		try {
			const t = await tokenFor(fast);
			const m = fast.machines.create({ osPlatform: 'Windows10' });
			const res = await call(fast, 'POST', `/api/machines/${m.id}/runAntiVirusScan`, { token: t, json: { Comment: 'scan', ScanType: 'Full' } });
			await new Promise((r) => setTimeout(r, 250));
			expect((await call(fast, 'GET', `/api/machineactions/${res.json.id}`, { token: t })).json).toMatchObject({ status: 'Succeeded', scope: 'Full' });
		} finally {
			await fast.close();
		}
	});

	test.each([
		['isolate', {}, /Comment/],
		['isolate', { comment: 'lowercase key' }, /comment/],
		['isolate', { Comment: 'x', IsolationType: 'Partial' }, /IsolationType/],
		['runAntiVirusScan', { Comment: 'x' }, /ScanType/],
		['runAntiVirusScan', { Comment: 'x', ScanType: 'quick' }, /ScanType/],
		['StopAndQuarantineFile', { Comment: 'x', Sha1: 'abc' }, /Sha1/],
	])('%s with %j: 400 InvalidRequestBody', async (name, body, message) => {
		const res = await api('POST', `/api/machines/${machine().id}/${name}`, body);
		expect(res.status).toBe(400);
		expect(res.json.error.code).toBe('InvalidRequestBody');
		expect(res.json.error.message).toMatch(message);
	});

	test('scripted outcomes: Failed, TimeOut, Stuck; cancel', async () => {
		const m = machine();
		emu.machineActions.script(m.id, 'RestrictCodeExecution', 'Failed');
		emu.machineActions.script(m.id, 'RunAntiVirusScan', 'TimeOut');
		emu.machineActions.script(m.id, 'Isolate', 'Stuck');
		const restrict = (await api('POST', `/api/machines/${m.id}/restrictCodeExecution`, { Comment: 'x' })).json;
		const scan = (await api('POST', `/api/machines/${m.id}/runAntiVirusScan`, { Comment: 'x', ScanType: 'Quick' })).json;
		const isolate = (await api('POST', `/api/machines/${m.id}/isolate`, { Comment: 'x' })).json;
		emu.clock.advance(3 * STEP);
		expect([action(restrict.id).status, action(scan.id).status, action(isolate.id).status]).toEqual(['Failed', 'TimeOut', 'Pending']);
		const cancelled = await api('POST', `/api/machineactions/${isolate.id}/cancel`, { Comment: 'stuck' });
		expect(cancelled.json).toMatchObject({ status: 'Cancelled', cancellationComment: 'stuck', cancellationRequestor: 'n8n Defender emulator app' });
		expect((await api('POST', `/api/machineactions/${isolate.id}/cancel`, { Comment: 'again' })).status).toBe(400);
		expect((await api('POST', `/api/machineactions/00000000-0000-4000-8000-000000000000/cancel`, { Comment: 'x' })).status).toBe(404);
	});

	test('investigation package: GetPackageUri 404 until Succeeded, then a link serving the bytes', async () => {
		const m = machine();
		const collect = (await api('POST', `/api/machines/${m.id}/collectInvestigationPackage`, { Comment: 'forensics' })).json;
		expect((await api('GET', `/api/machineactions/${collect.id}/GetPackageUri`)).status).toBe(404);
		emu.clock.advance(2 * STEP);
		const uri = await api('GET', `/api/machineactions/${collect.id}/getPackageUri`);
		expect(uri.status).toBe(200);
		expect(uri.json.value).toMatch(new RegExp(`^${emu.url}/_download/`));
		const download = await call(emu, 'GET', new URL(uri.json.value).pathname);
		expect(download.status).toBe(200);
		expect(download.headers['content-type']).toBe('application/zip');
		expect(download.body.equals(emu.packageBytes(collect.id))).toBe(true);
		expect(download.body.subarray(0, 2).toString()).toBe('PK');
		expect((await call(emu, 'GET', '/_download/not-a-token')).status).toBe(403);
	});

	test('offboarding a Linux device: 400 OsPlatformNotSupported', async () => {
		const linux = emu.machines.create({ osPlatform: 'Linux' });
		const res = await api('POST', `/api/machines/${linux.id}/offboard`, { Comment: 'bye' });
		expect(res.json.error.code).toBe('OsPlatformNotSupported');
	});

	test('machine actions list: filter by machine and type, $top/$skip', async () => {
		const m = machine();
		await api('POST', `/api/machines/${m.id}/runAntiVirusScan`, { Comment: 'x', ScanType: 'Quick' });
		await api('POST', `/api/machines/${m.id}/collectInvestigationPackage`, { Comment: 'x' });
		await api('POST', `/api/machines/${machine().id}/runAntiVirusScan`, { Comment: 'x', ScanType: 'Quick' });
		const res = await api('GET', `/api/machineactions${q({ $filter: `machineId eq '${m.id}' and type eq 'RunAntiVirusScan'` })}`);
		expect(res.json.value.map((a: { type: string }) => a.type)).toEqual(['RunAntiVirusScan']);
		const both = "type eq 'RunAntiVirusScan' or type eq 'CollectInvestigationPackage'";
		expect((await api('GET', `/api/machineactions${q({ $filter: both, $top: 2, $skip: 1 })}`)).json.value).toHaveLength(2);
	});

	test('machines: OData filters, get by id or name, findbyip, findbytag, tags', async () => {
		const m = emu.machines.create({
			computerDnsName: 'finance-pc7.contoso.com',
			machineTags: ['Finance'],
			lastIpAddress: '10.9.8.7',
			lastSeen: isoAt(emu.clock.now().getTime()),
			healthStatus: 'Active',
			riskScore: 'High',
		});
		emu.machines.seed(20);
		const listed = await api('GET', `/api/machines${q({ $filter: "startswith(computerDnsName,'finance-') and machineTags/any(t: t eq 'Finance') and riskScore eq 'High'" })}`);
		expect(listed.json.value.map((x: { id: string }) => x.id)).toEqual([m.id]);
		expect((await api('GET', `/api/machines/finance-pc7.contoso.com`)).json.id).toBe(m.id);
		const ts = emu.clock.now().toISOString().replace(/\.\d+Z$/, 'Z');
		const byIp = await api('GET', `/api/machines/findbyip(ip='10.9.8.7',timestamp=${ts})`);
		expect(byIp.json.value.map((x: { id: string }) => x.id)).toContain(m.id);
		expect((await api('GET', `/api/machines/findbyip(ip='10.9.8',timestamp=${ts})`)).status).toBe(400);
		const tagged = await api('GET', '/api/machines/findbytag?tag=fin&useStartsWithFilter=true');
		expect(tagged.json.value.map((x: { id: string }) => x.id)).toContain(m.id);
		const added = await api('POST', `/api/machines/${m.id}/tags`, { Value: 'Isolated by n8n', Action: 'Add' });
		expect(added.json.machineTags).toEqual(['Finance', 'Isolated by n8n']);
		const removed = await api('POST', `/api/machines/${m.id}/tags`, { Value: 'Finance', Action: 'Remove' });
		expect(removed.json.machineTags).toEqual(['Isolated by n8n']);
		expect((await api('POST', `/api/machines/${m.id}/tags`, { Value: 'x', Action: 'add' })).status).toBe(400);
		expect((await api('GET', '/api/machines/nope')).json.error.code).toBe('ResourceNotFound');
	});
});

describe('indicators', () => {
	const valid = { indicatorValue: '220e7d15b011d7fac48f2bd61114db1022197f7f', indicatorType: 'FileSha1', action: 'Block', title: 'bad file', description: 'seen in incident 42', severity: 'High', rbacGroupNames: ['Servers'] };

	test('submit (upsert by value), list with filter, delete', async () => {
		const created = await api('POST', '/api/indicators', valid);
		expect(created.status).toBe(200);
		expect(created.json).toMatchObject({ indicatorValue: valid.indicatorValue, action: 'Block', rbacGroupIds: [42], createdBySource: 'PublicApi' });
		const again = await api('POST', '/api/indicators', { ...valid, action: 'Audit', generateAlert: true });
		expect(again.json.id).toBe(created.json.id);
		await api('POST', '/api/indicators', { ...valid, indicatorType: 'DomainName', indicatorValue: 'evil.example.com' });
		const listed = await api('GET', `/api/indicators${q({ $filter: "indicatorType eq 'DomainName'" })}`);
		expect(listed.json.value.map((i: { indicatorValue: string }) => i.indicatorValue)).toEqual(['evil.example.com']);
		expect((await api('DELETE', `/api/indicators/${created.json.id}`)).status).toBe(204);
		expect((await api('DELETE', `/api/indicators/${created.json.id}`)).status).toBe(404);
	});

	test.each([
		[{ indicatorValue: 'xyz' }, 'InvalidHashValue'],
		[{ indicatorType: 'IpAddress', indicatorValue: '10.0.0.0/8' }, 'InvalidIpAddress'],
		[{ indicatorType: 'DomainName', indicatorValue: 'not a domain' }, 'InvalidDomainName'],
		[{ indicatorType: 'Url', indicatorValue: 'ftp://x.example.com/a' }, 'InvalidUrl'],
		[{ action: 'Audit' }, 'InvalidRequestBody'],
		[{ title: undefined }, 'InvalidRequestBody'],
		[{ IndicatorValue: 'x' }, 'InvalidRequestBody'],
	])('%j → 400 %s', async (change, code) => {
		const res = await api('POST', '/api/indicators', { ...valid, ...change });
		expect(res.status).toBe(400);
		expect(res.json.error.code).toBe(code);
	});

	test('import reports per-item failures; more than 500 is MaximumBatchSizeExceeded; BatchDelete', async () => {
		const res = await api('POST', '/api/indicators/import', {
			Indicators: [valid, { ...valid, indicatorValue: 'bad' }, { ...valid, indicatorType: 'IpAddress', indicatorValue: '203.0.113.9' }],
		});
		expect(res.json.value.map((r: { isFailed: boolean }) => r.isFailed)).toEqual([false, true, false]);
		expect(res.json.value[1].failureReason).toMatch(/not a valid FileSha1/);
		const big = await api('POST', '/api/indicators/import', { Indicators: Array.from({ length: 501 }, () => valid) });
		expect(big.json.error.code).toBe('MaximumBatchSizeExceeded');
		const ids = res.json.value.filter((r: { isFailed: boolean }) => !r.isFailed).map((r: { id: string }) => r.id);
		expect((await api('POST', '/api/indicators/BatchDelete', { IndicatorIds: ids })).status).toBe(204);
		expect(emu.indicators.all()).toEqual([]);
	});
});

describe('list order and direct changes (paging tests)', () => {
	const names = async (path: string, field: string, query = '') =>
		(await api('GET', `${path}${query}`)).json.value.map((r: Record<string, string>) => r[field]);

	test('machines, machine actions, indicators: creation order by default; setListOrder sets another; reset() restores it', async () => {
		for (const n of ['c', 'a', 'b']) emu.machines.create({ computerDnsName: `${n}.contoso.com`, osPlatform: 'Windows11' });
		expect(await names('/api/machines', 'computerDnsName')).toEqual(['c.contoso.com', 'a.contoso.com', 'b.contoso.com']);
		emu.setListOrder('machines', 'computerDnsName asc');
		expect(emu.listOrder).toEqual({ machines: 'computerDnsName asc' });
		expect(await names('/api/machines', 'computerDnsName')).toEqual(['a.contoso.com', 'b.contoso.com', 'c.contoso.com']);
		expect(await names('/api/machines', 'computerDnsName', q({ $top: 1, $skip: 1 }))).toEqual(['b.contoso.com']);
		// $orderby still wins.
		expect(await names('/api/machines', 'computerDnsName', q({ $orderby: 'computerDnsName desc' }))).toEqual(['c.contoso.com', 'b.contoso.com', 'a.contoso.com']);
		emu.setListOrder('machines', undefined);
		expect(await names('/api/machines', 'computerDnsName')).toEqual(['c.contoso.com', 'a.contoso.com', 'b.contoso.com']);

		const machines = emu.machines.all();
		for (const [i, r] of ['z', 'x', 'y'].entries()) emu.machineActions.create(machines[i].id, 'RunAntiVirusScan', { requestor: `${r}@contoso.com` });
		emu.setListOrder('machineActions', 'requestor desc');
		expect(await names('/api/machineactions', 'requestor')).toEqual(['z@contoso.com', 'y@contoso.com', 'x@contoso.com']);

		for (const t of ['t2', 't1']) {
			emu.indicators.create({ indicatorValue: `${t}.example.org`, indicatorType: 'DomainName', action: 'Block', title: t, description: 'd' });
		}
		emu.setListOrder('indicators', 'title asc');
		expect(await names('/api/indicators', 'title')).toEqual(['t1', 't2']);

		emu.reset();
		expect(emu.listOrder).toEqual({});
	});

	test('setListOrder refuses an expression the list cannot sort by', () => {
		expect(() => emu.setListOrder('machines', 'nope asc')).toThrow(/nope/);
		expect(emu.listOrder).toEqual({});
	});

	test('remove and create without HTTP, with the API\'s own rules', async () => {
		const m = emu.machines.create({ osPlatform: 'Windows11' });
		const other = emu.machines.create({ osPlatform: 'Windows11' });
		const action = emu.machineActions.create(m.id, 'Isolate');
		expect(action).toMatchObject({ type: 'Isolate', status: 'Pending', scope: 'Full', machineId: m.id, requestor: 'n8n Defender emulator app' });
		expect(() => emu.machineActions.create(m.id, 'Isolate')).toThrow(/Action is already in progress/);
		expect(emu.machineActions.remove(action.id)).toBe(true);
		expect(emu.machineActions.remove(action.id)).toBe(false);
		expect((await api('GET', `/api/machineactions/${action.id}`)).status).toBe(404);

		expect(emu.machines.remove(m.id)).toBe(true);
		expect(emu.machines.remove(m.id)).toBe(false);
		expect(emu.machines.get(other.id)).toEqual(other);
		expect(await names('/api/machines', 'id')).toEqual([other.id]);

		expect(() => emu.indicators.create({ indicatorValue: 'not a hash', indicatorType: 'FileSha1', action: 'Block', title: 't', description: 'd' })).toThrow(
			/not a valid FileSha1/,
		);
		const indicator = emu.indicators.create({ indicatorValue: 'ok.example.org', indicatorType: 'DomainName', action: 'Block', title: 't', description: 'd' });
		expect(indicator).toMatchObject({ createdByDisplayName: 'n8n Defender emulator app', createdBy: emu.client.clientId });
		expect(await names('/api/indicators', 'id')).toEqual([indicator.id]);
		expect(emu.indicators.remove(indicator.id)).toBe(true);
		expect(emu.indicators.all()).toEqual([]);
	});
});

describe('advanced hunting', () => {
	beforeEach(() => emu.machines.seed(5));

	test('MDE: {Schema, Results}; take, limit, where, project, count', async () => {
		const res = await api('POST', '/api/advancedqueries/run', { Query: 'DeviceEvents | take 5' });
		expect(res.status).toBe(200);
		expect(res.json.Schema).toEqual(expect.arrayContaining([{ Name: 'Timestamp', Type: 'DateTime' }, { Name: 'DeviceName', Type: 'String' }]));
		expect(res.json.Results).toHaveLength(5);
		expect((await api('POST', '/api/advancedqueries/run', { Query: 'DeviceEvents | limit 3' })).json.Results).toHaveLength(3);
		const where = await api('POST', '/api/advancedqueries/run', { Query: 'DeviceEvents | where ActionType == "ConnectionSuccess" | project DeviceName, RemoteIP | take 4' });
		expect(where.json.Schema).toEqual([{ Name: 'DeviceName', Type: 'String' }, { Name: 'RemoteIP', Type: 'String' }]);
		expect(where.json.Results.every((r: { RemoteIP: string }) => typeof r.RemoteIP === 'string')).toBe(true);
		expect((await api('POST', '/api/advancedqueries/run', { Query: 'DeviceInfo | count' })).json.Results).toEqual([{ Count: 5 }]);
	});

	test.each([[''], ['   '], ['NoSuchTable | take 1'], ['DeviceEvents | join kind=inner (DeviceInfo) on DeviceId']])('MDE %j → 400', async (query) => {
		const res = await api('POST', '/api/advancedqueries/run', { Query: query });
		expect(res.status).toBe(400);
	});

	test('Graph runHuntingQuery: {schema, results} with lowercase keys', async () => {
		const res = await gapi('POST', '/v1.0/security/runHuntingQuery', { Query: 'DeviceEvents | take 2' });
		expect(res.status).toBe(200);
		expect(res.json.schema[0]).toEqual({ name: 'Timestamp', type: 'DateTime' });
		expect(res.json.results).toHaveLength(2);
	});
});

describe('Graph alerts_v2', () => {
	test('maps MDE alerts to Graph names, camelCase enums and typed evidence', async () => {
		const alert = emu.alerts.create({
			title: "'Mimikatz' credential theft tool",
			status: 'InProgress',
			severity: 'UnSpecified',
			classification: 'TruePositive',
			determination: 'CompromisedUser',
			detectionSource: 'WindowsDefenderAv',
			incidentId: 4242,
			comments: [{ comment: 'looking', createdBy: 'secop@contoso.com', createdTime: '2026-11-27T10:00:00.0000000Z' }],
		});
		const res = await gapi('GET', `/v1.0/security/alerts_v2/${alert.id}`);
		expect(res.status).toBe(200);
		expect(res.json).toMatchObject({
			'@odata.type': '#microsoft.graph.security.alert',
			id: alert.id,
			providerAlertId: alert.id,
			incidentId: '4242',
			status: 'inProgress',
			severity: 'unknown',
			classification: 'truePositive',
			determination: 'compromisedAccount',
			detectionSource: 'antivirus',
			serviceSource: 'microsoftDefenderForEndpoint',
			createdDateTime: alert.alertCreationTime,
			lastUpdateDateTime: alert.lastUpdateTime,
			tenantId: emu.tenantId,
			comments: [{ comment: 'looking', createdByDisplayName: 'secop@contoso.com', createdDateTime: '2026-11-27T10:00:00.0000000Z' }],
		});
		const types = res.json.evidence.map((e: { '@odata.type': string }) => e['@odata.type']);
		expect(types).toEqual(
			expect.arrayContaining([
				'#microsoft.graph.security.deviceEvidence',
				'#microsoft.graph.security.userEvidence',
				'#microsoft.graph.security.processEvidence',
				'#microsoft.graph.security.fileEvidence',
			]),
		);
		const device = res.json.evidence.find((e: { '@odata.type': string }) => e['@odata.type'].endsWith('deviceEvidence'));
		expect(device).toMatchObject({ mdeDeviceId: alert.machineId, deviceDnsName: alert.computerDnsName, roles: ['compromised'] });
	});

	test('$filter/$orderby on Graph names; $top clamped to 1,000; $skip over 500 is a 400; never a nextLink', async () => {
		emu.alerts.seed(1200, { evidence: false });
		const all = await gapi('GET', `/v1.0/security/alerts_v2${q({ $top: 5000 })}`);
		expect(all.json.value).toHaveLength(1000);
		expect(all.json).not.toHaveProperty('@odata.nextLink');
		const skip = await gapi('GET', `/v1.0/security/alerts_v2${q({ $skip: 501 })}`);
		expect(skip.status).toBe(400);
		expect(skip.json.error).toMatchObject({ code: 'BadRequest' });
		expect(skip.json.error.innerError).toHaveProperty('date');
		const since = emu.alerts.all()[600].lastUpdateTime;
		const filtered = await gapi(
			'GET',
			`/v1.0/security/alerts_v2${q({
				$filter: `serviceSource eq 'microsoftDefenderForEndpoint' and lastUpdateDateTime ge ${since} and status ne 'resolved'`,
				$orderby: 'lastUpdateDateTime asc',
				$top: 50,
				$count: 'true',
			})}`,
		);
		const values = filtered.json.value as Array<{ lastUpdateDateTime: string; status: string; serviceSource: string }>;
		expect(values.length).toBeGreaterThan(0);
		expect(filtered.json['@odata.count']).toBeGreaterThanOrEqual(values.length);
		for (let i = 0; i < values.length; i++) {
			expect(values[i].lastUpdateDateTime >= since).toBe(true);
			expect(values[i].status).not.toBe('resolved');
			expect(values[i].serviceSource).toBe('microsoftDefenderForEndpoint');
			if (i > 0) expect(values[i].lastUpdateDateTime >= values[i - 1].lastUpdateDateTime).toBe(true);
		}
		const bad = await gapi('GET', `/v1.0/security/alerts_v2${q({ $filter: "status eq 'InProgress'" })}`);
		expect(bad.status).toBe(400);
		expect(bad.json.error.message).toMatch(/^Invalid filter clause/);
	});

	test('PATCH maps back to MDE values; comments returns the whole list', async () => {
		const alert = emu.alerts.create({});
		const patched = await gapi('PATCH', `/v1.0/security/alerts_v2/${alert.id}`, {
			assignedTo: 'secAdmin@contoso.onmicrosoft.com',
			classification: 'truePositive',
			determination: 'compromisedAccount',
			status: 'resolved',
		});
		expect(patched.status).toBe(200);
		expect(patched.json).toMatchObject({ status: 'resolved', determination: 'compromisedAccount' });
		expect(emu.alerts.get(alert.id)).toMatchObject({ status: 'Resolved', classification: 'TruePositive', determination: 'CompromisedUser', assignedTo: 'secAdmin@contoso.onmicrosoft.com' });
		expect((await gapi('PATCH', `/v1.0/security/alerts_v2/${alert.id}`, { status: 'Resolved' })).status).toBe(400);
		const comments = await gapi('POST', `/v1.0/security/alerts_v2/${alert.id}/comments`, { '@odata.type': 'microsoft.graph.security.alertComment', comment: 'Demo for docs' });
		expect(comments.status).toBe(200);
		expect(comments.json.value[comments.json.value.length - 1]).toMatchObject({ comment: 'Demo for docs', createdByDisplayName: 'n8n Defender emulator app' });
		expect((await gapi('GET', '/v1.0/security/alerts_v2/nope')).status).toBe(404);
	});
});

describe('API profiles', () => {
	const T1 = '2026-11-27T08:00:00.0000000Z';
	const T2 = '2026-11-27T09:00:00.0000000Z';
	const T3 = '2026-11-27T10:00:00.0000000Z';
	/** Insertion, creation-time, id and lastUpdateTime orders all differ; two creation-time ties. */
	const fixture = (): void => {
		const rows: Array<[string, string, string]> = [
			['b2', T2, '2026-11-27T12:00:00.0000000Z'],
			['a1', T1, '2026-11-27T14:00:00.0000000Z'],
			['c3', T3, '2026-11-27T11:00:00.0000000Z'],
			['a3', T3, '2026-11-27T13:00:00.0000000Z'],
			['d2', T2, '2026-11-27T10:30:00.0000000Z'],
		];
		for (const [id, alertCreationTime, lastUpdateTime] of rows) {
			emu.alerts.create({ id, alertCreationTime, lastUpdateTime, status: 'New', severity: id === 'a1' ? 'High' : 'Medium' });
		}
	};
	const INSERTION = ['b2', 'a1', 'c3', 'a3', 'd2'];
	/** Creation time descending, ties by id descending. */
	const NEWEST_FIRST = ['c3', 'a3', 'd2', 'b2', 'a1'];
	/** Creation time ascending, ties by id ascending (the engine's tie-break). */
	const CREATED_ASC = ['a1', 'b2', 'd2', 'a3', 'c3'];
	const UPDATED_DESC = ['a1', 'a3', 'b2', 'c3', 'd2'];

	type Api = 'mde' | 'graph';
	const list = (which: Api, params: Record<string, string | number>): Promise<Res> =>
		which === 'mde' ? api('GET', `/api/alerts${q(params)}`) : gapi('GET', `/v1.0/security/alerts_v2${q(params)}`);
	const idsOf = (res: Res): string[] => {
		expect(res.status).toBe(200);
		return res.json.value.map((a: { id: string }) => a.id);
	};
	const BAD_ORDERBY = "The query option '$orderby' is not supported on alerts.";

	test('the three profiles are exported; the shared emulator starts and resets to ordered', () => {
		expect(API_PROFILES).toEqual(['ordered', 'ignoresOrderby', 'documentedOnly']);
		expect(emu.apiProfile).toBe('ordered');
		emu.setApiProfile('documentedOnly');
		expect(emu.apiProfile).toBe('documentedOnly');
		emu.reset();
		expect(emu.apiProfile).toBe('ordered');
		expect(() => emu.setApiProfile('strict' as ApiProfile)).toThrow(
			"Unknown API profile 'strict'; valid profiles: ordered, ignoresOrderby, documentedOnly.",
		);
		expect(emu.apiProfile).toBe('ordered');
	});

	test.each<[ApiProfile, Api, string | null, string[] | 400]>([
		['ordered', 'mde', null, INSERTION],
		['ordered', 'mde', 'alertCreationTime asc', CREATED_ASC],
		['ordered', 'mde', 'lastUpdateTime desc', UPDATED_DESC],
		['ordered', 'mde', 'alertCreationTime desc, id desc', NEWEST_FIRST],
		['ordered', 'graph', null, INSERTION],
		['ordered', 'graph', 'createdDateTime asc', CREATED_ASC],
		['ordered', 'graph', 'lastUpdateDateTime desc', UPDATED_DESC],
		['ordered', 'graph', 'createdDateTime asc, id desc', ['a1', 'd2', 'b2', 'c3', 'a3']],
		['ignoresOrderby', 'mde', null, NEWEST_FIRST],
		['ignoresOrderby', 'mde', 'alertCreationTime asc', NEWEST_FIRST],
		['ignoresOrderby', 'mde', 'lastUpdateTime desc', NEWEST_FIRST],
		['ignoresOrderby', 'mde', 'id asc, alertCreationTime asc', NEWEST_FIRST],
		['ignoresOrderby', 'graph', null, NEWEST_FIRST],
		['ignoresOrderby', 'graph', 'createdDateTime asc', NEWEST_FIRST],
		['ignoresOrderby', 'graph', 'lastUpdateDateTime desc', NEWEST_FIRST],
		['ignoresOrderby', 'graph', 'createdDateTime asc, id desc', NEWEST_FIRST],
		['documentedOnly', 'mde', null, NEWEST_FIRST],
		['documentedOnly', 'mde', 'alertCreationTime asc', 400],
		['documentedOnly', 'mde', 'lastUpdateTime desc', 400],
		['documentedOnly', 'graph', null, NEWEST_FIRST],
		['documentedOnly', 'graph', 'createdDateTime asc', CREATED_ASC],
		['documentedOnly', 'graph', 'lastUpdateDateTime desc', UPDATED_DESC],
		['documentedOnly', 'graph', 'createdDateTime asc, id desc', 400],
	])('%s, %s, $orderby=%s', async (profile, which, orderby, expected) => {
		fixture();
		emu.setApiProfile(profile);
		const res = await list(which, orderby === null ? {} : { $orderby: orderby });
		if (expected === 400) expect(res.status).toBe(400);
		else expect(idsOf(res)).toEqual(expected);
	});

	test.each<[ApiProfile, Api]>([
		['ordered', 'mde'],
		['ordered', 'graph'],
		['ignoresOrderby', 'mde'],
		['ignoresOrderby', 'graph'],
	])('%s, %s: $orderby is still checked; id compares with any operator', async (profile, which) => {
		fixture();
		emu.setApiProfile(profile);
		const bad = await list(which, { $orderby: 'colour desc' });
		expect(bad.status).toBe(400);
		expect(bad.json.error.message).toMatch(/colour/);
		const newest = profile === 'ignoresOrderby';
		expect(idsOf(await list(which, { $filter: "id gt 'b2'" }))).toEqual(['c3', 'd2']);
		expect(idsOf(await list(which, { $filter: "id le 'a3'" }))).toEqual(newest ? ['a3', 'a1'] : ['a1', 'a3']);
		expect(idsOf(await list(which, { $filter: "id ne 'c3' and id ge 'b2'" }))).toEqual(newest ? ['d2', 'b2'] : ['b2', 'd2']);
		expect(idsOf(await list(which, { $filter: "startswith(id,'a')" }))).toEqual(newest ? ['a3', 'a1'] : ['a1', 'a3']);
		expect(idsOf(await list(which, { $top: 2, $skip: 1 }))).toEqual(newest ? ['a3', 'd2'] : ['a1', 'c3']);
	});

	test.each<[Api, Record<string, string>, string, string]>([
		['mde', { $orderby: 'alertCreationTime asc' }, 'ODataError', BAD_ORDERBY],
		['mde', { $orderby: 'id' }, 'ODataError', BAD_ORDERBY],
		['mde', { $orderby: 'colour desc' }, 'ODataError', BAD_ORDERBY],
		['mde', { $filter: "id gt 'a1'" }, 'ODataError', "Operator 'gt' is not supported for property 'id'; only 'eq'."],
		['mde', { $filter: "id ge 'a1'" }, 'ODataError', "Operator 'ge' is not supported for property 'id'; only 'eq'."],
		['mde', { $filter: "id lt 'a1'" }, 'ODataError', "Operator 'lt' is not supported for property 'id'; only 'eq'."],
		['mde', { $filter: "id le 'a1'" }, 'ODataError', "Operator 'le' is not supported for property 'id'; only 'eq'."],
		['mde', { $filter: "id ne 'a1'" }, 'ODataError', "Operator 'ne' is not supported for property 'id'; only 'eq'."],
		// A literal on the left is mirrored; property names match case-insensitively, also deep in the expression.
		['mde', { $filter: "'a1' lt id" }, 'ODataError', "Operator 'gt' is not supported for property 'id'; only 'eq'."],
		[
			'mde',
			{ $filter: `alertCreationTime ge ${T1} and (status eq 'New' or ID ne 'a1')` },
			'ODataError',
			"Operator 'ne' is not supported for property 'id'; only 'eq'.",
		],
		[
			'graph',
			{ $orderby: 'createdDateTime asc, id desc' },
			'BadRequest',
			"The query option '$orderby' supports only one property on alerts_v2; found 2: 'createdDateTime asc, id desc'.",
		],
		[
			'graph',
			{ $orderby: 'lastUpdateDateTime,createdDateTime,id' },
			'BadRequest',
			"The query option '$orderby' supports only one property on alerts_v2; found 3: 'lastUpdateDateTime, createdDateTime, id'.",
		],
		['graph', { $filter: "id gt 'a1'" }, 'BadRequest', "Invalid filter clause: Operator 'gt' is not supported for property 'id'; only 'eq'."],
		['graph', { $filter: "id ge 'a1'" }, 'BadRequest', "Invalid filter clause: Operator 'ge' is not supported for property 'id'; only 'eq'."],
		['graph', { $filter: "id lt 'a1'" }, 'BadRequest', "Invalid filter clause: Operator 'lt' is not supported for property 'id'; only 'eq'."],
		['graph', { $filter: "id le 'a1'" }, 'BadRequest', "Invalid filter clause: Operator 'le' is not supported for property 'id'; only 'eq'."],
		['graph', { $filter: "id ne 'a1'" }, 'BadRequest', "Invalid filter clause: Operator 'ne' is not supported for property 'id'; only 'eq'."],
		['graph', { $filter: "id in ('a1','b2')" }, 'BadRequest', "Invalid filter clause: Operator 'in' is not supported for property 'id'; only 'eq'."],
		[
			'graph',
			{ $filter: "startswith(id,'a')" },
			'BadRequest',
			"Invalid filter clause: Function 'startswith' is not supported for property 'id'; only 'eq'.",
		],
		[
			'graph',
			{ $filter: "tolower(id) eq 'a1'" },
			'BadRequest',
			"Invalid filter clause: Function 'tolower' is not supported for property 'id'; only 'eq'.",
		],
	])('documentedOnly, %s: 400 for %j', async (which, params, code, message) => {
		fixture();
		emu.setApiProfile('documentedOnly');
		const res = await list(which, params);
		expect(res.status).toBe(400);
		expect(res.json.error).toMatchObject({ code, message });
		if (which === 'mde') expect(res.json.error.target).toMatch(GUID);
		else expect(res.json.error.innerError).toHaveProperty('request-id');
	});

	test('documentedOnly, MDE: time ranges, id eq (and in), $top, $skip and $expand=evidence still work, newest first', async () => {
		fixture();
		emu.setApiProfile('documentedOnly');
		const ids = async (params: Record<string, string | number>) => idsOf(await list('mde', params));
		expect(await ids({ $filter: `alertCreationTime ge ${T2} and alertCreationTime lt ${T3}` })).toEqual(['d2', 'b2']);
		expect(await ids({ $filter: 'lastUpdateTime ge 2026-11-27T12:00:00Z and lastUpdateTime lt 2026-11-27T14:00:00Z' })).toEqual(['a3', 'b2']);
		expect(await ids({ $filter: "id eq 'a3'" })).toEqual(['a3']);
		expect(await ids({ $filter: "id in ('a1','c3')" })).toEqual(['c3', 'a1']);
		expect(await ids({ $filter: "status eq 'New' and severity eq 'Medium' and category ne 'x'" })).toEqual(['c3', 'a3', 'd2', 'b2']);
		expect(await ids({ $top: 2 })).toEqual(['c3', 'a3']);
		expect(await ids({ $top: 2, $skip: 1 })).toEqual(['a3', 'd2']);
		expect(await ids({ $skip: 4 })).toEqual(['a1']);
		const expanded = await list('mde', { $expand: 'evidence', $filter: "id eq 'c3'" });
		expect(idsOf(expanded)).toEqual(['c3']);
		expect(expanded.json.value[0].evidence.length).toBeGreaterThan(0);
		expect(expanded.json.value[0].evidence).toEqual(emu.alerts.get('c3')!.evidence);
	});

	test('documentedOnly, Graph: time ranges, id eq, a single $orderby key, $top, $skip and $count still work', async () => {
		fixture();
		emu.setApiProfile('documentedOnly');
		const ids = async (params: Record<string, string | number>) => idsOf(await list('graph', params));
		expect(await ids({ $filter: `createdDateTime ge ${T2} and createdDateTime lt ${T3}` })).toEqual(['d2', 'b2']);
		expect(await ids({ $filter: 'lastUpdateDateTime ge 2026-11-27T12:00:00Z and lastUpdateDateTime lt 2026-11-27T14:00:00Z' })).toEqual(['a3', 'b2']);
		expect(await ids({ $filter: 'lastUpdateDateTime ge 2026-11-27T12:00:00Z', $orderby: 'lastUpdateDateTime asc' })).toEqual(['b2', 'a3', 'a1']);
		expect(await ids({ $filter: "id eq 'a3'" })).toEqual(['a3']);
		expect(await ids({ $top: 2, $skip: 1 })).toEqual(['a3', 'd2']);
		const counted = await list('graph', { $filter: `createdDateTime ge ${T2}`, $top: 1, $count: 'true' });
		expect(idsOf(counted)).toEqual(['c3']);
		expect(counted.json['@odata.count']).toBe(4);
		expect((await list('graph', { $skip: 501 })).status).toBe(400);
	});

	test('startEmulator({ apiProfile }), setApiProfile, reset() back to the start profile; an unknown name is refused', async () => {
		await expect(startEmulator({ apiProfile: 'strict' as ApiProfile })).rejects.toThrow(
			"Unknown API profile 'strict'; valid profiles: ordered, ignoresOrderby, documentedOnly.",
		);
		const strict = await startEmulator({ apiProfile: 'documentedOnly' });
		try {
			expect(strict.apiProfile).toBe('documentedOnly');
			const token = await tokenFor(strict);
			strict.alerts.create({ id: 's1', alertCreationTime: T1 });
			strict.alerts.create({ id: 's2', alertCreationTime: T2 });
			const get = (p: string) => call(strict, 'GET', p, { token });
			expect((await get(`/api/alerts${q({ $orderby: 'alertCreationTime asc' })}`)).status).toBe(400);
			strict.setApiProfile('ordered');
			expect(strict.apiProfile).toBe('ordered');
			expect(idsOf(await get(`/api/alerts${q({ $orderby: 'alertCreationTime desc' })}`))).toEqual(['s2', 's1']);
			strict.reset();
			expect(strict.apiProfile).toBe('documentedOnly');
			expect((await get(`/api/alerts${q({ $orderby: 'alertCreationTime desc' })}`)).status).toBe(400);
		} finally {
			await strict.close();
		}
	});

	test('admin API: GET and PUT /_emulator/profile, the profile in /_emulator/info', async () => {
		const admin = (method: string, p: string, json?: unknown) => call(emu, method, `/_emulator${p}`, { json });
		expect((await admin('GET', '/profile')).json).toEqual({ profile: 'ordered', profiles: ['ordered', 'ignoresOrderby', 'documentedOnly'] });
		const put = await admin('PUT', '/profile', { profile: 'documentedOnly' });
		expect(put.status).toBe(200);
		expect(put.json.profile).toBe('documentedOnly');
		expect(emu.apiProfile).toBe('documentedOnly');
		expect((await admin('GET', '/info')).json.apiProfile).toBe('documentedOnly');
		expect((await api('GET', `/api/alerts${q({ $orderby: 'alertCreationTime asc' })}`)).json.error.message).toBe(BAD_ORDERBY);
		const bad = await admin('PUT', '/profile', { profile: 'strict' });
		expect(bad.status).toBe(400);
		expect(bad.json.error.message).toBe("Unknown API profile 'strict'; valid profiles: ordered, ignoresOrderby, documentedOnly.");
		expect((await admin('PUT', '/profile', {})).status).toBe(400);
		expect(emu.apiProfile).toBe('documentedOnly');
	});
});

describe('admin HTTP API', () => {
	const admin = (method: string, p: string, json?: unknown) => call(emu, method, `/_emulator${p}`, { json });

	test('alerts, faults, clock, clients, stats and the request log over HTTP', async () => {
		expect((await admin('GET', '/info')).json).toMatchObject({ url: emu.url, tenantId: emu.tenantId, caCertPath: emu.caCertPath });
		const created = await admin('POST', '/alerts', { id: 'adm1', severity: 'High', visibleAt: new Date(emu.clock.now().getTime() + 60000).toISOString() });
		expect(created.status).toBe(201);
		expect((await api('GET', '/api/alerts/adm1')).status).toBe(404);
		await admin('POST', '/clock/advance', { ms: 60000 });
		expect((await api('GET', '/api/alerts/adm1')).json.severity).toBe('High');
		expect((await admin('PATCH', '/alerts/adm1', { patch: { status: 'Resolved' } })).json.status).toBe('Resolved');
		expect((await admin('POST', '/alerts/seed', { count: 20 })).json.count).toBe(20);
		expect((await admin('GET', '/alerts')).json.value).toHaveLength(21);

		await admin('POST', '/faults', { kind: '500', match: '^GET /api/machines$' });
		expect((await api('GET', '/api/machines')).status).toBe(500);
		const client = (await admin('POST', '/clients', { roles: ['Machine.Read.All'] })).json;
		const token = await tokenFor(emu, MDE_SCOPE, client);
		expect((await call(emu, 'GET', '/api/machines', { token })).status).toBe(200);
		expect((await admin('GET', '/stats')).json.requests['GET /api/machines']).toBe(2);
		const log = (await admin('GET', '/requests?limit=1')).json.value;
		expect(log).toHaveLength(1);
		expect(log[0]).toMatchObject({ path: '/api/machines', status: 200 });
		expect((await admin('POST', '/faults', { kind: 'boom' })).status).toBe(400);
		expect((await admin('DELETE', '/stats')).status).toBe(204);
		expect(emu.stats().total).toBe(0);
	});
});

describe('scale', () => {
	// CPU time of this process (emulator and client), not wall time: CI machines run suites in parallel.
	const cpuMs = async (work: () => unknown): Promise<number> => {
		const before = process.cpuUsage();
		await work();
		const used = process.cpuUsage(before);
		return (used.user + used.system) / 1000;
	};

	test('100,000 alerts seed in seconds and list 10,000 at a time quickly', async () => {
		expect(await cpuMs(() => emu.alerts.seed(100000))).toBeLessThan(5000);
		const query = { $top: 10000, $skip: 50000, $orderby: 'lastUpdateTime asc', $filter: 'lastUpdateTime ge 2020-01-01T00:00:00Z' };
		let page: Res | undefined;
		// The first page sorts 100,000 alerts; the next one reuses the sorted snapshot.
		expect(await cpuMs(async () => (page = await api('GET', `/api/alerts${q(query)}`)))).toBeLessThan(3000);
		expect(page!.json.value).toHaveLength(10000);
		expect(await cpuMs(async () => (page = await api('GET', `/api/alerts${q({ ...query, $skip: 60000 })}`)))).toBeLessThan(2000);
		const values = page!.json.value as Array<{ lastUpdateTime: string }>;
		for (let i = 1; i < values.length; i++) expect(values[i].lastUpdateTime >= values[i - 1].lastUpdateTime).toBe(true);
	}, 60000);
});

describe('CLI', () => {
	const cli = (args: string[], env: Record<string, string> = {}) =>
		spawn(process.execPath, ['--require', 'ts-node/register/transpile-only', path.join(__dirname, 'emulator', 'cli.ts'), ...args], {
			cwd: path.join(__dirname, '..'),
			env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json'), ...env },
		});

	test('starts, prints the connection details, serves, and stops cleanly on SIGTERM', async () => {
		// --profile wins over EMULATOR_PROFILE.
		const child = cli(['--port', '0', '--no-stream', '--alerts', '5', '--profile', 'documentedOnly'], { EMULATOR_PROFILE: 'ignoresOrderby' });
		let out = '';
		child.stdout.on('data', (c: Buffer) => (out += c.toString()));
		child.stderr.on('data', (c: Buffer) => (out += c.toString()));
		const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
		const deadline = Date.now() + 60000;
		while (!/Press Ctrl\+C/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
		expect(out).toMatch(/NODE_EXTRA_CA_CERTS=.*ca\.crt/);
		const url = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
		expect(url).toBeDefined();
		const info = await new Promise<{ client: { clientId: string }; apiProfile: string }>((resolve, reject) => {
			https.get(`${url}/_emulator/info`, { ca }, (res) => {
				let body = '';
				res.on('data', (c: Buffer) => (body += c.toString()));
				res.on('end', () => resolve(JSON.parse(body)));
			}).on('error', reject);
		});
		expect(out).toContain(info.client.clientId);
		expect(info.apiProfile).toBe('documentedOnly');
		expect(out).toMatch(/API profile +documentedOnly/);
		child.kill('SIGTERM');
		expect(await exited).toBe(0);
	}, 90000);

	test('--profile and EMULATOR_PROFILE: an unknown name exits 1 listing the valid ones; --help shows the option', async () => {
		const run = (args: string[], env: Record<string, string> = {}) =>
			new Promise<{ code: number | null; out: string }>((resolve) => {
				const child = cli(args, env);
				let out = '';
				child.stdout.on('data', (c: Buffer) => (out += c.toString()));
				child.stderr.on('data', (c: Buffer) => (out += c.toString()));
				child.on('exit', (code) => resolve({ code, out }));
			});
		const [flag, env, help] = await Promise.all([
			run(['--port', '0', '--no-stream', '--profile', 'strict']),
			run(['--port', '0', '--no-stream'], { EMULATOR_PROFILE: 'strict' }),
			run(['--help']),
		]);
		expect(flag).toEqual({ code: 1, out: "--profile: unknown API profile 'strict'; valid profiles: ordered, ignoresOrderby, documentedOnly\n" });
		expect(env).toEqual({ code: 1, out: "EMULATOR_PROFILE: unknown API profile 'strict'; valid profiles: ordered, ignoresOrderby, documentedOnly\n" });
		expect(help.code).toBe(0);
		expect(help.out).toMatch(/--profile NAME .*EMULATOR_PROFILE/);
		for (const name of API_PROFILES) expect(help.out).toContain(name);
	}, 90000);
});
