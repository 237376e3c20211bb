import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../utils';
import * as addTag from './addTag.operation';
import * as collectInvestigationPackage from './collectInvestigationPackage.operation';
import * as findByIp from './findByIp.operation';
import * as findByTag from './findByTag.operation';
import * as get from './get.operation';
import * as getAll from './getAll.operation';
import * as isolate from './isolate.operation';
import * as offboard from './offboard.operation';
import * as releaseIsolation from './releaseIsolation.operation';
import * as removeAppRestriction from './removeAppRestriction.operation';
import * as removeTag from './removeTag.operation';
import * as restrictAppExecution from './restrictAppExecution.operation';
import * as runAntivirusScan from './runAntivirusScan.operation';
import * as runLiveResponse from './runLiveResponse.operation';
import * as stopAndQuarantineFile from './stopAndQuarantineFile.operation';
import { getMissingKbs, getRecommendations, getSoftware, getVulnerabilities } from './tvm';

export const operations: Record<string, Operation> = {
	addTag,
	collectInvestigationPackage,
	findByIp,
	findByTag,
	get,
	getAll,
	getMissingKbs,
	getRecommendations,
	getSoftware,
	getVulnerabilities,
	isolate,
	offboard,
	releaseIsolation,
	removeAppRestriction,
	removeTag,
	restrictAppExecution,
	runAntivirusScan,
	runLiveResponse,
	stopAndQuarantineFile,
};

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['machine'] } },
		options: [
			{
				name: 'Add Tag',
				value: 'addTag',
				description: 'Add a tag to a machine',
				action: 'Add a tag to a machine',
			},
			{
				name: 'Collect Investigation Package',
				value: 'collectInvestigationPackage',
				description:
					'Collect forensic data (logs, processes, network, autoruns) from a machine; download it with Machine Action → Download Investigation Package',
				action: 'Collect an investigation package from a machine',
			},
			{
				name: 'Find by IP',
				value: 'findByIp',
				description: 'Find the machines that used an internal IP address around a given time',
				action: 'Find machines by IP address',
			},
			{
				name: 'Find by Tag',
				value: 'findByTag',
				description: 'Find the machines carrying a tag',
				action: 'Find machines by tag',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get a machine by ID or computer name',
				action: 'Get a machine',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List machines, filtered by name, health, risk, exposure, platform, tag or last seen',
				action: 'Get many machines',
			},
			{
				name: 'Get Missing KBs',
				value: 'getMissingKbs',
				description: 'List the security updates (KBs) a machine is missing, from Defender Vulnerability Management',
				action: 'Get the missing security updates of a machine',
			},
			{
				name: 'Get Recommendations',
				value: 'getRecommendations',
				description: 'List the security recommendations for a machine, from Defender Vulnerability Management',
				action: 'Get the security recommendations of a machine',
			},
			{
				name: 'Get Software',
				value: 'getSoftware',
				description: 'List the software installed on a machine, from Defender Vulnerability Management',
				action: 'Get the software of a machine',
			},
			{
				name: 'Get Vulnerabilities',
				value: 'getVulnerabilities',
				description: 'List the vulnerabilities discovered on a machine, from Defender Vulnerability Management',
				action: 'Get the vulnerabilities of a machine',
			},
			{
				name: 'Isolate',
				value: 'isolate',
				description:
					'Destructive: isolate a machine from the network (Full, Selective or contain an unmanaged device). Consider a human approval step before it in agent workflows.',
				action: 'Isolate a machine as a destructive action so consider a human approval step first',
			},
			{
				name: 'Offboard',
				value: 'offboard',
				description:
					'Destructive: offboard a machine from Defender for Endpoint, ending its protection and reporting. Consider a human approval step before it in agent workflows.',
				action: 'Offboard a machine as a destructive action so consider a human approval step first',
			},
			{
				name: 'Release From Isolation',
				value: 'releaseIsolation',
				description: 'Reconnect an isolated machine to the network',
				action: 'Release a machine from isolation',
			},
			{
				name: 'Remove App Restriction',
				value: 'removeAppRestriction',
				description: 'Let a machine run any application again',
				action: 'Remove the app restriction from a machine',
			},
			{
				name: 'Remove Tag',
				value: 'removeTag',
				description: 'Remove a tag from a machine',
				action: 'Remove a tag from a machine',
			},
			{
				name: 'Restrict App Execution',
				value: 'restrictAppExecution',
				description:
					'Destructive: allow only Microsoft-signed applications to run on a machine. Consider a human approval step before it in agent workflows.',
				action: 'Restrict app execution on a machine as a destructive action so consider a human approval step first',
			},
			{
				name: 'Run Antivirus Scan',
				value: 'runAntivirusScan',
				description: 'Start a Microsoft Defender Antivirus quick or full scan on a machine',
				action: 'Run an antivirus scan on a machine',
			},
			{
				name: 'Run Live Response',
				value: 'runLiveResponse',
				description:
					'Remote execution: run live response library scripts on a machine, put library files on it and collect files from it; outputs script results and collected files. Consider a human approval step before it in agent workflows.',
				action: 'Run live response commands on a machine as remote execution so consider a human approval step first',
			},
			{
				name: 'Stop and Quarantine File',
				value: 'stopAndQuarantineFile',
				description:
					'Destructive: stop the running processes of a file on a machine and quarantine the file. Consider a human approval step before it in agent workflows.',
				action: 'Stop and quarantine a file on a machine as a destructive action so consider a human approval step first',
			},
		],
		default: 'get',
	},
	...addTag.description,
	...collectInvestigationPackage.description,
	...findByIp.description,
	...findByTag.description,
	...get.description,
	...getAll.description,
	...getMissingKbs.description,
	...getRecommendations.description,
	...getSoftware.description,
	...getVulnerabilities.description,
	...isolate.description,
	...offboard.description,
	...releaseIsolation.description,
	...removeAppRestriction.description,
	...removeTag.description,
	...restrictAppExecution.description,
	...runAntivirusScan.description,
	...runLiveResponse.description,
	...stopAndQuarantineFile.description,
];
