/**
 * `npm run soak`: exactly-once delivery under faults, for Trigger on Updates off and on.
 *
 * The emulator creates 10,000 alerts and 3,000 updates over simulated hours (one simulated minute per poll):
 * ties (30% of a step's alerts share one timestamp; updates share one too), late arrivals (timestamps up to 14 min
 * old when they appear, inside the 15 min look-back) and alerts that become visible minutes after their
 * timestamp, with pages larger than the batch cap (maxAlertsPerPoll 50; pages hold the look-back's re-reads as
 * well). 20% of API requests get a fault: 429 and 503 with Retry-After, 500, 502, 503, 504, connection resets,
 * responses slower than the (shortened) request timeout, and "token expired" 401s; one more expired token is
 * scripted mid-run, and every 9th poll a burst of 503s outlasts the retries and fails the poll. The trigger polls
 * like n8n (test/helpers/n8n.ts N8nPollLoop): static data saved only when a poll returns items, a restart every
 * 4 polls rolling it back to the last save. At the end every alert (version) the emulator holds is compared with
 * what was emitted (test/timeline/driver.ts).
 *
 * Incidents (Graph `/security/incidents`): `--incidents N` incidents (default 5,000; about a third more alerts join
 * them), the same updates, faults and restarts; with Trigger on Updates the trigger includes alerts, and under the
 * ignoresOrderby profile `$expand=alerts` answers HTTP 500 all along (the trigger's fallback carries the run).
 *
 * Exits 1 unless every run ends with 0 lost and 0 duplicated.
 *
 *   node bench/run.js soak [--alerts N] [--incidents N] [--updates N] [--fault-rate R] [--seed N]
 *                          [--source mde|graph|incidents|all] [--profile ordered|ignoresOrderby|documentedOnly|all]
 */
import { transportSettings } from '../nodes/MicrosoftDefender/transport';
import { clearTokenCache } from '../nodes/MicrosoftDefender/transport/auth';
import { API_PROFILES, startEmulator, type ApiProfile } from '../test/emulator';
import { runTimeline, type TimelineReport } from '../test/timeline/driver';

function option(name: string, fallback: number): number {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const ALERTS = option('alerts', 10_000);
const INCIDENTS = option('incidents', 5_000);
const UPDATES = option('updates', 3_000);
const FAULT_RATE = option('fault-rate', 0.2);
const SEED = option('seed', 2024);
type Source = 'mde' | 'graph' | 'incidents';
/** `--source mde|graph|incidents|all` (default all): what the trigger reads. */
const SOURCE_ARG = process.argv.includes('--source') ? process.argv[process.argv.indexOf('--source') + 1] : 'all';
const SOURCES: Source[] = SOURCE_ARG === 'all' || SOURCE_ARG === 'both' ? ['mde', 'graph', 'incidents'] : [SOURCE_ARG as Source];
const created = (source: Source): number => (source === 'incidents' ? INCIDENTS : ALERTS);
/** `--profile ordered|ignoresOrderby|documentedOnly|all` (default all): the emulator's API profile. */
const PROFILE_ARG = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : 'all';
const PROFILES: ApiProfile[] = PROFILE_ARG === 'all' ? [...API_PROFILES] : [PROFILE_ARG as ApiProfile];
const REQUEST_TIMEOUT_MS = 400;
const SLOW_MS = 1_200;
const FAIL_EVERY = 9;
const EXPIRE_AT = 250;

function line(label: string, value: string | number): string {
	return `  ${label.padEnd(34)} ${value}`;
}

async function soak(profile: ApiProfile, source: Source, triggerOnUpdates: boolean): Promise<TimelineReport> {
	const emu = await startEmulator({ apiProfile: profile });
	clearTokenCache();
	try {
		return await runTimeline(emu, {
			source,
			alerts: created(source),
			updates: UPDATES,
			includeAlerts: source === 'incidents' && triggerOnUpdates,
			expandFailure: source === 'incidents' && triggerOnUpdates && profile === 'ignoresOrderby',
			triggerOnUpdates,
			faultRate: FAULT_RATE,
			faultKinds: ['429', '500', '502', '503', '504', 'reset', 'slow', 'expireToken'],
			retryAfterSeconds: 1,
			slowDelayMs: SLOW_MS,
			expireTokenAtPoll: EXPIRE_AT,
			failEvery: FAIL_EVERY,
			restartEvery: 4,
			maxAlertsPerPoll: 50,
			lookbackMinutes: 15,
			lateMaxMinutes: 14,
			// Per simulated minute: 0-39 new alerts and 0-11 updates (the driver's defaults).
			maxAlertsPerStep: 40,
			maxUpdatesPerStep: 12,
			seed: SEED + (triggerOnUpdates ? 1 : 0),
			pollMinutes: 1,
			progress: (l) => process.stderr.write(`  … ${l}\n`),
			progressEvery: 100,
			// A working trigger is quiet within a few polls; a broken one must not keep the soak running.
			maxDrainPolls: 200,
		});
	} finally {
		await emu.close();
	}
}

function scripted(r: TimelineReport): number {
	return Math.floor(r.polls / FAIL_EVERY) * transportSettings.maxAttempts + (r.polls >= EXPIRE_AT ? 1 : 0);
}

function print(source: string, r: TimelineReport): void {
	const incidents = source.startsWith('incidents');
	const expectedLabel = r.mode === 'updates' ? 'versions expected (latest of each)' : `${incidents ? 'incidents' : 'alerts'} expected`;
	process.stdout.write(
		[
			`Source ${source}, Trigger on Updates = ${r.mode === 'updates'}`,
			incidents
				? line('incidents / joining alerts / updates', `${r.alertsCreated} / ${r.alertsJoined} / ${r.updatesApplied}`)
				: line('alerts created / updates applied', `${r.alertsCreated} / ${r.updatesApplied}`),
			line(expectedLabel, r.expected),
			line('emitted (distinct versions)', `${r.emitted} (${r.versionsEmitted})`),
			line('lost', r.lost),
			line('duplicated', r.duplicated),
			line('out of order', r.outOfOrder),
			line('polls (failed, restarts)', `${r.polls} (${r.failedPolls}, ${r.restarts})`),
			line('simulated time', `${(r.polls / 60).toFixed(1)} h (1 min per poll)`),
			line('API requests', r.requests),
			line('faults injected', `${r.faultsInjected} (${Math.round((100 * r.faultsInjected) / r.requests)}% of requests)`),
			line('  of which scripted', `${scripted(r)} (${Math.floor(r.polls / FAIL_EVERY)} poll-failing bursts of ${transportSettings.maxAttempts} × 503, ${r.polls >= EXPIRE_AT ? 1 : 0} expired token)`),
			line('  random', `${r.faultsInjected - scripted(r)} (${Math.round((100 * (r.faultsInjected - scripted(r))) / (r.requests - scripted(r)))}% of the other requests)`),
			line('faults by kind', Object.entries(r.faultsByKind).sort().map(([k, v]) => `${k} ${v}`).join(', ')),
			line('retries', r.retries),
			line('token requests', r.tokenRequests),
			line('largest page asked ($top)', `${r.maxPageTop} (batch cap 50)`),
			line('largest dedup state (seen)', r.maxSeenState),
			line('time', `${r.seconds} s`),
			'',
		].join('\n'),
	);
}

async function main(): Promise<void> {
	const started = Date.now();
	// Short waits so simulated hours take minutes; Retry-After (1 s) is honoured as sent.
	transportSettings.rateLimitEnabled = false;
	transportSettings.baseDelayMs = 20;
	transportSettings.maxDelayMs = 200;
	transportSettings.requestTimeoutMs = REQUEST_TIMEOUT_MS;
	process.stdout.write(
		`Soak: ${ALERTS} alerts (${INCIDENTS} incidents) + ${UPDATES} updates per mode, ${Math.round(FAULT_RATE * 100)}% faulty requests ` +
			`(slow = ${SLOW_MS} ms vs a ${REQUEST_TIMEOUT_MS} ms request timeout), seed ${SEED}\n\n`,
	);
	const reports: Array<TimelineReport & { source: string }> = [];
	for (const profile of PROFILES) {
		for (const source of SOURCES) {
			for (const triggerOnUpdates of [false, true]) {
				const report = await soak(profile, source, triggerOnUpdates);
				const label = `${source} (API profile ${profile}${source === 'incidents' && triggerOnUpdates && profile === 'ignoresOrderby' ? ', $expand=alerts failing' : ''})`;
				print(label, report);
				reports.push({ ...report, source: label });
			}
		}
	}
	const pass = reports.every(
		(r) => r.lost === 0 && r.duplicated === 0 && r.alertsCreated === created(r.source.startsWith('incidents') ? 'incidents' : 'mde') && r.updatesApplied === UPDATES,
	);
	process.stdout.write(`${pass ? 'PASS' : 'FAIL'}: ${reports.map((r) => `${r.source} ${r.mode}: ${r.lost} lost, ${r.duplicated} duplicated`).join('; ')}. Total ${Math.round((Date.now() - started) / 1000)} s.\n`);
	process.exit(pass ? 0 : 1);
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
