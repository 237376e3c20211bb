/**
 * The Automated Investigation resource run through n8n-core's ExecuteContext against the emulator: Get (by
 * investigation or triggering alert id), Get Many (documented filters as OData, paged over several pages with
 * Return All or a Limit, items equal to the emulator's), Start (the machine locator, the duplicate guard, one start
 * per machine per execution, a lost answer read back instead of starting twice), the permission a 403 names, and
 * bad input refused before any request.
 */
import type { IDataObject, INodeExecutionData, NodeApiError } from 'n8n-workflow';

import { investigationFilter } from '../../nodes/MicrosoftDefender/actions/investigation/getAll.operation';
import { stableListSettings, transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { rateLimitFamily } from '../../nodes/MicrosoftDefender/transport/rateLimiter';
import { startEmulator, type Emulator } from '../emulator';
import type { Alert, Machine } from '../emulator/types';
import { actionRunner, failure } from '../helpers/actions';

let emu: Emulator;
const PAGE = 4;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	stableListSettings.pageSize = PAGE;
	stableListSettings.overlap = 2;
	emu = await startEmulator();
});

afterAll(async () => {
	await emu?.close();
});

const run = actionRunner(() => emu, { defaults: { resource: 'investigation' } });
const mark = () => emu.requestLog.length;
const apiCalls = (from: number) => emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/'));
const requests = (from: number) => apiCalls(from).map((e) => ({ method: e.method, path: e.path, query: e.query, status: e.status }));
const jsonOf = (output: INodeExecutionData[]) => output.map((i) => i.json);
const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });
const hoursAgo = (h: number) => new Date(emu.clock.now().getTime() - h * 3600000).toISOString();
const machineFilter = (id: string) => `machineId eq '${id}'`;
let m1: Machine;
let m2: Machine;
let alerts: Alert[];

beforeEach(() => {
	emu.reset();
	m1 = emu.machines.create({ osPlatform: 'Windows11' });
	m2 = emu.machines.create({ osPlatform: 'WindowsServer2022' });
	// Ten investigations from alerts, an hour apart, alternating machines; states cycle.
	const states = ['Running', 'Benign', 'SuccessfullyRemediated', 'PendingApproval', 'Failed'];
	alerts = Array.from({ length: 10 }, (_, i) =>
		emu.alerts.create({
			machineId: (i % 2 ? m2 : m1).id,
			alertCreationTime: hoursAgo(30 - i),
			investigationId: 7000 + i,
			investigationState: states[i % states.length],
			status: 'Resolved',
			evidence: [],
		}),
	);
});

describe('investigation: get', () => {
	it('gets an investigation by its ID or by its triggering alert ID', async () => {
		let start = mark();
		let output = await run({ operation: 'get', investigationId: '7003' });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/investigations/7003', query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual([emu.investigations.get('7003')]);
		expect(output[0].json).toMatchObject({ id: '7003', state: 'PendingApproval', machineId: m2.id, triggeringAlertId: alerts[3].id });

		start = mark();
		output = await run({ operation: 'get', investigationId: alerts[4].id });
		expect(requests(start)).toEqual([{ method: 'GET', path: `/api/investigations/${alerts[4].id}`, query: {}, status: 200 }]);
		expect(output[0].json.id).toBe('7004');
	});

	it('an unknown investigation is the API 404; a malformed ID never reaches the API', async () => {
		const error = await failure(run({ operation: 'get', investigationId: '123' }));
		expect(error.httpCode).toBe('404');
		const output = await run(
			{ operation: 'get', investigationId: '={{ $json.id }}' },
			[{ json: { id: '7001' } }, { json: { id: '../machines' } }],
			{ continueOnFail: true },
		);
		expect(output[0].json.id).toBe('7001');
		expect(output[1].json.error).toMatch(/Investigation ID "..\/machines" is neither an investigation ID \(a number such as 63017\) nor the ID of the alert that triggered it/);
	});
});

describe('investigation: get many', () => {
	it('Return All reads every page ($top/$skip, re-reading 2 rows per page) and outputs what the emulator lists', async () => {
		const start = mark();
		const output = await run({ operation: 'getAll', returnAll: true });
		const calls = requests(start);
		expect(calls.length).toBeGreaterThan(1);
		// Pages of 4, each next one starting 2 rows back (mdeListStable's overlap), until a short page.
		expect(calls.map((c) => c.query)).toEqual([
			{ $top: '4' },
			{ $top: '4', $skip: '2' },
			{ $top: '4', $skip: '4' },
			{ $top: '4', $skip: '6' },
			{ $top: '4', $skip: '8' },
		]);
		expect(calls.every((c) => c.path === '/api/investigations' && c.status === 200)).toBe(true);
		expect(jsonOf(output)).toEqual(emu.investigations.all());
		expect(output).toHaveLength(10);
	});

	it('a Limit stops after that many, over more than one page', async () => {
		const start = mark();
		const output = await run({ operation: 'getAll', returnAll: false, limit: 5 });
		expect(requests(start).map((c) => c.query)).toEqual([{ $top: '4' }, { $top: '3', $skip: '2' }]);
		expect(jsonOf(output)).toEqual(emu.investigations.all().slice(0, 5));
	});

	it('sends the filters as OData on the documented properties and returns the matching investigations', async () => {
		const filters = {
			states: ['Running', 'PendingApproval', 'SuccessfullyRemediated'],
			machineId: m1.id.toUpperCase(),
			startedAfter: hoursAgo(29.5),
			startedBefore: hoursAgo(20.5),
		};
		const start = mark();
		const output = await run({ operation: 'getAll', returnAll: true, filters });
		const expected =
			`(state eq 'Running' or state eq 'PendingApproval' or state eq 'SuccessfullyRemediated') and machineId eq '${m1.id}'` +
			` and startTime ge ${new Date(filters.startedAfter).toISOString()} and startTime lt ${new Date(filters.startedBefore).toISOString()}`;
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/investigations', query: { $filter: expected, $top: '4' }, status: 200 }]);
		// m1 has 7000, 7002, 7004, 7006, 7008; in the window 7002 (SuccessfullyRemediated), 7004 (Failed), 7006 (Benign), 7008 (PendingApproval).
		expect(output.map((i) => i.json.id)).toEqual(['7002', '7008']);
		expect(jsonOf(output)).toEqual(emu.investigations.all().filter((i) => ['7002', '7008'].includes(i.id)));

		const one = await run({ operation: 'getAll', returnAll: true, filters: { triggeringAlertId: alerts[6].id } });
		expect(one.map((i) => i.json.id)).toEqual(['7006']);
		expect(investigationFilter({ states: 'Running, Benign' })).toBe("(state eq 'Running' or state eq 'Benign')");
	});

	it('no match: no items', async () => {
		expect(await run({ operation: 'getAll', returnAll: true, filters: { states: ['InnerFailure'] } })).toEqual([]);
	});
});

describe('investigation: start', () => {
	const startParams = (machine: Machine | IDataObject, extra: IDataObject = {}) => ({
		operation: 'start',
		machineId: 'id' in machine && typeof machine.id === 'string' && !('__rl' in machine) ? byId(machine.id) : machine,
		comment: 'Investigate from n8n',
		...extra,
	});

	it('reads the machine\'s investigations, then POSTs startInvestigation with the Comment; outputs the new investigation', async () => {
		const machine = emu.machines.create({ osPlatform: 'Windows11' });
		const start = mark();
		const output = await run(startParams(machine));
		expect(requests(start)).toEqual([
			{ method: 'GET', path: '/api/investigations', query: { $filter: machineFilter(machine.id), $top: '4' }, status: 200 },
			{ method: 'POST', path: `/api/machines/${machine.id}/startInvestigation`, query: {}, status: 201 },
		]);
		expect(apiCalls(start)[1].body).toEqual({ Comment: 'Investigate from n8n' });
		const started = emu.investigations.all().filter((i) => i.machineId === machine.id);
		expect(started).toHaveLength(1);
		expect(jsonOf(output)).toEqual([{ ...started[0], reusedExistingInvestigation: false }]);
		expect(output[0].json).toMatchObject({ state: 'Running', triggeringAlertId: null, computerDnsName: machine.computerDnsName });
	});

	it('takes the machine by name (the shared machine locator), and reports an unsupported OS as Defender does', async () => {
		const linux = emu.machines.create({ osPlatform: 'Linux', computerDnsName: 'ubuntu-build-7.contoso.com' });
		const start = mark();
		const output = await run(startParams({ __rl: true, mode: 'name', value: 'ubuntu-build-7' }));
		expect(requests(start).map((r) => `${r.method} ${r.path}`)).toEqual([
			'GET /api/machines',
			'GET /api/investigations',
			`POST /api/machines/${linux.id}/startInvestigation`,
		]);
		expect(output[0].json).toMatchObject({ machineId: linux.id, state: 'UnsupportedOs', reusedExistingInvestigation: false });
	});

	it('an investigation still running on the machine is returned instead of starting another', async () => {
		// m1's investigations from alerts: 7000 Running, 7008 PendingApproval (newest active).
		const start = mark();
		const output = await run(startParams(m1));
		expect(requests(start).map((r) => r.method)).toEqual(['GET', 'GET']);
		expect(jsonOf(output)).toEqual([{ ...emu.investigations.get('7008'), reusedExistingInvestigation: true }]);

		const error = await failure(run(startParams(m1, { options: { ifAlreadyRunning: 'error' } })));
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toBe(`Automated investigation 7008 of machine ${m1.id} is still PendingApproval; no investigation was started`);

		const before = emu.investigations.all().length;
		const again = await run(startParams(m1, { options: { ifAlreadyRunning: 'start' } }));
		expect(again[0].json).toMatchObject({ state: 'Running', reusedExistingInvestigation: false });
		expect(emu.investigations.all()).toHaveLength(before + 1);
	});

	it('items naming the same machine start one investigation; a finished one is no duplicate', async () => {
		const machine = emu.machines.create({ osPlatform: 'Windows10' });
		const first = emu.investigations.start(machine.id);
		emu.clock.advance(5000);
		expect(emu.investigations.get(first.id)!.state).toBe('Benign');

		const start = mark();
		const output = await run(
			{ operation: 'start', machineId: byId('={{ $json.machine }}'), comment: '={{ "alert " + $json.n }}' },
			[{ json: { machine: machine.id, n: 1 } }, { json: { machine: machine.id.toUpperCase(), n: 2 } }, { json: { machine: m2.id, n: 3 } }],
		);
		// m2 has investigations still running (from its alerts): reused, not started.
		expect(requests(start).filter((r) => r.method === 'POST').map((r) => r.path)).toEqual([`/api/machines/${machine.id}/startInvestigation`]);
		expect(output.map((i) => [i.pairedItem, i.json.machineId, i.json.reusedExistingInvestigation])).toEqual([
			[{ item: 0 }, machine.id, false],
			[{ item: 1 }, machine.id, true],
			[{ item: 2 }, m2.id, true],
		]);
		expect(output[1].json.id).toBe(output[0].json.id);
	});

	it('a lost answer is read back: the investigation it started is returned and none is started twice', async () => {
		const machine = emu.machines.create({ osPlatform: 'Windows11' });
		emu.faults.inject({ kind: 'reset', after: true, match: /^POST \/api\/machines\/[^/]+\/startInvestigation$/ });
		const start = mark();
		const output = await run(startParams(machine));
		const calls = apiCalls(start).map((c) => `${c.method} ${c.status}${c.handledStatus ? `/${c.handledStatus}` : ''}`);
		expect(calls).toEqual(['GET 200', 'POST 0/201', 'GET 200']);
		const investigations = emu.investigations.all().filter((i) => i.machineId === machine.id);
		expect(investigations).toHaveLength(1);
		expect(jsonOf(output)).toEqual([{ ...investigations[0], reusedExistingInvestigation: false }]);
	});

	it('a failure before the API acted is read back as not started, and sent again once', async () => {
		const machine = emu.machines.create({ osPlatform: 'Windows11' });
		emu.faults.inject({ kind: '500', match: /^POST \/api\/machines\/[^/]+\/startInvestigation$/ });
		const start = mark();
		const output = await run(startParams(machine));
		expect(apiCalls(start).map((c) => `${c.method} ${c.status}`)).toEqual(['GET 200', 'POST 500', 'GET 200', 'POST 201']);
		expect(emu.investigations.all().filter((i) => i.machineId === machine.id)).toHaveLength(1);
		expect(output[0].json.reusedExistingInvestigation).toBe(false);
	});
});

describe('investigation: start rate limit', () => {
	it('the client-side limiter holds starts to the documented 50 calls an hour, in a bucket of their own', () => {
		expect(rateLimitFamily('POST', `/api/machines/${'a'.repeat(40)}/startInvestigation`)).toEqual({
			family: 'start-investigation',
			limits: [{ max: 50, windowMs: 3_600_000 }],
		});
		expect(rateLimitFamily('GET', '/api/investigations').limits).toEqual([
			{ max: 100, windowMs: 60_000 },
			{ max: 1500, windowMs: 3_600_000 },
		]);
	});
});

describe('investigation: a 403 names the missing permission', () => {
	it('Start needs Alert.ReadWrite.All (a read-only app can still list)', async () => {
		const client = emu.addClient({ roles: ['Alert.Read.All'] });
		const machine = emu.machines.create({ osPlatform: 'Windows11' });
		const start = mark();
		const error = await failure(run({ operation: 'start', machineId: byId(machine.id), comment: 'x' }, [{ json: {} }], { client }));
		expect((error as NodeApiError).httpCode).toBe('403');
		expect(error.message).toMatch(
			/^POST \/api\/machines\/[0-9a-f]{40}\/startInvestigation failed: HTTP 403 Forbidden: .*Starting an automated investigation needs the WindowsDefenderATP application permission Alert\.ReadWrite\.All, with admin consent\.$/,
		);
		expect(requests(start).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200', 'POST 403']);
		expect(emu.investigations.all().filter((i) => i.machineId === machine.id)).toEqual([]);
	});

	it('Get and Get Many need Alert.Read.All (or Alert.ReadWrite.All)', async () => {
		const client = emu.addClient({ roles: ['Machine.ReadWrite.All', 'File.Read.All'] });
		for (const parameters of [{ operation: 'get', investigationId: '7001' }, { operation: 'getAll', returnAll: true }]) {
			const error = await failure(run(parameters, [{ json: {} }], { client }));
			expect((error as NodeApiError).httpCode).toBe('403');
			expect(error.message).toContain(
				'Reading automated investigations needs the WindowsDefenderATP application permission Alert.Read.All (or Alert.ReadWrite.All), with admin consent.',
			);
		}
	});
});

describe('investigation: bad input is refused before any request', () => {
	const cases: Array<[string, IDataObject, RegExp]> = [
		['an empty investigation ID', { operation: 'get', investigationId: ' ' }, /Investigation ID is empty/],
		['an ID that is neither', { operation: 'get', investigationId: 'abc' }, /Investigation ID "abc" is neither an investigation ID/],
		['a bad machine ID filter', { operation: 'getAll', returnAll: true, filters: { machineId: 'desktop-1' } }, /Machine ID "desktop-1" is not a machine ID \(40 hexadecimal characters\)/],
		['a bad triggering alert ID', { operation: 'getAll', returnAll: true, filters: { triggeringAlertId: 'x/y' } }, /Triggering Alert ID "x\/y" is not a Defender for Endpoint alert ID/],
		['an unknown state', { operation: 'getAll', returnAll: true, filters: { states: ['Done'] } }, /Filters › State "Done" is not an investigation state\. Use one of: Benign, .*, Pre-Existing Alert, .*Unsupported OS\./],
		['a bad start time', { operation: 'getAll', returnAll: true, filters: { startedAfter: 'yesterday-ish' } }, /Started After "yesterday-ish" is not a date-time/],
		['a limit of 0', { operation: 'getAll', returnAll: false, limit: 0 }, /Limit "0" is not valid/],
		['an empty comment', { operation: 'start', machineId: byId('a'.repeat(40)), comment: '  ' }, /Comment is empty/],
		['a bad machine ID', { operation: 'start', machineId: byId('not-a-machine'), comment: 'x' }, /Machine ID "not-a-machine" is not a machine ID/],
	];

	it.each(cases)('%s', async (_name, parameters, message) => {
		const before = emu.stats().total;
		const error = await failure(run(parameters));
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toMatch(message);
		expect(emu.stats().total).toBe(before);
	});
});
