/**
 * In-process handle of the Microsoft Entra ID + Defender for Endpoint + Graph security emulator.
 *
 *   const emu = await startEmulator();
 *   // run code that talks to emu.url with NODE_EXTRA_CA_CERTS=<emu.caCertPath>
 *   await emu.close();
 */
import type { AlertInput, SeedOptions, UpdateOptions, VisibilityOptions } from './alerts';
import { registerAdminRoutes } from './admin';
import { DEFAULT_CLIENT_ID, DEFAULT_TENANT_ID, type AddClientOptions, type ClientCredentials } from './entra';
import type { DomainStats, FileEntity, FileStats, IpStats } from './entities';
import type { FaultSpec, RandomFaultSpec } from './faults';
import { readIncidentPatch, type Incident, type IncidentComment, type IncidentEntry, type IncidentPatch, type IncidentUpdateOptions } from './incidents';
import { actionSchema, machineSchema, packageBytes } from './machines';
import { indicatorSchema, readIndicator } from './indicators';
import type { Investigation, InvestigationOutcome } from './investigations';
import {
	DEFAULT_LINK_TTL_MS,
	readLiveResponseRequest,
	type AddLibraryFileOptions,
	type LibraryFile,
	type LiveResponseCommandInput,
	type LiveResponseScriptResult,
	type LiveResponseSession,
} from './liveresponse';
import { compileOrderBy, MDE_DIALECT } from './odata';
import type { ListOrders, OrderedList } from './state';
import { DEFAULT_API_PROFILE, toApiProfile, type ApiProfile } from './profiles';
import { EmulatorServer } from './server';
import type { RequestLogEntry, StatsSnapshot } from './stats';
import { ensureCa } from './tls';
import type { TvmAssessmentRow, TvmCounts, TvmMachineReference, TvmMissingKb, TvmRecommendation, TvmSoftware, TvmVulnerability } from './tvm';
import type { Alert, AlertWithEvidence, Indicator, Machine, MachineAction, MachineActionOutcome, MachineActionType } from './types';

export interface EmulatorOptions {
	/** 0 (default) = a free port. */
	port?: number;
	/** Access-token lifetime (default 3599, like Entra ID). */
	tokenLifetimeSeconds?: number;
	/** Enforce the documented rate limits (default false). */
	rateLimits?: boolean;
	/** 1 = real time (default); 60 = one emulated minute of quota lasts one real second. */
	rateLimitTimeScale?: number;
	/** Time per machine-action step Pending → InProgress → final (default 1000 ms, emulator clock). */
	machineActionStepMs?: number;
	/** Data generator seed (default 1): same seed, same seeded machines and alerts. */
	seed?: number;
	/** Default tenant id (default: a fixed GUID). */
	tenantId?: string;
	/** Folder of the CA (default ~/.cache/n8n-nodes-microsoft-defender/emulator-ca). */
	caDir?: string;
	/** Secret of the default client (default: random per start). */
	clientSecret?: string;
	/**
	 * How the alert list endpoints (`GET /api/alerts`, `GET /v1.0/security/alerts_v2`) treat undocumented
	 * query features: 'ordered' (default), 'ignoresOrderby' or 'documentedOnly' (see profiles.ts).
	 * An unknown name throws, listing the valid ones.
	 */
	apiProfile?: ApiProfile;
	/**
	 * Extra DNS names the emulator answers to, e.g. `['defender.test']` for a client that reaches it under that
	 * name through a proxy: they join the server certificate's subjectAltName (always IP:127.0.0.1 and localhost),
	 * and a client that uses one gets Entra ID metadata (issuer, token endpoint) naming it, as Entra ID names its
	 * own host (MSAL rejects an issuer on another host than the authority's).
	 */
	dnsNames?: string[];
	/**
	 * Lifetime of live response result download links (default 30 minutes, get-live-response-result.md), on the
	 * emulator clock: `clock.advance` past it and the link answers 403 like an expired blob SAS.
	 */
	liveResponseLinkTtlMs?: number;
}

export interface Emulator {
	/** `https://127.0.0.1:PORT` */
	readonly url: string;
	readonly port: number;
	/** PEM of the CA that signed the server certificate (for NODE_EXTRA_CA_CERTS or an https `ca`). */
	readonly caCertPath: string;
	readonly tenantId: string;
	/** App registration holding every MDE and Graph role. */
	readonly client: ClientCredentials;
	close(): Promise<void>;
	/**
	 * Back to a fresh emulator: no alerts (so no incidents, nor incident updates), machines, machine actions (live
	 * response sessions and their result links too) or indicators; an empty live response library, no scripted
	 * device files or script results, the start link lifetime; no faults (the incident-expand failure included); stats,
	 * request log and quota windows cleared; clock back to real time; data generator reseeded; the API
	 * profile given to startEmulator. App registrations, tenants and the URL stay.
	 */
	reset(): void;

	/** The current API profile of the alert list endpoints. */
	readonly apiProfile: ApiProfile;
	/** Switches the API profile at runtime (until the next call or reset()); an unknown name throws. */
	setApiProfile(profile: ApiProfile): void;

	/** Base orders of the machine, machine action and indicator lists (unset: creation order). */
	readonly listOrder: Readonly<ListOrders>;
	/**
	 * Lists `list` without `$orderby` in this order, an `$orderby` expression on its filterable properties
	 * (`'computerDnsName asc'`, `'creationDateTimeUtc desc'`; ties by `id asc`); undefined = creation order again.
	 * A bad expression throws. Until the next call or reset().
	 */
	setListOrder(list: OrderedList, orderby: string | undefined): void;

	addClient(options?: AddClientOptions): ClientCredentials;
	/** Adds a tenant GUID, or a domain name as an alias of the default tenant; returns the tenant GUID. */
	addTenant(idOrDomain: string): string;

	readonly clock: {
		now(): Date;
		advance(ms: number): Date;
	};

	readonly alerts: {
		seed(count: number, options?: SeedOptions): Alert[];
		create(partial?: AlertInput, options?: VisibilityOptions): Alert;
		update(id: string, patch: AlertInput, options?: UpdateOptions): Alert;
		/** Newest version (visible to the API or not), with evidence. */
		get(id: string): AlertWithEvidence | undefined;
		/** Newest version of every alert, without evidence. */
		all(): Alert[];
		/** Every stored version with its visibility time. */
		history(id: string): Array<{ alert: Alert; visibleAt: string | null }>;
	};

	/**
	 * Graph incidents: the alerts sharing an incidentId, visible once one of them is. Reads show what the API
	 * serves now (status as stored: `awaitingAction` is not hidden here).
	 */
	readonly incidents: {
		/** Every visible incident, newest first (createdDateTime desc, id desc), as `GET /v1.0/security/incidents` lists them. */
		list(): Incident[];
		/** One visible incident; undefined when unknown or none of its alerts is visible yet. */
		get(id: string): Incident | undefined;
		/** Its visible alerts (MDE shape, without evidence), in creation order. */
		alerts(id: string): Alert[];
		/**
		 * Sets what an update sets (the PATCH properties, plus systemTags and redirectIncidentId; same validation,
		 * an ApiError naming the bad property), moving lastUpdateDateTime to `at` (default now) and lastModifiedBy to
		 * `by` when given. Throws for an id no alert carries. Returns the incident (undefined while not visible).
		 */
		update(id: string, patch: IncidentPatch, options?: IncidentUpdateOptions): Incident | undefined;
		/** Appends a comment (`by` default: the default client's display name), moving lastUpdateDateTime to `at` (default now); → every comment. */
		comment(id: string, comment: string, options?: { by?: string; at?: Date | string }): IncidentComment[];
		/**
		 * `alerts.create` with `incidentId` set: the alert opens that incident or joins it; lastUpdateDateTime moves to
		 * the alert's creation time if later, once the alert is visible.
		 */
		createAlert(incidentId: string | number, partial?: AlertInput, options?: VisibilityOptions): Alert;
	};

	readonly machines: {
		seed(count: number): Machine[];
		create(partial?: Partial<Machine>): Machine;
		get(idOrName: string): Machine | undefined;
		all(): readonly Machine[];
		/** Drops a machine from the list; false when unknown. */
		remove(id: string): boolean;
	};

	readonly machineActions: {
		/** Scripts how later actions of `type` on the machine end (default Succeeded). */
		script(machineId: string, type: MachineActionType, outcome: MachineActionOutcome): void;
		get(id: string): MachineAction | undefined;
		all(): MachineAction[];
		/**
		 * Queues an action of `type` on the machine as the API would (same "already in progress" rule), without an
		 * HTTP call; `requestor` defaults to the default client's display name.
		 */
		create(machineId: string, type: MachineActionType, options?: { requestor?: string; comment?: string }): MachineAction;
		/** Drops an action from the list; false when unknown. */
		remove(id: string): boolean;
	};

	readonly indicators: {
		all(): Indicator[];
		/** Submits an indicator as `POST /api/indicators` would (same body, validation and upsert), as the default client. */
		create(body: Record<string, unknown>): Indicator;
		/** Deletes an indicator; false when unknown. */
		remove(id: string): boolean;
	};

	/**
	 * Files, IP addresses, domains and users as the entity APIs serve them (entities.ts): derived from the visible
	 * alerts' evidence and their machines. Hashes, addresses, domains and account names match case-insensitively.
	 */
	readonly entities: {
		/** `GET /api/files/{hash}` (SHA-1, SHA-256 or MD5); undefined when no visible alert has the file. */
		file(hash: string): FileEntity | undefined;
		/** `GET /api/files/{hash}/stats` (SHA-1 or SHA-256; lookback default 720 h). */
		fileStats(hash: string, lookBackHours?: number): FileStats | undefined;
		fileAlerts(sha1: string): Alert[];
		fileMachines(sha1: string): Machine[];
		ipStats(ip: string, lookBackHours?: number): IpStats;
		ipAlerts(ip: string): Alert[];
		domainStats(domain: string, lookBackHours?: number): DomainStats;
		domainAlerts(domain: string): Alert[];
		domainMachines(domain: string): Machine[];
		userAlerts(accountName: string): Alert[];
		userMachines(accountName: string): Machine[];
	};

	/** Automated investigations (investigations.ts): from the alerts' investigationId, and started ones. */
	readonly investigations: {
		/** Every investigation `GET /api/investigations` lists now (startTime order), up to date with the clock. */
		all(): Investigation[];
		/** By investigation id or triggering alert id, as `GET /api/investigations/{id}`. */
		get(idOrAlertId: string): Investigation | undefined;
		/** Starts one on the machine as `POST /api/machines/{id}/startInvestigation` would, without HTTP. */
		start(machineId: string): Investigation;
		/** How investigations started later on the machine end (default: SuccessfullyRemediated with an open alert, else Benign). */
		script(machineId: string, outcome: InvestigationOutcome): void;
		/** Ends an investigation as TerminatedByUser (`by` default: the default client's display name). */
		terminate(id: string, by?: string): Investigation;
	};

	/**
	 * Live response (`runliveresponse`, result links) and its library (`/api/libraryfiles`), see liveresponse.ts.
	 * Sessions are machine actions of type LiveResponse (also in `machineActions`).
	 */
	readonly liveResponse: {
		/** The library as `GET /api/libraryfiles` lists it. */
		library(): LibraryFile[];
		/** Uploads as `POST /api/libraryfiles` would (same 20 MB and name rules; an existing name needs overrideIfExists). */
		addLibraryFile(fileName: string, bytes: Buffer | string, options?: AddLibraryFileOptions): LibraryFile;
		/** Deletes a library file; false when unknown. */
		removeLibraryFile(fileName: string): boolean;
		/** A library file's bytes. */
		libraryFileBytes(fileName: string): Buffer | undefined;
		/** Replaces the files GetFile can collect on the machine (path → bytes; default: its hosts file). */
		setMachineFiles(machineId: string, files: Record<string, Buffer | string>): void;
		/** The files GetFile can collect on the machine now. */
		machineFiles(machineId: string): Record<string, Buffer>;
		/** How later RunScript commands of the script end: a transcript (and duration), 'fail', or undefined = default (exit 0). */
		setScriptResult(scriptName: string, result: LiveResponseScriptResult | 'fail' | undefined): void;
		/** Makes command `index` of a session fail when it runs (it and the commands after it do not complete). */
		failCommand(actionId: string, index: number, message?: string): void;
		/** Queues a session as `POST /api/machines/{id}/runliveresponse` would (same body validation and limits), without HTTP. */
		start(machineId: string, commands: LiveResponseCommandInput[], options?: { comment?: string; requestor?: string }): MachineAction;
		/** Every session, up to date with the clock. */
		sessions(): LiveResponseSession[];
		/** Bytes a result link of command `index` serves (RunScript JSON, GetFile ZIP); undefined until Completed or for PutFile. */
		resultBytes(actionId: string, index: number): Buffer | undefined;
		/** Lifetime of result links issued from now on (emulator clock); reset() restores the start option. */
		linkTtlMs: number;
	};

	/**
	 * Defender Vulnerability Management (tvm.ts): a fixed catalogue of software, versions and CVEs, installed on the
	 * machines (derived from each machine's id and platform, plus explicit installs). Every count the API shows is
	 * computed from the machines now, so lists, machine references and per-machine lists agree.
	 */
	readonly tvm: {
		/** Generated installs on (the default after start and reset()); adds `extraVulnerabilities` CVEs no machine has. */
		seed(options?: { extraVulnerabilities?: number }): TvmCounts;
		/** No software on any machine until `install` or `seed`; explicit installs, extras and exports dropped. */
		clear(): void;
		counts(): TvmCounts;
		/** Installs a catalogue software (id `vendor-_-name`) on a machine; default: its oldest (most vulnerable) version. */
		install(machineId: string, softwareId: string, version?: string): void;
		uninstall(machineId: string, softwareId: string): void;
		/** As `GET /api/vulnerabilities` lists them (catalogue order, counts now). */
		vulnerabilities(): TvmVulnerability[];
		vulnerability(id: string): TvmVulnerability | undefined;
		/** The software inventory (`GET /api/Software`): every software installed somewhere. */
		software(): TvmSoftware[];
		softwareById(id: string): TvmSoftware | undefined;
		/** `GET /api/Software/{id}/vulnerabilities`. */
		softwareVulnerabilities(id: string): TvmVulnerability[] | undefined;
		recommendations(): TvmRecommendation[];
		recommendation(id: string): TvmRecommendation | undefined;
		/** Machines with the software installed (`GET /api/Software/{id}/machineReferences`). */
		installedMachines(softwareId: string): TvmMachineReference[];
		/** Machines exposed to the vulnerability (`GET /api/vulnerabilities/{id}/machineReferences`). */
		exposedMachines(cveId: string): TvmMachineReference[];
		machineVulnerabilities(machineId: string): TvmVulnerability[];
		machineSoftware(machineId: string): TvmSoftware[];
		machineRecommendations(machineId: string): TvmRecommendation[];
		missingKbs(machineId: string): TvmMissingKb[];
		/** Rows of the assessment by machine, in the order the JSON pages and the export files hold them. */
		assessment(): TvmAssessmentRow[];
		/** Lines per export file (default 10,000). */
		linesPerFile: number;
		/** Gzipped files of the export snapshot now served (made on first use, replaced when six hours old). */
		exportFiles(): Buffer[];
		/** A new export snapshot now (Defender makes one every six hours); → its generatedTime. */
		publishExport(): string;
	};

	readonly faults: {
		inject(spec: FaultSpec): void;
		random(spec: RandomFaultSpec): void;
		clear(): void;
		/** Scripted faults not consumed yet. */
		pending(): number;
		/** Faults applied since start (or the last reset(); clear() does not zero it). */
		injectedCount(): number;
		/**
		 * Persistent fault: while on, every `/v1.0/security/incidents` list or get with `$expand=alerts` answers 500
		 * `InternalServerError` (elastic/integrations#18144). clear() and reset() switch it off.
		 */
		setIncidentExpandFailure(enabled: boolean): void;
		readonly incidentExpandFailure: boolean;
	};

	stats(): StatsSnapshot;
	/** Live array of recent requests (admin calls excluded; bounded to the last ~50,000). */
	readonly requestLog: RequestLogEntry[];
	resetStats(): void;
	/** Max admitted requests for a route key (e.g. `POST /api/machines/:id/runAntiVirusScan`) in any window of `windowMs` real ms. */
	maxInWindow(routeKey: string, windowMs: number): number;
	/** Bytes served for an investigation package download. */
	packageBytes(actionId: string): Buffer;
	/** Turns rate limiting on/off at runtime. */
	setRateLimits(enabled: boolean, timeScale?: number): void;
}

/** Display name of the default client (the requestor / creator of what the emulator handle creates). */
const DEFAULT_APP_NAME = 'n8n Defender emulator app';

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
	const apiProfile = options.apiProfile === undefined ? DEFAULT_API_PROFILE : toApiProfile(options.apiProfile);
	const ca = ensureCa(options.caDir);
	const core = new EmulatorServer({
		tenantId: options.tenantId ?? DEFAULT_TENANT_ID,
		tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
		rateLimits: options.rateLimits ?? false,
		rateLimitTimeScale: options.rateLimitTimeScale ?? 1,
		machineActionStepMs: options.machineActionStepMs ?? 1000,
		seed: options.seed ?? 1,
		ca,
		apiProfile,
		dnsNames: options.dnsNames,
		liveResponseLinkTtlMs: options.liveResponseLinkTtlMs ?? DEFAULT_LINK_TTL_MS,
		defaultAppName: DEFAULT_APP_NAME,
	});
	const { state } = core;
	const client = state.directory.addClient({
		clientId: DEFAULT_CLIENT_ID,
		clientSecret: options.clientSecret,
		displayName: DEFAULT_APP_NAME,
	});
	const url = await core.listen(options.port ?? 0);
	const incidentOf = (entry: IncidentEntry | undefined): Incident | undefined => (entry ? structuredClone(entry.incident) : undefined);
	const visibleIncident = (id: string) => state.incidents.visible().byId.get(String(id));

	const emulator: Emulator = {
		url,
		port: Number(new URL(url).port),
		caCertPath: ca.caCertPath,
		tenantId: state.directory.defaultTenantId,
		client,
		close: () => core.close(),
		reset: () => core.reset(),
		get apiProfile() {
			return state.apiProfile;
		},
		setApiProfile: (profile) => {
			state.apiProfile = toApiProfile(profile);
		},
		get listOrder() {
			return { ...state.listOrder };
		},
		setListOrder: (list, orderby) => {
			const schemas = { machines: machineSchema, machineActions: actionSchema, indicators: indicatorSchema };
			const schema = schemas[list];
			if (!schema) throw new Error(`Unknown list "${String(list)}"; use one of ${Object.keys(schemas).join(', ')}`);
			if (orderby === undefined || orderby.trim() === '') {
				delete state.listOrder[list];
				return;
			}
			compileOrderBy(orderby, schema as never, MDE_DIALECT);
			state.listOrder[list] = orderby;
		},
		addClient: (opts) => state.directory.addClient(opts),
		addTenant: (id) => state.directory.addTenant(id),
		clock: {
			now: () => state.clock.now(),
			advance: (ms) => state.clock.advance(ms),
		},
		alerts: {
			seed: (count, opts) => state.alerts.seed(count, opts),
			create: (partial, opts) => state.alerts.create(partial, opts),
			update: (id, patch, opts) => state.alerts.update(id, patch, opts),
			get: (id) => state.alerts.get(id),
			all: () => state.alerts.all(),
			history: (id) => state.alerts.history(id),
		},
		incidents: {
			list: () =>
				state.incidents
					.visible()
					.items.map((e) => e.incident)
					.sort((a, b) =>
						a.createdDateTime !== b.createdDateTime ? (a.createdDateTime < b.createdDateTime ? 1 : -1) : Number(b.id) - Number(a.id),
					)
					.map((i) => structuredClone(i)),
			get: (id) => incidentOf(visibleIncident(id)),
			alerts: (id) => (visibleIncident(id)?.alerts ?? []).slice(),
			update: (id, patch, opts = {}) => {
				state.incidents.update(String(id), readIncidentPatch(patch, true), opts);
				return incidentOf(visibleIncident(id));
			},
			comment: (id, comment, opts = {}) => {
				if (typeof comment !== 'string' || comment.trim() === '') throw new Error('An incident comment must be a non-empty string');
				return state.incidents.comment(String(id), comment, opts.by ?? DEFAULT_APP_NAME, opts.at);
			},
			createAlert: (incidentId, partial = {}, opts) => {
				const n = Number(incidentId);
				if (!/^\d+$/.test(String(incidentId)) || !Number.isSafeInteger(n)) throw new Error(`Incident ids are numbers; got ${String(incidentId)}`);
				return state.alerts.create({ ...partial, incidentId: n }, opts);
			},
		},
		machines: {
			seed: (count) => state.machines.seed(count),
			create: (partial) => state.machines.create(partial),
			get: (id) => state.machines.get(id),
			all: () => state.machines.all(),
			remove: (id) => state.machines.remove(id),
		},
		machineActions: {
			script: (machineId, type, outcome) => state.actions.script(machineId, type, outcome),
			get: (id) => state.actions.get(id),
			all: () => state.actions.all().map((a) => ({ ...a })),
			create: (machineId, type, opts = {}) => {
				const machine = state.machines.get(machineId);
				if (!machine) throw new Error(`Unknown machine ${machineId}`);
				return { ...state.actions.createByType(machine, type, opts.requestor ?? DEFAULT_APP_NAME, opts.comment ?? 'emulator') };
			},
			remove: (id) => state.actions.remove(id),
		},
		entities: {
			file: (hash) => state.entities.file(hash),
			fileStats: (hash, hours) => state.entities.fileStats(hash, hours),
			fileAlerts: (sha1) => state.entities.fileAlerts(sha1),
			fileMachines: (sha1) => state.entities.fileMachines(sha1),
			ipStats: (ip, hours) => state.entities.ipStats(ip, hours),
			ipAlerts: (ip) => state.entities.ipAlerts(ip),
			domainStats: (domain, hours) => state.entities.domainStats(domain, hours),
			domainAlerts: (domain) => state.entities.domainAlerts(domain),
			domainMachines: (domain) => state.entities.domainMachines(domain),
			userAlerts: (name) => state.entities.userAlerts(name),
			userMachines: (name) => state.entities.userMachines(name),
		},
		investigations: {
			all: () => state.investigations.all(),
			get: (id) => state.investigations.get(id),
			start: (machineId) => {
				const machine = state.machines.get(machineId);
				if (!machine) throw new Error(`Unknown machine ${machineId}`);
				return state.investigations.start(machine);
			},
			script: (machineId, outcome) => state.investigations.script(machineId, outcome),
			terminate: (id, by) => state.investigations.terminate(id, by ?? DEFAULT_APP_NAME),
		},
		indicators: {
			all: () => state.indicators.all(),
			create: (body) =>
				state.indicators.upsert(readIndicator(body, state.clock), {
					clientId: client.clientId,
					tenantId: state.directory.defaultTenantId,
					roles: ['Ti.ReadWrite.All'],
					appName: DEFAULT_APP_NAME,
					audience: '',
				}),
			remove: (id) => state.indicators.delete(id),
		},
		liveResponse: {
			library: () => state.liveResponse.library(),
			addLibraryFile: (fileName, bytes, opts) =>
				state.liveResponse.addLibraryFile(fileName, typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes, opts),
			removeLibraryFile: (fileName) => state.liveResponse.removeLibraryFile(fileName),
			libraryFileBytes: (fileName) => state.liveResponse.libraryBytes(fileName),
			setMachineFiles: (machineId, files) => state.liveResponse.setMachineFiles(machineId, files),
			machineFiles: (machineId) => Object.fromEntries(state.liveResponse.machineFiles(machineId)),
			setScriptResult: (scriptName, result) => state.liveResponse.setScriptResult(scriptName, result),
			failCommand: (actionId, index, message) => state.liveResponse.failCommand(actionId, index, message),
			start: (machineId, commands, opts = {}) => {
				const machine = state.machines.get(machineId);
				if (!machine) throw new Error(`Unknown machine ${machineId}`);
				const request = readLiveResponseRequest({ Commands: commands, Comment: opts.comment ?? 'emulator' });
				return state.liveResponse.start(machine, request.commands, opts.requestor ?? DEFAULT_APP_NAME, request.comment);
			},
			sessions: () => state.liveResponse.sessions(),
			resultBytes: (actionId, index) => state.liveResponse.result(actionId, index)?.bytes,
			get linkTtlMs() {
				return state.liveResponse.linkTtlMs;
			},
			set linkTtlMs(ms: number) {
				if (!Number.isFinite(ms) || ms <= 0) throw new Error(`linkTtlMs must be a positive number of milliseconds; got ${ms}`);
				state.liveResponse.linkTtlMs = ms;
			},
		},
		tvm: {
			seed: (opts) => state.tvm.seed(opts),
			clear: () => state.tvm.clear(),
			counts: () => state.tvm.counts(),
			install: (machineId, softwareId, version) => state.tvm.install(machineId, softwareId, version),
			uninstall: (machineId, softwareId) => state.tvm.uninstall(machineId, softwareId),
			vulnerabilities: () => state.tvm.vulnerabilities(),
			vulnerability: (id) => state.tvm.vulnerability(id),
			software: () => state.tvm.software(),
			softwareById: (id) => state.tvm.softwareById(id),
			softwareVulnerabilities: (id) => state.tvm.softwareVulnerabilities(id),
			recommendations: () => state.tvm.recommendations(),
			recommendation: (id) => state.tvm.recommendation(id),
			installedMachines: (id) => state.tvm.installedMachines(id),
			exposedMachines: (id) => state.tvm.exposedMachines(id),
			machineVulnerabilities: (id) => state.tvm.machineVulnerabilities(id),
			machineSoftware: (id) => state.tvm.machineSoftware(id),
			machineRecommendations: (id) => state.tvm.machineRecommendations(id),
			missingKbs: (id) => state.tvm.missingKbs(id),
			assessment: () => state.tvm.assessment(),
			get linesPerFile() {
				return state.tvm.linesPerFile;
			},
			set linesPerFile(n: number) {
				if (!Number.isInteger(n) || n < 1) throw new Error(`linesPerFile must be a positive integer; got ${n}`);
				state.tvm.linesPerFile = n;
			},
			exportFiles: () => state.tvm.exportFileBytes(),
			publishExport: () => state.tvm.publishExport(),
		},
		faults: {
			inject: (spec) => state.faults.inject(spec),
			random: (spec) => state.faults.setRandom(spec),
			clear: () => state.faults.clear(),
			pending: () => state.faults.pending(),
			injectedCount: () => state.faults.injected,
			setIncidentExpandFailure: (enabled) => {
				state.faults.incidentExpandFailure = enabled === true;
			},
			get incidentExpandFailure() {
				return state.faults.incidentExpandFailure;
			},
		},
		stats: () => state.stats.snapshot(),
		requestLog: state.stats.log,
		resetStats: () => {
			state.stats.reset();
			state.rateLimiter.resetHistory();
		},
		maxInWindow: (key, windowMs) => state.rateLimiter.maxInWindow(key, windowMs),
		packageBytes,
		setRateLimits: (enabled, timeScale) => {
			state.rateLimiter.enabled = enabled;
			if (timeScale !== undefined) state.rateLimiter.timeScale = timeScale;
		},
	};
	registerAdminRoutes(core.router, emulator);
	return emulator;
}

export { generateClientCertificate, ensureCa } from './tls';
export { API_PROFILES, type ApiProfile } from './profiles';
export type { AddClientOptions, ClientCredentials } from './entra';
export type { FaultKind, FaultSpec, RandomFaultSpec } from './faults';
export type { AlertInput, SeedOptions, UpdateOptions, VisibilityOptions } from './alerts';
export type { Incident, IncidentComment, IncidentPatch, IncidentStatus, IncidentUpdateOptions } from './incidents';
export type { RequestLogEntry, StatsSnapshot } from './stats';
export type { DomainStats, FileEntity, FileStats, IpStats, OrgStats } from './entities';
export type { Investigation, InvestigationOutcome, InvestigationState } from './investigations';
export type {
	AddLibraryFileOptions,
	LibraryFile,
	LiveResponseCommand,
	LiveResponseCommandInput,
	LiveResponseCommandStatus,
	LiveResponseCommandType,
	LiveResponseScriptResult,
	LiveResponseSession,
} from './liveresponse';
export type {
	TvmAssessmentRow,
	TvmCounts,
	TvmMachineReference,
	TvmMissingKb,
	TvmRecommendation,
	TvmSoftware,
	TvmVulnerability,
} from './tvm';
export * from './types';
