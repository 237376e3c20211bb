/**
 * What-if variants of the trigger's paging, applied by monkey-patching AlertScan in the benchmark process only
 * (the shipped code is untouched). Used by bench/whatif-paging.ts to show what would reach the backfill goals.
 *
 *   'fit'    : a poll ends as soon as its batch is full (no further page is fetched to find the first alert that
 *              does not fit), and a follow-up page asks only for what the batch can still take plus the look-back
 *              re-reads not met yet.
 *   'budget' : a poll reads at most ceil(maxAlertsPerPoll / 10,000) full pages; look-back re-reads use up part of
 *              that budget, so a batch can be a little smaller than maxAlertsPerPoll (by the re-reads).
 *
 * Since the measurements in BENCHMARKS.md, cursor.ts implements 'fit' itself, so 'shipped' and 'fit' now behave
 * alike; 'budget' remains the alternative that trades batch size for fewer requests.
 */
import { AlertScan, type Alert, type PageQuery } from '../../nodes/MicrosoftDefender/trigger/cursor';

export type PagingVariant = 'shipped' | 'fit' | 'budget';

interface ScanInternals {
	emissions: unknown[];
	stats: { pages: number; read: number; alreadyEmitted: number; stoppedAtLimit: boolean };
	options: { maxAlerts: number; maxPageSize: number };
	previous?: { seen?: Record<string, string> };
	done: boolean;
}

export function applyPagingVariant(variant: PagingVariant): void {
	if (variant === 'shipped') return;
	const proto = AlertScan.prototype as unknown as {
		accept(page: Alert[]): boolean;
		nextQuery(): PageQuery | undefined;
	};
	const accept = proto.accept;
	const nextQuery = proto.nextQuery;
	proto.accept = function (this: ScanInternals, page: Alert[]): boolean {
		const done = accept.call(this, page);
		if (done) return true;
		const { maxAlerts, maxPageSize } = this.options;
		const full =
			variant === 'fit'
				? this.emissions.length >= maxAlerts
				: this.stats.read >= maxPageSize * Math.ceil(maxAlerts / maxPageSize);
		if (full) {
			this.stats.stoppedAtLimit = true;
			this.done = true;
		}
		return this.done;
	};
	if (variant === 'fit') {
		proto.nextQuery = function (this: ScanInternals): PageQuery | undefined {
			const query = nextQuery.call(this);
			if (!query || this.stats.pages === 0) return query;
			const unreadSeen = Math.max(0, Object.keys(this.previous?.seen ?? {}).length - this.stats.alreadyEmitted);
			return { ...query, top: Math.max(1, Math.min(query.top, this.options.maxAlerts - this.emissions.length + unreadSeen)) };
		};
	}
}
