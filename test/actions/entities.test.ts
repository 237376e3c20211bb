/**
 * The File, IP Address, Domain and User resources run through n8n-core's ExecuteContext against the emulator: the
 * exact request each operation sends (path, lookBackHours), items equal to what the emulator holds, one request per
 * list (none of these lists pages), the permission a 403 names for each resource (Alert › Get Related shares the
 * reads and names its permissions too), Continue On Fail, and bad input refused before any request: a bad or
 * wrong-kind hash, a bad IP address or domain, a UPN or DOMAIN\user, a bad lookback.
 */
import type { IDataObject, INodeExecutionData, NodeApiError } from 'n8n-workflow';

import { transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator } from '../emulator';
import { makeEvidence } from '../emulator/data';
import type { Alert, Evidence, Machine } from '../emulator/types';
import { actionRunner, failure } from '../helpers/actions';

let emu: Emulator;

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	emu = await startEmulator();
});

afterAll(async () => {
	await emu?.close();
});

const run = actionRunner(() => emu);
const mark = () => emu.requestLog.length;
const apiCalls = (from: number) => emu.requestLog.slice(from).filter((e) => e.path.startsWith('/api/'));
const requests = (from: number) => apiCalls(from).map((e) => ({ method: e.method, path: e.path, query: e.query, status: e.status }));
const jsonOf = (output: INodeExecutionData[]) => output.map((i) => i.json);
/** As the API serves an alert in a list: without evidence. */
const listed = (alerts: Alert[]) => alerts.map((a) => ({ ...a, evidence: [] }));
const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const SHA1 = '3395856ce81f2b7382dee72602f798b642f14140';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

const hoursAgo = (h: number) => new Date(emu.clock.now().getTime() - h * 3600000).toISOString();

/** An alert on `machine` created `hours` ago with exactly this evidence (and user). */
function alertOn(machine: Machine, hours: number, evidence: (at: string) => Evidence[], extra: Partial<Alert> = {}): Alert {
	const at = hoursAgo(hours);
	return emu.alerts.create({ machineId: machine.id, alertCreationTime: at, relatedUser: null, investigationId: null, evidence: evidence(at), ...extra });
}

let m1: Machine;
let m2: Machine;
let m3: Machine;
let alerts: Alert[];

beforeEach(() => {
	emu.reset();
	[m1, m2, m3] = emu.machines.seed(3);
	alerts = [
		alertOn(m1, 100, (at) => [
			makeEvidence('File', at, { sha1: SHA1, sha256: SHA256, fileName: 'loader.dll', filePath: 'C:\\Temp' }),
			makeEvidence('Ip', at, { ipAddress: '203.0.113.7' }),
			makeEvidence('Url', at, { url: 'https://evil.example.com/gate.php' }),
		], { relatedUser: { userName: 'maria.garcia', domainName: 'CONTOSO' } }),
		alertOn(m2, 20, (at) => [
			makeEvidence('File', at, { sha1: SHA1, sha256: SHA256, fileName: 'loader.dll', filePath: 'C:\\Temp' }),
			makeEvidence('Ip', at, { ipAddress: '2001:db8::7' }),
			makeEvidence('User', at, { accountName: 'maria.garcia', domainName: 'CONTOSO' }),
		]),
		alertOn(m3, 2, (at) => [
			makeEvidence('Ip', at, { ipAddress: '203.0.113.7' }),
			makeEvidence('Url', at, { url: 'http://EVIL.example.com/x' }),
		], { relatedUser: { userName: 'john.doe', domainName: 'CONTOSO' } }),
	];
});

describe('file', () => {
	it('Get by SHA-1 or SHA-256 (any case): GET /api/files/{hash}, the file profile as one item', async () => {
		for (const hash of [SHA1, SHA256.toUpperCase()]) {
			const start = mark();
			const output = await run({ resource: 'file', operation: 'get', fileHash: ` ${hash} ` });
			expect(requests(start)).toEqual([{ method: 'GET', path: `/api/files/${hash.toLowerCase()}`, query: {}, status: 200 }]);
			expect(jsonOf(output)).toEqual([asJson(emu.entities.file(SHA1))]);
			expect(output[0].pairedItem).toEqual({ item: 0 });
		}
	});

	it('Get Statistics: GET /api/files/{hash}/stats, with lookBackHours only when the option is set', async () => {
		let start = mark();
		let output = await run({ resource: 'file', operation: 'getStatistics', fileHash: SHA1 });
		expect(requests(start)).toEqual([{ method: 'GET', path: `/api/files/${SHA1}/stats`, query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual([asJson(emu.entities.fileStats(SHA1))]);
		expect(output[0].json).toMatchObject({ organizationPrevalence: 2, orgFirstSeen: alerts[0].alertCreationTime, orgLastSeen: alerts[1].alertCreationTime });

		start = mark();
		output = await run({ resource: 'file', operation: 'getStatistics', fileHash: SHA256, options: { lookBackHours: 48 } });
		expect(requests(start)).toEqual([{ method: 'GET', path: `/api/files/${SHA256}/stats`, query: { lookBackHours: '48' }, status: 200 }]);
		expect(jsonOf(output)).toEqual([asJson(emu.entities.fileStats(SHA1, 48))]);
		expect(output[0].json).toMatchObject({ organizationPrevalence: 1, orgFirstSeen: alerts[1].alertCreationTime });
	});

	it('Get Related Alerts and Machines: one request each, one item per alert or machine', async () => {
		let start = mark();
		let output = await run({ resource: 'file', operation: 'getRelatedAlerts', fileHash: SHA1.toUpperCase() });
		expect(requests(start)).toEqual([{ method: 'GET', path: `/api/files/${SHA1}/alerts`, query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual(asJson(listed(emu.entities.fileAlerts(SHA1))));
		expect(output.map((i) => i.json.id)).toEqual([alerts[0].id, alerts[1].id]);
		expect(output.every((i) => (i.pairedItem as { item: number }).item === 0)).toBe(true);

		start = mark();
		output = await run({ resource: 'file', operation: 'getRelatedMachines', fileHash: SHA1 });
		expect(requests(start)).toEqual([{ method: 'GET', path: `/api/files/${SHA1}/machines`, query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual(asJson(emu.entities.fileMachines(SHA1)));
		expect(output.map((i) => i.json.id)).toEqual([m1.id, m2.id]);
	});

	it('an unknown file: Get fails with the API 404 (or an error item with Continue On Fail); its related lists are empty', async () => {
		const unknown = 'f'.repeat(40);
		const error = await failure(run({ resource: 'file', operation: 'get', fileHash: unknown }));
		expect(error.httpCode).toBe('404');
		expect(error.message).toMatch(new RegExp(`^GET /api/files/${unknown} failed: HTTP 404 ResourceNotFound`));
		const output = await run(
			{ resource: 'file', operation: 'get', fileHash: '={{ $json.hash }}' },
			[{ json: { hash: unknown } }, { json: { hash: SHA1 } }, { json: { hash: MD5 } }],
			{ continueOnFail: true },
		);
		expect(output.map((i) => [i.pairedItem, i.json.httpCode ?? i.json.sha1 ?? i.json.error])).toEqual([
			[{ item: 0 }, '404'],
			[{ item: 1 }, SHA1],
			[{ item: 2 }, expect.stringMatching(/is an MD5 hash, which this call does not take/)],
		]);
		expect(await run({ resource: 'file', operation: 'getRelatedAlerts', fileHash: unknown })).toEqual([]);
	});
});

describe('IP address', () => {
	it('Get Statistics and Get Related Alerts for IPv4 and IPv6 (encoded in the path)', async () => {
		let start = mark();
		let output = await run({ resource: 'ip', operation: 'getStatistics', ipAddress: '203.0.113.7', options: { lookBackHours: 720 } });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/ips/203.0.113.7/stats', query: { lookBackHours: '720' }, status: 200 }]);
		expect(jsonOf(output)).toEqual([emu.entities.ipStats('203.0.113.7', 720)]);
		expect(output[0].json).toMatchObject({ organizationPrevalence: 2, orgLastSeen: alerts[2].alertCreationTime });

		start = mark();
		output = await run({ resource: 'ip', operation: 'getRelatedAlerts', ipAddress: '203.0.113.7' });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/ips/203.0.113.7/alerts', query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual(asJson(listed(emu.entities.ipAlerts('203.0.113.7'))));
		expect(output.map((i) => i.json.id)).toEqual([alerts[0].id, alerts[2].id]);

		start = mark();
		output = await run({ resource: 'ip', operation: 'getRelatedAlerts', ipAddress: '2001:db8::7' });
		// The log holds the decoded path; the node sent /api/ips/2001%3Adb8%3A%3A7/alerts.
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/ips/2001:db8::7/alerts', query: {}, status: 200 }]);
		expect(output.map((i) => i.json.id)).toEqual([alerts[1].id]);

		output = await run({ resource: 'ip', operation: 'getStatistics', ipAddress: '192.0.2.1' });
		expect(jsonOf(output)).toEqual([{ ipAddress: '192.0.2.1', organizationPrevalence: 0, orgFirstSeen: null, orgLastSeen: null }]);
	});
});

describe('domain', () => {
	it('Get Statistics, Get Related Alerts and Get Related Machines (the domain lower-cased)', async () => {
		let start = mark();
		let output = await run({ resource: 'domain', operation: 'getStatistics', domain: 'Evil.Example.com', options: { lookBackHours: 24 } });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/domains/evil.example.com/stats', query: { lookBackHours: '24' }, status: 200 }]);
		expect(jsonOf(output)).toEqual([emu.entities.domainStats('evil.example.com', 24)]);
		expect(output[0].json).toMatchObject({ organizationPrevalence: 1, orgFirstSeen: alerts[2].alertCreationTime });

		start = mark();
		output = await run({ resource: 'domain', operation: 'getRelatedAlerts', domain: 'evil.example.com' });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/domains/evil.example.com/alerts', query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual(asJson(listed(emu.entities.domainAlerts('evil.example.com'))));
		expect(output.map((i) => i.json.id)).toEqual([alerts[0].id, alerts[2].id]);

		start = mark();
		output = await run({ resource: 'domain', operation: 'getRelatedMachines', domain: 'evil.example.com' });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/domains/evil.example.com/machines', query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual(asJson(emu.entities.domainMachines('evil.example.com')));
		expect(output.map((i) => i.json.id)).toEqual([m1.id, m3.id]);
	});

	it('takes the domain an alert lists: Alert › Get Related › Domains feeds Domain › Get Related Alerts', async () => {
		const [related] = await run({ resource: 'alert', operation: 'getRelated', alertId: { __rl: true, mode: 'id', value: alerts[0].id }, entityType: 'domains' });
		const output = await run({ resource: 'domain', operation: 'getRelatedAlerts', domain: '={{ $json.host }}' }, [related]);
		expect(output.map((i) => i.json.id)).toEqual([alerts[0].id, alerts[2].id]);
	});
});

describe('user', () => {
	it('Get Related Alerts and Get Related Machines by account name, one item each', async () => {
		let start = mark();
		let output = await run({ resource: 'user', operation: 'getRelatedAlerts', userName: 'maria.garcia' });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/users/maria.garcia/alerts', query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual(asJson(listed(emu.entities.userAlerts('maria.garcia'))));
		expect(output.map((i) => i.json.id)).toEqual([alerts[0].id, alerts[1].id]);

		start = mark();
		output = await run({ resource: 'user', operation: 'getRelatedMachines', userName: 'maria.garcia' });
		expect(requests(start)).toEqual([{ method: 'GET', path: '/api/users/maria.garcia/machines', query: {}, status: 200 }]);
		expect(jsonOf(output)).toEqual(asJson(emu.entities.userMachines('maria.garcia')));
		expect(output.map((i) => i.json.id)).toEqual([m1.id, m2.id]);
	});

	it("takes an alert's relatedUser.userName, one output list per input item", async () => {
		const items = alerts.map((a) => ({ json: { user: a.relatedUser?.userName ?? 'maria.garcia' } }));
		const output = await run({ resource: 'user', operation: 'getRelatedMachines', userName: '={{ $json.user }}' }, items);
		expect(output.map((i) => [(i.pairedItem as { item: number }).item, i.json.id])).toEqual([
			[0, m1.id],
			[0, m2.id],
			[1, m1.id],
			[1, m2.id],
			[2, m3.id],
		]);
	});
});

describe('a 403 names the missing permission', () => {
	const cases: Array<[string, IDataObject, string[], RegExp]> = [
		['File › Get', { resource: 'file', operation: 'get', fileHash: SHA1 }, ['Alert.ReadWrite.All'], /Reading a file needs the WindowsDefenderATP application permission File\.Read\.All, with admin consent\./],
		['File › Get Statistics', { resource: 'file', operation: 'getStatistics', fileHash: SHA1 }, ['Alert.ReadWrite.All'], /needs the WindowsDefenderATP application permission File\.Read\.All/],
		['File › Get Related Alerts', { resource: 'file', operation: 'getRelatedAlerts', fileHash: SHA1 }, ['File.Read.All'], /Reading a file's alerts needs the WindowsDefenderATP application permission Alert\.Read\.All \(or Alert\.ReadWrite\.All\)/],
		['File › Get Related Machines', { resource: 'file', operation: 'getRelatedMachines', fileHash: SHA1 }, ['File.Read.All'], /permission Machine\.Read\.All \(or Machine\.ReadWrite\.All\)/],
		['IP › Get Statistics', { resource: 'ip', operation: 'getStatistics', ipAddress: '203.0.113.7' }, ['Alert.ReadWrite.All'], /permission Ip\.Read\.All/],
		['IP › Get Related Alerts', { resource: 'ip', operation: 'getRelatedAlerts', ipAddress: '203.0.113.7' }, ['Ip.Read.All'], /permission Alert\.Read\.All/],
		['Domain › Get Statistics', { resource: 'domain', operation: 'getStatistics', domain: 'evil.example.com' }, ['Alert.ReadWrite.All'], /permission URL\.Read\.All/],
		['Domain › Get Related Alerts', { resource: 'domain', operation: 'getRelatedAlerts', domain: 'evil.example.com' }, ['Alert.Read.All'], /permission Alert\.ReadWrite\.All \(the page of this call lists only it; its earlier versions also listed Alert\.Read\.All\)/],
		['Domain › Get Related Machines', { resource: 'domain', operation: 'getRelatedMachines', domain: 'evil.example.com' }, ['URL.Read.All'], /permission Machine\.Read\.All/],
		['User › Get Related Alerts', { resource: 'user', operation: 'getRelatedAlerts', userName: 'maria.garcia' }, ['User.Read.All'], /permission Alert\.Read\.All/],
		['User › Get Related Machines', { resource: 'user', operation: 'getRelatedMachines', userName: 'maria.garcia' }, ['Machine.Read.All'], /Reading a user's machines needs the WindowsDefenderATP application permission Machine\.ReadWrite\.All/],
		['Alert › Get Related › Files', { resource: 'alert', operation: 'getRelated', entityType: 'files' }, ['Alert.Read.All'], /Reading an alert's files needs the WindowsDefenderATP application permission File\.Read\.All/],
		['Alert › Get Related › User', { resource: 'alert', operation: 'getRelated', entityType: 'user' }, ['Alert.Read.All'], /Reading an alert's user needs the WindowsDefenderATP application permission User\.Read\.All/],
	];

	it.each(cases)('%s', async (_name, parameters, roles, message) => {
		const client = emu.addClient({ roles });
		const start = mark();
		const error = await failure(
			run({ alertId: { __rl: true, mode: 'id', value: alerts[0].id }, ...parameters }, [{ json: {} }], { client }),
		);
		expect((error as NodeApiError).httpCode).toBe('403');
		expect(error.message).toMatch(/failed: HTTP 403 Forbidden/);
		expect(error.message).toMatch(message);
		expect(requests(start).map((r) => r.status)).toEqual([403]);
	});
});

describe('bad input is refused before any request', () => {
	const cases: Array<[string, IDataObject, RegExp]> = [
		['an empty hash', { resource: 'file', operation: 'get', fileHash: '  ' }, /File Hash is empty/],
		['a hash that is none', { resource: 'file', operation: 'get', fileHash: 'abc123' }, /File Hash "abc123" is not a file hash: enter a SHA-1 \(40 hexadecimal characters\) or a SHA-256/],
		['an MD5 for Get', { resource: 'file', operation: 'get', fileHash: MD5 }, /is an MD5 hash, which this call does not take: enter the file's SHA-1 .* or a SHA-256/],
		['a SHA-256 for related alerts', { resource: 'file', operation: 'getRelatedAlerts', fileHash: SHA256 }, /is a SHA-256 hash, which this call does not take: enter the file's SHA-1 \(40 hexadecimal characters\)\./],
		['a SHA-256 for related machines', { resource: 'file', operation: 'getRelatedMachines', fileHash: SHA256 }, /is a SHA-256 hash/],
		['a path in the hash', { resource: 'file', operation: 'getStatistics', fileHash: `${SHA1}/../x` }, /is not a file hash/],
		['a lookback of 0', { resource: 'file', operation: 'getStatistics', fileHash: SHA1, options: { lookBackHours: 0 } }, /Lookback \(Hours\) "0" is not valid: enter a whole number of hours from 1 to 720/],
		['a lookback over 30 days', { resource: 'ip', operation: 'getStatistics', ipAddress: '203.0.113.7', options: { lookBackHours: 721 } }, /Lookback \(Hours\) "721" is not valid/],
		['a fractional lookback', { resource: 'domain', operation: 'getStatistics', domain: 'example.com', options: { lookBackHours: 2.5 } }, /Lookback \(Hours\) "2.5" is not valid/],
		['a lookback that is no number', { resource: 'domain', operation: 'getStatistics', domain: 'example.com', options: { lookBackHours: 'a day' } }, /Lookback \(Hours\) "a day" is not valid/],
		['a bad IP address', { resource: 'ip', operation: 'getStatistics', ipAddress: '10.0.0.256' }, /IP Address "10\.0\.0\.256" is not an IPv4 or IPv6 address/],
		['a CIDR range', { resource: 'ip', operation: 'getRelatedAlerts', ipAddress: '10.0.0.0/8' }, /IP Address "10\.0\.0\.0\/8" is not an IPv4 or IPv6 address/],
		['a URL for a domain', { resource: 'domain', operation: 'getRelatedAlerts', domain: 'https://evil.example.com/x' }, /Domain "https:\/\/evil\.example\.com\/x" is not a domain name such as example\.com/],
		['a UPN', { resource: 'user', operation: 'getRelatedAlerts', userName: 'maria.garcia@contoso.com' }, /User Name "maria\.garcia@contoso\.com" is a user principal name \(UPN\)\. Defender's user APIs take the account name only, not the UPN: for maria\.garcia@contoso\.com that is usually "maria\.garcia"/],
		['DOMAIN\\user', { resource: 'user', operation: 'getRelatedMachines', userName: 'CONTOSO\\maria.garcia' }, /User Name "CONTOSO\\maria\.garcia" includes the domain\. Defender's user APIs take the account name only: enter "maria\.garcia"\./],
		['a path in the user name', { resource: 'user', operation: 'getRelatedAlerts', userName: '../machines' }, /User Name "\.\.\/machines" is not an account name/],
		['an empty user name', { resource: 'user', operation: 'getRelatedAlerts', userName: '' }, /User Name is empty/],
	];

	it.each(cases)('%s', async (_name, parameters, message) => {
		const before = emu.stats().total;
		const error = await failure(run(parameters));
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toMatch(message);
		expect(emu.stats().total).toBe(before);
	});
});
