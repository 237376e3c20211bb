/**
 * `mdeListStable` (the Get Many paging of machines, machine actions and indicators) against a model list that
 * changes between page requests: rows inserted anywhere (before and after the page boundary), rows removed that
 * were already read or not yet read, under several orders. Whatever happens, no row is returned twice and every
 * row that existed throughout is returned. Sign-in goes to the emulator's Entra ID; the list itself is served by
 * the model through the transport's `send`, so each scenario can script exactly what changes when.
 */
import {
	ListChangedError,
	mdeListStable,
	transportSettings,
	type HttpSender,
	type TransportContext,
} from '../../nodes/MicrosoftDefender/transport';
import { parseCredentials } from '../../nodes/MicrosoftDefender/transport/credentials';
import { startEmulator, type Emulator } from '../emulator';
import { emulatorCredentials } from '../helpers/n8n';
import { prng } from '../cursor/harness';

let emu: Emulator;

beforeAll(async () => {
	transportSettings.rateLimitEnabled = false;
	emu = await startEmulator();
});

afterAll(async () => {
	await emu?.close();
});

interface Row {
	id: string;
	/** The model API's hidden sort key (ties by id). */
	key: number;
}


/**
 * A list endpoint over `rows`, sorted by key (ties by id) on every request, `$top`/`$skip` applied. `between(n)`
 * runs before request n (1-based) is answered, i.e. between page requests n−1 and n.
 */
class ModelList {
	rows: Row[] = [];
	readonly requests: Array<{ skip: number; top: number; returned: string[] }> = [];
	/** Ids that existed at the first request and were never removed. */
	private readonly removed = new Set<string>();
	private initial: string[] = [];
	private nextId = 0;

	constructor(
		count: number,
		private readonly between: (list: ModelList, request: number) => void = () => {},
		keyOf: (i: number) => number = (i) => i * 10,
	) {
		for (let i = 0; i < count; i++) this.rows.push({ id: this.newId(), key: keyOf(i) });
	}

	newId(): string {
		return `row-${String(this.nextId++).padStart(5, '0')}`;
	}

	insert(key: number): string {
		const id = this.newId();
		this.rows.push({ id, key });
		return id;
	}

	remove(id: string): void {
		this.rows = this.rows.filter((r) => r.id !== id);
		this.removed.add(id);
	}

	/** Ids in the API's current order. */
	ordered(): string[] {
		return this.rows
			.slice()
			.sort((a, b) => a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
			.map((r) => r.id);
	}

	/** Rows present from the first request to the end. */
	survivors(): string[] {
		return this.initial.filter((id) => !this.removed.has(id));
	}

	readonly send: HttpSender = async ({ url }) => {
		const query = new URL(url).searchParams;
		if (this.requests.length === 0) this.initial = this.ordered();
		else this.between(this, this.requests.length + 1);
		const skip = Number(query.get('$skip') ?? 0);
		const top = Number(query.get('$top') ?? 10_000);
		const returned = this.ordered().slice(skip, skip + top);
		this.requests.push({ skip, top, returned });
		return { status: 200, headers: {}, body: { value: returned.map((id) => ({ id, name: `machine ${id}` })) } };
	};
}

const transport = (list: ModelList): TransportContext => ({
	credentials: parseCredentials(emulatorCredentials(emu)),
	send: list.send,
});

async function listIds(list: ModelList, options: { limit?: number; pageSize?: number; overlap?: number } = {}): Promise<string[]> {
	const rows = await mdeListStable(transport(list), '/api/machines', {}, { pageSize: 4, overlap: 2, ...options });
	return rows.map((r) => String(r.id));
}

function expectCompleteAndUnique(ids: string[], list: ModelList): void {
	expect(new Set(ids).size).toBe(ids.length);
	const returned = new Set(ids);
	const missing = list.survivors().filter((id) => !returned.has(id));
	expect(missing).toEqual([]);
}

describe('mdeListStable: scripted changes between page 1 and page 2', () => {
	// 12 rows, keys 0, 10, …, 110; pages of 4 with 2 rows of overlap. Page 1 reads keys 0–30.
	const firstFour = (list: ModelList) => list.ordered().slice(0, 4);

	it('an insert before the boundary, one after, and a read row removed: each surviving row once', async () => {
		let before = '';
		let after = '';
		let gone = '';
		const list = new ModelList(12, (l, n) => {
			if (n !== 2) return;
			gone = firstFour(l)[1];
			l.remove(gone);
			before = l.insert(5);
			after = l.insert(75);
		});
		const ids = await listIds(list);
		expectCompleteAndUnique(ids, list);
		expect(ids).toContain(gone); // read before it was removed
		expect(ids).toContain(after);
		expect(ids).not.toContain(before); // inserted behind the position already read
		// Page 2 re-reads two rows of page 1 (skip 2), and so on.
		expect(list.requests.map((r) => [r.skip, r.top])).toEqual([
			[0, 4],
			[2, 4],
			[4, 4],
			[6, 4],
			[8, 4],
			[10, 4],
		]);
	});

	it('an insert before the boundary and a removal of a row already read: nothing repeated, nothing lost (plain $skip paging repeats one and loses one here)', async () => {
		for (const change of [(l: ModelList) => void l.insert(5), (l: ModelList) => l.remove(l.ordered()[0])]) {
			const list = new ModelList(12, (l, n) => n === 2 && change(l));
			expectCompleteAndUnique(await listIds(list), list);
		}
	});

	it('more rows removed before the boundary than the overlap: the place is lost, found again from further back', async () => {
		const list = new ModelList(12, (l, n) => {
			if (n !== 2) return;
			for (const id of firstFour(l).slice(0, 3)) l.remove(id);
		});
		const ids = await listIds(list);
		expectCompleteAndUnique(ids, list);
		// Request 2 (skip 2) finds no row it read: discarded; request 3 goes 4 rows back (skip 0) and anchors.
		expect(list.requests.map((r) => r.skip)).toEqual([0, 2, 0, 2, 4, 6]);
		expect(list.requests[1].returned.some((id) => ids.slice(0, 4).includes(id))).toBe(false);
	});

	it('every row of the overlap removed and rows inserted at the front: still each survivor once', async () => {
		const list = new ModelList(12, (l, n) => {
			if (n !== 2) return;
			const [, , c, d] = firstFour(l);
			l.remove(c);
			l.remove(d);
			for (let k = 0; k < 5; k++) l.insert(-1 - k);
		});
		const ids = await listIds(list);
		expectCompleteAndUnique(ids, list);
	});

	it('newest first (every insert lands before the boundary)', async () => {
		// Keys descending by creation: the model sorts ascending, so a new row with the lowest key comes first.
		let lowest = -1;
		const list = new ModelList(
			20,
			(l, n) => {
				if (n % 2 === 0) l.insert(lowest--);
				if (n === 3) l.remove(l.ordered()[6]);
			},
			(i) => 1000 - i,
		);
		expectCompleteAndUnique(await listIds(list), list);
	});

	it('Limit: at most the limit, no repeats, asking only for the rows still wanted', async () => {
		const list = new ModelList(12, (l, n) => n === 2 && void l.insert(5));
		const ids = await listIds(list, { limit: 6 });
		expect(ids).toHaveLength(6);
		expect(new Set(ids).size).toBe(6);
		// Request 2 asks for the 2 rows still wanted + 2 re-read; the insert before the boundary pushes one of them
		// out of reach (1 new row), so request 3 asks for the last one + 2 re-read.
		expect(list.requests.map((r) => [r.skip, r.top, r.returned.filter((id) => !ids.slice(0, 4).includes(id)).length])).toEqual([
			[0, 4, 0],
			[2, 4, 1],
			[4, 3, 2],
		]);
		expect(ids).toEqual(list.ordered().filter((id) => id !== 'row-00012').slice(0, 6));
	});

	it('a list that fits one page is one request, as before', async () => {
		const list = new ModelList(3);
		expect(await listIds(list, { pageSize: 10_000, overlap: 100 })).toEqual(list.ordered());
		expect(list.requests).toEqual([{ skip: 0, top: 10_000, returned: list.ordered() }]);
	});

	it('a list replaced on every request gives up with a clear error instead of a partial answer', async () => {
		const list = new ModelList(8, (l) => {
			for (const id of l.ordered()) l.remove(id);
			for (let k = 0; k < 8; k++) l.insert(k);
		});
		await expect(listIds(list)).rejects.toThrow(ListChangedError);
		await expect(listIds(list)).rejects.toThrow(
			'GET /api/machines: the list changed faster than it could be read (30 re-reads without getting further: rows before a page boundary kept being removed). Run it again, or narrow it with filters.',
		);
	});

	it('a list emptied after page 1 ends with what was read', async () => {
		const list = new ModelList(8, (l, n) => n === 2 && l.ordered().forEach((id) => l.remove(id)));
		const ids = await listIds(list);
		expect(ids).toEqual(list.requests[0].returned);
		// Request 2 (skip 2) is empty: no place; request 3 from 0 is empty too: the end.
		expect(list.requests.map((r) => r.skip)).toEqual([0, 2, 0]);
	});
});

describe('mdeListStable: random inserts and removals between every two requests', () => {
	/** A list of 10–69 rows with random keys, paged 2–10 at a time, changed before every request but the first. */
	function randomRun(seed: number, churn: number) {
		const random = prng(seed);
		const count = 10 + Math.floor(random() * 60);
		const pageSize = 2 + Math.floor(random() * 9);
		const overlap = 1 + Math.floor(random() * (pageSize - 1));
		const list = new ModelList(
			count,
			(l) => {
				const inserts = Math.floor(random() * (churn + 1));
				for (let k = 0; k < inserts; k++) l.insert(Math.floor(random() * count * 10) - 5);
				const removals = Math.floor(random() * (churn + 1));
				for (let k = 0; k < removals && l.rows.length; k++) {
					// Mostly rows near the front (already read), where a removal shifts the unread part.
					const ordered = l.ordered();
					l.remove(ordered[Math.floor(random() ** 2 * ordered.length)]);
				}
			},
			() => Math.floor(random() * count * 10),
		);
		return { list, pageSize, overlap };
	}

	it.each(Array.from({ length: 60 }, (_, i) => i + 1))(
		'seed %i, up to one insert and one removal per gap: no row twice, every row that existed throughout once',
		async (seed) => {
			const { list, pageSize, overlap } = randomRun(seed, 1);
			expectCompleteAndUnique(await listIds(list, { pageSize, overlap }), list);
		},
	);

	it('up to 4 inserts and 4 removals per gap (faster than pages of 2–10 are read): complete or a ListChangedError, never a wrong list', async () => {
		let completed = 0;
		for (let seed = 1; seed <= 60; seed++) {
			const { list, pageSize, overlap } = randomRun(seed, 4);
			const ids = await listIds(list, { pageSize, overlap }).catch((error: unknown) => {
				if (!(error instanceof ListChangedError)) throw error;
				return undefined;
			});
			if (!ids) continue;
			completed++;
			expectCompleteAndUnique(ids, list);
		}
		expect(completed).toBeGreaterThanOrEqual(45); // 52 of these 60 seeds at the time of writing
	});
});
