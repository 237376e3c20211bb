/**
 * Live response through n8n-core's ExecuteContext against the emulator: Machine › Run Live Response (the exact
 * body, script results as fields, collected files as binary data fetched without the bearer token, a failing
 * command, a machine with a session open, the 10-per-minute limit, answers lost after the API acted), Machine
 * Action › Get Live Response Result (an expired link asked for again), the Live Response Library resource (upload
 * of a binary, list, delete, the 20 MB limit), validation before any request, the permission a 403 names, and no
 * secret in anything a user sees.
 */
import { createHash, randomBytes } from 'crypto';
import type { IDataObject, IHttpRequestOptions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { LIBRARY_MAX_BYTES } from '../../nodes/MicrosoftDefender/helpers/liveResponse';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator, type Machine, type RequestLogEntry } from '../emulator';
import { actionRunner, failure } from '../helpers/actions';
import { createObserver } from '../helpers/observed';
import { interceptOutboundRequests } from '../helpers/outbound';

const STEP_MS = 100;
let emu: Emulator;
const saved = { ...transportSettings };
const observer = createObserver();

/** Every request n8n's HTTP client sends, to check what went to the download host. */
const outbound: IHttpRequestOptions[] = [];
/** Called before each outbound request (a test's hook). */
let beforeSend: ((options: IHttpRequestOptions) => void) | undefined;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	transportSettings.maxDelayMs = 50;
	// The emulator enforces no limits unless a test turns them on; the client-side limiter's windows are scaled so
	// the fast status polls here do not stall on 100 reads a minute (the 10/min test scales the emulator alike).
	transportSettings.rateLimitTimeScale = 60;
	emu = await startEmulator({ machineActionStepMs: STEP_MS });
	interceptOutboundRequests((options) => {
		outbound.push(options);
		beforeSend?.(options);
	});
	emu.liveResponse.addLibraryFile('collect.ps1', 'Get-Process | Out-File C:\\Temp\\procs.txt', { hasParameters: true });
	emu.liveResponse.addLibraryFile('tool.exe', randomBytes(64));
	emu.liveResponse.addLibraryFile('broken.ps1', 'throw "no"');
	emu.liveResponse.setScriptResult('broken.ps1', 'fail');
});

afterAll(async () => {
	jest.restoreAllMocks();
	Object.assign(transportSettings, saved);
	await emu?.close();
});

beforeEach(() => {
	emu.faults.clear();
	beforeSend = undefined;
});

const unique = () => randomBytes(4).toString('hex');
const mark = () => emu.requestLog.length;
const apiCalls = (from: number) => emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/'));
const posts = (from: number) => emu.requestLog.slice(from).filter((e) => e.method === 'POST' && /\/runliveresponse$/.test(e.path));
const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });
const fast = { pollInterval: 0.1, waitTimeout: 20 };

function newMachine(partial: Partial<Machine> = {}): Machine {
	return emu.machines.create({ computerDnsName: `lr-${unique()}.contoso.com`, osPlatform: 'Windows11', healthStatus: 'Active', ...partial });
}

const run = actionRunner(() => emu, { observer });

const command = {
	put: (fileName: string) => ({ type: 'PutFile', fileName }),
	script: (scriptName: string, args = '') => ({ type: 'RunScript', scriptName, args }),
	get: (path: string) => ({ type: 'GetFile', path }),
};

function liveResponse(machine: Machine, commands: IDataObject[], extra: IDataObject = {}): IDataObject {
	return {
		resource: 'machine',
		operation: 'runLiveResponse',
		machineId: byId(machine.id),
		commands: { command: commands },
		comment: `Triage ${unique()}`,
		options: fast,
		...extra,
	};
}

const bytesOf = (item: INodeExecutionData, field: string) => Buffer.from(item.binary![field].data, 'base64');
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

describe('machine: run live response', () => {
	it('PutFile + RunScript + GetFile: the exact body, the transcript as fields, the file as binary data', async () => {
		const machine = newMachine();
		const evidence = Buffer.from(`evidence ${unique()}\r\n`.repeat(50));
		emu.liveResponse.setMachineFiles(machine.id, { 'C:\\Temp\\evidence.log': evidence });
		emu.liveResponse.setScriptResult('collect.ps1', { exit_code: 3, script_output: 'collected 12 processes\n', script_errors: 'access denied: 1' });
		const parameters = liveResponse(machine, [command.put('tool.exe'), command.script('collect.ps1', '-Deep'), command.get('C:\\Temp\\evidence.log')]);
		const start = mark();
		const outboundStart = outbound.length;
		const output = await run(parameters);

		const [post] = posts(start);
		expect(post.body).toEqual({
			Commands: [
				{ type: 'PutFile', params: [{ key: 'FileName', value: 'tool.exe' }] },
				{ type: 'RunScript', params: [{ key: 'ScriptName', value: 'collect.ps1' }, { key: 'Args', value: '-Deep' }] },
				{ type: 'GetFile', params: [{ key: 'Path', value: 'C:\\Temp\\evidence.log' }] },
			],
			Comment: parameters.comment,
		});
		expect(post.status).toBe(201);

		expect(output).toHaveLength(1);
		const [item] = output;
		expect(item.pairedItem).toEqual({ item: 0 });
		const id = String(item.json.id);
		expect(item.json).toMatchObject({ id, type: 'LiveResponse', status: 'Succeeded', machineId: machine.id, requestorComment: parameters.comment });
		const commands = item.json.commands as IDataObject[];
		expect(commands.map((c) => [c.index, c.commandStatus])).toEqual([
			[0, 'Completed'],
			[1, 'Completed'],
			[2, 'Completed'],
		]);
		// PutFile has no result.
		expect(Object.keys(commands[0]).sort()).toEqual(['command', 'commandStatus', 'endTime', 'errors', 'index', 'startTime']);
		expect(commands[1]).toMatchObject({
			script_name: 'collect.ps1',
			exit_code: 3,
			script_output: 'collected 12 processes\n',
			script_errors: 'access denied: 1',
		});
		const expected = emu.liveResponse.resultBytes(id, 2)!;
		expect(commands[2]).toMatchObject({ binaryPropertyName: 'data', fileName: 'evidence.log.zip', fileSize: expected.length });
		expect(Object.keys(item.binary ?? {})).toEqual(['data']);
		expect(item.binary!.data).toMatchObject({ mimeType: 'application/zip', fileName: 'evidence.log.zip', fileExtension: 'zip' });
		expect(bytesOf(item, 'data').equals(expected)).toBe(true);
		expect(bytesOf(item, 'data').subarray(0, 4).toString('hex')).toBe('504b0304');

		// One session; the results came through short-lived links fetched without the bearer token.
		expect(emu.liveResponse.sessions().filter((s) => s.machineId === machine.id)).toHaveLength(1);
		const links = apiCalls(start).filter((e) => e.path.includes('GetLiveResponseResultDownloadLink'));
		expect(links.map((e) => `${e.path.replace(id, '<id>')} ${e.status}`)).toEqual([
			'/api/machineactions/<id>/GetLiveResponseResultDownloadLink(index=1) 200',
			'/api/machineactions/<id>/GetLiveResponseResultDownloadLink(index=2) 200',
		]);
		const downloads = outbound.slice(outboundStart).filter((o) => String(o.url).includes('/_download/liveresponse/'));
		expect(downloads).toHaveLength(2);
		for (const download of downloads) {
			expect(Object.keys(download.headers ?? {}).map((k) => k.toLowerCase())).not.toContain('authorization');
		}
		const postSent = outbound.slice(outboundStart).find((o) => String(o.url).endsWith('/runliveresponse'))!;
		expect(String((postSent.headers as IDataObject).Authorization)).toMatch(/^Bearer /);
	});

	it('files of several GetFile commands land in data, data_1, … (each command names its field)', async () => {
		const machine = newMachine();
		emu.liveResponse.setMachineFiles(machine.id, { 'C:\\a.txt': 'first', 'C:\\logs\\b.zip': 'second', '/tmp/c': 'third' });
		const output = await run(
			liveResponse(machine, [command.get('C:\\a.txt'), command.get('C:\\logs\\b.zip'), command.get('/tmp/c')], {
				options: { ...fast, binaryPropertyName: 'evidence' },
			}),
		);
		const [item] = output;
		const id = String(item.json.id);
		const commands = item.json.commands as IDataObject[];
		expect(commands.map((c) => [c.binaryPropertyName, c.fileName])).toEqual([
			['evidence', 'a.txt.zip'],
			['evidence_1', 'b.zip'],
			['evidence_2', 'c.zip'],
		]);
		expect(Object.keys(item.binary!)).toEqual(['evidence', 'evidence_1', 'evidence_2']);
		[0, 1, 2].forEach((index, n) => {
			const field = n === 0 ? 'evidence' : `evidence_${n}`;
			expect(bytesOf(item, field).equals(emu.liveResponse.resultBytes(id, index)!)).toBe(true);
		});
	});

	it('without waiting: the action as submitted, then Get Live Response Result gives each result', async () => {
		const machine = newMachine();
		emu.liveResponse.setMachineFiles(machine.id, { 'C:\\x.bin': randomBytes(300) });
		const [submitted] = await run(liveResponse(machine, [command.script('collect.ps1'), command.get('C:\\x.bin')], { waitForCompletion: false }));
		expect(submitted.json).toMatchObject({ type: 'LiveResponse', status: 'Pending' });
		expect((submitted.json.commands as IDataObject[]).map((c) => c.commandStatus)).toEqual(['Created', 'Created']);
		expect(submitted.binary).toBeUndefined();
		const id = String(submitted.json.id);

		// Too early: a clear error, not an empty result.
		const early = await failure(run({ resource: 'machineAction', operation: 'getLiveResponseResult', machineActionId: id, commandIndex: 1 }));
		expect(early.message).toBe(`Command 1 (GetFile) of live response action ${id} is Created, not Completed: it has no result yet`);

		while (emu.machineActions.get(id)?.status !== 'Succeeded') await sleep(STEP_MS);
		const [script] = await run({ resource: 'machineAction', operation: 'getLiveResponseResult', machineActionId: id, commandIndex: 0 });
		expect(script.json).toMatchObject({ machineActionId: id, index: 0, commandStatus: 'Completed', script_name: 'collect.ps1', exit_code: 3 });
		expect(script.binary).toBeUndefined();
		const [file] = await run({
			resource: 'machineAction',
			operation: 'getLiveResponseResult',
			machineActionId: id,
			commandIndex: 1,
			binaryPropertyName: 'file',
		});
		expect(file.json).toMatchObject({ machineActionId: id, index: 1, fileName: 'x.bin.zip', binaryPropertyName: 'file' });
		expect(bytesOf(file, 'file').equals(emu.liveResponse.resultBytes(id, 1)!)).toBe(true);

		const missing = await failure(run({ resource: 'machineAction', operation: 'getLiveResponseResult', machineActionId: id, commandIndex: 5 }));
		expect(missing.message).toBe(`Live response action ${id} has no command with index 5`);
		expect(missing.description).toBe('It has 2 commands, index 0 to 1.');
	});

	it('an expired download link is asked for again', async () => {
		const machine = newMachine();
		emu.liveResponse.setMachineFiles(machine.id, { 'C:\\late.txt': 'collected long ago' });
		const [done] = await run(liveResponse(machine, [command.get('C:\\late.txt')]));
		const id = String(done.json.id);
		// The first download leaves 31 minutes (emulator clock) after its link was issued: that link has expired
		// (valid 30 minutes, get-live-response-result.md); the next one is fresh.
		let advanced = false;
		beforeSend = (options) => {
			if (!advanced && String(options.url).includes('/_download/liveresponse/')) {
				advanced = true;
				emu.clock.advance(31 * 60_000);
			}
		};
		const start = mark();
		const [item] = await run({ resource: 'machineAction', operation: 'getLiveResponseResult', machineActionId: id, commandIndex: 0 });
		expect(
			emu.requestLog.slice(start).map((e) => `${e.method} ${e.path.replace(id, '<id>').replace(/\/_download\/liveresponse\/.+$/, '/_download/liveresponse/<token>')} ${e.status}`),
		).toEqual([
			'GET /api/machineactions/<id> 200',
			'GET /api/machineactions/<id>/GetLiveResponseResultDownloadLink(index=0) 200',
			'GET /_download/liveresponse/<token> 403',
			'GET /api/machineactions/<id>/GetLiveResponseResultDownloadLink(index=0) 200',
			'GET /_download/liveresponse/<token> 200',
		]);
		expect(bytesOf(item, 'data').equals(emu.liveResponse.resultBytes(id, 0)!)).toBe(true);
	});

	it('a failing command: the item fails naming it and the commands that did not run', async () => {
		const machine = newMachine();
		const parameters = liveResponse(machine, [command.put('tool.exe'), command.script('broken.ps1'), command.get('C:\\Windows\\System32\\drivers\\etc\\hosts')]);
		const start = mark();
		const error = await failure(run(parameters));
		const [session] = emu.liveResponse.sessions().filter((s) => s.machineId === machine.id);
		expect(session.commands.map((c) => c.commandStatus)).toEqual(['Completed', 'Failed', 'Created']);
		expect(error.message).toBe(
			`Live response action ${session.actionId} on ${machine.computerDnsName} ended with status Failed: command 1 (RunScript broken.ps1) failed: Script 'broken.ps1' failed to run on ${machine.computerDnsName}; command 2 did not run`,
		);
		expect(error.description).toContain('Turn on "Output Unsuccessful Sessions"');
		// No result was fetched for a session that failed (the item failed).
		expect(apiCalls(start).filter((e) => e.path.includes('GetLiveResponseResultDownloadLink'))).toHaveLength(0);
	});

	it('a failing command with Output Unsuccessful Sessions: status per command, results of those that completed', async () => {
		const machine = newMachine();
		emu.liveResponse.setScriptResult('collect.ps1', { exit_code: 0, script_output: 'ok', script_errors: '' });
		const output = await run(
			liveResponse(machine, [command.script('collect.ps1'), command.get('C:\\missing.txt'), command.get('C:\\Windows\\System32\\drivers\\etc\\hosts')], {
				options: { ...fast, outputUnsuccessful: true },
			}),
		);
		const [item] = output;
		expect(item.json).toMatchObject({ status: 'Failed', failedCommandIndex: 1 });
		const commands = item.json.commands as IDataObject[];
		expect(commands.map((c) => [c.index, c.commandStatus, c.notRun ?? false])).toEqual([
			[0, 'Completed', false],
			[1, 'Failed', false],
			[2, 'Created', true],
		]);
		expect(commands[0]).toMatchObject({ script_name: 'collect.ps1', exit_code: 0, script_output: 'ok' });
		expect(commands[1].errors).toEqual([`File 'C:\\missing.txt' was not found on ${machine.computerDnsName}.`]);
		expect(commands[1].binaryPropertyName).toBeUndefined();
		expect(item.binary).toBeUndefined();
	});

	describe('a machine with a session open', () => {
		function openSession(machine: Machine, seconds: number) {
			const script = `slow-${unique()}.ps1`;
			emu.liveResponse.addLibraryFile(script, 'Start-Sleep 1');
			emu.liveResponse.setScriptResult(script, { exit_code: 0, script_output: '', script_errors: '', durationMs: seconds * 1000 });
			return emu.liveResponse.start(machine.id, [{ type: 'RunScript', params: [{ key: 'ScriptName', value: script }] }], {
				comment: 'Analyst session',
			});
		}

		it('Fail: a clear error naming the open session; nothing posted', async () => {
			const machine = newMachine();
			const open = openSession(machine, 30);
			const start = mark();
			const error = await failure(
				run(liveResponse(machine, [command.script('collect.ps1')], { options: { ...fast, ifSessionOpen: 'error' } })),
			);
			expect(error.message).toMatch(
				new RegExp(`^A live response session is already (pending|running) on machine ${machine.id} \\(machine action ID ${open.id}\\); this session was not started\\.$`),
			);
			expect(error.description).toContain('Machine Action → Cancel');
			expect(posts(start)).toHaveLength(0);
			emu.machineActions.remove(open.id);
		});

		it('Wait (default): waits for the open session to end, then runs once', async () => {
			const machine = newMachine();
			const open = openSession(machine, 1);
			const start = mark();
			const [item] = await run(liveResponse(machine, [command.script('collect.ps1')]));
			expect(item.json).toMatchObject({ status: 'Succeeded', waitedForActionIds: [open.id] });
			expect(item.json.id).not.toBe(open.id);
			const sent = posts(start);
			expect(sent.map((e) => e.status)).toEqual([201]);
			// Posted only after the open session had ended.
			const openEnded = Date.parse(String(emu.machineActions.get(open.id)!.lastUpdateDateTimeUtc));
			expect(emu.machineActions.get(open.id)!.status).toBe('Succeeded');
			expect(Date.parse(sent[0].time)).toBeGreaterThanOrEqual(openEnded);
		});

		it('Wait: an open session that outlasts the timeout is named; this one is not started', async () => {
			const machine = newMachine();
			const open = openSession(machine, 60);
			const start = mark();
			const error = await failure(run(liveResponse(machine, [command.script('collect.ps1')], { options: { pollInterval: 0.1, waitTimeout: 1 } })));
			expect(error.message).toContain(`(machine action ID ${open.id}); it did not end within the wait timeout of 1 s, so this session was not started.`);
			expect(posts(start)).toHaveLength(0);
			emu.machineActions.remove(open.id);
		});

		it('two items for the same machine: the second waits for the first, two sessions, never the first taken for the second', async () => {
			const machine = newMachine();
			const start = mark();
			const output = await run(
				{
					...liveResponse(machine, [], { waitForCompletion: false }),
					commands: { command: [{ type: 'RunScript', scriptName: '={{ $json.script }}' }] },
				},
				[{ json: { script: 'collect.ps1' } }, { json: { script: 'tool.exe' } }],
			);
			expect(output).toHaveLength(2);
			expect(output[0].json.id).not.toBe(output[1].json.id);
			expect(output[1].json.waitedForActionIds).toEqual([output[0].json.id]);
			expect(posts(start).map((e) => e.status)).toEqual([201, 201]);
		});
	});

	describe('answers lost after Defender started the session (never a second session)', () => {
		const faults = {
			'acted, then timed out': { kind: 'slow', after: true, delayMs: 2_500 },
			'acted, then the connection was reset': { kind: 'reset', after: true },
			'acted, then HTTP 500': { kind: '500', after: true },
		} as const;
		const timeout = transportSettings.requestTimeoutMs;
		beforeAll(() => {
			transportSettings.requestTimeoutMs = 1_000;
		});
		afterAll(() => {
			transportSettings.requestTimeoutMs = timeout;
		});

		it.each(Object.keys(faults))('%s: read back as applied, one session, one POST', async (name) => {
			const machine = newMachine();
			emu.faults.inject({ ...faults[name as keyof typeof faults], match: /^POST \/api\/machines\/[0-9a-f]{40}\/runliveresponse$/ });
			const parameters = liveResponse(machine, [command.script('collect.ps1')], { waitForCompletion: false });
			const start = mark();
			const [item] = await run(parameters);
			expect(emu.faults.pending()).toBe(0);
			const sessions = emu.liveResponse.sessions().filter((s) => s.machineId === machine.id);
			expect(sessions).toHaveLength(1);
			expect(posts(start)).toHaveLength(1);
			expect(item.json).toMatchObject({ id: sessions[0].actionId, type: 'LiveResponse', requestorComment: parameters.comment });
		});

		it('HTTP 500 before acting: read back as not applied, sent again, one session', async () => {
			const machine = newMachine();
			emu.faults.inject({ kind: '500', match: /\/runliveresponse$/ });
			const start = mark();
			const [item] = await run(liveResponse(machine, [command.script('collect.ps1')], { waitForCompletion: false }));
			expect(posts(start).map((e) => e.status)).toEqual([500, 201]);
			const sessions = emu.liveResponse.sessions().filter((s) => s.machineId === machine.id);
			expect(sessions.map((s) => s.actionId)).toEqual([item.json.id]);
		});

		it('a 429 (25 sessions running, or the minute limit): waited out as Retry-After says, then one session', async () => {
			const machine = newMachine();
			emu.faults.inject({ kind: '429', retryAfterSeconds: 0, match: /\/runliveresponse$/ });
			const start = mark();
			await run(liveResponse(machine, [command.script('collect.ps1')], { waitForCompletion: false }));
			expect(posts(start).map((e) => e.status)).toEqual([429, 201]);
			expect(emu.liveResponse.sessions().filter((s) => s.machineId === machine.id)).toHaveLength(1);
		});
	});

	it('a 403 without Machine.LiveResponse names the permission', async () => {
		const client = emu.addClient({ roles: ['Machine.Read.All'], displayName: 'no-live-response' });
		const machine = newMachine();
		const error = await failure(run(liveResponse(machine, [command.script('collect.ps1')]), [{ json: {} }], { client }));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.httpCode).toBe('403');
		expect(error.message).toContain('POST /api/machines/');
		expect(error.message).toContain('needs the WindowsDefenderATP application permission Machine.LiveResponse, with admin consent.');
		expect(emu.liveResponse.sessions().filter((s) => s.machineId === machine.id)).toHaveLength(0);
	});
});

describe('bad input fails before any request', () => {
	const machine = () => newMachine();
	const cases: Array<[string, () => IDataObject, string]> = [
		['no command', () => liveResponse(machine(), []), 'Commands is empty. Add at least one command (Put File, Run Script or Get File).'],
		['a Put File without a file name', () => liveResponse(machine(), [command.put('  ')]), 'Command 1 (Put File): File Name is empty'],
		['a Run Script without a script', () => liveResponse(machine(), [command.put('tool.exe'), command.script('')]), 'Command 2 (Run Script): Script Name is empty'],
		['a Get File without a path', () => liveResponse(machine(), [command.get('')]), 'Command 1 (Get File): Path is empty'],
		[
			'a script name with a folder',
			() => liveResponse(machine(), [command.script('..\\evil.ps1')]),
			'Command 1 (Run Script): Script Name "..\\evil.ps1" is not a live response library file name',
		],
		[
			'commands out of the order Defender requires',
			() => liveResponse(machine(), [command.script('collect.ps1'), command.get('C:\\a'), command.put('tool.exe')]),
			'Command 3 (PutFile) comes after command 2 (GetFile), but Defender runs the commands of one request only in the order PutFile, RunScript, GetFile (any number of each). Reorder the commands, or split them into two Run Live Response steps.',
		],
		['an empty comment', () => liveResponse(machine(), [command.script('collect.ps1')], { comment: ' ' }), 'Comment is empty'],
		['a malformed machine ID', () => ({ ...liveResponse(machine(), [command.script('collect.ps1')]), machineId: byId('../libraryfiles') }), 'is not a machine ID'],
		[
			'Get Live Response Result: an action ID that is no GUID',
			() => ({ resource: 'machineAction', operation: 'getLiveResponseResult', machineActionId: '../x', commandIndex: 0 }),
			'Machine Action ID "../x" is not a GUID.',
		],
		[
			'Get Live Response Result: a negative index',
			() => ({ resource: 'machineAction', operation: 'getLiveResponseResult', machineActionId: '5382f7ea-7557-4ab7-9782-d50480024a4e', commandIndex: -1 }),
			'Command Index -1 is not a command index',
		],
		[
			'Library Delete: a name with a path',
			() => ({ resource: 'liveResponseLibrary', operation: 'delete', fileName: '../machines' }),
			'File Name "../machines" is not a live response library file name',
		],
	];
	it.each(cases)('%s', async (_name, parameters, message) => {
		const p = parameters();
		const start = mark();
		const error = await failure(run(p));
		expect(error.message).toContain(message);
		expect(apiCalls(start)).toHaveLength(0);
	});
});

describe('live response library', () => {
	const binaryItem = (data: Buffer, fileName: string, mimeType = 'text/plain'): INodeExecutionData => ({
		json: {},
		binary: { data: { data: data.toString('base64'), mimeType, fileName } },
	});

	it('uploads a binary as multipart/form-data, lists it, deletes it', async () => {
		const content = Buffer.from(`Write-Output "hello ${unique()}"\r\n`);
		const name = `hello-${unique()}.ps1`;
		const start = mark();
		const [uploaded] = await run(
			{
				resource: 'liveResponseLibrary',
				operation: 'upload',
				binaryPropertyName: 'data',
				fileDescription: 'Says hello',
				hasParameters: true,
				parametersDescription: '-Name <who>',
				overrideIfExists: false,
			},
			[binaryItem(content, name)],
		);
		const [post] = apiCalls(start);
		expect(`${post.method} ${post.path} ${post.status}`).toBe('POST /api/libraryfiles 200');
		expect(post.body).toEqual({
			multipart: [
				{ name: 'Description', size: 'Says hello'.length },
				{ name: 'ParametersDescription', size: '-Name <who>'.length },
				{ name: 'HasParameters', size: 4 },
				{ name: 'OverrideIfExists', size: 5 },
				{ name: 'file', filename: name, size: content.length },
			],
		});
		expect(emu.liveResponse.libraryFileBytes(name)!.equals(content)).toBe(true);
		expect(uploaded.json).toMatchObject({
			fileName: name,
			description: 'Says hello',
			hasParameters: true,
			parametersDescription: '-Name <who>',
			sha256: createHash('sha256').update(content).digest('hex'),
		});

		const listed = await run({ resource: 'liveResponseLibrary', operation: 'getAll', returnAll: true });
		expect(listed.map((i) => i.json.fileName)).toEqual(emu.liveResponse.library().map((f) => f.fileName));
		expect(listed.map((i) => i.json.fileName)).toContain(name);
		const limited = await run({ resource: 'liveResponseLibrary', operation: 'getAll', returnAll: false, limit: 2 });
		expect(limited).toHaveLength(2);

		// Without Override If Exists, Defender refuses a taken name: the API's words, status kept.
		const taken = await failure(run({ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'data' }, [binaryItem(content, name)]));
		expect(taken.httpCode).toBe('400');
		expect(taken.message).toContain('already exists in the live response library');
		// With it, replaced; under another name via the option.
		const replacement = Buffer.from('Write-Output "v2"');
		await run({ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'data', overrideIfExists: true }, [binaryItem(replacement, name)]);
		expect(emu.liveResponse.libraryFileBytes(name)!.equals(replacement)).toBe(true);
		const renamed = `renamed-${unique()}.ps1`;
		const [other] = await run(
			{ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'data', options: { fileName: renamed } },
			[binaryItem(replacement, name)],
		);
		expect(other.json.fileName).toBe(renamed);

		const deleteStart = mark();
		const [deleted] = await run({ resource: 'liveResponseLibrary', operation: 'delete', fileName: name });
		expect(deleted.json).toEqual({ deleted: true, fileName: name });
		expect(apiCalls(deleteStart).map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([`DELETE /api/libraryfiles/${name} 204`]);
		expect(emu.liveResponse.libraryFileBytes(name)).toBeUndefined();
		const again = await failure(run({ resource: 'liveResponseLibrary', operation: 'delete', fileName: name }));
		expect(again.httpCode).toBe('404');
		expect(again.message).toContain(`no file named "${name}" in the live response library`);
	});

	it('a name with spaces and brackets is deleted with its path segment encoded', async () => {
		const name = `My Script (${unique()}).ps1`;
		emu.liveResponse.addLibraryFile(name, 'x');
		const start = mark();
		await run({ resource: 'liveResponseLibrary', operation: 'delete', fileName: name });
		expect(apiCalls(start).map((e) => `${e.method} ${e.status}`)).toEqual(['DELETE 204']);
		expect(emu.liveResponse.libraryFileBytes(name)).toBeUndefined();
	});

	it('a file over 20 MB is refused before any request, naming its size', async () => {
		const big = Buffer.alloc(LIBRARY_MAX_BYTES + 1, 0x41);
		const start = mark();
		const error = await failure(run({ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'data' }, [binaryItem(big, 'big.ps1')]));
		expect(error.message).toBe(
			'The file "big.ps1" is 20.0 MB (20,971,521 bytes); the live response library takes files of at most 20 MB (20,971,520 bytes). Nothing was uploaded.',
		);
		expect(apiCalls(start)).toHaveLength(0);
		// Exactly 20 MB is accepted.
		const [ok] = await run({ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'data' }, [
			binaryItem(big.subarray(0, LIBRARY_MAX_BYTES), `max-${unique()}.bin`, 'application/octet-stream'),
		]);
		expect(ok.json.fileName).toMatch(/^max-/);
	});

	it('a missing binary field or a bad file name is refused before any request', async () => {
		const start = mark();
		const missing = await failure(run({ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'file' }, [binaryItem(Buffer.from('x'), 'a.ps1')]));
		expect(missing.message).toContain('file');
		const badName = await failure(
			run({ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'data', options: { fileName: 'a:b.ps1' } }, [binaryItem(Buffer.from('x'), 'a.ps1')]),
		);
		expect(badName.message).toContain('File Name "a:b.ps1" is not a live response library file name');
		expect(apiCalls(start)).toHaveLength(0);
	});

	it('an upload whose answer was lost after Defender stored it: read back, one file, one POST', async () => {
		const timeout = transportSettings.requestTimeoutMs;
		transportSettings.requestTimeoutMs = 1_000;
		try {
			const name = `lost-${unique()}.ps1`;
			const content = Buffer.from('Write-Output lost');
			emu.faults.inject({ kind: 'reset', after: true, match: /^POST \/api\/libraryfiles$/ });
			const start = mark();
			const [item] = await run({ resource: 'liveResponseLibrary', operation: 'upload', binaryPropertyName: 'data' }, [binaryItem(content, name)]);
			expect(apiCalls(start).filter((e) => e.method === 'POST').map((e) => e.status)).toEqual([0]);
			expect(item.json).toMatchObject({ fileName: name });
			expect(emu.liveResponse.libraryFileBytes(name)!.equals(content)).toBe(true);
		} finally {
			transportSettings.requestTimeoutMs = timeout;
		}
	});

	it('a 403 without Library.Manage names the permission', async () => {
		const client = emu.addClient({ roles: ['Machine.Read.All'], displayName: 'no-library' });
		const error = await failure(run({ resource: 'liveResponseLibrary', operation: 'getAll', returnAll: true }, [{ json: {} }], { client }));
		expect(error.httpCode).toBe('403');
		expect(error.message).toContain('needs the WindowsDefenderATP application permission Library.Manage');
	});
});

describe('30 items against the 10-per-minute limit', () => {
	const TIME_SCALE = 60;
	let output: INodeExecutionData[];
	let log: RequestLogEntry[];
	let machines: Machine[];

	beforeAll(async () => {
		emu.setRateLimits(true, TIME_SCALE);
		machines = Array.from({ length: 30 }, () => newMachine());
		const start = mark();
		output = await run(
			{
				resource: 'machine',
				operation: 'runLiveResponse',
				machineId: { __rl: true, mode: 'id', value: '={{ $json.machineId }}' },
				commands: { command: [command.script('collect.ps1')] },
				comment: 'Fleet triage',
				waitForCompletion: false,
			},
			machines.map((m) => ({ json: { machineId: m.id } })),
		);
		log = emu.requestLog.slice(start);
	}, 120_000);

	afterAll(() => emu.setRateLimits(false));

	it('every item succeeds: one session per machine, not a single 429', () => {
		expect(output).toHaveLength(30);
		expect(output.map((o) => o.json.error)).toEqual(machines.map(() => undefined));
		expect(output.map((o) => o.json.machineId)).toEqual(machines.map((m) => m.id));
		expect(log.filter((e) => e.status === 429)).toEqual([]);
		expect(log.filter((e) => e.method === 'POST').map((e) => e.status)).toEqual(machines.map(() => 201));
	});

	it('the emulator never accepted more than 10 in any scaled minute', () => {
		expect(emu.maxInWindow('POST /api/machines/:id/runliveresponse', 60_000 / TIME_SCALE)).toBeLessThanOrEqual(10);
		const posted = log.filter((e) => e.method === 'POST').map((e) => e.realTime);
		// 30 calls at 10 per (scaled) minute need at least two full windows.
		expect(posted[posted.length - 1] - posted[0]).toBeGreaterThanOrEqual(2 * (60_000 / TIME_SCALE) - 50);
	});
});

it('no secret in anything a user saw: no client secret, no token, no download link', () => {
	const seen = observer.observed.join('\n');
	expect(seen.length).toBeGreaterThan(1000);
	expect(seen).not.toContain(emu.client.clientSecret);
	expect(seen).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+/);
	expect(seen).not.toContain('/_download/');
	expect(seen).not.toMatch(/Bearer /);
});
