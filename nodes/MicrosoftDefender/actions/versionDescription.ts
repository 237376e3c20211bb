import type { INodeProperties, INodePropertyOptions, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as advancedHunting from './advancedHunting';
import * as alert from './alert';
import * as domain from './domain';
import * as file from './file';
import * as incident from './incident';
import * as indicator from './indicator';
import * as investigation from './investigation';
import * as ip from './ip';
import * as liveResponseLibrary from './liveResponseLibrary';
import * as machine from './machine';
import * as machineAction from './machineAction';
import * as recommendation from './recommendation';
import * as software from './software';
import * as vulnerability from './vulnerability';
import * as user from './user';
import { DEFAULT_MAX_WAIT_SECONDS } from '../transport';

const properties: INodeProperties[] = [
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Advanced Hunting', value: 'advancedHunting' },
			{ name: 'Alert', value: 'alert' },
			{ name: 'Automated Investigation', value: 'investigation' },
			{ name: 'Domain', value: 'domain' },
			{ name: 'File', value: 'file' },
			{ name: 'Incident', value: 'incident' },
			{ name: 'Indicator', value: 'indicator' },
			{ name: 'IP Address', value: 'ip' },
			{ name: 'Live Response Library', value: 'liveResponseLibrary' },
			{ name: 'Machine', value: 'machine' },
			{ name: 'Machine Action', value: 'machineAction' },
			{ name: 'Recommendation', value: 'recommendation' },
			{ name: 'Software', value: 'software' },
			{ name: 'User', value: 'user' },
			{ name: 'Vulnerability', value: 'vulnerability' },
		],
		default: 'alert',
	},
	...advancedHunting.description,
	...alert.description,
	...investigation.description,
	...domain.description,
	...file.description,
	...incident.description,
	...indicator.description,
	...ip.description,
	...liveResponseLibrary.description,
	...machine.description,
	...machineAction.description,
	...recommendation.description,
	...software.description,
	...user.description,
	...vulnerability.description,
	{
		displayName: 'Request Options',
		name: 'requestOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Max Wait for Throttling (Seconds)',
				name: 'maxWaitSeconds',
				type: 'number',
				default: DEFAULT_MAX_WAIT_SECONDS,
				typeOptions: { minValue: 0 },
				description:
					'Longest wait this node accepts when Defender throttles it (a Retry-After on HTTP 429 or 503, or the documented rate limits of 100 calls per minute and 1,500 per hour running out). A longer wait fails the item at once, saying when the API accepts the next call.',
			},
		],
	},
];

/**
 * The line under the node on the canvas, as "Isolate: Machine", from the names the panel shows (n8n's usual
 * `operation: resource` expression would show the raw values, "isolate: machine", "addComment: alert").
 */
function subtitle(): string {
	const names: Record<string, string> = {};
	const resource = properties.find((p) => p.name === 'resource') as INodeProperties;
	for (const r of resource.options as INodePropertyOptions[]) {
		const operation = properties.find(
			(p) => p.name === 'operation' && (p.displayOptions?.show?.resource as unknown[] | undefined)?.includes(r.value),
		);
		for (const o of (operation?.options ?? []) as INodePropertyOptions[]) names[`${r.value}:${o.value}`] = `${o.name}: ${r.name}`;
	}
	return `={{ ${JSON.stringify(names)}[$parameter["resource"] + ":" + $parameter["operation"]] || $parameter["operation"] + ": " + $parameter["resource"] }}`;
}

export const versionDescription: INodeTypeDescription = {
	displayName: 'Microsoft Defender for Endpoint',
	name: 'microsoftDefender',
	icon: { light: 'file:microsoftDefender.svg', dark: 'file:microsoftDefender.dark.svg' },
	group: ['transform'],
	// 1.1: new nodes run advanced hunting through Microsoft Graph by default (GRAPH_DEFAULT_VERSION in
	// advancedHunting/runQuery.operation.ts); version 1 nodes keep the MDE API. Nothing else differs between versions.
	version: [1, 1.1],
	defaultVersion: 1.1,
	subtitle: subtitle(),
	description:
		'Investigate and respond with Microsoft Defender for Endpoint: alerts, incidents, machines and response actions, automated investigations, files, IP addresses, domains and users, live response, indicators, advanced hunting, vulnerability management (vulnerabilities, software, recommendations)',
	defaults: { name: 'Microsoft Defender for Endpoint' },
	usableAsTool: true,
	inputs: [NodeConnectionTypes.Main],
	outputs: [NodeConnectionTypes.Main],
	credentials: [{ name: 'microsoftDefenderApi', required: true, testedBy: 'microsoftDefenderApiTest' }],
	properties,
};
