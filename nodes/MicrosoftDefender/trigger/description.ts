import type { INodeProperties } from 'n8n-workflow';

import {
	ALERT_CATEGORIES,
	ALERT_SEVERITIES,
	ALERT_STATUSES,
	DETECTION_SOURCES,
	GRAPH_FILTER_CLASSIFICATIONS,
	GRAPH_FILTER_DETERMINATIONS,
	GRAPH_SERVICE_SOURCES,
	INCIDENT_SEVERITIES,
	INCIDENT_STATUSES,
} from '../helpers/enums';

const ALERTS = { show: { watch: ['alerts'] } };
const INCIDENTS = { show: { watch: ['incidents'] } };
const ALERT_OPTION = { show: { '/watch': ['alerts'] } };
const INCIDENT_OPTION = { show: { '/watch': ['incidents'] } };

/** Trigger parameters. Names are a contract: saved workflows and tests depend on them. */
export const triggerProperties: INodeProperties[] = [
	{
		// "Trigger On" (not "Watch"): n8n's node creator lists one trigger per option of a parameter so named
		// ("On new alert", "On new incident", from `action`) and presets it; otherwise it shows a single generic
		// "On new Microsoft Defender for Endpoint event". The parameter's name stays `watch` (saved workflows).
		displayName: 'Trigger On',
		name: 'watch',
		type: 'options',
		noDataExpression: true,
		default: 'alerts',
		options: [
			{
				name: 'Alerts',
				value: 'alerts',
				action: 'On new alert',
				description: 'Each Defender alert (one detection on one device, user or mailbox)',
			},
			{
				name: 'Incidents',
				value: 'incidents',
				action: 'On new incident',
				description:
					'Defender XDR incidents: the alerts of one attack grouped together, as the SOC triages them (Microsoft Graph, needs SecurityIncident.Read.All). Correlate by incident ID if you also ingest alerts.',
			},
		],
	},
	{
		displayName: 'Source',
		name: 'source',
		type: 'options',
		displayOptions: ALERTS,
		default: 'mde',
		options: [
			{
				name: 'Defender for Endpoint API',
				value: 'mde',
				description: 'GET /api/alerts: the richest Defender for Endpoint fields (needs WindowsDefenderATP Alert.Read.All)',
			},
			{
				name: 'Microsoft Graph Security (Alerts_v2)',
				value: 'graph',
				description:
					"Microsoft's recommended alert API, for all Defender XDR products (needs Graph SecurityAlert.Read.All)",
			},
		],
	},
	{
		displayName: 'Service Sources',
		name: 'serviceSources',
		type: 'multiOptions',
		default: ['microsoftDefenderForEndpoint'],
		description: 'Defender products whose alerts to trigger on. Empty means all.',
		displayOptions: { show: { watch: ['alerts'], source: ['graph'] } },
		options: GRAPH_SERVICE_SOURCES,
	},
	{
		displayName: 'Statuses',
		name: 'statuses',
		displayOptions: ALERTS,
		type: 'multiOptions',
		options: ALERT_STATUSES,
		default: [],
		description: 'Alert statuses to trigger on. Empty means all.',
	},
	{
		displayName: 'Severities',
		name: 'severities',
		displayOptions: ALERTS,
		type: 'multiOptions',
		options: ALERT_SEVERITIES,
		default: [],
		description: 'Alert severities to trigger on. Empty means all.',
	},
	{
		displayName: 'Categories',
		name: 'categories',
		displayOptions: ALERTS,
		type: 'multiOptions',
		options: ALERT_CATEGORIES,
		default: [],
		description:
			'Alert categories to trigger on. Empty means all. Alerts must match every field that has a selection.',
		hint: 'Statuses, Severities and Categories left empty match every alert',
	},
	{
		displayName: 'Other Categories',
		name: 'customCategories',
		displayOptions: ALERTS,
		type: 'string',
		default: '',
		placeholder: 'CredentialTheft, Backdoor',
		description:
			'Comma-separated category names that are not in the list, such as the legacy names older alerts carry',
	},
	{
		displayName: 'Incident Statuses',
		name: 'incidentStatuses',
		type: 'multiOptions',
		displayOptions: INCIDENTS,
		options: INCIDENT_STATUSES,
		default: [],
		description: 'Incident statuses to trigger on. Empty means all.',
	},
	{
		displayName: 'Incident Severities',
		name: 'incidentSeverities',
		type: 'multiOptions',
		displayOptions: INCIDENTS,
		options: INCIDENT_SEVERITIES,
		default: [],
		description: 'Incident severities to trigger on. Empty means all.',
		hint: 'Incident Statuses and Severities left empty match every incident',
	},
	{
		displayName: 'Max Historical Poll Start',
		name: 'maxHistoricalPollStart',
		type: 'string',
		default: '1 day ago',
		placeholder: '30 days ago',
		hint: 'Where the first poll starts: "30 days ago", "12 hours ago" or an ISO date. Empty: from activation on.',
		description:
			'How far back the first poll goes, and the furthest back any later poll goes after n8n was down: a relative time read at each poll in the workflow\'s time zone ("30 days ago", "12 hours ago", "yesterday"), reaching back at least the Ingestion Look-Back plus the time between polls (so not "today" or "now"), or an ISO 8601 date (without an offset, in the workflow\'s time zone). Empty: from activation on.',
	},
	{
		displayName: 'Trigger on Updates',
		name: 'triggerOnUpdates',
		type: 'boolean',
		default: false,
		description:
			'Whether to emit an alert or incident again each time it is updated and still matches the filters (an incident is updated when an alert joins it, its status changes or it is assigned). Off: each one is emitted once, when it first appears.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Additional OData Filter',
				name: 'additionalFilter',
				type: 'string',
				default: '',
				placeholder: "incidentId eq 1126093",
				description:
					'An OData expression on alert (or incident) fields, combined with the filters above with "and". Written by you, sent as is.',
			},
			{
				displayName: 'Assigned To',
				name: 'assignedTo',
				type: 'string',
				default: '',
				placeholder: 'secop@contoso.com',
				description: 'Only alerts or incidents assigned to this user (UPN)',
			},
			{
				displayName: 'Classifications',
				name: 'classifications',
				type: 'multiOptions',
				displayOptions: INCIDENT_OPTION,
				options: GRAPH_FILTER_CLASSIFICATIONS,
				default: [],
				description: 'Only incidents with these classifications. Empty means all.',
			},
			{
				displayName: 'Detection Sources',
				name: 'detectionSources',
				type: 'multiOptions',
				displayOptions: ALERT_OPTION,
				options: DETECTION_SOURCES,
				default: [],
				description: 'Only alerts from these detection sources. Empty means all.',
			},
			{
				displayName: 'Determinations',
				name: 'determinations',
				type: 'multiOptions',
				displayOptions: INCIDENT_OPTION,
				options: GRAPH_FILTER_DETERMINATIONS,
				default: [],
				description: 'Only incidents with these determinations. Empty means all.',
			},
			{
				displayName: 'Include Alerts',
				name: 'includeAlerts',
				displayOptions: INCIDENT_OPTION,
				type: 'boolean',
				default: true,
				description:
					'Whether each incident carries its alerts ($expand=alerts). If that fails for good (as on some large tenants), the trigger reads each incident\'s alerts separately and says so in the log.',
			},
			{
				displayName: 'Include Change Details',
				name: 'includeChangeDetails',
				type: 'boolean',
				default: true,
				description:
					'Whether items carry a "_change" key telling a new alert or incident from an update and naming the fields that changed, and for incidents the IDs of the alerts that joined (only with Trigger on Updates)',
			},
			{
				displayName: 'Include Evidence',
				name: 'includeEvidence',
				displayOptions: { show: { '/watch': ['alerts'], '/source': ['mde'] } },
				type: 'boolean',
				default: true,
				description: 'Whether to fetch each alert with its evidence (files, processes, users, IPs, URLs)',
			},
			{
				displayName: 'Ingestion Look-Back (Minutes)',
				name: 'lookbackMinutes',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 1440 },
				default: 15,
				description:
					'Alerts and incidents can appear in the API some minutes after their own timestamp. Each poll re-reads this window so that such late alerts are not missed; those already emitted are not emitted again.',
			},
			{
				displayName: 'Max Alerts per Poll',
				name: 'maxAlertsPerPoll',
				displayOptions: ALERT_OPTION,
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10000 },
				default: 1000,
				description:
					'Most alerts emitted by one poll. A larger backlog is emitted over the following polls, oldest first; nothing is dropped.',
			},
			{
				displayName: 'Max Incidents per Poll',
				name: 'maxIncidentsPerPoll',
				displayOptions: INCIDENT_OPTION,
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10000 },
				default: 500,
				description:
					'Most incidents emitted by one poll. A larger backlog is emitted over the following polls, oldest first; nothing is dropped.',
			},
		],
	},
];
