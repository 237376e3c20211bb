import { responseAction } from './responseAction';

export const { description, execute } = responseAction({
	operation: 'collectInvestigationPackage',
	type: 'CollectInvestigationPackage',
	endpoint: 'collectInvestigationPackage',
});
