/**
 * Shared pieces of the benchmarks: result hand-off between processes, memory sampling, a lean n8n-like poll
 * loop, a virtual clock, and the trigger/action harnesses.
 */
import { spawn } from 'child_process';
import { join } from 'path';

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { MicrosoftDefenderTrigger } from '../../nodes/MicrosoftDefender/MicrosoftDefenderTrigger.node';
import { createHarness, emulatorCredentials, pollOnce, type EmulatorLike, type NodeHarness } from '../../test/helpers/n8n';

export const RESULT_PREFIX = '@@RESULT ';

/** Hands a scenario's figures to the parent process (one line on stdout). */
export function emitResult(result: unknown): void {
	process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

export function gc(): void {
	const collect = (global as { gc?: () => void }).gc;
	if (collect) {
		collect();
		collect();
	}
}

export const MB = 1024 * 1024;
export const mb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

/**
 * Peak memory of this process while `run` runs: V8 heap used sampled every few ms (and at every `mark()`), and
 * the OS's peak resident set size (getrusage maxrss, exact). The baseline is taken after a full GC.
 */
export class MemorySampler {
	readonly baseline: NodeJS.MemoryUsage;
	peakHeapUsed: number;
	peakRss: number;
	private readonly timer: NodeJS.Timeout;

	constructor(intervalMs = 5) {
		gc();
		this.baseline = process.memoryUsage();
		this.peakHeapUsed = this.baseline.heapUsed;
		this.peakRss = this.baseline.rss;
		this.timer = setInterval(() => this.mark(), intervalMs);
		this.timer.unref();
	}

	mark(): void {
		const m = process.memoryUsage();
		if (m.heapUsed > this.peakHeapUsed) this.peakHeapUsed = m.heapUsed;
		if (m.rss > this.peakRss) this.peakRss = m.rss;
	}

	stop(): { baselineHeapMB: number; baselineRssMB: number; peakHeapMB: number; peakRssMB: number; maxRssMB: number; heapDeltaMB: number; rssDeltaMB: number } {
		clearInterval(this.timer);
		this.mark();
		const maxRss = process.resourceUsage().maxRSS * 1024;
		const peakRss = Math.max(maxRss, this.peakRss);
		return {
			baselineHeapMB: mb(this.baseline.heapUsed),
			baselineRssMB: mb(this.baseline.rss),
			peakHeapMB: mb(this.peakHeapUsed),
			peakRssMB: mb(this.peakRss),
			maxRssMB: mb(maxRss),
			heapDeltaMB: mb(this.peakHeapUsed - this.baseline.heapUsed),
			rssDeltaMB: mb(peakRss - this.baseline.rss),
		};
	}
}

/**
 * Polls like n8n (static data persisted only when a poll returns items; `restart()` rolls back to the last
 * persisted copy) but keeps no emitted items: n8n hands them to an execution and lets go of them, and a
 * benchmark that kept 100,000 items would measure its own bookkeeping.
 */
export class LeanPollLoop {
	private persisted = '{}';
	polls = 0;
	emittedPolls = 0;
	items = 0;

	constructor(
		readonly harness: NodeHarness,
		private readonly nodeType = new MicrosoftDefenderTrigger(),
		private readonly onItems?: (items: INodeExecutionData[]) => void,
	) {}

	/** One poll; returns the number of items emitted (0 = n8n would store nothing). */
	async poll(): Promise<number> {
		this.polls++;
		const result = await pollOnce(this.harness, this.nodeType);
		if (!result) return 0;
		const items = result[0];
		this.onItems?.(items);
		this.persisted = JSON.stringify(this.harness.workflow.staticData);
		this.emittedPolls++;
		this.items += items.length;
		return items.length;
	}

	restart(): void {
		const live = this.harness.workflow.staticData as IDataObject;
		for (const key of Object.keys(live)) delete live[key];
		Object.assign(live, JSON.parse(this.persisted) as IDataObject);
	}

	/** Bytes of the node's static data as n8n would store it. */
	stateBytes(): number {
		return Buffer.byteLength(JSON.stringify(this.harness.workflow.getStaticData('node', this.harness.node)));
	}

	state(): { seen?: Record<string, string>; known?: Record<string, unknown>; highWater?: string } | undefined {
		return this.harness.workflow.getStaticData('node', this.harness.node).alertCursor as never;
	}
}

export interface TriggerOptions {
	triggerOnUpdates?: boolean;
	includeEvidence?: boolean;
	maxAlertsPerPoll?: number;
	lookbackMinutes?: number;
	maxHistoricalPollStart?: string;
	statuses?: string[];
	severities?: string[];
}

export function triggerHarness(emu: EmulatorLike, o: TriggerOptions = {}): NodeHarness {
	return createHarness(
		new MicrosoftDefenderTrigger(),
		'microsoftDefenderTrigger',
		{
			statuses: o.statuses ?? [],
			severities: o.severities ?? [],
			maxHistoricalPollStart: o.maxHistoricalPollStart ?? '30 days ago',
			triggerOnUpdates: o.triggerOnUpdates ?? false,
			options: {
				includeEvidence: o.includeEvidence ?? false,
				maxAlertsPerPoll: o.maxAlertsPerPoll ?? 1000,
				lookbackMinutes: o.lookbackMinutes ?? 15,
			},
		},
		emulatorCredentials(emu),
		'Defender Trigger',
	);
}

export function actionHarness(emu: EmulatorLike, parameters: IDataObject): NodeHarness {
	return createHarness(new MicrosoftDefender(), 'microsoftDefender', parameters, emulatorCredentials(emu));
}

/**
 * Replaces the global Date in this process with one whose "now" is real time plus an offset that `advance()`
 * moves forward (`new Date()`, `Date()` and `Date.now()`; dates built from a value are untouched). MSAL checks
 * token expiry with `new Date()`, so this simulates hours of polling in seconds. Timers stay real.
 */
export function installVirtualClock(): { advance(ms: number): void; offsetMs(): number; uninstall(): void } {
	const RealDate = Date;
	let offset = 0;
	const now = (): number => RealDate.now() + offset;
	const VirtualDate = new Proxy(RealDate, {
		construct(target, args: unknown[], newTarget) {
			return Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget) as object;
		},
		apply() {
			return new RealDate(now()).toString();
		},
		get(target, property, receiver) {
			if (property === 'now') return now;
			return Reflect.get(target, property, receiver) as unknown;
		},
	});
	(globalThis as { Date: DateConstructor }).Date = VirtualDate;
	return {
		advance: (ms) => {
			offset += ms;
		},
		offsetMs: () => offset,
		uninstall: () => {
			(globalThis as { Date: DateConstructor }).Date = RealDate;
		},
	};
}

/** Runs `bench/<script>.ts` in a child Node process with this process's flags and environment; returns its result. */
export async function runChild<T>(script: string, args: unknown, label = script): Promise<T> {
	return await new Promise<T>((resolve, reject) => {
		const child = spawn(process.execPath, [...process.execArgv, join(__dirname, '..', `${script}.ts`), JSON.stringify(args)], {
			stdio: ['ignore', 'pipe', 'inherit'],
			env: process.env,
		});
		let out = '';
		child.stdout.setEncoding('utf8');
		child.stdout.on('data', (chunk: string) => {
			out += chunk;
			for (const line of chunk.split('\n')) {
				if (line && !line.startsWith(RESULT_PREFIX) && process.env.BENCH_VERBOSE) process.stderr.write(`  [${label}] ${line}\n`);
			}
		});
		child.on('error', reject);
		child.on('close', (code) => {
			const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
			if (code !== 0 || !line) {
				reject(new Error(`${label} exited with ${code}${line ? '' : ' and no result'}:\n${out.slice(-2000)}`));
				return;
			}
			resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as T);
		});
	});
}

/** The child scenario's argument (JSON in argv[2]). */
export function childArgs<T>(): T {
	return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function seconds(ms: number): number {
	return Math.round(ms / 10) / 100;
}

export function log(line: string): void {
	process.stderr.write(`${line}\n`);
}
