/**
 * The streaming path of the export (helpers/download.ts, helpers/jsonLines.ts) on its own: rows come out while the
 * body is still arriving (never collected whole first), a stream far larger than memory would hold as one string
 * passes in bounded memory, a body that breaks off is read again from its first byte with the rows of the broken
 * attempt dropped, a 4xx is not retried, and bad content is named with its line.
 */
import { PassThrough, Readable } from 'stream';
import { createGzip, gzipSync } from 'zlib';
import type { IExecuteFunctions, IHttpRequestOptions } from 'n8n-workflow';

import { downloadFromLink, streamFromLink } from '../../nodes/MicrosoftDefender/helpers/download';
import { JsonLinesError, readJsonLines } from '../../nodes/MicrosoftDefender/helpers/jsonLines';
import { transportSettings } from '../../nodes/MicrosoftDefender/transport';

const saved = { ...transportSettings };
beforeAll(() => {
	transportSettings.baseDelayMs = 1;
});
afterAll(() => {
	Object.assign(transportSettings, saved);
});

const line = (i: number) => JSON.stringify({ id: `row-${i}`, deviceId: 'a'.repeat(40), softwareName: 'chrome', cveId: `CVE-2024-${10000 + i}`, pad: 'x'.repeat(200) }) + '\n';

/** A context whose httpRequest answers each call with the next response (status and body). */
function fakeContext(responses: Array<() => { statusCode: number; body: Readable }>, seen: IHttpRequestOptions[] = []): IExecuteFunctions {
	let call = 0;
	return {
		helpers: {
			httpRequest: async (options: IHttpRequestOptions) => {
				seen.push(options);
				const next = responses[Math.min(call++, responses.length - 1)];
				return { ...next(), headers: {} };
			},
		},
	} as unknown as IExecuteFunctions;
}

describe('readJsonLines', () => {
	it('hands out rows while the body is still arriving: the first row before the last byte is sent', async () => {
		const source = new PassThrough();
		const gzip = createGzip({ flush: 2 /* Z_SYNC_FLUSH: each write leaves at once */ });
		gzip.pipe(source);
		const rows: string[] = [];
		let firstRowSeen!: () => void;
		const firstRow = new Promise<void>((resolve) => (firstRowSeen = resolve));
		const reading = readJsonLines(source, (row) => {
			rows.push(String(row.id));
			if (rows.length === 1) firstRowSeen();
		});
		for (let i = 0; i < 100; i++) gzip.write(line(i));
		// The rest is written only once a row came out: a reader that waits for the whole file would wait forever.
		await Promise.race([firstRow, new Promise((_, reject) => setTimeout(() => reject(new Error('no row before the end of the body')), 5000))]);
		expect(rows.length).toBeGreaterThan(0);
		expect(rows.length).toBeLessThanOrEqual(100);
		for (let i = 100; i < 250; i++) gzip.write(line(i));
		gzip.end();
		expect(await reading).toBe(250);
		expect(rows).toEqual(Array.from({ length: 250 }, (_, i) => `row-${i}`));
	});

	it('a 150 MB stream (gzip, generated as it is read) in bounded memory', async () => {
		const total = 600_000; // ≈ 150 MB of JSON lines
		let produced = 0;
		const text = Readable.from(
			(function* () {
				while (produced < total) {
					let chunk = '';
					for (let i = 0; i < 500 && produced < total; i++) chunk += line(produced++);
					yield chunk;
				}
			})(),
		);
		const gzip = createGzip();
		text.pipe(gzip);
		if (global.gc) global.gc();
		const base = process.memoryUsage();
		let peak = 0;
		let bytes = 0;
		const count = await readJsonLines(gzip, (row, n) => {
			bytes += String(row.pad).length + 150;
			if (n % 20_000 === 0) {
				const now = process.memoryUsage();
				peak = Math.max(peak, now.heapUsed + now.arrayBuffers - (base.heapUsed + base.arrayBuffers));
			}
		});
		expect(count).toBe(total);
		expect(bytes).toBeGreaterThan(140_000_000);
		// Nothing near the size of the stream was held (a whole-file string alone would be 150 MB, twice in UTF-16).
		expect(peak).toBeLessThan(100_000_000);
	});

	it('plain (already decompressed) bodies, CRLF line breaks, blank lines, characters split across chunks', async () => {
		const text = Buffer.from('{"a":"é1"}\r\n\r\n{"a":"€2"}\n{"a":"3"}', 'utf8');
		// One byte per chunk: every multi-byte character is split.
		const rows: unknown[] = [];
		await readJsonLines(Readable.from([...text].map((b) => Buffer.from([b]))), (row) => void rows.push(row));
		expect(rows).toEqual([{ a: 'é1' }, { a: '€2' }, { a: '3' }]);
	});

	it('a line that is not JSON is named; a body that is not gzip after the magic number is named', async () => {
		const bad = gzipSync(Buffer.from('{"a":1}\n{"a":\n'));
		await expect(readJsonLines(Readable.from([bad]), () => {}, { what: 'Export file 2 of 3' })).rejects.toThrow(
			new JsonLinesError('Export file 2 of 3: line 2 is not JSON (Unexpected end of JSON input).'),
		);
		const truncated = gzipSync(Buffer.from(line(1).repeat(1000))).subarray(0, 200);
		await expect(readJsonLines(Readable.from([truncated]), () => {})).rejects.toThrow(/not valid gzip data: unexpected end of file/);
	});

	it('stopping early does not read the rest', async () => {
		let pulled = 0;
		const source = Readable.from(
			(function* () {
				for (let i = 0; i < 1000; i++) {
					pulled++;
					yield line(i);
				}
			})(),
		);
		const rows: unknown[] = [];
		await readJsonLines(source, (row) => {
			rows.push(row);
			return rows.length < 10;
		});
		expect(rows).toHaveLength(10);
		expect(pulled).toBeLessThan(50);
	});
});

describe('streamFromLink', () => {
	const body = gzipSync(Buffer.from(Array.from({ length: 2000 }, (_, i) => line(i)).join('')));

	it('asks for a stream, without the bearer token; a body that breaks off is read again, the broken rows dropped', async () => {
		const seen: IHttpRequestOptions[] = [];
		const broken = () => {
			const stream = new PassThrough();
			stream.write(body.subarray(0, Math.floor(body.length / 2)));
			setTimeout(() => stream.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 5);
			return { statusCode: 200, body: stream };
		};
		const whole = () => ({ statusCode: 200, body: Readable.from([body]) });
		const context = fakeContext([broken, whole], seen);
		const rows: unknown[] = [];
		const attempts: number[] = [];
		const result = await streamFromLink(context, new URL('https://storage.example/export/part-0.json.gz?sig=secret'), async ({ stream, attempt }) => {
			attempts.push(attempt);
			const mark = rows.length;
			try {
				return await readJsonLines(stream, (row) => void rows.push(row));
			} catch (error) {
				rows.length = mark;
				throw error;
			}
		});
		expect(result).toEqual({ ok: true, value: 2000 });
		expect(attempts).toEqual([1, 2]);
		expect(rows).toHaveLength(2000);
		expect(seen.map((o) => o.encoding)).toEqual(['stream', 'stream']);
		expect(seen.every((o) => !o.headers || !JSON.stringify(o.headers).match(/authorization/i))).toBe(true);
	});

	it('a 403 ends at once (the link expired); a 5xx is retried on the same link, three attempts', async () => {
		const expired = fakeContext([() => ({ statusCode: 403, body: Readable.from([Buffer.from('<Error/>')]) })]);
		const consume = jest.fn();
		expect(await streamFromLink(expired, new URL('https://storage.example/a'), consume)).toEqual({ ok: false, status: 403 });
		expect(consume).not.toHaveBeenCalled();
		const seen: IHttpRequestOptions[] = [];
		const busy = fakeContext([() => ({ statusCode: 503, body: Readable.from([Buffer.from('')]) })], seen);
		expect(await streamFromLink(busy, new URL('https://storage.example/a'), consume)).toEqual({ ok: false, status: 503 });
		expect(seen).toHaveLength(3);
	});

	it("a consumer's own error (bad content) is not retried", async () => {
		const seen: IHttpRequestOptions[] = [];
		const context = fakeContext([() => ({ statusCode: 200, body: Readable.from([Buffer.from('not json\n')]) })], seen);
		await expect(streamFromLink(context, new URL('https://storage.example/a'), async ({ stream }) => await readJsonLines(stream, () => {}))).rejects.toThrow(
			JsonLinesError,
		);
		expect(seen).toHaveLength(1);
	});

	it('downloadFromLink (investigation packages, live response results) collects the same stream whole', async () => {
		const context = fakeContext([() => ({ statusCode: 200, body: Readable.from([Buffer.from('PK'), Buffer.from('zip bytes')]) })]);
		expect(await downloadFromLink(context, new URL('https://storage.example/p'))).toEqual({ ok: true, data: Buffer.from('PKzip bytes') });
	});
});
