import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { requireText } from '../../helpers/validation';
import { InvalidInputError, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

/**
 * The node version from which new nodes run advanced hunting through Microsoft Graph by default; version 1 nodes
 * keep the Defender for Endpoint API unless *Use Microsoft Graph* is switched on.
 *
 * Why (Microsoft's own words):
 * - https://learn.microsoft.com/defender-endpoint/api/run-advanced-query-api: "This advanced hunting API is an older
 *   version with limited capabilities. A more comprehensive version of the advanced hunting API that can query more
 *   tables is already available in the Microsoft Graph security API." The page's current revision (e.g.
 *   https://learn.microsoft.com/lt-lt/defender-endpoint/api/run-advanced-query-api, in English) adds: "Retirement
 *   began in January 2026. After retirement completes, the Microsoft Defender for Endpoint advanced hunting API no
 *   longer functions. For the retirement timeline, see MC1220762."
 * - The Logic Apps / Power Automate connector's hunting action, in Microsoft's Azure Connectors SDK reference
 *   (https://azure.github.io/Connectors-NodeJS-SDK/classes/generated_WdatpExtensions.WdatpClient.html):
 *   "Advanced Hunting (Deprecated) ... This action is deprecated and will be retired on February 1, 2027. Migrate to
 *   the Microsoft Graph Security API."
 * - https://learn.microsoft.com/graph/api/security-security-runhuntingquery: `POST /security/runHuntingQuery` with
 *   `Query` and an optional `Timespan` ("If not provided, the default timespan of 30 days will be used"), available
 *   in the global service, US Government L4 and US Government L5 (DOD).
 */
export const GRAPH_DEFAULT_VERSION = 1.1;

/** Use Microsoft Graph when a node has no value for *Use Microsoft Graph*: the default of its version. */
export function defaultUseGraph(typeVersion: number): boolean {
	return typeVersion >= GRAPH_DEFAULT_VERSION;
}

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
	// Two definitions of one parameter, told apart by the node version (the n8n-nodes-base way to change a default
	// without changing saved workflows): n8n stores only values that differ from the default, so a version 1 node
	// saved without this parameter keeps running on the MDE API, while new nodes (version GRAPH_DEFAULT_VERSION)
	// start on Microsoft Graph. Why Graph: see GRAPH_DEFAULT_VERSION above.
	{
		displayName: 'Use Microsoft Graph (runHuntingQuery)',
		name: 'useGraph',
		type: 'boolean',
		default: false,
		displayOptions: { show: { '@version': [1] } },
		description:
			'Whether to run the query with Microsoft Graph security/runHuntingQuery (Microsoft\'s recommended API, needs the Graph permission ThreatHunting.Read.All) instead of the Defender for Endpoint API (AdvancedQuery.Read.All), which Microsoft is retiring',
	},
	{
		displayName: 'Use Microsoft Graph (runHuntingQuery)',
		name: 'useGraph',
		type: 'boolean',
		default: true,
		displayOptions: { show: { '@version': [{ _cnd: { gte: GRAPH_DEFAULT_VERSION } }] } },
		description:
			'Whether to run the query with Microsoft Graph security/runHuntingQuery (Microsoft\'s recommended API, needs the Graph permission ThreatHunting.Read.All) instead of the Defender for Endpoint API (AdvancedQuery.Read.All), which Microsoft is retiring',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
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
	// n8n fills in the version's default before execute(); the fallback only matters for a node built without it.
	const useGraph = this.getNodeParameter('useGraph', itemIndex, defaultUseGraph(this.getNode().typeVersion)) as boolean;
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	// n8n drops the Timespan option while it is hidden (Graph off), so the MDE API never gets one.
	const timespanText = useGraph && typeof options.timespan === 'string' ? options.timespan.trim() : '';
	const body: IDataObject = { Query: query };
	if (timespanText) body.Timespan = validateTimespan(timespanText);

	// A query changes nothing: POST, but retried like a read (`idempotent`).
	const response = await sendDefenderRequest(
		transport,
		useGraph
			? { api: 'graph', method: 'POST', path: '/v1.0/security/runHuntingQuery', body, timeoutMs: HUNTING_TIMEOUT_MS, retryTimeouts: false, idempotent: true }
			: { method: 'POST', path: '/api/advancedqueries/run', body, timeoutMs: HUNTING_TIMEOUT_MS, retryTimeouts: false, idempotent: true },
	);
	const { schema, results } = normalizeHuntingResponse(response.body);
	if (options.output === 'single') {
		return toOutput(this, itemIndex, { schema, results } as unknown as IDataObject);
	}
	return results.length ? toOutput(this, itemIndex, results) : [];
}
