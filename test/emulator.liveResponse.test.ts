/**
 * The emulator's live response: `POST /api/machines/{id}/runliveresponse` sessions on the emulator clock, result
 * download links (`GetLiveResponseResultDownloadLink(index=i)`) and their expiry, and the live response library
 * (`/api/libraryfiles`, multipart uploads). Facts from run-live-response.md, get-live-response-result.md,
 * list-library-files.md, upload-library.md and delete-library.md (MicrosoftDocs/defender-docs, defender-endpoint/api/).
 *
 * Requests go through https.request with the emulator CA passed explicitly, as in emulator.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { startEmulator, type Emulator, type LiveResponseCommandInput, type Machine } from './emulator';

const MDE_SCOPE = 'https://api.securitycenter.microsoft.com/.default';
const TS7 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Machine-action step: long, so only clock.advance moves sessions. */
const STEP = 60_000;
const MINUTE = 60_000;

// ------------------------------------------------------------------------------------------------
// HTTP helpers

interface Res {
	status: number;
	headers: IncomingHttpHeaders;
	text: string;
	body: Buffer;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	json: any;
}

interface Req {
	token?: string;
	json?: unknown;
	form?: Record<string, string>;
	raw?: { body: Buffer; contentType: string };
}

let emu: Emulator;
let ca: Buffer;
const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });

function call(e: Emulator, method: string, urlPath: string, req: Req = {}): Promise<Res> {
	const headers: Record<string, string> = {};
	let payload: string | Buffer | undefined;
	if (req.json !== undefined) {
		payload = JSON.stringify(req.json);
		headers['Content-Type'] = 'application/json';
	} else if (req.form) {
		payload = new URLSearchParams(req.form).toString();
		headers['Content-Type'] = 'application/x-www-form-urlencoded';
	} else if (req.raw) {
		payload = req.raw.body;
		headers['Content-Type'] = req.raw.contentType;
	}
	if (req.token) headers.Authorization = `Bearer ${req.token}`;
	return new Promise((resolve, reject) => {
		const r = https.request(`${e.url}${urlPath}`, { method, headers, ca, agent }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => {
				const body = Buffer.concat(chunks);
				const text = body.toString('utf8');
				let json: unknown;
				try {
					json = text ? JSON.parse(text) : undefined;
				} catch {
					json = undefined;
				}
				resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, json });
			});
		});
		r.on('error', reject);
		r.end(payload);
	});
}

async function tokenFor(e: Emulator, client = e.client): Promise<string> {
	const res = await call(e, 'POST', `/${e.tenantId}/oauth2/v2.0/token`, {
		form: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope: MDE_SCOPE },
	});
	expect(res.status).toBe(200);
	return res.json.access_token as string;
}

interface FormField {
	name: string;
	value: string | Buffer;
	filename?: string;
}

/** A multipart/form-data body as curl -F builds it (upload-library.md's example). */
function multipart(fields: FormField[]): { body: Buffer; contentType: string } {
	const boundary = `------------------------${crypto.randomBytes(8).toString('hex')}`;
	const chunks: Buffer[] = [];
	for (const f of fields) {
		const file = f.filename !== undefined ? `; filename="${f.filename}"\r\nContent-Type: application/octet-stream` : '';
		chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"${file}\r\n\r\n`));
		chunks.push(Buffer.isBuffer(f.value) ? f.value : Buffer.from(f.value, 'utf8'));
		chunks.push(Buffer.from('\r\n'));
	}
	chunks.push(Buffer.from(`--${boundary}--\r\n`));
	return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

let mde: string;
const api = (method: string, p: string, json?: unknown) => call(emu, method, p, { token: mde, json });
const upload = (fields: FormField[], token = mde) => call(emu, 'POST', '/api/libraryfiles', { token, raw: multipart(fields) });
const run = (machineId: string, Commands: unknown, Comment: unknown = 'investigate') => api('POST', `/api/machines/${machineId}/runliveresponse`, { Commands, Comment });
const linkOf = (actionId: string, index: number) => api('GET', `/api/machineactions/${actionId}/GetLiveResponseResultDownloadLink(index=${index})`);
/** The link's path and query on the emulator (the link names the emulator's own origin). */
const fetchLink = (url: string) => {
	const u = new URL(url);
	expect(u.origin).toBe(emu.url);
	return call(emu, 'GET', `${u.pathname}${u.search}`);
};
const action = (id: string) => emu.machineActions.get(id)!;
const cmd = (type: string, params: Record<string, string>) => ({ type, params: Object.entries(params).map(([key, value]) => ({ key, value })) });
/** A command for the in-process `liveResponse.start` (typed; `cmd` also builds invalid ones for the HTTP tests). */
const lrCmd = (type: string, params: Record<string, string>) => cmd(type, params) as LiveResponseCommandInput;

const WIN_FILE = 'C:\\Users\\alice\\Downloads\\invoice.exe';
const FILE_BYTES = Buffer.from('MZ'.padEnd(4096, 'x') + ' emulated payload '.repeat(64), 'latin1');

function machine(partial: Partial<Machine> = {}): Machine {
	return emu.machines.create({ osPlatform: 'Windows11', healthStatus: 'Active', ...partial });
}

/** A machine with a file to collect, and a script in the library. */
function setup(): Machine {
	const m = machine();
	emu.liveResponse.setMachineFiles(m.id, { [WIN_FILE]: FILE_BYTES });
	emu.liveResponse.addLibraryFile('minidump.ps1', 'param($p) Write-Output $p', { hasParameters: true, parametersDescription: 'process name', overrideIfExists: true });
	return m;
}

/** Reads the only entry of a ZIP by its local file header (what unzip reads first). */
function readZipEntry(zip: Buffer): { name: string; method: number; crc: number; data: Buffer } {
	expect(zip.readUInt32LE(0)).toBe(0x04034b50);
	const method = zip.readUInt16LE(8);
	const crc = zip.readUInt32LE(14);
	const compressedSize = zip.readUInt32LE(18);
	const nameLength = zip.readUInt16LE(26);
	const extraLength = zip.readUInt16LE(28);
	const name = zip.subarray(30, 30 + nameLength).toString('utf8');
	const start = 30 + nameLength + extraLength;
	const raw = zip.subarray(start, start + compressedSize);
	const data = method === 8 ? zlib.inflateRawSync(raw) : raw;
	// End of central directory: one entry.
	const eocd = zip.subarray(zip.length - 22);
	expect(eocd.readUInt32LE(0)).toBe(0x06054b50);
	expect(eocd.readUInt16LE(10)).toBe(1);
	return { name, method, crc, data };
}

beforeAll(async () => {
	emu = await startEmulator({ machineActionStepMs: STEP });
	ca = fs.readFileSync(emu.caCertPath);
	mde = await tokenFor(emu);
});
afterAll(async () => {
	agent.destroy();
	await emu.close();
});
beforeEach(() => emu.reset());

// ------------------------------------------------------------------------------------------------

describe('runliveresponse: request and 201 body', () => {
	test('201 with the LiveResponse machine action, every command Created (run-live-response.md example)', async () => {
		const m = setup();
		const commands = [
			cmd('PutFile', { FileName: 'minidump.ps1' }),
			cmd('RunScript', { ScriptName: 'minidump.ps1', Args: 'OfficeClickToRun' }),
			cmd('GetFile', { Path: WIN_FILE }),
		];
		const res = await run(m.id, commands, 'Testing Live Response API');
		expect(res.status).toBe(201);
		expect(res.json).toEqual({
			'@odata.context': `${emu.url}/api/$metadata#MachineActions/$entity`,
			id: expect.stringMatching(GUID),
			type: 'LiveResponse',
			title: `Live response on ${m.computerDnsName}`,
			requestor: 'n8n Defender emulator app',
			requestorComment: 'Testing Live Response API',
			status: 'Pending',
			machineId: m.id,
			computerDnsName: m.computerDnsName,
			creationDateTimeUtc: expect.stringMatching(TS7),
			lastUpdateDateTimeUtc: res.json.creationDateTimeUtc,
			cancellationRequestor: null,
			cancellationComment: null,
			cancellationDateTimeUtc: null,
			errorHResult: 0,
			scope: null,
			externalId: null,
			requestSource: 'PublicApi',
			relatedFileInfo: null,
			troubleshootInfo: null,
			commands: commands.map((command, index) => ({ index, startTime: null, endTime: null, commandStatus: 'Created', errors: [], command })),
		});
		// It is a machine action like the others: listed, filterable by type, readable by id.
		const listed = await api('GET', `/api/machineactions?$filter=${encodeURIComponent("type eq 'LiveResponse'")}`);
		expect(listed.json.value.map((a: { id: string }) => a.id)).toEqual([res.json.id]);
		const got = await api('GET', `/api/machineactions/${res.json.id}`);
		expect(got.json.commands).toEqual(res.json.commands);
		expect(emu.liveResponse.sessions()).toEqual([
			expect.objectContaining({ actionId: res.json.id, machineId: m.id, status: 'Pending', commands: res.json.commands }),
		]);
	});

	test.each([
		['a wrongly cased top-level key', { commands: [cmd('GetFile', { Path: 'x' })], Comment: 'c' }, 'InvalidRequestBody', /'commands'.*case-sensitive/],
		['no Commands', { Comment: 'c' }, 'MissingRequiredParameter', /Commands/],
		['no Comment', { Commands: [cmd('GetFile', { Path: 'x' })] }, 'MissingRequiredParameter', /Comment/],
		['an empty Commands array', { Commands: [], Comment: 'c' }, 'InvalidRequestBody', /non-empty/],
		['a wrongly cased command key', { Commands: [{ Type: 'GetFile', params: [{ key: 'Path', value: 'x' }] }], Comment: 'c' }, 'InvalidRequestBody', /'Type'/],
		['a wrongly cased parameter key', { Commands: [cmd('GetFile', { path: 'x' })], Comment: 'c' }, 'InvalidRequestBody', /'path' is not a parameter of GetFile/],
		['a wrongly cased key/value name', { Commands: [{ type: 'GetFile', params: [{ Key: 'Path', Value: 'x' }] }], Comment: 'c' }, 'InvalidRequestBody', /'Key'/],
		['an unknown command type', { Commands: [cmd('getfile', { Path: 'x' })], Comment: 'c' }, 'InvalidRequestBody', /Valid values: PutFile, RunScript, GetFile/],
		['a missing required parameter', { Commands: [cmd('RunScript', { Args: 'x' })], Comment: 'c' }, 'MissingRequiredParameter', /ScriptName/],
		['a parameter of another command', { Commands: [cmd('PutFile', { FileName: 'a', Args: 'x' })], Comment: 'c' }, 'InvalidRequestBody', /'Args' is not a parameter of PutFile/],
		['commands out of order', { Commands: [cmd('GetFile', { Path: 'x' }), cmd('RunScript', { ScriptName: 's.ps1' })], Comment: 'c' }, 'InvalidRequestBody', /order PutFile, RunScript, GetFile/],
		['a non-string value', { Commands: [{ type: 'GetFile', params: [{ key: 'Path', value: 42 }] }], Comment: 'c' }, 'InvalidRequestBody', /must be a string/],
	])('400 for %s', async (_what, body, code, message) => {
		const m = machine();
		const res = await api('POST', `/api/machines/${m.id}/runliveresponse`, body);
		expect(res.status).toBe(400);
		expect(res.json.error).toMatchObject({ code, message: expect.stringMatching(message), target: expect.stringMatching(GUID) });
		expect(emu.liveResponse.sessions()).toEqual([]);
	});

	test('repeated command types in order are fine; an unknown machine is a 404', async () => {
		const m = setup();
		const ok = await run(m.id, [cmd('RunScript', { ScriptName: 'minidump.ps1' }), cmd('RunScript', { ScriptName: 'minidump.ps1' }), cmd('GetFile', { Path: WIN_FILE }), cmd('GetFile', { Path: WIN_FILE })]);
		expect(ok.status).toBe(201);
		const missing = await run('0'.repeat(40), [cmd('GetFile', { Path: 'x' })]);
		expect(missing.status).toBe(404);
		expect(missing.json.error.code).toBe('ResourceNotFound');
	});

	test('permissions: Machine.LiveResponse to run, Machine.Read.All/ReadWrite.All for result links (application permissions)', async () => {
		const m = setup();
		const reader = await tokenFor(emu, emu.addClient({ roles: ['Machine.Read.All', 'Machine.Isolate'] }));
		const denied = await call(emu, 'POST', `/api/machines/${m.id}/runliveresponse`, { token: reader, json: { Commands: [cmd('GetFile', { Path: WIN_FILE })], Comment: 'c' } });
		expect(denied.status).toBe(403);
		expect(denied.json.error).toMatchObject({ code: 'Forbidden', message: expect.stringContaining('Machine.LiveResponse') });

		const responder = await tokenFor(emu, emu.addClient({ roles: ['Machine.LiveResponse'] }));
		const started = await call(emu, 'POST', `/api/machines/${m.id}/runliveresponse`, { token: responder, json: { Commands: [cmd('GetFile', { Path: WIN_FILE })], Comment: 'c' } });
		expect(started.status).toBe(201);
		emu.clock.advance(2 * STEP);
		const path = `/api/machineactions/${started.json.id}/GetLiveResponseResultDownloadLink(index=0)`;
		const noRead = await call(emu, 'GET', path, { token: responder });
		expect(noRead.status).toBe(403);
		expect(noRead.json.error.message).toMatch(/Machine\.Read\.All, Machine\.ReadWrite\.All/);
		expect((await call(emu, 'GET', path, { token: reader })).status).toBe(200);
	});
});

describe('runliveresponse: lifecycle on the emulator clock', () => {
	test('Pending → InProgress → commands complete one by one → Succeeded, with start and end times', async () => {
		const m = setup();
		const res = await run(m.id, [cmd('PutFile', { FileName: 'minidump.ps1' }), cmd('RunScript', { ScriptName: 'minidump.ps1', Args: 'lsass' }), cmd('GetFile', { Path: WIN_FILE })]);
		const id = res.json.id as string;
		const created = Date.parse(res.json.creationDateTimeUtc);
		const at = (steps: number) => new Date(created + steps * STEP).toISOString().slice(0, 19);
		const status = () => {
			const a = action(id);
			return [a.status, ...(a.commands as Array<{ commandStatus: string }>).map((c) => c.commandStatus)];
		};
		expect(status()).toEqual(['Pending', 'Created', 'Created', 'Created']);
		emu.clock.advance(STEP);
		expect(status()).toEqual(['InProgress', 'Created', 'Created', 'Created']);
		const running = (await api('GET', `/api/machineactions/${id}`)).json;
		expect(running.commands[0].startTime.slice(0, 19)).toBe(at(1));
		expect(running.commands[0].endTime).toBeNull();
		expect(running.commands[1].startTime).toBeNull();
		emu.clock.advance(STEP);
		expect(status()).toEqual(['InProgress', 'Completed', 'Created', 'Created']);
		emu.clock.advance(STEP);
		expect(status()).toEqual(['InProgress', 'Completed', 'Completed', 'Created']);
		emu.clock.advance(STEP);
		expect(status()).toEqual(['Succeeded', 'Completed', 'Completed', 'Completed']);
		const done = (await api('GET', `/api/machineactions/${id}`)).json;
		expect(done.commands.map((c: { startTime: string; endTime: string }) => [c.startTime.slice(0, 19), c.endTime.slice(0, 19)])).toEqual([
			[at(1), at(2)],
			[at(2), at(3)],
			[at(3), at(4)],
		]);
		expect(done.lastUpdateDateTimeUtc.slice(0, 19)).toBe(at(4));
		expect(done.errorHResult).toBe(0);
		expect(done.commands.every((c: { errors: string[] }) => c.errors.length === 0)).toBe(true);
	});

	test.each([
		['GetFile of a path the machine does not have', () => [cmd('GetFile', { Path: 'C:\\nope.txt' }), cmd('GetFile', { Path: WIN_FILE })], 0, /C:\\nope\.txt.*not found/],
		['PutFile of a file not in the library', () => [cmd('PutFile', { FileName: 'absent.ps1' }), cmd('GetFile', { Path: WIN_FILE })], 0, /absent\.ps1.*library/],
		['RunScript of a script not in the library', () => [cmd('RunScript', { ScriptName: 'absent.ps1' }), cmd('GetFile', { Path: WIN_FILE })], 0, /absent\.ps1.*library/],
		[
			'RunScript of a script whose run fails',
			() => {
				emu.liveResponse.addLibraryFile('ok.ps1', 'exit 0');
				emu.liveResponse.setScriptResult('minidump.ps1', 'fail');
				return [cmd('RunScript', { ScriptName: 'ok.ps1' }), cmd('RunScript', { ScriptName: 'minidump.ps1' }), cmd('GetFile', { Path: WIN_FILE })];
			},
			1,
			/minidump\.ps1' failed to run/,
		],
	])('a failing command (%s) is Failed, the rest stay Created, the action Failed', async (_what, commands, failing, error) => {
		const m = setup();
		const res = await run(m.id, commands());
		expect(res.json.error).toBeUndefined();
		const id = res.json.id as string;
		emu.clock.advance(10 * STEP);
		const a = (await api('GET', `/api/machineactions/${id}`)).json;
		expect(a.status).toBe('Failed');
		expect(a.errorHResult).not.toBe(0);
		a.commands.forEach((c: { index: number; commandStatus: string; errors: string[]; startTime: string | null; endTime: string | null }) => {
			if (c.index < failing) expect(c).toMatchObject({ commandStatus: 'Completed', errors: [] });
			else if (c.index === failing) {
				expect(c.commandStatus).toBe('Failed');
				expect(c.errors).toEqual([expect.stringMatching(error)]);
				expect(c.endTime).toMatch(TS7);
			} else expect(c).toMatchObject({ commandStatus: 'Created', startTime: null, endTime: null, errors: [] });
		});
		// The action ended when the failing command did.
		expect(a.lastUpdateDateTimeUtc).toBe(a.commands[failing].endTime);
	});

	test('failCommand makes a chosen command fail; a RunScript past 10 minutes times out', async () => {
		const m = setup();
		const first = await run(m.id, [cmd('RunScript', { ScriptName: 'minidump.ps1' }), cmd('GetFile', { Path: WIN_FILE }), cmd('GetFile', { Path: WIN_FILE })]);
		emu.liveResponse.failCommand(first.json.id, 1, 'Access is denied.');
		emu.clock.advance(10 * STEP);
		const a = action(first.json.id);
		expect(a.status).toBe('Failed');
		expect((a.commands as Array<{ commandStatus: string; errors: string[] }>).map((c) => [c.commandStatus, c.errors])).toEqual([
			['Completed', []],
			['Failed', ['Access is denied.']],
			['Created', []],
		]);
		expect(() => emu.liveResponse.failCommand(first.json.id, 3)).toThrow(/no command 3/);

		emu.liveResponse.setScriptResult('slow.ps1', { exit_code: 0, script_output: 'never', script_errors: '', durationMs: 11 * MINUTE });
		emu.liveResponse.addLibraryFile('slow.ps1', 'Start-Sleep 660');
		const slow = await run(m.id, [cmd('RunScript', { ScriptName: 'slow.ps1' })]);
		const created = Date.parse(slow.json.creationDateTimeUtc);
		// Real time also passes: a margin of 5 s.
		emu.clock.advance(STEP + 10 * MINUTE - 5000);
		expect(action(slow.json.id).status).toBe('InProgress');
		emu.clock.advance(5000);
		const timedOut = action(slow.json.id);
		expect(timedOut.status).toBe('Failed');
		const c = (timedOut.commands as Array<{ commandStatus: string; errors: string[]; endTime: string }>)[0];
		expect(c.commandStatus).toBe('Failed');
		expect(c.errors[0]).toMatch(/timed out after 10 minutes/);
		expect(Date.parse(c.endTime) - created).toBe(STEP + 10 * MINUTE);
	});

	test('one session per machine: 400 ActiveRequestAlreadyExists while Pending or InProgress; free again once final or cancelled', async () => {
		const m = setup();
		const body = [cmd('GetFile', { Path: WIN_FILE })];
		const first = await run(m.id, body);
		const again = await run(m.id, body);
		expect(again.status).toBe(400);
		expect(again.json.error).toMatchObject({ code: 'ActiveRequestAlreadyExists', message: expect.stringContaining(first.json.id) });
		emu.clock.advance(STEP);
		expect(action(first.json.id).status).toBe('InProgress');
		expect((await run(m.id, body)).json.error.code).toBe('ActiveRequestAlreadyExists');
		// Other action types on the machine are not blocked by it.
		expect((await api('POST', `/api/machines/${m.id}/isolate`, { Comment: 'contain' })).status).toBe(201);
		emu.clock.advance(STEP);
		expect(action(first.json.id).status).toBe('Succeeded');
		const second = await run(m.id, body);
		expect(second.status).toBe(201);
		const cancelled = await api('POST', `/api/machineactions/${second.json.id}/cancel`, { Comment: 'wrong machine' });
		expect(cancelled.json.status).toBe('Cancelled');
		emu.clock.advance(5 * STEP);
		// Cancelled stays cancelled: its commands never ran.
		expect(action(second.json.id).status).toBe('Cancelled');
		expect((action(second.json.id).commands as Array<{ commandStatus: string }>)[0].commandStatus).toBe('Created');
		expect((await run(m.id, body)).status).toBe(201);
	});

	test('25 concurrent sessions; the 26th is a 429 until one ends', async () => {
		const machines = Array.from({ length: 26 }, () => machine());
		const started = [];
		for (const m of machines.slice(0, 25)) started.push(await run(m.id, [cmd('GetFile', { Path: 'C:\\Windows\\System32\\drivers\\etc\\hosts' })]));
		expect(started.map((r) => r.status)).toEqual(Array(25).fill(201));
		const over = await run(machines[25].id, [cmd('GetFile', { Path: 'C:\\Windows\\System32\\drivers\\etc\\hosts' })]);
		expect(over.status).toBe(429);
		expect(over.json.error).toMatchObject({ code: 'TooManyRequests', message: expect.stringMatching(/25/) });
		await api('POST', `/api/machineactions/${started[0].json.id}/cancel`, { Comment: 'make room' });
		expect((await run(machines[25].id, [cmd('GetFile', { Path: 'C:\\Windows\\System32\\drivers\\etc\\hosts' })])).status).toBe(201);
		emu.clock.advance(2 * STEP);
		// All done: room for 25 again.
		expect(emu.liveResponse.sessions().filter((s) => s.status === 'Succeeded')).toHaveLength(25);
		expect((await run(machines[0].id, [cmd('GetFile', { Path: 'C:\\Windows\\System32\\drivers\\etc\\hosts' })])).status).toBe(201);
	});

	test('an offline device: the session stays Pending (queued), then TimeOut after three days', async () => {
		const offline = machine({ healthStatus: 'Inactive' });
		const res = await run(offline.id, [cmd('GetFile', { Path: 'C:\\Windows\\System32\\drivers\\etc\\hosts' })]);
		expect(res.status).toBe(201);
		emu.clock.advance(2 * 86400000);
		expect(action(res.json.id).status).toBe('Pending');
		// Still its session: a second one is refused.
		expect((await run(offline.id, [cmd('GetFile', { Path: 'x' })])).json.error.code).toBe('ActiveRequestAlreadyExists');
		emu.clock.advance(86400000);
		const a = action(res.json.id);
		expect(a.status).toBe('TimeOut');
		expect(Date.parse(a.lastUpdateDateTimeUtc) - Date.parse(a.creationDateTimeUtc)).toBe(3 * 86400000);
		expect((a.commands as Array<{ commandStatus: string }>)[0].commandStatus).toBe('Created');
	});

	test('10 calls per minute (rate limits on): the 11th is a 429 with Retry-After', async () => {
		emu.setRateLimits(true);
		try {
			const machines = Array.from({ length: 11 }, () => machine());
			const results = [];
			for (const m of machines) results.push(await run(m.id, [cmd('GetFile', { Path: 'C:\\Windows\\System32\\drivers\\etc\\hosts' })]));
			expect(results.slice(0, 10).map((r) => r.status)).toEqual(Array(10).fill(201));
			expect(results[10].status).toBe(429);
			expect(results[10].json.error).toMatchObject({ code: 'TooManyRequests', message: expect.stringContaining('Maximum admitted 10 per minute') });
			expect(Number(results[10].headers['retry-after'])).toBeGreaterThanOrEqual(1);
			expect(emu.maxInWindow('POST /api/machines/:id/runliveresponse', 60000)).toBe(10);
			// Result links and the library have the standard quota, not this one.
			expect((await api('GET', '/api/libraryfiles')).status).toBe(200);
		} finally {
			emu.setRateLimits(false);
		}
	});
});

describe('results: GetLiveResponseResultDownloadLink', () => {
	async function finished(): Promise<{ m: Machine; id: string }> {
		const m = setup();
		const res = await run(m.id, [cmd('PutFile', { FileName: 'minidump.ps1' }), cmd('RunScript', { ScriptName: 'minidump.ps1', Args: 'OfficeClickToRun' }), cmd('GetFile', { Path: WIN_FILE })]);
		emu.clock.advance(4 * STEP);
		expect(action(res.json.id).status).toBe('Succeeded');
		return { m, id: res.json.id };
	}

	test('a link to each result; its bytes are resultBytes (RunScript transcript JSON, GetFile ZIP)', async () => {
		emu.liveResponse.setScriptResult('minidump.ps1', { exit_code: 3, script_output: 'dumped 51 MB\n', script_errors: 'warning: slow disk' });
		const { id } = await finished();
		const link = await linkOf(id, 1);
		expect(link.status).toBe(200);
		expect(link.json).toEqual({ '@odata.context': `${emu.url}/api/$metadata#Edm.String`, value: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/_download\/liveresponse\/[\w-]+\?se=.+&sp=r&sv=2019-07-07&sr=b$/) });
		const transcript = await fetchLink(link.json.value);
		expect(transcript.status).toBe(200);
		expect(transcript.headers['content-type']).toBe('application/json');
		expect(transcript.body.equals(emu.liveResponse.resultBytes(id, 1)!)).toBe(true);
		// get-live-response-result.md, "Runscript transcript properties".
		expect(transcript.json).toEqual({ script_name: 'minidump.ps1', exit_code: 3, script_output: 'dumped 51 MB\n', script_errors: 'warning: slow disk' });

		const zipLink = await linkOf(id, 2);
		const zip = await fetchLink(zipLink.json.value);
		expect(zip.status).toBe(200);
		expect(zip.headers['content-type']).toBe('application/zip');
		expect(zip.body.equals(emu.liveResponse.resultBytes(id, 2)!)).toBe(true);
		// The link is reusable until it expires, and the path is case-insensitive like every MDE literal.
		expect((await fetchLink(zipLink.json.value)).status).toBe(200);
		expect((await api('GET', `/api/machineactions/${id}/getliveresponseresultdownloadlink(index=2)`)).status).toBe(200);
	});

	test('the default transcript: exit code 0, the script name and arguments', async () => {
		const { m, id } = await finished();
		const transcript = JSON.parse(emu.liveResponse.resultBytes(id, 1)!.toString('utf8'));
		expect(transcript).toEqual({
			script_name: 'minidump.ps1',
			exit_code: 0,
			script_output: expect.stringContaining(`minidump.ps1 OfficeClickToRun on ${m.computerDnsName}`),
			script_errors: '',
		});
	});

	test('GetFile: a valid ZIP whose one entry inflates to the machine file (and unzip accepts it)', async () => {
		const { id } = await finished();
		const zip = emu.liveResponse.resultBytes(id, 2)!;
		const entry = readZipEntry(zip);
		expect(entry.name).toBe('invoice.exe');
		expect(entry.method).toBe(8);
		expect(entry.data.equals(FILE_BYTES)).toBe(true);
		expect(entry.crc).toBe(zlib.crc32(FILE_BYTES));
		// Deterministic: the same file gives the same bytes.
		const again = await run((await finished()).m.id, [cmd('GetFile', { Path: WIN_FILE.toUpperCase() })]);
		emu.clock.advance(2 * STEP);
		expect(emu.liveResponse.resultBytes(again.json.id, 0)!.equals(zip)).toBe(true);

		const unzip = spawnSync('unzip', ['-v'], { encoding: 'utf8' });
		if (unzip.status === 0) {
			const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lr-zip-'));
			try {
				fs.writeFileSync(path.join(dir, 'result.zip'), zip);
				const listed = spawnSync('unzip', ['-l', path.join(dir, 'result.zip')], { encoding: 'utf8' });
				expect(listed.status).toBe(0);
				expect(listed.stdout).toContain('invoice.exe');
				const tested = spawnSync('unzip', ['-t', path.join(dir, 'result.zip')], { encoding: 'utf8' });
				expect(tested.status).toBe(0);
				expect(tested.stdout).toMatch(/No errors detected/);
			} finally {
				fs.rmSync(dir, { recursive: true, force: true });
			}
		}
	});

	test('the link expires after 30 minutes (emulator clock): 403 AuthenticationFailed XML, then a fresh link works', async () => {
		const { id } = await finished();
		const link = (await linkOf(id, 2)).json.value as string;
		const se = Date.parse(new URL(link).searchParams.get('se')!);
		expect(Math.abs(se - (emu.clock.now().getTime() + 30 * MINUTE))).toBeLessThan(2000);
		emu.clock.advance(30 * MINUTE - 1000);
		expect((await fetchLink(link)).status).toBe(200);
		emu.clock.advance(1000);
		const expired = await fetchLink(link);
		expect(expired.status).toBe(403);
		expect(expired.headers['content-type']).toBe('application/xml');
		expect(expired.headers['x-ms-error-code']).toBe('AuthenticationFailed');
		expect(expired.text).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?><Error><Code>AuthenticationFailed<\/Code><Message>Server failed to authenticate the request\./);
		expect(expired.text).toMatch(/<AuthenticationErrorDetail>Signed expiry time \[.+ GMT\] must be after signed start time \[.+ GMT\]<\/AuthenticationErrorDetail><\/Error>$/);
		// "An expired link can be re-created by another call, and there's no need to run live response again."
		const fresh = await linkOf(id, 2);
		const bytes = await fetchLink(fresh.json.value);
		expect(bytes.status).toBe(200);
		expect(bytes.body.equals(emu.liveResponse.resultBytes(id, 2)!)).toBe(true);
		// A token the emulator never issued: 403 too (a bad signature).
		const forged = await call(emu, 'GET', '/_download/liveresponse/not-a-token');
		expect(forged.status).toBe(403);
		expect(forged.text).toContain('Signature did not match');
	});

	test('the link lifetime: liveResponseLinkTtlMs at start, linkTtlMs at runtime, back to the start value on reset', async () => {
		const short = await startEmulator({ machineActionStepMs: STEP, liveResponseLinkTtlMs: 5 * MINUTE });
		try {
			expect(short.liveResponse.linkTtlMs).toBe(5 * MINUTE);
			const m = short.machines.create({ osPlatform: 'Linux', healthStatus: 'Active' });
			const session = short.liveResponse.start(m.id, [lrCmd('GetFile', { Path: '/etc/hosts' })]);
			short.clock.advance(2 * STEP);
			const token = await tokenFor(short);
			const link = (await call(short, 'GET', `/api/machineactions/${session.id}/GetLiveResponseResultDownloadLink(index=0)`, { token })).json.value as string;
			const u = new URL(link);
			short.clock.advance(5 * MINUTE);
			expect((await call(short, 'GET', `${u.pathname}${u.search}`)).status).toBe(403);
			short.liveResponse.linkTtlMs = 60 * MINUTE;
			const longer = new URL((await call(short, 'GET', `/api/machineactions/${session.id}/GetLiveResponseResultDownloadLink(index=0)`, { token })).json.value);
			short.clock.advance(59 * MINUTE);
			const ok = await call(short, 'GET', `${longer.pathname}${longer.search}`);
			expect(ok.status).toBe(200);
			// Linux path, default hosts file.
			expect(readZipEntry(ok.body)).toMatchObject({ name: 'hosts' });
			expect(readZipEntry(ok.body).data.toString()).toContain('127.0.0.1 localhost');
			expect(() => (short.liveResponse.linkTtlMs = 0)).toThrow(/positive/);
			short.reset();
			expect(short.liveResponse.linkTtlMs).toBe(5 * MINUTE);
		} finally {
			await short.close();
		}
	});

	test('no link: 404 for a command not Completed, a PutFile (no result), an index or action that does not exist; 400 for a bad index', async () => {
		const m = setup();
		const res = await run(m.id, [cmd('PutFile', { FileName: 'minidump.ps1' }), cmd('GetFile', { Path: WIN_FILE })]);
		const id = res.json.id as string;
		const pending = await linkOf(id, 1);
		expect(pending.status).toBe(404);
		expect(pending.json.error).toMatchObject({ code: 'ResourceNotFound', message: expect.stringMatching(/Created/) });
		expect(emu.liveResponse.resultBytes(id, 1)).toBeUndefined();
		emu.clock.advance(3 * STEP);
		expect((await linkOf(id, 1)).status).toBe(200);
		expect((await linkOf(id, 0)).json.error.message).toMatch(/no result/);
		expect((await linkOf(id, 2)).json.error.message).toMatch(/no command with index 2/);
		expect((await linkOf('00000000-0000-4000-8000-000000000000', 0)).status).toBe(404);
		const isolate = await api('POST', `/api/machines/${m.id}/isolate`, { Comment: 'x' });
		expect((await linkOf(isolate.json.id, 0)).json.error.message).toMatch(/not a live response action/);
		const bad = await api('GET', `/api/machineactions/${id}/GetLiveResponseResultDownloadLink(index=first)`);
		expect(bad.status).toBe(400);
		expect(bad.json.error.code).toBe('InvalidInput');
		// A failed command has no result either.
		const failing = await run(machine().id, [cmd('GetFile', { Path: 'C:\\missing.txt' })]);
		emu.clock.advance(2 * STEP);
		expect((await linkOf(failing.json.id, 0)).json.error.message).toMatch(/Failed/);
	});
});

describe('library: /api/libraryfiles', () => {
	test('upload (multipart, as upload-library.md\'s curl example), list, delete', async () => {
		const script = Buffer.from('#!/bin/bash\nps aux\n');
		const res = await upload([
			{ name: 'file', value: script, filename: 'collect.sh' },
			{ name: 'ParametersDescription', value: 'none' },
			{ name: 'HasParameters', value: 'false' },
			{ name: 'OverrideIfExists', value: 'true' },
			{ name: 'Description', value: 'process list' },
		]);
		expect(res.status).toBe(200);
		const entity = {
			fileName: 'collect.sh',
			sha256: crypto.createHash('sha256').update(script).digest('hex'),
			description: 'process list',
			creationTime: expect.stringMatching(TS7),
			lastUpdatedTime: expect.stringMatching(TS7),
			createdBy: 'n8n Defender emulator app',
			hasParameters: false,
			parametersDescription: 'none',
		};
		expect(res.json).toEqual({ '@odata.context': `${emu.url}/api/$metadata#LibraryFiles/$entity`, ...entity });
		expect(emu.liveResponse.libraryFileBytes('collect.sh')!.equals(script)).toBe(true);

		const listed = await api('GET', '/api/libraryfiles');
		expect(listed.status).toBe(200);
		expect(listed.json).toEqual({ '@odata.context': `${emu.url}/api/$metadata#LibraryFiles`, value: [entity] });
		expect(emu.liveResponse.library()).toEqual([entity]);

		expect((await api('DELETE', '/api/libraryfiles/collect.sh')).status).toBe(204);
		const again = await api('DELETE', '/api/libraryfiles/collect.sh');
		expect(again.status).toBe(404);
		expect(again.json.error.code).toBe('ResourceNotFound');
		expect((await api('GET', '/api/libraryfiles')).json.value).toEqual([]);
		// The request log keeps the form's shape, not the bytes.
		const logged = emu.requestLog.find((r) => r.method === 'POST' && r.path === '/api/libraryfiles');
		expect(logged?.body).toEqual({
			multipart: [
				{ name: 'file', filename: 'collect.sh', size: script.length },
				{ name: 'ParametersDescription', size: 4 },
				{ name: 'HasParameters', size: 5 },
				{ name: 'OverrideIfExists', size: 4 },
				{ name: 'Description', size: 12 },
			],
		});
	});

	test('an existing name: 400 without OverrideIfExists=true, replaced with it (creation time kept)', async () => {
		const first = await upload([{ name: 'File', value: 'v1', filename: 'tool.ps1' }]);
		expect(first.status).toBe(200);
		expect(first.json).toMatchObject({ description: null, hasParameters: false, parametersDescription: null });
		const dup = await upload([{ name: 'file', value: 'v2', filename: 'TOOL.ps1' }]);
		expect(dup.status).toBe(400);
		expect(dup.json.error).toMatchObject({ code: 'BadRequest', message: expect.stringMatching(/already exists.*OverrideIfExists/) });
		expect((await upload([{ name: 'file', value: 'v2', filename: 'tool.ps1' }, { name: 'OverrideIfExists', value: 'false' }])).status).toBe(400);
		emu.clock.advance(MINUTE);
		const replaced = await upload([
			{ name: 'file', value: 'v2', filename: 'tool.ps1' },
			{ name: 'OverrideIfExists', value: 'True' },
			{ name: 'HasParameters', value: 'true' },
			{ name: 'ParametersDescription', value: '-Target <host>' },
		]);
		expect(replaced.status).toBe(200);
		expect(replaced.json).toMatchObject({ creationTime: first.json.creationTime, hasParameters: true, parametersDescription: '-Target <host>' });
		expect(replaced.json.lastUpdatedTime > first.json.lastUpdatedTime).toBe(true);
		expect(replaced.json.sha256).toBe(crypto.createHash('sha256').update('v2').digest('hex'));
		expect(emu.liveResponse.library()).toHaveLength(1);
	});

	test('20 MB at most (400 beyond, the only failure upload-library.md documents)', async () => {
		const limit = 20 * 1024 * 1024;
		const over = await upload([{ name: 'file', value: Buffer.alloc(limit + 1, 0x41), filename: 'big.bin' }]);
		expect(over.status).toBe(400);
		expect(over.json.error).toMatchObject({ code: 'BadRequest', message: expect.stringMatching(/20 MB/) });
		expect(emu.liveResponse.library()).toEqual([]);
		const exact = await upload([{ name: 'file', value: Buffer.alloc(limit, 0x41), filename: 'big.bin' }]);
		expect(exact.status).toBe(200);
		expect(() => emu.liveResponse.addLibraryFile('bigger.bin', Buffer.alloc(limit + 1))).toThrow(/20 MB/);
	});

	test.each([
		['no file part', [{ name: 'Description', value: 'x' }], 'MissingRequiredParameter', /file/],
		['a file field without a file name', [{ name: 'file', value: 'x' }], 'InvalidRequestBody', /filename/],
		['an unknown field', [{ name: 'file', value: 'x', filename: 'a.ps1' }, { name: 'Overwrite', value: 'true' }], 'InvalidRequestBody', /'Overwrite' is not a field/],
		['a non-boolean flag', [{ name: 'file', value: 'x', filename: 'a.ps1' }, { name: 'HasParameters', value: 'yes' }], 'InvalidRequestBody', /true or false/],
	])('400 for %s', async (_what, fields, code, message) => {
		const res = await upload(fields as FormField[]);
		expect(res.status).toBe(400);
		expect(res.json.error).toMatchObject({ code, message: expect.stringMatching(message) });
	});

	test('a JSON or malformed body is a 400; Library.Manage is required for list, upload and delete', async () => {
		const json = await api('POST', '/api/libraryfiles', { file: 'x' });
		expect(json.status).toBe(400);
		expect(json.json.error.message).toMatch(/multipart\/form-data/);
		const broken = await call(emu, 'POST', '/api/libraryfiles', { token: mde, raw: { body: Buffer.from('--abc\r\nno headers'), contentType: 'multipart/form-data; boundary=abc' } });
		expect(broken.status).toBe(400);
		expect(broken.json.error.code).toBe('InvalidRequestBody');

		const other = await tokenFor(emu, emu.addClient({ roles: ['Machine.LiveResponse', 'Machine.ReadWrite.All'] }));
		for (const res of [
			await call(emu, 'GET', '/api/libraryfiles', { token: other }),
			await upload([{ name: 'file', value: 'x', filename: 'a.ps1' }], other),
			await call(emu, 'DELETE', '/api/libraryfiles/a.ps1', { token: other }),
		]) {
			expect(res.status).toBe(403);
			expect(res.json.error).toMatchObject({ code: 'Forbidden', message: expect.stringContaining('Library.Manage') });
		}
		expect(emu.liveResponse.library()).toEqual([]);
	});

	test('a library file deleted before its command runs fails the command', async () => {
		const m = setup();
		const res = await run(m.id, [cmd('RunScript', { ScriptName: 'minidump.ps1' })]);
		expect((await api('DELETE', '/api/libraryfiles/minidump.ps1')).status).toBe(204);
		emu.clock.advance(2 * STEP);
		expect(action(res.json.id).status).toBe('Failed');
	});
});

describe('in-process handle, admin API, reset', () => {
	test('start(), sessions(), machineFiles(); reset() clears sessions, library, files, scripts', async () => {
		const m = setup();
		emu.liveResponse.setScriptResult('minidump.ps1', 'fail');
		const session = emu.liveResponse.start(m.id, [lrCmd('GetFile', { Path: WIN_FILE })], { comment: 'in-process' });
		expect(session).toMatchObject({ type: 'LiveResponse', requestorComment: 'in-process', requestor: 'n8n Defender emulator app', status: 'Pending' });
		expect(() => emu.liveResponse.start(m.id, [lrCmd('GetFile', { Path: WIN_FILE })])).toThrow(/already in progress/);
		expect(() => emu.liveResponse.start(m.id, [lrCmd('GetFile', { path: 'x' })])).toThrow(/not a parameter/);
		expect(emu.liveResponse.machineFiles(m.id)).toEqual({ [WIN_FILE]: FILE_BYTES });
		emu.reset();
		expect(emu.liveResponse.sessions()).toEqual([]);
		expect(emu.liveResponse.library()).toEqual([]);
		expect(emu.machineActions.all()).toEqual([]);
		const fresh = machine();
		expect(Object.keys(emu.liveResponse.machineFiles(fresh.id))).toEqual(['C:\\Windows\\System32\\drivers\\etc\\hosts']);
	});

	test('admin: library, device files, scripts, failing commands, sessions, results, link lifetime', async () => {
		const admin = (method: string, p: string, json?: unknown) => call(emu, method, `/_emulator${p}`, { json });
		const m = machine();
		expect((await admin('POST', '/liveResponse/library', { fileName: 'info.ps1', content: 'Get-ComputerInfo', description: 'host info' })).status).toBe(201);
		expect((await admin('POST', '/liveResponse/library', { fileName: 'info.ps1', content: 'x' })).status).toBe(400);
		expect((await admin('GET', '/liveResponse/library')).json.value).toEqual([expect.objectContaining({ fileName: 'info.ps1', description: 'host info' })]);
		expect((await admin('GET', '/liveResponse/library/info.ps1')).text).toBe('Get-ComputerInfo');
		expect((await admin('PUT', `/liveResponse/machines/${m.id}/files`, { files: { 'C:\\a.txt': Buffer.from('alpha').toString('base64') }, encoding: 'base64' })).status).toBe(200);
		expect((await admin('GET', `/liveResponse/machines/${m.id}/files`)).json.files).toEqual({ 'C:\\a.txt': Buffer.from('alpha').toString('base64') });
		expect((await admin('PUT', '/liveResponse/scripts/info.ps1', { exit_code: 1, script_output: 'out', script_errors: 'err' })).status).toBe(200);

		const res = await run(m.id, [cmd('RunScript', { ScriptName: 'info.ps1' }), cmd('GetFile', { Path: 'c:/A.TXT' }), cmd('GetFile', { Path: 'C:\\a.txt' })]);
		expect((await admin('POST', `/liveResponse/sessions/${res.json.id}/commands/2/fail`, { message: 'disk error' })).status).toBe(200);
		emu.clock.advance(5 * STEP);
		const sessions = (await admin('GET', '/liveResponse/sessions')).json.value;
		expect(sessions).toEqual([expect.objectContaining({ actionId: res.json.id, status: 'Failed' })]);
		expect(sessions[0].commands.map((c: { commandStatus: string }) => c.commandStatus)).toEqual(['Completed', 'Completed', 'Failed']);
		const transcript = await admin('GET', `/liveResponse/results/${res.json.id}/0`);
		expect(JSON.parse(transcript.text)).toEqual({ script_name: 'info.ps1', exit_code: 1, script_output: 'out', script_errors: 'err' });
		expect(readZipEntry((await admin('GET', `/liveResponse/results/${res.json.id}/1`)).body).data.toString()).toBe('alpha');
		expect((await admin('GET', `/liveResponse/results/${res.json.id}/2`)).status).toBe(404);

		expect((await admin('PUT', '/liveResponse/linkTtl', { ms: 120000 })).json).toEqual({ ms: 120000 });
		expect(emu.liveResponse.linkTtlMs).toBe(120000);
		expect((await admin('PUT', '/liveResponse/linkTtl', { ms: -1 })).status).toBe(400);
		expect((await admin('DELETE', '/liveResponse/scripts/info.ps1')).status).toBe(204);
		expect((await admin('DELETE', '/liveResponse/library/info.ps1')).status).toBe(204);
		expect((await admin('DELETE', '/liveResponse/library/info.ps1')).status).toBe(404);
	});
});
