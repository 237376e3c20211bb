/**
 * Investigation › Start: `POST /api/machines/{id}/startInvestigation` (initiate-autoir-investigation), never
 * starting two for one request.
 *
 * - Before posting, the machine's investigations are read (`$filter=machineId eq '…'`). One still Queued, Running,
 *   PendingApproval or PendingResource is returned instead of starting another (or fails the item, or is ignored,
 *   per "If an Investigation Is Already Running"), as the response actions reuse a pending machine action.
 * - Items of one execution naming the same machine start one investigation; the later items output it again.
 * - A lost answer (timeout, dropped connection, HTTP 500/502/504) is settled by reading the machine's
 *   investigations again: one that was not there before and started since the request (give or take the clock
 *   skew) is taken as this request's and returned; none means it did not start, so the request is sent again.
 *   The investigation entity has no requestor or comment to match on, so an investigation that an alert started on
 *   the same machine in that window would be taken for ours (and no second one started): the machine is under
 *   investigation either way.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { notBefore } from '../../helpers/readBack';
import { requireText } from '../../helpers/validation';
import { pathId, sendDefenderRequest, type TransportContext } from '../../transport';
import { bodyOr } from '../alert/common';
import { commentProperty, machineLocator, resolveMachine } from '../machine/shared';
import { toOutput, updateDisplayOptions } from '../utils';
import { ACTIVE_STATES, machineInvestigations, START_CALL, withPermission } from './common';

const properties: INodeProperties[] = [
	machineLocator,
	commentProperty,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'If an Investigation Is Already Running',
				name: 'ifAlreadyRunning',
				type: 'options',
				default: 'reuse',
				description:
					'What to do when an investigation of the machine is still Queued, Running, Pending Approval or Pending Resource',
				options: [
					{
						name: 'Return the Running Investigation',
						value: 'reuse',
						description: 'Output it, with reusedExistingInvestigation set to true; none is started',
					},
					{
						name: 'Fail',
						value: 'error',
						description: 'Fail the item, naming the running investigation',
					},
					{
						name: 'Start Another',
						value: 'start',
						description: 'Start a new investigation anyway',
					},
				],
			},
		],
	},
];

export const description = updateDisplayOptions({ show: { resource: ['investigation'], operation: ['start'] } }, properties);

/** Per execution: the investigation each machine got, so items naming the same machine start one. */
const startedThisRun = new WeakMap<object, Map<string, IDataObject>>();

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const comment = requireText(this.getNodeParameter('comment', itemIndex), 'Comment');
	const { ifAlreadyRunning = 'reuse' } = this.getNodeParameter('options', itemIndex, {}) as {
		ifAlreadyRunning?: 'reuse' | 'error' | 'start';
	};
	const { id: machineId } = await resolveMachine(this, itemIndex, transport);

	let memo = startedThisRun.get(this);
	if (!memo) {
		memo = new Map();
		startedThisRun.set(this, memo);
	}
	const earlier = memo.get(machineId.toLowerCase());
	if (earlier) return toOutput(this, itemIndex, { ...earlier, reusedExistingInvestigation: true });

	const before = await machineInvestigations(transport, machineId);
	if (ifAlreadyRunning !== 'start') {
		const running = before.find((i) => ACTIVE_STATES.includes(String(i.state)));
		if (running) {
			if (ifAlreadyRunning === 'error') {
				throw new NodeOperationError(
					this.getNode(),
					`Automated investigation ${String(running.id)} of machine ${machineId} is still ${String(running.state)}; no investigation was started`,
					{
						itemIndex,
						description:
							'Follow it up with Investigation › Get, or set "If an Investigation Is Already Running" to return it or to start another.',
					},
				);
			}
			const json = { ...running, reusedExistingInvestigation: true };
			memo.set(machineId.toLowerCase(), json);
			return toOutput(this, itemIndex, json);
		}
	}

	const known = new Set(before.map((i) => String(i.id)));
	const response = await withPermission(START_CALL, async () =>
		await sendDefenderRequest(transport, {
			method: 'POST',
			path: `/api/machines/${pathId(machineId, 'Machine ID')}/startInvestigation`,
			body: { Comment: comment },
			// Read back after a lost answer: an investigation of this machine that was not there before and started
			// since the request is this one; none → it did not start, and sending it again is safe.
			verify: async ({ sentAt }) => {
				const ours = (await machineInvestigations(transport, machineId)).filter(
					(i) => !known.has(String(i.id)) && notBefore(i.startTime, sentAt),
				);
				return ours.length ? { outcome: 'applied', body: ours[0] } : 'notApplied';
			},
			effect: {
				action: `Start automated investigation on machine ${machineId}`,
				check: `check the machine's investigations (Investigation › Get Many, Machine ID ${machineId})`,
			},
		}),
	);
	const json = { ...bodyOr(response.body, {}), reusedExistingInvestigation: false };
	memo.set(machineId.toLowerCase(), json);
	return toOutput(this, itemIndex, json);
}
