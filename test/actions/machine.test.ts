/**
 * Machine operations run through n8n-core's ExecuteContext against the emulator: the exact requests Defender
 * receives, the items the node returns, the wait for completion, the duplicate guard (a second isolation is never
 * queued, MicrosoftDocs/microsoft-365-docs#5903), and the validation that stops bad input before any request.
 */
import { createHash, randomBytes } from 'crypto';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { submitMachineAction, waitForMachineAction } from '../../nodes/MicrosoftDefender/helpers/machineActions';
import { parseCredentials } from '../../nodes/MicrosoftDefender/transport/credentials';
import {
	n8nSender,
	transportSettings,
	type HttpSender,
	type TransportContext,
} from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Machine } from '../emulator';
import type { LoadOptionsContext } from 'n8n-core';

import { searchMachines } from '../../nodes/MicrosoftDefender/methods/machineSearch';
import { createHarness, emulatorCredentials, executeNode, pollContext, loadOptionsContext as loadOptionsContextFor } from '../helpers/n8n';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const STEP_MS = 250;
let emu: Emulator;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	// The emulator enforces no limits here, but the client-side limiter still does: the fast status polls of this
	// suite would exceed 100 machine-action reads a minute and stall it. machine.ratelimit.test.ts covers the limits.
	transportSettings.rateLimitTimeScale = 60;
	emu = await startEmulator({ machineActionStepMs: STEP_MS });
	emu.machines.seed(20);
});

afterAll(async () => {
	await emu?.close();
});

const unique = () => randomBytes(4).toString('hex');
const sha1 = (seed: string) => createHash('sha1').update(seed).digest('hex');

function newMachine(partial: Partial<Machine> = {}): Machine {
	return emu.machines.create({ computerDnsName: `host-${unique()}.contoso.com`, osPlatform: 'Windows11', ...partial });
}

const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });
const byName = (name: string) => ({ __rl: true, mode: 'name', value: name });

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', { resource: 'machine', ...parameters }, emulatorCredentials(emu));
	if (options.continueOnFail) h.node.onError = 'continueRegularOutput';
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

const mark = () => emu.requestLog.length;
const apiCalls = (from: number) => emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/'));
const summary = (from: number) => apiCalls(from).map((e) => `${e.method} ${e.path} ${e.status}`);

/** Fast polling for the wait-for-completion tests. */
const fastWait = { pollInterval: 0.1, waitTimeout: 10 };

function activeFilter(machineId: string, type: string): string {
	return `machineId eq '${machineId}' and type eq '${type}' and (status eq 'Pending' or status eq 'InProgress')`;
}

describe('machine: get', () => {
	it('gets a machine by ID', async () => {
		const machine = newMachine();
		const start = mark();
		const output = await run({ operation: 'get', machineId: byId(machine.id) });
		const calls = apiCalls(start);
		expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([`GET /api/machines/${machine.id}`]);
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({ id: machine.id, computerDnsName: machine.computerDnsName });
		expect(output[0].pairedItem).toEqual({ item: 0 });
	});

	it('resolves a short host name (any case) with one filtered list call', async () => {
		const machine = newMachine();
		const host = machine.computerDnsName.split('.')[0];
		const start = mark();
		const output = await run({ operation: 'get', machineId: byName(host.toUpperCase()) });
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0].method).toBe('GET');
		expect(calls[0].path).toBe('/api/machines');
		expect(calls[0].query).toEqual({
			$filter: `computerDnsName eq '${host}' or startswith(computerDnsName,'${host}.')`,
			$top: '25',
		});
		expect(output.map((o) => o.json.id)).toEqual([machine.id]);
	});

	it('resolves a full DNS name with an exact filter', async () => {
		const machine = newMachine();
		const start = mark();
		const output = await run({ operation: 'get', machineId: byName(machine.computerDnsName) });
		expect(apiCalls(start).map((c) => c.query.$filter)).toEqual([`computerDnsName eq '${machine.computerDnsName}'`]);
		expect(output[0].json.id).toBe(machine.id);
	});

	it('escapes quotes in a name', async () => {
		const start = mark();
		await expect(run({ operation: 'get', machineId: byName("o'brien.contoso.com") })).rejects.toThrow(
			/No machine named "o'brien.contoso.com"/,
		);
		expect(apiCalls(start)[0].query.$filter).toBe("computerDnsName eq 'o''brien.contoso.com'");
	});

	it('fails clearly on an unknown name', async () => {
		await expect(run({ operation: 'get', machineId: byName('no-such-host-zz') })).rejects.toThrow(
			'No machine named "no-such-host-zz" was found in Defender',
		);
	});

	it('lists the candidates when a name matches several machines', async () => {
		const name = `dup-${unique()}.contoso.com`;
		const a = newMachine({ computerDnsName: name });
		const b = newMachine({ computerDnsName: name });
		const error = await run({ operation: 'get', machineId: byName(name) }).catch((e: Error) => e);
		expect(error).toBeInstanceOf(Error);
		const message = (error as Error).message;
		expect(message).toContain(`2 machines match the name "${name}"`);
		expect(message).toContain(`${a.id} (${name}, last seen ${a.lastSeen})`);
		expect(message).toContain(`${b.id} (${name}, last seen ${b.lastSeen})`);
		expect(message).toContain('Select the machine by ID');
	});

	it('rejects a malformed ID before sending anything', async () => {
		const start = mark();
		await expect(run({ operation: 'get', machineId: byId('../alerts') })).rejects.toThrow(
			'Machine ID "../alerts" is not a machine ID (40 hexadecimal characters).',
		);
		await expect(run({ operation: 'get', machineId: byId('') })).rejects.toThrow('Machine ID is empty');
		expect(apiCalls(start)).toHaveLength(0);
	});

	it('accepts a plain string (expression or agent input) as ID or name', async () => {
		const machine = newMachine();
		const out1 = await run({ operation: 'get', machineId: machine.id });
		const out2 = await run({ operation: 'get', machineId: machine.computerDnsName });
		expect(out1[0].json.id).toBe(machine.id);
		expect(out2[0].json.id).toBe(machine.id);
	});

	it('resolves a name once per execution for many items', async () => {
		const machine = newMachine();
		const start = mark();
		const output = await run({ operation: 'get', machineId: byName(machine.computerDnsName) }, [
			{ json: {} },
			{ json: {} },
			{ json: {} },
		]);
		expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(apiCalls(start)).toHaveLength(1);
	});
});

describe('machine: get many', () => {
	it('builds the $filter from every filter and respects the limit', async () => {
		const tag = `Tag ${unique()}`;
		const since = new Date(Date.now() - 3_600_000).toISOString();
		const matching = [0, 1, 2].map(() =>
			newMachine({
				computerDnsName: `gm-${unique()}.contoso.com`,
				healthStatus: 'Active',
				riskScore: 'High',
				exposureLevel: 'Medium',
				osPlatform: 'Windows10',
				machineTags: [tag],
				lastSeen: new Date().toISOString(),
			}),
		);
		newMachine({ machineTags: [tag], riskScore: 'Low', healthStatus: 'Active', lastSeen: new Date().toISOString() });
		const start = mark();
		const output = await run({
			operation: 'getAll',
			returnAll: false,
			limit: 2,
			filters: {
				computerDnsName: 'GM-',
				healthStatus: ['Active'],
				riskScore: ['High', 'Medium'],
				exposureLevel: ['Medium'],
				osPlatform: 'Windows10, Windows11',
				tag,
				lastSeenAfter: since,
			},
		});
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0].path).toBe('/api/machines');
		expect(calls[0].query).toEqual({
			$filter:
				"startswith(computerDnsName,'gm-') and healthStatus eq 'Active' and (riskScore eq 'High' or riskScore eq 'Medium')" +
				" and exposureLevel eq 'Medium' and (osPlatform eq 'Windows10' or osPlatform eq 'Windows11')" +
				` and machineTags/any(tag: tag eq '${tag}') and lastSeen gt ${since}`,
			$top: '2',
		});
		expect(output).toHaveLength(2);
		const ids = matching.map((m) => m.id);
		for (const item of output) expect(ids).toContain(item.json.id);
	});

	it('returns all machines with Return All', async () => {
		const start = mark();
		const output = await run({ operation: 'getAll', returnAll: true, filters: {} });
		const calls = apiCalls(start);
		expect(calls).toHaveLength(1);
		expect(calls[0].query).toEqual({ $top: '10000' });
		expect(output).toHaveLength(emu.machines.all().length);
	});

	it('rejects a bad date before sending anything', async () => {
		const start = mark();
		await expect(run({ operation: 'getAll', returnAll: true, filters: { lastSeenAfter: 'yesterday-ish' } })).rejects.toThrow(
			'Last Seen After "yesterday-ish" is not a date-time',
		);
		expect(apiCalls(start)).toHaveLength(0);
	});
});

describe('machine: find by IP / tag', () => {
	it('calls findbyip with the IP and the timestamp', async () => {
		const ip = `10.250.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 2}`;
		const machine = newMachine({
			lastIpAddress: ip,
			lastSeen: new Date().toISOString(),
			firstSeen: new Date(Date.now() - 86_400_000).toISOString(),
		});
		const timestamp = new Date(Date.now() - 60_000).toISOString();
		const start = mark();
		const output = await run({ operation: 'findByIp', ip, timestamp });
		const calls = apiCalls(start);
		expect(calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
			`GET /api/machines/findbyip(ip='${ip}',timestamp=${timestamp.slice(0, 19)}Z) 200`,
		]);
		expect(output.map((o) => o.json.id)).toEqual([machine.id]);
	});

	it('defaults the timestamp to now', async () => {
		const start = mark();
		const before = Date.now();
		await run({ operation: 'findByIp', ip: '192.0.2.77', timestamp: '' });
		const path = apiCalls(start)[0].path;
		const ts = /timestamp=([^)]+)\)/.exec(path)?.[1] ?? '';
		expect(Math.abs(Date.parse(ts) - before)).toBeLessThan(5_000);
	});

	it('rejects an invalid IP before sending anything', async () => {
		const start = mark();
		await expect(run({ operation: 'findByIp', ip: "10.0.0.1') or (x", timestamp: '' })).rejects.toThrow(
			'is not an IPv4 or IPv6 address',
		);
		expect(apiCalls(start)).toHaveLength(0);
	});

	it('finds machines by exact tag and by tag prefix', async () => {
		const prefix = `Case-${unique()}`;
		const a = newMachine({ machineTags: [`${prefix}`] });
		const b = newMachine({ machineTags: [`${prefix}-2`] });
		const start = mark();
		const exact = await run({ operation: 'findByTag', tag: prefix, useStartsWithFilter: false });
		const startsWith = await run({ operation: 'findByTag', tag: prefix, useStartsWithFilter: true });
		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.query])).toEqual([
			['GET', '/api/machines/findbytag', { tag: prefix, useStartsWithFilter: 'false' }],
			['GET', '/api/machines/findbytag', { tag: prefix, useStartsWithFilter: 'true' }],
		]);
		expect(exact.map((o) => o.json.id)).toEqual([a.id]);
		expect(startsWith.map((o) => o.json.id).sort()).toEqual([a.id, b.id].sort());
	});
});

describe('machine: tags', () => {
	it('adds and removes a tag with a PascalCase body', async () => {
		const machine = newMachine({ machineTags: [] });
		const start = mark();
		const added = await run({ operation: 'addTag', machineId: byId(machine.id), tag: ' Contained by SOC ' });
		const removed = await run({ operation: 'removeTag', machineId: byId(machine.id), tag: 'Contained by SOC' });
		const calls = apiCalls(start);
		expect(calls.map((c) => [c.method, c.path, c.body])).toEqual([
			['POST', `/api/machines/${machine.id}/tags`, { Value: 'Contained by SOC', Action: 'Add' }],
			['POST', `/api/machines/${machine.id}/tags`, { Value: 'Contained by SOC', Action: 'Remove' }],
		]);
		expect(added[0].json.machineTags).toEqual(['Contained by SOC']);
		expect(removed[0].json.machineTags).toEqual([]);
	});

	it('rejects an empty tag before sending anything', async () => {
		const machine = newMachine();
		const start = mark();
		await expect(run({ operation: 'addTag', machineId: byId(machine.id), tag: '  ' })).rejects.toThrow('Tag is empty');
		expect(apiCalls(start)).toHaveLength(0);
	});
});

describe('machine: response actions', () => {
	const cases: Array<{
		operation: string;
		type: string;
		segment: string;
		params?: IDataObject;
		body?: IDataObject;
		undoes?: string;
	}> = [
		{ operation: 'isolate', type: 'Isolate', segment: 'isolate', params: { isolationType: 'Selective' }, body: { IsolationType: 'Selective' } },
		{ operation: 'releaseIsolation', type: 'Unisolate', segment: 'unisolate', undoes: 'Isolate' },
		{ operation: 'runAntivirusScan', type: 'RunAntiVirusScan', segment: 'runAntiVirusScan', params: { scanType: 'Full' }, body: { ScanType: 'Full' } },
		{ operation: 'restrictAppExecution', type: 'RestrictCodeExecution', segment: 'restrictCodeExecution' },
		{ operation: 'removeAppRestriction', type: 'UnrestrictCodeExecution', segment: 'unrestrictCodeExecution', undoes: 'RestrictCodeExecution' },
		{ operation: 'collectInvestigationPackage', type: 'CollectInvestigationPackage', segment: 'collectInvestigationPackage' },
		{
			operation: 'stopAndQuarantineFile',
			type: 'StopAndQuarantineFile',
			segment: 'StopAndQuarantineFile',
			params: { sha1: sha1('evil').toUpperCase() },
			body: { Sha1: sha1('evil') },
		},
		{ operation: 'offboard', type: 'Offboard', segment: 'offboard' },
	];

	it.each(cases)('$operation: duplicate check, POST with the documented body, output as submitted', async (c) => {
		const machine = newMachine();
		const start = mark();
		const output = await run({
			operation: c.operation,
			machineId: byId(machine.id),
			comment: `Incident ${c.operation}`,
			waitForCompletion: false,
			...c.params,
		});
		const calls = apiCalls(start);
		expect(calls.map((e) => [e.method, e.path, e.query, e.body, e.status])).toEqual([
			// Release/unrestrict first check that the action they undo is not still pending (#5903).
			...(c.undoes ? [['GET', '/api/machineactions', { $filter: activeFilter(machine.id, c.undoes) }, undefined, 200]] : []),
			['GET', '/api/machineactions', { $filter: activeFilter(machine.id, c.type) }, undefined, 200],
			['POST', `/api/machines/${machine.id}/${c.segment}`, {}, { Comment: `Incident ${c.operation}`, ...c.body }, 201],
		]);
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({
			type: c.type,
			status: 'Pending',
			machineId: machine.id,
			requestorComment: `Incident ${c.operation}`,
			reusedExistingAction: false,
		});
		expect(emu.machineActions.get(String(output[0].json.id))?.type).toBe(c.type);
	});

	it('waits through Pending → InProgress → Succeeded and outputs the final action', async () => {
		const machine = newMachine();
		const start = mark();
		const started = Date.now();
		const output = await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'Ransomware on host',
			isolationType: 'Full',
			waitForCompletion: true,
			options: fastWait,
		});
		const elapsed = Date.now() - started;
		expect(output).toHaveLength(1);
		const action = output[0].json;
		expect(action).toMatchObject({ type: 'Isolate', status: 'Succeeded', scope: 'Full', reusedExistingAction: false });
		expect(action.waitTimedOut).toBeUndefined();
		expect(elapsed).toBeGreaterThanOrEqual(2 * STEP_MS - 50);
		const polls = apiCalls(start).filter((e) => e.path === `/api/machineactions/${String(action.id)}`);
		// Two lifecycle steps of 250 ms polled every 100 ms (fewer polls when the machine is busy).
		expect(polls.length).toBeGreaterThanOrEqual(2);
		expect(polls.every((p) => p.method === 'GET' && p.status === 200)).toBe(true);
	});

	it('shows the lifecycle step by step with Machine Action → Get', async () => {
		const machine = newMachine();
		const [submitted] = await run({
			operation: 'runAntivirusScan',
			machineId: byId(machine.id),
			comment: 'scan',
			scanType: 'Quick',
			waitForCompletion: false,
		});
		const id = String(submitted.json.id);
		const seen = new Set<string>([String(submitted.json.status)]);
		const nodeType = new MicrosoftDefender();
		const h = createHarness(
			nodeType,
			'microsoftDefender',
			{ resource: 'machineAction', operation: 'get', machineActionId: id },
			emulatorCredentials(emu),
		);
		for (let i = 0; i < 40 && !seen.has('Succeeded'); i++) {
			const [[item]] = await executeNode(h, nodeType);
			seen.add(String(item.json.status));
			await new Promise((r) => setTimeout(r, 50));
		}
		expect([...seen]).toEqual(['Pending', 'InProgress', 'Succeeded']);
	});

	it('fails the item when the action ends Failed, naming the action', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'RunAntiVirusScan', 'Failed');
		const error = await run({
			operation: 'runAntivirusScan',
			machineId: byId(machine.id),
			comment: 'scan',
			scanType: 'Quick',
			waitForCompletion: true,
			options: fastWait,
		}).catch((e: Error) => e);
		expect(error).toBeInstanceOf(Error);
		expect((error as Error).message).toMatch(
			new RegExp(`^Machine action [0-9a-f-]{36} \\(RunAntiVirusScan on ${machine.computerDnsName}\\) ended with status Failed$`),
		);
	});

	it('outputs a Failed action with "Output Unsuccessful Actions", and an error item with Continue On Fail', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'CollectInvestigationPackage', 'Failed');
		const [item] = await run({
			operation: 'collectInvestigationPackage',
			machineId: byId(machine.id),
			comment: 'forensics',
			waitForCompletion: true,
			options: { ...fastWait, outputUnsuccessful: true },
		});
		expect(item.json).toMatchObject({ type: 'CollectInvestigationPackage', status: 'Failed', reusedExistingAction: false });

		const other = newMachine();
		emu.machineActions.script(other.id, 'CollectInvestigationPackage', 'TimeOut');
		const [errorItem] = await run(
			{
				operation: 'collectInvestigationPackage',
				machineId: byId(other.id),
				comment: 'forensics',
				waitForCompletion: true,
				options: fastWait,
			},
			[{ json: {} }],
			{ continueOnFail: true },
		);
		expect(String(errorItem.json.error)).toContain('ended with status TimeOut');
		expect(errorItem.pairedItem).toEqual({ item: 0 });
	});

	it('reports a wait timeout as an error with the action ID to follow up', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'Isolate', 'Stuck');
		const started = Date.now();
		const error = await run(
			{
				operation: 'isolate',
				machineId: byId(machine.id),
				comment: 'stuck',
				isolationType: 'Full',
				waitForCompletion: true,
				options: { pollInterval: 0.2, waitTimeout: 1 },
			},
			[{ json: {} }],
			{ continueOnFail: true },
		);
		expect(Date.now() - started).toBeLessThan(5_000);
		const action = emu.machineActions.all().find((a) => a.machineId === machine.id)!;
		expect(action.status).toBe('Pending');
		expect(error[0].json.error).toBe(
			`Machine action ${action.id} (Isolate on ${machine.computerDnsName}) is still Pending after waiting 1 s`,
		);
		expect(String(error[0].json.errorDescription)).toContain(`Machine Action → Get using ID ${action.id}`);
	});

	it('outputs the still-running action with waitTimedOut when asked to', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'RestrictCodeExecution', 'Stuck');
		const [item] = await run({
			operation: 'restrictAppExecution',
			machineId: byId(machine.id),
			comment: 'stuck',
			waitForCompletion: true,
			options: { pollInterval: 0.2, waitTimeout: 1, outputUnsuccessful: true },
		});
		expect(item.json).toMatchObject({ status: 'Pending', waitTimedOut: true, reusedExistingAction: false });
	});

	it('resolves a machine name for a response action', async () => {
		const machine = newMachine();
		const start = mark();
		const [item] = await run({
			operation: 'runAntivirusScan',
			machineId: byName(machine.computerDnsName.split('.')[0]),
			comment: 'scan by name',
			scanType: 'Quick',
			waitForCompletion: false,
		});
		expect(item.json).toMatchObject({ machineId: machine.id, type: 'RunAntiVirusScan' });
		expect(summary(start)).toEqual([
			'GET /api/machines 200',
			'GET /api/machineactions 200',
			`POST /api/machines/${machine.id}/runAntiVirusScan 201`,
		]);
	});

	it('surfaces an API refusal (offboarding a Linux machine) with its code', async () => {
		const machine = newMachine({ osPlatform: 'Linux' });
		const error = await run({
			operation: 'offboard',
			machineId: byId(machine.id),
			comment: 'decommissioned',
			waitForCompletion: false,
		}).catch((e: Error & { httpCode?: string; description?: string }) => e);
		expect(error).toBeInstanceOf(Error);
		expect((error as { httpCode?: string }).httpCode).toBe('400');
		expect((error as Error).message).toContain('OsPlatformNotSupported');
	});

	describe('validation sends nothing', () => {
		it.each([
			[{ operation: 'isolate', comment: '  ' }, 'Comment is empty'],
			[{ operation: 'stopAndQuarantineFile', comment: 'x', sha1: 'abc' }, 'File SHA-1 "abc" is not a SHA-1 hash'],
			[{ operation: 'stopAndQuarantineFile', comment: 'x', sha1: sha1('a').slice(0, 39) + 'g' }, 'is not a SHA-1 hash'],
			[{ operation: 'runAntivirusScan', comment: 'x', machineId: byId('7b1f4967d9728e5aa3c06a9e617a22a4a5a1737') }, 'is not a machine ID'],
			[{ operation: 'offboard', comment: 'x', machineId: byName('') }, 'Machine name is empty'],
			[{ operation: 'isolate', comment: 'x', machineId: byName('bad name/with slash') }, 'is not a computer DNS name'],
		])('%j', async (params, message) => {
			const machine = newMachine();
			const start = mark();
			await expect(
				run({ machineId: byId(machine.id), waitForCompletion: false, ...(params as IDataObject) }),
			).rejects.toThrow(message);
			expect(apiCalls(start)).toHaveLength(0);
		});
	});
});

describe('machine: duplicate actions (never a second isolation)', () => {
	const isolationPosts = (from: number, machineId: string) =>
		apiCalls(from).filter((e) => e.method === 'POST' && e.path === `/api/machines/${machineId}/isolate`);

	it('two items isolating the same machine: one POST, both items get the same action', async () => {
		const machine = newMachine();
		const start = mark();
		const output = await run(
			{
				operation: 'isolate',
				machineId: byId(machine.id),
				comment: 'dup',
				isolationType: 'Full',
				waitForCompletion: false,
			},
			[{ json: {} }, { json: {} }],
		);
		expect(output).toHaveLength(2);
		expect(output[0].json.id).toBe(output[1].json.id);
		expect(output[0].json.reusedExistingAction).toBe(false);
		expect(output[1].json.reusedExistingAction).toBe(true);
		expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(isolationPosts(start, machine.id)).toHaveLength(1);
		expect(emu.machineActions.all().filter((a) => a.machineId === machine.id && a.type === 'Isolate')).toHaveLength(1);
	});

	it('two items with Wait for Completion: still one isolation', async () => {
		const machine = newMachine();
		const start = mark();
		const output = await run(
			{
				operation: 'isolate',
				machineId: byId(machine.id),
				comment: 'dup',
				isolationType: 'Full',
				waitForCompletion: true,
				options: fastWait,
			},
			[{ json: {} }, { json: {} }],
		);
		expect(output.map((o) => [o.json.status, o.json.reusedExistingAction])).toEqual([
			['Succeeded', false],
			['Succeeded', true],
		]);
		expect(output[0].json.id).toBe(output[1].json.id);
		expect(isolationPosts(start, machine.id)).toHaveLength(1);
	});

	it('an isolation already pending from an earlier run is returned, not queued again', async () => {
		const machine = newMachine();
		const [first] = await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'first',
			isolationType: 'Full',
			waitForCompletion: false,
		});
		const start = mark();
		const [second] = await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'second',
			isolationType: 'Selective',
			waitForCompletion: true,
			options: fastWait,
		});
		expect(second.json).toMatchObject({ id: first.json.id, reusedExistingAction: true, status: 'Succeeded', scope: 'Full' });
		expect(isolationPosts(start, machine.id)).toHaveLength(0);
		expect(summary(start)[0]).toBe('GET /api/machineactions 200');
	});

	it('fails instead with "If the Action Is Already Running: Fail", naming the running action', async () => {
		const machine = newMachine();
		const [first] = await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'first',
			waitForCompletion: false,
		});
		const start = mark();
		await expect(
			run({
				operation: 'isolate',
				machineId: byId(machine.id),
				comment: 'second',
				waitForCompletion: false,
				options: { ifAlreadyRunning: 'error' },
			}),
		).rejects.toThrow(
			`A Isolate action is already pending on machine ${machine.id} (machine action ID ${String(first.json.id)}). No new action was submitted.`,
		);
		expect(isolationPosts(start, machine.id)).toHaveLength(0);
	});

	it('a finished isolation does not block a new one', async () => {
		const machine = newMachine();
		await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'first',
			waitForCompletion: true,
			options: fastWait,
		});
		const start = mark();
		const [second] = await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'again',
			waitForCompletion: false,
		});
		expect(second.json.reusedExistingAction).toBe(false);
		expect(isolationPosts(start, machine.id)).toHaveLength(1);
	});

	it('quarantining a different file on the same machine is not a duplicate', async () => {
		const machine = newMachine();
		const params = { operation: 'stopAndQuarantineFile', machineId: byId(machine.id), comment: 'q', waitForCompletion: false };
		const [a] = await run({ ...params, sha1: sha1('one') });
		const start = mark();
		const [b] = await run({ ...params, sha1: sha1('one') });
		expect(b.json).toMatchObject({ id: a.json.id, reusedExistingAction: true });
		expect(apiCalls(start).filter((e) => e.method === 'POST')).toHaveLength(0);
		// Another file is submitted. The emulator refuses a second StopAndQuarantineFile while one is active on the
		// machine, whatever the file; the node must not pass off the other file's action as this one.
		const c = await run({ ...params, sha1: sha1('two') }, [{ json: {} }], { continueOnFail: true });
		const post = apiCalls(start).filter((e) => e.method === 'POST');
		expect(post.map((e) => [e.body, e.status])).toEqual([[{ Comment: 'q', Sha1: sha1('two') }, 400]]);
		expect(c[0].json.id).toBeUndefined();
		expect(String(c[0].json.error)).toMatch(/HTTP 400 ActiveRequestAlreadyExists: Action is already in progress/);
	});

	it('a POST refused as "already in progress" (race with another client) returns the running action', async () => {
		const machine = newMachine();
		// Another client isolated the machine a moment ago.
		const [other] = await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'other client',
			waitForCompletion: false,
		});
		const send = n8nSender(pollContext(createHarness(new MicrosoftDefender(), 'microsoftDefender', {}, emulatorCredentials(emu))));
		let lookups = 0;
		const racing: HttpSender = async (request) => {
			const response = await send(request);
			if (request.method === 'GET' && request.url.includes('/api/machineactions?') && lookups++ === 0) {
				return { ...response, body: { value: [] } };
			}
			return response;
		};
		const transport: TransportContext = { credentials: parseCredentials(emulatorCredentials(emu)), send: racing };
		const start = mark();
		const result = await submitMachineAction(transport, {
			machineId: machine.id,
			type: 'Isolate',
			endpoint: 'isolate',
			body: { Comment: 'race', IsolationType: 'Full' },
			ifAlreadyRunning: 'reuse',
		});
		expect(result.reusedExistingAction).toBe(true);
		expect(result.action.id).toBe(other.json.id);
		expect(summary(start)).toEqual([
			'GET /api/machineactions 200',
			`POST /api/machines/${machine.id}/isolate 400`,
			'GET /api/machineactions 200',
		]);
		expect(emu.machineActions.all().filter((a) => a.machineId === machine.id)).toHaveLength(1);
	});
});

describe('machine: releasing while the isolation is still pending (#5903)', () => {
	async function pendingIsolation(machine: Machine): Promise<IDataObject> {
		emu.machineActions.script(machine.id, 'Isolate', 'Stuck');
		const [item] = await run({
			operation: 'isolate',
			machineId: byId(machine.id),
			comment: 'contain',
			waitForCompletion: false,
		});
		return item.json;
	}

	it('fails by default, naming the pending isolation, and releases nothing', async () => {
		const machine = newMachine();
		const isolation = await pendingIsolation(machine);
		const start = mark();
		const error = await run({
			operation: 'releaseIsolation',
			machineId: byId(machine.id),
			comment: 'all clear',
			waitForCompletion: false,
		}).catch((e: Error & { description?: string }) => e);
		expect((error as Error).message).toBe(
			`Machine action ${String(isolation.id)} (Isolate on ${machine.computerDnsName}) is still Pending; Unisolate was not submitted`,
		);
		expect((error as { description?: string }).description).toContain(`Machine Action → Cancel (ID ${String(isolation.id)})`);
		expect(summary(start)).toEqual(['GET /api/machineactions 200']);
	});

	it('cancels the pending isolation first when asked to, then releases', async () => {
		const machine = newMachine();
		const isolation = await pendingIsolation(machine);
		const start = mark();
		const [item] = await run({
			operation: 'releaseIsolation',
			machineId: byId(machine.id),
			comment: 'all clear',
			waitForCompletion: true,
			options: { ...fastWait, ifUndoneActionPending: 'cancel' },
		});
		const calls = apiCalls(start);
		expect(calls.slice(0, 4).map((e) => [e.method, e.path, e.body, e.status])).toEqual([
			['GET', '/api/machineactions', undefined, 200],
			['POST', `/api/machineactions/${String(isolation.id)}/cancel`, { Comment: 'Cancelled before Unisolate: all clear' }, 200],
			['GET', '/api/machineactions', undefined, 200],
			['POST', `/api/machines/${machine.id}/unisolate`, { Comment: 'all clear' }, 201],
		]);
		expect(item.json).toMatchObject({ type: 'Unisolate', status: 'Succeeded', cancelledActionIds: [isolation.id] });
		expect(emu.machineActions.get(String(isolation.id))?.status).toBe('Cancelled');
	});

	it('submits anyway when told to', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'RestrictCodeExecution', 'Stuck');
		await run({ operation: 'restrictAppExecution', machineId: byId(machine.id), comment: 'r', waitForCompletion: false });
		const start = mark();
		const [item] = await run({
			operation: 'removeAppRestriction',
			machineId: byId(machine.id),
			comment: 'u',
			waitForCompletion: false,
			options: { ifUndoneActionPending: 'ignore' },
		});
		expect(item.json).toMatchObject({ type: 'UnrestrictCodeExecution', status: 'Pending' });
		expect(summary(start)).toEqual([
			'GET /api/machineactions 200',
			`POST /api/machines/${machine.id}/unrestrictCodeExecution 201`,
		]);
	});
});

describe('machine: waiting stops when the execution is cancelled', () => {
	it('returns at once with aborted, without polling', async () => {
		const machine = newMachine();
		emu.machineActions.script(machine.id, 'RunAntiVirusScan', 'Stuck');
		const [submitted] = await run({
			operation: 'runAntivirusScan',
			machineId: byId(machine.id),
			comment: 's',
			scanType: 'Quick',
			waitForCompletion: false,
		});
		const controller = new AbortController();
		controller.abort();
		const transport: TransportContext = {
			credentials: parseCredentials(emulatorCredentials(emu)),
			send: n8nSender(pollContext(createHarness(new MicrosoftDefender(), 'microsoftDefender', {}, emulatorCredentials(emu)))),
		};
		const start = mark();
		const result = await waitForMachineAction(transport, submitted.json as never, {
			timeoutMs: 10_000,
			pollIntervalMs: 100,
			signal: controller.signal,
		});
		expect(result).toMatchObject({ aborted: true, timedOut: false });
		expect(apiCalls(start)).toHaveLength(0);
	});
});

describe('machine: list search (searchMachines)', () => {
	function loadOptionsContext(): LoadOptionsContext {
		const h = createHarness(new MicrosoftDefender(), 'microsoftDefender', { resource: 'machine', operation: 'get' }, emulatorCredentials(emu));
		return loadOptionsContextFor(h, 'parameters.machineId');
	}

	it('searches by computer name prefix, 50 per page', async () => {
		const prefix = `ls-${unique()}`;
		const created = Array.from({ length: 55 }, (_, i) =>
			newMachine({ computerDnsName: `${prefix}-${String(i).padStart(2, '0')}.contoso.com`, osPlatform: 'Windows11' }),
		);
		const context = loadOptionsContext();
		const start = mark();
		const first = await searchMachines.call(context, prefix.toUpperCase());
		expect(first.results).toHaveLength(50);
		expect(first.paginationToken).toBe('50');
		const second = await searchMachines.call(context, prefix, first.paginationToken);
		expect(second.results).toHaveLength(5);
		expect(second.paginationToken).toBeUndefined();
		expect(apiCalls(start).map((e) => [e.path, e.query])).toEqual([
			['/api/machines', { $filter: `startswith(computerDnsName,'${prefix}')`, $top: '50' }],
			['/api/machines', { $filter: `startswith(computerDnsName,'${prefix}')`, $top: '50', $skip: '50' }],
		]);
		const all = [...first.results, ...second.results];
		expect(all.map((r) => r.value).sort()).toEqual(created.map((m) => m.id).sort());
		const one = all.find((r) => r.value === created[0].id)!;
		expect(one.name).toBe(`${created[0].computerDnsName} (Windows11)`);
	});

	it('lists machines without a filter', async () => {
		const start = mark();
		const result = await searchMachines.call(loadOptionsContext());
		expect(result.results.length).toBeGreaterThan(0);
		expect(apiCalls(start)[0].query).toEqual({ $top: '50' });
	});
});

describe('machine: node description', () => {
	const properties = new MicrosoftDefender().description.properties;
	const shownFor = (resource: string, operation: string) =>
		properties.filter((p) => {
			const show = p.displayOptions?.show as Record<string, unknown[]> | undefined;
			return show?.resource?.includes(resource) && show.operation?.includes(operation);
		});
	const operationsOf = (resource: string) =>
		properties
			.filter((p) => p.name === 'operation' && (p.displayOptions?.show?.resource as string[]).includes(resource))
			.flatMap((p) => (p.options ?? []) as Array<{ value: string; description?: string; action?: string }>);

	it.each(['machine', 'machineAction'])('%s: every operation has a handler and unique parameter names', async (resource) => {
		const { operations } = resource === 'machine' ? await import('../../nodes/MicrosoftDefender/actions/machine') : await import('../../nodes/MicrosoftDefender/actions/machineAction');
		const listed = operationsOf(resource).map((o) => o.value);
		expect(listed.sort()).toEqual(Object.keys(operations).sort());
		for (const operation of listed) {
			const names = shownFor(resource, operation).map((p) => p.name);
			expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
		}
	});

	it('marks the destructive operations as such, for people and for agents', () => {
		const destructive = ['isolate', 'offboard', 'restrictAppExecution', 'stopAndQuarantineFile'];
		for (const option of operationsOf('machine')) {
			const isDestructive = destructive.includes(option.value);
			expect([option.value, /^Destructive: .*Consider a human approval step before it in agent workflows\.$/.test(option.description ?? '')]).toEqual([option.value, isDestructive]);
			expect([option.value, /destructive action so consider a human approval step first$/.test(option.action ?? '')]).toEqual([option.value, isDestructive]);
			const notice = shownFor('machine', option.value).find((p) => p.type === 'notice');
			expect([option.value, Boolean(notice?.displayName.startsWith('Destructive:'))]).toEqual([option.value, isDestructive]);
		}
	});
});
