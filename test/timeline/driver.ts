/**
 * A timeline of alert creations and updates (ties, late arrivals, filter changes) played against the
 * emulator while the trigger polls like n8n does (static data saved only when a poll returns items; restarts
 * roll back to the last save; failed polls save nothing), with faults injected into the API. At the end the
 * emitted items are compared with what the emulator holds. Used by the jest suite and by `npm run soak`.
 */
import type { IDataObject } from 'n8n-workflow';

import { MicrosoftDefenderTrigger } from '../../nodes/MicrosoftDefender/MicrosoftDefenderTrigger.node';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import type { Emulator, FaultKind } from '../emulator';
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
	/** Fault kinds of the random faults (default 429, 500, 502, 503, 504, reset). */
	faultKinds?: FaultKind[];
	/** Retry-After sent with random 429/503 faults (default 0). */
	retryAfterSeconds?: number;
	/** Delay of 'slow' faults (emulator default 5000 ms); set it above `transportSettings.requestTimeoutMs`. */
	slowDelayMs?: number;
	/** At this poll, the API answers the next request with "token expired" (401) once. */
	expireTokenAtPoll?: number;
	/** Late arrivals: alerts whose timestamp is up to this many minutes in the past when they appear (default 10). */
	lateMaxMinutes?: number;
	/** The trigger's Ingestion Look-Back (default 15). */
	lookbackMinutes?: number;
	/** New alerts per step: 0 to this − 1, uniformly (default 40). */
	maxAlertsPerStep?: number;
	/** Updates per step: 0 to this − 1, uniformly (default 12). */
	maxUpdatesPerStep?: number;
	/** Called every `progressEvery` polls with a one-line status. */
	progress?: (line: string) => void;
	progressEvery?: number;
	/** Most polls after the timeline while waiting for three quiet polls in a row (default 1000). */
	maxDrainPolls?: number;
	/**
	 * What the trigger reads (default mde): an alert source, or Graph incidents — then `alerts` counts incidents,
	 * and new alerts also join recent incidents.
	 */
	source?: 'mde' | 'graph' | 'incidents';
	/** Incidents: Include Alerts ($expand=alerts). */
	includeAlerts?: boolean;
	/** Incidents: `$expand=alerts` answers HTTP 500 for the whole run (the trigger must fall back). */
	expandFailure?: boolean;
}

export interface TimelineReport {
	mode: 'updates' | 'new alerts' | 'new incidents';
	/** Alerts created (incidents opened, with source incidents). */
	alertsCreated: number;
	/** Incidents: alerts that joined an existing incident. */
	alertsJoined: number;
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
	/** Requests the transport sent again: faulted attempts minus the last attempt of each failed poll. */
	retries: number;
	/** Faulted API requests by fault kind (from the emulator's request log). */
	faultsByKind: Record<string, number>;
	/** Token requests to Entra ID during the run. */
	tokenRequests: number;
	/** Largest `$top` the trigger asked for (pages hold look-back re-reads plus a batch). */
	maxPageTop: number;
	/** Distinct (id, version) pairs emitted. */
	versionsEmitted: number;
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

/** A 7-digit timestamp: the millisecond of `ms` plus `ticks` (mod 10,000) sub-millisecond units of 100 ns. */
function ts7(ms: number, ticks: number): string {
	const iso = new Date(ms).toISOString();
	return `${iso.slice(0, 19)}.${String((ms % 1000) * 10_000 + (ticks % 10_000)).padStart(7, '0')}Z`;
}

const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'] as const;
const FILTER_SEVERITIES = ['High', 'Medium'];
const FILTER_STATUSES = ['New', 'InProgress'];
/** Incidents: the statuses watched with Trigger on Updates (without it, every incident: its severity can grow later). */
const INCIDENT_FILTER_STATUSES = ['active', 'inProgress'];
const LIST_REQUEST = /^GET \/(api\/alerts|v1\.0\/security\/(alerts_v2|incidents))$/;

export async function runTimeline(emu: Emulator, o: TimelineOptions): Promise<TimelineReport> {
	const started = Date.now();
	const random = prng(o.seed);
	const kinds: FaultKind[] = o.faultKinds ?? ['429', '500', '502', '503', '504', 'reset'];
	const randomFaults = (seed: number) =>
		emu.faults.random({ rate: o.faultRate, kinds, seed, retryAfterSeconds: o.retryAfterSeconds ?? 0, delayMs: o.slowDelayMs });
	const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
	const pollMs = (o.pollMinutes ?? 1) * 60_000;
	// The emitted alert's version field, as the source names it (the emulator's own view is MDE-shaped).
	const incidents = o.source === 'incidents';
	const versionField = o.source === 'mde' || o.source === undefined ? 'lastUpdateTime' : 'lastUpdateDateTime';
	const trigger = new MicrosoftDefenderTrigger();
	const harness = createHarness(
		trigger,
		'microsoftDefenderTrigger',
		incidents
			? {
					watch: 'incidents',
					incidentStatuses: o.triggerOnUpdates ? INCIDENT_FILTER_STATUSES : [],
					incidentSeverities: [],
					maxHistoricalPollStart: '30 days ago',
					triggerOnUpdates: o.triggerOnUpdates,
					options: {
						includeAlerts: o.includeAlerts === true,
						maxIncidentsPerPoll: o.maxAlertsPerPoll,
						lookbackMinutes: o.lookbackMinutes ?? 15,
					},
				}
			: {
					source: o.source ?? 'mde',
					// Graph: every product (the emulator derives serviceSource from each alert's detection source).
					serviceSources: [],
					statuses: o.triggerOnUpdates ? FILTER_STATUSES : [],
					severities: o.triggerOnUpdates ? [] : FILTER_SEVERITIES,
					maxHistoricalPollStart: '30 days ago',
					triggerOnUpdates: o.triggerOnUpdates,
					options: { includeEvidence: false, maxAlertsPerPoll: o.maxAlertsPerPoll, lookbackMinutes: o.lookbackMinutes ?? 15 },
				},
		emulatorCredentials(emu),
		'Defender Trigger',
	);
	if (o.expandFailure) emu.faults.setIncidentExpandFailure(true);
	const loop = new N8nPollLoop(harness, trigger);
	const report: TimelineReport = {
		mode: o.triggerOnUpdates ? 'updates' : incidents ? 'new incidents' : 'new alerts',
		alertsCreated: 0,
		alertsJoined: 0,
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
		retries: 0,
		faultsByKind: {},
		tokenRequests: 0,
		maxPageTop: 0,
		versionsEmitted: 0,
	};
	randomFaults(o.seed);
	const requestsBefore = emu.stats().total;
	const tokensBefore = emu.stats().tokenRequests;
	const injectedBefore = emu.faults.injectedCount();
	// The request log is trimmed from the front in long runs: select this run's entries by time, not by index.
	const logFrom = Date.now();
	const ids: string[] = [];
	let tick = 0;

	const poll = async () => {
		report.polls++;
		if (o.failEvery && report.polls % o.failEvery === 0) {
			emu.faults.inject({ kind: '503', count: transportSettings.maxAttempts, match: LIST_REQUEST });
			report.faultsInjected += transportSettings.maxAttempts;
		}
		if (o.expireTokenAtPoll && report.polls === o.expireTokenAtPoll) emu.faults.inject({ kind: 'expireToken', count: 1 });
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
		if (o.progress && report.polls % (o.progressEvery ?? 100) === 0) {
			o.progress(
				`${report.mode}: poll ${report.polls}, ${report.alertsCreated} alerts, ${report.updatesApplied} updates, ` +
					`${loop.allEmitted().length} emitted, ${report.failedPolls} failed polls, ${Math.round((Date.now() - started) / 1000)} s`,
			);
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
		const batch = Math.min(o.alerts - report.alertsCreated, Math.floor(random() * (o.maxAlertsPerStep ?? 40)));
		const shared = ts7(now - 30_000, tick++);
		for (let i = 0; i < batch; i++) {
			const n = report.alertsCreated++;
			const roll = random();
			let at = random() < 0.3 ? shared : ts7(now - Math.floor(random() * 50_000), tick++);
			let visibleAt: Date | undefined;
			if (roll < 0.1) at = ts7(now - Math.floor(random() * (o.lateMaxMinutes ?? 10) * 60_000), tick++); // late
			if (roll > 0.95) visibleAt = new Date(now + Math.floor(random() * 3 * 60_000)); // visible up to 3 min later
			const alert = { alertCreationTime: at, lastUpdateTime: at, status: 'New' as const, severity: pick(SEVERITIES) };
			if (!incidents) {
				const id = `tl-${o.seed}-${n}`;
				emu.alerts.create({ id, ...alert }, visibleAt ? { visibleAt } : {});
				ids.push(id);
				continue;
			}
			// A new incident, opened by its first alert …
			const id = String(100_000 + n);
			emu.incidents.createAlert(id, { id: `tl-${o.seed}-${n}-0`, ...alert }, visibleAt ? { visibleAt } : {});
			ids.push(id);
			// … and now and then another alert joining a recent incident (its lastUpdateDateTime moves when later). Joins
			// come 20–40 s before the step's updates, so that an incident's versions only move forward.
			if (ids.length > 1 && random() < 0.3) {
				const target = ids[ids.length - 1 - Math.floor(random() * Math.min(ids.length, 30))];
				const joinAt = ts7(now - 20_000 - Math.floor(random() * 20_000), tick++);
				emu.incidents.createAlert(target, { id: `tl-${o.seed}-${n}-join`, ...alert, alertCreationTime: joinAt, lastUpdateTime: joinAt });
				report.alertsJoined++;
			}
		}
		// Updates: status moves (in and out of the status filter), assignment, comments; some share a timestamp.
		const updates = Math.min(o.updates - report.updatesApplied, updatable.length ? Math.floor(random() * (o.maxUpdatesPerStep ?? 12)) : 0);
		const updateAt = ts7(now - 10_000, tick++);
		for (let i = 0; i < updates; i++) {
			const id = pick(updatable);
			if (updatedThisStep.has(id)) continue;
			updatedThisStep.add(id);
			const at = random() < 0.5 ? updateAt : ts7(now - 5_000, tick++);
			const assignedTo = random() < 0.5 ? 'secop@contoso.com' : null;
			if (incidents) emu.incidents.update(id, { status: pick(['active', 'inProgress', 'inProgress', 'resolved'] as const), assignedTo }, { at });
			else emu.alerts.update(id, { status: pick(['New', 'InProgress', 'InProgress', 'Resolved'] as const), assignedTo }, { at });
			report.updatesApplied++;
		}
		await poll();
	}
	// Drain: until everything is visible and a few polls in a row bring nothing.
	emu.faults.clear();
	if (o.expandFailure) emu.faults.setIncidentExpandFailure(true);
	randomFaults(o.seed + 1);
	// Capped, so a trigger that never settles (re-emitting the look-back on every poll) ends with a report, not a hang.
	for (let quiet = 0, drainPolls = 0; quiet < 3 && drainPolls < (o.maxDrainPolls ?? 1000); drainPolls++) {
		emu.clock.advance(pollMs);
		const before = loop.allEmitted().length;
		await poll();
		quiet = loop.allEmitted().length === before ? quiet + 1 : 0;
	}
	emu.faults.clear();
	report.requests = emu.stats().total - requestsBefore;
	report.tokenRequests = emu.stats().tokenRequests - tokensBefore;
	report.faultsInjected = emu.faults.injectedCount() - injectedBefore;
	// Every faulted attempt is sent again, except the last one of a poll that failed after all its attempts.
	report.retries = report.faultsInjected - report.failedPolls;
	for (const entry of emu.requestLog) {
		if (entry.realTime < logFrom) continue;
		if (entry.fault) report.faultsByKind[entry.fault] = (report.faultsByKind[entry.fault] ?? 0) + 1;
		if (LIST_REQUEST.test(`${entry.method} ${entry.path}`) && !/^\(?incidentId eq /.test(entry.query.$filter ?? '')) {
			report.maxPageTop = Math.max(report.maxPageTop, Number(entry.query.$top ?? 0));
		}
	}

	// Compare with what the emulator holds now.
	const emitted = loop.allEmitted();
	report.emitted = emitted.length;
	if (o.triggerOnUpdates) {
		const versionsById = new Map<string, string[]>();
		const pairs = new Set<string>();
		for (const alert of emitted) {
			const key = `${alert.id}@${alert[versionField]}`;
			if (pairs.has(key)) report.duplicated++;
			pairs.add(key);
			const versions = versionsById.get(String(alert.id)) ?? [];
			if (versions.length && versions[versions.length - 1] >= String(alert[versionField])) report.outOfOrder++;
			versions.push(String(alert[versionField]));
			versionsById.set(String(alert.id), versions);
		}
		for (const id of ids) {
			if (incidents) {
				const current = emu.incidents.get(id) as unknown as IDataObject;
				if (!INCIDENT_FILTER_STATUSES.includes(String(current.status))) continue;
				report.expected++;
				if (!pairs.has(`${id}@${current.lastUpdateDateTime}`)) report.lost++;
				continue;
			}
			const current = emu.alerts.get(id) as unknown as IDataObject;
			if (!FILTER_STATUSES.includes(String(current.status))) continue;
			report.expected++;
			if (!pairs.has(`${id}@${current.lastUpdateTime}`)) report.lost++;
		}
	} else {
		const counts = new Map<string, number>();
		for (const alert of emitted) counts.set(String(alert.id), (counts.get(String(alert.id)) ?? 0) + 1);
		for (const id of ids) {
			const current = (incidents ? { severity: 'High' } : emu.alerts.get(id)) as unknown as IDataObject;
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
	report.versionsEmitted = new Set(emitted.map((a) => `${String(a.id)}@${String(o.triggerOnUpdates ? a[versionField] : '')}`)).size;
	report.seconds = Math.round((Date.now() - started) / 100) / 10;
	o.log?.(JSON.stringify(report));
	return report;
}
