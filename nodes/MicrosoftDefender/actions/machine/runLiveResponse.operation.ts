/**
 * Machine › Run Live Response: runs library scripts and collects files on a machine through
 * `POST /api/machines/{id}/runliveresponse` (MicrosoftDocs/defender-docs defender-endpoint/api/run-live-response.md),
 * waits for the session, and outputs each command's result (get-live-response-result.md). See
 * helpers/liveResponse.ts for the API facts.
 *
 * One session per machine: Defender refuses a second one with 400 ActiveRequestAlreadyExists. A request for a
 * machine with a session open either waits for that session to end (default; within Wait Timeout) and then runs,
 * or fails naming the open action. An open session is never taken for this request's: it runs other commands.
 */
import type { IBinaryKeyData, IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, sleep } from 'n8n-workflow';

import {
	buildCommands,
	fetchCommandResult,
	LIVE_RESPONSE_PERMISSION,
	ResultDownloadError,
	sameCommands,
	withPermissionHint,
	type LiveResponseCommand,
	type LiveResponseCommandEntry,
} from '../../helpers/liveResponse';
import {
	findActions,
	findActiveActions,
	FINAL_STATUSES,
	isAlreadyRunningError,
	waitForMachineAction,
	type MachineAction,
} from '../../helpers/machineActions';
import { notBefore } from '../../helpers/readBack';
import { requireText } from '../../helpers/validation';
import { InvalidInputError, pathId, sendDefenderRequest, type TransportContext } from '../../transport';
import { updateDisplayOptions } from '../utils';
import { commentProperty, machineLocator, resolveMachine } from './shared';

/** RunScript alone may run 10 minutes (run-live-response.md), so the default wait is longer than other actions'. */
const DEFAULT_TIMEOUT_SECONDS = 900;
const DEFAULT_POLL_SECONDS = 10;
/**
 * Between two POSTs refused with ActiveRequestAlreadyExists for a session the machine actions API does not list
 * (one started from the device page in the portal: run-live-response.md, "Live response actions initiated from
 * the Device page aren't available in the machineactions API"): at least 6 s, the API's 10 calls a minute.
 */
const MIN_REPOST_INTERVAL_MS = 6_000;

const properties: INodeProperties[] = [
	{
		displayName:
			'Remote execution: runs scripts from the live response library on the machine and copies files to and from it. Consider a human approval step before this node in agent workflows.',
		name: 'destructiveNotice',
		type: 'notice',
		default: '',
	},
	machineLocator,
	{
		displayName: 'Commands',
		name: 'commands',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add command',
		required: true,
		default: {},
		description:
			'Commands to run in one session, in this order: Put File commands, then Run Script, then Get File (as Defender requires; any number of each). A failed command stops the ones after it.',
		options: [
			{
				displayName: 'Command',
				name: 'command',
				values: [
					{
						displayName: 'Type',
						name: 'type',
						type: 'options',
						default: 'RunScript',
						options: [
							{
								name: 'Get File',
								value: 'GetFile',
								description: 'Collect a file from the machine; it is output as binary data (a zip)',
							},
							{
								name: 'Put File',
								value: 'PutFile',
								description: "Copy a file from the live response library to the machine's working folder",
							},
							{
								name: 'Run Script',
								value: 'RunScript',
								description: 'Run a script from the live response library on the machine (times out after 10 minutes)',
							},
						],
					},
					{
						displayName: 'File Name',
						name: 'fileName',
						type: 'string',
						default: '',
						placeholder: 'e.g. tool.exe',
						description: 'Name of the file in the live response library',
						displayOptions: { show: { type: ['PutFile'] } },
					},
					{
						displayName: 'Script Name',
						name: 'scriptName',
						type: 'string',
						default: '',
						placeholder: 'e.g. collect.ps1',
						description: 'Name of the script in the live response library',
						displayOptions: { show: { type: ['RunScript'] } },
					},
					{
						displayName: 'Arguments',
						name: 'args',
						type: 'string',
						default: '',
						placeholder: 'e.g. -ProcessName OfficeClickToRun',
						description: 'Arguments passed to the script (optional)',
						displayOptions: { show: { type: ['RunScript'] } },
					},
					{
						displayName: 'Path',
						name: 'path',
						type: 'string',
						default: '',
						placeholder: 'e.g. C:\\Windows\\Temp\\dump.zip',
						description: 'Full path of the file to collect, as it is (backslashes need no escaping)',
						displayOptions: { show: { type: ['GetFile'] } },
					},
				],
			},
		],
	},
	commentProperty,
	{
		displayName: 'Wait for Completion',
		name: 'waitForCompletion',
		type: 'boolean',
		default: true,
		description:
			"Whether to wait until the session ends and output each command's result (Run Script output as fields, Get File as binary data). When off, the node outputs the action as submitted (Pending); get the results later with Machine Action → Get Live Response Result.",
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'If a Session Is Open on the Machine',
				name: 'ifSessionOpen',
				type: 'options',
				default: 'wait',
				description:
					'Defender runs one live response session per machine at a time. A session that is already open is never taken for this one.',
				options: [
					{
						name: 'Wait for It, Then Run',
						value: 'wait',
						description: 'Wait (up to Wait Timeout) until the open session ends, then start this one',
					},
					{
						name: 'Fail',
						value: 'error',
						description: 'Fail the item, naming the open session',
					},
				],
			},
			{
				displayName: 'Output Unsuccessful Sessions',
				name: 'outputUnsuccessful',
				type: 'boolean',
				default: false,
				description:
					'Whether to output a session that ended Failed, TimeOut or Cancelled (with the results of the commands that completed), or was still running when the wait timed out (then with waitTimedOut set to true), instead of failing the item',
			},
			{
				displayName: 'Poll Interval (Seconds)',
				name: 'pollInterval',
				type: 'number',
				default: DEFAULT_POLL_SECONDS,
				typeOptions: { minValue: 0.1, numberPrecision: 1 },
				description: 'How often to check the session status while waiting',
			},
			{
				displayName: 'Put Output Files in Field',
				name: 'binaryPropertyName',
				type: 'string',
				default: 'data',
				description:
					'Binary field for the file of the first Get File command; the next ones get the same name with _1, _2, … (data, data_1, data_2). Each command in the output names its field.',
			},
			{
				displayName: 'Wait Timeout (Seconds)',
				name: 'waitTimeout',
				type: 'number',
				default: DEFAULT_TIMEOUT_SECONDS,
				typeOptions: { minValue: 1 },
				description:
					'How long to wait for this session to end, and, before it starts, for a session already open on the machine. The session keeps running in Defender after a timeout.',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['machine'], operation: ['runLiveResponse'] } },
	properties,
);

/** Per execution: the live response actions this node created, never taken for another item's. */
const createdThisRun = new WeakMap<object, Set<string>>();

function describeAction(action: MachineAction): string {
	const host = action.computerDnsName ? ` on ${String(action.computerDnsName)}` : ` on machine ${action.machineId}`;
	return `Live response action ${action.id}${host}`;
}

function sessionOpenError(context: IExecuteFunctions, itemIndex: number, open: MachineAction, why: string): NodeOperationError {
	return new NodeOperationError(
		context.getNode(),
		`A live response session is already ${open.status === 'InProgress' ? 'running' : 'pending'} on machine ${open.machineId} (machine action ID ${open.id}); ${why}`,
		{
			itemIndex,
			description:
				'Defender runs one live response session per machine. Follow the open one up with Machine Action → Get, cancel it with Machine Action → Cancel, or set "If a Session Is Open on the Machine" to wait for it.',
		},
	);
}

/** Binary field of the n-th GetFile command (0-based): data, data_1, data_2, … */
export function binaryFieldFor(base: string, ordinal: number): string {
	return ordinal === 0 ? base : `${base}_${ordinal}`;
}

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	// Everything the user entered is checked before the first request.
	const commands = buildCommands(this.getNodeParameter('commands', itemIndex, {}));
	const comment = requireText(this.getNodeParameter('comment', itemIndex), 'Comment');
	const waitForCompletion = this.getNodeParameter('waitForCompletion', itemIndex, true) as boolean;
	const options = this.getNodeParameter('options', itemIndex, {}) as {
		ifSessionOpen?: 'wait' | 'error';
		outputUnsuccessful?: boolean;
		pollInterval?: number;
		waitTimeout?: number;
		binaryPropertyName?: string;
	};
	const pollIntervalMs = Math.max(100, Number(options.pollInterval ?? DEFAULT_POLL_SECONDS) * 1000);
	const timeoutMs = Math.max(0, Number(options.waitTimeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
	if (!Number.isFinite(pollIntervalMs) || !Number.isFinite(timeoutMs)) {
		throw new InvalidInputError('Poll Interval and Wait Timeout must be numbers of seconds.');
	}
	const ifSessionOpen = options.ifSessionOpen ?? 'wait';
	const binaryBase = String(options.binaryPropertyName ?? 'data').trim();
	if (!binaryBase) throw new InvalidInputError('Put Output Files in Field is empty. Enter a field name such as data.');
	const { id: machineId } = await resolveMachine(this, itemIndex, transport);

	let created = createdThisRun.get(this);
	if (!created) {
		created = new Set();
		createdThisRun.set(this, created);
	}
	const signal = this.getExecutionCancelSignal?.();
	const { action: submitted, waitedFor } = await startSession(this, itemIndex, transport, {
		machineId,
		commands,
		comment,
		ifSessionOpen,
		timeoutMs,
		pollIntervalMs,
		created,
		signal,
	});
	created.add(submitted.id);

	let action = submitted;
	const extra: IDataObject = {};
	if (waitedFor.length) extra.waitedForActionIds = waitedFor;
	if (!waitForCompletion) return [{ json: { ...action, ...extra }, pairedItem: { item: itemIndex } }];

	const result = await waitForMachineAction(transport, action, { timeoutMs, pollIntervalMs, signal });
	action = result.action;
	if (result.aborted) {
		throw new NodeOperationError(
			this.getNode(),
			`Stopped waiting for ${describeAction(action)}: the execution was cancelled. The session keeps running in Defender.`,
			{ itemIndex },
		);
	}
	const entries = (Array.isArray(action.commands) ? action.commands : []) as LiveResponseCommandEntry[];
	const failed = entries.find((e) => e?.commandStatus === 'Failed');
	if (result.timedOut) {
		if (!options.outputUnsuccessful) {
			throw new NodeOperationError(
				this.getNode(),
				`${describeAction(action)} is still ${action.status} after waiting ${timeoutMs / 1000} s`,
				{
					itemIndex,
					description: `The session keeps running in Defender (an offline machine's session waits up to three days). Follow it up with Machine Action → Get using ID ${action.id} and fetch results with Machine Action → Get Live Response Result, or cancel it with Machine Action → Cancel. Raise "Wait Timeout" to wait longer.`,
				},
			);
		}
		extra.waitTimedOut = true;
	} else if (action.status !== 'Succeeded' && !options.outputUnsuccessful) {
		throw new NodeOperationError(this.getNode(), `${describeAction(action)} ended with status ${action.status}${failed ? `: ${describeFailure(failed, entries)}` : ''}`, {
			itemIndex,
			description: [
				action.status === 'Cancelled' && action.cancellationComment
					? `Cancelled by ${String(action.cancellationRequestor ?? 'unknown')}: ${String(action.cancellationComment)}.`
					: undefined,
				action.troubleshootInfo ? `Troubleshooting info: ${String(action.troubleshootInfo)}.` : undefined,
				entries.some((e) => e?.commandStatus === 'Completed')
					? `Results of the commands that completed: Machine Action → Get Live Response Result with ID ${action.id}.`
					: undefined,
				'Turn on "Output Unsuccessful Sessions" to output the session instead of failing.',
			]
				.filter(Boolean)
				.join(' '),
		});
	}

	// Results of every command that completed; GetFile files numbered over all GetFile commands, so the n-th
	// GetFile always lands in the same field whether or not the ones before it completed.
	const binary: IBinaryKeyData = {};
	const finished = FINAL_STATUSES.includes(action.status);
	let getFiles = 0;
	const outputCommands: IDataObject[] = [];
	for (const entry of entries) {
		const out: IDataObject = { ...entry };
		const field = entry?.command?.type === 'GetFile' ? binaryFieldFor(binaryBase, getFiles++) : undefined;
		if (entry?.commandStatus === 'Completed') {
			try {
				const fetched = await fetchCommandResult(this, transport, action.id, entry, field ?? binaryBase);
				if (fetched) {
					Object.assign(out, fetched.json);
					if (fetched.binary && field) binary[field] = fetched.binary;
				}
			} catch (error) {
				if (!(error instanceof ResultDownloadError)) throw error;
				throw new NodeOperationError(this.getNode(), error.message, {
					itemIndex,
					description: `The session itself ${action.status === 'Succeeded' ? 'succeeded' : `ended ${action.status}`}. Fetch the result again with Machine Action → Get Live Response Result (ID ${action.id}, index ${String(entry.index)}).`,
				});
			}
		} else if (finished && failed && entry?.commandStatus === 'Created') {
			// "When a live response command fails all the subsequent actions won't be executed."
			out.notRun = true;
		}
		outputCommands.push(out);
	}
	if (failed) extra.failedCommandIndex = failed.index;

	const json: IDataObject = { ...action, commands: outputCommands, ...extra };
	const item: INodeExecutionData = { json, pairedItem: { item: itemIndex } };
	if (Object.keys(binary).length) item.binary = binary;
	return [item];
}

function describeFailure(failed: LiveResponseCommandEntry, entries: LiveResponseCommandEntry[]): string {
	const params = failed.command?.params ?? [];
	const target = params.find((p) => ['ScriptName', 'FileName', 'Path'].includes(p?.key))?.value;
	const errors = Array.isArray(failed.errors)
		? failed.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)).replace(/\.\s*$/, '')).join('; ')
		: '';
	const after = entries.filter((e) => Number(e.index) > Number(failed.index)).map((e) => e.index);
	return [
		`command ${String(failed.index)} (${String(failed.command?.type)}${target ? ` ${target}` : ''}) failed${errors ? `: ${errors}` : ''}`,
		after.length ? `; command${after.length > 1 ? 's' : ''} ${after.join(', ')} did not run` : '',
	].join('');
}

interface SessionRequest {
	machineId: string;
	commands: LiveResponseCommand[];
	comment: string;
	ifSessionOpen: 'wait' | 'error';
	timeoutMs: number;
	pollIntervalMs: number;
	/** Actions this execution created: never this request's. */
	created: Set<string>;
	signal?: AbortSignal;
}

/**
 * Starts the session: waits for (or refuses next to) a session open on the machine, then posts once. The POST
 * follows the write rule (transport `verify`): after an answer that was lost, the machine's LiveResponse actions
 * with this comment and these commands, created since the request and not seen open before it, are read back; one
 * found is this request's, none means sending again is safe (and should it show up late, Defender refuses the
 * second session with ActiveRequestAlreadyExists, resolved below to that action).
 */
async function startSession(
	context: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
	request: SessionRequest,
): Promise<{ action: MachineAction; waitedFor: string[] }> {
	const { machineId, commands, comment } = request;
	const deadline = Date.now() + request.timeoutMs;
	const waitedFor: string[] = [];
	/** Sessions seen open before posting: someone else's. */
	const seenOpen = new Set<string>();
	/** When an attempt of the POST was sent whose answer was lost (its effect may show up later). */
	let unclearSince: Date | undefined;
	const ours = (a: MachineAction, sentAt: Date) =>
		a.requestorComment === comment &&
		notBefore(a.creationDateTimeUtc, sentAt) &&
		!seenOpen.has(a.id) &&
		!request.created.has(a.id) &&
		sameCommands(a, commands);

	for (;;) {
		const open = await findActiveActions(transport, machineId, 'LiveResponse');
		if (open.length) {
			for (const session of open) seenOpen.add(session.id);
			if (request.ifSessionOpen === 'error') throw sessionOpenError(context, itemIndex, open[0], 'this session was not started.');
			for (const session of open) {
				if (!waitedFor.includes(session.id)) waitedFor.push(session.id);
				const result = await waitForMachineAction(transport, session, {
					timeoutMs: Math.max(0, deadline - Date.now()),
					pollIntervalMs: request.pollIntervalMs,
					signal: request.signal,
				});
				if (result.aborted) {
					throw new NodeOperationError(
						context.getNode(),
						`Stopped waiting for the open live response session ${session.id} on machine ${machineId}: the execution was cancelled. This session was not started.`,
						{ itemIndex },
					);
				}
				if (result.timedOut) {
					throw sessionOpenError(
						context,
						itemIndex,
						result.action,
						`it did not end within the wait timeout of ${request.timeoutMs / 1000} s, so this session was not started.`,
					);
				}
			}
			continue;
		}

		try {
			const response = await sendDefenderRequest(transport, {
				method: 'POST',
				path: `/api/machines/${pathId(machineId, 'Machine ID')}/runliveresponse`,
				body: { Commands: commands as unknown as IDataObject[], Comment: comment },
				verify: async ({ sentAt }) => {
					unclearSince ??= sentAt;
					const mine = (await findActions(transport, machineId, 'LiveResponse')).filter((a) => ours(a, sentAt));
					return mine.length ? { outcome: 'applied', body: mine[0] } : 'notApplied';
				},
				effect: {
					action: `Run Live Response on machine ${machineId}`,
					check: `check the machine's live response actions (Machine Action → Get Many, machine ${machineId}, type Live Response)`,
				},
			});
			return { action: response.body as MachineAction, waitedFor };
		} catch (error) {
			if (!isAlreadyRunningError(error)) throw withPermissionHint(error, LIVE_RESPONSE_PERMISSION, 'Run Live Response');
			// ActiveRequestAlreadyExists: a session this node did not see. After an attempt whose answer was lost, it
			// may be this request's own first attempt.
			const active = await findActiveActions(transport, machineId, 'LiveResponse');
			const own = unclearSince ? active.find((a) => ours(a, unclearSince as Date)) : undefined;
			if (own) return { action: own, waitedFor };
			if (active.length) continue;
			// Not listed (started from the device page, which the machine actions API does not show): try again later.
			if (request.ifSessionOpen === 'error' || Date.now() + Math.max(request.pollIntervalMs, MIN_REPOST_INTERVAL_MS) > deadline) {
				throw new NodeOperationError(
					context.getNode(),
					`A live response session is already open on machine ${machineId} (Defender answered ActiveRequestAlreadyExists); this session was not started.`,
					{
						itemIndex,
						description:
							'The open session is not listed by the machine actions API, so it was probably started from the device page in the Microsoft Defender portal. End it there, then run this again.',
					},
				);
			}
			if (request.signal?.aborted) {
				throw new NodeOperationError(context.getNode(), 'The execution was cancelled before the live response session started.', {
					itemIndex,
				});
			}
			await sleep(Math.max(request.pollIntervalMs, MIN_REPOST_INTERVAL_MS));
		}
	}
}
