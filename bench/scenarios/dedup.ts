/**
 * Child process: size of the trigger's dedup state (bytes of JSON.stringify of the node's static data, as n8n
 * stores it) while 100,000 alerts and 20,000 updates stream in over simulated days, Trigger on Updates on.
 * The emulator runs in this process; its clock moves `stepMinutes` per poll.
 */
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator } from '../../test/emulator';
import { prng } from '../../test/timeline/driver';
import { childArgs, emitResult, LeanPollLoop, triggerHarness } from '../lib/common';

interface Args {
	alerts: number;
	updates: number;
	steps: number;
	stepMinutes: number;
	lookbackMinutes: number;
	maxAlertsPerPoll: number;
}

const STATUSES = ['InProgress', 'InProgress', 'Resolved', 'New'] as const;
const ANALYSTS = ['secop@contoso.com', 'analyst2@contoso.com', null];

async function main(): Promise<void> {
	const a = childArgs<Args>();
	// 200 polls in well under a minute of real time: the client-side 100 calls/min limiter would only add waits.
	transportSettings.rateLimitEnabled = false;
	const emu = await startEmulator({});
	const random = prng(42);
	const loop = new LeanPollLoop(
		triggerHarness(emu, { triggerOnUpdates: true, includeEvidence: false, maxAlertsPerPoll: a.maxAlertsPerPoll, lookbackMinutes: a.lookbackMinutes, maxHistoricalPollStart: '' }),
	);
	await loop.poll(); // activation: "since" = now, nothing yet
	const stepMs = a.stepMinutes * 60_000;
	const ids: string[] = [];
	const checkpoints: Array<{ alerts: number; updates: number; stateBytes: number; seen: number; known: number }> = [];
	let created = 0;
	let updated = 0;
	let emitted = 0;
	let maxStateBytes = 0;
	let maxSeen = 0;
	const started = performance.now();
	for (let step = 1; step <= a.steps; step++) {
		const now = emu.clock.advance(stepMs).getTime();
		const newAlerts = Math.round((a.alerts * step) / a.steps) - created;
		const earlier = ids.length;
		for (let i = 0; i < newAlerts; i++) {
			// 20% share a timestamp with the previous alert (ties).
			const at = new Date(now - Math.floor(random() * stepMs * 0.9)).toISOString();
			const id = `dd-${created++}`;
			emu.alerts.create({ id, alertCreationTime: at, lastUpdateTime: at, status: 'New' });
			ids.push(id);
		}
		const updates = Math.min(Math.round((a.updates * step) / a.steps) - updated, earlier);
		const touched = new Set<string>();
		while (touched.size < updates) {
			const id = ids[Math.floor(random() * earlier)];
			if (touched.has(id)) continue;
			touched.add(id);
			const at = new Date(now - Math.floor(random() * stepMs * 0.9)).toISOString();
			emu.alerts.update(id, { status: STATUSES[Math.floor(random() * STATUSES.length)], assignedTo: ANALYSTS[Math.floor(random() * ANALYSTS.length)] }, { at });
			updated++;
		}
		for (;;) {
			const n = await loop.poll();
			emitted += n;
			if (n < a.maxAlertsPerPoll) break;
		}
		const bytes = loop.stateBytes();
		const state = loop.state();
		const seen = Object.keys(state?.seen ?? {}).length;
		maxStateBytes = Math.max(maxStateBytes, bytes);
		maxSeen = Math.max(maxSeen, seen);
		if (step % Math.max(1, Math.floor(a.steps / 10)) === 0 || step === a.steps) {
			checkpoints.push({ alerts: created, updates: updated, stateBytes: bytes, seen, known: Object.keys(state?.known ?? {}).length });
		}
	}
	const wallMs = performance.now() - started;
	const state = loop.state();
	const finalBytes = loop.stateBytes();
	const seenBytes = Buffer.byteLength(JSON.stringify(state?.seen ?? {}));
	const knownBytes = Buffer.byteLength(JSON.stringify(state?.known ?? []));
	// Versions inside the look-back window behind the high-water mark: what `seen` is meant to hold.
	const perStep = (a.alerts + a.updates) / a.steps;
	await emu.close();
	emitResult({
		alerts: created,
		updates: updated,
		expectedVersions: created + updated,
		emitted,
		polls: loop.polls,
		finalStateBytes: finalBytes,
		maxStateBytes,
		seenEntries: Object.keys(state?.seen ?? {}).length,
		maxSeen,
		seenBytes,
		knownEntries: (state?.known as unknown[] | undefined)?.length ?? 0,
		knownBytes,
		versionsPerLookback: Math.round((perStep * a.lookbackMinutes) / a.stepMinutes),
		checkpoints,
		wallMs,
	});
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
