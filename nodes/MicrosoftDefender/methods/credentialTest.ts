import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { AuthenticationError, getAccessToken } from '../transport/auth';
import { CredentialConfigError, parseCredentials, type DefenderCredentials } from '../transport/credentials';
import { DefenderApiError, sendDefenderRequest, type HttpSender } from '../transport';

/** The credential-test context only offers the legacy `request` helper; it still goes through n8n's client. */
function legacyRequestSender(request: ICredentialTestFunctions['helpers']['request']): HttpSender {
	return async ({ method, url, headers, body, timeoutMs }) => {
		const response = (await request({
			method,
			uri: url,
			headers,
			body,
			json: true,
			timeout: timeoutMs,
			resolveWithFullResponse: true,
			simple: false,
		})) as { statusCode: number; headers: Record<string, string>; body: unknown };
		return { status: response.statusCode, headers: response.headers ?? {}, body: response.body };
	};
}

/** An endpoint the granted roles allow reading, to prove the API accepts the token. */
function probeFor(roles: string[]): { path: string; permission: string } | undefined {
	if (roles.some((r) => r.startsWith('Alert.'))) return { path: '/api/alerts', permission: 'Alert.Read.All' };
	if (roles.some((r) => r.startsWith('Machine.'))) return { path: '/api/machines', permission: 'Machine.Read.All' };
	return undefined;
}

async function graphRoles(c: DefenderCredentials): Promise<string[] | undefined> {
	try {
		return (await getAccessToken(c, 'graph', { forceRefresh: true })).roles;
	} catch {
		return undefined; // Graph is optional: the Defender API is what the nodes need.
	}
}

/**
 * Tells the user in one line what is wrong (unknown tenant or client, wrong or expired secret, consent missing,
 * host unreachable) or which roles the token carries.
 */
export async function microsoftDefenderApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	let c: DefenderCredentials;
	try {
		c = parseCredentials(credential.data ?? {});
	} catch (error) {
		if (error instanceof CredentialConfigError) return { status: 'Error', message: error.message };
		throw error;
	}
	try {
		// Skip the token cache: the test must ask Entra ID whether this secret or certificate is valid now.
		const token = await getAccessToken(c, 'mde', { forceRefresh: true });
		if (!token.roles.length) {
			return {
				status: 'Error',
				message:
					'Signed in, but the token carries no Defender permissions: add the WindowsDefenderATP application permissions and click "Grant admin consent" in the app registration.',
			};
		}
		const probe = probeFor(token.roles);
		if (probe) {
			await sendDefenderRequest(
				{ credentials: c, send: legacyRequestSender(this.helpers.request) },
				{ method: 'GET', path: probe.path, qs: { $top: 1 } },
			);
		}
		const graph = await graphRoles(c);
		const graphText = graph?.length ? `. Graph roles: ${graph.join(', ')}` : '';
		return { status: 'OK', message: `Connected. Roles granted: ${token.roles.join(', ')}${graphText}` };
	} catch (error) {
		if (error instanceof AuthenticationError) return { status: 'Error', message: error.message };
		if (error instanceof DefenderApiError) {
			if (error.status === 403) {
				return {
					status: 'Error',
					message: `Signed in, but the Defender API refused access (403${error.code ? ` ${error.code}` : ''}): grant admin consent for the WindowsDefenderATP permissions (e.g. Alert.Read.All) in the app registration.`,
				};
			}
			if (error.status === undefined) {
				return {
					status: 'Error',
					message: `Cannot reach the Defender API at ${c.endpoints.apiBaseUrl} (${error.code ?? 'no response'}). Check the environment or custom URLs and the network.`,
				};
			}
			return { status: 'Error', message: `The Defender API answered: ${error.message}` };
		}
		return { status: 'Error', message: `Test failed: ${(error as Error).message}` };
	}
}
