/**
 * 2,000+ alerts and 500+ updates with ties, late arrivals, ~10% faulty requests, failing polls and restarts:
 * every expected alert (version) is emitted exactly once, for both values of Trigger on Updates.
 */
import { clearTokenCache } from '../../nodes/MicrosoftDefender/transport/auth';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator } from '../emulator';
import { runTimeline } from './driver';

let emu: Emulator;

beforeAll(() => {
	transportSettings.rateLimitEnabled = false;
	transportSettings.baseDelayMs = 2;
	transportSettings.maxDelayMs = 10;
});
beforeEach(async () => {
	emu = await startEmulator({});
	clearTokenCache();
});
afterEach(async () => await emu.close());

test.each([
	{ source: 'mde' as const, triggerOnUpdates: false },
	{ source: 'mde' as const, triggerOnUpdates: true },
	{ source: 'graph' as const, triggerOnUpdates: false },
	{ source: 'graph' as const, triggerOnUpdates: true },
])('timeline, source $source, Trigger on Updates = $triggerOnUpdates: 0 lost, 0 duplicated', async ({ source, triggerOnUpdates }) => {
	const report = await runTimeline(emu, {
		source,
		alerts: 2000,
		updates: 500,
		triggerOnUpdates,
		faultRate: 0.1,
		failEvery: 7,
		restartEvery: 4,
		maxAlertsPerPoll: 50,
		seed: triggerOnUpdates ? 11 : 7,
		log: (line) => console.log(line),
	});
	expect(report.alertsCreated).toBe(2000);
	expect(report.updatesApplied).toBe(500);
	expect(report.failedPolls).toBeGreaterThan(5);
	expect(report.restarts).toBeGreaterThan(10);
	expect(report.expected).toBeGreaterThan(500);
	expect({ lost: report.lost, duplicated: report.duplicated, outOfOrder: report.outOfOrder }).toEqual({
		lost: 0,
		duplicated: 0,
		outOfOrder: 0,
	});
});
