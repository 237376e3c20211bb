/**
 * Child process: idle polling over simulated hours. The emulator runs in this process and the global Date is
 * replaced by a virtual clock (bench/lib/common.ts) that moves forward 60 s per poll, so MSAL's token cache
 * (which compares expiresOn − 300 s with `new Date()`), the trigger's "now", and the emulator's token issuing and
 * expiry check (`Date.now()` in test/emulator/entra.ts) all see the same simulated time. The emulator keeps its
 * normal 3,599 s token lifetime.
 */
import { clearTokenCache } from '../../nodes/MicrosoftDefender/transport/auth';
import { startEmulator } from '../../test/emulator';
import { childArgs, emitResult, installVirtualClock, LeanPollLoop, triggerHarness } from '../lib/common';

interface Args {
	polls: number;
	stepSeconds: number;
	existingAlerts: number;
}

async function main(): Promise<void> {
	const a = childArgs<Args>();
	const tokenLifetimeSeconds = 3599;
	const emu = await startEmulator({ tokenLifetimeSeconds });
	// Alerts from the last hour, so every poll re-reads a look-back window that holds some alerts.
	emu.alerts.seed(a.existingAlerts, { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() - 60_000) });
	const clock = installVirtualClock();
	const loop = new LeanPollLoop(triggerHarness(emu, { includeEvidence: true, maxAlertsPerPoll: 1000 }));
	// Warm-up: the first poll emits the existing alerts; the measured polls have nothing new.
	const warmup = await loop.poll();
	clearTokenCache();
	emu.resetStats();
	const started = performance.now();
	let emitted = 0;
	let pollsWithRequestsAbove1 = 0;
	let lastTotal = 0;
	for (let i = 0; i < a.polls; i++) {
		clock.advance(a.stepSeconds * 1000);
		emitted += await loop.poll();
		const total = emu.stats().total;
		if (total - lastTotal > 1) pollsWithRequestsAbove1++;
		lastTotal = total;
	}
	const wallMs = performance.now() - started;
	const stats = emu.stats();
	const simulatedSeconds = a.polls * a.stepSeconds;
	const seen = Object.keys(loop.state()?.seen ?? {}).length;
	clock.uninstall();
	await emu.close();
	emitResult({
		polls: a.polls,
		stepSeconds: a.stepSeconds,
		warmupItems: warmup,
		emitted,
		listRequests: stats.requests['GET /api/alerts'] ?? 0,
		apiRequests: stats.total,
		pollsWithRequestsAbove1,
		tokenRequests: stats.tokenRequests,
		discoveryRequests: Object.entries(stats.requests)
			.filter(([k]) => k.startsWith('GET /:tenant'))
			.reduce((n, [, v]) => n + v, 0),
		simulatedSeconds,
		tokenLifetimeSeconds,
		lifetimesSpanned: simulatedSeconds / tokenLifetimeSeconds,
		// MSAL renews 300 s before expiry (tokenRenewalOffsetSeconds): a token is used for 3,299 s of the 3,599.
		expectedWithRenewalOffset: Math.ceil(simulatedSeconds / (Math.ceil((tokenLifetimeSeconds - 300) / a.stepSeconds) * a.stepSeconds)),
		rereadWindowAlerts: seen,
		wallMs,
	});
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
