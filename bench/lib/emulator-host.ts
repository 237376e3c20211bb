/**
 * The emulator in a process of its own, driven over IPC by bench/lib/remote.ts, so the memory and CPU figures of
 * the process running the trigger (or the baseline) do not include the emulator's 100,000 stored alerts and the
 * pages it serializes.
 */
import { startEmulator, type Emulator, type EmulatorOptions, type SeedOptions } from '../../test/emulator';

interface Command {
	id: number;
	op: string;
	args?: unknown[];
}

let emu: Emulator;
let seededAt = 0;

const ops: Record<string, (...args: never[]) => unknown> = {
	info: () => ({ url: emu.url, tenantId: emu.tenantId, client: emu.client, caCertPath: emu.caCertPath }),
	seed: (count: number, options: SeedOptions = {}) => {
		const started = Date.now();
		emu.alerts.seed(count, options);
		seededAt = Date.now();
		return { count: emu.alerts.all().length, ms: seededAt - started };
	},
	stats: () => emu.stats(),
	resetStats: () => emu.resetStats(),
	/** The list requests since the last resetStats: count, statuses and the $top asked for. */
	listRequests: () => {
		const list = emu.requestLog.filter((r) => r.method === 'GET' && r.path === '/api/alerts');
		return { count: list.length, tops: list.map((r) => Number(r.query.$top ?? 0)), statuses: list.map((r) => r.status), queries: list.map((r) => r.query) };
	},
	memory: () => ({ ...process.memoryUsage(), maxRss: process.resourceUsage().maxRSS * 1024 }),
	cpu: () => process.cpuUsage(),
	close: async () => {
		await emu.close();
		setImmediate(() => process.exit(0));
		return true;
	},
};

async function main(): Promise<void> {
	const options = JSON.parse(process.argv[2] ?? '{}') as EmulatorOptions;
	emu = await startEmulator(options);
	process.on('message', (message: Command) => {
		void (async () => {
			try {
				const fn = ops[message.op];
				if (!fn) throw new Error(`unknown op ${message.op}`);
				const result = await (fn as (...a: unknown[]) => unknown)(...(message.args ?? []));
				process.send?.({ id: message.id, result });
			} catch (error) {
				process.send?.({ id: message.id, error: (error as Error).stack ?? String(error) });
			}
		})();
	});
	process.on('disconnect', () => process.exit(0));
	process.send?.({ id: 0, result: 'ready' });
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
