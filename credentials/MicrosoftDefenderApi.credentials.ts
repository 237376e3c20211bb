import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * Entra ID app registration (client credentials) for the Defender for Endpoint API and Microsoft Graph.
 * Tokens are obtained with MSAL in nodes/MicrosoftDefender/transport/auth.ts; the credential is tested by the
 * nodes' `credentialTest` method, which reports the roles the token carries.
 * Field names are a contract: saved workflows and the tests depend on them.
 */
export class MicrosoftDefenderApi implements ICredentialType {
	name = 'microsoftDefenderApi';

	displayName = 'Microsoft Defender for Endpoint API';

	icon: Icon = 'file:microsoftDefender.svg';

	documentationUrl =
		'https://learn.microsoft.com/en-us/defender-endpoint/api/exposed-apis-create-app-webapp';

	properties: INodeProperties[] = [
		{
			displayName: 'Environment',
			name: 'environment',
			type: 'options',
			default: 'global',
			options: [
				{ name: 'Global (Commercial)', value: 'global' },
				{ name: 'US Government GCC', value: 'gcc' },
				{ name: 'US Government GCC High', value: 'gccHigh' },
				{ name: 'US Government DoD', value: 'dod' },
				{
					name: 'Custom Endpoints',
					value: 'custom',
					description: 'Regional API host (us., eu., uk., au.), a proxy, or a test emulator',
				},
			],
		},
		{
			displayName: 'Authority Host',
			name: 'authorityHost',
			type: 'string',
			default: 'https://login.microsoftonline.com',
			placeholder: 'https://login.microsoftonline.com',
			description: 'HTTPS URL of the Entra ID sign-in host (without the tenant)',
			displayOptions: { show: { environment: ['custom'] } },
		},
		{
			displayName: 'Defender API Base URL',
			name: 'apiBaseUrl',
			type: 'string',
			default: 'https://api.security.microsoft.com',
			placeholder: 'https://eu.api.security.microsoft.com',
			description: 'HTTPS URL of the Defender for Endpoint API; paths such as /api/alerts are appended to it',
			displayOptions: { show: { environment: ['custom'] } },
		},
		{
			displayName: 'Defender API Scope',
			name: 'apiScope',
			type: 'string',
			default: 'https://api.securitycenter.microsoft.com/.default',
			description:
				'Token scope of the WindowsDefenderATP resource. Keep the default for regional hosts of the global cloud.',
			displayOptions: { show: { environment: ['custom'] } },
		},
		{
			displayName: 'Graph Base URL',
			name: 'graphBaseUrl',
			type: 'string',
			default: 'https://graph.microsoft.com',
			placeholder: 'https://graph.microsoft.com',
			description: 'HTTPS URL of Microsoft Graph; paths such as /v1.0/security/alerts_v2 are appended to it',
			displayOptions: { show: { environment: ['custom'] } },
		},
		{
			displayName: 'Graph Scope',
			name: 'graphScope',
			type: 'string',
			default: 'https://graph.microsoft.com/.default',
			displayOptions: { show: { environment: ['custom'] } },
		},
		{
			displayName: 'Tenant ID',
			name: 'tenantId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '00000000-0000-0000-0000-000000000000',
			description:
				'Directory (tenant) ID from the app registration Overview page, or a verified domain such as contoso.onmicrosoft.com',
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '00000000-0000-0000-0000-000000000000',
			description: 'Application (client) ID from the app registration Overview page',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			default: 'clientSecret',
			options: [
				{ name: 'Client Secret', value: 'clientSecret' },
				{ name: 'Certificate', value: 'certificate' },
			],
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: "The secret's Value (not its Secret ID) from Certificates & secrets",
			displayOptions: { show: { authentication: ['clientSecret'] } },
		},
		{
			displayName: 'Private Key (PEM)',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 4 },
			default: '',
			placeholder: '-----BEGIN PRIVATE KEY-----',
			description: 'PEM private key of the certificate uploaded to the app registration',
			displayOptions: { show: { authentication: ['certificate'] } },
		},
		{
			displayName: 'Certificate (PEM)',
			name: 'certificate',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description: 'PEM certificate uploaded to the app registration; its thumbprint is computed from it',
			displayOptions: { show: { authentication: ['certificate'] } },
		},
	];
}
