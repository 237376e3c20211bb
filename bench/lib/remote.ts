/** Starts bench/lib/emulator-host.ts in a child process and calls its operations over IPC. */
import { fork, type ChildProcess } from 'child_process';
import { join } from 'path';

import type { EmulatorOptions, SeedOptions, StatsSnapshot } from '../../test/emulator';
import type { EmulatorLike } from '../../test/helpers/n8n';

export interface ListRequests {
	count: number;
	tops: number[];
	statuses: number[];
	queries: Array<Record<string, string>>;
}

export class RemoteEmulator {
	private next = 1;
	private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
	info!: EmulatorLike & { caCertPath: string };

	private constructor(private readonly child: ChildProcess) {
		child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
			const waiter = this.pending.get(message.id);
			if (!waiter) return;
			this.pending.delete(message.id);
			if (message.error) waiter.reject(new Error(message.error));
			else waiter.resolve(message.result);
		});
		child.on('exit', (code) => {
			for (const waiter of this.pending.values()) waiter.reject(new Error(`emulator host exited (${code})`));
			this.pending.clear();
		});
	}

	static async start(options: EmulatorOptions = {}): Promise<RemoteEmulator> {
		const child = fork(join(__dirname, 'emulator-host.ts'), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
		const remote = new RemoteEmulator(child);
		await new Promise<void>((resolve, reject) => {
			remote.pending.set(0, { resolve: () => resolve(), reject });
		});
		remote.info = (await remote.call('info')) as RemoteEmulator['info'];
		return remote;
	}

	async call(op: string, ...args: unknown[]): Promise<unknown> {
		const id = this.next++;
		return await new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			this.child.send({ id, op, args });
		});
	}

	async seed(count: number, options: SeedOptions = {}): Promise<{ count: number; ms: number }> {
		return (await this.call('seed', count, options)) as { count: number; ms: number };
	}

	async stats(): Promise<StatsSnapshot> {
		return (await this.call('stats')) as StatsSnapshot;
	}

	async resetStats(): Promise<void> {
		await this.call('resetStats');
	}

	async listRequests(): Promise<ListRequests> {
		return (await this.call('listRequests')) as ListRequests;
	}

	async memory(): Promise<NodeJS.MemoryUsage & { maxRss: number }> {
		return (await this.call('memory')) as NodeJS.MemoryUsage & { maxRss: number };
	}

	async close(): Promise<void> {
		await this.call('close').catch(() => undefined);
		await new Promise<void>((resolve) => {
			if (this.child.exitCode !== null) resolve();
			else this.child.once('exit', () => resolve());
		});
	}
}
