/**
 * The emulator's Defender Vulnerability Management (test/emulator/tvm.ts): a deterministic catalogue assigned to the
 * machines with consistent counts, the documented OData of the three lists, the roles each route needs (a 403
 * naming the permission), the documented rate limits, the assessment by machine as JSON pages and as export files
 * (gzip JSON lines behind SAS-like links that expire on the emulator clock). Facts from get-all-vulnerabilities.md,
 * get-software.md, get-all-recommendations.md, get-assessment-software-vulnerabilities.md and the pages named in
 * tvm.ts (MicrosoftDocs/defender-docs, defender-endpoint/api/).
 */
import * as zlib from 'node:zlib';

import { startEmulator, type Emulator, type Machine } from './emulator';
import { closeEmulatorConnections, emulatorCall, emulatorToken, MDE_SCOPE, type EmulatorRequest, type EmulatorResponse } from './helpers/emulatorHttp';

let emu: Emulator;
let token: string;

const call = (method: string, urlPath: string, options: EmulatorRequest = {}): Promise<EmulatorResponse> =>
	emulatorCall(emu, method, urlPath, options);
const tokenFor = (client = emu.client): Promise<string> => emulatorToken(emu, client, MDE_SCOPE);

const get = (p: string, t = token) => call('GET', p, { token: t });
const q = (filter: string) => encodeURIComponent(filter);
const withoutContext = (body: Record<string, unknown>) => {
	const { '@odata.context': _c, ...rest } = body;
	return rest;
};

beforeAll(async () => {
	emu = await startEmulator();
	token = await tokenFor();
});

afterAll(async () => {
	closeEmulatorConnections();
	await emu?.close();
});

let machines: Machine[];
beforeEach(() => {
	emu.reset();
	machines = emu.machines.seed(60);
});

describe('a catalogue assigned to the machines, every count consistent', () => {
	it('is deterministic: the same machines get the same software, whatever the emulator seed', async () => {
		const other = await startEmulator({ seed: 99 });
		try {
			for (const m of machines.slice(0, 10)) other.machines.create(m);
			for (const m of machines.slice(0, 10)) {
				expect(other.tvm.machineSoftware(m.id).map((s) => s.id)).toEqual(emu.tvm.machineSoftware(m.id).map((s) => s.id));
				expect(other.tvm.machineVulnerabilities(m.id).map((v) => v.id)).toEqual(emu.tvm.machineVulnerabilities(m.id).map((v) => v.id));
			}
		} finally {
			await other.close();
		}
	});

	it("a software's machines are the machines that have it; exposed = those with a vulnerable version", () => {
		const software = emu.tvm.software();
		expect(software.length).toBeGreaterThan(10);
		for (const s of software) {
			const installed = machines.filter((m) => emu.tvm.machineSoftware(m.id).some((x) => x.id === s.id)).map((m) => m.id);
			expect(emu.tvm.installedMachines(s.id).map((r) => r.id)).toEqual(installed);
			const exposed = machines.filter((m) => emu.tvm.assessment().some((r) => r.deviceId === m.id && r.softwareName === s.name && r.cveId));
			expect(s.exposedMachines).toBe(exposed.length);
			const recommendation = emu.tvm.recommendation(`va-_-${s.id}`);
			if (s.exposedMachines) {
				expect(recommendation).toMatchObject({ totalMachineCount: installed.length, exposedMachinesCount: s.exposedMachines, weaknesses: s.weaknesses });
			} else {
				expect(recommendation).toBeUndefined();
			}
			expect(s.weaknesses).toBe(emu.tvm.softwareVulnerabilities(s.id)!.length);
			expect(s.id).toBe(`${s.vendor}-_-${s.name}`);
		}
	});

	it("a CVE's machine references are the machines listing it; exposedMachines counts them", () => {
		const vulnerabilities = emu.tvm.vulnerabilities();
		expect(vulnerabilities.filter((v) => v.exposedMachines > 0).length).toBeGreaterThan(20);
		expect(vulnerabilities.some((v) => v.exposedMachines === 0)).toBe(true);
		for (const v of vulnerabilities) {
			const listing = machines.filter((m) => emu.tvm.machineVulnerabilities(m.id).some((x) => x.id === v.id)).map((m) => m.id);
			expect(emu.tvm.exposedMachines(v.id).map((r) => r.id)).toEqual(listing);
			expect(v.exposedMachines).toBe(listing.length);
		}
	});

	it('per-machine lists, missing KBs and assessment rows tell the same facts', () => {
		for (const m of machines) {
			const rows = emu.tvm.assessment().filter((r) => r.deviceId === m.id);
			expect(new Set(rows.map((r) => `${r.softwareVendor}-_-${r.softwareName}`))).toEqual(new Set(emu.tvm.machineSoftware(m.id).map((s) => s.id)));
			expect(new Set(rows.filter((r) => r.cveId).map((r) => r.cveId))).toEqual(new Set(emu.tvm.machineVulnerabilities(m.id).map((v) => v.id)));
			const recs = emu.tvm.machineRecommendations(m.id).map((r) => r.id);
			for (const r of rows.filter((x) => x.cveId)) expect(recs).toContain(r.recommendationReference);
			for (const kb of emu.tvm.missingKbs(m.id)) {
				expect(rows.some((r) => r.recommendedSecurityUpdateId === kb.id)).toBe(true);
			}
		}
	});

	it('install, uninstall, clear and seed move every count', () => {
		const m = emu.machines.create({ osPlatform: 'Linux' });
		emu.tvm.uninstall(m.id, 'google-_-chrome');
		const before = emu.tvm.installedMachines('google-_-chrome').length;
		emu.tvm.install(m.id, 'google-_-chrome', '124.0.6367.201');
		expect(emu.tvm.installedMachines('google-_-chrome').map((r) => r.id)).toContain(m.id);
		expect(emu.tvm.installedMachines('google-_-chrome')).toHaveLength(before + 1);
		const cves = emu.tvm.machineVulnerabilities(m.id).map((v) => v.id);
		expect(cves.length).toBeGreaterThan(0);
		for (const cve of cves) expect(emu.tvm.exposedMachines(cve).map((r) => r.id)).toContain(m.id);
		emu.tvm.uninstall(m.id, 'google-_-chrome');
		expect(emu.tvm.installedMachines('google-_-chrome')).toHaveLength(before);

		emu.tvm.clear();
		expect(emu.tvm.counts()).toMatchObject({ software: 0, recommendations: 0, installs: 0, assessmentRows: 0, exposedVulnerabilities: 0 });
		expect(emu.tvm.counts().vulnerabilities).toBeGreaterThan(0);
		const counts = emu.tvm.seed({ extraVulnerabilities: 25 });
		expect(counts.vulnerabilities).toBe(emu.tvm.vulnerabilities().length);
		expect(counts.installs).toBeGreaterThan(machines.length);
		expect(() => emu.tvm.install(m.id, 'acme-_-nothing')).toThrow(/Unknown software acme-_-nothing/);
	});
});

describe('the lists: documented OData', () => {
	it('vulnerabilities: $filter on severity, cvssV3, dates and id; $top, $skip; not on publicExploit', async () => {
		const all = emu.tvm.vulnerabilities();
		const res = await get(`/api/vulnerabilities?$filter=${q("severity eq 'High' and cvssV3 ge 7.5")}`);
		expect(res.status).toBe(200);
		expect(res.json.value).toEqual(all.filter((v) => v.severity === 'High' && v.cvssV3 >= 7.5));
		const updated = await get(`/api/vulnerabilities?$filter=${q('updatedOn ge 2024-06-01T00:00:00Z')}`);
		expect(updated.json.value.map((v: { id: string }) => v.id)).toEqual(all.filter((v) => v.updatedOn >= '2024-06-01T00:00:00Z').map((v) => v.id));
		const page = await get('/api/vulnerabilities?$top=5&$skip=10');
		expect(page.json.value).toEqual(all.slice(10, 15));
		const bad = await get(`/api/vulnerabilities?$filter=${q('publicExploit eq true')}`);
		expect(bad.status).toBe(400);
		expect(bad.json.error.code).toBe('ODataError');
		// $top above 8,000 is cut to 8,000 (get-all-vulnerabilities.md).
		emu.tvm.seed({ extraVulnerabilities: 8100 });
		expect((await get('/api/vulnerabilities?$top=10000')).json.value).toHaveLength(8000);
	});

	it('software: $filter on vendor and name; not on weaknesses', async () => {
		const res = await get(`/api/Software?$filter=${q("vendor eq 'microsoft'")}`);
		expect(res.json.value).toEqual(emu.tvm.software().filter((s) => s.vendor === 'microsoft'));
		const edge = await get(`/api/Software?$filter=${q("name eq 'edge'")}`);
		expect(edge.json.value.map((s: { id: string }) => s.id)).toEqual(['microsoft-_-edge']);
		expect((await get(`/api/Software?$filter=${q('weaknesses gt 1')}`)).status).toBe(400);
	});

	it('recommendations: $filter on category, remediationType, severityScore, status', async () => {
		const res = await get(`/api/recommendations?$filter=${q("recommendationCategory eq 'SecurityControls' or remediationType eq 'ConfigurationChange'")}`);
		expect(res.json.value.map((r: { id: string }) => r.id).sort()).toEqual(
			emu.tvm.recommendations().filter((r) => r.remediationType === 'ConfigurationChange').map((r) => r.id).sort(),
		);
		const severe = await get(`/api/recommendations?$filter=${q("severityScore ge 5 and status eq 'Active'")}`);
		expect(severe.json.value).toEqual(emu.tvm.recommendations().filter((r) => r.severityScore >= 5));
	});

	it('single entities and sub-collections; 404 for unknown ones', async () => {
		const cve = emu.tvm.vulnerabilities().find((v) => v.exposedMachines > 1)!;
		expect(withoutContext((await get(`/api/vulnerabilities/${cve.id}`)).json)).toEqual(cve);
		expect((await get(`/api/vulnerabilities/${cve.id}/machineReferences`)).json.value).toEqual(emu.tvm.exposedMachines(cve.id));
		expect(withoutContext((await get('/api/Software/microsoft-_-edge')).json)).toEqual(emu.tvm.softwareById('microsoft-_-edge'));
		expect((await get('/api/Software/microsoft-_-edge/machineReferences')).json.value).toEqual(emu.tvm.installedMachines('microsoft-_-edge'));
		expect((await get('/api/Software/microsoft-_-edge/vulnerabilities')).json.value).toEqual(emu.tvm.softwareVulnerabilities('microsoft-_-edge'));
		const rec = emu.tvm.recommendations()[0];
		expect(withoutContext((await get(`/api/recommendations/${rec.id}`)).json)).toEqual(rec);
		const m = machines[0];
		expect((await get(`/api/machines/${m.id}/vulnerabilities`)).json.value).toEqual(emu.tvm.machineVulnerabilities(m.id));
		expect((await get(`/api/machines/${m.id}/software`)).json.value).toEqual(emu.tvm.machineSoftware(m.id));
		expect((await get(`/api/machines/${m.id}/getmissingkbs`)).json.value).toEqual(emu.tvm.missingKbs(m.id));
		expect((await get(`/api/machines/${m.id}/recommendations`)).json.value).toEqual(emu.tvm.machineRecommendations(m.id));
		for (const path of ['/api/vulnerabilities/CVE-1999-0001', '/api/Software/acme-_-nothing', '/api/recommendations/va-_-acme-_-nothing', `/api/machines/${'0'.repeat(40)}/software`]) {
			const res = await get(path);
			expect([path, res.status, res.json.error.code]).toEqual([path, 404, 'ResourceNotFound']);
		}
	});
});

describe('roles: each route names the permission its page lists', () => {
	const cases: Array<[string, string, () => string]> = [
		['GET /api/vulnerabilities', 'Vulnerability.Read.All', () => '/api/vulnerabilities'],
		['GET /api/vulnerabilities/{id}/machineReferences', 'Vulnerability.Read.All', () => `/api/vulnerabilities/${emu.tvm.vulnerabilities()[0].id}/machineReferences`],
		['GET /api/Software', 'Software.Read.All', () => '/api/Software'],
		['GET /api/Software/{id}/vulnerabilities', 'Vulnerability.Read.All', () => '/api/Software/microsoft-_-edge/vulnerabilities'],
		['GET /api/recommendations', 'SecurityRecommendation.Read.All', () => '/api/recommendations'],
		['GET /api/machines/{id}/vulnerabilities', 'Vulnerability.Read.All', () => `/api/machines/${machines[0].id}/vulnerabilities`],
		['GET /api/machines/{id}/software', 'Software.Read.All', () => `/api/machines/${machines[0].id}/software`],
		['GET /api/machines/{id}/getmissingkbs', 'Software.Read.All', () => `/api/machines/${machines[0].id}/getmissingkbs`],
		['GET /api/machines/{id}/recommendations', 'SecurityRecommendation.Read.All', () => `/api/machines/${machines[0].id}/recommendations`],
		['GET /api/machines/SoftwareVulnerabilitiesExport', 'Vulnerability.Read.All', () => '/api/machines/SoftwareVulnerabilitiesExport'],
		['GET /api/machines/SoftwareVulnerabilitiesByMachine', 'Vulnerability.Read.All', () => '/api/machines/SoftwareVulnerabilitiesByMachine'],
	];
	it.each(cases)('%s needs %s', async (_name, role, path) => {
		const others = ['Vulnerability.Read.All', 'Software.Read.All', 'SecurityRecommendation.Read.All', 'Machine.Read.All'].filter((r) => r !== role);
		const without = await tokenFor(emu.addClient({ roles: others }));
		const refused = await get(path(), without);
		expect(refused.status).toBe(403);
		expect(refused.json.error.message).toContain(role);
		const allowed = await get(path(), await tokenFor(emu.addClient({ roles: [role] })));
		expect(allowed.status).toBe(200);
	});
});

describe('rate limits from the pages', () => {
	afterEach(() => emu.setRateLimits(false, 1));

	it('export via files: 5 a minute, then 429 with Retry-After; JSON pages: 30 a minute', async () => {
		emu.setRateLimits(true, 1);
		const exports = [];
		for (let i = 0; i < 6; i++) exports.push(await get('/api/machines/SoftwareVulnerabilitiesExport'));
		expect(exports.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
		expect(Number(exports[5].headers['retry-after'])).toBeGreaterThan(0);
		expect(exports[5].json.error.message).toMatch(/Maximum admitted 5 per minute/);
		const json = [];
		for (let i = 0; i < 31; i++) json.push((await get('/api/machines/SoftwareVulnerabilitiesByMachine?$top=1')).status);
		expect(json.filter((s) => s === 429)).toHaveLength(1);
		expect(json[30]).toBe(429);
	});

	it('machine vulnerabilities: 50 a minute (get-discovered-vulnerabilities.md)', async () => {
		emu.setRateLimits(true, 1);
		const statuses = [];
		for (let i = 0; i < 51; i++) statuses.push((await get(`/api/machines/${machines[i % machines.length].id}/vulnerabilities`)).status);
		expect(statuses.slice(0, 50).every((s) => s === 200)).toBe(true);
		expect(statuses[50]).toBe(429);
	});
});

describe('assessment by machine', () => {
	const rowsOf = (files: Buffer[]) =>
		files.flatMap((f) =>
			zlib
				.gunzipSync(f)
				.toString('utf8')
				.split('\n')
				.filter(Boolean)
				.map((l) => JSON.parse(l)),
		);

	it('JSON pages: pageSize, @odata.nextLink through the snapshot, $top without a link; pageSize over 200,000 is refused', async () => {
		const rows = emu.tvm.assessment();
		expect(rows.length).toBeGreaterThan(100);
		const seen: unknown[] = [];
		let path: string | undefined = '/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=37';
		let pages = 0;
		while (path) {
			const res = await get(path);
			expect(res.status).toBe(200);
			seen.push(...res.json.value);
			pages++;
			const next = res.json['@odata.nextLink'] as string | undefined;
			path = next ? next.slice(emu.url.length) : undefined;
		}
		expect(seen).toEqual(rows);
		expect(pages).toBe(Math.ceil(rows.length / 37));
		const top = await get('/api/machines/SoftwareVulnerabilitiesByMachine?$top=3');
		expect(top.json.value).toEqual(rows.slice(0, 3));
		expect(top.json['@odata.nextLink']).toBeUndefined();
		expect((await get('/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=200001')).status).toBe(400);
	});

	it('export files: gzip JSON lines split by linesPerFile, SAS-like links that expire on the emulator clock', async () => {
		emu.tvm.linesPerFile = 50;
		const res = await get('/api/machines/SoftwareVulnerabilitiesExport');
		expect(res.status).toBe(200);
		const rows = emu.tvm.assessment();
		expect(res.json.exportFiles).toHaveLength(Math.ceil(rows.length / 50));
		expect(res.json.generatedTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
		const files: Buffer[] = [];
		for (const link of res.json.exportFiles as string[]) {
			const url = new URL(link);
			expect(url.origin).toBe(emu.url);
			expect(url.searchParams.get('sr')).toBe('b');
			expect(url.searchParams.get('sig')).toBeTruthy();
			expect(url.pathname).toMatch(/\.json\.gz$/);
			const file = await call('GET', `${url.pathname}${url.search}`);
			expect(file.status).toBe(200);
			expect(file.headers['content-encoding']).toBeUndefined();
			expect(file.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
			files.push(file.body);
		}
		expect(rowsOf(files)).toEqual(rows);
		expect(files).toEqual(emu.tvm.exportFiles());

		// Valid one hour unless sasValidHours: past it, blob storage's 403.
		emu.clock.advance(61 * 60_000);
		const first = new URL(res.json.exportFiles[0]);
		const expired = await call('GET', `${first.pathname}${first.search}`);
		expect(expired.status).toBe(403);
		expect(expired.headers['x-ms-error-code']).toBe('AuthenticationFailed');
		expect(expired.body.toString()).toContain('Signed expiry time');
		// The same snapshot (younger than six hours) with new links; sasValidHours up to 6.
		const again = await get('/api/machines/SoftwareVulnerabilitiesExport?sasValidHours=6');
		expect(again.json.generatedTime).toBe(res.json.generatedTime);
		emu.clock.advance(5 * 3600_000);
		const link = new URL(again.json.exportFiles[0]);
		expect((await call('GET', `${link.pathname}${link.search}`)).status).toBe(200);
		expect((await get('/api/machines/SoftwareVulnerabilitiesExport?sasValidHours=7')).status).toBe(400);
		// Six hours on, a new snapshot.
		const later = await get('/api/machines/SoftwareVulnerabilitiesExport');
		expect(later.json.generatedTime).not.toBe(res.json.generatedTime);
		expect((await call('GET', '/_download/tvm/unknown/part.json.gz')).status).toBe(403);
	});
});
