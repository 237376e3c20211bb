import type { INodeExecutionData, INodeType, INodeTypeDescription, IPollFunctions } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { microsoftDefenderApiTest } from './methods/credentialTest';
import { triggerProperties } from './trigger/description';
import { pollAlerts } from './trigger/poll';

export class MicrosoftDefenderTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Microsoft Defender for Endpoint Trigger',
		name: 'microsoftDefenderTrigger',
		icon: { light: 'file:microsoftDefender.svg', dark: 'file:microsoftDefender.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle:
			'={{($parameter["triggerOnUpdates"] ? "New and updated " : "New ") + ($parameter["watch"] === "incidents" ? "incidents" : "alerts")}}',
		description: 'Starts the workflow when Microsoft Defender raises or updates an alert or a Defender XDR incident',
		defaults: { name: 'Microsoft Defender for Endpoint Trigger' },
		credentials: [{ name: 'microsoftDefenderApi', required: true, testedBy: 'microsoftDefenderApiTest' }],
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: triggerProperties,
	};

	methods = { credentialTest: { microsoftDefenderApiTest } };

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		return await pollAlerts.call(this);
	}
}
