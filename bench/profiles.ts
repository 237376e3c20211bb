/**
 * Drain cost and idle polls under each API profile of the emulator (issue 10): the trigger drains a backlog of N
 * alerts with Max Alerts per Poll 10,000 through n8n-core's real PollContext, then polls idle. Counted on the
 * wire (every alert list response): requests, and alerts transferred against the N that had to be read.
 *
 *   node bench/run.js profiles [N_MDE] [N_GRAPH]     (defaults 50,000 and 10,000; about 2 minutes)
 */
import { clearTokenCache } from '../nodes/MicrosoftDefender/transport/auth';
import { transportSettings } from '../nodes/MicrosoftDefender/transport';
import { API_PROFILES, startEmulator, type ApiProfile, type Emulator } from '../test/emulator';
import { pollContext } from '../test/helpers/n8n';
import { MicrosoftDefenderTrigger } from '../nodes/MicrosoftDefender/MicrosoftDefenderTrigger.node';
import { triggerHarness } from './lib/common';

const trigger = new MicrosoftDefenderTrigger();
const N_MDE = Number(process.argv[2] ?? 50_000);
const N_GRAPH = Number(process.argv[3] ?? 10_000);
const IDLE_POLLS = 20;

interface Row {
	profile: ApiProfile;
	source: 'mde' | 'graph';
	n: number;
	page: number;
	polls: number;
	requests: number;
	transferred: number;
	emitted: number;
	distinct: number;
	idleRequests: number;
	order: string;
	seconds: number;
}

async function run(emu: Emulator, profile: ApiProfile, source: 'mde' | 'graph', n: number): Promise<Row> {
	const harness = triggerHarness(emu, { maxAlertsPerPoll: 10_000, includeEvidence: source === 'mde', maxHistoricalPollStart: '31 days ago' });
	if (source === 'graph') harness.node.parameters = { ...harness.node.parameters, source: 'graph', serviceSources: [] };
	const path = source === 'mde' ? '/api/alerts' : '/v1.0/security/alerts_v2';
	let requests = 0;
	let transferred = 0;
	const seen = new Set<string>();
	let emitted = 0;
	const poll = async (): Promise<number> => {
		const context = pollContext(harness);
		const httpRequest = context.helpers.httpRequest;
		context.helpers.httpRequest = async (options) => {
			const response = (await httpRequest(options)) as { body?: { value?: unknown[] } };
			if (String(options.url).includes(path)) {
				requests++;
				transferred += response.body?.value?.length ?? 0;
			}
			return response;
		};
		const result = await trigger.poll.call(context);
		const items = result?.[0] ?? [];
		for (const item of items) seen.add(String(item.json.id));
		emitted += items.length;
		return items.length;
	};
	const started = Date.now();
	let polls = 0;
	while (seen.size < n && polls < 200) {
		polls++;
		if ((await poll()) === 0) break;
	}
	const drain = { requests, transferred, polls, seconds: (Date.now() - started) / 1000 };
	requests = 0;
	for (let i = 0; i < IDLE_POLLS; i++) await poll();
	const state = harness.workflow.getStaticData('node', harness.node).alertCursor as { order?: string } | undefined;
	return {
		profile,
		source,
		n,
		page: source === 'mde' ? 10_000 : 1_000,
		polls: drain.polls,
		requests: drain.requests,
		transferred: drain.transferred,
		emitted,
		distinct: seen.size,
		idleRequests: requests / IDLE_POLLS,
		order: state?.order ?? 'asc',
		seconds: drain.seconds,
	};
}

async function main(): Promise<void> {
	transportSettings.rateLimitEnabled = false;
	const rows: Row[] = [];
	for (const source of ['mde', 'graph'] as const) {
		const n = source === 'mde' ? N_MDE : N_GRAPH;
		for (const profile of API_PROFILES) {
			const emu = await startEmulator({ apiProfile: profile, seed: 7 });
			clearTokenCache();
			const now = emu.clock.now().getTime();
			// All in the past, more than the look-back before now: a pure backlog, then nothing new.
			emu.alerts.seed(n, { from: new Date(now - 30 * 86_400_000), to: new Date(now - 3_600_000), evidence: source === 'mde' });
			process.stderr.write(`  ${profile} ${source}: ${n} alerts seeded, draining …\n`);
			try {
				rows.push(await run(emu, profile, source, n));
			} finally {
				await emu.close();
			}
		}
	}
	const lines = [
		'| API profile | source | backlog (page) | order the trigger used | polls | list requests (ideal) | requests vs ideal | alerts transferred | transferred vs backlog | emitted (distinct) | idle poll requests | drain time |',
		'| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
		...rows.map((r) => {
			const ideal = Math.ceil(r.n / r.page);
			return `| ${r.profile} | ${r.source} | ${r.n.toLocaleString('en-US')} (${r.page.toLocaleString('en-US')}) | ${r.order === 'none' ? 'time windows (no usable $orderby)' : '$orderby asc, checked'} | ${r.polls} | ${r.requests} (${ideal}) | ${(r.requests / ideal).toFixed(2)}× | ${r.transferred.toLocaleString('en-US')} | ${(r.transferred / r.n).toFixed(2)}× | ${r.emitted.toLocaleString('en-US')} (${r.distinct.toLocaleString('en-US')}) | ${r.idleRequests.toFixed(2)} | ${r.seconds.toFixed(1)} s |`;
		}),
	];
	process.stdout.write(`${lines.join('\n')}\n`);
	const ok = rows.every((r) => r.distinct === r.n && r.emitted === r.n && r.idleRequests === 1);
	process.stdout.write(`${ok ? 'PASS' : 'FAIL'}: every alert once under every profile, idle polls 1 request\n`);
	process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
