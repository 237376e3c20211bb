/**
 * 300 input items of Run Antivirus Scan against the emulator with Defender's documented limits enforced
 * (100 calls/min and 1,500/h per endpoint, reference §5.1) on a scaled clock: the client-side limiter makes the
 * burst wait instead of failing with 429.
 *
 * The scale is 5 (a "minute" lasts 12 s) rather than 60: one item is two sequential requests (duplicate lookup +
 * POST), about 30 items a second here (less on a loaded machine), so with short minutes the burst would not reach
 * the limit and the limiter would not be exercised.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Machine, type RequestLogEntry } from '../emulator';
import { createHarness, emulatorCredentials, executeNode } from '../helpers/n8n';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

const TIME_SCALE = 5;
const SCALED_MINUTE_MS = 60_000 / TIME_SCALE;
let emu: Emulator;
let machines: Machine[];
let output: INodeExecutionData[];
let log: RequestLogEntry[];
let elapsed: number;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	transportSettings.rateLimitTimeScale = TIME_SCALE;
	emu = await startEmulator({ rateLimits: true, rateLimitTimeScale: TIME_SCALE, machineActionStepMs: 60_000 });
	machines = emu.machines.seed(300);
	const items: INodeExecutionData[] = machines.map((m) => ({ json: { machineId: m.id } }));
	const nodeType = new MicrosoftDefender();
	const h = createHarness(
		nodeType,
		'microsoftDefender',
		{
			resource: 'machine',
			operation: 'runAntivirusScan',
			machineId: { __rl: true, mode: 'id', value: '={{ $json.machineId }}' },
			comment: 'Fleet sweep',
			scanType: 'Quick',
			waitForCompletion: false,
		},
		emulatorCredentials(emu),
	);
	emu.resetStats();
	const started = Date.now();
	[output] = await executeNode(h, nodeType, items);
	elapsed = Date.now() - started;
	log = emu.requestLog.filter((e) => e.path.startsWith('/api/'));
}, 120_000);

afterAll(async () => {
	await emu?.close();
});

it('300 antivirus scans: every item succeeds, one action per machine', () => {
	expect(output).toHaveLength(300);
	expect(output.map((o) => o.json.machineId)).toEqual(machines.map((m) => m.id));
	expect(output.map((o) => o.pairedItem)).toEqual(machines.map((_, item) => ({ item })));
	for (const item of output) {
		expect(item.json.error).toBeUndefined();
		expect(item.json).toMatchObject({ type: 'RunAntiVirusScan', status: 'Pending', scope: 'Quick', reusedExistingAction: false });
	}
	const created = emu.machineActions.all().filter((a) => a.type === 'RunAntiVirusScan');
	expect(created).toHaveLength(300);
	expect(new Set(created.map((a) => a.machineId)).size).toBe(300);
	const accepted = log.filter((e) => e.method === 'POST' && e.status === 201);
	expect(accepted).toHaveLength(300);
	expect(accepted.map((e) => e.body as IDataObject)).toEqual(machines.map(() => ({ Comment: 'Fleet sweep', ScanType: 'Quick' })));
});

it('the emulator never accepted more than 100 scans (or duplicate lookups) in any scaled minute', () => {
	const scanKey = log.find((e) => e.method === 'POST')!.key;
	expect(scanKey.toLowerCase()).toBe('post /api/machines/:id/runantivirusscan');
	const maxScans = emu.maxInWindow(scanKey, SCALED_MINUTE_MS);
	expect(maxScans).toBeLessThanOrEqual(100);
	// How full the windows got depends on this machine's speed; the limiter's arithmetic is tested with a fake
	// clock in test/foundation/rateLimiter.test.ts.
	expect(emu.maxInWindow('GET /api/machineactions', SCALED_MINUTE_MS)).toBeLessThanOrEqual(100);
	// 300 calls at 100 per scaled minute need at least two full windows.
	expect(elapsed).toBeGreaterThanOrEqual(2 * SCALED_MINUTE_MS);
});

// The API counts a call when it arrives; the limiter stamps each call when its response arrives (an upper bound),
// so delays between sending and arrival (a new TLS connection, a busy event loop) cannot put a 101st call in a
// window.
it('the client-side limiter alone kept the burst under the limits: not a single 429', () => {
	const throttled = log.filter((e) => e.status === 429).map((e) => e.key);
	expect(throttled).toEqual([]);
});
