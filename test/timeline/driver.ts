/**
 * A timeline of alert creations and updates (ties, late arrivals, filter changes) played against the
 * emulator while the trigger polls like n8n does (static data saved only when a poll returns items; restarts
 * roll back to the last save; failed polls save nothing), with faults injected into the API. At the end the
 * emitted items are compared with what the emulator holds. Used by the jest suite and by `npm run soak`.
 */
import type { IDataObject } from 'n8n-workflow';

import { MicrosoftDefenderTrigger } from '../../nodes/MicrosoftDefender/MicrosoftDefenderTrigger.node';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import type { Emulator } from '../emulator';
import { createHarness, emulatorCredentials, N8nPollLoop } from '../helpers/n8n';

export interface TimelineOptions {
	alerts: number;
	updates: number;
	triggerOnUpdates: boolean;
	/** Fraction of API requests answered with a fault (429, 5xx, reset). */
	faultRate: number;
	/** Every this many polls, a burst of faults outlasts the retries and fails the poll. */
	failEvery: number;
	/** Every this many polls, n8n "restarts". */
	restartEvery: number;
	maxAlertsPerPoll: number;
	seed: number;
	/** Simulated minutes between polls. */
	pollMinutes?: number;
	log?: (line: string) => void;
}

export interface TimelineReport {
	mode: 'updates' | 'new alerts';
	alertsCreated: number;
	updatesApplied: number;
	expected: number;
	emitted: number;
	lost: number;
	duplicated: number;
	outOfOrder: number;
	polls: number;
	failedPolls: number;
	restarts: number;
	requests: number;
	faultsInjected: number;
	maxSeenState: number;
	seconds: number;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function ts7(ms: number, ticks: number): string {
	const iso = new Date(ms).toISOString();
	return `${iso.slice(0, 19)}.${String((ms % 1000) * 10_000 + ticks).padStart(7, '0')}Z`;
}

const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'];
const FILTER_SEVERITIES = ['High', 'Medium'];
const FILTER_STATUSES = ['New', 'InProgress'];

export async function runTimeline(emu: Emulator, o: TimelineOptions): Promise<TimelineReport> {
	const started = Date.now();
	const random = prng(o.seed);
	const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
	const pollMs = (o.pollMinutes ?? 1) * 60_000;
	const trigger = new MicrosoftDefenderTrigger();
	const harness = createHarness(
		trigger,
		'microsoftDefenderTrigger',
		{
			statuses: o.triggerOnUpdates ? FILTER_STATUSES : [],
			severities: o.triggerOnUpdates ? [] : FILTER_SEVERITIES,
			maxHistoricalPollStart: '30 days ago',
			triggerOnUpdates: o.triggerOnUpdates,
			options: { includeEvidence: false, maxAlertsPerPoll: o.maxAlertsPerPoll, lookbackMinutes: 15 },
		},
		emulatorCredentials(emu),
		'Defender Trigger',
	);
	const loop = new N8nPollLoop(harness, trigger);
	const report: TimelineReport = {
		mode: o.triggerOnUpdates ? 'updates' : 'new alerts',
		alertsCreated: 0,
		updatesApplied: 0,
		expected: 0,
		emitted: 0,
		lost: 0,
		duplicated: 0,
		outOfOrder: 0,
		polls: 0,
		failedPolls: 0,
		restarts: 0,
		requests: 0,
		faultsInjected: 0,
		maxSeenState: 0,
		seconds: 0,
	};
	emu.faults.random({ rate: o.faultRate, kinds: ['429', '500', '502', '503', '504', 'reset'], seed: o.seed, retryAfterSeconds: 0 });
	const requestsBefore = emu.stats().total;
	const logBefore = emu.requestLog.length;
	const ids: string[] = [];
	let tick = 0;

	const poll = async () => {
		report.polls++;
		if (o.failEvery && report.polls % o.failEvery === 0) {
			emu.faults.inject({ kind: '503', count: transportSettings.maxAttempts, match: /^GET \/api\/alerts$/ });
			report.faultsInjected += transportSettings.maxAttempts;
		}
		try {
			await loop.poll();
		} catch {
			report.failedPolls++;
		}
		const state = harness.workflow.getStaticData('node', harness.node).alertCursor as { seen?: object } | undefined;
		report.maxSeenState = Math.max(report.maxSeenState, Object.keys(state?.seen ?? {}).length);
		if (o.restartEvery && report.polls % o.restartEvery === 0) {
			loop.restart();
			report.restarts++;
		}
	};

	while (report.alertsCreated < o.alerts || report.updatesApplied < o.updates) {
		emu.clock.advance(pollMs);
		const now = emu.clock.now().getTime();
		// Only alerts from earlier steps are updated, each at most once per step, so that every alert's
		// lastUpdateTime only moves forward (as in the real API).
		const updatable = ids.slice();
		const updatedThisStep = new Set<string>();
		// New alerts: some share one timestamp exactly; some are ingested late.
		const batch = Math.min(o.alerts - report.alertsCreated, Math.floor(random() * 40));
		const shared = ts7(now - 30_000, tick++);
		for (let i = 0; i < batch; i++) {
			const id = `tl-${o.seed}-${report.alertsCreated++}`;
			const roll = random();
			let at = random() < 0.3 ? shared : ts7(now - Math.floor(random() * 50_000), tick++);
			let visibleAt: Date | undefined;
			if (roll < 0.1) at = ts7(now - Math.floor(random() * 10 * 60_000), tick++); // late: up to 10 min
			if (roll > 0.95) visibleAt = new Date(now + Math.floor(random() * 3 * 60_000)); // visible up to 3 min later
			emu.alerts.create(
				{ id, alertCreationTime: at, lastUpdateTime: at, status: 'New', severity: pick(SEVERITIES) },
				visibleAt ? { visibleAt } : {},
			);
			ids.push(id);
		}
		// Updates: status moves (in and out of the status filter), assignment, comments; some share a timestamp.
		const updates = Math.min(o.updates - report.updatesApplied, updatable.length ? Math.floor(random() * 12) : 0);
		const updateAt = ts7(now - 10_000, tick++);
		for (let i = 0; i < updates; i++) {
			const id = pick(updatable);
			if (updatedThisStep.has(id)) continue;
			updatedThisStep.add(id);
			const status = pick(['New', 'InProgress', 'InProgress', 'Resolved']);
			emu.alerts.update(id, { status, assignedTo: random() < 0.5 ? 'secop@contoso.com' : null }, { at: random() < 0.5 ? updateAt : ts7(now - 5_000, tick++) });
			report.updatesApplied++;
		}
		await poll();
	}
	// Drain: until everything is visible and a few polls in a row bring nothing.
	emu.faults.clear();
	emu.faults.random({ rate: o.faultRate, kinds: ['429', '500', '502', '503', '504', 'reset'], seed: o.seed + 1, retryAfterSeconds: 0 });
	for (let quiet = 0; quiet < 3; ) {
		emu.clock.advance(pollMs);
		const before = loop.allEmitted().length;
		await poll();
		quiet = loop.allEmitted().length === before ? quiet + 1 : 0;
	}
	emu.faults.clear();
	report.requests = emu.stats().total - requestsBefore;
	report.faultsInjected = emu.requestLog.slice(logBefore).filter((r) => r.status === 0 || r.status >= 429).length;

	// Compare with what the emulator holds now.
	const emitted = loop.allEmitted();
	report.emitted = emitted.length;
	if (o.triggerOnUpdates) {
		const versionsById = new Map<string, string[]>();
		const pairs = new Set<string>();
		for (const alert of emitted) {
			const key = `${alert.id}@${alert.lastUpdateTime}`;
			if (pairs.has(key)) report.duplicated++;
			pairs.add(key);
			const versions = versionsById.get(String(alert.id)) ?? [];
			if (versions.length && versions[versions.length - 1] >= String(alert.lastUpdateTime)) report.outOfOrder++;
			versions.push(String(alert.lastUpdateTime));
			versionsById.set(String(alert.id), versions);
		}
		for (const id of ids) {
			const current = emu.alerts.get(id) as IDataObject;
			if (!FILTER_STATUSES.includes(String(current.status))) continue;
			report.expected++;
			if (!pairs.has(`${id}@${current.lastUpdateTime}`)) report.lost++;
		}
	} else {
		const counts = new Map<string, number>();
		for (const alert of emitted) counts.set(String(alert.id), (counts.get(String(alert.id)) ?? 0) + 1);
		for (const id of ids) {
			const current = emu.alerts.get(id) as IDataObject;
			if (!FILTER_SEVERITIES.includes(String(current.severity))) {
				if (counts.has(id)) report.duplicated += counts.get(id) ?? 0; // emitted although never matching
				continue;
			}
			report.expected++;
			const n = counts.get(id) ?? 0;
			if (n === 0) report.lost++;
			if (n > 1) report.duplicated += n - 1;
		}
	}
	report.seconds = Math.round((Date.now() - started) / 100) / 10;
	o.log?.(JSON.stringify(report));
	return report;
}
