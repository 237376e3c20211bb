/**
 * A small `multipart/form-data` reader (RFC 7578) for the live response library upload
 * (`POST /api/libraryfiles`, upload-library.md: "Content-Type multipart/form-data. Required"). No streaming: the
 * server has already read the body (bounded by its MAX_BODY_BYTES).
 */
import { ApiError } from './errors';

export interface MultipartPart {
	/** Form field name as sent (`file`, `Description`, …). */
	name: string;
	/** File name for file parts (last path segment of `filename=` / `filename*=`), else undefined. */
	filename: string | undefined;
	contentType: string | undefined;
	data: Buffer;
}

export class MultipartForm {
	constructor(readonly parts: MultipartPart[]) {}

	/** What the request log keeps instead of the bytes (uploads may be 20 MB). */
	summary(): { multipart: Array<{ name: string; filename?: string; size: number }> } {
		return {
			multipart: this.parts.map((p) => ({ name: p.name, ...(p.filename !== undefined ? { filename: p.filename } : {}), size: p.data.length })),
		};
	}
}

const bad = (message: string) => new ApiError(400, 'InvalidRequestBody', `The multipart/form-data body is malformed: ${message}`);

/** The boundary parameter of a multipart/form-data Content-Type, or null when the type is something else. */
export function multipartBoundary(contentType: string | undefined): string | null {
	if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
	const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
	if (!m) throw bad('the Content-Type has no boundary parameter.');
	return m[1] ?? m[2];
}

/** Value of a header parameter (`name="x"`, `filename*=UTF-8''%E2%82%AC.ps1`). */
function param(header: string, key: string): string | undefined {
	const extended = new RegExp(`;\\s*${key}\\*\\s*=\\s*([^']*)'[^']*'([^;]*)`, 'i').exec(header);
	if (extended) {
		try {
			return decodeURIComponent(extended[2].trim());
		} catch {
			throw bad(`the ${key}* parameter is not percent-encoded UTF-8.`);
		}
	}
	const m = new RegExp(`;\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i').exec(header);
	if (!m) return undefined;
	return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2].trim();
}

export function parseMultipart(raw: Buffer, boundary: string): MultipartForm {
	const delimiter = Buffer.from(`--${boundary}`);
	const parts: MultipartPart[] = [];
	let pos = raw.indexOf(delimiter);
	if (pos < 0) throw bad('the boundary does not occur in the body.');
	for (;;) {
		pos += delimiter.length;
		// "--" after a delimiter closes the body.
		if (raw[pos] === 0x2d && raw[pos + 1] === 0x2d) break;
		// Transport padding, then CRLF.
		while (raw[pos] === 0x20 || raw[pos] === 0x09) pos++;
		if (raw[pos] !== 0x0d || raw[pos + 1] !== 0x0a) throw bad('a boundary line is not followed by CRLF.');
		pos += 2;
		const headerEnd = raw.indexOf('\r\n\r\n', pos);
		if (headerEnd < 0) throw bad('a part has no end of headers.');
		const headers = new Map<string, string>();
		for (const line of raw.subarray(pos, headerEnd).toString('utf8').split('\r\n')) {
			const colon = line.indexOf(':');
			if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
		}
		const next = raw.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
		if (next < 0) throw bad('the closing boundary is missing.');
		const disposition = headers.get('content-disposition');
		if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) throw bad('a part has no "Content-Disposition: form-data" header.');
		const name = param(disposition, 'name');
		if (name === undefined) throw bad('a part has no field name.');
		const filename = param(disposition, 'filename');
		parts.push({
			name,
			// Browsers and old clients may send a full path; the name is its last segment.
			filename: filename === undefined ? undefined : filename.split(/[\\/]/).pop() ?? '',
			contentType: headers.get('content-type'),
			data: raw.subarray(headerEnd + 4, next),
		});
		pos = next + 2;
	}
	return new MultipartForm(parts);
}
