import { responseAction } from './responseAction';

export const { description, execute } = responseAction({
	operation: 'restrictAppExecution',
	type: 'RestrictCodeExecution',
	endpoint: 'restrictCodeExecution',
	destructiveNotice:
		'Destructive: only Microsoft-signed applications can run on the machine until the restriction is removed. Consider a human approval step before this node in agent workflows.',
});
