import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	DEFAULT_MAX_WAIT_SECONDS,
	loadCredentials,
	MAX_WAIT_OPTION,
	n8nSender,
	toNodeError,
	type TransportContext,
} from '../transport';
import * as advancedHunting from './advancedHunting';
import * as alert from './alert';
import * as domain from './domain';
import * as file from './file';
import * as incident from './incident';
import * as indicator from './indicator';
import * as investigation from './investigation';
import * as ip from './ip';
import * as liveResponseLibrary from './liveResponseLibrary';
import * as machine from './machine';
import * as machineAction from './machineAction';
import * as recommendation from './recommendation';
import * as software from './software';
import * as vulnerability from './vulnerability';
import * as user from './user';
import type { Operation } from './utils';

const resources: Record<string, Record<string, Operation>> = {
	alert: alert.operations,
	incident: incident.operations,
	machine: machine.operations,
	machineAction: machineAction.operations,
	indicator: indicator.operations,
	liveResponseLibrary: liveResponseLibrary.operations,
	advancedHunting: advancedHunting.operations,
	file: file.operations,
	ip: ip.operations,
	domain: domain.operations,
	user: user.operations,
	investigation: investigation.operations,
	vulnerability: vulnerability.operations,
	software: software.operations,
	recommendation: recommendation.operations,
};

/** Request Options › Max Wait for Throttling, read once per execution (from the first item), in ms. */
function readMaxWaitMs(context: IExecuteFunctions): number {
	const options = context.getNodeParameter('requestOptions', 0, {}) as { maxWaitSeconds?: unknown };
	const value = options.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
	const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
		throw new NodeOperationError(
			context.getNode(),
			`${MAX_WAIT_OPTION} must be a number of seconds, 0 or more; got ${JSON.stringify(value)}.`,
		);
	}
	return seconds * 1000;
}

/** Runs the chosen operation once per input item; a failed item becomes an error item with Continue On Fail. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const handler = resources[resource]?.[operation];
	if (!handler) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported.`);
	}

	let transport: TransportContext;
	try {
		transport = { credentials: await loadCredentials(this), send: n8nSender(this), maxWaitMs: readMaxWaitMs(this) };
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}

	const returnData: INodeExecutionData[] = [];
	const calls = handler.wholeInput ? Math.min(1, items.length) : items.length;
	for (let itemIndex = 0; itemIndex < calls; itemIndex++) {
		try {
			returnData.push(...(await handler.execute.call(this, itemIndex, transport)));
		} catch (error) {
			const nodeError = toNodeError(this.getNode(), error, itemIndex);
			if (!this.continueOnFail()) throw nodeError;
			const json: IDataObject = { error: nodeError.message };
			const description = (nodeError as { description?: string }).description;
			if (description) json.errorDescription = description;
			const httpCode = (nodeError as { httpCode?: string | null }).httpCode;
			if (httpCode) json.httpCode = httpCode;
			returnData.push({ json, pairedItem: { item: itemIndex } });
		}
	}
	return [returnData];
}
