/**
 * Indicator operations run through n8n-core's ExecuteContext against the emulator: the exact requests Defender
 * receives, the items the node returns, and the validation that stops bad input before any request is sent.
 */
import { createHash, randomBytes } from 'crypto';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode } from '../helpers/n8n';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

let emu: Emulator;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	emu = await startEmulator();
});

afterAll(async () => {
	await emu?.close();
});

const sha256 = (seed: string) => createHash('sha256').update(seed).digest('hex');
const sha1 = (seed: string) => createHash('sha1').update(seed).digest('hex');
const unique = () => randomBytes(8).toString('hex');
const inOneYear = () => new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function harness(parameters: IDataObject, options: { continueOnFail?: boolean } = {}) {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource: 'indicator', ...parameters }, emulatorCredentials(emu));
	if (options.continueOnFail) h.node.onError = 'continueRegularOutput';
	return { h, nodeType };
}

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean } = {},
): Promise<INodeExecutionData[]> {
	const { h, nodeType } = harness(parameters, options);
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

/** API calls (not token or discovery requests) logged since `from`. */
function apiCalls(from: number) {
	return emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/') || /^\/(v1\.0|beta)\//.test(e.path));
}

function mark(): number {
	return emu.requestLog.length;
}

describe('indicator: create', () => {
	it('posts the camelCase body and outputs the indicator', async () => {
		const value = sha256(unique());
		const expiration = inOneYear();
		const start = mark();
		const output = await run({
			operation: 'create',
			indicatorType: 'FileSha256',
			indicatorValue: `  ${value.toUpperCase()} `,
			action: 'Block',
			title: 'Known ransomware loader',
			indicatorDescription: 'Seen in incident 42',
			additionalFields: {
				severity: 'High',
				expirationTime: expiration,
				recommendedActions: 'Isolate the device',
				rbacGroupNames: 'Finance Workstations, Executives\nExecutives',
				generateAlert: true,
				application: 'n8n',
			},
		});

		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'POST', path: '/api/indicators', query: {}, status: 200 });
		expect(calls[0].body).toEqual({
			indicatorValue: value,
			indicatorType: 'FileSha256',
			action: 'Block',
			title: 'Known ransomware loader',
			description: 'Seen in incident 42',
			severity: 'High',
			application: 'n8n',
			expirationTime: expiration,
			recommendedActions: 'Isolate the device',
			rbacGroupNames: ['Finance Workstations', 'Executives'],
			generateAlert: true,
		});

		expect(output).toHaveLength(1);
		expect(output[0].pairedItem).toEqual({ item: 0 });
		expect(output[0].json).toMatchObject({
			indicatorValue: value,
			indicatorType: 'FileSha256',
			action: 'Block',
			severity: 'High',
			title: 'Known ransomware loader',
			rbacGroupNames: ['Finance Workstations', 'Executives'],
			generateAlert: true,
		});
		expect(output[0].json.id).toBeTruthy();
	});

	it('creates one indicator per input item, each paired with its item, for every indicator type', async () => {
		const cases: Array<[string, string, string]> = [
			['FileSha1', sha1(unique()), 'Allowed'],
			['FileMd5', createHash('md5').update(unique()).digest('hex'), 'Audit'],
			['CertificateThumbprint', sha1(unique()).toUpperCase().match(/../g)!.join(':'), 'Allowed'],
			['IpAddress', '203.0.113.77', 'Warn'],
			['DomainName', `${unique()}.example.com`, 'Block'],
			['Url', `https://${unique()}.example.net/payload`, 'Warn'],
		];
		const start = mark();
		const output = await run(
			{
				operation: 'create',
				indicatorType: '={{ $json.type }}',
				indicatorValue: '={{ $json.value }}',
				action: '={{ $json.action }}',
				title: '={{ "IOC " + $json.type }}',
				indicatorDescription: 'From the feed',
			},
			cases.map(([type, value, action]) => ({ json: { type, value, action } })),
		);
		const calls = apiCalls(start);
		expect(calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual(
			cases.map(() => 'POST /api/indicators 200'),
		);
		const bodies = calls.map((c) => c.body as IDataObject);
		expect(bodies.map((b) => b.indicatorType)).toEqual(cases.map(([type]) => type));
		expect(bodies[2].indicatorValue).toBe(cases[2][1].replace(/:/g, '').toLowerCase());
		// Audit without Generate Alert: the node turns it on, as Defender requires.
		expect(bodies[1]).toEqual({
			indicatorValue: cases[1][1],
			indicatorType: 'FileMd5',
			action: 'Audit',
			title: 'IOC FileMd5',
			description: 'From the feed',
			generateAlert: true,
		});
		expect(output.map((o) => o.pairedItem)).toEqual(cases.map((_, item) => ({ item })));
		expect(output.map((o) => o.json.indicatorType)).toEqual(cases.map(([type]) => type));
	});

	const invalid: Array<[string, IDataObject, RegExp]> = [
		['a bad SHA-1 for FileSha1', { indicatorType: 'FileSha1', indicatorValue: 'abc123' }, /is not a SHA-1 hash/],
		[
			'a SHA-256 for FileSha1',
			{ indicatorType: 'FileSha1', indicatorValue: sha256('x') },
			/Value \(SHA-1\) ".*" is not a SHA-1 hash/,
		],
		['a CIDR range', { indicatorType: 'IpAddress', indicatorValue: '10.0.0.0/8' }, /CIDR range/],
		['a bad domain', { indicatorType: 'DomainName', indicatorValue: 'not a domain' }, /is not a domain name/],
		[
			'an expiration in the past',
			{ additionalFields: { expirationTime: '2020-01-01T00:00:00Z' } },
			/Expiration Time 2020-01-01T00:00:00.000Z is in the past/,
		],
		[
			'Audit with Generate Alert off',
			{ action: 'Audit', additionalFields: { generateAlert: false } },
			/Audit action .* requires Generate Alert/,
		],
		['a blank title', { title: '  ' }, /Title is empty/],
		['a bad educate URL', { additionalFields: { educateUrl: 'javascript:alert(1)' } }, /Educate URL/],
	];

	it.each(invalid)('rejects %s before sending anything', async (_name, overrides, message) => {
		const before = emu.stats().total;
		await expect(
			run({
				operation: 'create',
				indicatorType: 'FileSha256',
				indicatorValue: sha256(unique()),
				action: 'Block',
				title: 'Test',
				indicatorDescription: 'Test',
				...overrides,
			}),
		).rejects.toThrow(message);
		expect(emu.stats().total).toBe(before);
	});
});

describe('indicator: get many', () => {
	const tag = unique();
	const values = [0, 1, 2].map((i) => sha256(`${tag}-${i}`));

	beforeAll(async () => {
		await run(
			{
				operation: 'create',
				indicatorType: 'FileSha256',
				indicatorValue: '={{ $json.value }}',
				action: '={{ $json.action }}',
				title: `Get many ${tag}`,
				indicatorDescription: 'Fixture',
				additionalFields: { severity: '={{ $json.severity }}' },
			},
			[
				{ json: { value: values[0], action: 'Block', severity: 'High' } },
				{ json: { value: values[1], action: 'Block', severity: 'Low' } },
				{ json: { value: values[2], action: 'Allowed', severity: 'High' } },
			],
		);
	});

	it('filters on type, action, severity and value with $filter and pages with $top', async () => {
		const start = mark();
		const output = await run({
			operation: 'getAll',
			returnAll: false,
			limit: 5,
			filters: {
				indicatorTypes: ['FileSha256', 'FileSha1'],
				actions: ['Block'],
				severities: ['High'],
				indicatorValue: values[0],
			},
		});
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({
			method: 'GET',
			path: '/api/indicators',
			status: 200,
			query: {
				$filter: `(indicatorType eq 'FileSha256' or indicatorType eq 'FileSha1') and action eq 'Block' and severity eq 'High' and indicatorValue eq '${values[0]}'`,
				$top: '5',
			},
		});
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({ indicatorValue: values[0], action: 'Block', severity: 'High' });
		expect(output[0].pairedItem).toEqual({ item: 0 });
	});

	it('filters on the creator and quotes values', async () => {
		const start = mark();
		const output = await run({
			operation: 'getAll',
			returnAll: true,
			filters: { createdBy: "o'brien@example.com" },
		});
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({
			method: 'GET',
			path: '/api/indicators',
			query: { $filter: "createdBy eq 'o''brien@example.com'", $top: '10000' },
		});
		expect(output).toEqual([]);
	});

	it('returns all indicators created by the app when Return All is on', async () => {
		const start = mark();
		const output = await run({ operation: 'getAll', returnAll: true, filters: {} });
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'GET', path: '/api/indicators', query: { $top: '10000' } });
		const returned = output.map((o) => o.json.indicatorValue);
		for (const value of values) expect(returned).toContain(value);
	});

	it('stops at the limit', async () => {
		const start = mark();
		const output = await run({ operation: 'getAll', returnAll: false, limit: 2, filters: {} });
		expect(output).toHaveLength(2);
		expect(apiCalls(start).map((c) => c.query)).toEqual([{ $top: '2' }]);
	});
});

describe('indicator: delete', () => {
	it('deletes by ID and outputs {deleted, id}', async () => {
		const [created] = await run({
			operation: 'create',
			indicatorType: 'DomainName',
			indicatorValue: `${unique()}.example.org`,
			action: 'Block',
			title: 'To delete',
			indicatorDescription: 'Temporary',
		});
		const id = String(created.json.id);
		const start = mark();
		const output = await run({ operation: 'delete', indicatorId: id });
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'DELETE', path: `/api/indicators/${id}`, query: {}, status: 204 });
		expect(output).toEqual([{ json: { deleted: true, id }, pairedItem: { item: 0 } }]);

		// Gone: a second delete is a 404 from Defender, reported as the node's error.
		await expect(run({ operation: 'delete', indicatorId: id })).rejects.toMatchObject({ httpCode: '404' });
	});

	it('accepts a numeric ID from an expression', async () => {
		const [created] = await run({
			operation: 'create',
			indicatorType: 'IpAddress',
			indicatorValue: '198.51.100.23',
			action: 'Allowed',
			title: 'Numeric delete',
			indicatorDescription: 'Temporary',
		});
		const start = mark();
		const output = await run({ operation: 'delete', indicatorId: '={{ Number($json.id) }}' }, [
			{ json: { id: created.json.id } },
		]);
		expect(apiCalls(start)[0]).toMatchObject({ method: 'DELETE', path: `/api/indicators/${created.json.id}` });
		expect(output[0].json).toEqual({ deleted: true, id: String(created.json.id) });
	});

	it.each([['1/../2'], ['1?x=1'], ['  ']])('rejects the ID %p before sending anything', async (indicatorId) => {
		const before = emu.stats().total;
		await expect(run({ operation: 'delete', indicatorId })).rejects.toThrow(/Indicator ID/);
		expect(emu.stats().total).toBe(before);
	});
});

describe('indicator: import', () => {
	const fieldsParameters = {
		operation: 'import',
		inputMode: 'fields',
		indicatorType: 'FileSha256',
		indicatorValue: '={{ $json.hash }}',
		action: 'Audit',
		title: '={{ "Feed entry " + $json.n }}',
		indicatorDescription: 'Imported from the feed',
		additionalFields: { severity: 'Low' },
	};

	it('imports 1,200 input items in 3 calls of at most 500, each result paired with its item', async () => {
		const tag = unique();
		const items = Array.from({ length: 1200 }, (_, n) => ({ json: { n, hash: sha256(`${tag}-${n}`) } }));
		const start = mark();
		const output = await run(fieldsParameters, items);

		const calls = apiCalls(start);
		expect(calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
			'POST /api/indicators/import 200',
			'POST /api/indicators/import 200',
			'POST /api/indicators/import 200',
		]);
		const batches = calls.map((c) => (c.body as { Indicators: IDataObject[] }).Indicators);
		expect(batches.map((b) => b.length)).toEqual([500, 500, 200]);
		expect(Object.keys(calls[0].body as IDataObject)).toEqual(['Indicators']);
		expect(batches[0][0]).toEqual({
			indicatorValue: items[0].json.hash,
			indicatorType: 'FileSha256',
			action: 'Audit',
			title: 'Feed entry 0',
			description: 'Imported from the feed',
			severity: 'Low',
			generateAlert: true,
		});
		expect(batches.flat().map((b) => b.indicatorValue)).toEqual(items.map((i) => i.json.hash));

		expect(output).toHaveLength(1200);
		output.forEach((result, n) => {
			expect(result.pairedItem).toEqual({ item: n });
			expect(result.json).toMatchObject({ indicator: items[n].json.hash, isFailed: false });
			expect(result.json.id).toBeTruthy();
		});
	});

	it('imports JSON lists from several items in one call and pairs each result with its item', async () => {
		const a = [sha1(unique()), sha1(unique())];
		const b = `${unique()}.example.com`;
		const expiration = inOneYear();
		const start = mark();
		const output = await run(
			{ operation: 'import', inputMode: 'json', indicatorsJson: '={{ JSON.stringify($json.list) }}' },
			[
				{
					json: {
						list: a.map((value) => ({
							IndicatorValue: value,
							indicatorType: 'FileSha1',
							action: 'BlockAndRemediate',
							title: 'Hash',
							description: 'From JSON',
							expirationTime: expiration,
							id: '17',
							createdBy: 'someone',
						})),
					},
				},
				{
					json: {
						list: {
							indicatorValue: b,
							indicatorType: 'DomainName',
							action: 'Warn',
							title: 'Domain',
							description: 'From JSON',
							rbacGroupNames: ['Servers'],
							educateUrl: 'https://intranet.example.com/why',
						},
					},
				},
			],
		);
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'POST', path: '/api/indicators/import', query: {}, status: 200 });
		expect(calls[0].body).toEqual({
			Indicators: [
				...a.map((value) => ({
					indicatorValue: value,
					indicatorType: 'FileSha1',
					action: 'BlockAndRemediate',
					title: 'Hash',
					description: 'From JSON',
					expirationTime: expiration,
				})),
				{
					indicatorValue: b,
					indicatorType: 'DomainName',
					action: 'Warn',
					title: 'Domain',
					description: 'From JSON',
					rbacGroupNames: ['Servers'],
					educateUrl: 'https://intranet.example.com/why',
				},
			],
		});
		expect(output.map((o) => [o.json.indicator, o.pairedItem])).toEqual([
			[a[0], { item: 0 }],
			[a[1], { item: 0 }],
			[b, { item: 1 }],
		]);
	});

	it('outputs the indicators Defender rejects with isFailed and failureReason, paired with their items', async () => {
		const good = sha256(unique());
		const domain = `${unique()}.example.com`;
		const output = await run(
			{
				operation: 'import',
				inputMode: 'json',
				// An expression that returns the array itself, not JSON text.
				indicatorsJson: '={{ $json.list }}',
			},
			[
				{
					json: {
						list: [{ indicatorValue: good, indicatorType: 'FileSha256', action: 'Allowed', title: 't', description: 'd' }],
					},
				},
				{
					json: {
						list: [
							{ indicatorValue: domain, indicatorType: 'DomainName', action: 'BlockAndRemediate', title: 't', description: 'd' },
						],
					},
				},
			],
		);
		expect(output).toEqual([
			{ json: expect.objectContaining({ indicator: good, isFailed: false }), pairedItem: { item: 0 } },
			{
				json: expect.objectContaining({ indicator: domain, isFailed: true, failureReason: expect.stringMatching(/BlockAndRemediate/) }),
				pairedItem: { item: 1 },
			},
		]);
	});

	it('waits out a 429 on an import batch and imports everything once', async () => {
		const tag = unique();
		const items = Array.from({ length: 600 }, (_, n) => ({ json: { n, hash: sha256(`${tag}-${n}`) } }));
		emu.faults.inject({ kind: '429', retryAfterSeconds: 0, match: /^POST \/api\/indicators\/import$/ });
		const start = mark();
		const output = await run(fieldsParameters, items);
		expect(apiCalls(start).map((c) => [c.status, (c.body as { Indicators: unknown[] }).Indicators.length])).toEqual([
			[429, 500],
			[200, 500],
			[200, 100],
		]);
		expect(output).toHaveLength(600);
		expect(output.every((o, n) => o.json.indicator === items[n].json.hash && o.json.isFailed === false)).toBe(true);
	});

	it('with Continue On Fail, a batch the API keeps refusing becomes one error item per indicator', async () => {
		const tag = unique();
		const items = Array.from({ length: 510 }, (_, n) => ({ json: { n, hash: sha256(`${tag}-${n}`) } }));
		emu.faults.inject({ kind: '500', count: transportSettings.maxAttempts, match: /^POST \/api\/indicators\/import$/ });
		const start = mark();
		const output = await run(fieldsParameters, items, { continueOnFail: true });
		// An import is a write: after each 500 the indicators are read back (the first 20 values, where the first one
		// missing already shows the batch was not applied), and only because they are not there is it sent again.
		const calls = apiCalls(start);
		const imports = calls.filter((c) => c.method === 'POST');
		expect(imports.map((c) => c.status)).toEqual([...Array(transportSettings.maxAttempts).fill(500), 200]);
		const reads = calls.filter((c) => c.method === 'GET');
		expect(reads).toHaveLength(transportSettings.maxAttempts);
		expect(reads.every((c) => c.path === '/api/indicators' && c.status === 200)).toBe(true);
		expect(output).toHaveLength(510);
		output.slice(0, 500).forEach((o, n) => {
			expect(o.pairedItem).toEqual({ item: n });
			expect(o.json).toMatchObject({ indicatorValue: items[n].json.hash, isFailed: true });
			expect(String(o.json.error)).toMatch(/HTTP 500.*read back afterwards: it did not take effect, so running it again is safe/);
		});
		output.slice(500).forEach((o, n) => {
			expect(o).toMatchObject({ json: { indicator: items[500 + n].json.hash, isFailed: false }, pairedItem: { item: 500 + n } });
		});
	});

	it('stops on an invalid item before sending anything', async () => {
		const before = emu.stats().total;
		await expect(
			run(fieldsParameters, [
				{ json: { n: 0, hash: sha256(unique()) } },
				{ json: { n: 1, hash: 'not-a-hash' } },
			]),
		).rejects.toThrow(/is not a SHA-256 hash/);
		expect(emu.stats().total).toBe(before);
	});

	it('rejects unknown JSON fields and an expired entry before sending anything', async () => {
		const before = emu.stats().total;
		const entry = {
			indicatorValue: sha1(unique()),
			indicatorType: 'FileSha1',
			action: 'Block',
			title: 'x',
			description: 'y',
		};
		await expect(
			run({ operation: 'import', inputMode: 'json', indicatorsJson: JSON.stringify([{ ...entry, expiration: '2030-01-01' }]) }),
		).rejects.toThrow(/Indicator 1 in Indicators \(JSON\): Unknown field "expiration"/);
		await expect(
			run({ operation: 'import', inputMode: 'json', indicatorsJson: JSON.stringify([entry, { ...entry, expirationTime: '2001-01-01T00:00:00Z' }]) }),
		).rejects.toThrow(/Indicator 2 in Indicators \(JSON\): Expiration Time .* is in the past/);
		await expect(
			run({ operation: 'import', inputMode: 'json', indicatorsJson: '[{"indicatorValue": ' }),
		).rejects.toThrow(/not valid JSON/);
		expect(emu.stats().total).toBe(before);
	});

	it('with Continue On Fail, imports the valid items and outputs an error item for the invalid one', async () => {
		const good = [sha256(unique()), sha256(unique())];
		const start = mark();
		const output = await run(
			fieldsParameters,
			[
				{ json: { n: 0, hash: good[0] } },
				{ json: { n: 1, hash: 'bad' } },
				{ json: { n: 2, hash: good[1] } },
			],
			{ continueOnFail: true },
		);
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect((calls[0].body as { Indicators: IDataObject[] }).Indicators.map((i) => i.indicatorValue)).toEqual(good);
		expect(output).toHaveLength(3);
		expect(output[0]).toMatchObject({ json: { indicator: good[0], isFailed: false }, pairedItem: { item: 0 } });
		expect(output[1].pairedItem).toEqual({ item: 1 });
		expect(String(output[1].json.error)).toMatch(/"bad" is not a SHA-256 hash/);
		expect(output[2]).toMatchObject({ json: { indicator: good[1], isFailed: false }, pairedItem: { item: 2 } });
	});
});
