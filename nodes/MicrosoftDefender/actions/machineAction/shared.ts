import type { INodeProperties } from 'n8n-workflow';

export const machineActionIdProperty: INodeProperties = {
	displayName: 'Machine Action ID',
	name: 'machineActionId',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'e.g. 5382f7ea-7557-4ab7-9782-d50480024a4e',
	description: 'ID (GUID) of the machine action, as returned by a machine response action',
};

export const MACHINE_ACTION_TYPE_OPTIONS = [
	{ name: 'Collect Investigation Package', value: 'CollectInvestigationPackage' },
	{ name: 'Isolate', value: 'Isolate' },
	{ name: 'Live Response', value: 'LiveResponse' },
	{ name: 'Offboard', value: 'Offboard' },
	{ name: 'Release From Isolation', value: 'Unisolate' },
	{ name: 'Remove App Restriction', value: 'UnrestrictCodeExecution' },
	{ name: 'Restrict App Execution', value: 'RestrictCodeExecution' },
	{ name: 'Run Antivirus Scan', value: 'RunAntiVirusScan' },
	{ name: 'Stop and Quarantine File', value: 'StopAndQuarantineFile' },
];

export const MACHINE_ACTION_STATUS_OPTIONS = [
	{ name: 'Cancelled', value: 'Cancelled' },
	{ name: 'Failed', value: 'Failed' },
	{ name: 'In Progress', value: 'InProgress' },
	{ name: 'Pending', value: 'Pending' },
	{ name: 'Succeeded', value: 'Succeeded' },
	{ name: 'Timed Out', value: 'TimeOut' },
];
