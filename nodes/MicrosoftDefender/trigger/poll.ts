import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	enumValues,
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	DETECTION_SOURCES,
	GRAPH_FILTER_CLASSIFICATIONS,
	GRAPH_FILTER_DETERMINATIONS,
	INCIDENT_SEVERITIES,
	INCIDENT_STATUSES,
} from '../helpers/enums';
import { DeadlineError, loadCredentials, n8nSender, signedInTenant, toNodeError, type TransportContext } from '../transport';
import { CursorScan, continuesState, type CursorOptions, type CursorState } from '../scan/cursor';
import { EXPAND_RETRY_MS, IncidentPageReader } from '../scan/incidentAlerts';
import { listPage, runScan, type ListQuery } from '../scan/run';
import {
	checkHistoricalStart,
	historicalFloor,
	HistoricalStartError,
	parseHistoricalStart,
	type HistoricalStart,
} from './historicalStart';
import { longestPollGapMs } from './pollInterval';
import { ALERT_SOURCES, graphIncidentSource, type ScanFilters, type ScanSource } from '../scan/sources';
import { canonicalTimestamp, timestampFromMs, timestampToMs } from '../helpers/timestamps';

/**
 * How long a poll may take when n8n does not say (n8n-core's own default for `getPollBudgetMs`), and the share
 * of the budget kept back so the last page is processed and handed to n8n in time. Tests shorten them.
 */
export const pollSettings = {
	defaultBudgetMs: 5 * 60_000,
	reserveShare: 0.1,
	/** A poll still marked running this long after its deadline is taken as gone (its result is then dropped). */
	lockGraceMs: 30_000,
};

/** How far back Fetch Test Event looks with an empty Max Historical Poll Start and no activation yet. */
const SAMPLE_WITHOUT_ACTIVATION_MS = 24 * 60 * 60_000;

/** Key in the node's static data (for incidents too: the state records what it belongs to). */
const STATE_KEY = 'alertCursor';
/** Key of the change details added to emitted alerts (documented in the README). */
export const CHANGE_KEY = '_change';

export interface TriggerParameters {
	/** What is watched: 'alerts' (the default of saved workflows) or 'incidents'. */
	watch: 'alerts' | 'incidents';
	/** 'mde', 'graph' or 'incidents' (recorded with the position). */
	sourceName: string;
	source: ScanSource;
	/** The workflow's timezone: relative phrases and zone-less dates of Max Historical Poll Start are read in it. */
	timezone: string;
	filters: ScanFilters;
	historicalStart: HistoricalStart;
	triggerOnUpdates: boolean;
	includeEvidence: boolean;
	/** Incidents: `$expand=alerts`. */
	includeAlerts: boolean;
	includeChangeDetails: boolean;
	lookbackMs: number;
	/** Max Alerts per Poll, or Max Incidents per Poll. */
	maxItemsPerPoll: number;
}

function stringList(value: unknown): string[] {
	if (Array.isArray(value)) return value.map(String).filter(Boolean);
	if (typeof value === 'string') return value.split(',').map((v) => v.trim()).filter(Boolean);
	return [];
}

function checkEnum(field: string, values: string[], allowed: string[]): string[] {
	const unknown = values.filter((v) => !allowed.includes(v));
	if (unknown.length) {
		throw new Error(`${field}: "${unknown.join('", "')}" is not a valid value. Use one of ${allowed.join(', ')}.`);
	}
	return values;
}

/** Reads and validates the parameters before anything is sent. */
export function readTriggerParameters(context: IPollFunctions, now: Date): TriggerParameters {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	try {
		const watch = String(context.getNodeParameter('watch', 'alerts'));
		if (watch !== 'alerts' && watch !== 'incidents') throw new Error(`Watch "${watch}" is unknown. Choose Alerts or Incidents.`);
		const incidents = watch === 'incidents';
		const lookbackMinutes = Number(options.lookbackMinutes ?? 15);
		const maxItemsPerPoll = Number(incidents ? (options.maxIncidentsPerPoll ?? 500) : (options.maxAlertsPerPoll ?? 1000));
		if (!Number.isFinite(lookbackMinutes) || lookbackMinutes < 0 || lookbackMinutes > 1440) {
			throw new Error('Ingestion Look-Back (Minutes) must be between 0 and 1440.');
		}
		if (!Number.isInteger(maxItemsPerPoll) || maxItemsPerPoll < 1 || maxItemsPerPoll > 10000) {
			throw new Error(`Max ${incidents ? 'Incidents' : 'Alerts'} per Poll must be a whole number between 1 and 10000.`);
		}
		const sourceName = incidents ? 'incidents' : String(context.getNodeParameter('source', 'mde'));
		const source = incidents ? graphIncidentSource : ALERT_SOURCES[sourceName];
		if (!source) throw new Error(`Source "${sourceName}" is unknown. Choose Defender for Endpoint API or Microsoft Graph.`);
		const assignedTo = String(options.assignedTo ?? '').trim();
		const additionalFilter = String(options.additionalFilter ?? '').trim();
		const timezone = context.getTimezone() || 'UTC';
		const historicalStart = parseHistoricalStart(context.getNodeParameter('maxHistoricalPollStart', ''), now, timezone);
		checkHistoricalStart(historicalStart, {
			now,
			zone: timezone,
			lookbackMs: lookbackMinutes * 60_000,
			pollGapMs: longestPollGapMs(context.getNodeParameter('pollTimes', {})),
		});
		return {
			watch,
			sourceName,
			source,
			timezone,
			filters: {
				...(incidents ? readIncidentFilters(context, options) : readAlertFilters(context, options, sourceName)),
				assignedTo: assignedTo || undefined,
				additionalFilter: additionalFilter || undefined,
			},
			historicalStart,
			triggerOnUpdates: context.getNodeParameter('triggerOnUpdates', false) as boolean,
			includeEvidence: !incidents && options.includeEvidence !== false,
			includeAlerts: incidents && options.includeAlerts !== false,
			includeChangeDetails: options.includeChangeDetails !== false,
			lookbackMs: lookbackMinutes * 60_000,
			maxItemsPerPoll,
		};
	} catch (error) {
		const message = error instanceof HistoricalStartError || error instanceof Error ? error.message : String(error);
		throw new NodeOperationError(context.getNode(), message);
	}
}

function readAlertFilters(context: IPollFunctions, options: IDataObject, sourceName: string): ScanFilters {
	const categories = [
		...stringList(context.getNodeParameter('categories', [])),
		...stringList(context.getNodeParameter('customCategories', '')),
	];
	for (const category of categories) {
		if (!/^[A-Za-z][A-Za-z0-9 _-]*$/.test(category)) {
			throw new Error(`Other Categories: "${category}" is not a category name (letters, digits, spaces, - and _ only).`);
		}
	}
	const serviceSources = stringList(context.getNodeParameter('serviceSources', ['microsoftDefenderForEndpoint']));
	for (const value of serviceSources) {
		if (!/^[A-Za-z][A-Za-z0-9]*$/.test(value)) throw new Error(`Service Sources: "${value}" is not a service source.`);
	}
	return {
		serviceSources: sourceName === 'graph' ? serviceSources : [],
		statuses: checkEnum('Statuses', stringList(context.getNodeParameter('statuses', [])), enumValues(ALERT_STATUSES)),
		severities: checkEnum('Severities', stringList(context.getNodeParameter('severities', [])), enumValues(ALERT_SEVERITIES)),
		categories: [...new Set(categories)],
		detectionSources: stringList(options.detectionSources).map((s) => {
			if (!/^[A-Za-z][A-Za-z0-9]*$/.test(s)) {
				throw new Error(`Detection Sources: "${s}" is not a detection source. Use one of ${enumValues(DETECTION_SOURCES).join(', ')}.`);
			}
			return s;
		}),
	};
}

function readIncidentFilters(context: IPollFunctions, options: IDataObject): ScanFilters {
	return {
		serviceSources: [],
		categories: [],
		detectionSources: [],
		statuses: checkEnum('Incident Statuses', stringList(context.getNodeParameter('incidentStatuses', [])), enumValues(INCIDENT_STATUSES)),
		severities: checkEnum('Incident Severities', stringList(context.getNodeParameter('incidentSeverities', [])), enumValues(INCIDENT_SEVERITIES)),
		classifications: checkEnum('Classifications', stringList(options.classifications), enumValues(GRAPH_FILTER_CLASSIFICATIONS)),
		determinations: checkEnum('Determinations', stringList(options.determinations), enumValues(GRAPH_FILTER_DETERMINATIONS)),
	};
}

function filterExpression(source: ScanSource, params: TriggerParameters, extra: string[]): string {
	return [...source.filterClauses(params.filters), ...extra].join(' and ');
}

function toItems(alerts: Array<{ alert: IDataObject; change?: IDataObject }>): INodeExecutionData[] {
	return alerts.map(({ alert, change }) => ({ json: change ? { ...alert, [CHANGE_KEY]: change } : alert }));
}

/** "Fetch test event": the newest matching alert; never touches the cursor. */
async function manualSample(
	context: IPollFunctions,
	transport: TransportContext,
	params: TriggerParameters,
	floor: string,
): Promise<INodeExecutionData[][]> {
	const { source } = params;
	const field = source.fields(params.triggerOnUpdates).cursor;
	const matches = source.clientFilter?.(params.filters);
	const read = params.includeAlerts
		? new IncidentPageReader(transport, source, undefined, Date.now()).read
		: (qs: ListQuery) => listPage(transport, source, qs);
	const page = await read({
		$filter: filterExpression(source, params, [`${field} ge ${floor}`]),
		$orderby: `${field} desc`,
		// The newest of a page, whatever order the API returns it in (with a client-side filter the newest match
		// may not be the newest alert).
		$top: Math.min(100, source.maxPageSize),
		...source.extraQuery(params),
	});
	const newest = (alert: IDataObject): string => canonicalTimestamp(alert[field]) ?? '';
	const candidates = page.items.filter((a) => !matches || matches(a));
	const alert = candidates.reduce<IDataObject | undefined>((best, a) => (!best || newest(a) > newest(best) ? a : best), undefined);
	if (!alert) {
		throw new NodeOperationError(
			context.getNode(),
			`No ${source.noun} matches these filters since ${floor.replace(/\.\d+Z$/, 'Z')}`,
			{ description: `No ${source.noun} in this window yet: widen the filters or Max Historical Poll Start, or wait for a matching ${source.noun}.` },
		);
	}
	return [toItems([{ alert }])];
}

export interface PollOutcome {
	items: INodeExecutionData[];
	state: CursorState;
	requests: number;
	scan: CursorScan;
	/** Why the scan ended before it was complete (time budget), if it did. */
	stoppedBy?: string;
	/** Incidents: set when this poll started reading alerts without `$expand=alerts` (said once in the log). */
	alertsFallbackStarted?: string;
}

export interface ScanContext {
	/** The source and tenant the position belongs to. */
	identity?: { source: string; tenant: string };
	/** The poll's clock. */
	now?: Date;
}

/**
 * One poll: scan from the cursor, emit new alert (or incident) versions, and return the state to store with
 * them. With a deadline on the transport, the scan stops paging in time and returns what it has; the next poll
 * continues.
 */
export async function scanAlerts(
	transport: TransportContext,
	params: TriggerParameters,
	previous: CursorState | undefined,
	floor: string,
	context: ScanContext = {},
): Promise<PollOutcome> {
	const { source } = params;
	const fields = source.fields(params.triggerOnUpdates);
	const withChange = params.triggerOnUpdates && params.includeChangeDetails;
	const options: CursorOptions = {
		triggerOnUpdates: params.triggerOnUpdates,
		lookbackMs: params.lookbackMs,
		maxAlerts: params.maxItemsPerPoll,
		maxPageSize: source.maxPageSize,
		maxSkip: source.maxSkip,
		// Remembered field values only serve the change details: none without them. Incidents remember their
		// alert ids, so fewer of them.
		changeMemory: withChange ? (fields.idLists?.length ? 200 : 1000) : 0,
		fields,
		identity: context.identity,
		now: context.now ? timestampFromMs(context.now.getTime()) : undefined,
	};
	const scan = new CursorScan(previous, options, floor);
	const incidents = params.includeAlerts
		? new IncidentPageReader(transport, source, continuesState(previous, context.identity) ? previous?.alertsFallback : undefined, (context.now ?? new Date()).getTime())
		: undefined;
	if (incidents) incidents.wanted = (incident) => scan.wants(incident);
	const run = await runScan(transport, scan, fields.cursor, {
		source,
		filterClauses: source.filterClauses(params.filters),
		extraQuery: source.extraQuery(params),
		matches: source.clientFilter?.(params.filters),
		readPage: incidents?.read,
	});
	const items = toItems(
		scan.emissions.map(({ alert, change }) => ({
			alert: alert as IDataObject,
			change: withChange ? (change as unknown as IDataObject) : undefined,
		})),
	);
	const state = scan.commit();
	if (incidents?.state) state.alertsFallback = incidents.state;
	return { items, state, requests: run.requests, scan, stoppedBy: run.stoppedBy, alertsFallbackStarted: incidents?.started };
}

/** Polls running in this process, by workflow and node: n8n starts a tick even while the last one still runs. */
const runningPolls = new Map<string, { owner: symbol; startedAt: number; until: number }>();

function pollBudgetMs(context: IPollFunctions): number {
	const offered = typeof context.getPollBudgetMs === 'function' ? context.getPollBudgetMs() : undefined;
	return typeof offered === 'number' && Number.isFinite(offered) && offered > 0 ? offered : pollSettings.defaultBudgetMs;
}

/** The trigger's poll(). */
export async function pollAlerts(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	const started = Date.now();
	const now = new Date(started);
	const params = readTriggerParameters(this, now);
	const budgetMs = pollBudgetMs(this);
	const deadline = started + Math.floor(budgetMs * (1 - pollSettings.reserveShare));
	const manual = this.getMode() === 'manual';

	const key = `${this.getWorkflow().id ?? ''}:${this.getNode().id ?? this.getNode().name}`;
	const running = manual ? undefined : runningPolls.get(key);
	if (running && running.until > started) {
		// Both would start from the same saved position and emit the same alerts.
		this.logger.warn(
			`Microsoft Defender trigger "${this.getNode().name}": the previous poll (started ${new Date(running.startedAt).toISOString()}) is still running; this poll is skipped. Nothing was emitted and the position is unchanged.`,
		);
		return null;
	}
	const owner = Symbol('poll');
	if (!manual) runningPolls.set(key, { owner, startedAt: started, until: deadline + pollSettings.lockGraceMs });
	try {
		const transport: TransportContext = { credentials: await loadCredentials(this), send: n8nSender(this), deadline };
		const staticData = this.getWorkflowStaticData('node');
		const saved = staticData[STATE_KEY] as CursorState | undefined;
		if (manual) {
			// "From activation on" before any activation: a sample from the last day rather than from this instant.
			const activated = saved?.since ?? timestampFromMs(started - SAMPLE_WITHOUT_ACTIVATION_MS);
			const floorDate = historicalFloor(params.historicalStart, now, new Date(timestampToMs(activated)), params.timezone);
			return await manualSample(this, transport, params, toFloor(floorDate));
		}
		const identity = { source: params.sourceName, tenant: await signedInTenant(transport, params.source.api) };
		const continued = continuesState(saved, identity);
		if (saved && !continued) {
			this.logger.info(
				`Microsoft Defender trigger "${this.getNode().name}": the saved position belongs to ${saved.source ?? '?'} / tenant ${saved.tenant ?? '?'}; reading ${identity.source} / tenant ${identity.tenant} from Max Historical Poll Start.`,
			);
		}
		const previous = continued ? saved : undefined;
		const activatedAt = previous?.since ? new Date(timestampToMs(previous.since)) : undefined;
		const floor = toFloor(historicalFloor(params.historicalStart, now, activatedAt, params.timezone));

		const outcome = await scanAlerts(transport, params, previous, floor, { identity, now });
		if (runningPolls.get(key)?.owner !== owner) {
			// Past its deadline and grace another poll took over: its result would repeat or skip that one's.
			this.logger.warn(`Microsoft Defender trigger "${this.getNode().name}": this poll outlived its time budget; its result is dropped (the next poll reads the same alerts).`);
			return null;
		}
		report(this, outcome, params);
		// Only after every page arrived: a poll that fails half-way leaves the cursor untouched.
		staticData[STATE_KEY] = outcome.state as unknown as IDataObject;
		if (!outcome.items.length && !continued) {
			// n8n's durable cursors drop what the activation poll stored unless it emitted items; the first position
			// (the "from activation on" instant) must survive until the first scheduled poll. A no-op elsewhere.
			await this.__commitCursor?.();
		}
		return outcome.items.length ? [outcome.items] : null;
	} catch (error) {
		if (error instanceof DeadlineError) {
			throw new NodeOperationError(this.getNode(), `The poll ran out of time before Defender answered: ${error.message}`, {
				description: `${error.resumeAt ? `The API accepts the next call at ${error.resumeAt.toISOString()}. ` : ''}Nothing was emitted; the next poll continues from the same position.`,
			});
		}
		throw toNodeError(this.getNode(), error);
	} finally {
		if (runningPolls.get(key)?.owner === owner) runningPolls.delete(key);
	}
}

function toFloor(date: Date): string {
	return canonicalTimestamp(date.toISOString()) ?? timestampFromMs(date.getTime());
}

/** Says in n8n's log, once, what the operator should know about this poll. */
function report(context: IPollFunctions, outcome: PollOutcome, params: TriggerParameters): void {
	const name = context.getNode().name;
	const { scan } = outcome;
	const noun = params.source.noun;
	if (scan.orderChange) {
		context.logger.warn(
			`Microsoft Defender trigger "${name}": ${scan.orderChange}. It now reads time windows of at most ${params.source.maxPageSize} ${noun}s and sorts them itself (kept in the trigger's state; nothing was lost).`,
		);
	}
	if (outcome.alertsFallbackStarted) {
		context.logger.warn(
			`Microsoft Defender trigger "${name}": incidents with $expand=alerts failed (${outcome.alertsFallbackStarted}). It now reads incidents without $expand and each incident's alerts separately, and tries $expand again in ${EXPAND_RETRY_MS / 60_000} minutes (kept in the trigger's state; no incident is held back).`,
		);
	}
	if (outcome.stoppedBy) {
		context.logger.info(
			`Microsoft Defender trigger "${name}": emitted ${outcome.items.length} ${noun}(s) and stopped early (${outcome.stoppedBy}); the next poll continues.`,
		);
	}
	if (scan.stats.instantsCut) {
		context.logger.warn(
			`Microsoft Defender trigger "${name}": ${scan.stats.instantsCut} instant(s) held more ${noun}s than a page plus the API's largest $skip; the ${noun}s past that could not be read.`,
		);
	}
}
