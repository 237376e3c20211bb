/**
 * Files, IP addresses, domains and users (Microsoft's pages: get-file-information, get-file-statistics,
 * get-file-related-alerts, get-file-related-machines, get-ip-statistics, get-ip-related-alerts,
 * get-domain-statistics, get-domain-related-alerts, get-domain-related-machines, get-user-related-alerts,
 * get-user-related-machines), derived from what the emulator already holds: the alerts the API can see, their
 * evidence, and the machines they were raised on.
 *
 * - An entity is *seen in* an alert when the alert's evidence names it: a file by the sha1/sha256 of a File or
 *   Process evidence, an IP address by an evidence `ipAddress`, a domain by the host of an evidence `url`, a user by
 *   the alert's `relatedUser.userName` or a User evidence's `accountName` (case-insensitive).
 * - Its related alerts are those alerts (creation order, as `GET /api/alerts` lists them, without evidence); its
 *   related machines the distinct machines of those alerts (first seen first) that still exist.
 * - Statistics over the lookback window (`lookBackHours`, default and maximum 720): the alerts seen in with
 *   `alertCreationTime` in [now − lookback, now]; `organizationPrevalence` = their distinct machines,
 *   `orgFirstSeen` / `orgLastSeen` = their earliest / latest `alertCreationTime` (null when none).
 * - A file's profile (`GET /api/files/{id}`, and each entry of `GET /api/alerts/{id}/files`): deterministic per
 *   SHA-1 (size, signer, publisher: Microsoft's for files under \Windows or \Program Files), global prevalence never
 *   below the organization's, globalFirstObserved before its first alert, globalLastObserved its latest alert's
 *   last event.
 *
 * Everything is recomputed from the alert snapshot (cached per snapshot), so it follows alert updates, ingestion
 * delay and `reset()` with no state of its own.
 */
import { isIP } from 'node:net';
import { timestampToMs } from './clock';
import { hash32, md5Of, Rng } from './data';
import { ApiError } from './errors';
import type { AlertSnapshot, AlertStore } from './alerts';
import type { Clock } from './clock';
import type { MachineStore } from './machines';
import { MACHINE_READ_ROLES } from './machines';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import type { Alert, Machine } from './types';

/** The File entity (files.md), plus `md5`, as `GET /api/alerts/{id}/files` lists it. */
export interface FileEntity {
	sha1: string;
	sha256: string | null;
	md5: string;
	globalPrevalence: number;
	globalFirstObserved: string;
	globalLastObserved: string;
	size: number;
	fileType: string | null;
	isPeFile: boolean;
	filePublisher: string | null;
	fileProductName: string | null;
	signer: string | null;
	issuer: string | null;
	signerHash: string | null;
	isValidCertificate: boolean;
	determinationType: string;
	determinationValue: string;
}

/** `organizationPrevalence`, `orgFirstSeen`, `orgLastSeen` over a lookback window. */
export interface OrgStats {
	organizationPrevalence: number;
	orgFirstSeen: string | null;
	orgLastSeen: string | null;
}

export type FileStats = { sha1: string } & OrgStats & {
	globallyPrevalence: number;
	globalFirstObserved: string;
	globalLastObserved: string;
	topFileNames: string[];
};
export type IpStats = { ipAddress: string } & OrgStats;
export type DomainStats = { host: string } & OrgStats;

interface FileSeen {
	sha1: string;
	sha256: string | null;
	/** Evidence of an alert (per alert: the first naming the file). */
	sightings: Array<{ alert: Alert; fileName: string | null; filePath: string | null; fileEvidence: boolean }>;
}

interface EntityIndex {
	files: Map<string, FileSeen>;
	bySha256: Map<string, string>;
	byMd5: Map<string, string>;
	ips: Map<string, Alert[]>;
	domains: Map<string, Alert[]>;
	users: Map<string, Alert[]>;
}

/** "The maximum value for lookbackhours is 720 hours (30 days)"; also the default ("Defaults to 30 days"). */
export const MAX_LOOKBACK_HOURS = 720;

/** The host of an evidence URL, lower-cased, without port (the domain `GET /api/alerts/{id}/domains` lists). */
export function urlHost(url: string): string | undefined {
	try {
		return new URL(url).hostname.toLowerCase() || undefined;
	} catch {
		return /^[a-z0-9.-]+$/i.test(url) ? url.toLowerCase() : undefined;
	}
}

const SHA1 = /^[0-9a-f]{40}$/i;
const SHA256 = /^[0-9a-f]{64}$/i;
const MD5 = /^[0-9a-f]{32}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;

const push = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
	const list = map.get(key);
	if (list) list.push(value);
	else map.set(key, [value]);
};

export class EntityStore {
	private readonly cache = new WeakMap<AlertSnapshot, EntityIndex>();

	constructor(
		private readonly clock: Clock,
		private readonly alerts: AlertStore,
		private readonly machines: MachineStore,
	) {}

	/** The index of the alerts the API sees now (rebuilt when the alert snapshot changes). */
	private index(): EntityIndex {
		const snapshot = this.alerts.visible();
		const cached = this.cache.get(snapshot);
		if (cached) return cached;
		const index: EntityIndex = { files: new Map(), bySha256: new Map(), byMd5: new Map(), ips: new Map(), domains: new Map(), users: new Map() };
		for (const alert of snapshot.items) {
			const files = new Set<string>();
			const ips = new Set<string>();
			const domains = new Set<string>();
			const users = new Set<string>();
			if (alert.relatedUser?.userName) users.add(alert.relatedUser.userName.toLowerCase());
			for (const e of this.alerts.evidenceOf(alert)) {
				if ((e.entityType === 'File' || e.entityType === 'Process') && e.sha1 && SHA1.test(e.sha1)) {
					const sha1 = e.sha1.toLowerCase();
					if (!files.has(sha1)) {
						files.add(sha1);
						let seen = index.files.get(sha1);
						if (!seen) {
							seen = { sha1, sha256: e.sha256?.toLowerCase() ?? null, sightings: [] };
							index.files.set(sha1, seen);
							if (seen.sha256) index.bySha256.set(seen.sha256, sha1);
							index.byMd5.set(md5Of(sha1), sha1);
						}
						seen.sightings.push({ alert, fileName: e.fileName, filePath: e.filePath, fileEvidence: e.entityType === 'File' });
					}
				}
				if (e.ipAddress) ips.add(e.ipAddress.toLowerCase());
				if (e.url) {
					const host = urlHost(e.url);
					if (host) domains.add(host);
				}
				if (e.entityType === 'User' && e.accountName) users.add(e.accountName.toLowerCase());
			}
			for (const ip of ips) push(index.ips, ip, alert);
			for (const host of domains) push(index.domains, host, alert);
			for (const user of users) push(index.users, user, alert);
		}
		this.cache.set(snapshot, index);
		return index;
	}

	// ------------------------------------------------------------------ files

	/** The SHA-1 a hash (SHA-1, SHA-256 or MD5) names, when a visible alert's evidence has the file. */
	private sha1Of(hash: string): string | undefined {
		const index = this.index();
		const h = hash.toLowerCase();
		if (SHA1.test(h)) return index.files.has(h) ? h : undefined;
		if (SHA256.test(h)) return index.bySha256.get(h);
		if (MD5.test(h)) return index.byMd5.get(h);
		return undefined;
	}

	/** The file's profile; undefined when no visible alert has it. `hash`: SHA-1, SHA-256 or MD5. */
	file(hash: string): FileEntity | undefined {
		const sha1 = this.sha1Of(hash);
		const seen = sha1 ? this.index().files.get(sha1) : undefined;
		if (!seen) return undefined;
		const first = seen.sightings[0];
		const alerts = seen.sightings.map((s) => s.alert);
		const rng = new Rng(hash32(seen.sha1));
		const system = /\\(windows|program files)/i.test(first.filePath ?? '');
		const malicious = seen.sightings.some((s) => s.fileEvidence) && !system;
		const earliest = Math.min(...alerts.map((a) => timestampToMs(a.alertCreationTime)));
		const latest = alerts.reduce((max, a) => {
			const t = a.lastEventTime ?? a.alertCreationTime;
			return t > max ? t : max;
		}, '');
		const globalPrevalence = system ? rng.int(1000000, 900000000) : rng.int(1, 40);
		const machines = new Set(alerts.map((a) => a.machineId).filter(Boolean)).size;
		return {
			sha1: seen.sha1,
			sha256: seen.sha256,
			md5: md5Of(seen.sha1),
			globalPrevalence: Math.max(globalPrevalence, machines),
			globalFirstObserved: rng.timestamp(Date.parse('2019-01-01T00:00:00Z'), earliest - 86400000),
			globalLastObserved: latest,
			size: rng.int(20000, 5000000),
			fileType: null,
			isPeFile: /\.(exe|dll|sys)$/i.test(first.fileName ?? ''),
			filePublisher: system ? 'Microsoft Corporation' : null,
			fileProductName: system ? 'Microsoft® Windows® Operating System' : null,
			signer: system ? 'Microsoft Windows' : null,
			issuer: system ? 'Microsoft Windows Production PCA 2011' : null,
			signerHash: system ? md5Of('Microsoft Windows') + 'a1b2c3d4' : null,
			isValidCertificate: system,
			determinationType: malicious ? 'Malware' : 'Unknown',
			determinationValue: malicious ? alerts.find((a) => a.threatName)?.threatName ?? '' : '',
		};
	}

	/** File statistics; undefined when no visible alert has the file. `hash`: SHA-1 or SHA-256. */
	fileStats(hash: string, lookBackHours = MAX_LOOKBACK_HOURS): FileStats | undefined {
		const file = SHA1.test(hash) || SHA256.test(hash) ? this.file(hash) : undefined;
		if (!file) return undefined;
		const seen = this.index().files.get(file.sha1)!;
		const inWindow = this.window(seen.sightings.map((s) => s.alert), lookBackHours);
		const windowed = new Set(inWindow);
		const names = new Map<string, number>();
		for (const s of seen.sightings) {
			if (s.fileName && windowed.has(s.alert)) names.set(s.fileName, (names.get(s.fileName) ?? 0) + 1);
		}
		return {
			sha1: file.sha1,
			...this.stats(inWindow),
			globallyPrevalence: file.globalPrevalence,
			globalFirstObserved: file.globalFirstObserved,
			globalLastObserved: file.globalLastObserved,
			// Most frequent first; ties in order of first appearance (Map order, stable sort).
			topFileNames: [...names.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name]) => name),
		};
	}

	/** Alerts whose evidence has the file (`sha1` only, as the API takes). */
	fileAlerts(sha1: string): Alert[] {
		return (this.index().files.get(sha1.toLowerCase())?.sightings ?? []).map((s) => s.alert);
	}

	fileMachines(sha1: string): Machine[] {
		return this.machinesOf(this.fileAlerts(sha1));
	}

	// ------------------------------------------------------------------ IP addresses, domains, users

	ipAlerts(ip: string): Alert[] {
		return (this.index().ips.get(ip.toLowerCase()) ?? []).slice();
	}

	ipStats(ip: string, lookBackHours = MAX_LOOKBACK_HOURS): IpStats {
		return { ipAddress: ip, ...this.stats(this.window(this.ipAlerts(ip), lookBackHours)) };
	}

	domainAlerts(domain: string): Alert[] {
		return (this.index().domains.get(domain.toLowerCase()) ?? []).slice();
	}

	/** "Responses are limited to 500 devices in results." */
	domainMachines(domain: string): Machine[] {
		return this.machinesOf(this.domainAlerts(domain)).slice(0, 500);
	}

	domainStats(domain: string, lookBackHours = MAX_LOOKBACK_HOURS): DomainStats {
		return { host: domain, ...this.stats(this.window(this.domainAlerts(domain), lookBackHours)) };
	}

	/** By account name, as `/api/users/{id}/…` takes it (a UPN or DOMAIN\user names no account: nothing). */
	userAlerts(accountName: string): Alert[] {
		return (this.index().users.get(accountName.toLowerCase()) ?? []).slice();
	}

	/** The machines of the user's alerts: the devices the user was seen logged on to. */
	userMachines(accountName: string): Machine[] {
		return this.machinesOf(this.userAlerts(accountName));
	}

	// ------------------------------------------------------------------ helpers

	private machinesOf(alerts: Alert[]): Machine[] {
		const out: Machine[] = [];
		const seen = new Set<string>();
		for (const alert of alerts) {
			if (!alert.machineId || seen.has(alert.machineId)) continue;
			seen.add(alert.machineId);
			const machine = this.machines.get(alert.machineId);
			if (machine) out.push(machine);
		}
		return out;
	}

	private window(alerts: Alert[], lookBackHours: number): Alert[] {
		const now = this.clock.nowMs();
		const from = now - lookBackHours * 3600000;
		return alerts.filter((a) => {
			const t = timestampToMs(a.alertCreationTime);
			return t >= from && t <= now;
		});
	}

	private stats(alerts: Alert[]): OrgStats {
		const times = alerts.map((a) => a.alertCreationTime).sort();
		return {
			organizationPrevalence: new Set(alerts.map((a) => a.machineId).filter(Boolean)).size,
			orgFirstSeen: times[0] ?? null,
			orgLastSeen: times[times.length - 1] ?? null,
		};
	}
}

// ---------------------------------------------------------------------------------------------
// Request parameters

/** `lookBackHours` (case-insensitive name, as ASP.NET binds it): a whole number from 1 to 720; default 720. */
export function readLookBackHours(query: Record<string, string>): number {
	const key = Object.keys(query).find((k) => k.toLowerCase() === 'lookbackhours');
	if (key === undefined) return MAX_LOOKBACK_HOURS;
	const raw = query[key].trim();
	const hours = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
	if (!Number.isSafeInteger(hours)) {
		throw new ApiError(400, 'InvalidInput', `The value '${query[key]}' is not valid for lookBackHours: an Int32 is expected.`);
	}
	if (hours < 1 || hours > MAX_LOOKBACK_HOURS) {
		throw new ApiError(400, 'InvalidInput', `lookBackHours must be between 1 and ${MAX_LOOKBACK_HOURS} (30 days); got ${hours}.`);
	}
	return hours;
}

/** A file id: SHA-1, SHA-256 or (get-file-information's description) MD5; `only` narrows it. */
export function readFileHash(id: string, only?: 'sha1' | 'sha1or256'): string {
	const ok = only === 'sha1' ? SHA1.test(id) : only === 'sha1or256' ? SHA1.test(id) || SHA256.test(id) : SHA1.test(id) || SHA256.test(id) || MD5.test(id);
	if (!ok) {
		throw new ApiError(
			400,
			'InvalidHashValue',
			only === 'sha1'
				? `'${id}' is not a valid SHA-1 value. Only SHA-1 Hash Function is supported (not MD5 or SHA-256).`
				: `'${id}' is not a valid file hash (SHA-1 or SHA-256).`,
		);
	}
	return id.toLowerCase();
}

export function readDomain(value: string): string {
	if (!DOMAIN.test(value)) throw new ApiError(400, 'InvalidDomainName', `'${value}' is not a valid domain name.`);
	return value.toLowerCase();
}

function readIp(value: string): string {
	if (!isIP(value)) throw new ApiError(400, 'InvalidIpAddress', `'${value}' is not a valid IP address.`);
	return value;
}

// ---------------------------------------------------------------------------------------------
// Routes (roles as each page lists its application permissions)

/** get-file-related-alerts, get-ip-related-alerts, get-user-related-alerts (literal: alerts.ts imports this module). */
const ALERT_READ_ROLES = ['Alert.Read.All', 'Alert.ReadWrite.All'];
/** The roles of `GET /api/domains/{domain}/alerts`: the 2025 page lists only Alert.ReadWrite.All. */
export const DOMAIN_ALERT_ROLES = ['Alert.ReadWrite.All'];
/** The roles of `GET /api/users/{id}/machines`: the 2025 page lists only Machine.ReadWrite.All. */
export const USER_MACHINE_ROLES = ['Machine.ReadWrite.All'];

export function registerEntityRoutes(router: Router, state: EmulatorState): void {
	const { entities } = state;
	const context = (name: string) => `${state.origin()}/api/$metadata#${name}`;
	const mde = { family: 'mde' as const, limits: LIMITS.standard };
	const alertList = (alerts: Alert[]) => ({
		status: 200,
		json: { '@odata.context': context('Alerts'), value: alerts.map((a) => ({ ...a, evidence: [] })) },
	});
	const machineList = (machines: Machine[]) => ({ status: 200, json: { '@odata.context': context('Machines'), value: machines } });

	// Files
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/files/:id/stats',
		roles: ['File.Read.All'],
		handler: ({ params, query }) => {
			const hash = readFileHash(params.id, 'sha1or256');
			const stats = entities.fileStats(hash, readLookBackHours(query));
			if (!stats) throw new ApiError(404, 'ResourceNotFound', `File ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('microsoft.windowsDefenderATP.api.InOrgFileStats'), ...stats } };
		},
	});
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/files/:id/alerts',
		roles: ALERT_READ_ROLES,
		handler: ({ params }) => alertList(entities.fileAlerts(readFileHash(params.id, 'sha1'))),
	});
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/files/:id/machines',
		roles: MACHINE_READ_ROLES,
		handler: ({ params }) => machineList(entities.fileMachines(readFileHash(params.id, 'sha1'))),
	});
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/files/:id',
		roles: ['File.Read.All'],
		handler: ({ params }) => {
			const file = entities.file(readFileHash(params.id));
			if (!file) throw new ApiError(404, 'ResourceNotFound', `File ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Files/$entity'), ...file } };
		},
	});

	// IP addresses
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/ips/:ip/stats',
		roles: ['Ip.Read.All'],
		handler: ({ params, query }) => {
			const ip = readIp(params.ip);
			return {
				status: 200,
				json: { '@odata.context': context('microsoft.windowsDefenderATP.api.InOrgIPStats'), ...entities.ipStats(ip, readLookBackHours(query)) },
			};
		},
	});
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/ips/:ip/alerts',
		roles: ALERT_READ_ROLES,
		handler: ({ params }) => alertList(entities.ipAlerts(readIp(params.ip))),
	});

	// Domains
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/domains/:domain/stats',
		roles: ['URL.Read.All'],
		handler: ({ params, query }) => {
			const domain = readDomain(params.domain);
			return {
				status: 200,
				json: {
					'@odata.context': context('microsoft.windowsDefenderATP.api.InOrgDomainStats'),
					...entities.domainStats(domain, readLookBackHours(query)),
				},
			};
		},
	});
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/domains/:domain/alerts',
		roles: DOMAIN_ALERT_ROLES,
		handler: ({ params }) => alertList(entities.domainAlerts(readDomain(params.domain))),
	});
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/domains/:domain/machines',
		roles: MACHINE_READ_ROLES,
		handler: ({ params }) => machineList(entities.domainMachines(readDomain(params.domain))),
	});

	// Users: the id is the account name; anything else (a UPN) names no user → an empty set.
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/users/:id/alerts',
		roles: ALERT_READ_ROLES,
		handler: ({ params }) => alertList(entities.userAlerts(params.id)),
	});
	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/users/:id/machines',
		roles: USER_MACHINE_ROLES,
		handler: ({ params }) => machineList(entities.userMachines(params.id)),
	});
}
