/**
 * The scan loop shared by the trigger and the list operations: asks the cursor (cursor.ts) for the next time
 * window, reads it from the source's list API and feeds the answer back, until the scan is complete, the
 * caller's limit is reached or the transport's deadline comes near.
 */
import type { IDataObject } from 'n8n-workflow';

import { DeadlineError, DefenderApiError, sendDefenderRequest, type RawResponse, type TransportContext } from '../transport';
import { CursorScan, type PageQuery } from './cursor';
import { pageSelection, type ScanSource } from './sources';

export type ListQuery = Record<string, string | number | undefined>;

/** One page as the API answered it; `unordered` when the API rejected `$orderby` and the page came without it. */
export interface PageAnswer {
	items: IDataObject[];
	unordered?: string;
}

export const pageItems = (response: RawResponse): IDataObject[] =>
	(response.body as { value?: IDataObject[] }).value ?? [];

/**
 * One list request. Where the API rejects `$orderby` (HTTP 400; Microsoft documents it neither for MDE alerts
 * nor for Graph incidents), the same request is sent once more without it: `unordered` says so. A second 400
 * is the real error.
 */
export async function listPage(transport: TransportContext, source: ScanSource, qs: ListQuery): Promise<PageAnswer> {
	const request = { api: source.api, method: 'GET' as const, path: source.path, headers: source.headers };
	try {
		return { items: pageItems(await sendDefenderRequest(transport, { ...request, qs })) };
	} catch (error) {
		if (!(error instanceof DefenderApiError) || error.status !== 400 || qs.$orderby === undefined) throw error;
		const { $orderby: _rejected, ...rest } = qs;
		const items = pageItems(await sendDefenderRequest(transport, { ...request, qs: rest }));
		return { items, unordered: `HTTP 400${error.code ? ` ${error.code}` : ''}: ${error.apiMessage ?? 'no message'}` };
	}
}

export interface ScanRequest {
	source: ScanSource;
	/** `$filter` clauses of the chosen filters, and-ed with the page's time window. */
	filterClauses: string[];
	/** Query options besides `$filter`, `$orderby`, `$top` and `$skip` (e.g. `$expand`). */
	extraQuery: Record<string, string>;
	/** Filters the API cannot apply, checked on each item read. */
	matches?: (item: Record<string, unknown>) => boolean;
	/** Reads one page (default: `listPage`); the incident trigger wraps it with the `$expand=alerts` fallback. */
	readPage?: (qs: ListQuery) => Promise<PageAnswer>;
}

/** The query string of one page of the scan. */
export function pageQuery(request: ScanRequest, cursorField: string, query: PageQuery): ListQuery {
	const page = pageSelection(cursorField, query);
	return {
		$filter: [...request.filterClauses, page.clause].join(' and '),
		$orderby: page.orderby,
		$top: query.top,
		$skip: query.skip || undefined,
		...request.extraQuery,
	};
}

export interface ScanRun {
	requests: number;
	/** Why the scan ended before it was complete (the transport's deadline), if it did. */
	stoppedBy?: string;
}

/**
 * Runs `scan` to its end. With a deadline on the transport it stops paging in time (the next page would likely
 * not arrive before it) and keeps what is complete; a scan that read nothing yet lets the error through.
 */
export async function runScan(
	transport: TransportContext,
	scan: CursorScan,
	cursorField: string,
	request: ScanRequest,
): Promise<ScanRun> {
	const readPage = request.readPage ?? ((qs: ListQuery) => listPage(transport, request.source, qs));
	let requests = 0;
	let slowestPageMs = 0;
	for (let query = scan.nextQuery(); query; query = scan.nextQuery()) {
		const left = transport.deadline === undefined ? Number.POSITIVE_INFINITY : transport.deadline - Date.now();
		if (scan.stats.pages > 0 && left < slowestPageMs) {
			scan.stopEarly();
			return { requests, stoppedBy: `the next page would not arrive within the poll's time budget (${Math.round(left)} ms left)` };
		}
		requests++;
		const started = Date.now();
		let answer: PageAnswer;
		try {
			answer = await readPage(pageQuery(request, cursorField, query));
		} catch (error) {
			if (error instanceof DeadlineError && scan.stats.pages > 0) {
				scan.stopEarly();
				return { requests, stoppedBy: error.message };
			}
			throw error;
		}
		slowestPageMs = Math.max(slowestPageMs, Date.now() - started);
		if (answer.unordered) scan.rejectOrder(answer.unordered);
		scan.accept(answer.items, request.matches);
	}
	return { requests };
}

/** Where a list operation's scan starts without a lower bound. */
export const SCAN_EPOCH = '1970-01-01T00:00:00.0000000Z';

/**
 * Every item `request` matches from `floor` on, for the list operations (Get Many): the trigger's scan with no
 * batch cap and no look-back, oldest first (callers sort). It neither repeats nor skips an item whatever order the
 * API answers in and stays within `$top`/`$skip` caps. With `orderbyRejected` (the API already answered `$orderby`
 * with a 400) it never asks for `$orderby`. An instant holding more than a page plus the largest `$skip` fails.
 */
export async function scanEverything(
	transport: TransportContext,
	request: ScanRequest,
	floor: string = SCAN_EPOCH,
	orderbyRejected?: string,
): Promise<IDataObject[]> {
	const { source } = request;
	const fields = source.fields(false);
	const scan = new CursorScan(
		undefined,
		{
			triggerOnUpdates: false,
			lookbackMs: 0,
			// Everything: the scan reads oldest first, and a Limit wants the newest.
			maxAlerts: Number.MAX_SAFE_INTEGER,
			maxPageSize: source.maxPageSize,
			maxSkip: source.maxSkip,
			changeMemory: 0,
			fields,
		},
		floor,
	);
	if (orderbyRejected) scan.rejectOrder(orderbyRejected);
	await runScan(transport, scan, fields.cursor, request);
	if (scan.stats.instantsCut > 0) {
		throw new Error(
			`More ${source.noun}s were created in one instant than Microsoft Graph's $top and $skip limits (${source.maxPageSize} + ${source.maxSkip ?? 0}) can reach, so some could not be read. Narrow the filters (e.g. by status or severity).`,
		);
	}
	return scan.emissions.map((emission) => emission.alert as IDataObject);
}
