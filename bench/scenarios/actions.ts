/**
 * Child process: 1,000 input items of Machine → Run Antivirus Scan (Wait for Completion off) through n8n-core's
 * real ExecuteContext, against the emulator with Defender's documented rate limits enforced (100 calls/min and
 * 1,500/h per endpoint) on a clock sped up `timeScale` times; the client's limiter uses the same scale.
 */
import type { INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator } from '../../test/emulator';
import { executeNode } from '../../test/helpers/n8n';
import { actionHarness, childArgs, emitResult } from '../lib/common';

interface Args {
	items: number;
	timeScale: number;
}

async function main(): Promise<void> {
	const a = childArgs<Args>();
	transportSettings.rateLimitEnabled = true;
	transportSettings.rateLimitTimeScale = a.timeScale;
	const emu = await startEmulator({ rateLimits: true, rateLimitTimeScale: a.timeScale });
	const machines = emu.machines.seed(a.items);
	const items: INodeExecutionData[] = machines.map((m) => ({ json: { machineId: m.id } }));
	const nodeType = new MicrosoftDefender();
	const harness = actionHarness(emu, {
		resource: 'machine',
		operation: 'runAntivirusScan',
		machineId: { __rl: true, mode: 'id', value: '={{ $json.machineId }}' },
		comment: 'Benchmark sweep',
		scanType: 'Quick',
		waitForCompletion: false,
	});
	emu.resetStats();
	const started = performance.now();
	const [output] = await executeNode(harness, nodeType, items);
	const wallMs = performance.now() - started;
	const log = emu.requestLog.filter((e) => e.path.startsWith('/api/'));
	const posts = log.filter((e) => e.method === 'POST');
	const scaledMinuteMs = 60_000 / a.timeScale;
	const scanKey = posts[0]?.key ?? '';
	const result = {
		items: a.items,
		timeScale: a.timeScale,
		wallMs,
		emulatorMinutes: wallMs / scaledMinuteMs,
		minimumMinutes: a.items / 100,
		outputItems: output.length,
		failedItems: output.filter((o) => o.json.error !== undefined).length,
		submitted: output.filter((o) => o.json.status === 'Pending' && o.json.reusedExistingAction === false).length,
		postRequests: posts.length,
		apiRequests: log.length,
		responses429: log.filter((e) => e.status === 429).length,
		maxPostsPerMinute: emu.maxInWindow(scanKey, scaledMinuteMs),
		maxLookupsPerMinute: emu.maxInWindow('GET /api/machineactions', scaledMinuteMs),
		tokenRequests: emu.stats().tokenRequests,
	};
	await emu.close();
	emitResult(result);
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
