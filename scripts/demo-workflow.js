/**
 * The sample workflows "Defender alert triage" and "Defender incident triage" and the credential that points at the
 * emulator, as n8n's `import:workflow` / `import:credentials` take them. Used by `npm start` and the end-to-end test.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const harness = require('./n8n-harness');

const { PACKAGE_NAME } = harness;

const CREDENTIAL_ID = 'mdeEmulatorCred01';
const WORKFLOW_ID = 'mdeAlertTriage01';
// At most 16 characters: n8n 1.x saves static data (the trigger's cursor) only for IDs that short (isWorkflowIdValid).
const INCIDENT_WORKFLOW_ID = 'mdeIncidentTri01';
/** Who the incident triage workflow assigns new incidents to, and the tag it adds. */
const INCIDENT_ASSIGNEE = 'soc-tier1@contoso.com';
const INCIDENT_TAG = 'n8n-triaged';
const CREDENTIALS = { microsoftDefenderApi: { id: CREDENTIAL_ID, name: 'Microsoft Defender (emulator)' } };

function emulatorCredential(emu, client = emu.client) {
	return {
		id: CREDENTIAL_ID,
		name: 'Microsoft Defender (emulator)',
		type: 'microsoftDefenderApi',
		data: {
			environment: 'custom',
			authorityHost: emu.url,
			apiBaseUrl: emu.url,
			apiScope: 'https://api.securitycenter.microsoft.com/.default',
			graphBaseUrl: emu.url,
			graphScope: 'https://graph.microsoft.com/.default',
			tenantId: emu.tenantId,
			clientId: client.clientId,
			authentication: 'clientSecret',
			clientSecret: client.clientSecret,
		},
	};
}

/**
 * Trigger (High and Medium, on updates) → Set (evidence file hashes through $jmespath, machine) → If High and
 * new → Isolate machine (wait for completion) → Add Comment on the alert. The trigger polls every minute, n8n's
 * shortest interval (and once at activation).
 */
function triageWorkflow({ isolationPollInterval = 2, statuses = [] } = {}) {
	const credentials = CREDENTIALS;
	const pollTimes = { item: [{ mode: 'everyMinute' }] };
	return {
		id: WORKFLOW_ID,
		name: 'Defender alert triage',
		active: false,
		settings: { executionOrder: 'v1', saveManualExecutions: true },
		nodes: [
			{
				id: 'b1e6a6d2-0001-4000-8000-000000000001',
				name: 'Defender Alerts',
				type: `${PACKAGE_NAME}.microsoftDefenderTrigger`,
				typeVersion: 1,
				position: [0, 0],
				credentials,
				parameters: {
					pollTimes,
					statuses,
					severities: ['High', 'Medium'],
					maxHistoricalPollStart: '1 day ago',
					triggerOnUpdates: true,
					options: { includeEvidence: true },
				},
			},
			{
				id: 'b1e6a6d2-0001-4000-8000-000000000002',
				name: 'Extract Evidence',
				type: 'n8n-nodes-base.set',
				typeVersion: 3.4,
				position: [220, 0],
				parameters: {
					mode: 'manual',
					includeOtherFields: false,
					assignments: {
						assignments: [
							{ id: 'a1', name: 'alertId', type: 'string', value: '={{ $json.id }}' },
							{ id: 'a2', name: 'severity', type: 'string', value: '={{ $json.severity }}' },
							{ id: 'a3', name: 'changeType', type: 'string', value: '={{ $json._change.type }}' },
							{ id: 'a4', name: 'version', type: 'string', value: '={{ $json.lastUpdateTime }}' },
							{ id: 'a5', name: 'machineId', type: 'string', value: '={{ $json.machineId }}' },
							{ id: 'a6', name: 'computerDnsName', type: 'string', value: '={{ $json.computerDnsName }}' },
							{
								id: 'a7',
								name: 'fileSha256',
								type: 'array',
								value: '={{ $jmespath($json.evidence, "[?entityType==\'File\'].sha256") }}',
							},
						],
					},
				},
			},
			{
				id: 'b1e6a6d2-0001-4000-8000-000000000003',
				name: 'High Severity New Alert?',
				type: 'n8n-nodes-base.if',
				typeVersion: 2.2,
				position: [440, 0],
				parameters: {
					conditions: {
						options: { caseSensitive: true, leftValue: '', typeValidation: 'loose', version: 2 },
						conditions: [
							{
								id: 'c1',
								leftValue: '={{ $json.severity }}',
								rightValue: 'High',
								operator: { type: 'string', operation: 'equals' },
							},
							{
								id: 'c2',
								leftValue: '={{ $json.changeType }}',
								rightValue: 'new',
								operator: { type: 'string', operation: 'equals' },
							},
						],
						combinator: 'and',
					},
					options: {},
				},
			},
			{
				id: 'b1e6a6d2-0001-4000-8000-000000000004',
				name: 'Isolate Machine',
				type: `${PACKAGE_NAME}.microsoftDefender`,
				typeVersion: 1,
				position: [660, -100],
				credentials,
				parameters: {
					resource: 'machine',
					operation: 'isolate',
					machineId: { __rl: true, mode: 'id', value: '={{ $json.machineId }}' },
					isolationType: 'Full',
					comment: '=Isolated by n8n for alert {{ $json.alertId }}',
					waitForCompletion: true,
					options: { pollInterval: isolationPollInterval, waitTimeout: 300 },
				},
			},
			{
				id: 'b1e6a6d2-0001-4000-8000-000000000005',
				name: 'Comment on Alert',
				type: `${PACKAGE_NAME}.microsoftDefender`,
				typeVersion: 1,
				position: [880, -100],
				credentials,
				parameters: {
					resource: 'alert',
					operation: 'addComment',
					alertId: { __rl: true, mode: 'id', value: "={{ $('Extract Evidence').item.json.alertId }}" },
					comment: "=Machine {{ $('Extract Evidence').item.json.computerDnsName }} isolated by n8n (action {{ $json.id }}, {{ $json.status }}).",
				},
			},
		],
		connections: {
			'Defender Alerts': { main: [[{ node: 'Extract Evidence', type: 'main', index: 0 }]] },
			'Extract Evidence': { main: [[{ node: 'High Severity New Alert?', type: 'main', index: 0 }]] },
			'High Severity New Alert?': { main: [[{ node: 'Isolate Machine', type: 'main', index: 0 }], []] },
			'Isolate Machine': { main: [[{ node: 'Comment on Alert', type: 'main', index: 0 }]] },
		},
		pinData: {},
	};
}

/**
 * Incident trigger (active incidents, each once when it first appears: Trigger on Updates off, with its alerts) →
 * Update the incident (assign it, In Progress, tag) → Add a comment naming its alert count and severity. Polls every
 * minute (and once at activation), from a day back.
 */
function incidentTriageWorkflow({ assignee = INCIDENT_ASSIGNEE, tag = INCIDENT_TAG } = {}) {
	const credentials = CREDENTIALS;
	const trigger = "$('Defender Incidents').item.json";
	return {
		id: INCIDENT_WORKFLOW_ID,
		name: 'Defender incident triage',
		active: false,
		settings: { executionOrder: 'v1', saveManualExecutions: true },
		nodes: [
			{
				id: 'b1e6a6d2-0002-4000-8000-000000000001',
				name: 'Defender Incidents',
				type: `${PACKAGE_NAME}.microsoftDefenderTrigger`,
				typeVersion: 1,
				position: [0, 0],
				credentials,
				parameters: {
					watch: 'incidents',
					pollTimes: { item: [{ mode: 'everyMinute' }] },
					incidentStatuses: ['active'],
					incidentSeverities: [],
					maxHistoricalPollStart: '1 day ago',
					triggerOnUpdates: false,
					options: { includeAlerts: true },
				},
			},
			{
				id: 'b1e6a6d2-0002-4000-8000-000000000002',
				name: 'Assign Incident',
				type: `${PACKAGE_NAME}.microsoftDefender`,
				typeVersion: 1.1,
				position: [220, 0],
				credentials,
				parameters: {
					resource: 'incident',
					operation: 'update',
					incidentId: { __rl: true, mode: 'id', value: '={{ $json.id }}' },
					updateFields: { assignedTo: assignee, status: 'inProgress', customTagsToAdd: tag },
				},
			},
			{
				id: 'b1e6a6d2-0002-4000-8000-000000000003',
				name: 'Comment on Incident',
				type: `${PACKAGE_NAME}.microsoftDefender`,
				typeVersion: 1.1,
				position: [440, 0],
				credentials,
				parameters: {
					resource: 'incident',
					operation: 'addComment',
					incidentId: { __rl: true, mode: 'id', value: `={{ ${trigger}.id }}` },
					comment: `=Triaged by n8n: {{ ${trigger}.alerts.length }} alert(s), severity {{ ${trigger}.severity }}, assigned to {{ $json.assignedTo }}.`,
				},
			},
		],
		connections: {
			'Defender Incidents': { main: [[{ node: 'Assign Incident', type: 'main', index: 0 }]] },
			'Assign Incident': { main: [[{ node: 'Comment on Incident', type: 'main', index: 0 }]] },
		},
		pinData: {},
	};
}

/**
 * Imports the emulator credential and both demo workflows into a stopped n8n (user folder `options.userFolder`) and
 * publishes the workflows, so they poll as soon as n8n starts. `dir` keeps the import files. Used by `npm start`
 * and the editor test.
 */
function importDemo(n8nPaths, options, emu, dir) {
	fs.mkdirSync(dir, { recursive: true });
	const credentials = path.join(dir, 'credentials.json');
	fs.writeFileSync(credentials, JSON.stringify([emulatorCredential(emu)]));
	harness.n8nCli(n8nPaths, options, ['import:credentials', `--input=${credentials}`]);
	for (const [file, workflow] of [
		['workflow.json', triageWorkflow()],
		['incident-workflow.json', incidentTriageWorkflow()],
	]) {
		fs.writeFileSync(path.join(dir, file), JSON.stringify(workflow));
		harness.n8nCli(n8nPaths, options, ['import:workflow', `--input=${path.join(dir, file)}`]);
		harness.publishWorkflow(n8nPaths, options, workflow.id);
	}
}

module.exports = {
	importDemo,
	CREDENTIAL_ID,
	WORKFLOW_ID,
	INCIDENT_WORKFLOW_ID,
	INCIDENT_ASSIGNEE,
	INCIDENT_TAG,
	emulatorCredential,
	triageWorkflow,
	incidentTriageWorkflow,
};
