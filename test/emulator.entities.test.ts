/**
 * The emulator's entity APIs (files, IP addresses, domains, users) and automated investigations: everything derived
 * from the alerts' evidence and machines (related alerts and machines, statistics within the lookback window, the
 * file profile shared with /api/alerts/{id}/files), the investigations of alerts with an investigationId and those
 * started through the API (lifecycle on the emulator clock, outcomes, unsupported OS), OData on the investigation
 * list, the role each route needs, input errors, the start rate limit, the handles and reset().
 *
 * Requests go through https.request with the emulator CA passed explicitly (test/helpers/emulatorHttp.ts).
 */
import { startEmulator, type Emulator } from './emulator';
import { makeEvidence } from './emulator/data';
import type { Alert, Evidence, Machine } from './emulator/types';
import { closeEmulatorConnections, emulatorCall, emulatorToken, MDE_SCOPE, type EmulatorResponse } from './helpers/emulatorHttp';

let emu: Emulator;
const tokens = new Map<string, string>();

const call = (method: string, urlPath: string, token?: string, json?: unknown): Promise<EmulatorResponse> =>
	emulatorCall(emu, method, urlPath, { token, json });

/** An MDE token for a client holding exactly `roles` (default: the default client, every role). */
async function tokenFor(roles?: string[]): Promise<string> {
	const key = roles ? roles.join(',') || '(none)' : '(default)';
	const cached = tokens.get(key);
	if (cached) return cached;
	const client = roles ? emu.addClient({ roles }) : emu.client;
	const token = await emulatorToken(emu, client, MDE_SCOPE);
	tokens.set(key, token);
	return token;
}

const api = async (method: string, path: string, json?: unknown) => await call(method, path, await tokenFor(), json);
const ids = (res: EmulatorResponse): string[] => {
	expect(res.status).toBe(200);
	return res.json.value.map((v: { id: string }) => v.id);
};

const hoursAgo = (h: number) => new Date(emu.clock.now().getTime() - h * 3600000).toISOString();
const SHA1 = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3';
const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

const file = (at: string, name = 'payload.dll', path = 'C:\\Users\\maria\\AppData\\Local\\Temp') =>
	makeEvidence('File', at, { sha1: SHA1, sha256: SHA256, fileName: name, filePath: path, detectionStatus: 'Detected' });
const ipEvidence = (at: string, ip: string) => makeEvidence('Ip', at, { ipAddress: ip });
const urlEvidence = (at: string, url: string) => makeEvidence('Url', at, { url });
const userEvidence = (at: string, accountName: string) => makeEvidence('User', at, { accountName, domainName: 'CONTOSO' });

/** An alert on `machine`, created `hours` ago, with exactly `evidence` (built with its creation time). */
function alertOn(machine: Machine | null, hours: number, evidence: (at: string) => Evidence[], extra: Partial<Alert> = {}): Alert {
	const at = hoursAgo(hours);
	return emu.alerts.create({
		machineId: machine?.id ?? null,
		alertCreationTime: at,
		relatedUser: null,
		investigationId: null,
		threatName: null,
		evidence: evidence(at),
		...extra,
	});
}

beforeAll(async () => {
	emu = await startEmulator();
});
afterAll(async () => {
	closeEmulatorConnections();
	await emu.close();
});
beforeEach(() => emu.reset());

// ------------------------------------------------------------------------------------------------

describe('files', () => {
	function fixture() {
		const [m1, m2, m3] = emu.machines.seed(3);
		const a = alertOn(m1, 100, (at) => [file(at, 'payload.dll')]);
		const b = alertOn(m2, 10, (at) => [file(at, 'update.exe')]);
		const c = alertOn(m1, 5, (at) => [file(at, 'payload.dll')], { threatName: 'Trojan:Win32/Emu' });
		const other = alertOn(m3, 4, (at) => [ipEvidence(at, '198.51.100.1')]);
		return { m1, m2, m3, a, b, c, other };
	}

	test('a file is found by SHA-1, SHA-256 or MD5 with the File properties; unknown → 404, not a hash → 400', async () => {
		fixture();
		const bySha1 = await api('GET', `/api/files/${SHA1}`);
		expect(bySha1.status).toBe(200);
		expect(bySha1.json['@odata.context']).toBe(`${emu.url}/api/$metadata#Files/$entity`);
		const { '@odata.context': _c, ...entity } = bySha1.json;
		expect(entity).toEqual(emu.entities.file(SHA1));
		expect(entity).toMatchObject({ sha1: SHA1, sha256: SHA256, isPeFile: true, determinationType: 'Malware', determinationValue: 'Trojan:Win32/Emu' });
		for (const key of ['globalPrevalence', 'globalFirstObserved', 'globalLastObserved', 'size', 'fileType', 'filePublisher', 'fileProductName', 'signer', 'issuer', 'signerHash', 'isValidCertificate']) {
			expect(entity).toHaveProperty(key);
		}
		expect(entity.globalPrevalence).toBeGreaterThanOrEqual(2);
		expect(entity.globalFirstObserved < emu.alerts.all()[0].alertCreationTime).toBe(true);
		expect((await api('GET', `/api/files/${SHA256.toUpperCase()}`)).json.sha1).toBe(SHA1);
		expect((await api('GET', `/api/files/${entity.md5}`)).json.sha1).toBe(SHA1);
		const unknown = await api('GET', `/api/files/${'0'.repeat(40)}`);
		expect(unknown.status).toBe(404);
		expect(unknown.json.error.code).toBe('ResourceNotFound');
		const bad = await api('GET', '/api/files/not-a-hash');
		expect(bad.status).toBe(400);
		expect(bad.json.error.code).toBe('InvalidHashValue');
	});

	test('related alerts and machines: the alerts whose evidence has the SHA-1, their machines; SHA-256 → 400; unknown → empty', async () => {
		const { m1, m2, a, b, c } = fixture();
		const alerts = await api('GET', `/api/files/${SHA1}/alerts`);
		expect(alerts.json['@odata.context']).toBe(`${emu.url}/api/$metadata#Alerts`);
		expect(ids(alerts)).toEqual([a.id, b.id, c.id]);
		expect(alerts.json.value[1]).toEqual({ ...emu.alerts.all().find((x) => x.id === b.id), evidence: [] });
		expect(ids(await api('GET', `/api/files/${SHA1}/machines`))).toEqual([m1.id, m2.id]);
		expect((await api('GET', `/api/files/${SHA1}/machines`)).json.value[0]).toEqual(emu.machines.get(m1.id));
		expect(ids(await api('GET', `/api/files/${'1'.repeat(40)}/alerts`))).toEqual([]);
		expect(ids(await api('GET', `/api/files/${'1'.repeat(40)}/machines`))).toEqual([]);
		for (const suffix of ['alerts', 'machines']) {
			const res = await api('GET', `/api/files/${SHA256}/${suffix}`);
			expect(res.status).toBe(400);
			expect(res.json.error).toMatchObject({ code: 'InvalidHashValue', message: expect.stringMatching(/Only SHA-1/) });
		}
		// A machine removed from the tenant is no longer listed.
		emu.machines.remove(m2.id);
		expect(ids(await api('GET', `/api/files/${SHA1}/machines`))).toEqual([m1.id]);
	});

	test('statistics: distinct machines and first/last alert within the lookback window; lookBackHours is checked', async () => {
		const { a, b, c } = fixture();
		const all = await api('GET', `/api/files/${SHA1}/stats`);
		expect(all.status).toBe(200);
		expect(all.json).toEqual({
			'@odata.context': `${emu.url}/api/$metadata#microsoft.windowsDefenderATP.api.InOrgFileStats`,
			sha1: SHA1,
			organizationPrevalence: 2,
			orgFirstSeen: a.alertCreationTime,
			orgLastSeen: c.alertCreationTime,
			globallyPrevalence: emu.entities.file(SHA1)!.globalPrevalence,
			globalFirstObserved: emu.entities.file(SHA1)!.globalFirstObserved,
			globalLastObserved: emu.entities.file(SHA1)!.globalLastObserved,
			topFileNames: ['payload.dll', 'update.exe'],
		});
		const recent = await api('GET', `/api/files/${SHA256}/stats?lookBackHours=48`);
		expect(recent.json).toMatchObject({ sha1: SHA1, organizationPrevalence: 2, orgFirstSeen: b.alertCreationTime, orgLastSeen: c.alertCreationTime });
		expect(recent.json.topFileNames).toEqual(['update.exe', 'payload.dll']);
		const lastHours = await api('GET', `/api/files/${SHA1}/stats?lookbackhours=6`);
		expect(lastHours.json).toMatchObject({ organizationPrevalence: 1, orgFirstSeen: c.alertCreationTime, orgLastSeen: c.alertCreationTime, topFileNames: ['payload.dll'] });
		const none = await api('GET', `/api/files/${SHA1}/stats?lookBackHours=1`);
		expect(none.json).toMatchObject({ organizationPrevalence: 0, orgFirstSeen: null, orgLastSeen: null, topFileNames: [] });
		expect(recent.json).toEqual({ '@odata.context': recent.json['@odata.context'], ...emu.entities.fileStats(SHA1, 48) });
		for (const bad of ['721', '0', '-5', '2.5', 'abc']) {
			const res = await api('GET', `/api/files/${SHA1}/stats?lookBackHours=${bad}`);
			expect(res.status).toBe(400);
			expect(res.json.error.code).toBe('InvalidInput');
		}
		expect((await api('GET', `/api/files/${'2'.repeat(40)}/stats`)).status).toBe(404);
		expect((await api('GET', `/api/files/${'2'.repeat(32)}/stats`)).status).toBe(400);
	});

	test("an alert's related files are the same profiles as GET /api/files/{sha1}", async () => {
		const { c } = fixture();
		const related = await api('GET', `/api/alerts/${c.id}/files`);
		expect(related.json.value).toEqual([emu.entities.file(SHA1)]);
		// Generated evidence too: a process and a file per alert.
		const generated = emu.alerts.create({ title: 'Possible data exfiltration over HTTP' });
		const files = (await api('GET', `/api/alerts/${generated.id}/files`)).json.value;
		expect(files.length).toBeGreaterThan(0);
		for (const f of files) expect(f).toEqual(emu.entities.file(f.sha1));
	});

	test('alerts not yet visible (ingestion delay) do not count until the clock reaches them', async () => {
		const [m] = emu.machines.seed(1);
		const at = hoursAgo(1);
		const late = emu.alerts.create({ machineId: m.id, alertCreationTime: at, evidence: [file(at)] }, { visibleAt: new Date(emu.clock.now().getTime() + 60000) });
		expect((await api('GET', `/api/files/${SHA1}`)).status).toBe(404);
		expect(ids(await api('GET', `/api/files/${SHA1}/alerts`))).toEqual([]);
		emu.clock.advance(61000);
		expect(ids(await api('GET', `/api/files/${SHA1}/alerts`))).toEqual([late.id]);
	});
});

describe('IP addresses, domains and users', () => {
	test('IP: related alerts and statistics from Ip evidence; a valid unknown address has prevalence 0; an invalid one → 400', async () => {
		const [m1, m2] = emu.machines.seed(2);
		const a = alertOn(m1, 30, (at) => [ipEvidence(at, '203.0.113.7')]);
		const b = alertOn(m2, 3, (at) => [ipEvidence(at, '203.0.113.7'), ipEvidence(at, '203.0.113.8')]);
		alertOn(m2, 2, (at) => [ipEvidence(at, '203.0.113.8')]);
		expect(ids(await api('GET', '/api/ips/203.0.113.7/alerts'))).toEqual([a.id, b.id]);
		const stats = await api('GET', '/api/ips/203.0.113.7/stats');
		expect(stats.json).toEqual({
			'@odata.context': `${emu.url}/api/$metadata#microsoft.windowsDefenderATP.api.InOrgIPStats`,
			ipAddress: '203.0.113.7',
			organizationPrevalence: 2,
			orgFirstSeen: a.alertCreationTime,
			orgLastSeen: b.alertCreationTime,
		});
		expect((await api('GET', '/api/ips/203.0.113.7/stats?lookBackHours=24')).json).toMatchObject({ organizationPrevalence: 1, orgFirstSeen: b.alertCreationTime });
		expect((await api('GET', '/api/ips/203.0.113.8/stats')).json.organizationPrevalence).toBe(1);
		expect((await api('GET', '/api/ips/192.0.2.99/stats')).json).toMatchObject({ ipAddress: '192.0.2.99', organizationPrevalence: 0, orgFirstSeen: null, orgLastSeen: null });
		expect(ids(await api('GET', '/api/ips/192.0.2.99/alerts'))).toEqual([]);
		for (const path of ['/api/ips/10.0.0.300/stats', '/api/ips/not-an-ip/alerts']) {
			const res = await api('GET', path);
			expect(res.status).toBe(400);
			expect(res.json.error.code).toBe('InvalidIpAddress');
		}
		expect(emu.entities.ipStats('203.0.113.7')).toEqual({ ipAddress: '203.0.113.7', organizationPrevalence: 2, orgFirstSeen: a.alertCreationTime, orgLastSeen: b.alertCreationTime });
		expect((await api('GET', '/api/ips/2001:db8::1/stats')).json.organizationPrevalence).toBe(0);
	});

	test('domain: the hosts of Url evidence (case-insensitive, as /api/alerts/{id}/domains lists them), alerts, machines, statistics', async () => {
		const [m1, m2] = emu.machines.seed(2);
		const a = alertOn(m1, 20, (at) => [urlEvidence(at, 'https://Evil.Example.com:8443/gate.php')]);
		const b = alertOn(m2, 2, (at) => [urlEvidence(at, 'http://evil.example.com/x'), urlEvidence(at, 'https://cdn.example.org/')]);
		expect((await api('GET', `/api/alerts/${a.id}/domains`)).json.value).toEqual([{ host: 'evil.example.com' }]);
		expect(ids(await api('GET', '/api/domains/EVIL.example.com/alerts'))).toEqual([a.id, b.id]);
		expect(ids(await api('GET', '/api/domains/evil.example.com/machines'))).toEqual([m1.id, m2.id]);
		expect((await api('GET', '/api/domains/evil.example.com/stats?lookBackHours=12')).json).toEqual({
			'@odata.context': `${emu.url}/api/$metadata#microsoft.windowsDefenderATP.api.InOrgDomainStats`,
			host: 'evil.example.com',
			organizationPrevalence: 1,
			orgFirstSeen: b.alertCreationTime,
			orgLastSeen: b.alertCreationTime,
		});
		expect((await api('GET', '/api/domains/unknown.example.net/stats')).json).toMatchObject({ organizationPrevalence: 0, orgFirstSeen: null });
		expect(ids(await api('GET', '/api/domains/unknown.example.net/machines'))).toEqual([]);
		const bad = await api('GET', '/api/domains/not_a_domain/alerts');
		expect(bad.status).toBe(400);
		expect(bad.json.error.code).toBe('InvalidDomainName');
		expect(emu.entities.domainMachines('evil.example.com').map((m) => m.id)).toEqual([m1.id, m2.id]);
	});

	test('domain machines are limited to 500', async () => {
		const machines = emu.machines.seed(503);
		for (const m of machines) alertOn(m, 1, (at) => [urlEvidence(at, 'https://busy.example.com/')]);
		const res = await api('GET', '/api/domains/busy.example.com/machines');
		expect(ids(res)).toEqual(machines.slice(0, 500).map((m) => m.id));
		expect((await api('GET', '/api/domains/busy.example.com/stats')).json.organizationPrevalence).toBe(503);
	});

	test('user: by account name from relatedUser or User evidence; a UPN or DOMAIN\\user names no user (empty)', async () => {
		const [m1, m2, m3] = emu.machines.seed(3);
		const a = alertOn(m1, 5, () => [], { relatedUser: { userName: 'maria.garcia', domainName: 'CONTOSO' } });
		const b = alertOn(m2, 4, (at) => [userEvidence(at, 'Maria.Garcia')]);
		alertOn(m3, 3, (at) => [userEvidence(at, 'john.doe')], { relatedUser: { userName: 'john.doe', domainName: 'CONTOSO' } });
		expect(ids(await api('GET', '/api/users/maria.garcia/alerts'))).toEqual([a.id, b.id]);
		expect(ids(await api('GET', '/api/users/MARIA.GARCIA/machines'))).toEqual([m1.id, m2.id]);
		expect(ids(await api('GET', `/api/users/${encodeURIComponent('maria.garcia@contoso.com')}/alerts`))).toEqual([]);
		expect(ids(await api('GET', `/api/users/${encodeURIComponent('CONTOSO\\maria.garcia')}/machines`))).toEqual([]);
		expect(ids(await api('GET', '/api/users/nobody/alerts'))).toEqual([]);
		expect(emu.entities.userAlerts('maria.garcia').map((x) => x.id)).toEqual([a.id, b.id]);
	});
});

describe('roles', () => {
	const cases: Array<[string, string, string[], string[]]> = [
		['GET', `/api/files/${SHA1}`, ['File.Read.All'], ['Alert.ReadWrite.All', 'Machine.ReadWrite.All']],
		['GET', `/api/files/${SHA1}/stats`, ['File.Read.All'], ['Alert.ReadWrite.All']],
		['GET', `/api/files/${SHA1}/alerts`, ['Alert.Read.All', 'Alert.ReadWrite.All'], ['File.Read.All']],
		['GET', `/api/files/${SHA1}/machines`, ['Machine.Read.All', 'Machine.ReadWrite.All'], ['File.Read.All']],
		['GET', '/api/ips/203.0.113.7/stats', ['Ip.Read.All'], ['Alert.ReadWrite.All']],
		['GET', '/api/ips/203.0.113.7/alerts', ['Alert.Read.All', 'Alert.ReadWrite.All'], ['Ip.Read.All']],
		['GET', '/api/domains/evil.example.com/stats', ['URL.Read.All'], ['Alert.ReadWrite.All']],
		// get-domain-related-alerts (2025) lists only Alert.ReadWrite.All.
		['GET', '/api/domains/evil.example.com/alerts', ['Alert.ReadWrite.All'], ['Alert.Read.All', 'URL.Read.All']],
		['GET', '/api/domains/evil.example.com/machines', ['Machine.Read.All', 'Machine.ReadWrite.All'], ['URL.Read.All']],
		['GET', '/api/users/maria.garcia/alerts', ['Alert.Read.All', 'Alert.ReadWrite.All'], ['User.Read.All']],
		// get-user-related-machines (2025) lists only Machine.ReadWrite.All.
		['GET', '/api/users/maria.garcia/machines', ['Machine.ReadWrite.All'], ['Machine.Read.All', 'User.Read.All']],
		['GET', '/api/investigations', ['Alert.Read.All', 'Alert.ReadWrite.All'], ['Machine.ReadWrite.All']],
		['GET', '/api/investigations/4242', ['Alert.Read.All', 'Alert.ReadWrite.All'], ['Machine.ReadWrite.All']],
		['POST', '/api/machines/:machine/startInvestigation', ['Alert.ReadWrite.All'], ['Alert.Read.All', 'Machine.ReadWrite.All']],
	];

	test.each(cases)('%s %s needs one of %j', async (method, rawPath, allowed, refused) => {
		const [m] = emu.machines.seed(1);
		alertOn(m, 1, (at) => [file(at), ipEvidence(at, '203.0.113.7'), urlEvidence(at, 'https://evil.example.com/')], {
			relatedUser: { userName: 'maria.garcia', domainName: 'CONTOSO' },
			investigationId: 4242,
			investigationState: 'Running',
		});
		const path = rawPath.replace(':machine', m.id);
		const body = method === 'POST' ? { Comment: 'roles' } : undefined;
		for (const role of refused) {
			const res = await call(method, path, await tokenFor([role]), body);
			expect(res.status).toBe(403);
			expect(res.json.error.code).toBe('Forbidden');
			expect(res.json.error.message).toContain(`(${allowed.join(', ')})`);
		}
		for (const role of allowed) {
			const res = await call(method, path, await tokenFor([role]), body);
			expect(res.status).toBe(method === 'POST' ? 201 : 200);
		}
	});
});

describe('automated investigations', () => {
	test('alerts with an investigationId form investigations: the earliest alert triggers, its state and machine', async () => {
		const [m1, m2] = emu.machines.seed(2);
		const first = alertOn(m1, 50, () => [], { investigationId: 4242, investigationState: 'SuccessfullyRemediated' });
		alertOn(m2, 40, () => [], { investigationId: 4242, investigationState: 'Running' });
		const running = alertOn(m2, 30, () => [], { investigationId: 777, investigationState: 'PendingApproval' });
		alertOn(m1, 20, () => [], { investigationId: null });
		const res = await api('GET', '/api/investigations');
		expect(res.json['@odata.context']).toBe(`${emu.url}/api/$metadata#Investigations`);
		expect(res.json.value).toEqual([
			{
				id: '4242',
				startTime: first.alertCreationTime,
				endTime: emu.investigations.get('4242')!.endTime,
				state: 'SuccessfullyRemediated',
				cancelledBy: null,
				statusDetails: null,
				machineId: m1.id,
				computerDnsName: m1.computerDnsName,
				triggeringAlertId: first.id,
			},
			{
				id: '777',
				startTime: running.alertCreationTime,
				endTime: null,
				state: 'PendingApproval',
				cancelledBy: null,
				statusDetails: null,
				machineId: m2.id,
				computerDnsName: m2.computerDnsName,
				triggeringAlertId: running.id,
			},
		]);
		expect(Date.parse(res.json.value[0].endTime) - Date.parse(first.alertCreationTime)).toBe(30 * 60000);
		expect(res.json.value).toEqual(emu.investigations.all());
		// Get by id or by the triggering alert's id.
		expect((await api('GET', '/api/investigations/777')).json).toMatchObject({ id: '777', state: 'PendingApproval' });
		expect((await api('GET', `/api/investigations/${first.id}`)).json.id).toBe('4242');
		const missing = await api('GET', '/api/investigations/999999');
		expect(missing.status).toBe(404);
		expect(missing.json.error.code).toBe('ResourceNotFound');
	});

	test('the list takes the documented $filter properties, $top and $skip; others → 400', async () => {
		const [m1, m2] = emu.machines.seed(2);
		const alerts = [50, 40, 30, 20, 10].map((h, i) =>
			alertOn(i % 2 ? m2 : m1, h, () => [], { investigationId: 5000 + i, investigationState: i < 2 ? 'Benign' : 'Running' }),
		);
		expect(ids(await api('GET', `/api/investigations?$filter=${encodeURIComponent("state eq 'Running'")}`))).toEqual(['5002', '5003', '5004']);
		expect(ids(await api('GET', `/api/investigations?$filter=${encodeURIComponent(`machineId eq '${m2.id}'`)}`))).toEqual(['5001', '5003']);
		expect(ids(await api('GET', `/api/investigations?$filter=${encodeURIComponent(`triggeringAlertId eq '${alerts[2].id}'`)}`))).toEqual(['5002']);
		expect(ids(await api('GET', `/api/investigations?$filter=${encodeURIComponent(`startTime ge ${hoursAgo(25)}`)}`))).toEqual(['5003', '5004']);
		expect(ids(await api('GET', `/api/investigations?$filter=${encodeURIComponent("id eq '5001'")}`))).toEqual(['5001']);
		expect(ids(await api('GET', '/api/investigations?$top=2&$skip=1'))).toEqual(['5001', '5002']);
		const bad = await api('GET', `/api/investigations?$filter=${encodeURIComponent("computerDnsName eq 'x'")}`);
		expect(bad.status).toBe(400);
		expect(bad.json.error.code).toBe('ODataError');
		expect((await api('GET', `/api/investigations?$filter=${encodeURIComponent("state eq 'running'")}`)).status).toBe(400);
	});

	test('start: 201 Running, then the outcome two steps later on the emulator clock; the default outcome follows open alerts', async () => {
		const windowsQuiet = emu.machines.create({ osPlatform: 'Windows11' });
		const windowsBusy = emu.machines.create({ osPlatform: 'WindowsServer2022' });
		alertOn(windowsBusy, 1, () => [], { status: 'New' });
		alertOn(windowsQuiet, 1, () => [], { status: 'Resolved' });

		const started = await api('POST', `/api/machines/${windowsQuiet.id}/startInvestigation`, { Comment: 'Look at it' });
		expect(started.status).toBe(201);
		expect(started.json).toEqual({
			'@odata.context': `${emu.url}/api/$metadata#Investigations/$entity`,
			id: '200000',
			startTime: expect.any(String),
			endTime: null,
			state: 'Running',
			cancelledBy: null,
			statusDetails: null,
			machineId: windowsQuiet.id,
			computerDnsName: windowsQuiet.computerDnsName,
			triggeringAlertId: null,
		});
		const other = await api('POST', `/api/machines/${windowsBusy.computerDnsName}/startInvestigation`, { Comment: 'And this' });
		expect(other.json.id).toBe('200001');
		emu.clock.advance(1000);
		expect(emu.investigations.get('200000')!.state).toBe('Running');
		emu.clock.advance(1000);
		expect((await api('GET', '/api/investigations/200000')).json).toMatchObject({ state: 'Benign', endTime: expect.any(String) });
		expect(emu.investigations.get('200001')).toMatchObject({ state: 'SuccessfullyRemediated' });
		expect(Date.parse(emu.investigations.get('200000')!.endTime!) - Date.parse(started.json.startTime)).toBe(2000);
	});

	test('scripted outcomes, PendingApproval, Stuck, UnsupportedOs, terminate', async () => {
		const w = emu.machines.create({ osPlatform: 'Windows10' });
		const linux = emu.machines.create({ osPlatform: 'Linux' });
		const old = emu.machines.create({ osPlatform: 'WindowsServer2016' });
		emu.investigations.script(w.id, 'PartiallyRemediated');
		const a = emu.investigations.start(w.id);
		emu.investigations.script(w.id, 'PendingApproval');
		const b = emu.investigations.start(w.id);
		emu.investigations.script(w.id, 'Stuck');
		const c = emu.investigations.start(w.id);
		for (const m of [linux, old]) {
			const res = await api('POST', `/api/machines/${m.id}/startInvestigation`, { Comment: 'x' });
			expect(res.status).toBe(201);
			expect(res.json).toMatchObject({ state: 'UnsupportedOs', endTime: res.json.startTime, statusDetails: expect.stringContaining(m.osPlatform) });
		}
		emu.clock.advance(5000);
		expect(emu.investigations.get(a.id)).toMatchObject({ state: 'PartiallyRemediated', endTime: expect.any(String) });
		expect(emu.investigations.get(b.id)).toMatchObject({ state: 'PendingApproval', endTime: null });
		expect(emu.investigations.get(c.id)).toMatchObject({ state: 'Running', endTime: null });
		const ended = emu.investigations.terminate(c.id, 'analyst@contoso.com');
		expect(ended).toMatchObject({ state: 'TerminatedByUser', cancelledBy: 'analyst@contoso.com', endTime: expect.any(String) });
		expect((await api('GET', `/api/investigations/${c.id}`)).json.state).toBe('TerminatedByUser');
		expect(() => emu.investigations.terminate(a.id)).toThrow(/already ended/);
		// An alert with a started investigation's id joins it rather than forming another.
		alertOn(w, 0, () => [], { investigationId: Number(a.id), investigationState: 'Running' });
		expect(emu.investigations.all().filter((i) => i.id === a.id)).toHaveLength(1);
		// reset() drops started investigations.
		emu.reset();
		expect(emu.investigations.all()).toEqual([]);
	});

	test('start validates its body (Comment required, case-sensitive) and the machine; 50 calls an hour', async () => {
		const m = emu.machines.create({ osPlatform: 'Windows11' });
		for (const body of [{}, { comment: 'lower case' }, { Comment: 'x', Extra: 1 }, { Comment: '' }]) {
			const res = await api('POST', `/api/machines/${m.id}/startInvestigation`, body);
			expect(res.status).toBe(400);
			expect(['InvalidRequestBody', 'MissingRequiredParameter']).toContain(res.json.error.code);
		}
		const missing = await api('POST', `/api/machines/${'f'.repeat(40)}/startInvestigation`, { Comment: 'x' });
		expect(missing.status).toBe(404);
		expect(emu.investigations.all()).toEqual([]);

		emu.setRateLimits(true);
		try {
			const token = await tokenFor(['Alert.ReadWrite.All']);
			const statuses: number[] = [];
			for (let i = 0; i < 51; i++) statuses.push((await call('POST', `/api/machines/${m.id}/startInvestigation`, token, { Comment: `n${i}` })).status);
			expect(statuses.slice(0, 50).every((s) => s === 201)).toBe(true);
			expect(statuses[50]).toBe(429);
		} finally {
			emu.setRateLimits(false);
		}
	});
});
