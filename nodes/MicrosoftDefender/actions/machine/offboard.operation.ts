import { responseAction } from './responseAction';

export const { description, execute } = responseAction({
	operation: 'offboard',
	type: 'Offboard',
	endpoint: 'offboard',
	destructiveNotice:
		'Destructive: offboarding removes the machine from Defender for Endpoint; it stops reporting and is no longer protected by EDR until onboarded again. Consider a human approval step before this node in agent workflows.',
});
