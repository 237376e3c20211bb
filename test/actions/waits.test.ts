/**
 * Bounded waits: the action node waits for Defender's throttling (Retry-After, the client-side rate limit) only up
 * to Request Options › Max Wait for Throttling (default 120 s). A longer wait fails the item at once with the time
 * the API accepts the next call, instead of holding the execution. Run through n8n-core's ExecuteContext against
 * the emulator.
 */
import { NodeApiError, NodeHelpers, type IDataObject, type INodeExecutionData, type INodeParameters } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { DEFAULT_MAX_WAIT_SECONDS, transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode } from '../helpers/n8n';

let emu: Emulator;
const saved = { ...transportSettings };

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	emu = await startEmulator({});
});

afterAll(async () => {
	Object.assign(transportSettings, saved);
	await emu?.close();
});

beforeEach(() => {
	emu.faults.clear();
});

const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/;

async function run(
	parameters: IDataObject,
	items: INodeExecutionData[] = [{ json: {} }],
	options: { continueOnFail?: boolean; client?: { clientId: string; clientSecret: string } } = {},
): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(nodeType, 'microsoftDefender', parameters, emulatorCredentials(emu, options.client ?? emu.client));
	if (options.continueOnFail) h.node.continueOnFail = true;
	const [output] = await executeNode(h, nodeType, items);
	return output;
}

/** The resume time an error message names. */
function resumeAtOf(message: string): number {
	const match = ISO.exec(message);
	expect(match).not.toBeNull();
	return Date.parse(match![0]);
}

const getAlerts = (ids: string[]) => ({
	parameters: { resource: 'alert', operation: 'get', alertId: byId('={{ $json.id }}') },
	items: ids.map((id) => ({ json: { id } })),
});

describe('the Max Wait for Throttling option', () => {
	it('is one node-level collection, shown for every resource and operation, default 120 s, minimum 0', () => {
		const property = new MicrosoftDefender().description.properties.find((p) => p.name === 'requestOptions')!;
		expect(property).toMatchObject({ displayName: 'Request Options', type: 'collection', default: {} });
		expect(property.displayOptions).toBeUndefined();
		expect(property.options).toEqual([
			expect.objectContaining({
				displayName: 'Max Wait for Throttling (Seconds)',
				name: 'maxWaitSeconds',
				type: 'number',
				default: 120,
				typeOptions: { minValue: 0 },
			}),
		]);
		expect(DEFAULT_MAX_WAIT_SECONDS).toBe(120);
	});

	it('a workflow saved before the option existed resolves it as {} (the 120 s default); a value set is saved', () => {
		const description = new MicrosoftDefender().description;
		const parametersOf = (values: IDataObject, returnDefaults: boolean) =>
			NodeHelpers.getNodeParameters(
				description.properties,
				values as INodeParameters,
				returnDefaults,
				false,
				{ typeVersion: 1.1 },
				description,
			) as IDataObject;
		const base = { resource: 'alert', operation: 'get', alertId: byId('da1_1') };
		expect(parametersOf(base, true).requestOptions).toEqual({});
		expect(parametersOf({ ...base, requestOptions: { maxWaitSeconds: 30 } }, false)).toMatchObject({ requestOptions: { maxWaitSeconds: 30 } });
	});
});

describe('Retry-After', () => {
	it('an hour-long Retry-After ends the item at once with the resume time; with Continue On Fail the next item runs', async () => {
		const [first, second] = [emu.alerts.create(), emu.alerts.create()];
		emu.faults.inject({ kind: '429', retryAfterSeconds: 3600, match: new RegExp(`^GET /api/alerts/${first.id}$`) });
		const { parameters, items } = getAlerts([first.id, second.id]);
		const started = Date.now();
		const output = await run(parameters, items, { continueOnFail: true });
		const elapsed = Date.now() - started;

		expect(elapsed).toBeLessThan(1000);
		expect(output).toHaveLength(2);
		const message = String(output[0].json.error);
		expect(message).toMatch(/HTTP 429/);
		expect(message).toMatch(/the API accepts the next call at .* \(in 3600 s\), longer than the maximum wait of 120 s/);
		expect(message).toMatch(/Request Options › Max Wait for Throttling/);
		const resumeAt = resumeAtOf(message);
		expect(resumeAt).toBeGreaterThanOrEqual(started + 3_600_000 - 1000);
		expect(resumeAt).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
		expect(output[0].json.httpCode).toBe('429');
		expect(output[0].pairedItem).toEqual({ item: 0 });
		expect(output[1].json).toMatchObject({ id: second.id });
		expect(output[1].pairedItem).toEqual({ item: 1 });
		// The item that failed was asked once: no retry was slept for.
		expect(emu.requestLog.filter((e) => e.path === `/api/alerts/${first.id}`)).toHaveLength(1);
	});

	it('without Continue On Fail the node fails with a NodeApiError naming the wait, the time and the option', async () => {
		const alert = emu.alerts.create();
		emu.faults.inject({ kind: '503', retryAfterSeconds: 3600, match: new RegExp(`^GET /api/alerts/${alert.id}$`) });
		const { parameters, items } = getAlerts([alert.id]);
		const error = await run(parameters, items).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('503');
		expect((error as NodeApiError).message).toMatch(/HTTP 503: the API accepts the next call at .*Max Wait for Throttling/);
		expect((error as NodeApiError).description).toMatch(/accepts the next call at \d{4}-.*Z\. Raise Request Options/);
	});

	it('a Retry-After of 2 s is within the default cap: waited, then the item succeeds', async () => {
		const alert = emu.alerts.create();
		emu.faults.inject({ kind: '429', retryAfterSeconds: 2, match: new RegExp(`^GET /api/alerts/${alert.id}$`) });
		const { parameters, items } = getAlerts([alert.id]);
		const started = Date.now();
		const output = await run(parameters, items);
		expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
		expect(output.map((o) => o.json.id)).toEqual([alert.id]);
	});

	it('with Max Wait 1 s, a Retry-After of 2 s fails the item at once', async () => {
		const alert = emu.alerts.create();
		emu.faults.inject({ kind: '429', retryAfterSeconds: 2, match: new RegExp(`^GET /api/alerts/${alert.id}$`) });
		const { parameters, items } = getAlerts([alert.id]);
		const started = Date.now();
		const output = await run({ ...parameters, requestOptions: { maxWaitSeconds: 1 } }, items, { continueOnFail: true });
		expect(Date.now() - started).toBeLessThan(1000);
		const message = String(output[0].json.error);
		expect(message).toMatch(/\(in 2 s\), longer than the maximum wait of 1 s/);
		expect(message).toMatch(/Max Wait for Throttling/);
		expect(resumeAtOf(message)).toBeGreaterThan(started + 1000);
	});

	it('Max Wait 0 still retries at once when the API allows it (Retry-After: 0)', async () => {
		const alert = emu.alerts.create();
		emu.faults.inject({ kind: '429', retryAfterSeconds: 0, match: new RegExp(`^GET /api/alerts/${alert.id}$`) });
		const { parameters, items } = getAlerts([alert.id]);
		const output = await run({ ...parameters, requestOptions: { maxWaitSeconds: 0 } }, items);
		expect(output.map((o) => o.json.id)).toEqual([alert.id]);
	});

	it('a value that is not a number of seconds is refused before any request', async () => {
		const alert = emu.alerts.create();
		const before = emu.stats().total;
		const { parameters, items } = getAlerts([alert.id]);
		await expect(run({ ...parameters, requestOptions: { maxWaitSeconds: -1 } }, items)).rejects.toThrow(
			/Max Wait for Throttling \(Seconds\) must be a number of seconds, 0 or more/,
		);
		expect(emu.stats().total).toBe(before);
	});
});

describe('the client-side rate limit', () => {
	afterEach(() => {
		transportSettings.rateLimitEnabled = saved.rateLimitEnabled;
		transportSettings.rateLimitTimeScale = saved.rateLimitTimeScale;
	});

	it('a wait for room longer than the cap fails the item at once, naming when room comes', async () => {
		// Batch update allows 10 calls per minute; at a time scale of 0.25 a "minute" lasts 240 s, past the 120 s cap.
		transportSettings.rateLimitEnabled = true;
		transportSettings.rateLimitTimeScale = 0.25;
		const client = emu.addClient({ displayName: 'rate-limit-wait' });
		const alerts = Array.from({ length: 12 }, () => emu.alerts.create());
		const started = Date.now();
		const output = await run(
			{ resource: 'alert', operation: 'batchUpdate', alertIds: '={{ $json.id }}', status: 'InProgress' },
			alerts.map((a) => ({ json: { id: a.id } })),
			{ continueOnFail: true, client },
		);
		const elapsed = Date.now() - started;

		expect(output).toHaveLength(12);
		expect(output.slice(0, 10).map((o) => o.json.updatedAlertIds)).toEqual(alerts.slice(0, 10).map((a) => [a.id]));
		for (const item of output.slice(10)) {
			const message = String(item.json.error);
			expect(message).toMatch(/POST \/api\/alerts\/batchUpdate: Defender's rate limit for this endpoint \(10 calls per minute, 500 per hour, time scaled by 0\.25\) is used up/);
			expect(message).toMatch(/the API accepts the next call at .* \(in \d+ s\), longer than the maximum wait of 120 s/);
			expect(message).toMatch(/Max Wait for Throttling/);
			const resumeAt = resumeAtOf(message);
			expect(resumeAt).toBeGreaterThan(Date.now() + 120_000);
			expect(resumeAt).toBeLessThanOrEqual(started + 240_000 + 1000);
		}
		// Nothing was slept for, and the 11th and 12th calls were never sent.
		expect(elapsed).toBeLessThan(5000);
		expect(emu.alerts.get(alerts[10].id)!.status).toBe(alerts[10].status);
		expect(emu.requestLog.filter((e) => e.path === '/api/alerts/batchUpdate' && e.clientId === client.clientId)).toHaveLength(10);
	});

	it('a wait for room within the cap is waited as before', async () => {
		// A "minute" of 1.2 s: the 11th call waits about a second, within a 5 s cap.
		transportSettings.rateLimitEnabled = true;
		transportSettings.rateLimitTimeScale = 50;
		const client = emu.addClient({ displayName: 'rate-limit-short-wait' });
		const alerts = Array.from({ length: 11 }, () => emu.alerts.create());
		const output = await run(
			{ resource: 'alert', operation: 'batchUpdate', alertIds: '={{ $json.id }}', status: 'InProgress', requestOptions: { maxWaitSeconds: 5 } },
			alerts.map((a) => ({ json: { id: a.id } })),
			{ client },
		);
		expect(output.map((o) => o.json.updatedAlertIds)).toEqual(alerts.map((a) => [a.id]));
	});
});
