import type { IDataObject, IExecuteFunctions, INodeParameterResourceLocator, INodeProperties } from 'n8n-workflow';

import { validateMachineId } from '../../helpers/validation';
import {
	DefenderApiError,
	InvalidInputError,
	odataString,
	pathId,
	sendDefenderRequest,
	type TransportContext,
} from '../../transport';

export const MACHINE_ID_PATTERN = '^[0-9a-fA-F]{40}$';

/** The machine an operation acts on: picked from a list, by machine ID, or by computer DNS name. */
export const machineLocator: INodeProperties = {
	displayName: 'Machine',
	name: 'machineId',
	type: 'resourceLocator',
	default: { mode: 'list', value: '' },
	required: true,
	description: 'The machine (device) in Microsoft Defender for Endpoint',
	modes: [
		{
			displayName: 'From List',
			name: 'list',
			type: 'list',
			placeholder: 'Select a machine...',
			typeOptions: { searchListMethod: 'searchMachines', searchable: true },
		},
		{
			displayName: 'By ID',
			name: 'id',
			type: 'string',
			placeholder: 'e.g. 7b1f4967d9728e5aa3c06a9e617a22a4a5a17378',
			validation: [
				{
					type: 'regex',
					properties: { regex: MACHINE_ID_PATTERN, errorMessage: 'A machine ID has 40 hexadecimal characters' },
				},
			],
		},
		{
			displayName: 'By Name',
			name: 'name',
			type: 'string',
			placeholder: 'e.g. desktop-7fk2p.contoso.com or desktop-7fk2p',
			hint: 'Computer DNS name as Defender shows it; a short host name matches its fully qualified name',
		},
	],
};

export const commentProperty: INodeProperties = {
	displayName: 'Comment',
	name: 'comment',
	type: 'string',
	default: 'Requested from n8n',
	required: true,
	description: 'Why the action is taken. Defender requires it and shows it in the action center and device timeline.',
};

/** Per execution: names already resolved, so 300 items naming the same machine resolve it once. */
const resolvedNames = new WeakMap<object, Map<string, IDataObject>>();

function locatorOf(value: unknown): { mode: string; value: string } {
	if (value && typeof value === 'object' && '__rl' in (value as object)) {
		const rl = value as INodeParameterResourceLocator;
		return { mode: String(rl.mode ?? 'id'), value: String(rl.value ?? '').trim() };
	}
	if (value && typeof value === 'object' && 'value' in (value as object)) {
		const v = value as { mode?: string; value?: unknown };
		return { mode: v.mode ?? 'id', value: String(v.value ?? '').trim() };
	}
	// A plain string (an expression or an AI agent filling the field): an ID if it looks like one, else a name.
	const text = String(value ?? '').trim();
	return { mode: /^[0-9a-f]{40}$/i.test(text) ? 'id' : 'name', value: text };
}

/**
 * Validates the Machine parameter of item `itemIndex` and returns the machine ID. A name is resolved with
 * `computerDnsName eq '<name>' or startswith(computerDnsName,'<name>.')`; no match or several matches is an error.
 * The machine object is returned as well when resolving fetched it.
 */
export async function resolveMachine(
	context: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
	parameterName = 'machineId',
): Promise<{ id: string; machine?: IDataObject }> {
	const locator = locatorOf(context.getNodeParameter(parameterName, itemIndex));
	if (locator.mode !== 'name') return { id: validateMachineId(locator.value, 'Machine ID') };
	if (!locator.value) throw new InvalidInputError('Machine name is empty. Enter the computer DNS name of the machine.');

	const name = locator.value.toLowerCase();
	let cache = resolvedNames.get(context);
	if (!cache) {
		cache = new Map();
		resolvedNames.set(context, cache);
	}
	const cached = cache.get(name);
	if (cached) return { id: String(cached.id), machine: cached };

	const machine = await findMachineByName(transport, name);
	cache.set(name, machine);
	return { id: String(machine.id), machine };
}

export async function findMachineByName(transport: TransportContext, name: string): Promise<IDataObject> {
	if (name.length > 255 || /[\s/\\?#]/.test(name)) {
		throw new InvalidInputError(`Machine name "${name.slice(0, 80)}" is not a computer DNS name.`);
	}
	const filter = name.includes('.')
		? `computerDnsName eq ${odataString(name)}`
		: `computerDnsName eq ${odataString(name)} or startswith(computerDnsName,${odataString(`${name}.`)})`;
	let machines: IDataObject[];
	try {
		const response = await sendDefenderRequest(transport, {
			method: 'GET',
			path: '/api/machines',
			qs: { $filter: filter, $top: 25 },
		});
		machines = (response.body as { value?: IDataObject[] })?.value ?? [];
	} catch (error) {
		// GET /api/machines answers 404 when nothing matches ("no recent machines").
		if (error instanceof DefenderApiError && error.status === 404) machines = [];
		else throw error;
	}
	const exact = machines.filter((m) => String(m.computerDnsName ?? '').toLowerCase() === name);
	const candidates = exact.length ? exact : machines;
	if (candidates.length === 1) return candidates[0];
	if (!candidates.length) {
		throw new InvalidInputError(
			`No machine named "${name}" was found in Defender. Check the computer DNS name, or select the machine by ID.`,
		);
	}
	const list = candidates
		.slice(0, 10)
		.map((m) => `${String(m.id)} (${String(m.computerDnsName)}, last seen ${String(m.lastSeen ?? 'unknown')})`)
		.join('; ');
	throw new InvalidInputError(
		`${candidates.length} machines match the name "${name}": ${list}${candidates.length > 10 ? '; …' : ''}. Select the machine by ID instead.`,
	);
}

/** GET /api/machines/{id}. */
export async function getMachine(transport: TransportContext, id: string): Promise<IDataObject> {
	const response = await sendDefenderRequest(transport, {
		method: 'GET',
		path: `/api/machines/${pathId(id, 'Machine ID')}`,
	});
	return response.body as IDataObject;
}
