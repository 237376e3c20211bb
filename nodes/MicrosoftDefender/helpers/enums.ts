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

export function enumValues(options: INodePropertyOptions[]): string[] {
	return options.map((o) => String(o.value));
}
