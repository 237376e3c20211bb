import { createHash, X509Certificate } from 'crypto';
import { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';

import type { DefenderCredentials } from './credentials';
import { SignInNetworkClient, SignInNetworkError } from './signInNetwork';

export { signInSettings } from './signInNetwork';

export type ApiResource = 'mde' | 'graph';

export interface AccessToken {
	accessToken: string;
	expiresOn: Date | null;
	/** Application permissions the token carries (the JWT `roles` claim). */
	roles: string[];
}

interface SignIn {
	application: ConfidentialClientApplication;
	/** Its network client: the API calls' proxy, a timeout, and why the last metadata request failed. */
	network: SignInNetworkClient;
}

/**
 * One MSAL application per credential, for the life of the n8n process: MSAL's in-memory cache then serves a
 * token until shortly before it expires, so a credential costs one token request per token lifetime, not one
 * per poll or item. The key hashes everything that identifies the principal, so tenants never share tokens.
 */
const applications = new Map<string, SignIn>();
/** Concurrent callers wait for the same token request instead of each sending one. */
const inFlight = new Map<string, Promise<AccessToken>>();

function credentialKey(c: DefenderCredentials): string {
	return createHash('sha256')
		.update(
			JSON.stringify([
				c.endpoints.authorityHost,
				c.tenantId,
				c.clientId,
				c.authentication,
				c.clientSecret ?? '',
				c.privateKey ?? '',
				c.certificate ?? '',
			]),
		)
		.digest('hex');
}

function createApplication(c: DefenderCredentials): SignIn {
	const authorityUrl = new URL(c.endpoints.authorityHost);
	const auth: ConstructorParameters<typeof ConfidentialClientApplication>[0]['auth'] = {
		clientId: c.clientId,
		authority: `${c.endpoints.authorityHost}/${c.tenantId}`,
		// Trusting the configured host skips MSAL's instance discovery call to the public cloud.
		knownAuthorities: [authorityUrl.host],
	};
	if (c.authentication === 'certificate') {
		const certificate = new X509Certificate(c.certificate as string);
		auth.clientCertificate = {
			thumbprintSha256: certificate.fingerprint256.replace(/:/g, ''),
			privateKey: c.privateKey as string,
			x5c: c.certificate,
		};
	} else {
		auth.clientSecret = c.clientSecret;
	}
	const network = new SignInNetworkClient();
	const application = new ConfidentialClientApplication({
		auth,
		system: {
			// MSAL logs nothing with PII; the secret and tokens never reach any log.
			loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => {} },
			// The metadata GET and the token POST take the API calls' proxy route, with a timeout (signInNetwork.ts).
			networkClient: network,
		},
	});
	return { application, network };
}

export function scopeFor(c: DefenderCredentials, resource: ApiResource): string {
	return resource === 'graph' ? c.endpoints.graphScope : c.endpoints.apiScope;
}

/** Reads the `roles` claim without verifying the signature: the API verifies; this is only for reporting. */
export function tokenRoles(accessToken: string): string[] {
	const payload = accessToken.split('.')[1];
	if (!payload) return [];
	try {
		const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { roles?: unknown };
		return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
	} catch {
		return [];
	}
}

/** The token's `tid` claim (the tenant's GUID, whatever name the credential used for it), without verifying it. */
export function tokenTenant(accessToken: string): string | undefined {
	const payload = accessToken.split('.')[1];
	if (!payload) return undefined;
	try {
		const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown };
		return typeof claims.tid === 'string' ? claims.tid.toLowerCase() : undefined;
	} catch {
		return undefined;
	}
}

export async function getAccessToken(
	c: DefenderCredentials,
	resource: ApiResource,
	options: { forceRefresh?: boolean } = {},
): Promise<AccessToken> {
	const key = credentialKey(c);
	const flightKey = `${key}:${resource}:${options.forceRefresh ? 'fresh' : 'cached'}`;
	const pending = inFlight.get(flightKey);
	if (pending) return await pending;

	let signIn = applications.get(key);
	if (!signIn) {
		signIn = createApplication(c);
		applications.set(key, signIn);
	}
	const { application, network } = signIn;
	const request = application
		.acquireTokenByClientCredential({ scopes: [scopeFor(c, resource)], skipCache: options.forceRefresh === true })
		.then((result) => {
			if (!result?.accessToken) throw new AuthenticationError('Entra ID returned no access token.', c);
			return {
				accessToken: result.accessToken,
				expiresOn: result.expiresOn,
				roles: tokenRoles(result.accessToken),
			};
		})
		.catch((error: unknown) => {
			if (error instanceof AuthenticationError) throw error;
			// MSAL reports a failed metadata download without its cause; the network client kept it.
			const cause = /endpoints_resolution_error/i.test(collectText(error)) ? network.lastGetFailure : undefined;
			const failure = error instanceof SignInNetworkError ? error : cause instanceof SignInNetworkError ? cause : undefined;
			if (failure) throw new AuthenticationError(failure.errorMessage, c);
			throw translateAuthError(error, c, typeof cause === 'string' ? cause : '');
		})
		.finally(() => inFlight.delete(flightKey));
	inFlight.set(flightKey, request);
	return await request;
}

/** Forget cached applications (tests, and credential changes in long-lived processes). */
export function clearTokenCache(): void {
	applications.clear();
	inFlight.clear();
}

/** A sign-in failure, already translated into one line that tells the user what to fix. */
export class AuthenticationError extends Error {
	constructor(
		message: string,
		credentials: DefenderCredentials,
		readonly aadstsCode?: string,
	) {
		super(redactSecrets(message, credentials));
		this.name = 'AuthenticationError';
	}
}

const AADSTS_HINTS: Record<string, (c: DefenderCredentials) => string> = {
	'90002': (c) =>
		`Tenant "${c.tenantId}" was not found. Check the Tenant ID (Directory ID on the app registration's Overview page) and the environment.`,
	'900023': (c) => `Tenant "${c.tenantId}" is not a valid tenant ID or domain. Check the Tenant ID.`,
	'90013': (c) => `Tenant "${c.tenantId}" is not a valid tenant ID or domain. Check the Tenant ID.`,
	'700016': (c) =>
		`Client ID "${c.clientId}" is not registered in tenant "${c.tenantId}". Check the Application (client) ID, and that the app is registered in this tenant.`,
	'7000215': () =>
		"The client secret is wrong. Paste the secret's Value (not its Secret ID) from the app's Certificates & secrets page.",
	'7000222': () =>
		'The client secret has expired. Create a new secret under Certificates & secrets and update the credential.',
	'700027': () =>
		'The certificate was rejected: upload this certificate to the app registration (Certificates & secrets) and check that the private key belongs to it.',
	'700024': () => 'The certificate assertion was rejected as expired or not yet valid: check the clock of the n8n host.',
	'70011': (c) =>
		`The token scope was rejected. Check the environment (the scope used was ${c.endpoints.apiScope}).`,
	'7000112': (c) => `The application "${c.clientId}" is disabled in tenant "${c.tenantId}".`,
	'50034': (c) => `Tenant "${c.tenantId}" was not found. Check the Tenant ID.`,
};

function collectText(error: unknown): string {
	if (!error || typeof error !== 'object') return String(error);
	const e = error as Record<string, unknown>;
	return ['errorCode', 'errorMessage', 'subError', 'message', 'code']
		.map((k) => (typeof e[k] === 'string' ? (e[k] as string) : ''))
		.join(' ');
}

const NETWORK_CODES = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|CERT_[A-Z_]+|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)\b/;

export function translateAuthError(error: unknown, c: DefenderCredentials, cause = ''): AuthenticationError {
	const text = `${collectText(error)} ${cause}`;
	const aadsts = /AADSTS(\d+)/.exec(text)?.[1];
	if (aadsts) {
		const hint = AADSTS_HINTS[aadsts];
		const detail = /AADSTS\d+:[^\r\n.]*\.?/.exec(text)?.[0] ?? `AADSTS${aadsts}`;
		return new AuthenticationError(hint ? `${hint(c)} (${detail.trim()})` : `Sign-in failed: ${detail}`, c, aadsts);
	}
	const network = NETWORK_CODES.exec(text)?.[1];
	if (network) {
		const host = new URL(c.endpoints.authorityHost).host;
		const why = network.startsWith('CERT') || network.includes('SIGN') ? 'its TLS certificate is not trusted' : network;
		return new AuthenticationError(
			`Cannot reach the sign-in host ${host} (${why}). Check the environment or custom URLs and the n8n host's network and proxy settings.`,
			c,
		);
	}
	if (/endpoints_resolution_error|openid/i.test(text)) {
		return new AuthenticationError(
			`Sign-in metadata for tenant "${c.tenantId}" could not be loaded from ${c.endpoints.authorityHost}. Check the Tenant ID and the environment.`,
			c,
		);
	}
	return new AuthenticationError(`Sign-in failed: ${text.trim().split(/\r?\n/)[0] || 'unknown error'}`, c);
}

/** Last line of defence: whatever an error says, the secret and key never leave this module inside it. */
export function redactSecrets(message: string, c: DefenderCredentials): string {
	let out = message;
	for (const secret of [c.clientSecret, c.privateKey]) {
		// Real secrets are long; redacting short strings would only garble ordinary words.
		if (secret && secret.length >= 8) out = out.split(secret).join('[redacted]');
	}
	return out.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[redacted-token]');
}
