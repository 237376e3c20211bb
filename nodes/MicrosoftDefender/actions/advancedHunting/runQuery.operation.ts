import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { requireText } from '../../helpers/validation';
import { InvalidInputError, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

/** Defender runs one hunting request for at most 200 s (reference §3.5); wait a little longer for its answer. */
export const HUNTING_TIMEOUT_MS = 210_000;

const properties: INodeProperties[] = [
	{
		displayName: 'Query',
		name: 'query',
		type: 'string',
		required: true,
		typeOptions: { rows: 8 },
		default: '',
		placeholder: 'e.g. DeviceProcessEvents | where Timestamp > ago(1d) | where FileName =~ "powershell.exe" | take 100',
		description:
			'The KQL query. Data from the last 30 days, at most 100,000 rows; Defender allows 45 queries per minute and 10 minutes of query time per hour.',
	},
	{
		displayName: 'Use Microsoft Graph (runHuntingQuery)',
		name: 'useGraph',
		type: 'boolean',
		default: false,
		description:
			'Whether to run the query with Microsoft Graph security/runHuntingQuery (Microsoft\'s recommended API, needs the Graph permission ThreatHunting.Read.All) instead of the Defender for Endpoint API (AdvancedQuery.Read.All)',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Output',
				name: 'output',
				type: 'options',
				options: [
					{
						name: 'One Item per Row',
						value: 'rows',
						description: 'Each result row becomes an output item (no items when the query returns no rows)',
					},
					{
						name: 'Single Item',
						value: 'single',
						description: 'One item with the schema (column names and types) and all result rows',
					},
				],
				default: 'rows',
			},
			{
				displayName: 'Timespan',
				name: 'timespan',
				type: 'string',
				default: '',
				placeholder: 'e.g. P7D',
				displayOptions: { show: { '/useGraph': [true] } },
				description:
					'Microsoft Graph only: the period to query, as an ISO 8601 duration (P7D, PT12H) or interval (2026-11-01T00:00:00Z/2026-11-08T00:00:00Z). Empty: Graph\'s default of 30 days.',
			},
		],
	},
];

const displayOptions = { show: { resource: ['advancedHunting'], operation: ['runQuery'] } };

export const description = updateDisplayOptions(displayOptions, properties);

const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

/** An ISO 8601 duration or interval (`start/end`, `start/duration`, `duration/end`). */
export function validateTimespan(value: string): string {
	const text = value.trim();
	const isDate = (part: string) => /^\d{4}-\d{2}-\d{2}/.test(part) && !Number.isNaN(Date.parse(part));
	const parts = text.split('/');
	const valid =
		(parts.length === 1 && DURATION.test(parts[0])) ||
		(parts.length === 2 &&
			((isDate(parts[0]) && (isDate(parts[1]) || DURATION.test(parts[1]))) ||
				(DURATION.test(parts[0]) && isDate(parts[1]))));
	if (!valid) {
		throw new InvalidInputError(
			`Timespan "${text.slice(0, 80)}" is not an ISO 8601 duration (e.g. P7D, PT12H) or interval (e.g. 2026-11-01T00:00:00Z/2026-11-08T00:00:00Z).`,
		);
	}
	return text;
}

interface SchemaColumn {
	name: unknown;
	type: unknown;
}

/** MDE answers `{Schema: [{Name, Type}], Results}`, Graph `{schema: [{name, type}], results}`: one shape for both. */
export function normalizeHuntingResponse(body: unknown): { schema: SchemaColumn[]; results: IDataObject[] } {
	const data = (body ?? {}) as Record<string, unknown>;
	const rawSchema = (data.schema ?? data.Schema ?? []) as Array<Record<string, unknown>>;
	const results = (data.results ?? data.Results ?? []) as IDataObject[];
	const schema = (Array.isArray(rawSchema) ? rawSchema : []).map((column) => ({
		name: column.name ?? column.Name,
		type: column.type ?? column.Type,
	}));
	return { schema, results: Array.isArray(results) ? results : [] };
}

/**
 * MDE `POST /api/advancedqueries/run {Query}` or Graph `POST /v1.0/security/runHuntingQuery {Query, Timespan}`
 * (reference §3.5).
 */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const query = requireText(this.getNodeParameter('query', itemIndex, ''), 'Query');
	const useGraph = this.getNodeParameter('useGraph', itemIndex, false) as boolean;
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	// n8n drops the Timespan option while it is hidden (Graph off), so the MDE API never gets one.
	const timespanText = useGraph && typeof options.timespan === 'string' ? options.timespan.trim() : '';
	const body: IDataObject = { Query: query };
	if (timespanText) body.Timespan = validateTimespan(timespanText);

	const response = await sendDefenderRequest(
		transport,
		useGraph
			? { api: 'graph', method: 'POST', path: '/v1.0/security/runHuntingQuery', body, timeoutMs: HUNTING_TIMEOUT_MS, retryTimeouts: false }
			: { method: 'POST', path: '/api/advancedqueries/run', body, timeoutMs: HUNTING_TIMEOUT_MS, retryTimeouts: false },
	);
	const { schema, results } = normalizeHuntingResponse(response.body);
	if (options.output === 'single') {
		return toOutput(this, itemIndex, { schema, results } as unknown as IDataObject);
	}
	return results.length ? toOutput(this, itemIndex, results) : [];
}
