/**
 * Microsoft Graph security alerts_v2 (reference §6) over the same alerts as the MDE API, mapped to
 * Graph names, camelCase enums and typed evidence. Quirks kept on purpose: `$top` is clamped to
 * 1,000, `$skip` above 500 is a 400, and no `@odata.nextLink` is ever returned.
 */
import { applyAlertUpdate } from './alerts';
import { BodyReader } from './body';
import { ApiError } from './errors';
import { applySelect, field, GRAPH_DIALECT, listItems, queryOption, type EntitySchema } from './odata';
import { alertListProfileOptions } from './profiles';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import type { Alert, AlertComment, Evidence, Machine } from './types';

export const GRAPH_ALERT_READ_ROLES = ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'];
export const GRAPH_ALERT_WRITE_ROLES = ['SecurityAlert.ReadWrite.All'];
/** Graph's security quota is shared by all /security operations of an app in a tenant. */
export const GRAPH_BUCKET = 'graph:security';

// ---------------------------------------------------------------------------------------------
// Enum mapping MDE (PascalCase) ↔ Graph (camelCase)

const STATUS: Record<string, string> = { Unknown: 'unknown', New: 'new', InProgress: 'inProgress', Resolved: 'resolved' };
const SEVERITY: Record<string, string> = {
	UnSpecified: 'unknown',
	Informational: 'informational',
	Low: 'low',
	Medium: 'medium',
	High: 'high',
};
const CLASSIFICATION: Record<string, string> = {
	TruePositive: 'truePositive',
	FalsePositive: 'falsePositive',
	InformationalExpectedActivity: 'informationalExpectedActivity',
};
/** MDE determination names (all documented variants) → Graph SDK member names. */
const DETERMINATION: Record<string, string> = {
	NotAvailable: 'unknown',
	Apt: 'apt',
	Malware: 'malware',
	SecurityPersonnel: 'securityPersonnel',
	SecurityTesting: 'securityTesting',
	UnwantedSoftware: 'unwantedSoftware',
	Other: 'other',
	MultiStagedAttack: 'multiStagedAttack',
	CompromisedUser: 'compromisedAccount',
	Phishing: 'phishing',
	MaliciousUserActivity: 'maliciousUserActivity',
	Clean: 'notMalicious',
	NotMalicious: 'notMalicious',
	InsufficientData: 'notEnoughDataToValidate',
	ConfirmedUserActivity: 'confirmedActivity',
	ConfirmedActivity: 'confirmedActivity',
	LineOfBusinessApplication: 'lineOfBusinessApplication',
};
/** Graph → MDE, using the names alerts.md and the batch-update page agree on. */
const DETERMINATION_TO_MDE: Record<string, string | null> = {
	unknown: null,
	apt: 'Apt',
	malware: 'Malware',
	securityPersonnel: 'SecurityPersonnel',
	securityTesting: 'SecurityTesting',
	unwantedSoftware: 'UnwantedSoftware',
	other: 'Other',
	multiStagedAttack: 'MultiStagedAttack',
	compromisedAccount: 'CompromisedUser',
	phishing: 'Phishing',
	maliciousUserActivity: 'MaliciousUserActivity',
	notMalicious: 'Clean',
	notEnoughDataToValidate: 'InsufficientData',
	confirmedActivity: 'ConfirmedUserActivity',
	lineOfBusinessApplication: 'LineOfBusinessApplication',
};
const DETECTION_SOURCE: Record<string, string> = {
	WindowsDefenderAtp: 'microsoftDefenderForEndpoint',
	WindowsDefenderAv: 'antivirus',
	WindowsDefenderSmartScreen: 'smartScreen',
	CustomerTI: 'customTi',
	OfficeATP: 'microsoftDefenderForOffice365',
	AutomatedInvestigation: 'automatedInvestigation',
	ThreatExperts: 'microsoftThreatExperts',
	CustomDetection: 'customDetection',
	AzureATP: 'microsoftDefenderForIdentity',
	MCAS: 'cloudAppSecurity',
	MTP: 'microsoft365Defender',
	Manual: 'manual',
};
/** The product that raised the alert, as Graph's serviceSource. */
const SERVICE_SOURCE: Record<string, string> = {
	OfficeATP: 'microsoftDefenderForOffice365',
	AzureATP: 'microsoftDefenderForIdentity',
	MCAS: 'microsoftDefenderForCloudApps',
	MTP: 'microsoft365Defender',
};
const PRODUCT_NAME: Record<string, string> = {
	microsoftDefenderForEndpoint: 'Microsoft Defender for Endpoint',
	microsoftDefenderForOffice365: 'Microsoft Defender for Office 365',
	microsoftDefenderForIdentity: 'Microsoft Defender for Identity',
	microsoftDefenderForCloudApps: 'Microsoft Defender for Cloud Apps',
	microsoft365Defender: 'Microsoft Defender XDR',
};

const GRAPH_STATUSES = ['unknown', 'new', 'inProgress', 'resolved', 'unknownFutureValue'];
/** alertSeverity, in member order (also the incidents' severity). */
export const GRAPH_SEVERITIES = ['unknown', 'informational', 'low', 'medium', 'high', 'unknownFutureValue'];
export const GRAPH_CLASSIFICATIONS = ['unknown', 'falsePositive', 'truePositive', 'informationalExpectedActivity', 'unknownFutureValue'];
/** The classifications an update may set (not the sentinel). */
export const GRAPH_SETTABLE_CLASSIFICATIONS = GRAPH_CLASSIFICATIONS.slice(0, 4);
/** The determinations an alert (or incident) update accepts: the SDK member names, not the sentinel. */
export const GRAPH_SETTABLE_DETERMINATIONS = Object.keys(DETERMINATION_TO_MDE);
export const GRAPH_DETERMINATIONS = [...GRAPH_SETTABLE_DETERMINATIONS, 'unknownFutureValue'];
const GRAPH_SERVICE_SOURCES = [
	'unknown',
	'microsoftDefenderForEndpoint',
	'microsoftDefenderForIdentity',
	'microsoftDefenderForCloudApps',
	'microsoftDefenderForOffice365',
	'microsoft365Defender',
	'azureAdIdentityProtection',
	'microsoftAppGovernance',
	'dataLossPrevention',
	'unknownFutureValue',
	'microsoftDefenderForCloud',
];
const GRAPH_DETECTION_SOURCES = [
	'unknown',
	'microsoftDefenderForEndpoint',
	'antivirus',
	'smartScreen',
	'customTi',
	'microsoftDefenderForOffice365',
	'automatedInvestigation',
	'microsoftThreatExperts',
	'customDetection',
	'microsoftDefenderForIdentity',
	'cloudAppSecurity',
	'microsoft365Defender',
	'azureAdIdentityProtection',
	'manual',
	'microsoftDataLossPrevention',
	'appGovernancePolicy',
	'appGovernanceDetection',
	'unknownFutureValue',
];

const graphStatus = (a: Alert) => STATUS[a.status] ?? 'unknown';
export const graphSeverity = (a: Alert) => SEVERITY[a.severity] ?? 'unknown';
const graphClassification = (a: Alert) => (a.classification ? CLASSIFICATION[a.classification] ?? 'unknown' : 'unknown');
const graphDetermination = (a: Alert) => (a.determination ? DETERMINATION[a.determination] ?? 'other' : 'unknown');
const graphDetectionSource = (a: Alert) => DETECTION_SOURCE[a.detectionSource] ?? 'unknown';
const graphServiceSource = (a: Alert) => SERVICE_SOURCE[a.detectionSource] ?? 'microsoftDefenderForEndpoint';

// ---------------------------------------------------------------------------------------------
// Entity mapping

const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function graphComments(comments: AlertComment[]): Array<Record<string, unknown>> {
	return comments.map((c) => ({ comment: c.comment, createdByDisplayName: c.createdBy, createdDateTime: c.createdTime }));
}

function deviceEvidence(machine: Machine, alert: Alert): Record<string, unknown> {
	return {
		'@odata.type': '#microsoft.graph.security.deviceEvidence',
		createdDateTime: alert.alertCreationTime,
		verdict: 'unknown',
		remediationStatus: 'none',
		remediationStatusDetails: null,
		roles: ['compromised'],
		detailedRoles: [],
		tags: [],
		firstSeenDateTime: machine.firstSeen,
		mdeDeviceId: machine.id,
		azureAdDeviceId: machine.aadDeviceId,
		deviceDnsName: machine.computerDnsName,
		hostName: machine.computerDnsName.split('.')[0],
		ntDomain: null,
		dnsDomain: machine.computerDnsName.split('.').slice(1).join('.'),
		osPlatform: machine.osPlatform,
		osBuild: machine.osBuild,
		version: machine.version,
		healthStatus: camel(machine.healthStatus),
		riskScore: camel(machine.riskScore),
		rbacGroupId: machine.rbacGroupId,
		rbacGroupName: machine.rbacGroupName,
		onboardingStatus: camel(machine.onboardingStatus),
		defenderAvStatus: camel(machine.defenderAvStatus),
		ipInterfaces: machine.ipAddresses.map((i) => i.ipAddress),
		loggedOnUsers: alert.relatedUser ? [{ accountName: alert.relatedUser.userName, domainName: alert.relatedUser.domainName }] : [],
		vmMetadata: null,
	};
}

function typedEvidence(e: Evidence, alert: Alert): Record<string, unknown> {
	const common = {
		createdDateTime: e.evidenceCreationTime,
		verdict: e.entityType === 'File' ? 'malicious' : e.entityType === 'Process' ? 'suspicious' : 'unknown',
		remediationStatus: e.detectionStatus === 'Prevented' ? 'prevented' : e.detectionStatus === 'Blocked' ? 'blocked' : 'none',
		remediationStatusDetails: null,
		roles: [] as string[],
		detailedRoles: [] as string[],
		tags: [] as string[],
	};
	const fileDetails = (sha1: string | null, sha256: string | null, fileName: string | null, filePath: string | null) => ({
		sha1,
		sha256,
		md5: null,
		fileName,
		filePath,
		fileSize: null,
		filePublisher: null,
		signer: null,
		issuer: null,
	});
	switch (e.entityType) {
		case 'User':
			return {
				'@odata.type': '#microsoft.graph.security.userEvidence',
				...common,
				userAccount: {
					accountName: e.accountName,
					domainName: e.domainName,
					userSid: e.userSid,
					azureAdUserId: e.aadUserId,
					userPrincipalName: e.userPrincipalName,
					displayName: e.accountName,
				},
			};
		case 'Process':
			return {
				'@odata.type': '#microsoft.graph.security.processEvidence',
				...common,
				processId: e.processId,
				parentProcessId: e.parentProcessId,
				processCommandLine: e.processCommandLine,
				processCreationDateTime: e.processCreationTime,
				parentProcessCreationDateTime: e.parentProcessCreationTime,
				detectionStatus: e.detectionStatus ? camel(e.detectionStatus) : null,
				mdeDeviceId: alert.machineId,
				imageFile: fileDetails(e.sha1, e.sha256, e.fileName, e.filePath),
				parentProcessImageFile: fileDetails(null, null, e.parentProcessFileName, e.parentProcessFilePath),
				userAccount: null,
			};
		case 'File':
			return {
				'@odata.type': '#microsoft.graph.security.fileEvidence',
				...common,
				detectionStatus: e.detectionStatus ? camel(e.detectionStatus) : null,
				mdeDeviceId: alert.machineId,
				fileDetails: fileDetails(e.sha1, e.sha256, e.fileName, e.filePath),
			};
		case 'Ip':
			return { '@odata.type': '#microsoft.graph.security.ipEvidence', ...common, ipAddress: e.ipAddress, countryLetterCode: null };
		case 'Url':
			return { '@odata.type': '#microsoft.graph.security.urlEvidence', ...common, url: e.url };
		default:
			return { '@odata.type': '#microsoft.graph.security.alertEvidence', ...common };
	}
}

function graphEvidence(state: EmulatorState, alert: Alert): Array<Record<string, unknown>> {
	const machine = alert.machineId ? state.machines.get(alert.machineId) : undefined;
	const evidence = state.alerts.evidenceOf(alert).map((e) => typedEvidence(e, alert));
	return machine ? [deviceEvidence(machine, alert), ...evidence] : evidence;
}

export function toGraphAlert(state: EmulatorState, alert: Alert): Record<string, unknown> {
	const serviceSource = graphServiceSource(alert);
	const portal = 'https://security.microsoft.com';
	return {
		'@odata.type': '#microsoft.graph.security.alert',
		id: alert.id,
		providerAlertId: alert.id,
		incidentId: alert.incidentId === null ? null : String(alert.incidentId),
		status: graphStatus(alert),
		severity: graphSeverity(alert),
		classification: graphClassification(alert),
		determination: graphDetermination(alert),
		serviceSource,
		detectionSource: graphDetectionSource(alert),
		productName: PRODUCT_NAME[serviceSource] ?? 'Microsoft Defender for Endpoint',
		detectorId: alert.detectorId,
		tenantId: alert.aadTenantId,
		title: alert.title,
		description: alert.description,
		recommendedActions: 'Review the alert timeline and the device. Isolate the device if the activity is confirmed malicious.',
		category: alert.category,
		assignedTo: alert.assignedTo,
		alertWebUrl: `${portal}/alerts/${alert.id}?tid=${alert.aadTenantId}`,
		incidentWebUrl: alert.incidentId === null ? null : `${portal}/incidents/${alert.incidentId}?tid=${alert.aadTenantId}`,
		actorDisplayName: null,
		threatDisplayName: alert.threatName,
		threatFamilyName: alert.threatFamilyName,
		mitreTechniques: alert.mitreTechniques,
		createdDateTime: alert.alertCreationTime,
		lastUpdateDateTime: alert.lastUpdateTime,
		resolvedDateTime: alert.resolvedTime,
		firstActivityDateTime: alert.firstEventTime,
		lastActivityDateTime: alert.lastEventTime,
		systemTags: [],
		alertPolicyId: null,
		additionalData: {},
		comments: graphComments(alert.comments),
		evidence: graphEvidence(state, alert),
	};
}

function graphAlertSchema(state: EmulatorState): EntitySchema<Alert> {
	return {
		typeName: 'microsoft.graph.security.alert',
		keyField: 'id',
		fields: {
			id: field.string((a) => a.id),
			assignedTo: field.string((a) => a.assignedTo),
			classification: field.enum(GRAPH_CLASSIFICATIONS, graphClassification),
			determination: field.enum(GRAPH_DETERMINATIONS, graphDetermination),
			createdDateTime: field.datetime((a) => a.alertCreationTime),
			lastUpdateDateTime: field.datetime((a) => a.lastUpdateTime),
			severity: field.enum(GRAPH_SEVERITIES, graphSeverity),
			serviceSource: field.enum(GRAPH_SERVICE_SOURCES, graphServiceSource),
			status: field.enum(GRAPH_STATUSES, graphStatus),
			detectionSource: field.enum(GRAPH_DETECTION_SOURCES, graphDetectionSource),
			category: field.string((a) => a.category),
			// Not in the documented filterable list: the documentedOnly profile rejects it (profiles.ts).
			incidentId: field.string((a) => (a.incidentId === null ? null : String(a.incidentId))),
			evidence: field.collection('object', (a) => graphEvidence(state, a)),
		},
	};
}

// ---------------------------------------------------------------------------------------------
// Routes

export function registerGraphRoutes(router: Router, state: EmulatorState): void {
	const schema = graphAlertSchema(state);
	const base = `/v1.0/security/alerts_v2`;
	const graph = { family: 'graph' as const, limits: LIMITS.graph, bucket: GRAPH_BUCKET };
	const context = (suffix: string) => `${state.origin()}/v1.0/$metadata#${suffix}`;
	const findAlert = (id: string): Alert => {
		const alert = state.alerts.visibleById(id);
		if (!alert) throw new ApiError(404, 'NotFound', `Alert with id '${id}' was not found.`);
		return alert;
	};

	router.add({
		...graph,
		method: 'GET',
		pattern: base,
		roles: GRAPH_ALERT_READ_ROLES,
		handler: ({ query }) => {
			const snapshot = state.alerts.visible();
			const { page, count } = listItems(snapshot.items, query, {
				schema,
				dialect: GRAPH_DIALECT,
				maxTop: 1000,
				defaultTop: 1000,
				maxSkip: 500,
				sortCache: snapshot.sortCache,
				// $orderby, id comparisons and the order without $orderby depend on the API profile.
				...alertListProfileOptions(state.apiProfile, 'graph'),
			});
			const value = applySelect(
				page.map((a) => toGraphAlert(state, a)),
				queryOption(query, 'select'),
				schema.typeName,
				GRAPH_DIALECT,
			);
			const json: Record<string, unknown> = { '@odata.context': context('security/alerts_v2') };
			if (count !== undefined) json['@odata.count'] = count;
			json.value = value;
			return { status: 200, json };
		},
	});

	router.add({
		...graph,
		method: 'GET',
		pattern: `${base}/:id`,
		roles: GRAPH_ALERT_READ_ROLES,
		handler: ({ params }) => ({
			status: 200,
			json: { '@odata.context': context('security/alerts_v2/$entity'), ...toGraphAlert(state, findAlert(params.id)) },
		}),
	});

	router.add({
		...graph,
		method: 'PATCH',
		pattern: `${base}/:id`,
		roles: GRAPH_ALERT_WRITE_ROLES,
		handler: ({ params, body, auth }) => {
			const alert = findAlert(params.id);
			const b = new BodyReader(body, 'BadRequest').only(['@odata.type', 'status', 'classification', 'determination', 'assignedTo']);
			const patch: Partial<Alert> = {};
			const status = b.enumValue('status', ['new', 'inProgress', 'resolved']);
			if (status) patch.status = (Object.keys(STATUS).find((k) => STATUS[k] === status) ?? 'New') as Alert['status'];
			const classification = b.enumValue('classification', GRAPH_SETTABLE_CLASSIFICATIONS, { nullable: true });
			if (classification !== undefined) {
				patch.classification = Object.keys(CLASSIFICATION).find((k) => CLASSIFICATION[k] === classification) ?? null;
			}
			const determination = b.enumValue('determination', GRAPH_SETTABLE_DETERMINATIONS, { nullable: true });
			if (determination !== undefined) patch.determination = determination === null ? null : DETERMINATION_TO_MDE[determination];
			const assignedTo = b.string('assignedTo', { nullable: true });
			if (assignedTo !== undefined) patch.assignedTo = assignedTo;
			const updated = applyAlertUpdate(state, alert, patch, undefined, auth?.appName ?? 'unknown');
			return { status: 200, json: { '@odata.context': context('security/alerts_v2/$entity'), ...toGraphAlert(state, updated) } };
		},
	});

	router.add({
		...graph,
		method: 'POST',
		pattern: `${base}/:id/comments`,
		roles: GRAPH_ALERT_WRITE_ROLES,
		handler: ({ params, body, auth }) => {
			const alert = findAlert(params.id);
			const comment = new BodyReader(body, 'BadRequest').only(['@odata.type', 'comment']).requiredString('comment');
			const updated = applyAlertUpdate(state, alert, {}, comment, auth?.appName ?? 'unknown');
			return {
				status: 200,
				json: { '@odata.context': context('Collection(microsoft.graph.security.alertComment)'), value: graphComments(updated.comments) },
			};
		},
	});
}
