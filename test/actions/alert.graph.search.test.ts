/** The Graph alert locator's list search (`searchGraphAlerts`) through n8n-core's LoadOptionsContext. */
import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { searchGraphAlerts } from '../../nodes/MicrosoftDefender/methods/alertSearch';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator } from '../emulator';
import { createHarness, emulatorCredentials, loadOptionsContext } from '../helpers/n8n';

let emu: Emulator;

beforeAll(async () => {
	transportSettings.rateLimitEnabled = false;
	emu = await startEmulator({});
	emu.alerts.seed(1200, { from: new Date(Date.now() - 86_400_000) });
});
afterAll(async () => await emu.close());

function calls(from: number) {
	return emu.requestLog.slice(from).filter((r) => r.path.startsWith('/v1.0/') || r.path.startsWith('/api/'));
}

test('newest Graph alerts first, title matching within Graph\'s $skip cap, and a direct ID lookup', async () => {
	const context = loadOptionsContext(
		createHarness(new MicrosoftDefender(), 'microsoftDefender', { resource: 'alert', source: 'graph', operation: 'get' }, emulatorCredentials(emu)),
		'alertId',
	);
	const future = new Date(Date.now() + 3_600_000).toISOString();
	const alert = emu.alerts.create({ title: 'Graph marker credential dumping', severity: 'High', status: 'InProgress', alertCreationTime: future, detectionSource: 'WindowsDefenderAtp' });

	let start = emu.requestLog.length;
	const newest = await searchGraphAlerts.call(context);
	expect(calls(start).map((c) => [c.method, c.path, c.query])).toEqual([
		['GET', '/v1.0/security/alerts_v2', { $orderby: 'createdDateTime desc', $top: '100' }],
	]);
	expect(newest.results[0]).toEqual({ name: 'Graph marker credential dumping (high, inProgress)', value: alert.id });
	expect(newest.paginationToken).toBe('100');

	start = emu.requestLog.length;
	const matched = await searchGraphAlerts.call(context, 'graph marker');
	expect(calls(start).map((c) => c.query)).toEqual([
		{ $orderby: 'createdDateTime desc', $top: '500' },
		{ $orderby: 'createdDateTime desc', $top: '500', $skip: '500' },
	]);
	// Graph refuses $skip beyond 500: no token to read further (a typed ID is still found directly).
	expect(matched.paginationToken).toBeUndefined();
	expect(matched.results).toEqual([{ name: 'Graph marker credential dumping (high, inProgress)', value: alert.id }]);

	start = emu.requestLog.length;
	const exact = await searchGraphAlerts.call(context, alert.id);
	expect(calls(start).map((c) => [c.method, c.path])).toEqual([['GET', `/v1.0/security/alerts_v2/${alert.id}`]]);
	expect(exact.results).toEqual([{ name: 'Graph marker credential dumping (high, inProgress)', value: alert.id }]);
});

test('the Graph locator uses the Graph search, the MDE locator the MDE search', () => {
	const locators = new MicrosoftDefender().description.properties.filter((p) => p.name === 'alertId');
	const methods = locators.map((p) => [p.displayOptions?.show?.source, p.modes?.find((m) => m.name === 'list')?.typeOptions?.searchListMethod]);
	expect(methods).toEqual(expect.arrayContaining([[['graph'], 'searchGraphAlerts']]));
	expect(methods.some(([source, method]) => method === 'searchAlerts' && (source === undefined || (source as string[]).includes('mde')))).toBe(true);
});
