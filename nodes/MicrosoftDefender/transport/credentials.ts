import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

/** The credential as the transport uses it: validated, with the cloud resolved to hosts and scopes. */
export interface DefenderCredentials {
	environment: Environment;
	tenantId: string;
	clientId: string;
	authentication: 'clientSecret' | 'certificate';
	clientSecret?: string;
	privateKey?: string;
	certificate?: string;
	endpoints: CloudEndpoints;
}

export type Environment = 'global' | 'gcc' | 'gccHigh' | 'dod' | 'custom';

export interface CloudEndpoints {
	authorityHost: string;
	apiBaseUrl: string;
	apiScope: string;
	graphBaseUrl: string;
	graphScope: string;
}

/**
 * Hosts and token scopes per cloud, as Microsoft documents them. A token scope is `<resource app ID URI>/.default`.
 * Sources (quoted where a row relies on them):
 * [MDE-API]  https://learn.microsoft.com/defender-endpoint/api/exposed-apis-list
 *            "The service base URI is: https://api.security.microsoft.com"
 * [MDE-APP]  https://learn.microsoft.com/defender-endpoint/api/exposed-apis-create-app-webapp
 *            "$sourceAppIdUri = 'https://api.securitycenter.microsoft.com/.default'" and, in the C# sample,
 *            audience = "https://api.securitycenter.microsoft.com", scopes = { $"{audience}/.default" }
 * [MDE-GOV]  https://learn.microsoft.com/defender-endpoint/gov#api
 *            "Instead of the public URIs listed in our API documentation, you need to use the following URIs:"
 *            Sign in: GCC https://login.microsoftonline.com, GCC High & DoD https://login.microsoftonline.us;
 *            Defender for Endpoint API: GCC https://api-gcc.securitycenter.microsoft.us,
 *            GCC High & DoD https://api-gov.securitycenter.microsoft.us
 *            The page names no token scope. The public docs use the API's URI as the token audience
 *            ([MDE-APP]), and this page replaces the public URIs with these, so the scope kept here is the
 *            government API URI + /.default (what US Government integrations use; not stated word for word).
 * [GRAPH]    https://learn.microsoft.com/graph/deployments
 *            Token service: "Azure global service | https://login.microsoftonline.com",
 *            "Azure US Government | https://login.microsoftonline.us"; service root endpoints:
 *            "Microsoft Graph global service | https://graph.microsoft.com",
 *            "Microsoft Graph for US Government L4 | https://graph.microsoft.us",
 *            "Microsoft Graph for US Government L5 (DOD) | https://dod-graph.microsoft.us";
 *            "If you're working in a Microsoft 365 GCC environment, continue using the worldwide endpoints:
 *            https://portal.azure.com and https://graph.microsoft.com." / "... GCC High environment, use
 *            https://portal.azure.us and https://graph.microsoft.us." / "... DoD environment, use
 *            https://portal.azure.us and https://dod-graph.microsoft.us."
 * [GRAPH-SCOPE] https://learn.microsoft.com/graph/sdks/national-clouds
 *            "Any permission scope value (including the .default scope) that contains the Microsoft Graph domain
 *            MUST use the domain of the Microsoft Graph service root endpoint for the national cloud deployment."
 *            (its L4 example: "https://graph.microsoft.us/.default is the correct .default scope value")
 */
export const CLOUDS: Record<Exclude<Environment, 'custom'>, CloudEndpoints> = {
	global: {
		authorityHost: 'https://login.microsoftonline.com', // [GRAPH] Azure global service
		apiBaseUrl: 'https://api.security.microsoft.com', // [MDE-API]
		// [MDE-APP]: the WindowsDefenderATP resource's app ID URI; its roles are what the MDE API checks, whatever
		// the host (api.security.microsoft.com or a regional one).
		apiScope: 'https://api.securitycenter.microsoft.com/.default',
		graphBaseUrl: 'https://graph.microsoft.com', // [GRAPH] global service
		graphScope: 'https://graph.microsoft.com/.default', // [GRAPH-SCOPE]
	},
	gcc: {
		authorityHost: 'https://login.microsoftonline.com', // [MDE-GOV] Sign in, GCC
		apiBaseUrl: 'https://api-gcc.securitycenter.microsoft.us', // [MDE-GOV] Defender for Endpoint API, GCC
		apiScope: 'https://api-gcc.securitycenter.microsoft.us/.default', // [MDE-GOV] + [MDE-APP], see above
		graphBaseUrl: 'https://graph.microsoft.com', // [GRAPH] "Microsoft 365 GCC ... continue using the worldwide endpoints"
		graphScope: 'https://graph.microsoft.com/.default', // [GRAPH-SCOPE]
	},
	gccHigh: {
		authorityHost: 'https://login.microsoftonline.us', // [MDE-GOV] Sign in, GCC High; [GRAPH] Azure US Government
		apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us', // [MDE-GOV] Defender for Endpoint API, GCC High
		apiScope: 'https://api-gov.securitycenter.microsoft.us/.default', // [MDE-GOV] + [MDE-APP], see above
		graphBaseUrl: 'https://graph.microsoft.us', // [GRAPH] US Government L4, "GCC High environment"
		graphScope: 'https://graph.microsoft.us/.default', // [GRAPH-SCOPE] L4 example, word for word
	},
	dod: {
		authorityHost: 'https://login.microsoftonline.us', // [MDE-GOV] Sign in, DoD; [GRAPH] Azure US Government
		apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us', // [MDE-GOV] Defender for Endpoint API, DoD
		apiScope: 'https://api-gov.securitycenter.microsoft.us/.default', // [MDE-GOV] + [MDE-APP], see above
		graphBaseUrl: 'https://dod-graph.microsoft.us', // [GRAPH] US Government L5 (DOD), "DoD environment"
		// [GRAPH-SCOPE]: the scope takes the domain of the cloud's Graph root endpoint, dod-graph.microsoft.us
		// (was https://graph.microsoft.us/.default, the L4 scope).
		graphScope: 'https://dod-graph.microsoft.us/.default',
	},
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** A credential problem the user fixes in the credential form; the message names the field. */
export class CredentialConfigError extends Error {}

function text(raw: ICredentialDataDecryptedObject, key: string): string {
	const value = raw[key];
	return typeof value === 'string' ? value.trim() : '';
}

function httpsUrl(value: string, field: string): string {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new CredentialConfigError(`${field} "${value}" is not a URL. Use a full https:// URL.`);
	}
	if (url.protocol !== 'https:') {
		throw new CredentialConfigError(`${field} must use https:// (got ${url.protocol}//${url.host}).`);
	}
	return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function parseCredentials(raw: ICredentialDataDecryptedObject): DefenderCredentials {
	const environment = (text(raw, 'environment') || 'global') as Environment;
	let endpoints: CloudEndpoints;
	if (environment === 'custom') {
		endpoints = {
			authorityHost: httpsUrl(text(raw, 'authorityHost'), 'Authority Host'),
			apiBaseUrl: httpsUrl(text(raw, 'apiBaseUrl'), 'Defender API Base URL'),
			apiScope: text(raw, 'apiScope') || CLOUDS.global.apiScope,
			graphBaseUrl: httpsUrl(text(raw, 'graphBaseUrl') || CLOUDS.global.graphBaseUrl, 'Graph Base URL'),
			graphScope: text(raw, 'graphScope') || CLOUDS.global.graphScope,
		};
	} else if (environment in CLOUDS) {
		endpoints = CLOUDS[environment];
	} else {
		throw new CredentialConfigError(
			`Environment "${environment}" is unknown. Choose Global, GCC, GCC High, DoD or Custom Endpoints.`,
		);
	}

	const tenantId = text(raw, 'tenantId');
	if (!GUID.test(tenantId) && !DOMAIN.test(tenantId)) {
		throw new CredentialConfigError(
			`Tenant ID "${tenantId}" is neither a GUID nor a domain. Copy the Directory (tenant) ID from the app registration's Overview page, or use a verified domain such as contoso.onmicrosoft.com.`,
		);
	}
	const clientId = text(raw, 'clientId');
	if (!GUID.test(clientId)) {
		throw new CredentialConfigError(
			`Client ID "${clientId}" is not a GUID. Copy the Application (client) ID from the app registration's Overview page.`,
		);
	}

	const authentication = text(raw, 'authentication') === 'certificate' ? 'certificate' : 'clientSecret';
	const credentials: DefenderCredentials = { environment, tenantId, clientId, authentication, endpoints };
	if (authentication === 'clientSecret') {
		// Secrets are used verbatim: only surrounding whitespace from copy-paste is removed.
		credentials.clientSecret = text(raw, 'clientSecret');
		if (!credentials.clientSecret) {
			throw new CredentialConfigError('Client Secret is empty. Paste the secret Value from Certificates & secrets.');
		}
	} else {
		credentials.privateKey = text(raw, 'privateKey');
		credentials.certificate = text(raw, 'certificate');
		if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(credentials.privateKey)) {
			throw new CredentialConfigError('Private Key must be a PEM private key (-----BEGIN PRIVATE KEY-----).');
		}
		if (!/-----BEGIN CERTIFICATE-----/.test(credentials.certificate)) {
			throw new CredentialConfigError('Certificate must be a PEM certificate (-----BEGIN CERTIFICATE-----).');
		}
	}
	return credentials;
}
