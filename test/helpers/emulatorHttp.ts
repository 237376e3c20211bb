/**
 * Raw HTTPS calls to the emulator for its own tests: https.request with the emulator's CA passed explicitly (no
 * NODE_EXTRA_CA_CERTS needed), a keep-alive agent, and client-credentials tokens from its Entra ID endpoint.
 */
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as https from 'node:https';

import type { ClientCredentials } from '../emulator/entra';

export const MDE_SCOPE = 'https://api.securitycenter.microsoft.com/.default';
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export interface EmulatorResponse {
	status: number;
	headers: IncomingHttpHeaders;
	body: Buffer;
	/** The body parsed as JSON; undefined when it is empty or not JSON. */
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	json: any;
}

export interface EmulatorRequest {
	token?: string;
	/** Sent as JSON. */
	json?: unknown;
	/** Sent as application/x-www-form-urlencoded. */
	form?: Record<string, string>;
	headers?: Record<string, string>;
}

interface Target {
	url: string;
	tenantId: string;
	caCertPath: string;
}

const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
const caByPath = new Map<string, Buffer>();

function caOf(emu: Target): Buffer {
	let ca = caByPath.get(emu.caCertPath);
	if (!ca) caByPath.set(emu.caCertPath, (ca = fs.readFileSync(emu.caCertPath)));
	return ca;
}

export function emulatorCall(emu: Target, method: string, urlPath: string, req: EmulatorRequest = {}): Promise<EmulatorResponse> {
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
		const r = https.request(`${emu.url}${urlPath}`, { method, headers, ca: caOf(emu), agent }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => {
				const body = Buffer.concat(chunks);
				let json: unknown;
				try {
					json = body.length ? JSON.parse(body.toString('utf8')) : undefined;
				} catch {
					json = undefined;
				}
				resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
			});
		});
		r.on('error', reject);
		r.end(payload);
	});
}

/** An access token for `client` by client credentials (the token endpoint reads a form). */
export async function emulatorToken(emu: Target, client: ClientCredentials, scope: string): Promise<string> {
	const res = await emulatorCall(emu, 'POST', `/${emu.tenantId}/oauth2/v2.0/token`, {
		form: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope },
	});
	if (res.status !== 200 || typeof res.json?.access_token !== 'string') {
		throw new Error(`token request failed: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
	}
	return res.json.access_token as string;
}

/** Closes the kept-alive connections (afterAll), so jest does not wait for them. */
export function closeEmulatorConnections(): void {
	agent.destroy();
}
