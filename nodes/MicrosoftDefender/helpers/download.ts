/**
 * Downloads from a short-lived storage SAS link, as Defender hands them out for the investigation package
 * (GetPackageUri) and for live response results (GetLiveResponseResultDownloadLink).
 */
import type { IExecuteFunctions } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import { transportSettings } from '../transport';

const DOWNLOAD_ATTEMPTS = 3;

/** The bytes, or what the last attempt got: an HTTP status, or the error of a request that had no answer. */
export type LinkDownload = { ok: true; data: Buffer } | { ok: false; status: number } | { ok: false; error: unknown };

/**
 * GETs `url` with n8n's HTTP client and without the bearer token, which must not leave for the storage host (the
 * query string holds the SAS signature, so the URL is never put in a message). A 5xx or a dropped connection is
 * retried on the same link, up to three attempts with backoff; a 4xx ends at once: the link is wrong or expired,
 * and the same link will not work again (whether to ask Defender for a fresh one is the caller's choice).
 */
export async function downloadFromLink(context: IExecuteFunctions, url: URL): Promise<LinkDownload> {
	let last: LinkDownload = { ok: false, error: new Error('not attempted') };
	for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
		if (attempt > 1) await sleep(transportSettings.baseDelayMs * 2 ** (attempt - 2));
		let response: { statusCode: number; body: Buffer | ArrayBuffer | string };
		try {
			response = (await context.helpers.httpRequest({
				method: 'GET',
				url: url.toString(),
				encoding: 'arraybuffer',
				json: false,
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
				// A package or a collected file can be large: at least five minutes.
				timeout: Math.max(transportSettings.requestTimeoutMs, 300_000),
			})) as { statusCode: number; body: Buffer | ArrayBuffer | string };
		} catch (error) {
			// No answer: the same link again.
			last = { ok: false, error };
			continue;
		}
		const status = response.statusCode;
		if (status < 300) {
			const body = response.body;
			const data = Buffer.isBuffer(body) ? body : body instanceof ArrayBuffer ? Buffer.from(body) : Buffer.from(String(body ?? ''));
			return { ok: true, data };
		}
		last = { ok: false, status };
		// A 4xx: the link expired or is wrong; retrying the same one will not help.
		if (status < 500) break;
	}
	return last;
}
