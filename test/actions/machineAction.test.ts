/**
 * Machine Action operations through n8n-core's ExecuteContext against the emulator: get, list, cancel, and the
 * investigation package download (SAS link fetched without the bearer token, output as n8n binary data).
 */
import { randomBytes } from 'crypto';
import type { IDataObject, IHttpRequestOptions, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Machine } from '../emulator';
import { createHarness, emulatorCredentials, executeNode } from '../helpers/n8n';
import { interceptOutboundRequests } from '../helpers/outbound';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const STEP_MS = 100;
let emu: Emulator;

/** Every request n8n's HTTP client sends (method, url, headers), to check what went to the download host. */
const outbound: IHttpRequestOptions[] = [];

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	// GetPackageUri allows 2 calls a minute: scale the client-side windows so the suite does not wait minutes.
	transportSettings.rateLimitTimeScale = 60;
	emu = await startEmulator({ machineActionStepMs: STEP_MS });
	interceptOutboundRequests((options) => outbound.push(options));

});

afterAll(async () => {
	jest.restoreAllMocks();
	await emu?.close();
});

const unique = () => randomBytes(4).toString('hex');
const mark = () => emu.requestLog.length;
const apiCalls = (from: number) => emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/'));
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

function newMachine(partial: Partial<Machine> = {}): Machine {
	return emu.machines.create({ computerDnsName: `ma-${unique()}.contoso.com`, osPlatform: 'Windows11', ...partial });
}

async function run(
	resource: 'machine' | 'machineAction',
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource, ...parameters }, emulatorCredentials(emu));
	if (options.continueOnFail) h.node.onError = 'continueRegularOutput';
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

async function submit(operation: string, machine: Machine, extra: IDataObject = {}): Promise<IDataObject> {
	const [item] = await run('machine', {
		operation,
		machineId: { __rl: true, mode: 'id', value: machine.id },
		comment: `from test ${operation}`,
		waitForCompletion: false,
		...extra,
	});
	return item.json;
}

describe('machineAction: get', () => {
	it('gets an action by ID', async () => {
		const machine = newMachine();
		const action = await submit('runAntivirusScan', machine, { scanType: 'Quick' });
		const start = mark();
		const [item] = await run('machineAction', { operation: 'get', machineActionId: action.id });
		expect(apiCalls(start).map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
			`GET /api/machineactions/${String(action.id)} 200`,
		]);
		expect(item.json).toMatchObject({ id: action.id, type: 'RunAntiVirusScan', machineId: machine.id });
	});

	it('rejects an ID that is not a GUID before sending anything', async () => {
		const start = mark();
		await expect(run('machineAction', { operation: 'get', machineActionId: '../machines' })).rejects.toThrow(
			'Machine Action ID "../machines" is not a GUID.',
		);
		expect(apiCalls(start)).toHaveLength(0);
	});

	it('reports an unknown action as the API 404, in the words of the API', async () => {
		const id = '00000000-0000-4000-8000-000000000000';
		const error = (await run('machineAction', { operation: 'get', machineActionId: id }).catch((e: Error) => e)) as Error & {
			httpCode?: string;
			description?: string;
		};
		expect(error.httpCode).toBe('404');
		expect(error.description).toContain('API error code: ResourceNotFound');
		// Not n8n's "The connection cannot be established" (NodeApiError matches "ENOTFOUND" in "ResourceNotFound").
		expect(error.message).toBe(
			`GET /api/machineactions/${id} failed: HTTP 404 ResourceNotFound: Machine action ${id} was not found`,
		);
	});
});

describe('machineAction: get many', () => {
	it('filters by machine, type and status', async () => {
		const machine = newMachine();
		const scan = await submit('runAntivirusScan', machine, { scanType: 'Quick' });
		await submit('collectInvestigationPackage', machine);
		await sleep(3 * STEP_MS);
		await submit('isolate', machine, { isolationType: 'Full' });
		const since = new Date(Date.now() - 60_000).toISOString();
		const start = mark();
		const output = await run('machineAction', {
			operation: 'getAll',
			returnAll: true,
			filters: {
				machineId: machine.id.toUpperCase(),
				type: ['RunAntiVirusScan', 'Isolate'],
				status: ['Succeeded'],
				createdAfter: since,
			},
		});
		const calls = apiCalls(start);
		expect(calls.map((e) => [e.method, e.path, e.query])).toEqual([
			[
				'GET',
				'/api/machineactions',
				{
					$filter:
						`machineId eq '${machine.id}' and (type eq 'RunAntiVirusScan' or type eq 'Isolate')` +
						` and status eq 'Succeeded' and creationDateTimeUtc gt ${since}`,
					$top: '10000',
				},
			],
		]);
		expect(output.map((o) => o.json.id)).toEqual([scan.id]);
	});

	it('respects the limit', async () => {
		const machine = newMachine();
		await submit('runAntivirusScan', machine, { scanType: 'Quick' });
		await submit('collectInvestigationPackage', machine);
		await submit('restrictAppExecution', machine);
		const start = mark();
		const output = await run('machineAction', {
			operation: 'getAll',
			returnAll: false,
			limit: 2,
			filters: { machineId: machine.id },
		});
		expect(apiCalls(start)[0].query).toEqual({ $filter: `machineId eq '${machine.id}'`, $top: '2' });
		expect(output).toHaveLength(2);
		for (const item of output) expect(item.json.machineId).toBe(machine.id);
	});

	it('rejects a malformed machine ID filter before sending anything', async () => {
		const start = mark();
		await expect(
			run('machineAction', { operation: 'getAll', returnAll: true, filters: { machineId: "x' or 1 eq 1" } }),
		).rejects.toThrow('is not a machine ID');
		expect(apiCalls(start)).toHaveLength(0);
	});
});

describe('machineAction: cancel', () => {
	it('cancels a pending action with a comment', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'Isolate', 'Stuck');
		const action = await submit('isolate', machine, { isolationType: 'Full' });
		const start = mark();
		const [item] = await run('machineAction', {
			operation: 'cancel',
			machineActionId: action.id,
			comment: 'False positive, analyst 42',
		});
		expect(apiCalls(start).map((e) => [e.method, e.path, e.body, e.status])).toEqual([
			['POST', `/api/machineactions/${String(action.id)}/cancel`, { Comment: 'False positive, analyst 42' }, 200],
		]);
		expect(item.json).toMatchObject({
			id: action.id,
			status: 'Cancelled',
			cancellationComment: 'False positive, analyst 42',
		});
		expect(emu.machineActions.get(String(action.id))?.status).toBe('Cancelled');
	});

	it('requires a comment', async () => {
		const start = mark();
		await expect(
			run('machineAction', {
				operation: 'cancel',
				machineActionId: '5382f7ea-7557-4ab7-9782-d50480024a4e',
				comment: '',
			}),
		).rejects.toThrow('Comment is empty');
		expect(apiCalls(start)).toHaveLength(0);
	});
});

describe('machineAction: download investigation package', () => {
	it('downloads the package as binary data without sending the bearer token to the link', async () => {
		const machine = newMachine();
		const [collected] = await run('machine', {
			operation: 'collectInvestigationPackage',
			machineId: { __rl: true, mode: 'id', value: machine.id },
			comment: 'forensics',
			waitForCompletion: true,
			options: { pollInterval: 0.1, waitTimeout: 10 },
		});
		expect(collected.json.status).toBe('Succeeded');
		const id = String(collected.json.id);

		const start = mark();
		const outboundStart = outbound.length;
		const output = await run('machineAction', {
			operation: 'downloadInvestigationPackage',
			machineActionId: id,
			binaryPropertyName: 'package',
		});

		const requests = emu.requestLog.slice(start).map((e) => `${e.method} ${e.path.replace(/^\/_download\/.+$/, '/_download/<token>')} ${e.status}`);
		expect(requests).toEqual([
			`GET /api/machineactions/${id}/GetPackageUri 200`,
			'GET /_download/<token> 200',
		]);
		const sent = outbound.slice(outboundStart);
		const api = sent.find((o) => String(o.url).includes('/GetPackageUri'))!;
		const download = sent.find((o) => String(o.url).includes('/_download/'))!;
		expect(String((api.headers as IDataObject).Authorization)).toMatch(/^Bearer /);
		expect(Object.keys(download.headers ?? {}).map((k) => k.toLowerCase())).not.toContain('authorization');

		expect(output).toHaveLength(1);
		const [item] = output;
		const expected = emu.packageBytes(id);
		expect(item.json).toEqual({
			machineActionId: id,
			fileName: `investigation-package-${id}.zip`,
			fileSize: expected.length,
		});
		expect(item.pairedItem).toEqual({ item: 0 });
		const binary = item.binary!.package;
		expect(binary).toMatchObject({ mimeType: 'application/zip', fileName: `investigation-package-${id}.zip`, fileExtension: 'zip' });
		const bytes = Buffer.from(binary.data, 'base64');
		expect(bytes.equals(expected)).toBe(true);
		expect(bytes.subarray(0, 4).toString('hex')).toBe('504b0304');
	});

	it('explains that the package is not ready while the collection runs', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'CollectInvestigationPackage', 'Stuck');
		const action = await submit('collectInvestigationPackage', machine);
		const start = mark();
		const [item] = await run(
			'machineAction',
			{ operation: 'downloadInvestigationPackage', machineActionId: action.id, binaryPropertyName: 'data' },
			[{ json: {} }],
			{ continueOnFail: true },
		);
		expect(item.json.error).toBe(`No investigation package for machine action ${String(action.id)}`);
		expect(String(item.json.errorDescription)).toContain('once a Collect Investigation Package action has Succeeded');
		expect(apiCalls(start).map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
			`GET /api/machineactions/${String(action.id)}/GetPackageUri 404`,
		]);
	});
});
