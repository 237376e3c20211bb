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

/** Hosts and token scopes per cloud (reference: MDE gov docs and Graph national-cloud table). */
export const CLOUDS: Record<Exclude<Environment, 'custom'>, CloudEndpoints> = {
	global: {
		authorityHost: 'https://login.microsoftonline.com',
		apiBaseUrl: 'https://api.security.microsoft.com',
		// The WindowsDefenderATP resource: its roles are what the MDE API checks, whatever the host.
		apiScope: 'https://api.securitycenter.microsoft.com/.default',
		graphBaseUrl: 'https://graph.microsoft.com',
		graphScope: 'https://graph.microsoft.com/.default',
	},
	gcc: {
		authorityHost: 'https://login.microsoftonline.com',
		apiBaseUrl: 'https://api-gcc.securitycenter.microsoft.us',
		apiScope: 'https://api-gcc.securitycenter.microsoft.us/.default',
		graphBaseUrl: 'https://graph.microsoft.com',
		graphScope: 'https://graph.microsoft.com/.default',
	},
	gccHigh: {
		authorityHost: 'https://login.microsoftonline.us',
		apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
		apiScope: 'https://api-gov.securitycenter.microsoft.us/.default',
		graphBaseUrl: 'https://graph.microsoft.us',
		graphScope: 'https://graph.microsoft.us/.default',
	},
	dod: {
		authorityHost: 'https://login.microsoftonline.us',
		apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
		apiScope: 'https://api-gov.securitycenter.microsoft.us/.default',
		graphBaseUrl: 'https://dod-graph.microsoft.us',
		graphScope: 'https://graph.microsoft.us/.default',
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
