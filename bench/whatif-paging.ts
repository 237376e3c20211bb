/**
 * What would reach the backfill goals (BENCHMARKS.md, 2b/2c): the same 100,000-alert backfill as `npm run bench`,
 * drained by the shipped trigger and by two paging variants patched in at run time (bench/lib/whatif.ts), each
 * compared with the fewest-pages baseline. Also checks each variant emitted every alert exactly once.
 *
 *   node bench/run.js whatif-paging [N]
 */
import { log, runChild } from './lib/common';
import { RemoteEmulator } from './lib/remote';
import type { PagingVariant } from './lib/whatif';

interface Drain {
	wallMs: number;
	cpuMs: number;
	polls: number;
	items: number;
	maxBatch: number;
	distinctIds: number;
	memory: { maxRssMB: number };
}

async function main(): Promise<void> {
	const n = Number(process.argv[2] ?? 100_000);
	const emu = await RemoteEmulator.start({});
	try {
		await emu.seed(n, {});
		const first = { $filter: 'alertCreationTime ge 2000-01-01T00:00:00Z', $orderby: 'alertCreationTime asc,id asc', $top: '10000', $expand: 'evidence' };
		await runChild('scenarios/baseline', { emulator: emu.info, mode: 'keyset', maxPages: 2, queries: [first] }); // warm-up
		const runBaseline = async () =>
			await runChild<{ wallMs: number; pages: number; items: number }>('scenarios/baseline', { emulator: emu.info, mode: 'keyset', queries: [first] });
		const baselines = [await runBaseline()];
		const results: Array<{ paging: PagingVariant; runs: Drain[]; requests: number; asked: number }> = [];
		// Two rounds, the second in reverse order; the fastest run of each counts (the machine is shared).
		const order: PagingVariant[] = ['shipped', 'fit', 'budget'];
		for (const round of [order, [...order].reverse()]) {
			for (const paging of round) {
				await emu.resetStats();
				const r = await runChild<Drain>('scenarios/drain', {
					emulator: emu.info,
					expected: n,
					maxAlertsPerPoll: 10_000,
					includeEvidence: true,
					clientRateLimit: true,
					paging,
					countDistinct: true,
				});
				const list = await emu.listRequests();
				let entry = results.find((e) => e.paging === paging);
				if (!entry) results.push((entry = { paging, runs: [], requests: list.count, asked: list.tops.reduce((a, b) => a + b, 0) }));
				entry.runs.push(r);
			}
		}
		baselines.push(await runBaseline());
		const base = Math.min(...baselines.map((b) => b.wallMs));
		const rows = results.map(({ paging, runs, requests, asked }) => {
			const best = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
			return `| ${paging} | ${(best.wallMs / 1000).toFixed(2)} s (${runs.map((r) => (r.wallMs / 1000).toFixed(1)).join(', ')}) | ${(best.wallMs / base).toFixed(2)}× | ${requests} | ${asked.toLocaleString('en-US')} | ${best.polls} polls, ${best.items.toLocaleString('en-US')} items (${best.distinctIds.toLocaleString('en-US')} distinct), largest batch ${best.maxBatch.toLocaleString('en-US')} | ${Math.round(best.memory.maxRssMB)} MB |`;
		});
		process.stdout.write(
			[
				`Backfill of ${n.toLocaleString('en-US')} alerts with evidence, maxAlertsPerPoll 10,000. Fewest-pages baseline (fetch + JSON.parse, ${baselines[0].pages} keyset pages): ${baselines.map((b) => (b.wallMs / 1000).toFixed(2)).join(' s, ')} s.`,
				'',
				'| paging | time (runs) | vs baseline | list requests | sum of $top | emitted | peak RSS |',
				'|---|---|---|---|---|---|---|',
				...rows,
				'',
			].join('\n'),
		);
	} finally {
		await emu.close();
	}
}

main().catch((error: unknown) => {
	log(`${(error as Error).stack ?? String(error)}`);
	process.exit(1);
});
