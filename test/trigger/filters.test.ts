/**
 * Each trigger filter, alone and combined: the `$filter` the emulator received and the alerts emitted, for both
 * sources. Graph checks category and detection source on each alert read (they are not Graph filter fields).
 */
import type { IDataObject } from 'n8n-workflow';

import { clearTokenCache } from '../../nodes/MicrosoftDefender/transport/auth';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator } from '../emulator';
import { alertListQueries, pollIds, triggerHarness, ts7 } from './helpers';

let emu: Emulator;

beforeAll(() => {
	transportSettings.rateLimitEnabled = false;
});
beforeEach(async () => {
	emu = await startEmulator({});
	clearTokenCache();
	const at = (minutes: number) => ts7(emu.clock.now().getTime() - minutes * 60_000);
	const alert = (id: string, minutes: number, fields: IDataObject) =>
		emu.alerts.create({ id, alertCreationTime: at(minutes), lastUpdateTime: at(minutes), ...fields });
	alert('f1', 9, { status: 'New', severity: 'High', category: 'Malware', detectionSource: 'WindowsDefenderAv' });
	alert('f2', 8, { status: 'InProgress', severity: 'Medium', category: 'Execution', detectionSource: 'WindowsDefenderAtp' });
	alert('f3', 7, { status: 'Resolved', severity: 'Low', category: 'CredentialTheft', detectionSource: 'CustomDetection' });
	alert('f4', 6, { status: 'New', severity: 'Informational', category: 'Malware', detectionSource: 'WindowsDefenderAtp' });
	alert('f5', 5, { status: 'Unknown', severity: 'UnSpecified', category: 'Ransomware', detectionSource: 'WindowsDefenderAv' });
	alert('f6', 4, { status: 'InProgress', severity: 'High', category: 'Malware', detectionSource: 'WindowsDefenderAtp' });
});
afterEach(async () => await emu.close());

interface FilterCase {
	name: string;
	parameters: IDataObject;
	mdeFilter: string;
	graphFilter: string;
	emitted: string[];
}

const GRAPH_ALL = "serviceSource eq 'microsoftDefenderForEndpoint'";
const CASES: FilterCase[] = [
	{
		name: 'statuses',
		parameters: { statuses: ['New', 'InProgress'] },
		mdeFilter: "(status eq 'New' or status eq 'InProgress')",
		graphFilter: "(status eq 'new' or status eq 'inProgress')",
		emitted: ['f1', 'f2', 'f4', 'f6'],
	},
	{
		name: 'severities',
		parameters: { severities: ['High', 'UnSpecified'] },
		mdeFilter: "(severity eq 'High' or severity eq 'UnSpecified')",
		graphFilter: "(severity eq 'high' or severity eq 'unknown')",
		emitted: ['f1', 'f5', 'f6'],
	},
	{
		name: 'categories, with a legacy name from Other Categories',
		parameters: { categories: ['Malware'], customCategories: 'CredentialTheft' },
		mdeFilter: "(category eq 'Malware' or category eq 'CredentialTheft')",
		graphFilter: '',
		emitted: ['f1', 'f3', 'f4', 'f6'],
	},
	{
		name: 'detection sources',
		parameters: { options: { detectionSources: ['CustomDetection', 'WindowsDefenderAv'] } },
		mdeFilter: "(detectionSource eq 'CustomDetection' or detectionSource eq 'WindowsDefenderAv')",
		graphFilter: '',
		emitted: ['f1', 'f3', 'f5'],
	},
	{
		name: 'a combination (AND between fields, OR inside one)',
		parameters: {
			statuses: ['New', 'InProgress'],
			severities: ['High', 'Informational'],
			categories: ['Malware'],
			options: { detectionSources: ['WindowsDefenderAtp'] },
		},
		mdeFilter:
			"(status eq 'New' or status eq 'InProgress') and (severity eq 'High' or severity eq 'Informational') and category eq 'Malware' and detectionSource eq 'WindowsDefenderAtp'",
		graphFilter: "(status eq 'new' or status eq 'inProgress') and (severity eq 'high' or severity eq 'informational')",
		emitted: ['f4', 'f6'],
	},
];

describe.each([
	{ source: 'mde', path: '/api/alerts', cursor: 'alertCreationTime' },
	{ source: 'graph', path: '/v1.0/security/alerts_v2', cursor: 'createdDateTime' },
])('source: $source', ({ source, path, cursor }) => {
	test.each(CASES)('$name', async (c) => {
		const parameters = { ...c.parameters, source, serviceSources: source === 'graph' ? [] : undefined };
		const h = triggerHarness(emu, parameters);
		expect(await pollIds(h)).toEqual(c.emitted);
		const [query] = alertListQueries(emu, path);
		const expected = source === 'mde' ? c.mdeFilter : c.graphFilter;
		expect(query.$filter).toMatch(new RegExp(`^${escape(expected ? `${expected} and ` : '')}${cursor} ge \\d{4}-`));
	});
});

test('Graph: the default service source is Defender for Endpoint', async () => {
	await pollIds(triggerHarness(emu, { source: 'graph' }));
	expect(alertListQueries(emu, '/v1.0/security/alerts_v2')[0].$filter).toMatch(
		new RegExp(`^${escape(GRAPH_ALL)} and createdDateTime ge `),
	);
});

function escape(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
