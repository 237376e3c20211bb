/**
 * Get Many of machines, machine actions and indicators while the list changes between page requests, through
 * n8n-core's ExecuteContext against the emulator. The pages are shrunk to 4 rows (2 re-read per page), the
 * emulator lists each by a key the test chooses (`setListOrder`), so new rows land before or after the page
 * boundary, and n8n's HTTP client is wrapped so the list changes exactly between page 1 and page 2.
 * Defender documents no order for these lists, only `$filter`/`$top`/`$skip` (see mdeListStable).
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { stableListSettings, transportSettings } from '../../nodes/MicrosoftDefender/transport';
import { startEmulator, type Emulator } from '../emulator';
import { createHarness, emulatorCredentials, executeNode } from '../helpers/n8n';
import { interceptOutboundRequests } from '../helpers/outbound';

let emu: Emulator;

/** Runs before each list request is sent: `(path, n)` with n counting that path's GETs of the current run. */
let beforeListRequest: (path: string, n: number) => void = () => {};
const listRequests = new Map<string, number>();

beforeAll(async () => {
	transportSettings.baseDelayMs = 10;
	transportSettings.rateLimitEnabled = false;
	stableListSettings.pageSize = 4;
	stableListSettings.overlap = 2;
	emu = await startEmulator();
	interceptOutboundRequests((options) => {
		const path = new URL(String(options.url)).pathname;
		if ((options.method ?? 'GET') === 'GET' && LIST_PATHS.has(path)) {
			const n = (listRequests.get(path) ?? 0) + 1;
			listRequests.set(path, n);
			beforeListRequest(path, n);
		}
	});

});

afterAll(async () => {
	jest.restoreAllMocks();
	await emu?.close();
});

beforeEach(() => {
	emu.reset();
	listRequests.clear();
	beforeListRequest = () => {};
});

const LIST_PATHS = new Set(['/api/machines', '/api/machineactions', '/api/indicators']);
const pad = (rank: number) => String(rank).padStart(4, '0');

/** One list: how to add a row at a position (`rank` orders the list) and remove one. */
interface ListSpec {
	resource: 'machine' | 'machineAction' | 'indicator';
	path: string;
	order: Parameters<Emulator['setListOrder']>;
	add(rank: number): string;
	remove(id: string): void;
}

const LISTS: ListSpec[] = [
	{
		resource: 'machine',
		path: '/api/machines',
		order: ['machines', 'computerDnsName asc'],
		add: (rank) => emu.machines.create({ computerDnsName: `pg-${pad(rank)}.contoso.com`, osPlatform: 'Windows11' }).id,
		remove: (id) => expect(emu.machines.remove(id)).toBe(true),
	},
	{
		resource: 'machineAction',
		path: '/api/machineactions',
		order: ['machineActions', 'requestor asc'],
		add: (rank) => {
			const machine = emu.machines.create({ computerDnsName: `ma-${pad(rank)}.contoso.com`, osPlatform: 'Windows11' });
			return emu.machineActions.create(machine.id, 'RunAntiVirusScan', { requestor: `analyst-${pad(rank)}@contoso.com` }).id;
		},
		remove: (id) => expect(emu.machineActions.remove(id)).toBe(true),
	},
	{
		resource: 'indicator',
		path: '/api/indicators',
		order: ['indicators', 'title asc'],
		add: (rank) =>
			emu.indicators.create({
				indicatorValue: `pg-${pad(rank)}.example.org`,
				indicatorType: 'DomainName',
				action: 'Block',
				title: `Paging ${pad(rank)}`,
				description: 'Get Many paging test',
			}).id,
		remove: (id) => expect(emu.indicators.remove(id)).toBe(true),
	},
];

async function getMany(resource: ListSpec['resource'], parameters: IDataObject): Promise<INodeExecutionData[]> {
	const nodeType = new MicrosoftDefender();
	const h = createHarness(
		nodeType,
		'microsoftDefender',
		{ resource, operation: 'getAll', filters: {}, ...parameters },
		emulatorCredentials(emu),
	);
	const [output] = await executeNode(h, nodeType);
	return output;
}

/** 12 rows ranked 10, 20, …, 120, listed in rank order: page 1 (4 rows) holds ranks 10–40. */
function seed(spec: ListSpec): Map<number, string> {
	emu.setListOrder(...spec.order);
	const rows = new Map<number, string>();
	for (let rank = 10; rank <= 120; rank += 10) rows.set(rank, spec.add(rank));
	return rows;
}

const queries = (path: string) =>
	emu.requestLog.filter((e) => e.path === path).map((e) => ({ ...e.query }));

function expectEachOnce(output: INodeExecutionData[], ids: string[]): void {
	const returned = output.map((o) => String(o.json.id));
	expect(new Set(returned).size).toBe(returned.length);
	expect(ids.filter((id) => !returned.includes(id))).toEqual([]);
}

describe.each(LISTS)('$resource: Get Many while the list changes between page requests', (spec) => {
	it('rows inserted before and after the page boundary and a read row removed: every row that stayed, once', async () => {
		const rows = seed(spec);
		let before = '';
		let after = '';
		beforeListRequest = (path, n) => {
			if (path !== spec.path || n !== 2) return;
			spec.remove(rows.get(20)!);
			before = spec.add(15);
			after = spec.add(75);
		};
		const output = await getMany(spec.resource, { returnAll: true });
		// Every one of the 12 rows once: the 11 that stayed, and rank 20, read on page 1 before it was removed.
		expectEachOnce(output, [...rows.values()]);
		expect(output.map((o) => o.json.id)).toContain(after);
		expect(output.map((o) => o.json.id)).not.toContain(before); // landed behind what page 1 had read
		expect(output).toHaveLength(13);
		// Each page re-reads the last 2 rows of the one before; the list (13 rows) ends on a short page.
		expect(queries(spec.path)).toEqual([
			{ $top: '4' },
			{ $top: '4', $skip: '2' },
			{ $top: '4', $skip: '4' },
			{ $top: '4', $skip: '6' },
			{ $top: '4', $skip: '8' },
			{ $top: '4', $skip: '10' },
		]);
	});

	it('more read rows removed than the pages overlap: the place is found again from further back', async () => {
		const rows = seed(spec);
		beforeListRequest = (path, n) => {
			if (path !== spec.path || n !== 2) return;
			for (const rank of [10, 20, 30]) spec.remove(rows.get(rank)!);
			spec.add(5);
		};
		const output = await getMany(spec.resource, { returnAll: true });
		// The 12 rows (ranks 10–30 read on page 1 before they were removed) and the one inserted at the front, which
		// the re-read from 0 came across.
		expectEachOnce(output, [...rows.values()]);
		expect(output).toHaveLength(13);
		// Request 2 (skip 2) holds no row of page 1 and is dropped; request 3 reads from 0.
		expect(queries(spec.path).map((q) => q.$skip ?? '0')).toEqual(['0', '2', '0', '2', '4', '6', '8']);
	});

	it('Limit: the limit, each row once, asking only for the rows still wanted', async () => {
		const rows = seed(spec);
		beforeListRequest = (path, n) => {
			if (path === spec.path && n === 2) spec.add(15);
		};
		const output = await getMany(spec.resource, { returnAll: false, limit: 6 });
		expect(output).toHaveLength(6);
		expectEachOnce(output, [10, 20, 30, 40, 50, 60].map((rank) => rows.get(rank)!));
		expect(output.map((o) => o.pairedItem)).toEqual(Array(6).fill({ item: 0 }));
		expect(queries(spec.path)).toEqual([
			{ $top: '4' },
			{ $top: '4', $skip: '2' },
			{ $top: '3', $skip: '4' },
		]);
	});
});
