import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { allOf, anyOf } from '../../helpers/odata';
import { splitList, validateDateTime, validateMachineId } from '../../helpers/validation';
import { InvalidInputError, odataString } from '../../transport';
import { enumValue, validateAlertId } from '../alert/common';
import { getManyOperation } from '../utils';
import { INVESTIGATION_STATES, listInvestigations } from './common';

const filtersProperty: INodeProperties = {
	displayName: 'Filters',
	name: 'filters',
	type: 'collection',
	placeholder: 'Add filter',
	default: {},
	options: [
		{
			displayName: 'Machine ID',
			name: 'machineId',
			type: 'string',
			default: '',
			placeholder: 'e.g. a69a22debe5f274d8765ea3c368d00762e057b30',
			description: 'Only investigations of this machine (40 hexadecimal characters)',
		},
		{
			displayName: 'Started After',
			name: 'startedAfter',
			type: 'dateTime',
			default: '',
			description: 'Only investigations started at or after this time',
		},
		{
			displayName: 'Started Before',
			name: 'startedBefore',
			type: 'dateTime',
			default: '',
			description: 'Only investigations started before this time',
		},
		{
			displayName: 'State',
			name: 'states',
			type: 'multiOptions',
			options: INVESTIGATION_STATES,
			default: [],
			description: 'Only investigations in one of these states',
		},
		{
			displayName: 'Triggering Alert ID',
			name: 'triggeringAlertId',
			type: 'string',
			default: '',
			placeholder: 'e.g. da637139166940871892_-598649278',
			description: 'Only the investigation this alert triggered',
		},
	],
};

/**
 * The chosen states as API values. An unknown one is named with the states' display names: the API value
 * "PreexistingAlert" in an error message would make n8n swap the message for "The file or directory already exists".
 */
function stateValues(value: unknown): string[] {
	const states = splitList(value).map((state) => {
		try {
			return enumValue(state, INVESTIGATION_STATES, 'State');
		} catch {
			throw new InvalidInputError(
				`Filters › State "${state.slice(0, 80)}" is not an investigation state. Use one of: ${INVESTIGATION_STATES.map((o) => o.name).join(', ')}.`,
			);
		}
	});
	return [...new Set(states)];
}

/** `$filter` on the properties get-investigation-collection documents: startTime, id, state, machineId, triggeringAlertId. */
export function investigationFilter(filters: IDataObject): string | undefined {
	const clauses: Array<string | undefined> = [];
	clauses.push(anyOf('state', stateValues(filters.states)));
	if (filters.machineId) clauses.push(`machineId eq ${odataString(validateMachineId(filters.machineId))}`);
	if (filters.triggeringAlertId) {
		clauses.push(`triggeringAlertId eq ${odataString(validateAlertId(filters.triggeringAlertId, 'Triggering Alert ID'))}`);
	}
	if (filters.startedAfter) clauses.push(`startTime ge ${validateDateTime(filters.startedAfter, 'Started After')}`);
	if (filters.startedBefore) clauses.push(`startTime lt ${validateDateTime(filters.startedBefore, 'Started Before')}`);
	return allOf(clauses);
}

export const { description, execute } = getManyOperation({
	resource: 'investigation',
	filters: filtersProperty,
	filter: investigationFilter,
	checkLimit: true,
	// Paged with $top/$skip such that investigations starting meanwhile are neither repeated nor skipped (mdeListStable).
	list: listInvestigations,
});
