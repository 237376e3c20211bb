/**
 * Downloads from a short-lived storage SAS link, as Defender hands them out for the investigation package
 * (GetPackageUri), for live response results (GetLiveResponseResultDownloadLink) and for the vulnerability
 * assessment export files (SoftwareVulnerabilitiesExport). One implementation: every download is a stream, read by
 * a consumer — whole into a Buffer (`downloadFromLink`: packages, live response results) or chunk by chunk
 * (`streamFromLink`: export files, never held whole).
 */
import { Readable } from 'stream';
import type { IExecuteFunctions } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { transportSettings } from '../transport';

const DOWNLOAD_ATTEMPTS = 3;

/** What the last attempt got when no attempt succeeded: an HTTP status, or the error of a request that had no answer. */
export type LinkFailure = { ok: false; status: number } | { ok: false; error: unknown };

/** The bytes, or what the last attempt got. */
export type LinkDownload = { ok: true; data: Buffer } | LinkFailure;

/** The consumer's result, or what the last attempt got. */
export type LinkStreamResult<T> = { ok: true; value: T } | LinkFailure;

/** The body of a download, for a consumer; `attempt` counts from 1 (a retry starts the body again from its first byte). */
export interface LinkBody {
	stream: Readable;
	headers: Record<string, string | string[] | undefined>;
	attempt: number;
}

/** Tunables; tests shorten the backoff. */
export const downloadSettings = {
	attempts: DOWNLOAD_ATTEMPTS,
	/** Idle time after which a download without progress is given up (and retried): at least five minutes. */
	timeoutMs: (): number => Math.max(transportSettings.requestTimeoutMs, 300_000),
};

/**
 * GETs `url` with n8n's HTTP client as a stream and without the bearer token, which must not leave for the storage
 * host (the query string holds the SAS signature, so the URL is never put in a message), and hands the body to
 * `consume`. A 5xx, a request without an answer, or a body that broke off (the stream failed or ended early) is
 * retried on the same link, up to three attempts with backoff; `consume` is then called again with the body from
 * its start, so it must drop what it took from the broken one. A 4xx ends at once: the link is wrong or expired, and
 * the same link will not work again (whether to ask Defender for a fresh one is the caller's choice). An error
 * `consume` throws itself (not a broken body) ends the download and is thrown.
 */
export async function streamFromLink<T>(
	context: IExecuteFunctions,
	url: URL,
	consume: (body: LinkBody) => Promise<T>,
): Promise<LinkStreamResult<T>> {
	let last: LinkFailure = { ok: false, error: new Error('not attempted') };
	for (let attempt = 1; attempt <= downloadSettings.attempts; attempt++) {
		if (attempt > 1) await sleep(transportSettings.baseDelayMs * 2 ** (attempt - 2));
		let response: { statusCode: number; headers?: LinkBody['headers']; body: unknown };
		try {
			response = (await context.helpers.httpRequest({
				method: 'GET',
				url: url.toString(),
				encoding: 'stream',
				json: false,
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
				timeout: downloadSettings.timeoutMs(),
			})) as typeof response;
		} catch (error) {
			// No answer: the same link again.
			last = { ok: false, error };
			continue;
		}
		const stream = asReadable(response.body);
		const status = response.statusCode;
		if (status >= 300) {
			// The error body (blob storage's XML) is not needed: let the connection go.
			stream.resume();
			stream.on('error', () => {});
			last = { ok: false, status };
			// A 4xx: the link expired or is wrong; retrying the same one will not help.
			if (status < 500) break;
			continue;
		}
		const broken = watchBody(stream);
		try {
			const value = await consume({ stream, headers: response.headers ?? {}, attempt });
			return { ok: true, value };
		} catch (error) {
			if (!broken.failed()) throw error;
			// The body broke off: the same link again, from its first byte.
			last = { ok: false, error: broken.error() ?? error };
		} finally {
			if (!stream.destroyed) stream.destroy();
		}
	}
	return last;
}

/** GETs `url` (see `streamFromLink`) and collects the whole body: for downloads that are used whole (packages, results). */
export async function downloadFromLink(context: IExecuteFunctions, url: URL): Promise<LinkDownload> {
	const result = await streamFromLink(context, url, async ({ stream }) => {
		const chunks: Buffer[] = [];
		for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
		return Buffer.concat(chunks);
	});
	return result.ok ? { ok: true, data: result.value } : result;
}

/** n8n's client answers a stream for `encoding: 'stream'`; a buffer or text (a test double) is made one. */
function asReadable(body: unknown): Readable {
	if (body && typeof (body as Readable).pipe === 'function' && typeof (body as Readable).on === 'function') return body as Readable;
	const data = Buffer.isBuffer(body) ? body : body instanceof ArrayBuffer ? Buffer.from(body) : Buffer.from(String(body ?? ''));
	return Readable.from([data]);
}

/**
 * Whether the body itself failed (a transport error, or the connection closed before the last byte): such a body
 * is read again; a consumer's own error (bad content) is not.
 */
function watchBody(stream: Readable): { failed(): boolean; error(): Error | undefined } {
	let error: Error | undefined;
	let ended = false;
	stream.on('error', (e: Error) => (error ??= e));
	stream.once('end', () => (ended = true));
	stream.once('aborted', () => (error ??= new Error('the download broke off (aborted)')));
	stream.once('close', () => {
		// An IncomingMessage that closes before its end lost its connection.
		const incomplete = (stream as Readable & { complete?: boolean }).complete === false;
		if (!ended && incomplete) error ??= new Error('the download broke off before its end');
	});
	return { failed: () => error !== undefined, error: () => error };
}
