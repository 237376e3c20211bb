/** MDE API enum values (PascalCase, reference §1.3–§1.7) with the labels the UI shows. */
import type { INodePropertyOptions } from 'n8n-workflow';

export const ALERT_STATUSES: INodePropertyOptions[] = [
	{ name: 'In Progress', value: 'InProgress' },
	{ name: 'New', value: 'New' },
	{ name: 'Resolved', value: 'Resolved' },
	{ name: 'Unknown', value: 'Unknown' },
];

export const ALERT_SEVERITIES: INodePropertyOptions[] = [
	{ name: 'High', value: 'High' },
	{ name: 'Informational', value: 'Informational' },
	{ name: 'Low', value: 'Low' },
	{ name: 'Medium', value: 'Medium' },
	{ name: 'UnSpecified', value: 'UnSpecified' },
];

export const ALERT_CATEGORIES: INodePropertyOptions[] = [
	{ name: 'Collection', value: 'Collection' },
	{ name: 'Command and Control', value: 'CommandAndControl' },
	{ name: 'Credential Access', value: 'CredentialAccess' },
	{ name: 'Defense Evasion', value: 'DefenseEvasion' },
	{ name: 'Discovery', value: 'Discovery' },
	{ name: 'Execution', value: 'Execution' },
	{ name: 'Exfiltration', value: 'Exfiltration' },
	{ name: 'Exploit', value: 'Exploit' },
	{ name: 'Initial Access', value: 'InitialAccess' },
	{ name: 'Lateral Movement', value: 'LateralMovement' },
	{ name: 'Malware', value: 'Malware' },
	{ name: 'Persistence', value: 'Persistence' },
	{ name: 'Privilege Escalation', value: 'PrivilegeEscalation' },
	{ name: 'Ransomware', value: 'Ransomware' },
	{ name: 'Suspicious Activity', value: 'SuspiciousActivity' },
	{ name: 'Unwanted Software', value: 'UnwantedSoftware' },
];

export const DETECTION_SOURCES: INodePropertyOptions[] = [
	{ name: 'Antivirus', value: 'WindowsDefenderAv' },
	{ name: 'Automated Investigation', value: 'AutomatedInvestigation' },
	{ name: 'Custom Detection', value: 'CustomDetection' },
	{ name: 'Custom TI', value: 'CustomerTI' },
	{ name: 'EDR', value: 'WindowsDefenderAtp' },
	{ name: 'Microsoft Defender for Office 365', value: 'OfficeATP' },
	{ name: 'Microsoft Defender XDR', value: 'MTP' },
	{ name: 'Microsoft Threat Experts', value: 'ThreatExperts' },
	{ name: 'SmartScreen', value: 'WindowsDefenderSmartScreen' },
	{ name: 'Third-Party Sensors', value: 'ThirdPartySensors' },
];

/** Graph alerts_v2 spellings (reference §6.3), labelled like the MDE lists so one maps to the other by label. */
export const GRAPH_ALERT_STATUSES: INodePropertyOptions[] = [
	{ name: 'In Progress', value: 'inProgress' },
	{ name: 'New', value: 'new' },
	{ name: 'Resolved', value: 'resolved' },
	{ name: 'Unknown', value: 'unknown' },
];

/** MDE's `UnSpecified` is Graph's `unknown`. */
export const GRAPH_ALERT_SEVERITIES: INodePropertyOptions[] = [
	{ name: 'High', value: 'high' },
	{ name: 'Informational', value: 'informational' },
	{ name: 'Low', value: 'low' },
	{ name: 'Medium', value: 'medium' },
	{ name: 'UnSpecified', value: 'unknown' },
];

/** The products whose alerts Graph returns (`serviceSource`). */
export const GRAPH_SERVICE_SOURCES: INodePropertyOptions[] = [
	{ name: 'Azure AD Identity Protection', value: 'azureAdIdentityProtection' },
	{ name: 'Data Loss Prevention', value: 'dataLossPrevention' },
	{ name: 'Microsoft 365 Defender', value: 'microsoft365Defender' },
	{ name: 'Microsoft App Governance', value: 'microsoftAppGovernance' },
	{ name: 'Microsoft Defender for Cloud', value: 'microsoftDefenderForCloud' },
	{ name: 'Microsoft Defender for Cloud Apps', value: 'microsoftDefenderForCloudApps' },
	{ name: 'Microsoft Defender for Endpoint', value: 'microsoftDefenderForEndpoint' },
	{ name: 'Microsoft Defender for Identity', value: 'microsoftDefenderForIdentity' },
	{ name: 'Microsoft Defender for Office 365', value: 'microsoftDefenderForOffice365' },
];

/** The Graph spelling of an MDE enum value: the option with the same label (the value itself when none). */
export function graphSpelling(value: string, mde: INodePropertyOptions[], graph: INodePropertyOptions[]): string {
	const label = mde.find((o) => o.value === value)?.name;
	const match = label === undefined ? undefined : graph.find((o) => o.name === label);
	return match ? String(match.value) : value;
}

export function enumValues(options: INodePropertyOptions[]): string[] {
	return options.map((o) => String(o.value));
}

/** Filter classifications. */
export const GRAPH_FILTER_CLASSIFICATIONS: INodePropertyOptions[] = [
	{ name: 'False Positive', value: 'falsePositive' },
	{ name: 'Informational, Expected Activity', value: 'informationalExpectedActivity' },
	{ name: 'True Positive', value: 'truePositive' },
	{ name: 'Unknown (Not Classified)', value: 'unknown' },
];

/** Filter determinations: the Graph SDK/metadata member names (§6.3), not the ones the docs' table lists. */
export const GRAPH_FILTER_DETERMINATIONS: INodePropertyOptions[] = [
	{ name: 'APT (Deprecated)', value: 'apt' },
	{ name: 'Compromised Account', value: 'compromisedAccount' },
	{ name: 'Confirmed Activity', value: 'confirmedActivity' },
	{ name: 'Line-of-Business Application', value: 'lineOfBusinessApplication' },
	{ name: 'Malicious User Activity', value: 'maliciousUserActivity' },
	{ name: 'Malware', value: 'malware' },
	{ name: 'Multi-Staged Attack', value: 'multiStagedAttack' },
	{ name: 'Not Enough Data to Validate', value: 'notEnoughDataToValidate' },
	{ name: 'Not Malicious', value: 'notMalicious' },
	{ name: 'Other', value: 'other' },
	{ name: 'Phishing', value: 'phishing' },
	{ name: 'Security Personnel (Deprecated)', value: 'securityPersonnel' },
	{ name: 'Security Testing', value: 'securityTesting' },
	{ name: 'Unknown (Not Determined)', value: 'unknown' },
	{ name: 'Unwanted Software', value: 'unwantedSoftware' },
];

/**
 * Graph incident statuses (resources/security-incident.md: active, resolved, inProgress, redirected,
 * unknownFutureValue, awaitingAction; awaitingAction is an evolvable member, returned only with
 * `Prefer: include-unknown-enum-members`).
 */
export const INCIDENT_STATUSES: INodePropertyOptions[] = [
	{ name: 'Active', value: 'active' },
	{ name: 'Awaiting Action', value: 'awaitingAction' },
	{ name: 'In Progress', value: 'inProgress' },
	{ name: 'Redirected (Merged Into Another Incident)', value: 'redirected' },
	{ name: 'Resolved', value: 'resolved' },
];

/** Incident severities: Graph's alertSeverity (resources/security-incident.md). */
export const INCIDENT_SEVERITIES: INodePropertyOptions[] = GRAPH_ALERT_SEVERITIES;
