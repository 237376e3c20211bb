/**
 * The one implementation behind every machine response action (isolate, release, scan, restrict, unrestrict,
 * collect investigation package, stop and quarantine file, offboard): parameters, duplicate guard, submission,
 * and the optional wait for completion.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	ActionAlreadyRunningError,
	cancelMachineAction,
	findActiveActions,
	FINAL_STATUSES,
	submitMachineAction,
	waitForMachineAction,
	type MachineAction,
	type MachineActionType,
} from '../../helpers/machineActions';
import { requireText } from '../../helpers/validation';
import type { TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions, type Operation } from '../utils';
import { commentProperty, machineLocator, resolveMachine } from './shared';

export interface ResponseActionSpec {
	/** Operation value, e.g. `isolate`. */
	operation: string;
	type: MachineActionType;
	/** Last path segment: POST /api/machines/{id}/<endpoint>. */
	endpoint: string;
	/** Operation-specific parameters, shown after Machine and Comment. */
	properties?: INodeProperties[];
	/** Operation-specific body fields (PascalCase) and, for file actions, the SHA-1 the duplicate check matches. */
	body?: (context: IExecuteFunctions, itemIndex: number) => { fields: IDataObject; sha1?: string };
	/** Shown above the parameters for actions that disrupt the machine or its user. */
	destructiveNotice?: string;
	/**
	 * The action this one undoes (Release → Isolate, Remove Restriction → Restrict). If that action is still
	 * pending, it would take effect after this one and leave the machine isolated or restricted
	 * (MicrosoftDocs/microsoft-365-docs#5903, #5993), so it is checked first.
	 */
	undoes?: { type: MachineActionType; label: string };
}

const DEFAULT_TIMEOUT_SECONDS = 600;
const DEFAULT_POLL_SECONDS = 10;

function commonProperties(spec: ResponseActionSpec): INodeProperties[] {
	return [
		...(spec.destructiveNotice
			? [
					{
						displayName: spec.destructiveNotice,
						name: 'destructiveNotice',
						type: 'notice',
						default: '',
					} satisfies INodeProperties,
				]
			: []),
		machineLocator,
		commentProperty,
		...(spec.properties ?? []),
		{
			displayName: 'Wait for Completion',
			name: 'waitForCompletion',
			type: 'boolean',
			default: true,
			description:
				'Whether to wait until Defender reports the action as Succeeded, Failed, TimeOut or Cancelled and output the final machine action. When off, the node outputs the action as submitted (usually Pending).',
		},
		{
			displayName: 'Options',
			name: 'options',
			type: 'collection',
			placeholder: 'Add option',
			default: {},
			options: [
				...(spec.undoes ? [undoOption(spec.undoes)] : []),
				{
					displayName: 'If the Action Is Already Running',
					name: 'ifAlreadyRunning',
					type: 'options',
					default: 'reuse',
					description:
						'What to do when an action of this type is already Pending or InProgress on the machine. A second request is never submitted.',
					options: [
						{
							name: 'Return the Running Action',
							value: 'reuse',
							description: 'Output the running action, with reusedExistingAction set to true',
						},
						{
							name: 'Fail',
							value: 'error',
							description: 'Fail the item, naming the running action',
						},
					],
				},
				{
					displayName: 'Output Unsuccessful Actions',
					name: 'outputUnsuccessful',
					type: 'boolean',
					default: false,
					description:
						'Whether to output an action that ended Failed, TimeOut or Cancelled, or was still running when the wait timed out (then with waitTimedOut set to true), instead of failing the item',
				},
				{
					displayName: 'Poll Interval (Seconds)',
					name: 'pollInterval',
					type: 'number',
					default: DEFAULT_POLL_SECONDS,
					typeOptions: { minValue: 0.1, numberPrecision: 1 },
					description: 'How often to check the action status while waiting',
					displayOptions: { show: { '/waitForCompletion': [true] } },
				},
				{
					displayName: 'Wait Timeout (Seconds)',
					name: 'waitTimeout',
					type: 'number',
					default: DEFAULT_TIMEOUT_SECONDS,
					typeOptions: { minValue: 1 },
					description:
						'How long to wait for the action to finish. The action keeps running in Defender after a timeout.',
					displayOptions: { show: { '/waitForCompletion': [true] } },
				},
			],
		},
	];
}

function undoOption(undoes: NonNullable<ResponseActionSpec['undoes']>): INodeProperties {
	return {
		displayName: `If ${undoes.label} Is Still Pending`,
		name: 'ifUndoneActionPending',
		type: 'options',
		default: 'error',
		description: `A pending ${undoes.label.toLowerCase()} request would take effect after this one and leave the machine ${undoes.label === 'Isolation' ? 'isolated' : 'restricted'}`,
		options: [
			{
				name: 'Fail',
				value: 'error',
				description: `Fail the item, naming the pending ${undoes.label.toLowerCase()} action`,
			},
			{
				name: `Cancel the ${undoes.label} First`,
				value: 'cancel',
				description: `Cancel the pending ${undoes.label.toLowerCase()} action, then submit this one`,
			},
			{
				name: 'Submit Anyway',
				value: 'ignore',
			},
		],
	};
}

/** Per execution: results of actions already submitted for a machine, so items repeating them don't post again. */
const submittedThisRun = new WeakMap<object, Map<string, IDataObject>>();

function describeAction(action: MachineAction): string {
	const host = action.computerDnsName ? ` on ${String(action.computerDnsName)}` : ` on machine ${action.machineId}`;
	return `Machine action ${action.id} (${action.type}${host})`;
}

export function responseAction(spec: ResponseActionSpec): Operation {
	const description = updateDisplayOptions(
		{ show: { resource: ['machine'], operation: [spec.operation] } },
		commonProperties(spec),
	);

	async function execute(
		this: IExecuteFunctions,
		itemIndex: number,
		transport: TransportContext,
	): Promise<INodeExecutionData[]> {
		const comment = requireText(this.getNodeParameter('comment', itemIndex), 'Comment');
		const extra = spec.body?.(this, itemIndex) ?? { fields: {} };
		const waitForCompletion = this.getNodeParameter('waitForCompletion', itemIndex, true) as boolean;
		const options = this.getNodeParameter('options', itemIndex, {}) as {
			ifAlreadyRunning?: 'reuse' | 'error';
			ifUndoneActionPending?: 'error' | 'cancel' | 'ignore';
			outputUnsuccessful?: boolean;
			pollInterval?: number;
			waitTimeout?: number;
		};
		const pollIntervalMs = Math.max(100, (options.pollInterval ?? DEFAULT_POLL_SECONDS) * 1000);
		const timeoutMs = Math.max(0, (options.waitTimeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
		const ifAlreadyRunning = options.ifAlreadyRunning ?? 'reuse';
		const { id: machineId } = await resolveMachine(this, itemIndex, transport);

		let memo = submittedThisRun.get(this);
		if (!memo) {
			memo = new Map();
			submittedThisRun.set(this, memo);
		}
		const memoKey = `${machineId.toLowerCase()}|${spec.type}|${extra.sha1 ?? ''}|${waitForCompletion}`;
		const earlier = memo.get(memoKey);
		if (earlier) {
			if (ifAlreadyRunning === 'error' && !FINAL_STATUSES.includes(String(earlier.status))) {
				throw new ActionAlreadyRunningError(earlier as MachineAction);
			}
			return toOutput(this, itemIndex, { ...earlier, reusedExistingAction: true });
		}

		const cancelledActions: string[] = [];
		if (spec.undoes && (options.ifUndoneActionPending ?? 'error') !== 'ignore') {
			const pending = await findActiveActions(transport, machineId, spec.undoes.type);
			for (const undone of pending) {
				if ((options.ifUndoneActionPending ?? 'error') === 'error') {
					throw new NodeOperationError(
						this.getNode(),
						`${describeAction(undone)} is still ${undone.status}; ${spec.type} was not submitted`,
						{
							itemIndex,
							description: `Submitted now, the pending ${spec.undoes.type} would take effect afterwards. Cancel it with Machine Action → Cancel (ID ${undone.id}), or set "If ${spec.undoes.label} Is Still Pending" to cancel it first.`,
						},
					);
				}
				await cancelMachineAction(transport, undone.id, `Cancelled before ${spec.type}: ${comment}`);
				cancelledActions.push(undone.id);
			}
		}

		let submitted;
		try {
			submitted = await submitMachineAction(transport, {
				machineId,
				type: spec.type,
				endpoint: spec.endpoint,
				body: { Comment: comment, ...extra.fields },
				sha1: extra.sha1,
				ifAlreadyRunning,
			});
		} catch (error) {
			if (error instanceof ActionAlreadyRunningError) {
				throw new NodeOperationError(this.getNode(), error.message, {
					itemIndex,
					description:
						'Follow the running action up with Machine Action → Get, or cancel it with Machine Action → Cancel.',
				});
			}
			throw error;
		}

		let action = submitted.action;
		const output: IDataObject = {};
		if (waitForCompletion) {
			const result = await waitForMachineAction(transport, action, {
				timeoutMs,
				pollIntervalMs,
				signal: this.getExecutionCancelSignal?.(),
			});
			action = result.action;
			if (result.aborted) {
				throw new NodeOperationError(
					this.getNode(),
					`Stopped waiting for ${describeAction(action)}: the execution was cancelled. The action keeps running in Defender.`,
					{ itemIndex },
				);
			}
			if (result.timedOut) {
				if (!options.outputUnsuccessful) {
					throw new NodeOperationError(
						this.getNode(),
						`${describeAction(action)} is still ${action.status} after waiting ${timeoutMs / 1000} s`,
						{
							itemIndex,
							description: `The action keeps running in Defender. Follow it up with Machine Action → Get using ID ${action.id}, or cancel it with Machine Action → Cancel. Raise "Wait Timeout" to wait longer.`,
						},
					);
				}
				output.waitTimedOut = true;
			} else if (action.status !== 'Succeeded' && !options.outputUnsuccessful) {
				throw new NodeOperationError(this.getNode(), `${describeAction(action)} ended with status ${action.status}`, {
					itemIndex,
					description: [
						action.status === 'Cancelled' && action.cancellationComment
							? `Cancelled by ${String(action.cancellationRequestor ?? 'unknown')}: ${String(action.cancellationComment)}`
							: undefined,
						action.troubleshootInfo ? `Troubleshooting info: ${String(action.troubleshootInfo)}` : undefined,
						'Turn on "Output Unsuccessful Actions" to output the action instead of failing.',
					]
						.filter(Boolean)
						.join(' '),
				});
			}
		}

		if (cancelledActions.length) output.cancelledActionIds = cancelledActions;
		const json: IDataObject = { ...action, reusedExistingAction: submitted.reusedExistingAction, ...output };
		memo.set(memoKey, json);
		return toOutput(this, itemIndex, json);
	}

	return { description, execute };
}
