import type {
	IDataObject,
	IDisplayOptions,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import { InvalidInputError, type TransportContext } from '../transport';

/** One operation: its parameters and what it does for one input item. */
export interface Operation {
	description: INodeProperties[];
	/** Set when the operation handles all input items in one call (batch APIs); it is then called once, for item 0. */
	wholeInput?: boolean;
	execute(this: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<INodeExecutionData[]>;
}

/** Adds the resource/operation conditions to each property (the nodes-base helper of the same name). */
export function updateDisplayOptions(displayOptions: IDisplayOptions, properties: INodeProperties[]): INodeProperties[] {
	return properties.map((property) => ({
		...property,
		displayOptions: {
			...property.displayOptions,
			show: { ...displayOptions.show, ...property.displayOptions?.show },
			...(displayOptions.hide || property.displayOptions?.hide
				? { hide: { ...displayOptions.hide, ...property.displayOptions?.hide } }
				: {}),
		},
	}));
}

/** Output items for one input item, each paired with it. */
export function toOutput(
	context: IExecuteFunctions,
	itemIndex: number,
	data: IDataObject | IDataObject[],
): INodeExecutionData[] {
	return context.helpers.constructExecutionMetaData(context.helpers.returnJsonArray(data), {
		itemData: { item: itemIndex },
	});
}

/** The Return All / Limit pair every Get Many operation starts with. */
export const returnAllOrLimit: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		default: 50,
		typeOptions: { minValue: 1 },
		description: 'Max number of results to return',
		displayOptions: { show: { returnAll: [false] } },
	},
];

/** The item's limit, or undefined for Return All. */
export function readLimit(context: IExecuteFunctions, itemIndex: number): number | undefined {
	const returnAll = context.getNodeParameter('returnAll', itemIndex, false) as boolean;
	return returnAll ? undefined : (context.getNodeParameter('limit', itemIndex, 50) as number);
}

/** The item's limit as readLimit reads it, refused unless a whole number of 1 or more (a number as text counts). */
export function readCheckedLimit(context: IExecuteFunctions, itemIndex: number): number | undefined {
	const requested = readLimit(context, itemIndex);
	const limit = requested === undefined ? undefined : Number(requested);
	if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
		throw new InvalidInputError(`Limit "${requested}" is not valid. Enter a whole number of 1 or more.`);
	}
	return limit;
}

export interface GetManySpec {
	resource: string;
	/** The Filters collection, shown after Return All / Limit. */
	filters: INodeProperties;
	/** The `$filter` of the chosen filters (undefined: none); throws on a bad one, before any request. */
	filter(filters: IDataObject): string | undefined;
	/** Up to `limit` rows (undefined: all) matching `filter`. */
	list(transport: TransportContext, filter: string | undefined, limit: number | undefined): Promise<IDataObject[]>;
	/** Refuse a bad Limit before any request (readCheckedLimit) instead of passing it on. */
	checkLimit?: boolean;
}

/** A Get Many operation: Return All / Limit and Filters; the limit and the `$filter` are read first, then the list. */
export function getManyOperation(spec: GetManySpec): Operation {
	return {
		description: updateDisplayOptions({ show: { resource: [spec.resource], operation: ['getAll'] } }, [
			...returnAllOrLimit,
			spec.filters,
		]),
		async execute(this: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<INodeExecutionData[]> {
			const limit = spec.checkLimit ? readCheckedLimit(this, itemIndex) : readLimit(this, itemIndex);
			const filter = spec.filter(this.getNodeParameter('filters', itemIndex, {}) as IDataObject);
			return toOutput(this, itemIndex, await spec.list(transport, filter, limit));
		},
	};
}
