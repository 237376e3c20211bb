/**
 * Advanced hunting through n8n-core's ExecuteContext against the emulator: the MDE API and the Microsoft Graph
 * runHuntingQuery path, both output shapes, and validation that sends nothing; which API a node uses by default
 * at each node version (version 1: MDE, as saved workflows had it; 1.1, the default for new nodes: Graph), and that
 * nothing else in the node depends on the version.
 */
import {
	NodeHelpers,
	Workflow,
	type IDataObject,
	type INode,
	type INodeExecutionData,
	type INodeParameters,
	type INodeProperties,
	type INodeTypes,
} from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { GRAPH_DEFAULT_VERSION } from '../../nodes/MicrosoftDefender/actions/advancedHunting/runQuery.operation';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode, type NodeHarness } from '../helpers/n8n';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

let emu: Emulator;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	emu = await startEmulator();
	emu.machines.seed(5);
});

afterAll(async () => {
	await emu?.close();
});

/**
 * createHarness at another node version: n8n fills in a node's defaults when the Workflow is built, by the node's
 * typeVersion, so the version has to be set before that (createHarness builds version 1 nodes).
 */
function harnessAt(nodeType: MicrosoftDefender, typeVersion: number, parameters: IDataObject): NodeHarness {
	const h = createHarness(nodeType, 'microsoftDefender', {}, emulatorCredentials(emu));
	const node: INode = { ...h.node, typeVersion, parameters: parameters as INodeParameters };
	const nodeTypes = {
		getByName: () => nodeType,
		getByNameAndVersion: () => nodeType,
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
	const workflow = new Workflow({ id: 'wf-1', name: 'Test workflow', nodes: [node], connections: {}, active: true, nodeTypes, staticData: {} });
	return { workflow, node, credentials: h.credentials };
}

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean; typeVersion?: number } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = harnessAt(nodeType, options.typeVersion ?? 1, { resource: 'advancedHunting', operation: 'runQuery', ...parameters });
	if (options.continueOnFail) h.node.onError = 'continueRegularOutput';
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

function apiCalls(from: number) {
	return emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/') || /^\/(v1\.0|beta)\//.test(e.path));
}

const mark = () => emu.requestLog.length;

const expectedDevices = () =>
	emu.machines
		.all()
		.map((m) => ({ DeviceName: m.computerDnsName, OSPlatform: m.osPlatform }))
		.slice(0, 3);

describe('advanced hunting: run query (MDE API)', () => {
	const query = 'DeviceInfo | project DeviceName, OSPlatform | take 3';

	it('posts {Query} to /api/advancedqueries/run and outputs one item per row', async () => {
		const start = mark();
		const output = await run({ query: `  ${query}\n` });
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'POST', path: '/api/advancedqueries/run', query: {}, status: 200 });
		expect(calls[0].body).toEqual({ Query: query });
		expect(output).toEqual(expectedDevices().map((json) => ({ json, pairedItem: { item: 0 } })));
	});

	it('outputs a single item with the schema and the rows when asked', async () => {
		const output = await run({ query, options: { output: 'single' } });
		expect(output).toEqual([
			{
				json: {
					schema: [
						{ name: 'DeviceName', type: 'String' },
						{ name: 'OSPlatform', type: 'String' },
					],
					results: expectedDevices(),
				},
				pairedItem: { item: 0 },
			},
		]);
	});

	it('runs the query of each input item and pairs the rows with it', async () => {
		const start = mark();
		const output = await run({ query: '={{ $json.kql }}' }, [
			{ json: { kql: 'DeviceInfo | count' } },
			{ json: { kql: 'DeviceInfo | where DeviceName == "no-such-device" | take 1' } },
			{ json: { kql: 'DeviceInfo | project DeviceName | take 2' } },
		]);
		expect(apiCalls(start).map((c) => c.body)).toEqual([
			{ Query: 'DeviceInfo | count' },
			{ Query: 'DeviceInfo | where DeviceName == "no-such-device" | take 1' },
			{ Query: 'DeviceInfo | project DeviceName | take 2' },
		]);
		// No rows: no items for that input item.
		expect(output).toEqual([
			{ json: { Count: 5 }, pairedItem: { item: 0 } },
			...emu.machines
				.all()
				.slice(0, 2)
				.map((m) => ({ json: { DeviceName: m.computerDnsName }, pairedItem: { item: 2 } })),
		]);
	});

	it('reports a query the service rejects as the node error', async () => {
		await expect(run({ query: 'NoSuchTable | take 1' })).rejects.toMatchObject({
			httpCode: '400',
			message: expect.stringMatching(/POST \/api\/advancedqueries\/run failed: HTTP 400.*NoSuchTable/),
		});
	});

	it.each([[''], ['   \n  ']])('rejects a blank query %p before sending anything', async (blank) => {
		const before = emu.stats().total;
		await expect(run({ query: blank })).rejects.toThrow(/Query is empty/);
		expect(emu.stats().total).toBe(before);
	});

	it('does not send a Timespan left over from the Graph option (n8n drops the hidden option)', async () => {
		const start = mark();
		const output = await run({ query, options: { timespan: 'P7D' } });
		expect(apiCalls(start).map((c) => c.body)).toEqual([{ Query: query }]);
		expect(output).toHaveLength(3);
	});

	it('with Continue On Fail, a blank query becomes an error item and the other items still run', async () => {
		const output = await run(
			{ query: '={{ $json.kql }}' },
			[{ json: { kql: ' ' } }, { json: { kql: 'DeviceInfo | count' } }],
			{ continueOnFail: true },
		);
		expect(output).toHaveLength(2);
		expect(output[0].pairedItem).toEqual({ item: 0 });
		expect(String(output[0].json.error)).toMatch(/Query is empty/);
		expect(output[1]).toEqual({ json: { Count: 5 }, pairedItem: { item: 1 } });
	});
});

describe('advanced hunting: run query (Microsoft Graph)', () => {
	const query = 'DeviceInfo | project DeviceName, OSPlatform | take 3';

	it('posts {Query, Timespan} to /v1.0/security/runHuntingQuery and outputs the rows', async () => {
		const start = mark();
		const output = await run({ query, useGraph: true, options: { timespan: ' P7D ' } });
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({
			method: 'POST',
			path: '/v1.0/security/runHuntingQuery',
			query: {},
			status: 200,
		});
		expect(calls[0].body).toEqual({ Query: query, Timespan: 'P7D' });
		expect(output).toEqual(expectedDevices().map((json) => ({ json, pairedItem: { item: 0 } })));
	});

	it('omits Timespan when empty and gives the same single-item shape as the MDE API', async () => {
		const start = mark();
		const output = await run({ query, useGraph: true, options: { output: 'single' } });
		expect(apiCalls(start)[0].body).toEqual({ Query: query });
		expect(output).toEqual([
			{
				json: {
					schema: [
						{ name: 'DeviceName', type: 'String' },
						{ name: 'OSPlatform', type: 'String' },
					],
					results: expectedDevices(),
				},
				pairedItem: { item: 0 },
			},
		]);
	});

	it('accepts an ISO 8601 interval as Timespan', async () => {
		const start = mark();
		await run({
			query,
			useGraph: true,
			options: { timespan: '2026-11-01T00:00:00Z/2026-11-08T00:00:00Z' },
		});
		expect(apiCalls(start)[0].body).toEqual({ Query: query, Timespan: '2026-11-01T00:00:00Z/2026-11-08T00:00:00Z' });
	});

	it.each([['7 days'], ['P'], ['PT'], ['2026-11-01/someday']])(
		'rejects the Timespan %p before sending anything',
		async (timespan) => {
			const before = emu.stats().total;
			await expect(run({ query, useGraph: true, options: { timespan } })).rejects.toThrow(/is not an ISO 8601 duration/);
			expect(emu.stats().total).toBe(before);
		},
	);
});

describe('advanced hunting: which API, by node version', () => {
	const query = 'DeviceInfo | project DeviceName, OSPlatform | take 3';
	const sent = (start: number) => apiCalls(start).map((c) => ({ method: c.method, path: c.path, body: c.body }));

	it('a version 1 node saved without the parameter calls the MDE endpoint, as before', async () => {
		const start = mark();
		const output = await run({ query, options: { timespan: 'P7D' } }, undefined, { typeVersion: 1 });
		expect(sent(start)).toEqual([{ method: 'POST', path: '/api/advancedqueries/run', body: { Query: query } }]);
		expect(output).toEqual(expectedDevices().map((json) => ({ json, pairedItem: { item: 0 } })));
	});

	it('a new node (version 1.1) without the parameter calls Graph POST /v1.0/security/runHuntingQuery', async () => {
		const start = mark();
		const output = await run({ query }, undefined, { typeVersion: GRAPH_DEFAULT_VERSION });
		expect(sent(start)).toEqual([{ method: 'POST', path: '/v1.0/security/runHuntingQuery', body: { Query: query } }]);
		expect(output).toEqual(expectedDevices().map((json) => ({ json, pairedItem: { item: 0 } })));
	});

	it('a new node sends the Timespan option to Graph without switching anything on', async () => {
		const start = mark();
		await run({ query, options: { timespan: 'P7D' } }, undefined, { typeVersion: GRAPH_DEFAULT_VERSION });
		expect(sent(start)).toEqual([
			{ method: 'POST', path: '/v1.0/security/runHuntingQuery', body: { Query: query, Timespan: 'P7D' } },
		]);
	});

	it.each([
		[1, true, '/v1.0/security/runHuntingQuery'],
		[1, false, '/api/advancedqueries/run'],
		[GRAPH_DEFAULT_VERSION, false, '/api/advancedqueries/run'],
		[GRAPH_DEFAULT_VERSION, true, '/v1.0/security/runHuntingQuery'],
	])('version %p with Use Microsoft Graph = %p explicitly calls %s', async (typeVersion, useGraph, path) => {
		const start = mark();
		const output = await run({ query, useGraph }, undefined, { typeVersion });
		expect(sent(start)).toEqual([{ method: 'POST', path, body: { Query: query } }]);
		expect(output).toHaveLength(3);
	});
});

describe('advanced hunting: node versions', () => {
	const description = new MicrosoftDefender().description;
	const nodeAt = (typeVersion: number, parameters: IDataObject): INode => ({
		id: 'n',
		name: 'n',
		type: 'microsoftDefender',
		typeVersion,
		position: [0, 0],
		parameters: parameters as INodeParameters,
	});
	/** What n8n resolves (returnDefaults) or saves (only non-default values) for a node's parameters. */
	const parametersOf = (typeVersion: number, values: IDataObject, returnDefaults = true) =>
		NodeHelpers.getNodeParameters(
			description.properties,
			values as INodeParameters,
			returnDefaults,
			false,
			nodeAt(typeVersion, values),
			description,
		);

	const combinations = (): Array<{ resource: string; operation: string }> => {
		const resource = description.properties.find((p) => p.name === 'resource')!;
		return (resource.options as Array<{ value: string }>).flatMap(({ value }) => {
			const operation = description.properties.find(
				(p) => p.name === 'operation' && (p.displayOptions?.show?.resource as string[] | undefined)?.includes(value),
			)!;
			return (operation.options as Array<{ value: string }>).map((o) => ({ resource: value, operation: o.value }));
		});
	};

	it('offers versions 1 and 1.1; new nodes get 1.1', () => {
		expect(description.version).toEqual([1, GRAPH_DEFAULT_VERSION]);
		expect(description.defaultVersion).toBe(GRAPH_DEFAULT_VERSION);
	});

	it('defaults Use Microsoft Graph to off at version 1 and on at version 1.1, one definition shown per version', () => {
		const shown = (typeVersion: number): INodeProperties[] =>
			description.properties.filter(
				(p) =>
					p.name === 'useGraph' &&
					NodeHelpers.displayParameter(
						{ resource: 'advancedHunting', operation: 'runQuery' } as never,
						p,
						nodeAt(typeVersion, {}),
						description,
					),
			);
		expect(shown(1).map((p) => p.default)).toEqual([false]);
		expect(shown(GRAPH_DEFAULT_VERSION).map((p) => p.default)).toEqual([true]);
		const base = { resource: 'advancedHunting', operation: 'runQuery', query: 'DeviceInfo' };
		expect(parametersOf(1, base)?.useGraph).toBe(false);
		expect(parametersOf(GRAPH_DEFAULT_VERSION, base)?.useGraph).toBe(true);
	});

	it('saves an explicit choice only where it differs from the version\'s default, so each version reloads as saved', () => {
		const base = { resource: 'advancedHunting', operation: 'runQuery', query: 'DeviceInfo' };
		expect(parametersOf(1, { ...base, useGraph: false }, false)).not.toHaveProperty('useGraph');
		expect(parametersOf(1, { ...base, useGraph: true }, false)).toMatchObject({ useGraph: true });
		expect(parametersOf(GRAPH_DEFAULT_VERSION, { ...base, useGraph: true }, false)).not.toHaveProperty('useGraph');
		expect(parametersOf(GRAPH_DEFAULT_VERSION, { ...base, useGraph: false }, false)).toMatchObject({ useGraph: false });
	});

	it('changes nothing else between the versions: every operation resolves the same parameters and defaults', () => {
		const all = combinations();
		expect(all.length).toBeGreaterThan(20);
		for (const values of all) {
			const v1 = parametersOf(1, values)!;
			const v11 = parametersOf(GRAPH_DEFAULT_VERSION, values)!;
			if (values.resource === 'advancedHunting') {
				expect({ v1: v1.useGraph, v11: v11.useGraph }).toEqual({ v1: false, v11: true });
				delete v1.useGraph;
				delete v11.useGraph;
			}
			expect(v11).toEqual(v1);
		}
	});

	it('gates nothing but Use Microsoft Graph on the node version', () => {
		const gated = (properties: INodeProperties[]): string[] =>
			properties.flatMap((p) => [
				...(p.displayOptions && JSON.stringify(p.displayOptions).includes('@version') ? [p.name] : []),
				...(Array.isArray(p.options) ? gated(p.options.filter((o): o is INodeProperties => 'type' in o)) : []),
			]);
		expect(gated(description.properties)).toEqual(['useGraph', 'useGraph']);
	});
});
