/**
 * Child process: the baseline for the backfill. Fetches the given alert list pages with plain `fetch` and
 * `JSON.parse` and nothing else (no n8n, no MSAL, no retries, no cursor), one page in memory at a time.
 */
import type { EmulatorLike } from '../../test/helpers/n8n';
import { childArgs, emitResult, MemorySampler } from '../lib/common';

interface Args {
	emulator: EmulatorLike;
	/** Query strings of the pages, as the trigger sent them ('replay'), or the first page only ('keyset'). */
	queries: Array<Record<string, string>>;
	/**
	 * 'replay': exactly these pages. 'keyset': the fewest pages that read every alert once: the first query, then
	 * the same keyset continuation the trigger uses (after the last alert's cursor value and id) until a short page.
	 */
	mode: 'replay' | 'keyset';
	/** Cursor field of the keyset continuation. */
	cursorField?: string;
	/** Stop after this many pages (warm-up runs). */
	maxPages?: number;
}

function odataString(value: string): string {
	return `'${value.replace(/'/g, "''")}'`;
}

async function main(): Promise<void> {
	const a = childArgs<Args>();
	const { url, tenantId, client } = a.emulator;
	const tokenResponse = await fetch(`${url}/${tenantId}/oauth2/v2.0/token`, {
		method: 'POST',
		body: new URLSearchParams({
			client_id: client.clientId,
			client_secret: client.clientSecret,
			grant_type: 'client_credentials',
			scope: 'https://api.securitycenter.microsoft.com/.default',
		}),
	});
	const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
	const sampler = new MemorySampler();
	const cpuBefore = process.cpuUsage();
	const started = performance.now();
	let items = 0;
	let bytes = 0;
	const queue = [...a.queries];
	let pages = 0;
	for (let query = queue.shift(); query; query = queue.shift()) {
		pages++;
		const qs = Object.entries(query)
			.map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
			.join('&');
		const response = await fetch(`${url}/api/alerts?${qs}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
		const text = await response.text();
		if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
		bytes += text.length;
		const page = (JSON.parse(text) as { value: Array<Record<string, string>> }).value;
		items += page.length;
		sampler.mark();
		if (a.mode === 'keyset' && page.length === Number(query.$top) && pages < (a.maxPages ?? Infinity)) {
			const last = page[page.length - 1];
			const field = a.cursorField ?? 'alertCreationTime';
			const t = last[field];
			queue.push({ ...query, $filter: `(${field} gt ${t} or (${field} eq ${t} and id gt ${odataString(last.id)}))` });
		}
	}
	const wallMs = performance.now() - started;
	const cpu = process.cpuUsage(cpuBefore);
	emitResult({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, pages, items, bytes, memory: sampler.stop() });
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
