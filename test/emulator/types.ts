/** Entity shapes and enums of the emulated APIs (reference §1.3, §3.1, §3.3, §3.4). */

export const ALERT_STATUSES = ['Unknown', 'New', 'InProgress', 'Resolved'] as const;
export const ALERT_SEVERITIES = ['UnSpecified', 'Informational', 'Low', 'Medium', 'High'] as const;
export const ALERT_CLASSIFICATIONS = ['TruePositive', 'InformationalExpectedActivity', 'FalsePositive'] as const;
/**
 * Every determination name any MDE page documents (they disagree: ConfirmedUserActivity vs
 * ConfirmedActivity, Clean vs NotMalicious), plus the deprecated Apt/SecurityPersonnel.
 */
export const ALERT_DETERMINATIONS = [
	'NotAvailable',
	'Apt',
	'Malware',
	'SecurityPersonnel',
	'SecurityTesting',
	'UnwantedSoftware',
	'Other',
	'MultiStagedAttack',
	'CompromisedUser',
	'Phishing',
	'MaliciousUserActivity',
	'Clean',
	'InsufficientData',
	'ConfirmedUserActivity',
	'LineOfBusinessApplication',
	'ConfirmedActivity',
	'NotMalicious',
] as const;
export const INVESTIGATION_STATES = [
	'Unknown',
	'Terminated',
	'SuccessfullyRemediated',
	'Benign',
	'Failed',
	'PartiallyRemediated',
	'Running',
	'PendingApproval',
	'PendingResource',
	'PartiallyInvestigated',
	'TerminatedByUser',
	'TerminatedBySystem',
	'Queued',
	'InnerFailure',
	'PreexistingAlert',
	'UnsupportedOs',
	'UnsupportedAlertType',
	'SuppressedAlert',
] as const;

export type AlertStatus = (typeof ALERT_STATUSES)[number];
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface AlertComment {
	comment: string;
	createdBy: string;
	createdTime: string;
}

export interface RelatedUser {
	userName: string;
	domainName: string;
}

/** MDE alert as `GET /api/alerts` returns it, minus `evidence` (stored separately, see AlertStore). */
export interface Alert {
	id: string;
	incidentId: number | null;
	investigationId: number | null;
	assignedTo: string | null;
	severity: AlertSeverity;
	status: AlertStatus;
	classification: string | null;
	determination: string | null;
	investigationState: string | null;
	detectionSource: string;
	detectorId: string;
	category: string;
	threatFamilyName: string | null;
	title: string;
	description: string;
	alertCreationTime: string;
	firstEventTime: string | null;
	lastEventTime: string | null;
	lastUpdateTime: string;
	resolvedTime: string | null;
	machineId: string | null;
	computerDnsName: string | null;
	rbacGroupName: string | null;
	aadTenantId: string;
	threatName: string | null;
	mitreTechniques: string[];
	relatedUser: RelatedUser | null;
	comments: AlertComment[];
}

export interface Evidence {
	entityType: 'User' | 'Process' | 'File' | 'Ip' | 'Url' | 'RegistryValue' | string;
	evidenceCreationTime: string;
	sha1: string | null;
	sha256: string | null;
	fileName: string | null;
	filePath: string | null;
	processId: number | null;
	processCommandLine: string | null;
	processCreationTime: string | null;
	parentProcessId: number | null;
	parentProcessCreationTime: string | null;
	parentProcessFileName: string | null;
	parentProcessFilePath: string | null;
	ipAddress: string | null;
	url: string | null;
	registryKey: string | null;
	registryHive: string | null;
	registryValueType: string | null;
	registryValue: string | null;
	accountName: string | null;
	domainName: string | null;
	userSid: string | null;
	aadUserId: string | null;
	userPrincipalName: string | null;
	detectionStatus: string | null;
}

export type AlertWithEvidence = Alert & { evidence: Evidence[] };

export const HEALTH_STATUSES = [
	'Active',
	'Inactive',
	'ImpairedCommunication',
	'NoSensorData',
	'NoSensorDataImpairedCommunication',
	'Unknown',
] as const;
export const RISK_SCORES = ['None', 'Informational', 'Low', 'Medium', 'High'] as const;
export const EXPOSURE_LEVELS = ['None', 'Low', 'Medium', 'High'] as const;
export const DEVICE_VALUES = ['Low', 'Normal', 'High'] as const;

export interface MachineIpAddress {
	ipAddress: string;
	macAddress: string;
	type: string;
	operationalStatus: string;
}

export interface Machine {
	id: string;
	computerDnsName: string;
	firstSeen: string;
	lastSeen: string;
	osPlatform: string;
	osVersion: string | null;
	osProcessor: string;
	version: string;
	lastIpAddress: string;
	lastExternalIpAddress: string;
	agentVersion: string;
	osBuild: number | null;
	healthStatus: string;
	deviceValue: string;
	rbacGroupId: number;
	rbacGroupName: string;
	riskScore: string;
	exposureLevel: string;
	isAadJoined: boolean;
	aadDeviceId: string | null;
	machineTags: string[];
	defenderAvStatus: string;
	onboardingStatus: string;
	osArchitecture: string;
	managedBy: string;
	managedByStatus: string;
	ipAddresses: MachineIpAddress[];
	vmMetadata: null;
}

export const MACHINE_ACTION_TYPES = [
	'RunAntiVirusScan',
	'Offboard',
	'LiveResponse',
	'CollectInvestigationPackage',
	'Isolate',
	'Unisolate',
	'StopAndQuarantineFile',
	'RestrictCodeExecution',
	'UnrestrictCodeExecution',
] as const;
export const MACHINE_ACTION_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'TimeOut', 'Cancelled'] as const;
export type MachineActionType = (typeof MACHINE_ACTION_TYPES)[number];
export type MachineActionStatus = (typeof MACHINE_ACTION_STATUSES)[number];
/** What a scripted action ends as; 'Stuck' stays Pending forever (the field's "stuck Pending"). */
export type MachineActionOutcome = 'Succeeded' | 'Failed' | 'TimeOut' | 'Stuck';

export interface MachineAction {
	id: string;
	type: MachineActionType;
	title: string;
	requestor: string;
	requestorComment: string;
	status: MachineActionStatus;
	machineId: string;
	computerDnsName: string;
	creationDateTimeUtc: string;
	lastUpdateDateTimeUtc: string;
	cancellationRequestor: string | null;
	cancellationComment: string | null;
	cancellationDateTimeUtc: string | null;
	errorHResult: number;
	scope: string | null;
	externalId: string | null;
	requestSource: string;
	relatedFileInfo: { fileIdentifier: string; fileIdentifierType: string } | null;
	commands: unknown[];
	troubleshootInfo: string | null;
}

export const INDICATOR_TYPES = [
	'FileSha1',
	'FileSha256',
	'FileMd5',
	'CertificateThumbprint',
	'IpAddress',
	'DomainName',
	'Url',
] as const;
export const INDICATOR_ACTIONS = ['Allowed', 'Audit', 'Block', 'BlockAndRemediate', 'Warn', 'Alert', 'AlertAndBlock'] as const;
export const INDICATOR_SEVERITIES = ['Informational', 'Low', 'Medium', 'High'] as const;

export interface Indicator {
	id: string;
	indicatorValue: string;
	indicatorType: string;
	action: string;
	application: string | null;
	source: string;
	sourceType: 'User' | 'AadApp';
	createdBy: string;
	createdByDisplayName: string;
	createdBySource: string;
	creationTimeDateTimeUtc: string;
	expirationTime: string | null;
	lastUpdateTime: string;
	lastUpdatedBy: string;
	severity: string;
	title: string;
	description: string;
	recommendedActions: string | null;
	rbacGroupNames: string[];
	rbacGroupIds: number[];
	generateAlert: boolean;
	educateUrl: string | null;
	externalID: string | null;
	mitreTechniques: string[];
	category: string | null;
}
