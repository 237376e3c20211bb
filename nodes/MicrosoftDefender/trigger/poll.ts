import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { enumValues, ALERT_SEVERITIES, ALERT_STATUSES, DETECTION_SOURCES } from '../helpers/enums';
import {
	DeadlineError,
	DefenderApiError,
	loadCredentials,
	n8nSender,
	sendDefenderRequest,
	signedInTenant,
	toNodeError,
	type RawResponse,
	type TransportContext,
} from '../transport';
import { CursorScan, continuesState, type CursorOptions, type CursorState, type PageQuery } from '../scan/cursor';
import {
	checkHistoricalStart,
	historicalFloor,
	HistoricalStartError,
	parseHistoricalStart,
	type HistoricalStart,
} from './historicalStart';
import { longestPollGapMs } from './pollInterval';
import { ALERT_SOURCES, pageSelection, type ScanFilters, type ScanSource } from '../scan/sources';
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

/** Key in the node's static data. */
const STATE_KEY = 'alertCursor';
/** Key of the change details added to emitted alerts (documented in the README). */
export const CHANGE_KEY = '_change';

export interface TriggerParameters {
	/** 'mde' or 'graph' (recorded with the position). */
	sourceName: string;
	source: ScanSource;
	/** The workflow's timezone: relative phrases and zone-less dates of Max Historical Poll Start are read in it. */
	timezone: string;
	filters: ScanFilters;
	historicalStart: HistoricalStart;
	triggerOnUpdates: boolean;
	includeEvidence: boolean;
	includeChangeDetails: boolean;
	lookbackMs: number;
	maxAlertsPerPoll: number;
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
		const categories = [
			...stringList(context.getNodeParameter('categories', [])),
			...stringList(context.getNodeParameter('customCategories', '')),
		];
		for (const category of categories) {
			if (!/^[A-Za-z][A-Za-z0-9 _-]*$/.test(category)) {
				throw new Error(`Other Categories: "${category}" is not a category name (letters, digits, spaces, - and _ only).`);
			}
		}
		const lookbackMinutes = Number(options.lookbackMinutes ?? 15);
		const maxAlertsPerPoll = Number(options.maxAlertsPerPoll ?? 1000);
		if (!Number.isFinite(lookbackMinutes) || lookbackMinutes < 0 || lookbackMinutes > 1440) {
			throw new Error('Ingestion Look-Back (Minutes) must be between 0 and 1440.');
		}
		if (!Number.isInteger(maxAlertsPerPoll) || maxAlertsPerPoll < 1 || maxAlertsPerPoll > 10000) {
			throw new Error('Max Alerts per Poll must be a whole number between 1 and 10000.');
		}
		const sourceName = String(context.getNodeParameter('source', 'mde'));
		const source = ALERT_SOURCES[sourceName];
		if (!source) throw new Error(`Source "${sourceName}" is unknown. Choose Defender for Endpoint API or Microsoft Graph.`);
		const serviceSources = stringList(context.getNodeParameter('serviceSources', ['microsoftDefenderForEndpoint']));
		for (const value of serviceSources) {
			if (!/^[A-Za-z][A-Za-z0-9]*$/.test(value)) throw new Error(`Service Sources: "${value}" is not a service source.`);
		}
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
			sourceName,
			source,
			timezone,
			filters: {
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
				assignedTo: assignedTo || undefined,
				additionalFilter: additionalFilter || undefined,
			},
			historicalStart,
			triggerOnUpdates: context.getNodeParameter('triggerOnUpdates', false) as boolean,
			includeEvidence: options.includeEvidence !== false,
			includeChangeDetails: options.includeChangeDetails !== false,
			lookbackMs: lookbackMinutes * 60_000,
			maxAlertsPerPoll,
		};
	} catch (error) {
		const message = error instanceof HistoricalStartError || error instanceof Error ? error.message : String(error);
		throw new NodeOperationError(context.getNode(), message);
	}
}

function filterExpression(source: ScanSource, params: TriggerParameters, extra: string[]): string {
	return [...source.filterClauses(params.filters), ...extra].join(' and ');
}

function toItems(alerts: Array<{ alert: IDataObject; change?: IDataObject }>): INodeExecutionData[] {
	return alerts.map(({ alert, change }) => ({ json: change ? { ...alert, [CHANGE_KEY]: change } : alert }));
}

type ListQuery = Record<string, string | number | undefined>;

/**
 * One alert list request. Where the API rejects `$orderby` (HTTP 400; Microsoft does not document it for MDE
 * alerts), the same request is sent once more without it: `unordered` says so. A second 400 is the real error.
 */
async function listAlerts(
	transport: TransportContext,
	source: ScanSource,
	qs: ListQuery,
): Promise<{ response: RawResponse; unordered?: string }> {
	const request = { api: source.api, method: 'GET' as const, path: source.path, headers: source.headers };
	try {
		return { response: await sendDefenderRequest(transport, { ...request, qs }) };
	} catch (error) {
		if (!(error instanceof DefenderApiError) || error.status !== 400 || qs.$orderby === undefined) throw error;
		const { $orderby: _rejected, ...rest } = qs;
		const response = await sendDefenderRequest(transport, { ...request, qs: rest });
		return { response, unordered: `HTTP 400${error.code ? ` ${error.code}` : ''}: ${error.apiMessage ?? 'no message'}` };
	}
}

const pageOf = (response: RawResponse): IDataObject[] => (response.body as { value?: IDataObject[] }).value ?? [];

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
	const { response } = await listAlerts(transport, source, {
		$filter: filterExpression(source, params, [`${field} ge ${floor}`]),
		$orderby: `${field} desc`,
		// The newest of a page, whatever order the API returns it in (with a client-side filter the newest match
		// may not be the newest alert).
		$top: 100,
		...source.extraQuery(params),
	});
	const newest = (alert: IDataObject): string => canonicalTimestamp(alert[field]) ?? '';
	const candidates = pageOf(response).filter((a) => !matches || matches(a));
	const alert = candidates.reduce<IDataObject | undefined>((best, a) => (!best || newest(a) > newest(best) ? a : best), undefined);
	if (!alert) {
		throw new NodeOperationError(
			context.getNode(),
			`No alert matches these filters since ${floor.replace(/\.\d+Z$/, 'Z')}`,
			{ description: 'No alert in this window yet: widen the filters or Max Historical Poll Start, or wait for a matching alert.' },
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
}

export interface ScanContext {
	/** The source and tenant the position belongs to. */
	identity?: { source: string; tenant: string };
	/** The poll's clock. */
	now?: Date;
}

/**
 * One poll: scan from the cursor, emit new alert versions, and return the state to store with them. With a
 * deadline on the transport, the scan stops paging in time and returns what it has; the next poll continues.
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
	const matches = source.clientFilter?.(params.filters);
	const options: CursorOptions = {
		triggerOnUpdates: params.triggerOnUpdates,
		lookbackMs: params.lookbackMs,
		maxAlerts: params.maxAlertsPerPoll,
		maxPageSize: source.maxPageSize,
		maxSkip: source.maxSkip,
		// Remembered field values only serve the change details: none without them.
		changeMemory: params.triggerOnUpdates && params.includeChangeDetails ? 1000 : 0,
		fields,
		identity: context.identity,
		now: context.now ? timestampFromMs(context.now.getTime()) : undefined,
	};
	const scan = new CursorScan(previous, options, floor);
	let requests = 0;
	let slowestPageMs = 0;
	let stoppedBy: string | undefined;
	for (let query = scan.nextQuery(); query; query = scan.nextQuery()) {
		const left = transport.deadline === undefined ? Number.POSITIVE_INFINITY : transport.deadline - Date.now();
		if (scan.stats.pages > 0 && left < slowestPageMs) {
			// The next page would likely not arrive in time: hand over what is complete now.
			stoppedBy = `the next page would not arrive within the poll's time budget (${Math.round(left)} ms left)`;
			scan.stopEarly();
			break;
		}
		requests++;
		const started = Date.now();
		let answer: Awaited<ReturnType<typeof listAlerts>>;
		try {
			answer = await listAlerts(transport, source, pageRequest(source, fields.cursor, query, params));
		} catch (error) {
			if (error instanceof DeadlineError && scan.stats.pages > 0) {
				stoppedBy = error.message;
				scan.stopEarly();
				break;
			}
			throw error;
		}
		slowestPageMs = Math.max(slowestPageMs, Date.now() - started);
		if (answer.unordered) scan.rejectOrder(answer.unordered);
		scan.accept(pageOf(answer.response), matches);
	}
	const withChange = params.triggerOnUpdates && params.includeChangeDetails;
	const items = toItems(
		scan.emissions.map(({ alert, change }) => ({
			alert: alert as IDataObject,
			change: withChange ? (change as unknown as IDataObject) : undefined,
		})),
	);
	return { items, state: scan.commit(), requests, scan, stoppedBy };
}

function pageRequest(source: ScanSource, cursorField: string, query: PageQuery, params: TriggerParameters): ListQuery {
	const page = pageSelection(cursorField, query);
	return {
		$filter: filterExpression(source, params, [page.clause]),
		$orderby: page.orderby,
		$top: query.top,
		$skip: query.skip || undefined,
		...source.extraQuery(params),
	};
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
	if (scan.orderChange) {
		context.logger.warn(
			`Microsoft Defender trigger "${name}": ${scan.orderChange}. It now reads time windows of at most ${params.source.maxPageSize} alerts and sorts them itself (kept in the trigger's state; nothing was lost).`,
		);
	}
	if (outcome.stoppedBy) {
		context.logger.info(
			`Microsoft Defender trigger "${name}": emitted ${outcome.items.length} alert(s) and stopped early (${outcome.stoppedBy}); the next poll continues.`,
		);
	}
	if (scan.stats.instantsCut) {
		context.logger.warn(
			`Microsoft Defender trigger "${name}": ${scan.stats.instantsCut} instant(s) held more alerts than a page plus the API's largest $skip; the alerts past that could not be read.`,
		);
	}
}
