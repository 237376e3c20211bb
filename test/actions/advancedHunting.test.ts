/**
 * Advanced hunting through n8n-core's ExecuteContext against the emulator: the MDE API and the Microsoft Graph
 * runHuntingQuery path, both output shapes, and validation that sends nothing.
 */
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
	emu.machines.seed(5);
});

afterAll(async () => {
	await emu?.close();
});

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(
		nodeType,
		'microsoftDefender',
		{ resource: 'advancedHunting', operation: 'runQuery', ...parameters },
		emulatorCredentials(emu),
	);
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
