/**
 * Foundation: the real MSAL against the emulator's Entra ID, and the transport against its Defender API,
 * through n8n-core's real execution contexts. Every message, description and returned value is collected and
 * checked at the end for the secret, the private key and the issued tokens.
 */
import { NodeApiError, NodeOperationError, type IDataObject } from 'n8n-workflow';

import { MicrosoftDefenderTrigger } from '../../nodes/MicrosoftDefender/MicrosoftDefenderTrigger.node';
import { microsoftDefenderApiTest } from '../../nodes/MicrosoftDefender/methods/credentialTest';
import { clearTokenCache, getAccessToken } from '../../nodes/MicrosoftDefender/transport/auth';
import { parseCredentials } from '../../nodes/MicrosoftDefender/transport/credentials';
import {
	defenderApiRequest,
	pathId,
	transportSettings,
} from '../../nodes/MicrosoftDefender/transport';
import { generateClientCertificate, startEmulator, type Emulator } from '../emulator';
import {
	createHarness,
	runCredentialTest,
	emulatorCredentials,
	pollContext,
	type NodeHarness,
} from '../helpers/n8n';
import { createObserver } from '../helpers/observed';

const { observed, observe, captured } = createObserver();
const logLines: string[] = [];
const secrets: string[] = [];


let emu: Emulator;
let harness: NodeHarness;
const trigger = new MicrosoftDefenderTrigger();

beforeAll(async () => {
	transportSettings.baseDelayMs = 50;
	transportSettings.maxDelayMs = 200;
	emu = await startEmulator({});
	secrets.push(emu.client.clientSecret);
	harness = createHarness(trigger, 'microsoftDefenderTrigger', {}, emulatorCredentials(emu));
});

afterAll(async () => {
	for (const resource of ['mde', 'graph'] as const) {
		const token = await getAccessToken(parseCredentials(emulatorCredentials(emu)), resource);
		secrets.push(token.accessToken);
	}
	await emu.close();
});

beforeEach(() => {
	clearTokenCache();
	emu.faults.clear();
	emu.resetStats();
});

const request = async (path: string) =>
	await captured(
		async () => await defenderApiRequest.call(pollContext(harness), { method: 'GET', path }),
	);

describe('tokens', () => {
	test('one token request serves 50 sequential API calls', async () => {
		const [alert] = emu.alerts.seed(1);
		for (let i = 0; i < 50; i++) {
			const body = (await request(`/api/alerts/${pathId(alert.id, 'Alert ID')}`)) as IDataObject;
			expect(body.id).toBe(alert.id);
		}
		expect(emu.stats().tokenRequests).toBe(1);
		expect(emu.stats().requests['GET /api/alerts/:id']).toBe(50);
	});

	test('a 401 leads to exactly one new token and a successful retry', async () => {
		const [alert] = emu.alerts.seed(1);
		await request(`/api/alerts/${alert.id}`);
		expect(emu.stats().tokenRequests).toBe(1);
		emu.faults.inject({ kind: 'expireToken', count: 1 });
		const body = (await request(`/api/alerts/${alert.id}`)) as IDataObject;
		expect(body.id).toBe(alert.id);
		expect(emu.stats().tokenRequests).toBe(2);
		expect(emu.stats().requests['GET /api/alerts/:id']).toBe(3);
	});

	test('certificate authentication obtains a token (client assertion)', async () => {
		const cert = generateClientCertificate();
		secrets.push(cert.privateKeyPem);
		const client = emu.addClient({ certificatePem: cert.certificatePem, roles: ['Alert.Read.All'] });
		const credentials = emulatorCredentials(emu, { clientId: client.clientId }, {
			authentication: 'certificate',
			privateKey: cert.privateKeyPem,
			certificate: cert.certificatePem,
		});
		// The token itself is internal (never a node output): not observed, but added to what must not leak.
		const token = await getAccessToken(parseCredentials(credentials), 'mde');
		expect(token.roles).toEqual(['Alert.Read.All']);
		secrets.push(token.accessToken);
		const certHarness = createHarness(trigger, 'microsoftDefenderTrigger', {}, credentials);
		const [alert] = emu.alerts.seed(1);
		const body = (await captured(
			async () => await defenderApiRequest.call(pollContext(certHarness), { method: 'GET', path: `/api/alerts/${alert.id}` }),
		)) as IDataObject;
		expect(body.id).toBe(alert.id);
	});
});

describe('retries', () => {
	test('429 with Retry-After: 2 waits at least 2 s, then succeeds', async () => {
		const [alert] = emu.alerts.seed(1);
		await request(`/api/alerts/${alert.id}`); // token first, so only the retry is timed
		emu.faults.inject({ kind: '429', retryAfterSeconds: 2, count: 1 });
		const started = Date.now();
		const body = (await request(`/api/alerts/${alert.id}`)) as IDataObject;
		expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
		expect(body.id).toBe(alert.id);
		expect(emu.stats().requests['GET /api/alerts/:id']).toBe(3);
	});

	test('5xx and dropped connections are retried with backoff', async () => {
		const [alert] = emu.alerts.seed(1);
		emu.faults.inject({ kind: '500', count: 1 });
		emu.faults.inject({ kind: 'reset', count: 1 });
		emu.faults.inject({ kind: '502', count: 1 });
		const body = (await request(`/api/alerts/${alert.id}`)) as IDataObject;
		expect(body.id).toBe(alert.id);
	});

	test('5 consecutive 503 end in a NodeApiError with status and API error code', async () => {
		const [alert] = emu.alerts.seed(1);
		emu.faults.inject({ kind: '503', count: 5 });
		const error = await request(`/api/alerts/${alert.id}`).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
		const apiError = error as NodeApiError;
		expect(apiError.httpCode).toBe('503');
		expect(apiError.message).toMatch(/HTTP 503 ServiceUnavailable/);
		expect(apiError.description).toMatch(/Correlation ID: [0-9a-f-]{36}/);
		expect(emu.stats().requests['GET /api/alerts/:id']).toBe(transportSettings.maxAttempts);
	});

	test('a 404 is not retried and names the API error code and message', async () => {
		const error = await request('/api/alerts/da000000000000000000_1').catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('404');
		expect((error as NodeApiError).message).toMatch(/ResourceNotFound/);
		expect(emu.stats().requests['GET /api/alerts/:id']).toBe(1);
	});
});

describe('ids in URL paths', () => {
	test.each(['../machines', 'x?$top=1', 'a/b', 'da1#x', '..', 'a b', '%2e%2e'])(
		'%s is rejected before any request',
		async (id) => {
			const before = emu.stats().total;
			expect(() => pathId(id, 'Alert ID')).toThrow(/Alert ID .* is not a valid ID/);
			expect(emu.stats().total).toBe(before);
		},
	);
});

describe('credential test', () => {
	const runTest = async (data: IDataObject) =>
		await captured(async () => await runCredentialTest(microsoftDefenderApiTest, data, logLines));

	test('success names the granted roles', async () => {
		const result = await runTest(emulatorCredentials(emu));
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(/^Connected\. Roles granted: .*Alert\.ReadWrite\.All.*Machine\.Isolate/);
		expect(result.message).toMatch(/Graph roles: .*SecurityAlert\.ReadWrite\.All/);
	});

	test('wrong secret', async () => {
		const result = await runTest(emulatorCredentials(emu, { clientId: emu.client.clientId, clientSecret: 'not-the-secret' }));
		expect(result).toEqual({ status: 'Error', message: expect.stringMatching(/^The client secret is wrong\. .*AADSTS7000215/) });
	});

	test('expired secret', async () => {
		const client = emu.addClient({ secretExpired: true });
		secrets.push(client.clientSecret);
		const result = await runTest(emulatorCredentials(emu, client));
		expect(result.message).toMatch(/^The client secret has expired\./);
	});

	test('unknown tenant', async () => {
		const result = await runTest({ ...emulatorCredentials(emu), tenantId: '11111111-2222-3333-4444-555555555555' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/^Tenant "11111111-2222-3333-4444-555555555555" was not found/);
	});

	test('unknown client id', async () => {
		const result = await runTest({ ...emulatorCredentials(emu), clientId: '99999999-2222-3333-4444-555555555555' });
		expect(result.message).toMatch(/^Client ID "99999999-2222-3333-4444-555555555555" is not registered/);
	});

	test('admin consent missing: a token without roles', async () => {
		const client = emu.addClient({ roles: [] });
		secrets.push(client.clientSecret);
		const result = await runTest(emulatorCredentials(emu, client));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/no Defender permissions: .*Grant admin consent/);
	});

	test('admin consent missing: the API answers 403', async () => {
		const client = emu.addClient({ roles: ['Alert.Read'] }); // a role the alert list does not accept
		secrets.push(client.clientSecret);
		const result = await runTest(emulatorCredentials(emu, client));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/refused access \(403/);
	});

	test('host unreachable', async () => {
		const result = await runTest({ ...emulatorCredentials(emu), authorityHost: 'https://127.0.0.1:1' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/^Cannot reach the sign-in host 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
	});

	test('a malformed tenant id is caught before any request', async () => {
		const before = emu.stats().total + emu.stats().tokenRequests;
		const result = await runTest({ ...emulatorCredentials(emu), tenantId: 'not a tenant' });
		expect(result.message).toMatch(/^Tenant ID "not a tenant" is neither a GUID nor a domain/);
		expect(emu.stats().total + emu.stats().tokenRequests).toBe(before);
	});

	test('messages are one line', () => {
		// Every credential-test message collected above.
		for (const text of observed.filter((o) => o.includes('"status":"Error"'))) {
			expect(JSON.parse(text).message).not.toMatch(/\n/);
		}
	});
});

describe('node errors', () => {
	test('an invalid credential becomes a NodeOperationError naming the field', async () => {
		const bad = createHarness(trigger, 'microsoftDefenderTrigger', {}, { ...emulatorCredentials(emu), apiBaseUrl: 'http://127.0.0.1:9' });
		const error = await captured(
			async () => await defenderApiRequest.call(pollContext(bad), { method: 'GET', path: '/api/alerts' }),
		).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toMatch(/Defender API Base URL must use https/);
	});
});

test('secrets, private keys and tokens never appear in messages, logs or outputs', () => {
	expect(secrets.length).toBeGreaterThanOrEqual(5);
	expect(observed.length).toBeGreaterThan(50);
	const haystack = [...observed, ...logLines].join('\n');
	for (const secret of secrets) {
		expect(haystack.includes(secret)).toBe(false);
	}
	expect(haystack).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./);
	expect(haystack).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
});
