/**
 * Incidents with their alerts, when `$expand=alerts` fails. Microsoft documents `$expand=alerts` on the incident
 * list (security-list-incidents), but on large tenants it has answered HTTP 500 for good (elastic/integrations
 * #18144), which stalled another product's cursor. Here a page whose `$expand=alerts` request fails with
 * HTTP 500 (after the transport's retries; 502–504 and 429 are outages, which fail the poll as before) is
 * read again without it, and the alerts of the incidents to be emitted are then read from alerts_v2 with
 * `incidentId eq '<id>'` (20 incidents a request, or-ed). That filter is not in alerts_v2's documented list (assignedTo,
 * classification, determination, createdDateTime, lastUpdateDateTime, severity, serviceSource, status), so it
 * is checked at run time: if the API rejects it (400), the incidents go out without alerts, each saying why in
 * `_alertsUnavailable`. The fallback is kept in the trigger's state and `$expand=alerts` is tried again after
 * EXPAND_RETRY_MS.
 */
import type { IDataObject } from 'n8n-workflow';

import { DefenderApiError, odataString, sendDefenderRequest, type TransportContext } from '../transport';
import { listPage, pageItems, type ListQuery, type PageAnswer } from './run';
import type { ScanSource } from './sources';

/**
 * How long the trigger reads incidents without `$expand=alerts` before trying it again: one failing request (and
 * its retries) an hour, against an answer that may have been a passing failure.
 */
export const EXPAND_RETRY_MS = 60 * 60_000;

/** Key of the reason added to incidents whose alerts could not be read. */
export const ALERTS_UNAVAILABLE_KEY = '_alertsUnavailable';

/** The fallback as kept in the trigger's state. */
export interface AlertsFallback {
	/** Why `$expand=alerts` is not used (the failure that started the fallback). */
	reason: string;
	/** When it started (ms since the epoch). */
	sinceMs: number;
	/** 'filter': alerts_v2 by incidentId works; 'none': it was rejected too, incidents go without alerts. */
	alerts: 'filter' | 'none';
	/** Why 'none'. */
	alertsReason?: string;
}

const ALERTS_PATH = '/v1.0/security/alerts_v2';
/** alerts_v2 pages hold at most 1,000 alerts (Graph security constraints); more in one incident are not read. */
const ALERTS_TOP = 1000;
/** Incidents whose alerts one alerts_v2 request asks for (`incidentId eq … or …`; a short URL, few requests). */
const ALERTS_BATCH = 20;

const byCreation = (a: IDataObject, b: IDataObject): number =>
	String(a.createdDateTime ?? '').localeCompare(String(b.createdDateTime ?? '')) || String(a.id ?? '').localeCompare(String(b.id ?? ''));

function describe(error: DefenderApiError): string {
	return `HTTP ${error.status ?? '?'}${error.code ? ` ${error.code}` : ''}: ${error.apiMessage ?? error.message}`;
}

export class IncidentPageReader {
	/** Set when this poll started the fallback (to be said once in the log). */
	started: string | undefined;

	/**
	 * Which incidents of a page need their alerts read separately (default all): the trigger asks only for the
	 * versions it will emit, so that look-back re-reads cost no requests.
	 */
	wanted: (incident: IDataObject) => boolean = () => true;

	constructor(
		private readonly transport: TransportContext,
		private readonly source: ScanSource,
		/** The fallback from the saved state, if any. */
		private fallback: AlertsFallback | undefined,
		private readonly nowMs: number,
	) {
		if (fallback && nowMs - fallback.sinceMs >= EXPAND_RETRY_MS) this.fallback = undefined;
	}

	/** The fallback to keep in the state after this poll. */
	get state(): AlertsFallback | undefined {
		return this.fallback;
	}

	readonly read = async (qs: ListQuery): Promise<PageAnswer> => {
		if (qs.$expand !== 'alerts') return await listPage(this.transport, this.source, qs);
		if (!this.fallback) {
			try {
				return await listPage(this.transport, this.source, qs);
			} catch (error) {
				if (!(error instanceof DefenderApiError) || error.status !== 500) throw error;
				// The same page without `$expand`: if that fails too, `$expand` was not the cause.
				const answer = await this.withoutExpand(qs);
				this.fallback = { reason: describe(error), sinceMs: this.nowMs, alerts: 'filter' };
				this.started = this.fallback.reason;
				await this.addAlerts(answer.items);
				return answer;
			}
		}
		const answer = await this.withoutExpand(qs);
		await this.addAlerts(answer.items);
		return answer;
	};

	/**
	 * One incident with its alerts (Get incident, security-incident-get: `GET /v1.0/security/incidents/{id}` with
	 * `$expand=alerts`), with the fallback a page gets: a 5xx on `$expand=alerts` reads the incident without it and
	 * its alerts from alerts_v2 by incidentId (or marks them `_alertsUnavailable`). `path` is the incident's path,
	 * its id already checked and encoded. Other failures (404, 403) go through unchanged.
	 */
	readonly readOne = async (path: string): Promise<IDataObject> => {
		const get = async (qs: ListQuery): Promise<IDataObject> => {
			const response = await sendDefenderRequest(this.transport, {
				api: this.source.api,
				method: 'GET',
				path,
				headers: this.source.headers,
				qs,
			});
			const body = response.body;
			return body && typeof body === 'object' && !Array.isArray(body) ? (body as IDataObject) : {};
		};
		if (!this.fallback) {
			try {
				return await get({ $expand: 'alerts' });
			} catch (error) {
				if (!(error instanceof DefenderApiError) || error.status !== 500) throw error;
				const incident = await get({});
				this.fallback = { reason: describe(error), sinceMs: this.nowMs, alerts: 'filter' };
				this.started = this.fallback.reason;
				await this.addAlerts([incident]);
				return incident;
			}
		}
		const incident = await get({});
		await this.addAlerts([incident]);
		return incident;
	};

	private async withoutExpand(qs: ListQuery): Promise<PageAnswer> {
		const { $expand: _expand, ...rest } = qs;
		return await listPage(this.transport, this.source, rest);
	}

	private async addAlerts(incidents: IDataObject[]): Promise<void> {
		const wanted = incidents.filter((incident) => this.wanted(incident));
		// A batch of incidents per request (Graph allows 150 requests a minute on /security): their alerts are
		// told apart by incidentId.
		for (let i = 0; i < wanted.length; i += ALERTS_BATCH) await this.addAlertsOf(wanted.slice(i, i + ALERTS_BATCH));
	}

	/** The alerts of these incidents, in one request while they fit in a page; a full page is asked again in halves. */
	private async addAlertsOf(incidents: IDataObject[]): Promise<void> {
		const fallback = this.fallback as AlertsFallback;
		const unavailable = () =>
			`$expand=alerts failed (${fallback.reason}) and alerts_v2 cannot filter by incidentId (${fallback.alertsReason ?? 'rejected'})`;
		if (fallback.alerts === 'none') {
			for (const incident of incidents) incident[ALERTS_UNAVAILABLE_KEY] = unavailable();
			return;
		}
		const ids = incidents.map((incident) => String(incident.id ?? ''));
		const clauses = ids.map((id) => `incidentId eq ${odataString(id)}`);
		let alerts: IDataObject[];
		try {
			const response = await sendDefenderRequest(this.transport, {
				api: 'graph',
				method: 'GET',
				path: ALERTS_PATH,
				headers: this.source.headers,
				qs: { $filter: clauses.length === 1 ? clauses[0] : `(${clauses.join(' or ')})`, $top: ALERTS_TOP },
			});
			alerts = pageItems(response);
		} catch (error) {
			if (!(error instanceof DefenderApiError) || error.status !== 400) throw error;
			fallback.alerts = 'none';
			fallback.alertsReason = describe(error);
			this.started = `${fallback.reason}; alerts_v2 rejected the incidentId filter too (${fallback.alertsReason})`;
			for (const incident of incidents) incident[ALERTS_UNAVAILABLE_KEY] = unavailable();
			return;
		}
		if (alerts.length >= ALERTS_TOP && incidents.length > 1) {
			const half = Math.ceil(incidents.length / 2);
			await this.addAlertsOf(incidents.slice(0, half));
			await this.addAlertsOf(incidents.slice(half));
			return;
		}
		for (const incident of incidents) {
			// In creation order, as the incident lists them (alerts_v2 itself lists the newest first).
			incident.alerts = alerts.filter((alert) => String(alert.incidentId ?? '') === String(incident.id ?? '')).sort(byCreation);
			if (alerts.length >= ALERTS_TOP) {
				incident[ALERTS_UNAVAILABLE_KEY] = `only the first ${ALERTS_TOP} alerts of this incident could be read (alerts_v2 pages hold at most ${ALERTS_TOP})`;
			}
		}
	}
}
