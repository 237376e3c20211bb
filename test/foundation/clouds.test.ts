/**
 * The national clouds: every row of CLOUDS pinned to the values Microsoft documents (sources and the sentences relied
 * on are in the comment above CLOUDS in nodes/MicrosoftDefender/transport/credentials.ts), what a credential of each
 * environment resolves to, the scope each token request asks for, and the README's cloud table.
 */
import { readFileSync } from 'fs';
import { join } from 'path';

import { scopeFor } from '../../nodes/MicrosoftDefender/transport/auth';
import { CLOUDS, parseCredentials, type CloudEndpoints } from '../../nodes/MicrosoftDefender/transport/credentials';

const documented: Record<keyof typeof CLOUDS, CloudEndpoints> = {
	// learn.microsoft.com/graph/deployments (token service and Graph root, global service);
	// defender-endpoint/api/exposed-apis-list (base URI); exposed-apis-create-app-webapp ($sourceAppIdUri).
	global: {
		authorityHost: 'https://login.microsoftonline.com',
		apiBaseUrl: 'https://api.security.microsoft.com',
		apiScope: 'https://api.securitycenter.microsoft.com/.default',
		graphBaseUrl: 'https://graph.microsoft.com',
		graphScope: 'https://graph.microsoft.com/.default',
	},
	// defender-endpoint/gov#api (GCC column); graph/deployments: "Microsoft 365 GCC environment, continue using the
	// worldwide endpoints".
	gcc: {
		authorityHost: 'https://login.microsoftonline.com',
		apiBaseUrl: 'https://api-gcc.securitycenter.microsoft.us',
		apiScope: 'https://api-gcc.securitycenter.microsoft.us/.default',
		graphBaseUrl: 'https://graph.microsoft.com',
		graphScope: 'https://graph.microsoft.com/.default',
	},
	// defender-endpoint/gov#api ("GCC High & DoD" column); graph/deployments: US Government L4;
	// graph/sdks/national-clouds: "https://graph.microsoft.us/.default is the correct .default scope value".
	gccHigh: {
		authorityHost: 'https://login.microsoftonline.us',
		apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
		apiScope: 'https://api-gov.securitycenter.microsoft.us/.default',
		graphBaseUrl: 'https://graph.microsoft.us',
		graphScope: 'https://graph.microsoft.us/.default',
	},
	// defender-endpoint/gov#api ("GCC High & DoD" column); graph/deployments: US Government L5 (DOD);
	// graph/sdks/national-clouds: a .default scope "MUST use the domain of the Microsoft Graph service root endpoint".
	dod: {
		authorityHost: 'https://login.microsoftonline.us',
		apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
		apiScope: 'https://api-gov.securitycenter.microsoft.us/.default',
		graphBaseUrl: 'https://dod-graph.microsoft.us',
		graphScope: 'https://dod-graph.microsoft.us/.default',
	},
};

const environments = Object.keys(documented) as Array<keyof typeof CLOUDS>;

const credential = (environment: string) => ({
	environment,
	tenantId: '11111111-2222-3333-4444-555555555555',
	clientId: '66666666-7777-8888-9999-000000000000',
	authentication: 'clientSecret',
	clientSecret: 'not-a-real-secret',
	// Custom-endpoint fields left over from an earlier choice must not leak into a named cloud.
	authorityHost: 'https://emulator.invalid',
	apiBaseUrl: 'https://emulator.invalid',
	graphBaseUrl: 'https://emulator.invalid',
	apiScope: 'https://emulator.invalid/.default',
	graphScope: 'https://emulator.invalid/.default',
});

describe('national clouds', () => {
	it('has exactly the documented clouds', () => {
		expect(Object.keys(CLOUDS).sort()).toEqual([...environments].sort());
	});

	it.each(environments)('%s: authority host, API base and scope, Graph base and scope are the documented ones', (environment) => {
		expect(CLOUDS[environment]).toStrictEqual(documented[environment]);
	});

	it.each(environments)('%s: a credential resolves to that row and asks for its scopes', (environment) => {
		const parsed = parseCredentials(credential(environment));
		expect(parsed.endpoints).toStrictEqual(documented[environment]);
		expect(scopeFor(parsed, 'mde')).toBe(documented[environment].apiScope);
		expect(scopeFor(parsed, 'graph')).toBe(documented[environment].graphScope);
	});

	it.each(environments)("%s: the Graph scope is the cloud's Graph root endpoint + /.default", (environment) => {
		// graph/sdks/national-clouds: the scope uses "the domain of the Microsoft Graph service root endpoint".
		const { graphBaseUrl, graphScope } = CLOUDS[environment];
		expect(graphScope).toBe(`${graphBaseUrl}/.default`);
	});

	it('asks the DoD cloud for a dod-graph.microsoft.us token, not the GCC High (L4) one', () => {
		const dod = parseCredentials(credential('dod'));
		expect(scopeFor(dod, 'graph')).toBe('https://dod-graph.microsoft.us/.default');
		expect(scopeFor(parseCredentials(credential('gccHigh')), 'graph')).toBe('https://graph.microsoft.us/.default');
	});

	it("matches the README's cloud table", () => {
		const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
		const names: Record<keyof typeof CLOUDS, string> = { global: 'Global', gcc: 'GCC', gccHigh: 'GCC High', dod: 'DoD' };
		for (const environment of environments) {
			const row = readme.split('\n').find((line) => line.startsWith(`| ${names[environment]} |`));
			expect(row).toBeDefined();
			const cells = row!
				.split('|')
				.slice(2, -1)
				.map((cell) => `https://${cell.trim().replace(/`/g, '')}`);
			const { authorityHost, apiBaseUrl, apiScope, graphBaseUrl, graphScope } = documented[environment];
			expect(cells).toEqual([authorityHost, apiBaseUrl, apiScope, graphBaseUrl, graphScope]);
		}
	});
});
