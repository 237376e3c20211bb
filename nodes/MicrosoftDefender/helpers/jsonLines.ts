/**
 * Reads a stream of JSON lines (optionally gzip-compressed) chunk by chunk: stream → gunzip stream → line splitter →
 * one parsed object per line. Only the current chunk and the one unfinished line are held, never the whole file, so
 * an export file of any size passes through in bounded memory (what is kept is the caller's choice).
 *
 * The vulnerability assessment export files are "GZIP compressed & in multiline JSON format"
 * (get-assessment-software-vulnerabilities.md). Whether a body is gzip is told from its first two bytes (1f 8b), so a
 * body that an HTTP client already decompressed (a Content-Encoding: gzip answer) is read as it is.
 */
import { Readable } from 'stream';
import { StringDecoder } from 'string_decoder';
import { createGunzip } from 'zlib';

/** A line longer than this is refused instead of growing without bound (a file without line breaks). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** The content of the stream is not JSON lines. */
export class JsonLinesError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'JsonLinesError';
	}
}

/** The body's bytes, gunzipped as they arrive when they start with the gzip magic number. */
export async function* decompressedChunks(source: Readable): AsyncGenerator<Buffer> {
	const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
	let head = Buffer.alloc(0);
	// Enough bytes to tell gzip from plain text (a first chunk of one byte is possible).
	while (head.length < 2) {
		const next = await iterator.next();
		if (next.done) break;
		head = Buffer.concat([head, toBuffer(next.value)]);
	}
	const rest = async function* (): AsyncGenerator<Buffer> {
		if (head.length) yield head;
		for (;;) {
			const next = await iterator.next();
			if (next.done) return;
			yield toBuffer(next.value);
		}
	};
	if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
		yield* rest();
		return;
	}
	const gunzip = createGunzip();
	const input = Readable.from(rest(), { objectMode: false });
	// The source feeds gunzip with backpressure; an error on either side ends the iteration below with it.
	input.on('error', (error) => gunzip.destroy(error));
	input.pipe(gunzip);
	try {
		for await (const chunk of gunzip) yield chunk as Buffer;
	} catch (error) {
		throw /incorrect header check|unexpected end of file|invalid (block type|distance|code)/i.test((error as Error).message)
			? new JsonLinesError(`The file is not valid gzip data: ${(error as Error).message}`)
			: error;
	} finally {
		input.destroy();
		gunzip.destroy();
	}
}

/** Lines of text (without their line break; `\r\n` too), decoded as UTF-8 across chunk boundaries. */
export async function* linesOf(chunks: AsyncIterable<Buffer>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<string> {
	const decoder = new StringDecoder('utf8');
	let pending = '';
	for await (const chunk of chunks) {
		const text = pending + decoder.write(chunk);
		const parts = text.split('\n');
		pending = parts.pop() ?? '';
		for (const line of parts) yield line.endsWith('\r') ? line.slice(0, -1) : line;
		if (Buffer.byteLength(pending) > maxLineBytes) {
			throw new JsonLinesError(`A line is longer than ${Math.round(maxLineBytes / 1048576)} MB: the file is not JSON lines.`);
		}
	}
	pending += decoder.end();
	if (pending.endsWith('\r')) pending = pending.slice(0, -1);
	if (pending) yield pending;
}

/**
 * Parses each non-blank line of a (gzip) JSON lines stream and hands it to `onRow` with its line number (from 1).
 * `onRow` returning false stops reading (the rest of the stream is not read). Returns the number of rows handed out.
 */
export async function readJsonLines(
	source: Readable,
	onRow: (row: Record<string, unknown>, line: number) => boolean | void,
	options: { maxLineBytes?: number; what?: string } = {},
): Promise<number> {
	let line = 0;
	let rows = 0;
	for await (const text of linesOf(decompressedChunks(source), options.maxLineBytes)) {
		line++;
		if (!text.trim()) continue;
		let row: unknown;
		try {
			row = JSON.parse(text);
		} catch (error) {
			throw new JsonLinesError(`${options.what ?? 'The file'}: line ${line} is not JSON (${(error as Error).message}).`);
		}
		if (!row || typeof row !== 'object' || Array.isArray(row)) {
			throw new JsonLinesError(`${options.what ?? 'The file'}: line ${line} is not a JSON object.`);
		}
		rows++;
		if (onRow(row as Record<string, unknown>, line) === false) break;
	}
	return rows;
}

const toBuffer = (chunk: Buffer | string): Buffer => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
