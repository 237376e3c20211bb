import { responseAction } from './responseAction';

export const { description, execute } = responseAction({
	operation: 'removeAppRestriction',
	type: 'UnrestrictCodeExecution',
	endpoint: 'unrestrictCodeExecution',
	undoes: { type: 'RestrictCodeExecution', label: 'App Restriction' },
});
