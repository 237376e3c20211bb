import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
	IPairedItemData,
} from 'n8n-workflow';

import { chunk } from '../../helpers/validation';
import {
	InvalidInputError,
	sendDefenderRequest,
	toNodeError,
	type TransportContext,
	type WriteCheck,
} from '../../transport';
import { updateDisplayOptions } from '../utils';
import {
	buildIndicatorBody,
	IMPORT_BATCH_SIZE,
	INDICATOR_BODY_KEYS,
	indicatorProperties,
	inputFromParameters,
	readBackIndicators,
	TENANT_INDICATOR_LIMIT,
	type IndicatorInput,
} from './fields';

const properties: INodeProperties[] = [
	{
		displayName:
			'All input items are imported together, in batches of 500 indicators per API call. Each output item is the result for one indicator (isFailed, failureReason), paired with the input item it came from. Indicators with a value that already exists are updated. Block and Block and Remediate are destructive: consider a human approval step before this node in agent workflows.',
		name: 'importNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Input Mode',
		name: 'inputMode',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'One Indicator per Input Item',
				value: 'fields',
				description: 'Map the fields below from each input item with expressions',
			},
			{
				name: 'JSON List',
				value: 'json',
				description: 'Each input item gives a JSON array of indicator objects with the API field names',
			},
		],
		default: 'fields',
	},
	...indicatorProperties().map((property) => ({
		...property,
		displayOptions: { show: { ...property.displayOptions?.show, inputMode: ['fields'] } },
	})),
	{
		displayName: 'Indicators (JSON)',
		name: 'indicatorsJson',
		type: 'json',
		required: true,
		displayOptions: { show: { inputMode: ['json'] } },
		default:
			'[\n  {\n    "indicatorValue": "",\n    "indicatorType": "FileSha256",\n    "action": "Audit",\n    "title": "",\n    "description": ""\n  }\n]',
		description:
			'An array of indicators (or a single one), each with indicatorValue, indicatorType, action, title and description, and optionally severity, expirationTime, recommendedActions, rbacGroupNames, generateAlert, application and educateUrl',
	},
];

const displayOptions = { show: { resource: ['indicator'], operation: ['import'] } };

export const description = updateDisplayOptions(displayOptions, properties);

/** Read-only fields of the indicator entity, ignored so that Get Many output can be imported again. */
const READ_ONLY_FIELDS = new Set(
	[
		'id',
		'externalID',
		'source',
		'sourceType',
		'createdBy',
		'createdByDisplayName',
		'createdBySource',
		'creationTimeDateTimeUtc',
		'lastUpdatedBy',
		'lastUpdateTime',
		'rbacGroupIds',
		'mitreTechniques',
		'category',
	].map((k) => k.toLowerCase()),
);
const BODY_KEYS = new Map(INDICATOR_BODY_KEYS.map((k) => [k.toLowerCase(), k]));

/** One JSON list entry with keys matched case-insensitively to the API names; unknown keys are errors. */
export function inputFromJson(entry: unknown): IndicatorInput {
	if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
		throw new InvalidInputError(
			'The entry is not an object with indicatorValue, indicatorType, action, title and description.',
		);
	}
	const input: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
		const name = BODY_KEYS.get(key.toLowerCase());
		if (name) input[name] = value;
		else if (!READ_ONLY_FIELDS.has(key.toLowerCase())) {
			throw new InvalidInputError(
				`Unknown field "${key.slice(0, 50)}". Use: ${INDICATOR_BODY_KEYS.join(', ')}.`,
			);
		}
	}
	return input as IndicatorInput;
}

function parseJsonList(value: unknown): unknown[] {
	let parsed = value;
	if (typeof parsed === 'string') {
		try {
			parsed = JSON.parse(parsed);
		} catch (error) {
			throw new InvalidInputError(`Indicators (JSON) is not valid JSON: ${(error as Error).message}`);
		}
	}
	if (Array.isArray(parsed)) return parsed;
	if (parsed && typeof parsed === 'object') return [parsed];
	throw new InvalidInputError('Indicators (JSON) must be an array of indicator objects.');
}

interface Entry {
	body: IDataObject;
	itemIndex: number;
}

function errorItem(message: string, itemIndex: number, extra: IDataObject = {}): INodeExecutionData {
	return { json: { error: message, ...extra }, pairedItem: { item: itemIndex } };
}

/** Pairs each import result with the indicator it answers: by position, else by value. */
function pairResults(batch: Entry[], results: IDataObject[]): INodeExecutionData[] {
	if (results.length === batch.length) {
		return results.map((json, i) => ({ json, pairedItem: { item: batch[i].itemIndex } }));
	}
	const byValue = new Map<string, Entry[]>();
	for (const entry of batch) {
		const key = String(entry.body.indicatorValue).toLowerCase();
		byValue.set(key, [...(byValue.get(key) ?? []), entry]);
	}
	const all: IPairedItemData[] = [...new Set(batch.map((e) => e.itemIndex))].map((item) => ({ item }));
	return results.map((json) => {
		const match = byValue.get(String(json.indicator ?? '').toLowerCase())?.shift();
		return { json, pairedItem: match ? { item: match.itemIndex } : all };
	});
}

const firstItem = (item: INodeExecutionData): number => {
	const paired = item.pairedItem;
	if (Array.isArray(paired)) return paired[0]?.item ?? 0;
	return typeof paired === 'object' ? paired.item : (paired ?? 0);
};

/**
 * The read-back of an import batch whose answer was lost: every indicator there with the values sent → applied,
 * answered as the import answers (one result per indicator); otherwise sending the batch again is safe, since the
 * API updates indicators with the same type and value rather than adding them (the results then come from it).
 */
async function verifyImport(transport: TransportContext, batch: Entry[]): Promise<WriteCheck> {
	const indicators = await readBackIndicators(
		transport,
		batch.map((e) => e.body),
	);
	if (!indicators) return 'notApplied';
	const results = indicators.map(
		(indicator, i): IDataObject => ({ id: indicator.id, indicator: batch[i].body.indicatorValue, isFailed: false, failureReason: null }),
	);
	return { outcome: 'applied', body: { value: results } };
}

/** Imports all input items together: the router calls execute once. */
export const wholeInput = true;

/** POST /api/indicators/import `{Indicators: [...]}` in batches of 500 (reference §3.4), for all input items. */
export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const continueOnFail = this.continueOnFail();
	const output: INodeExecutionData[] = [];
	const entries: Entry[] = [];

	for (let i = 0; i < items.length; i++) {
		const mode = this.getNodeParameter('inputMode', i, 'fields') as string;
		if (mode === 'json') {
			let list: unknown[];
			try {
				list = parseJsonList(this.getNodeParameter('indicatorsJson', i));
			} catch (error) {
				if (!continueOnFail) throw toNodeError(this.getNode(), error, i);
				output.push(errorItem((error as Error).message, i));
				continue;
			}
			list.forEach((entry, n) => {
				try {
					entries.push({ body: buildIndicatorBody(inputFromJson(entry)), itemIndex: i });
				} catch (error) {
					const message = `Indicator ${n + 1} in Indicators (JSON): ${(error as Error).message}`;
					const wrapped = new InvalidInputError(message);
					if (!continueOnFail) throw toNodeError(this.getNode(), wrapped, i);
					const value = (entry as IDataObject | null)?.indicatorValue;
					output.push(errorItem(message, i, value === undefined ? {} : { indicatorValue: value as string }));
				}
			});
		} else {
			try {
				entries.push({
					body: buildIndicatorBody(inputFromParameters((name, fallback) => this.getNodeParameter(name, i, fallback))),
					itemIndex: i,
				});
			} catch (error) {
				if (!continueOnFail) throw toNodeError(this.getNode(), error, i);
				output.push(errorItem((error as Error).message, i));
			}
		}
	}

	if (entries.length > TENANT_INDICATOR_LIMIT) {
		throw new InvalidInputError(
			`${entries.length} indicators exceed Defender's limit of ${TENANT_INDICATOR_LIMIT} active indicators per tenant. Import fewer indicators.`,
		);
	}

	let imported = 0;
	for (const batch of chunk(entries, IMPORT_BATCH_SIZE)) {
		try {
			const response = await sendDefenderRequest(transport, {
				method: 'POST',
				path: '/api/indicators/import',
				body: { Indicators: batch.map((e) => e.body) },
				verify: async () => await verifyImport(transport, batch),
				effect: {
					action: 'Import Indicators',
					check: `check whether the ${batch.length} indicators of this batch exist with these values (Indicator → Get Many)`,
				},
			});
			const results = (response.body as { value?: IDataObject[] } | undefined)?.value ?? [];
			output.push(...pairResults(batch, results));
			imported += batch.length;
		} catch (error) {
			const nodeError = toNodeError(this.getNode(), error, batch[0].itemIndex);
			const note = imported
				? `${imported} of ${entries.length} indicators were imported before this batch failed; importing them again is safe (Defender updates indicators with the same value).`
				: undefined;
			if (!continueOnFail) {
				if (note) {
					const withDescription = nodeError as { description?: string | null };
					withDescription.description = [withDescription.description, note].filter(Boolean).join('. ');
				}
				throw nodeError;
			}
			for (const entry of batch) {
				output.push(
					errorItem(nodeError.message, entry.itemIndex, {
						indicatorValue: entry.body.indicatorValue as string,
						isFailed: true,
					}),
				);
			}
		}
	}

	// Keep the output in input order (validation errors were collected before the results).
	return output
		.map((item, position) => ({ item, position }))
		.sort((a, b) => firstItem(a.item) - firstItem(b.item) || a.position - b.position)
		.map(({ item }) => item);
}
