/** The shared state every route module works on (assembled in server.ts). */
import type { AlertStore } from './alerts';
import type { Clock } from './clock';
import type { Rng } from './data';
import type { EntityStore } from './entities';
import type { Directory } from './entra';
import type { FaultInjector } from './faults';
import type { IncidentStore } from './incidents';
import type { IndicatorStore } from './indicators';
import type { InvestigationStore } from './investigations';
import type { LiveResponseStore } from './liveresponse';
import type { MachineActionStore, MachineStore } from './machines';
import type { ApiProfile } from './profiles';
import type { RateLimiter } from './ratelimit';
import type { Stats } from './stats';
import type { TvmStore } from './tvm';

export interface EmulatorState {
	/** `https://127.0.0.1:PORT` once listening. */
	origin(): string;
	clock: Clock;
	rng: Rng;
	directory: Directory;
	alerts: AlertStore;
	/** Graph incidents, derived from the alerts' incidentId plus stored updates. */
	incidents: IncidentStore;
	machines: MachineStore;
	actions: MachineActionStore;
	indicators: IndicatorStore;
	/** Files, IP addresses, domains and users, derived from the visible alerts' evidence and machines (no state). */
	entities: EntityStore;
	/** Automated investigations: from the alerts' investigationId, plus those started through the API. */
	investigations: InvestigationStore;
	/** Live response sessions (their actions live in `actions`), the library, emulated device files and scripts. */
	liveResponse: LiveResponseStore;
	/** Defender Vulnerability Management: software, vulnerabilities and recommendations of the machines (tvm.ts). */
	tvm: TvmStore;
	faults: FaultInjector;
	rateLimiter: RateLimiter;
	stats: Stats;
	/** How the alert list endpoints treat undocumented query features (profiles.ts); read per request. */
	apiProfile: ApiProfile;
	/**
	 * Order of the machine, machine action and indicator lists without `$orderby`, as an `$orderby` expression
	 * (e.g. `computerDnsName asc`); unset = creation order. Models an API listing by a key that new rows can land
	 * anywhere in (paging tests). Read per request.
	 */
	listOrder: ListOrders;
}

export type OrderedList = 'machines' | 'machineActions' | 'indicators';
export type ListOrders = Partial<Record<OrderedList, string>>;

