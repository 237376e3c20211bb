import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { enumValues, ALERT_SEVERITIES, ALERT_STATUSES, DETECTION_SOURCES } from '../helpers/enums';
import {
	loadCredentials,
	n8nSender,
	sendDefenderRequest,
	toNodeError,
	type TransportContext,
} from '../transport';
import { AlertScan, type CursorOptions, type CursorState } from './cursor';
import {
	historicalFloor,
	HistoricalStartError,
	parseHistoricalStart,
	type HistoricalStart,
} from './historicalStart';
import { ALERT_SOURCES, pageSelection, type AlertFilters, type AlertSource } from './sources';
import { canonicalTimestamp, timestampFromMs } from './timestamps';

/** Key in the node's static data. */
const STATE_KEY = 'alertCursor';
/** Key of the change details added to emitted alerts (documented in the README). */
export const CHANGE_KEY = '_change';

export interface TriggerParameters {
	source: AlertSource;
	filters: AlertFilters;
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
		return {
			source,
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
			historicalStart: parseHistoricalStart(context.getNodeParameter('maxHistoricalPollStart', ''), now),
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

function filterExpression(source: AlertSource, params: TriggerParameters, extra: string[]): string {
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
	const response = await sendDefenderRequest(transport, {
		api: source.api,
		method: 'GET',
		path: source.path,
		headers: source.headers,
		qs: {
			$filter: filterExpression(source, params, [`${field} ge ${floor}`]),
			$orderby: `${field} desc`,
			// With a client-side filter the newest match may not be the newest alert.
			$top: matches ? 100 : 1,
			...source.extraQuery(params),
		},
	});
	const page = (response.body as { value?: IDataObject[] }).value ?? [];
	const alert = matches ? page.find((a) => matches(a)) : page[0];
	if (!alert) {
		throw new NodeOperationError(
			context.getNode(),
			`No alert matches these filters since ${floor.replace(/\.\d+Z$/, 'Z')}`,
			{ description: 'Widen the filters or Max Historical Poll Start, or wait for a matching alert.' },
		);
	}
	return [toItems([{ alert }])];
}

export interface PollOutcome {
	items: INodeExecutionData[];
	state: CursorState;
	requests: number;
}

/** One poll: scan from the cursor, emit new alert versions, and return the state to store with them. */
export async function scanAlerts(
	transport: TransportContext,
	params: TriggerParameters,
	previous: CursorState | undefined,
	floor: string,
): Promise<PollOutcome> {
	const { source } = params;
	const fields = source.fields(params.triggerOnUpdates);
	const matches = source.clientFilter?.(params.filters);
	const options: CursorOptions = {
		triggerOnUpdates: params.triggerOnUpdates,
		lookbackMs: params.lookbackMs,
		maxAlerts: params.maxAlertsPerPoll,
		maxPageSize: source.maxPageSize,
		// Remembered field values only serve the change details: none without them.
		changeMemory: params.triggerOnUpdates && params.includeChangeDetails ? 1000 : 0,
		fields,
		paging: source.paging,
	};
	const scan = new AlertScan(previous, options, floor);
	let requests = 0;
	for (let query = scan.nextQuery(); query; query = scan.nextQuery()) {
		requests++;
		const page = pageSelection(source, fields.cursor, fields.id, query);
		const response = await sendDefenderRequest(transport, {
			api: source.api,
			method: 'GET',
			path: source.path,
			headers: source.headers,
			qs: {
				$filter: filterExpression(source, params, [page.clause]),
				$orderby: page.orderby,
				$top: query.top,
				$skip: query.skip || undefined,
				...source.extraQuery(params),
			},
		});
		scan.accept(((response.body as { value?: IDataObject[] }).value ?? []) as IDataObject[], matches);
	}
	const withChange = params.triggerOnUpdates && params.includeChangeDetails;
	const items = toItems(
		scan.emissions.map(({ alert, change }) => ({
			alert: alert as IDataObject,
			change: withChange ? (change as unknown as IDataObject) : undefined,
		})),
	);
	return { items, state: scan.commit(), requests };
}

/** The trigger's poll(): n8n stores the static data only when items are returned, which is what we want. */
export async function pollAlerts(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	const now = new Date();
	const params = readTriggerParameters(this, now);
	const staticData = this.getWorkflowStaticData('node');
	const previous = staticData[STATE_KEY] as CursorState | undefined;
	try {
		const transport: TransportContext = { credentials: await loadCredentials(this), send: n8nSender(this) };
		const activatedAt = previous?.since ? new Date(Date.parse(previous.since.slice(0, 23) + 'Z')) : undefined;
		const floorDate = historicalFloor(params.historicalStart, now, activatedAt);
		const floor = canonicalTimestamp(floorDate.toISOString()) ?? timestampFromMs(floorDate.getTime());

		if (this.getMode() === 'manual') return await manualSample(this, transport, params, floor);

		const outcome = await scanAlerts(transport, params, previous, floor);
		// Only after every page arrived: a poll that fails half-way leaves the cursor untouched.
		staticData[STATE_KEY] = outcome.state as unknown as IDataObject;
		return outcome.items.length ? [outcome.items] : null;
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
}
