/**
 * Child process: drains the alerts of a (remote) emulator with the trigger, through n8n-core's real PollContext,
 * polling like n8n until `expected` items were emitted. Reports wall time, polls, items, CPU time and the peak
 * memory of this process (the emulator runs in another process).
 */
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import type { EmulatorLike } from '../../test/helpers/n8n';
import { childArgs, emitResult, gc, LeanPollLoop, mb, MemorySampler, triggerHarness } from '../lib/common';

interface Args {
	emulator: EmulatorLike;
	expected: number;
	maxAlertsPerPoll: number;
	includeEvidence: boolean;
	maxPolls?: number;
	/** The client-side limiter (100 list calls per real minute); off when polls run back to back. */
	clientRateLimit: boolean;
	/**
	 * Full GC after every poll (n8n polls at most once a minute, time in which V8 collects anyway): the peak is
	 * then one poll's working set, and the heap left after the GC is what the trigger retains between polls.
	 */
	gcBetweenPolls?: boolean;
	/** Count distinct alert ids emitted (costs memory: off for the memory figures). */
	countDistinct?: boolean;
}

async function main(): Promise<void> {
	const a = childArgs<Args>();
	transportSettings.rateLimitEnabled = a.clientRateLimit;
	const harness = triggerHarness(a.emulator, { includeEvidence: a.includeEvidence, maxAlertsPerPoll: a.maxAlertsPerPoll });
	const ids = new Set<string>();
	const loop = new LeanPollLoop(harness, undefined, a.countDistinct ? (items) => items.forEach((i) => ids.add(String(i.json.id))) : undefined);
	const sampler = new MemorySampler();
	const cpuBefore = process.cpuUsage();
	const started = performance.now();
	let maxBatch = 0;
	let maxRetained = 0;
	const retained: number[] = [];
	let pollMs = 0;
	let pollCpuMs = 0;
	while (loop.items < a.expected && loop.polls < (a.maxPolls ?? 100_000)) {
		const pollStarted = performance.now();
		const cpuStarted = process.cpuUsage();
		const n = await loop.poll();
		pollMs += performance.now() - pollStarted;
		const pollCpu = process.cpuUsage(cpuStarted);
		pollCpuMs += (pollCpu.user + pollCpu.system) / 1000;
		sampler.mark();
		maxBatch = Math.max(maxBatch, n);
		if (a.gcBetweenPolls) {
			gc();
			const heap = process.memoryUsage().heapUsed;
			maxRetained = Math.max(maxRetained, heap);
			retained.push(heap);
		}
		if (n === 0) break;
	}
	const wallMs = performance.now() - started;
	const cpu = process.cpuUsage(cpuBefore);
	const memory = sampler.stop();
	const stateBytes = loop.stateBytes();
	emitResult({
		/** Wall time of the polls alone (without the forced GCs between them). */
		wallMs: pollMs,
		totalMs: wallMs,
		/** CPU time of this process during the polls (forced GCs between polls excluded). */
		cpuMs: pollCpuMs,
		totalCpuMs: (cpu.user + cpu.system) / 1000,
		polls: loop.polls,
		items: loop.items,
		maxBatch,
		stateBytes,
		distinctIds: a.countDistinct ? ids.size : undefined,
		memory,
		retainedHeapMB: a.gcBetweenPolls
			? { max: mb(maxRetained), first: mb(retained[0] ?? 0), last: mb(retained[retained.length - 1] ?? 0), deltaMax: mb(maxRetained - sampler.baseline.heapUsed) }
			: undefined,
	});
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
