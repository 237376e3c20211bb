/**
 * Builders for the TVM operations that share one shape: read a list below an entity (a vulnerability's machines, a
 * software's machines or vulnerabilities, a machine's vulnerabilities, software, missing KBs or recommendations),
 * with Return All / Limit. One definition each, so every such operation validates, pages and reports a 403 alike.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { TransportContext } from '../transport';
import { pathId } from '../transport';
import { readLimit, returnAllOrLimit, toOutput, updateDisplayOptions, type Operation } from '../actions/utils';
import { readCollection, type TvmPermission } from './tvm';

export interface SubCollectionSpec {
	resource: string;
	operation: string;
	/** The parameter naming the entity (a string ID field, or the machine locator). */
	entity: INodeProperties;
	/** The entity's ID for the item, validated before any request (may look a machine up by name). */
	resolve(context: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<string>;
	/** The list's path for a (validated) ID, e.g. `/api/vulnerabilities/CVE-2024-1/machineReferences`. */
	path(id: string): string;
	permission: TvmPermission;
	/** What is read, for a 403 (`Listing the machines of a vulnerability`). */
	what: string;
	/** Added to a 404 (`no such vulnerability in Defender`). */
	notFound: (id: string) => string;
}

/** An operation reading one sub-collection with Return All / Limit. */
export function subCollectionOperation(spec: SubCollectionSpec): Operation {
	const description = updateDisplayOptions({ show: { resource: [spec.resource], operation: [spec.operation] } }, [
		spec.entity,
		...returnAllOrLimit,
	]);
	return {
		description,
		async execute(this: IExecuteFunctions, itemIndex: number, transport: TransportContext): Promise<INodeExecutionData[]> {
			const limit = readLimit(this, itemIndex);
			const id = await spec.resolve(this, itemIndex, transport);
			const rows = await readCollection(transport, spec.path(id), {
				limit,
				permission: spec.permission,
				what: spec.what,
				notFound: spec.notFound(id),
			});
			return toOutput(this, itemIndex, rows as IDataObject[]);
		},
	};
}

/** A required text parameter holding an ID (CVE, software or recommendation). */
export function idProperty(displayName: string, name: string, placeholder: string, description: string): INodeProperties {
	return { displayName, name, type: 'string', required: true, default: '', placeholder, description };
}

/** Encodes a validated ID for a path. */
export const segment = (id: string, field: string): string => pathId(id, field);
