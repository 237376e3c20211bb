/**
 * Writes are never applied twice. Each write operation runs through n8n-core's ExecuteContext against the emulator
 * while the emulator acts on the request and then loses the answer ("acted, then timed out / reset / 500": fault
 * `after: true`). The transport may not send it again blindly: it reads back whether it took effect. Every case
 * ends with exactly one effect in the emulator (one comment, one indicator write, one tag change, one machine
 * action) and either success (verified applied) or the "may have been applied" error, never two effects. Failures
 * that prove the write did not happen (429, 503 with Retry-After, a refused connection) are retried as before.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes, createHash } from 'node:crypto';
import type { ICredentialDataDecryptedObject, IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator, type FaultSpec, type Machine, type RequestLogEntry } from '../emulator';
import { createHarness, emulatorCredentials, executeNode } from '../helpers/n8n';

let emu: Emulator;
const saved = { ...transportSettings };
/** The client gives up after this; an "acted, then slow" answer comes much later. */
const TIMEOUT_MS = 1_000;
const SLOW_MS = 2_500;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	transportSettings.maxDelayMs = 50;
	transportSettings.requestTimeoutMs = TIMEOUT_MS;
	// Machine actions stay Pending (one emulated step is a minute), as real ones do for a while.
	emu = await startEmulator({ machineActionStepMs: 60_000 });
});

afterAll(async () => {
	Object.assign(transportSettings, saved);
	await emu?.close();
});

beforeEach(() => emu.faults.clear());

const unique = () => randomBytes(6).toString('hex');
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean; credentials?: ICredentialDataDecryptedObject } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', parameters, { ...emulatorCredentials(emu), ...options.credentials });
	if (options.continueOnFail) h.node.continueOnFail = true;
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

const mark = (): number => emu.requestLog.length;

/** Requests to the write's route since `from` that the emulator's handler carried out (answered 2xx). */
function acted(from: number, match: RegExp): RequestLogEntry[] {
	return emu.requestLog.slice(from).filter((e) => {
		if (!match.test(`${e.method} ${e.path}`)) return false;
		const handled = e.handledStatus ?? (e.fault ? undefined : e.status);
		return handled !== undefined && handled >= 200 && handled < 300;
	});
}

const commentsOf = (alertId: string, text: string) => emu.alerts.get(alertId)!.comments.filter((c) => c.comment === text);
const tagsOf = (machineId: string, tag: string) => emu.machines.get(machineId)!.machineTags.filter((t) => t === tag);
const actionsOf = (machineId: string, type: string) =>
	emu.machineActions.all().filter((a) => a.machineId === machineId && a.type === type);

function windowsMachine(): Machine {
	const machine = emu.machines.seed(1)[0];
	return machine.osPlatform.startsWith('Windows') ? machine : emu.machines.create({ osPlatform: 'Windows11' });
}

interface Case {
	/** The write's route, as the emulator's fault `match`. */
	match: RegExp;
	/** Sets up a fresh target; returns the node parameters, the effect count, and a check of the output. */
	setup(): {
		parameters: IDataObject;
		items?: INodeExecutionData[];
		effects(): number;
		expected: number;
		output(items: INodeExecutionData[]): void;
	};
}

function responseActionCase(operation: string, type: string, extra: (machine: Machine) => IDataObject = () => ({})): Case {
	return {
		match: new RegExp(`^POST /api/machines/[0-9a-f]{40}/${type === 'Unisolate' ? 'unisolate' : '[A-Za-z]+'}$`),
		setup() {
			const machine = windowsMachine();
			const comment = `n8n ${operation} ${unique()}`;
			return {
				parameters: {
					resource: 'machine',
					operation,
					machineId: byId(machine.id),
					comment,
					waitForCompletion: false,
					...extra(machine),
				},
				effects: () => actionsOf(machine.id, type).length,
				expected: 1,
				output: (items) => {
					const [action] = actionsOf(machine.id, type);
					expect(items.map((i) => i.json)).toEqual([
						expect.objectContaining({ id: action.id, type, requestorComment: comment, reusedExistingAction: false }),
					]);
				},
			};
		},
	};
}

const CASES: Record<string, Case> = {
	'alert Update with a comment (MDE)': {
		match: /^PATCH \/api\/alerts\//,
		setup() {
			const alert = emu.alerts.create({ status: 'New' });
			const comment = `Triaged ${unique()}`;
			return {
				parameters: { resource: 'alert', operation: 'update', alertId: byId(alert.id), status: 'InProgress', assignedTo: 'soc@contoso.com', comment },
				effects: () => commentsOf(alert.id, comment).length,
				expected: 1,
				output: (items) => {
					expect(items).toHaveLength(1);
					expect(items[0].json).toMatchObject({ id: alert.id, status: 'InProgress', assignedTo: 'soc@contoso.com' });
					expect(emu.alerts.get(alert.id)).toMatchObject({ status: 'InProgress', assignedTo: 'soc@contoso.com' });
				},
			};
		},
	},
	'alert Add Comment (MDE)': {
		match: /^PATCH \/api\/alerts\//,
		setup() {
			const alert = emu.alerts.create({});
			const comment = `Checked ${unique()}`;
			return {
				parameters: { resource: 'alert', operation: 'addComment', alertId: byId(alert.id), comment },
				effects: () => commentsOf(alert.id, comment).length,
				expected: 1,
				output: (items) => {
					expect(items[0].json.id).toBe(alert.id);
					expect((items[0].json.comments as IDataObject[]).filter((c) => c.comment === comment)).toHaveLength(1);
				},
			};
		},
	},
	'alert Add Comment (Graph)': {
		match: /^POST \/v1\.0\/security\/alerts_v2\/[^/]+\/comments$/,
		setup() {
			const alert = emu.alerts.create({});
			const comment = `Checked via Graph ${unique()}`;
			return {
				parameters: { resource: 'alert', operation: 'addComment', source: 'graph', alertId: byId(alert.id), comment },
				effects: () => commentsOf(alert.id, comment).length,
				expected: 1,
				output: (items) => {
					expect(items[0].json.id).toBe(alert.id);
					expect((items[0].json.comments as IDataObject[]).filter((c) => c.comment === comment)).toHaveLength(1);
				},
			};
		},
	},
	'alert Batch Update': {
		match: /^POST \/api\/alerts\/batchUpdate$/,
		setup() {
			const alerts = [emu.alerts.create({}), emu.alerts.create({}), emu.alerts.create({})];
			const comment = `Bulk close ${unique()}`;
			return {
				parameters: { resource: 'alert', operation: 'batchUpdate', alertIds: alerts.map((a) => a.id).join(','), status: 'Resolved', comment },
				effects: () => alerts.reduce((n, a) => n + commentsOf(a.id, comment).length, 0),
				expected: 3,
				output: (items) => {
					expect(items.map((i) => i.json)).toEqual([expect.objectContaining({ updatedAlertIds: alerts.map((a) => a.id), updatedCount: 3 })]);
					for (const alert of alerts) expect(emu.alerts.get(alert.id)!.status).toBe('Resolved');
				},
			};
		},
	},
	'indicator Create': {
		match: /^POST \/api\/indicators$/,
		setup() {
			const value = sha256(unique());
			return {
				parameters: {
					resource: 'indicator',
					operation: 'create',
					indicatorType: 'FileSha256',
					indicatorValue: value,
					action: 'Block',
					title: 'Known loader',
					indicatorDescription: 'From the feed',
					additionalFields: { severity: 'High' },
				},
				effects: () => emu.indicators.all().filter((i) => i.indicatorValue === value).length,
				expected: 1,
				output: (items) => {
					const [indicator] = emu.indicators.all().filter((i) => i.indicatorValue === value);
					expect(items.map((i) => i.json)).toEqual([expect.objectContaining({ id: indicator.id, indicatorValue: value, action: 'Block', severity: 'High' })]);
				},
			};
		},
	},
	'indicator Import': {
		match: /^POST \/api\/indicators\/import$/,
		setup() {
			const hashes = [0, 1, 2].map(() => sha256(unique()));
			return {
				parameters: {
					resource: 'indicator',
					operation: 'import',
					inputMode: 'fields',
					indicatorType: 'FileSha256',
					indicatorValue: '={{ $json.hash }}',
					action: 'Audit',
					title: 'Feed entry',
					indicatorDescription: 'Imported from the feed',
				},
				items: hashes.map((hash) => ({ json: { hash } })),
				effects: () => emu.indicators.all().filter((i) => hashes.includes(i.indicatorValue)).length,
				expected: 3,
				output: (items) => {
					expect(items.map((i) => [i.json.indicator, i.json.isFailed, i.pairedItem])).toEqual(
						hashes.map((hash, item) => [hash, false, { item }]),
					);
				},
			};
		},
	},
	'machine Add Tag': {
		match: /^POST \/api\/machines\/[0-9a-f]{40}\/tags$/,
		setup() {
			const [machine] = emu.machines.seed(1);
			const tag = `Quarantined ${unique()}`;
			return {
				parameters: { resource: 'machine', operation: 'addTag', machineId: byId(machine.id), tag },
				effects: () => tagsOf(machine.id, tag).length,
				expected: 1,
				output: (items) => expect(items[0].json).toMatchObject({ id: machine.id, machineTags: expect.arrayContaining([tag]) }),
			};
		},
	},
	'machine Remove Tag': {
		match: /^POST \/api\/machines\/[0-9a-f]{40}\/tags$/,
		setup() {
			const tag = `Watch ${unique()}`;
			const machine = emu.machines.create({ machineTags: ['Keep', tag] });
			return {
				parameters: { resource: 'machine', operation: 'removeTag', machineId: byId(machine.id), tag },
				// One change: the tag went, the other stayed.
				effects: () => (tagsOf(machine.id, tag).length === 0 && tagsOf(machine.id, 'Keep').length === 1 ? 1 : 0),
				expected: 1,
				output: (items) => expect(items[0].json).toMatchObject({ id: machine.id, machineTags: ['Keep'] }),
			};
		},
	},
	'machine Isolate': responseActionCase('isolate', 'Isolate', () => ({ isolationType: 'Selective' })),
	'machine Release from Isolation': responseActionCase('releaseIsolation', 'Unisolate'),
	'machine Run Antivirus Scan': responseActionCase('runAntivirusScan', 'RunAntiVirusScan', () => ({ scanType: 'Full' })),
	'machine Restrict App Execution': responseActionCase('restrictAppExecution', 'RestrictCodeExecution'),
	'machine Remove App Restriction': responseActionCase('removeAppRestriction', 'UnrestrictCodeExecution'),
	'machine Collect Investigation Package': responseActionCase('collectInvestigationPackage', 'CollectInvestigationPackage'),
	'machine Stop and Quarantine File': responseActionCase('stopAndQuarantineFile', 'StopAndQuarantineFile', () => ({ sha1: sha1(unique()) })),
	'machine Offboard': responseActionCase('offboard', 'Offboard'),
};

const FAULTS: Record<string, Omit<FaultSpec, 'match'>> = {
	'acted, then timed out': { kind: 'slow', after: true, delayMs: SLOW_MS },
	'acted, then the connection was reset': { kind: 'reset', after: true },
	'acted, then HTTP 500': { kind: '500', after: true },
};

describe.each(Object.entries(CASES))('%s', (_name, testCase) => {
	it.each(Object.keys(FAULTS))('%s: read back as applied, one effect, no second request', async (faultName) => {
		const target = testCase.setup();
		emu.faults.inject({ ...FAULTS[faultName], match: testCase.match });
		const start = mark();
		const output = await run(target.parameters, target.items);
		expect(emu.faults.pending()).toBe(0);
		expect(target.effects()).toBe(target.expected);
		// The write reached the handler once and was never sent again.
		const writes = emu.requestLog.slice(start).filter((e) => testCase.match.test(`${e.method} ${e.path}`));
		expect(writes).toHaveLength(1);
		expect(acted(start, testCase.match)).toHaveLength(1);
		target.output(output);
	});

	it('HTTP 500 before acting: read back as not applied, sent again, one effect', async () => {
		const target = testCase.setup();
		emu.faults.inject({ kind: '500', match: testCase.match });
		const start = mark();
		const output = await run(target.parameters, target.items);
		expect(target.effects()).toBe(target.expected);
		const writes = emu.requestLog.slice(start).filter((e) => testCase.match.test(`${e.method} ${e.path}`));
		expect(writes.map((e) => e.status)).toEqual([500, expect.any(Number)]);
		expect(acted(start, testCase.match)).toHaveLength(1);
		target.output(output);
	});
});

describe('when reading back cannot tell', () => {
	// The read-back of an alert is GET /api/alerts/{id}; making it fail leaves the outcome unknown.
	const failReads = (alertId: string) =>
		emu.faults.inject({ kind: '500', count: transportSettings.maxAttempts, match: new RegExp(`^GET /api/alerts/${alertId}$`) });

	it('Add Comment that timed out after acting: "may have been applied", naming what to check; not sent again', async () => {
		const alert = emu.alerts.create({});
		const comment = `Once ${unique()}`;
		emu.faults.inject({ kind: 'slow', after: true, delayMs: SLOW_MS, match: /^PATCH \/api\/alerts\// });
		failReads(alert.id);
		const start = mark();
		const error = await run({ resource: 'alert', operation: 'addComment', alertId: byId(alert.id), comment }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as Error).message).toBe(
			"Add Comment: the request timed out after the API may have applied it; check the alert's comments before retrying.",
		);
		expect((error as NodeApiError).description).toMatch(/^It was not sent again, since that could apply it twice\. Reading it back failed: GET \/api\/alerts\/.* HTTP 500/);
		expect(commentsOf(alert.id, comment)).toHaveLength(1);
		expect(emu.requestLog.slice(start).filter((e) => e.method === 'PATCH')).toHaveLength(1);
	});

	it('with Continue On Fail the item becomes an error item and the next item still runs', async () => {
		const [first, second] = [emu.alerts.create({}), emu.alerts.create({})];
		emu.faults.inject({ kind: 'reset', after: true, match: new RegExp(`^PATCH /api/alerts/${first.id}$`) });
		failReads(first.id);
		const output = await run(
			{ resource: 'alert', operation: 'addComment', alertId: byId('={{ $json.id }}'), comment: 'Reviewed' },
			[{ json: { id: first.id } }, { json: { id: second.id } }],
			{ continueOnFail: true },
		);
		expect(output[0].json.error).toBe(
			"Add Comment: the connection dropped after the API may have applied it; check the alert's comments before retrying.",
		);
		expect(output[1].json).toMatchObject({ id: second.id });
		expect(commentsOf(first.id, 'Reviewed')).toHaveLength(1);
		expect(commentsOf(second.id, 'Reviewed')).toHaveLength(1);
	});

	it('a 500 after acting names the status and keeps its HTTP code', async () => {
		const alert = emu.alerts.create({});
		emu.faults.inject({ kind: '500', after: true, match: /^PATCH \/api\/alerts\// });
		failReads(alert.id);
		const error = (await run({ resource: 'alert', operation: 'update', alertId: byId(alert.id), status: 'Resolved', comment: 'Done' }).catch(
			(e: unknown) => e,
		)) as NodeApiError;
		expect(error.message).toBe(
			"Update: the API answered HTTP 500 InternalServerError, and it may have applied the request anyway; check the alert's status, owner, classification, determination and comments before retrying.",
		);
		expect(error.httpCode).toBe('500');
		expect(commentsOf(alert.id, 'Done')).toHaveLength(1);
	});

	it('the comment is there but the fields differ (changed since, by someone else): unknown, not sent again', async () => {
		const alert = emu.alerts.create({ status: 'New' });
		emu.faults.inject({ kind: 'slow', after: true, delayMs: SLOW_MS, match: /^PATCH \/api\/alerts\// });
		const pending = run({ resource: 'alert', operation: 'update', alertId: byId(alert.id), status: 'InProgress', comment: 'Taking it' }).catch(
			(e: unknown) => e,
		);
		// Another analyst moves the alert back while our answer is lost (before the client times out and reads back).
		while (!commentsOf(alert.id, 'Taking it').length) await new Promise((resolve) => setTimeout(resolve, 5));
		emu.alerts.update(alert.id, { status: 'New' });
		const error = await pending;
		expect((error as Error).message).toBe(
			"Update: the request timed out after the API may have applied it; check the alert's status, owner, classification, determination and comments before retrying.",
		);
		expect((error as NodeApiError).description).toMatch(/The alert has the comment, but not all of the values sent \(status\)/);
		expect(commentsOf(alert.id, 'Taking it')).toHaveLength(1);
	});
});

describe('failures that prove the write did not happen are retried', () => {
	it('a 429 before the write: waited, sent again, applied once, nothing read back', async () => {
		const alert = emu.alerts.create({});
		emu.faults.inject({ kind: '429', retryAfterSeconds: 0, match: /^PATCH \/api\/alerts\// });
		const start = mark();
		const output = await run({ resource: 'alert', operation: 'addComment', alertId: byId(alert.id), comment: 'After 429' });
		const calls = emu.requestLog.slice(start).filter((e) => e.path.startsWith('/api/'));
		expect(calls.map((e) => `${e.method} ${e.status}`)).toEqual(['PATCH 429', 'PATCH 200']);
		expect(commentsOf(alert.id, 'After 429')).toHaveLength(1);
		expect(output[0].json.id).toBe(alert.id);
	});

	it('a 503 with Retry-After before the write: sent again, applied once, nothing read back', async () => {
		const [machine] = emu.machines.seed(1);
		emu.faults.inject({ kind: '503', retryAfterSeconds: 0, match: /\/isolate$/ });
		const start = mark();
		await run({ resource: 'machine', operation: 'isolate', machineId: byId(machine.id), comment: 'c', waitForCompletion: false });
		const posts = emu.requestLog.slice(start).filter((e) => e.method === 'POST');
		expect(posts.map((e) => e.status)).toEqual([503, 201]);
		expect(actionsOf(machine.id, 'Isolate')).toHaveLength(1);
	});

	it('a refused connection (nothing sent): sent again once the API listens, applied once', async () => {
		// The API base URL points at a port nobody listens on yet; a forwarder to the emulator opens there while
		// the transport backs off after the refusal. Sign-in goes to the emulator directly.
		const base = { baseDelayMs: transportSettings.baseDelayMs, maxDelayMs: transportSettings.maxDelayMs };
		transportSettings.baseDelayMs = 8_000;
		transportSettings.maxDelayMs = 8_000;
		const port = await freePort();
		const client = emu.addClient({ displayName: 'refused-then-listening' });
		const alert = emu.alerts.create({});
		let forwarder: Server | undefined;
		const sockets: Socket[] = [];
		const opened = (async () => {
			// The first attempt follows this client's token request within milliseconds (1.5 s of margin for a loaded
			// machine); its retry comes 4–8 s later.
			while (!emu.requestLog.some((e) => e.method === 'POST' && e.path.endsWith('/token') && e.clientId === client.clientId)) {
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
			await new Promise((resolve) => setTimeout(resolve, 1_500));
			forwarder = await listenForwarder(port, emu.port, sockets);
			return Date.now();
		})();
		const start = mark();
		try {
			const output = await run(
				{ resource: 'alert', operation: 'addComment', alertId: byId(alert.id), comment: 'After a refusal' },
				[{ json: {} }],
				{ credentials: { ...emulatorCredentials(emu, client), apiBaseUrl: `https://127.0.0.1:${port}` } },
			);
			const openedAt = await opened;
			const patches = emu.requestLog.slice(start).filter((e) => e.method === 'PATCH');
			expect(patches.map((e) => e.status)).toEqual([200]);
			// It arrived through the forwarder, which opened after the first attempt had been refused: one backoff
			// (4–8 s) after the sign-in, not right after it.
			expect(patches[0].realTime).toBeGreaterThanOrEqual(openedAt);
			const signedInAt = emu.requestLog.find((e) => e.path.endsWith('/token') && e.clientId === client.clientId)!.realTime;
			expect(patches[0].realTime - signedInAt).toBeGreaterThanOrEqual(3_900);
			expect(commentsOf(alert.id, 'After a refusal')).toHaveLength(1);
			expect(output[0].json.id).toBe(alert.id);
		} finally {
			Object.assign(transportSettings, base);
			await opened.catch(() => undefined);
			for (const socket of sockets) socket.destroy();
			await new Promise((resolve) => (forwarder ? forwarder.close(resolve) : resolve(undefined)));
		}
	});
});

describe('reads and queries keep their retries', () => {
	it('a GET after a 500 and a reset is retried as before', async () => {
		const alert = emu.alerts.create({});
		emu.faults.inject({ kind: '500', match: new RegExp(`^GET /api/alerts/${alert.id}$`) });
		emu.faults.inject({ kind: 'reset', match: new RegExp(`^GET /api/alerts/${alert.id}$`) });
		const output = await run({ resource: 'alert', operation: 'get', alertId: byId(alert.id) });
		expect(output[0].json.id).toBe(alert.id);
	});

	it('advanced hunting (a POST that changes nothing) is retried after a 500', async () => {
		emu.machines.seed(2);
		// The harness's node is version 1: the MDE hunting API.
		emu.faults.inject({ kind: '500', match: /^POST \/api\/advancedqueries\/run$/ });
		const start = mark();
		const output = await run({ resource: 'advancedHunting', operation: 'runQuery', query: 'DeviceInfo | take 1' });
		expect(emu.requestLog.slice(start).filter((e) => e.method === 'POST').map((e) => `${e.path} ${e.status}`)).toEqual([
			'/api/advancedqueries/run 500',
			'/api/advancedqueries/run 200',
		]);
		expect(output).toHaveLength(1);
	});

	it('indicator Delete is retried like a read; a 404 after a lost answer means that attempt deleted it', async () => {
		const indicator = emu.indicators.create({
			indicatorValue: sha256(unique()),
			indicatorType: 'FileSha256',
			action: 'Audit',
			generateAlert: true,
			title: 't',
			description: 'd',
		});
		emu.faults.inject({ kind: '500', after: true, match: /^DELETE \/api\/indicators\// });
		const start = mark();
		const output = await run({ resource: 'indicator', operation: 'delete', indicatorId: indicator.id });
		expect(output.map((o) => o.json)).toEqual([{ deleted: true, id: indicator.id }]);
		expect(emu.requestLog.slice(start).filter((e) => e.method === 'DELETE').map((e) => e.status)).toEqual([500, 404]);
		expect(emu.indicators.all().some((i) => i.id === indicator.id)).toBe(false);
	});
});

async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/** A plain TCP forwarder on `port` to the emulator (TLS stays end to end). */
async function listenForwarder(port: number, target: number, sockets: Socket[]): Promise<Server> {
	const server = createServer((socket) => {
		const upstream = connect(target, '127.0.0.1');
		sockets.push(socket, upstream);
		socket.pipe(upstream).pipe(socket);
		socket.on('error', () => upstream.destroy());
		upstream.on('error', () => socket.destroy());
	});
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
	return server;
}
