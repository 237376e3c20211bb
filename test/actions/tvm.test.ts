/**
 * Defender Vulnerability Management through n8n-core's ExecuteContext against the emulator: Vulnerability (Get Many,
 * Get, Get Machines, Export Software Vulnerabilities by Machine), Software (Get Many, Get, Get Machines, Get
 * Vulnerabilities), Recommendation (Get Many, Get) and the Machine lists (Get Vulnerabilities, Get Software, Get
 * Missing KBs, Get Recommendations): the exact request path and query, items equal to the emulator's data, paging over
 * more than one page, the export read as a stream from files without the bearer token (20,000+ lines in several
 * files, expired links, a replaced snapshot, binary output), a 403 naming the permission, bad input refused before
 * any request, and no secret or download link in anything a user sees.
 */
import { gunzipSync } from 'zlib';
import type { IDataObject, IHttpRequestOptions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { stableListSettings, transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator, type Machine } from '../emulator';
import { actionRunner, failure } from '../helpers/actions';
import { createObserver } from '../helpers/observed';
import { interceptOutboundRequests } from '../helpers/outbound';

let emu: Emulator;
const savedTransport = { ...transportSettings };
const savedList = { ...stableListSettings };
const observer = createObserver();
/** Every request n8n's HTTP client sends. */
const outbound: IHttpRequestOptions[] = [];
let beforeSend: ((options: IHttpRequestOptions) => void) | undefined;
let machines: Machine[];

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	transportSettings.maxDelayMs = 50;
	transportSettings.rateLimitTimeScale = 60;
	// Pages of 5 rows (2 re-read), so paging shows with the emulator's catalogue.
	stableListSettings.pageSize = 5;
	stableListSettings.overlap = 2;
	emu = await startEmulator();
	interceptOutboundRequests((options) => {
		outbound.push(options);
		beforeSend?.(options);
	});
});

afterAll(async () => {
	jest.restoreAllMocks();
	Object.assign(transportSettings, savedTransport);
	Object.assign(stableListSettings, savedList);
	await emu?.close();
});

beforeEach(() => {
	emu.reset();
	machines = emu.machines.seed(40);
	beforeSend = undefined;
});

const mark = () => emu.requestLog.length;
const since = (from: number) => emu.requestLog.slice(from);
const apiCalls = (from: number) => since(from).filter((e) => e.path.startsWith('/api/'));
const requests = (from: number) => since(from).map((e) => `${e.method} ${e.path}${Object.keys(e.query).length ? ` ${JSON.stringify(e.query)}` : ''} ${e.status}`);
const byId = (id: string) => ({ __rl: true, mode: 'id', value: id });
const jsonOf = (output: INodeExecutionData[]) => output.map((o) => o.json);

const run = actionRunner(() => emu, { observer });

describe('vulnerability', () => {
	it('Get Many, Return All: every vulnerability, paged with $top/$skip over several pages', async () => {
		const start = mark();
		const output = await run({ resource: 'vulnerability', operation: 'getAll', returnAll: true, filters: {} });
		expect(jsonOf(output)).toEqual(emu.tvm.vulnerabilities());
		const queries = since(start).filter((e) => e.path === '/api/vulnerabilities').map((e) => e.query);
		expect(queries.length).toBeGreaterThan(5);
		expect(queries.slice(0, 3)).toEqual([{ $top: '5' }, { $top: '5', $skip: '3' }, { $top: '5', $skip: '6' }]);
		expect(output.every((o) => JSON.stringify(o.pairedItem) === JSON.stringify({ item: 0 }))).toBe(true);
	});

	it('Get Many: the documented filters as one $filter, a limit asking only for what is still wanted', async () => {
		const start = mark();
		const filters = { severity: ['High', 'Critical'], minCvss: 7.5, publishedSince: '2023-06-01T00:00:00Z', updatedSince: '2023-09-01T00:00:00Z' };
		const output = await run({ resource: 'vulnerability', operation: 'getAll', returnAll: false, limit: 4, filters });
		const filter = "(severity eq 'High' or severity eq 'Critical') and cvssV3 ge 7.5 and publishedOn ge 2023-06-01T00:00:00.000Z and updatedOn ge 2023-09-01T00:00:00.000Z";
		expect(since(start).map((e) => e.query)).toEqual([{ $filter: filter, $top: '4' }]);
		const expected = emu.tvm
			.vulnerabilities()
			.filter((v) => ['High', 'Critical'].includes(v.severity) && v.cvssV3 >= 7.5 && v.publishedOn >= '2023-06-01T00:00:00Z' && v.updatedOn >= '2023-09-01T00:00:00Z');
		expect(expected.length).toBeGreaterThanOrEqual(4);
		expect(jsonOf(output)).toEqual(expected.slice(0, 4));
	});

	it('Get Many: CVE IDs filter; pages never above the documented $top of 8,000', async () => {
		const [a, b] = emu.tvm.vulnerabilities();
		stableListSettings.pageSize = 10_000;
		try {
			const start = mark();
			const output = await run({ resource: 'vulnerability', operation: 'getAll', returnAll: true, filters: { ids: `${a.id.toLowerCase()}, ${b.id}` } });
			expect(jsonOf(output)).toEqual([a, b]);
			expect(since(start).map((e) => e.query)).toEqual([{ $filter: `(id eq '${a.id}' or id eq '${b.id}')`, $top: '8000' }]);
			const software = mark();
			await run({ resource: 'software', operation: 'getAll', returnAll: true, filters: {} });
			expect(since(software).map((e) => e.query)).toEqual([{ $top: '10000' }]);
		} finally {
			stableListSettings.pageSize = 5;
		}
	});

	it('Get: by CVE ID (any case), without @odata.context; an unknown CVE names it', async () => {
		const v = emu.tvm.vulnerabilities().find((x) => x.exposedMachines > 0)!;
		const start = mark();
		const [item] = await run({ resource: 'vulnerability', operation: 'get', vulnerabilityId: ` ${v.id.toLowerCase()} ` });
		expect(requests(start)).toEqual([`GET /api/vulnerabilities/${v.id} 200`]);
		expect(item.json).toEqual(v);
		const error = await failure(run({ resource: 'vulnerability', operation: 'get', vulnerabilityId: 'CVE-1999-0001' }));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.httpCode).toBe('404');
		expect(error.message).toContain('Defender knows no vulnerability CVE-1999-0001');
	});

	it('Get Machines: the exposed machines, as the emulator lists them', async () => {
		const v = emu.tvm.vulnerabilities().sort((x, y) => y.exposedMachines - x.exposedMachines)[0];
		expect(v.exposedMachines).toBeGreaterThan(3);
		const start = mark();
		const output = await run({ resource: 'vulnerability', operation: 'getMachines', vulnerabilityId: v.id, returnAll: true });
		expect(requests(start)).toEqual([`GET /api/vulnerabilities/${v.id}/machineReferences 200`]);
		expect(jsonOf(output)).toEqual(emu.tvm.exposedMachines(v.id));
		expect(output).toHaveLength(v.exposedMachines);
		const limited = await run({ resource: 'vulnerability', operation: 'getMachines', vulnerabilityId: v.id, returnAll: false, limit: 2 });
		expect(jsonOf(limited)).toEqual(emu.tvm.exposedMachines(v.id).slice(0, 2));
	});
});

describe('software', () => {
	it('Get Many: the inventory, paged; vendor and name filters', async () => {
		const start = mark();
		const all = await run({ resource: 'software', operation: 'getAll', returnAll: true, filters: {} });
		expect(jsonOf(all)).toEqual(emu.tvm.software());
		expect(since(start).length).toBeGreaterThan(2);
		const filtered = mark();
		const microsoft = await run({ resource: 'software', operation: 'getAll', returnAll: true, filters: { vendor: 'Microsoft', name: ' Edge ' } });
		expect(since(filtered).map((e) => e.query)).toEqual([{ $filter: "name eq 'edge' and vendor eq 'microsoft'", $top: '5' }]);
		expect(jsonOf(microsoft)).toEqual([emu.tvm.softwareById('microsoft-_-edge')]);
	});

	it('Get, Get Machines, Get Vulnerabilities: by software ID', async () => {
		const id = 'notepad-plus-plus-_-notepad++';
		const start = mark();
		const [item] = await run({ resource: 'software', operation: 'get', softwareId: id });
		const machinesOut = await run({ resource: 'software', operation: 'getMachines', softwareId: id, returnAll: true });
		const vulnerabilities = await run({ resource: 'software', operation: 'getVulnerabilities', softwareId: 'Google-_-Chrome', returnAll: true });
		expect(requests(start)).toEqual([
			'GET /api/Software/notepad-plus-plus-_-notepad++ 200',
			'GET /api/Software/notepad-plus-plus-_-notepad++/machineReferences 200',
			'GET /api/Software/google-_-chrome/vulnerabilities 200',
		]);
		expect(item.json).toEqual(emu.tvm.softwareById(id));
		expect(jsonOf(machinesOut)).toEqual(emu.tvm.installedMachines(id));
		expect(machinesOut.length).toBeGreaterThan(0);
		expect(jsonOf(vulnerabilities)).toEqual(emu.tvm.softwareVulnerabilities('google-_-chrome'));
	});

	it('a software nobody has: 404 naming it', async () => {
		emu.tvm.clear();
		const error = await failure(run({ resource: 'software', operation: 'getMachines', softwareId: 'zoom-_-zoom', returnAll: true }));
		expect(error.httpCode).toBe('404');
		expect(error.message).toContain("no software zoom-_-zoom in the organization's inventory");
	});
});

describe('recommendation', () => {
	it('Get Many: every recommendation, paged; filters as one $filter', async () => {
		const all = await run({ resource: 'recommendation', operation: 'getAll', returnAll: true, filters: {} });
		expect(jsonOf(all)).toEqual(emu.tvm.recommendations());
		const start = mark();
		const filters = { recommendationCategory: ['SecurityControls', 'OS'], remediationType: ['ConfigurationChange'], status: ['Active'], minSeverityScore: 5 };
		const output = await run({ resource: 'recommendation', operation: 'getAll', returnAll: true, filters });
		expect(since(start)[0].query.$filter).toBe(
			"(recommendationCategory eq 'SecurityControls' or recommendationCategory eq 'OS') and remediationType eq 'ConfigurationChange' and status eq 'Active' and severityScore ge 5",
		);
		expect(jsonOf(output)).toEqual(
			emu.tvm.recommendations().filter((r) => ['SecurityControls', 'OS'].includes(r.recommendationCategory) && r.severityScore >= 5),
		);
		expect(output.length).toBeGreaterThan(0);
		const vendor = await run({ resource: 'recommendation', operation: 'getAll', returnAll: true, filters: { vendor: 'google', productName: 'chrome' } });
		expect(jsonOf(vendor)).toEqual([emu.tvm.recommendation('va-_-google-_-chrome')]);
	});

	it('Get: by ID', async () => {
		const start = mark();
		const [item] = await run({ resource: 'recommendation', operation: 'get', recommendationId: 'va-_-microsoft-_-edge' });
		expect(requests(start)).toEqual(['GET /api/recommendations/va-_-microsoft-_-edge 200']);
		expect(item.json).toEqual(emu.tvm.recommendation('va-_-microsoft-_-edge'));
	});
});

describe('machine: vulnerability management lists', () => {
	const lists: Array<[string, string, (id: string) => unknown[]]> = [
		['getVulnerabilities', 'vulnerabilities', (id) => emu.tvm.machineVulnerabilities(id)],
		['getSoftware', 'software', (id) => emu.tvm.machineSoftware(id)],
		['getMissingKbs', 'getmissingkbs', (id) => emu.tvm.missingKbs(id)],
		['getRecommendations', 'recommendations', (id) => emu.tvm.machineRecommendations(id)],
	];
	it.each(lists)('%s: GET /api/machines/{id}/%s, items as the emulator has them', async (operation, segment, expected) => {
		const machine = machines.find((m) => m.osPlatform.startsWith('Windows') && emu.tvm.missingKbs(m.id).length > 0)!;
		const start = mark();
		const output = await run({ resource: 'machine', operation, machineId: byId(machine.id), returnAll: true });
		expect(requests(start)).toEqual([`GET /api/machines/${machine.id}/${segment} 200`]);
		expect(jsonOf(output)).toEqual(expected(machine.id));
		expect(output.length).toBeGreaterThan(0);
	});

	it('a machine by name is looked up first; one item per input item', async () => {
		const [a, b] = machines;
		const start = mark();
		const output = await run(
			{ resource: 'machine', operation: 'getSoftware', machineId: '={{ $json.name }}', returnAll: false, limit: 2 },
			[{ json: { name: a.computerDnsName.split('.')[0] } }, { json: { name: b.id } }],
		);
		expect(apiCalls(start).map((e) => e.path)).toEqual(['/api/machines', `/api/machines/${a.id}/software`, `/api/machines/${b.id}/software`]);
		expect(jsonOf(output)).toEqual([...emu.tvm.machineSoftware(a.id).slice(0, 2), ...emu.tvm.machineSoftware(b.id).slice(0, 2)]);
		expect(output.map((o) => (o.pairedItem as { item: number }).item)).toEqual([0, 0, 1, 1]);
	});
});

describe('export software vulnerabilities by machine', () => {
	const exportParameters = (extra: IDataObject = {}): IDataObject => ({
		resource: 'vulnerability',
		operation: 'exportByMachine',
		method: 'files',
		output: 'rows',
		returnAll: true,
		options: {},
		...extra,
	});
	const downloads = (from: number) => since(from).filter((e) => e.path.startsWith('/_download/tvm/'));
	const exportsRequested = (from: number) => since(from).filter((e) => e.path === '/api/machines/SoftwareVulnerabilitiesExport');

	it('export files: 20,000+ lines in several files, each read as a stream without the bearer token; every line arrives', async () => {
		emu.machines.seed(2500);
		emu.tvm.linesPerFile = 6_000;
		const rows = emu.tvm.assessment();
		expect(rows.length).toBeGreaterThan(20_000);
		const files = emu.tvm.exportFiles();
		expect(files.length).toBe(Math.ceil(rows.length / 6_000));
		// Each gzip file is several times the size of a stream chunk (64 KiB).
		expect(Math.min(...files.slice(0, -1).map((f) => f.length))).toBeGreaterThan(2 * 65_536);
		expect(gunzipSync(files[0]).length).toBeGreaterThan(2_000_000);

		const start = mark();
		const outboundStart = outbound.length;
		const output = await run(exportParameters({ options: { sasValidHours: 2 } }));
		expect(output).toHaveLength(rows.length);
		expect(jsonOf(output)).toEqual(rows);
		expect(exportsRequested(start).map((e) => e.query)).toEqual([{ sasValidHours: '2' }]);
		expect(downloads(start).map((e) => e.status)).toEqual(files.map(() => 200));

		const sent = outbound.slice(outboundStart).filter((o) => String(o.url).includes('/_download/tvm/'));
		expect(sent).toHaveLength(files.length);
		for (const options of sent) {
			// Streamed: n8n's client hands over the response stream instead of a buffer of the file.
			expect(options.encoding).toBe('stream');
			expect(JSON.stringify(options.headers ?? {})).not.toMatch(/authorization|bearer/i);
		}
	});

	it('Limit: stops reading at the limit; the files after it are not downloaded', async () => {
		emu.tvm.linesPerFile = 40;
		const rows = emu.tvm.assessment();
		expect(rows.length).toBeGreaterThan(200);
		const start = mark();
		const output = await run(exportParameters({ returnAll: false, limit: 55 }));
		expect(jsonOf(output)).toEqual(rows.slice(0, 55));
		expect(downloads(start)).toHaveLength(2);
	});

	it('an expired link: fresh links from the same snapshot, going on at the file that failed', async () => {
		emu.tvm.linesPerFile = 50;
		const rows = emu.tvm.assessment();
		let n = 0;
		beforeSend = (options) => {
			// Before the third file: 61 minutes on (emulator clock) — every link handed out (valid 1 hour) has expired.
			if (String(options.url).includes('/_download/tvm/') && ++n === 3) emu.clock.advance(61 * 60_000);
		};
		const start = mark();
		const output = await run(exportParameters());
		expect(jsonOf(output)).toEqual(rows);
		const log = since(start).filter((e) => e.path.includes('SoftwareVulnerabilitiesExport') || e.path.startsWith('/_download/tvm/'));
		expect(log.map((e) => `${e.path.startsWith('/_download/') ? 'file' : 'export'} ${e.status}`).slice(0, 6)).toEqual([
			'export 200',
			'file 200',
			'file 200',
			'file 403',
			'export 200',
			'file 200',
		]);
		expect(exportsRequested(start)).toHaveLength(2);
		expect(downloads(start)).toHaveLength(Math.ceil(rows.length / 50) + 1);
	});

	it('a snapshot replaced meanwhile: everything is read again from the new one (one snapshot in the output)', async () => {
		emu.tvm.linesPerFile = 50;
		let n = 0;
		const extra = emu.machines.create({ osPlatform: 'Windows11', computerDnsName: 'late.contoso.com' });
		emu.tvm.uninstall(extra.id, 'microsoft-_-windows_11');
		emu.tvm.exportFiles(); // the snapshot the run starts with: without the late machine's OS
		beforeSend = (options) => {
			if (String(options.url).includes('/_download/tvm/') && ++n === 2) {
				emu.tvm.install(extra.id, 'microsoft-_-windows_11');
				emu.clock.advance(6 * 3600_000 + 60_000); // past the links' hour and the six-hour refresh
			}
		};
		const start = mark();
		const output = await run(exportParameters());
		const rows = emu.tvm.assessment();
		expect(jsonOf(output)).toEqual(rows);
		expect(rows.some((r) => r.deviceId === extra.id && r.softwareName === 'windows_11')).toBe(true);
		expect(exportsRequested(start)).toHaveLength(2);
	});

	it('links that keep failing: the item fails naming the file, after two refreshes', async () => {
		emu.tvm.linesPerFile = 100;
		beforeSend = (options) => {
			if (String(options.url).includes('/_download/tvm/')) emu.clock.advance(2 * 3600_000);
		};
		const start = mark();
		const error = await failure(run(exportParameters()));
		expect(error.message).toMatch(/^Downloading export file 1 of \d+ \(software vulnerabilities by machine, generated .+\) failed: HTTP 403 \(the link expired or was refused\)$/);
		expect(error.description).toContain('Fresh links were asked for 2 time(s)');
		expect(exportsRequested(start)).toHaveLength(3);
	});

	it('binary output: one item per file, the gzip bytes as downloaded', async () => {
		emu.tvm.linesPerFile = 120;
		const files = emu.tvm.exportFiles();
		const output = await run(exportParameters({ output: 'binary', binaryPropertyName: 'export' }));
		expect(output).toHaveLength(files.length);
		output.forEach((item, i) => {
			expect(item.json).toMatchObject({ fileIndex: i, fileCount: files.length });
			expect(String(item.json.fileName)).toMatch(/^part-\d{5}-[\w-]+\.c000\.json\.gz$/);
			const binary = item.binary!.export;
			expect(binary.mimeType).toBe('application/gzip');
			expect(binary.directory).toBeUndefined();
			expect(Buffer.from(binary.data, 'base64').equals(files[i])).toBe(true);
		});
	});

	it('JSON pages: pageSize, then each @odata.nextLink; Limit asks for no more than it keeps', async () => {
		const rows = emu.tvm.assessment();
		const start = mark();
		const output = await run({ resource: 'vulnerability', operation: 'exportByMachine', method: 'json', returnAll: true, options: { pageSize: 60 } });
		expect(jsonOf(output)).toEqual(rows);
		const pages = since(start).filter((e) => e.path === '/api/machines/SoftwareVulnerabilitiesByMachine');
		expect(pages).toHaveLength(Math.ceil(rows.length / 60));
		expect(pages[0].query).toEqual({ pageSize: '60' });
		expect(Object.keys(pages[1].query).sort()).toEqual(['$skiptoken', 'pagesize']);
		const limited = mark();
		const first = await run({ resource: 'vulnerability', operation: 'exportByMachine', method: 'json', returnAll: false, limit: 7, options: {} });
		expect(jsonOf(first)).toEqual(rows.slice(0, 7));
		expect(since(limited).map((e) => e.query)).toEqual([{ pageSize: '7' }]);
	});
});

describe('permissions: a 403 names the application permission', () => {
	const cases: Array<[string, string, IDataObject]> = [
		['Vulnerability › Get Many', 'Vulnerability.Read.All', { resource: 'vulnerability', operation: 'getAll', returnAll: true, filters: {} }],
		['Vulnerability › Export', 'Vulnerability.Read.All', { resource: 'vulnerability', operation: 'exportByMachine', method: 'files', output: 'rows', returnAll: true, options: {} }],
		['Software › Get Many', 'Software.Read.All', { resource: 'software', operation: 'getAll', returnAll: true, filters: {} }],
		['Software › Get Vulnerabilities', 'Vulnerability.Read.All', { resource: 'software', operation: 'getVulnerabilities', softwareId: 'microsoft-_-edge', returnAll: true }],
		['Recommendation › Get', 'SecurityRecommendation.Read.All', { resource: 'recommendation', operation: 'get', recommendationId: 'va-_-microsoft-_-edge' }],
		['Machine › Get Missing KBs', 'Software.Read.All', { resource: 'machine', operation: 'getMissingKbs', machineId: { __rl: true, mode: 'id', value: 'a'.repeat(40) }, returnAll: true }],
	];
	it.each(cases)('%s needs %s', async (_name, permission, parameters) => {
		const others = ['Vulnerability.Read.All', 'Software.Read.All', 'SecurityRecommendation.Read.All', 'Machine.Read.All'].filter((r) => r !== permission);
		const client = emu.addClient({ roles: others, displayName: `without ${permission}` });
		const error = await failure(run(parameters, undefined, { client }));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.httpCode).toBe('403');
		expect(error.message).toContain(`needs the WindowsDefenderATP application permission ${permission}, with admin consent.`);
	});
});

describe('bad input fails before any request', () => {
	const cases: Array<[string, IDataObject, string]> = [
		['a CVE ID without the year', { resource: 'vulnerability', operation: 'get', vulnerabilityId: 'CVE-21338' }, 'Vulnerability ID "CVE-21338" is not a vulnerability ID such as CVE-2024-21338'],
		['a path in a CVE ID', { resource: 'vulnerability', operation: 'getMachines', vulnerabilityId: '../machines', returnAll: true }, 'is not a vulnerability ID'],
		['an empty CVE ID', { resource: 'vulnerability', operation: 'get', vulnerabilityId: ' ' }, 'Vulnerability ID is empty'],
		['a CVE in the IDs filter', { resource: 'vulnerability', operation: 'getAll', returnAll: true, filters: { ids: 'CVE-2024-1234, edge' } }, 'Vulnerability IDs "edge" is not a vulnerability ID'],
		['a CVSS score above 10', { resource: 'vulnerability', operation: 'getAll', returnAll: true, filters: { minCvss: 11 } }, 'Minimum CVSS V3 Score 11 is not a score from 0 to 10'],
		['a bad date', { resource: 'vulnerability', operation: 'getAll', returnAll: true, filters: { updatedSince: 'yesterday-ish' } }, 'Updated Since "yesterday-ish" is not a date-time'],
		['a software ID without vendor', { resource: 'software', operation: 'get', softwareId: 'edge' }, 'Software ID "edge" is not a Defender software ID: vendor-_-name'],
		['a software ID with a slash', { resource: 'software', operation: 'getMachines', softwareId: 'microsoft-_-edge/../x', returnAll: true }, 'is not a Defender software ID'],
		['a recommendation ID', { resource: 'recommendation', operation: 'get', recommendationId: 'update chrome' }, 'Recommendation ID "update chrome" is not a Defender recommendation ID'],
		['a malformed machine ID', { resource: 'machine', operation: 'getVulnerabilities', machineId: { __rl: true, mode: 'id', value: '../software' }, returnAll: true }, 'is not a machine ID'],
		['link validity over 6 hours', { resource: 'vulnerability', operation: 'exportByMachine', method: 'files', output: 'rows', returnAll: true, options: { sasValidHours: 7 } }, 'Link Validity (Hours) 7 is not a whole number from 1 to 6'],
		['a page size over 200,000', { resource: 'vulnerability', operation: 'exportByMachine', method: 'json', returnAll: true, options: { pageSize: 200_001 } }, 'Page Size 200001 is not a whole number from 1 to 200,000'],
	];
	it.each(cases)('%s', async (_name, parameters, message) => {
		const start = mark();
		const error = await failure(run(parameters));
		expect(error.message).toContain(message);
		expect(apiCalls(start)).toHaveLength(0);
	});
});

it('the node lists the three resources and every operation has a handler', async () => {
	const properties = new MicrosoftDefender().description.properties;
	const resource = properties.find((p) => p.name === 'resource')!;
	const names = (resource.options as Array<{ name: string }>).map((o) => o.name);
	expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
	expect(names).toEqual(expect.arrayContaining(['Recommendation', 'Software', 'Vulnerability']));
	for (const [name, module] of [
		['vulnerability', await import('../../nodes/MicrosoftDefender/actions/vulnerability')],
		['software', await import('../../nodes/MicrosoftDefender/actions/software')],
		['recommendation', await import('../../nodes/MicrosoftDefender/actions/recommendation')],
	] as const) {
		const operation = properties.find((p) => p.name === 'operation' && (p.displayOptions?.show?.resource as string[]).includes(name))!;
		const options = operation.options as Array<{ value: string; action?: string }>;
		expect(options.map((o) => o.value).sort()).toEqual(Object.keys(module.operations).sort());
		expect(options.every((o) => o.action)).toBe(true);
	}
});

it('no secret in anything a user saw: no client secret, no token, no download link', () => {
	const seen = observer.observed.join('\n');
	expect(seen.length).toBeGreaterThan(1000);
	expect(seen).not.toContain(emu.client.clientSecret);
	expect(seen).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+/);
	expect(seen).not.toContain('/_download/');
	expect(seen).not.toContain('sig=');
	expect(seen).not.toMatch(/Bearer /);
});
