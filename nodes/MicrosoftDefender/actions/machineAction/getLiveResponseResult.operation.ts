/**
 * Machine Action › Get Live Response Result: the result of one command of a live response session, fetched later
 * (MicrosoftDocs/defender-docs defender-endpoint/api/get-live-response-result.md): the command's entry with the
 * RunScript transcript as fields, or the GetFile file as binary data, as Machine › Run Live Response outputs it.
 * The download link lives 30 minutes; an expired one is asked for again (helpers/liveResponse.ts).
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { fetchCommandResult, ResultDownloadError, type LiveResponseCommandEntry } from '../../helpers/liveResponse';
import { getMachineAction } from '../../helpers/machineActions';
import { validateGuid } from '../../helpers/validation';
import { InvalidInputError, type TransportContext } from '../../transport';
import { updateDisplayOptions } from '../utils';
import { machineActionIdProperty } from './shared';

const properties: INodeProperties[] = [
	{
		...machineActionIdProperty,
		description: 'ID of a Live Response machine action (from Machine → Run Live Response)',
	},
	{
		displayName: 'Command Index',
		name: 'commandIndex',
		type: 'number',
		default: 0,
		required: true,
		typeOptions: { minValue: 0, numberPrecision: 0 },
		description:
			'Position of the command in the session, from 0 (the "index" of the action\'s commands). Run Script and Get File commands have results; Put File has none.',
	},
	{
		displayName: 'Put Output File in Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the output binary field for the file of a Get File command',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['machineAction'], operation: ['getLiveResponseResult'] } },
	properties,
);

function readIndex(value: unknown): number {
	const index = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
		throw new InvalidInputError(`Command Index ${JSON.stringify(value)} is not a command index (0, 1, 2, …).`);
	}
	return index;
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const id = validateGuid(this.getNodeParameter('machineActionId', itemIndex), 'Machine Action ID');
	const index = readIndex(this.getNodeParameter('commandIndex', itemIndex));
	const binaryPropertyName = String(this.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim();
	if (!binaryPropertyName) {
		throw new InvalidInputError('Put Output File in Field is empty. Enter a field name such as data.');
	}

	// The action says what the command was (JSON transcript or file) and whether it completed.
	const action = await getMachineAction(transport, id);
	const fail = (message: string, description?: string) =>
		new NodeOperationError(this.getNode(), message, { itemIndex, description });
	if (action.type !== 'LiveResponse') {
		throw fail(`Machine action ${id} is a ${String(action.type)} action, not a live response session`, 'Live response results exist only for actions of type LiveResponse (Machine → Run Live Response).');
	}
	const entries = (Array.isArray(action.commands) ? action.commands : []) as LiveResponseCommandEntry[];
	// Entries carry their index; one without (not documented) counts by position.
	const entry = entries.find((e) => Number(e?.index) === index) ?? (entries[index] && entries[index].index === undefined ? entries[index] : undefined);
	if (!entry) {
		throw fail(
			`Live response action ${id} has no command with index ${index}`,
			`It has ${entries.length} command${entries.length === 1 ? '' : 's'}${entries.length ? `, index 0 to ${entries.length - 1}` : ''}.`,
		);
	}
	const type = String(entry.command?.type ?? '');
	if (type === 'PutFile') {
		throw fail(`Command ${index} of live response action ${id} is a PutFile command, which has no result`, 'Only Run Script and Get File commands have results.');
	}
	if (entry.commandStatus !== 'Completed') {
		throw fail(
			`Command ${index} (${type}) of live response action ${id} is ${String(entry.commandStatus)}, not Completed: it has no result${entry.commandStatus === 'Created' && ['Pending', 'InProgress'].includes(action.status) ? ' yet' : ''}`,
			[
				`The session is ${action.status}.`,
				Array.isArray(entry.errors) && entry.errors.length ? `Errors: ${entry.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ')}.` : undefined,
			]
				.filter(Boolean)
				.join(' '),
		);
	}

	let result;
	try {
		result = await fetchCommandResult(this, transport, id, { ...entry, index }, binaryPropertyName);
	} catch (error) {
		if (error instanceof ResultDownloadError) {
			throw fail(error.message, 'The download link is valid 30 minutes; each run asks for a fresh one. Run the node again.');
		}
		throw error;
	}
	const json: IDataObject = { machineActionId: id, ...entry, ...result?.json };
	const item: INodeExecutionData = { json, pairedItem: { item: itemIndex } };
	if (result?.binary) item.binary = { [binaryPropertyName]: result.binary };
	return [item];
}
