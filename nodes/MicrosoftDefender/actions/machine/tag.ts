import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { requireText } from '../../helpers/validation';
import { pathId, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions, type Operation } from '../utils';
import { getMachine, machineLocator, resolveMachine } from './shared';

/** Add Tag / Remove Tag: POST /api/machines/{id}/tags {"Value", "Action": "Add"|"Remove"} → the machine. */
export function tagOperation(operation: 'addTag' | 'removeTag'): Operation {
	const properties: INodeProperties[] = [
		machineLocator,
		{
			displayName: 'Tag',
			name: 'tag',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'e.g. Quarantined by SOC',
			description: operation === 'addTag' ? 'Tag to add to the machine' : 'Tag to remove from the machine',
		},
	];

	async function execute(
		this: IExecuteFunctions,
		itemIndex: number,
		transport: TransportContext,
	): Promise<INodeExecutionData[]> {
		const tag = requireText(this.getNodeParameter('tag', itemIndex), 'Tag');
		const { id } = await resolveMachine(this, itemIndex, transport);
		const adding = operation === 'addTag';
		const response = await sendDefenderRequest(transport, {
			method: 'POST',
			path: `/api/machines/${pathId(id, 'Machine ID')}/tags`,
			body: { Value: tag, Action: adding ? 'Add' : 'Remove' },
			// Read back: the tag there (Add) or gone (Remove) → applied, the machine as read; else sending it again is
			// safe (a machine's tags are a set: adding a tag it has, or removing one it lacks, changes nothing).
			verify: async () => {
				const machine = await getMachine(transport, id);
				const tags = Array.isArray(machine.machineTags) ? (machine.machineTags as unknown[]) : [];
				return tags.includes(tag) === adding ? { outcome: 'applied', body: machine } : 'notApplied';
			},
			effect: {
				action: adding ? 'Add Tag' : 'Remove Tag',
				check: `check the tags of machine ${id}`,
			},
		});
		return toOutput(this, itemIndex, response.body as IDataObject);
	}

	return {
		description: updateDisplayOptions({ show: { resource: ['machine'], operation: [operation] } }, properties),
		execute,
	};
}
