import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';

import { versionDescription } from './actions/versionDescription';
import { router } from './actions/router';
import { microsoftDefenderApiTest } from './methods/credentialTest';
import { listSearch } from './methods/listSearch';

export class MicrosoftDefender implements INodeType {
	description: INodeTypeDescription = versionDescription;

	methods = { credentialTest: { microsoftDefenderApiTest }, listSearch };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
