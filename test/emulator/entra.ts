/**
 * Microsoft Entra ID (v2.0 endpoints): tenants, app registrations, OIDC discovery, the
 * client-credentials token endpoint (secret or certificate assertion) and access-token checks
 * for the API routes. Errors follow AAD's shape and AADSTS codes.
 */
import * as crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, aadError } from './errors';
import { base64url, decodeJwt, signJwt, verifyJwtSignature } from './jwt';
import type { AuthInfo, Router } from './router';
import { certificateThumbprints } from './tls';
import { hash32, Rng } from './data';

export const MDE_ROLES = [
	'Alert.ReadWrite.All',
	'Machine.Read.All',
	'Machine.ReadWrite.All',
	'Machine.Isolate',
	'Machine.Scan',
	'Machine.RestrictExecution',
	'Machine.CollectForensics',
	'Machine.StopAndQuarantine',
	'Machine.Offboard',
	'Machine.LiveResponse',
	'Library.Manage',
	'Ti.ReadWrite.All',
	'AdvancedQuery.Read.All',
	'File.Read.All',
	'Ip.Read.All',
	'URL.Read.All',
	'User.Read.All',
	'Vulnerability.Read.All',
	'Software.Read.All',
	'SecurityRecommendation.Read.All',
] as const;
export const GRAPH_ROLES = ['SecurityAlert.ReadWrite.All', 'SecurityIncident.ReadWrite.All', 'ThreatHunting.Read.All'] as const;

/** Role names that belong to Microsoft Graph; every other role is a WindowsDefenderATP role. */
const GRAPH_ROLE_NAMES = new Set([
	'SecurityAlert.Read.All',
	'SecurityAlert.ReadWrite.All',
	'SecurityIncident.Read.All',
	'SecurityIncident.ReadWrite.All',
	'ThreatHunting.Read.All',
	'SecurityEvents.Read.All',
	'SecurityEvents.ReadWrite.All',
]);

export type ResourceKind = 'mde' | 'graph';

/** Resources (scope without `/.default`) this Entra ID issues tokens for. */
const RESOURCES: Record<string, ResourceKind> = {
	'https://api.securitycenter.microsoft.com': 'mde',
	'https://api.security.microsoft.com': 'mde',
	'https://securitycenter.onmicrosoft.com/windowsatpservice': 'mde',
	'https://api-gcc.securitycenter.microsoft.us': 'mde',
	'https://api-gov.securitycenter.microsoft.us': 'mde',
	'https://api.securitycenter.microsoft.us': 'mde',
	'https://graph.microsoft.com': 'graph',
	'https://graph.microsoft.us': 'graph',
	'https://dod-graph.microsoft.us': 'graph',
};

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Clock skew AAD tolerates on assertion lifetimes. */
const SKEW_SECONDS = 300;

export const DEFAULT_TENANT_ID = '4d6c1a52-7f3e-4b8a-9c21-5e0f8a3b6d19';
export const DEFAULT_CLIENT_ID = '9b1f0e6a-3c2d-4e5f-8a7b-6c5d4e3f2a10';
export const DEFAULT_TENANT_DOMAINS = ['contoso.onmicrosoft.com', 'contoso.com'];

interface RegisteredCertificate {
	sha1: string;
	sha256: string;
	publicKey: crypto.KeyObject;
}

export interface ClientRegistration {
	clientId: string;
	clientSecret: string;
	secretExpired: boolean;
	certificates: RegisteredCertificate[];
	roles: string[];
	displayName: string;
	/** Object id of the service principal (token `oid`/`sub`). */
	objectId: string;
}

export interface AddClientOptions {
	clientId?: string;
	clientSecret?: string;
	/** PEM certificate registered for client-assertion authentication. */
	certificatePem?: string;
	/** Application roles (MDE and Graph names mixed); default: all roles. `[]` = admin consent missing. */
	roles?: string[];
	secretExpired?: boolean;
	displayName?: string;
}

export interface ClientCredentials {
	clientId: string;
	clientSecret: string;
}

export class Directory {
	readonly defaultTenantId: string;
	private readonly tenants = new Set<string>();
	private readonly aliases = new Map<string, string>();
	private readonly clients = new Map<string, ClientRegistration>();
	private readonly signingKey: crypto.KeyObject;
	readonly publicKey: crypto.KeyObject;
	readonly keyId: string;
	private readonly verified = new Map<string, AuthInfo & { exp: number }>();

	constructor(
		tenantId: string,
		private readonly tokenLifetimeSeconds: number,
	) {
		this.defaultTenantId = tenantId.toLowerCase();
		this.tenants.add(this.defaultTenantId);
		for (const domain of DEFAULT_TENANT_DOMAINS) this.aliases.set(domain, this.defaultTenantId);
		const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
		this.signingKey = privateKey;
		this.publicKey = publicKey;
		this.keyId = base64url(crypto.createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest());
	}

	/** Registers a tenant id (GUID) or a verified domain name (alias of the default tenant). */
	addTenant(idOrDomain: string): string {
		const value = idOrDomain.toLowerCase();
		if (GUID_RE.test(value)) {
			this.tenants.add(value);
			return value;
		}
		this.aliases.set(value, this.defaultTenantId);
		return this.defaultTenantId;
	}

	/** Tenant GUID for a path segment (GUID or alias), or null when unknown. */
	resolveTenant(segment: string): string | null {
		const value = segment.toLowerCase();
		if (this.tenants.has(value)) return value;
		return this.aliases.get(value) ?? null;
	}

	addClient(options: AddClientOptions = {}): ClientCredentials {
		const clientId = (options.clientId ?? crypto.randomUUID()).toLowerCase();
		const clientSecret = options.clientSecret ?? `emu~${crypto.randomBytes(24).toString('base64url')}`;
		const certificates: RegisteredCertificate[] = [];
		if (options.certificatePem) {
			const { sha1, sha256 } = certificateThumbprints(options.certificatePem);
			certificates.push({ sha1, sha256, publicKey: new crypto.X509Certificate(options.certificatePem).publicKey });
		}
		const rng = new Rng(hash32(clientId));
		this.clients.set(clientId, {
			clientId,
			clientSecret,
			secretExpired: options.secretExpired ?? false,
			certificates,
			roles: options.roles ? options.roles.slice() : [...MDE_ROLES, ...GRAPH_ROLES],
			displayName: options.displayName ?? `n8n MDE app ${clientId.slice(0, 8)}`,
			objectId: rng.guid(),
		});
		return { clientId, clientSecret };
	}

	getClient(clientId: string): ClientRegistration | undefined {
		return this.clients.get(clientId.toLowerCase());
	}

	/** Issues a v1-style app-only access token for a resource, signed with the emulator key. */
	issueToken(client: ClientRegistration, tenantId: string, resource: string, viaCertificate: boolean): string {
		const kind = RESOURCES[resource];
		const nowSec = Math.floor(Date.now() / 1000);
		const roles = client.roles.filter((r) => (kind === 'graph') === GRAPH_ROLE_NAMES.has(r));
		const payload: Record<string, unknown> = {
			aud: resource,
			iss: `https://sts.windows.net/${tenantId}/`,
			iat: nowSec,
			nbf: nowSec,
			exp: nowSec + this.tokenLifetimeSeconds,
			aio: crypto.randomBytes(24).toString('base64'),
			app_displayname: client.displayName,
			appid: client.clientId,
			appidacr: viaCertificate ? '2' : '1',
			idp: `https://sts.windows.net/${tenantId}/`,
			idtyp: 'app',
			oid: client.objectId,
			rh: '0.' + crypto.randomBytes(16).toString('base64url'),
			sub: client.objectId,
			tid: tenantId,
			uti: crypto.randomBytes(16).toString('base64url'),
			ver: '1.0',
		};
		// No roles claim at all when nothing is consented: that is how missing admin consent looks.
		if (roles.length > 0) payload.roles = roles;
		return signJwt(payload, this.signingKey, { kid: this.keyId, x5t: this.keyId });
	}

	/**
	 * Verifies a bearer token for an API family: signature, expiry (real time), tenant and audience.
	 * Throws 401 in the family's error shape.
	 */
	authenticate(authorization: string | undefined, kind: ResourceKind): AuthInfo {
		const graph = kind === 'graph';
		const deny = (mdeMessage: string, graphMessage: string): never => {
			throw new ApiError(401, graph ? 'InvalidAuthenticationToken' : 'Unauthorized', graph ? graphMessage : mdeMessage, {
				'WWW-Authenticate': 'Bearer realm="", error="invalid_token"',
			});
		};
		const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
		if (!match) return deny('Authorization has been denied for this request.', 'Access token is empty.');
		const token = match[1];
		const nowSec = Date.now() / 1000;
		let info = this.verified.get(token);
		if (!info) {
			const jwt = decodeJwt(token);
			if (!jwt || jwt.header.kid !== this.keyId || !verifyJwtSignature(jwt, this.publicKey)) {
				return deny('The token signature is invalid.', 'IDX14100: JWT is not well formed or its signature is invalid.');
			}
			const p = jwt.payload;
			const tenantId = String(p.tid ?? '');
			const client = this.getClient(String(p.appid ?? ''));
			if (!this.tenants.has(tenantId) || !client) {
				return deny('The token was issued for an unknown tenant or application.', 'Access token validation failure. Invalid issuer.');
			}
			info = {
				clientId: client.clientId,
				tenantId,
				roles: Array.isArray(p.roles) ? p.roles.map(String) : [],
				appName: client.displayName,
				audience: String(p.aud ?? ''),
				exp: Number(p.exp ?? 0),
			};
			if (this.verified.size > 1000) this.verified.clear();
			this.verified.set(token, info);
		}
		if (info.exp <= nowSec) return deny('The token is expired.', 'Lifetime validation failed, the token is expired.');
		if (RESOURCES[info.audience] !== kind) {
			return deny('The token audience is invalid for this resource.', 'Access token validation failure. Invalid audience.');
		}
		const { exp: _exp, ...auth } = info;
		return auth;
	}

	/** The 401 an API answers for a token that has (as far as it is concerned) expired. */
	expiredTokenError(kind: ResourceKind): ApiError {
		return new ApiError(
			401,
			kind === 'graph' ? 'InvalidAuthenticationToken' : 'Unauthorized',
			kind === 'graph' ? 'Lifetime validation failed, the token is expired.' : 'The token is expired.',
			{ 'WWW-Authenticate': 'Bearer realm="", error="invalid_token", error_description="The access token expired"' },
		);
	}

	// -----------------------------------------------------------------------------------------
	// Token endpoint

	/** Handles a client-credentials token request (v2 `scope` or v1 `resource`). */
	token(tenantSegment: string, form: Record<string, string>, origin: string): Record<string, unknown> {
		const tenantId = this.resolveTenant(tenantSegment);
		if (!tenantId) throw tenantNotFound(tenantSegment, 'invalid_request');
		const required = (name: string): string => {
			const value = form[name];
			if (!value) {
				throw aadError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
			}
			return value;
		};
		const grantType = required('grant_type');
		if (grantType !== 'client_credentials') {
			throw aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
		}
		const clientId = required('client_id');
		const client = this.getClient(clientId);
		if (!client) {
			throw aadError(
				400,
				'unauthorized_client',
				700016,
				`Application with identifier '${clientId}' was not found in the directory '${tenantSegment}'. This can happen if the ` +
					'application has not been installed by the administrator of the tenant or consented to by any user in the tenant. ' +
					'You may have sent your authentication request to the wrong tenant.',
			);
		}
		const viaCertificate = this.checkCredential(client, tenantId, form, origin);
		const resource = this.resourceOf(form);
		return {
			token_type: 'Bearer',
			expires_in: this.tokenLifetimeSeconds,
			ext_expires_in: this.tokenLifetimeSeconds,
			access_token: this.issueToken(client, tenantId, resource, viaCertificate),
		};
	}

	/** Returns true when the client authenticated with a certificate assertion. */
	private checkCredential(
		client: ClientRegistration,
		tenantId: string,
		form: Record<string, string>,
		origin: string,
	): boolean {
		if (form.client_secret !== undefined) {
			if (form.client_secret !== client.clientSecret) {
				throw aadError(
					401,
					'invalid_client',
					7000215,
					'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the ' +
						`client secret ID, for a secret added to app '${client.clientId}'.`,
				);
			}
			if (client.secretExpired) {
				throw aadError(
					401,
					'invalid_client',
					7000222,
					`The provided client secret keys for app '${client.clientId}' are expired. Visit the Azure portal to create new keys ` +
						'for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: ' +
						'https://aka.ms/certCreds.',
				);
			}
			return false;
		}
		if (form.client_assertion !== undefined) {
			this.checkAssertion(client, tenantId, form, origin);
			return true;
		}
		throw aadError(
			401,
			'invalid_client',
			7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
		);
	}

	private checkAssertion(
		client: ClientRegistration,
		tenantId: string,
		form: Record<string, string>,
		origin: string,
	): void {
		const invalid = (reason: string): never => {
			throw aadError(401, 'invalid_client', 700027, `Client assertion failed signature validation. [Reason - ${reason}]`);
		};
		if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE) {
			throw aadError(400, 'invalid_request', 70002, `The client_assertion_type '${form.client_assertion_type ?? ''}' is not supported.`);
		}
		const jwt = decodeJwt(form.client_assertion);
		if (!jwt) return invalid('The client assertion is not a well-formed JWT.');
		const thumbprint = (value: unknown): string | null =>
			typeof value === 'string' ? Buffer.from(value, 'base64url').toString('hex').toLowerCase() : null;
		const sha1 = thumbprint(jwt.header.x5t);
		const sha256 = thumbprint(jwt.header['x5t#S256']);
		const certificate = client.certificates.find((c) => c.sha1 === sha1 || c.sha256 === sha256);
		if (!certificate) {
			return invalid(
				`The key was not found., Thumbprint of key used by client: '${(sha1 ?? sha256 ?? '').toUpperCase()}', ` +
					`Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${client.clientId}'.`,
			);
		}
		if (!verifyJwtSignature(jwt, certificate.publicKey)) return invalid('The signature of the client assertion is invalid.');
		const p = jwt.payload;
		if (p.iss !== client.clientId || p.sub !== client.clientId) {
			throw aadError(401, 'invalid_client', 700021, "Client assertion application identifier doesn't match 'client_id' parameter.");
		}
		if (!this.isTokenEndpointOf(p.aud, tenantId, origin)) {
			return invalid(`The audience '${String(p.aud)}' of the client assertion is not valid for this token endpoint.`);
		}
		const nowSec = Date.now() / 1000;
		const exp = Number(p.exp);
		const nbf = p.nbf === undefined ? 0 : Number(p.nbf);
		if (!Number.isFinite(exp) || exp + SKEW_SECONDS < nowSec || nbf - SKEW_SECONDS > nowSec) {
			throw aadError(
				401,
				'invalid_client',
				700024,
				`Client assertion is not within its valid time range. Current time: ${new Date().toISOString()}, expiry time of assertion ${new Date(exp * 1000).toISOString()}.`,
			);
		}
	}

	/** The assertion audience must be this server's token endpoint (v1 or v2) for the tenant or an alias of it. */
	private isTokenEndpointOf(aud: unknown, tenantId: string, origin: string): boolean {
		if (typeof aud !== 'string' || !aud.toLowerCase().startsWith(origin.toLowerCase() + '/')) return false;
		const m = /^\/([^/]+)\/oauth2\/(?:v2\.0\/)?token\/?$/i.exec(aud.slice(origin.length));
		return m !== null && this.resolveTenant(m[1]) === tenantId;
	}

	/** The resource of a v2 `scope` (must end in `/.default`) or a v1 `resource` parameter. */
	private resourceOf(form: Record<string, string>): string {
		if (form.scope === undefined && form.resource !== undefined) {
			const resource = form.resource.replace(/\/$/, '');
			if (!(resource in RESOURCES)) {
				throw aadError(400, 'invalid_resource', 500011, `The resource principal named ${form.resource} was not found in the tenant.`);
			}
			return resource;
		}
		if (!form.scope) {
			throw aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
		}
		// MSAL may add OIDC scopes; they are ignored for client credentials.
		const scopes = form.scope.split(/\s+/).filter((s) => s && !['openid', 'profile', 'offline_access', 'email'].includes(s));
		const invalid = (): never => {
			throw aadError(
				400,
				'invalid_scope',
				70011,
				`The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${form.scope} is not valid.`,
			);
		};
		if (scopes.length !== 1) return invalid();
		const scope = scopes[0];
		if (!scope.endsWith('/.default')) {
			const resource = scope.replace(/\/[^/]*$/, '');
			if (resource in RESOURCES) {
				throw aadError(
					400,
					'invalid_scope',
					1002012,
					`The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
				);
			}
			return invalid();
		}
		const resource = scope.slice(0, -'/.default'.length);
		if (!(resource in RESOURCES)) return invalid();
		return resource;
	}
}

function tenantNotFound(tenant: string, error: string): ApiError {
	return aadError(
		400,
		error,
		90002,
		`Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. ` +
			'Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.',
	);
}

/** OIDC discovery document, like login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration. */
function openIdConfiguration(origin: string, tenantId: string): Record<string, unknown> {
	const base = `${origin}/${tenantId}`;
	return {
		token_endpoint: `${base}/oauth2/v2.0/token`,
		token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
		jwks_uri: `${origin}/${tenantId}/discovery/v2.0/keys`,
		response_modes_supported: ['query', 'fragment', 'form_post'],
		subject_types_supported: ['pairwise'],
		id_token_signing_alg_values_supported: ['RS256'],
		response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
		scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
		issuer: `${base}/v2.0`,
		request_uri_parameter_supported: false,
		userinfo_endpoint: `${origin}/oidc/userinfo`,
		authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
		device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
		http_logout_supported: true,
		frontchannel_logout_supported: true,
		end_session_endpoint: `${base}/oauth2/v2.0/logout`,
		claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
		kerberos_endpoint: `${base}/kerberos`,
		tenant_region_scope: 'EU',
		cloud_instance_name: 'microsoftonline.com',
		cloud_graph_host_name: 'graph.windows.net',
		msgraph_host: 'graph.microsoft.com',
		rbac_url: 'https://pas.windows.net',
	};
}

/**
 * `origin(headers)`: the emulator's own URL as the client named it: its metadata and the token audience use it,
 * as Entra ID names its own host (see EmulatorOptions.dnsNames).
 */
export function registerEntraRoutes(router: Router, directory: Directory, origin: (headers: IncomingHttpHeaders) => string): void {
	router.add({
		method: 'GET',
		pattern: '/:tenant/v2.0/.well-known/openid-configuration',
		family: 'aad',
		handler: ({ params, headers }) => {
			const tenantId = directory.resolveTenant(params.tenant);
			if (!tenantId) throw tenantNotFound(params.tenant, 'invalid_tenant');
			return { status: 200, json: openIdConfiguration(origin(headers), tenantId) };
		},
	});
	router.add({
		method: 'GET',
		pattern: '/:tenant/discovery/v2.0/keys',
		family: 'aad',
		handler: ({ params }) => {
			if (!directory.resolveTenant(params.tenant)) throw tenantNotFound(params.tenant, 'invalid_tenant');
			const jwk = directory.publicKey.export({ format: 'jwk' });
			return { status: 200, json: { keys: [{ kty: 'RSA', use: 'sig', kid: directory.keyId, x5t: directory.keyId, n: jwk.n, e: jwk.e }] } };
		},
	});
	for (const pattern of ['/:tenant/oauth2/v2.0/token', '/:tenant/oauth2/token']) {
		router.add({
			method: 'POST',
			pattern,
			family: 'aad',
			handler: ({ params, body, headers }) => {
				const form = body && typeof body === 'object' ? (body as Record<string, string>) : {};
				return { status: 200, json: directory.token(params.tenant, form, origin(headers)) };
			},
		});
	}
}
