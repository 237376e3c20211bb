/**
 * Defender Vulnerability Management (TVM): a deterministic catalogue of software, vulnerabilities, security updates
 * and configuration recommendations, assigned to the emulator's machines, and the TVM routes.
 *
 * Pages modelled (MicrosoftDocs/defender-docs, defender-endpoint/api/):
 * - get-all-vulnerabilities.md: `GET /api/vulnerabilities`, `$filter` on id, name, description, cvssV3, publishedOn,
 *   severity, updatedOn; `$top` ≤ 8,000; `$skip`. Vulnerability.Read.All.
 * - get-vulnerability-by-id.md, get-machines-by-vulnerability.md: `/api/vulnerabilities/{cveId}`, `…/machineReferences`.
 * - get-software.md: `GET /api/Software`, `$filter` on id, name, vendor; `$top` ≤ 10,000; `$skip`. Software.Read.All.
 * - get-software-by-id.md, get-machines-by-software.md (Software.Read.All), get-vuln-by-software.md
 *   (`/api/Software/{id}/vulnerabilities`: Vulnerability.Read.All).
 * - get-all-recommendations.md: `GET /api/recommendations`, `$filter` on id, productName, vendor, recommendedVersion,
 *   recommendationCategory, subCategory, severityScore, remediationType, recommendedProgram, recommendedVendor,
 *   status; `$top` ≤ 10,000; `$skip`. get-recommendation-by-id.md. SecurityRecommendation.Read.All.
 * - get-discovered-vulnerabilities.md (`/api/machines/{id}/vulnerabilities`, Vulnerability.Read.All, 50 calls a
 *   minute and 1,500 an hour), get-installed-software.md (`…/software`, Software.Read.All), get-missing-kbs-machine.md
 *   (`…/getmissingkbs`, Software.Read.All), get-security-recommendations.md (`…/recommendations`,
 *   SecurityRecommendation.Read.All).
 * - get-assessment-software-vulnerabilities.md: `GET /api/machines/SoftwareVulnerabilitiesByMachine` (JSON pages:
 *   `pageSize` default 50,000, at most 200,000; `$top` without a next link; `@odata.nextLink`; 30 calls a minute and
 *   1,000 an hour) and `GET /api/machines/SoftwareVulnerabilitiesExport` ("via files": `exportFiles` download URLs
 *   of GZIP-compressed multiline JSON, valid 1 hour unless `sasValidHours`, at most 6; `generatedTime`; 5 calls a
 *   minute and 20 an hour). Vulnerability.Read.All.
 * Pages that state no rate limit get the standard 100 a minute and 1,500 an hour; the sub-collections document no
 * OData and return their whole list.
 *
 * Consistency: what a machine has installed is derived from its id and platform (plus explicit installs), and every
 * count is computed from that: a software's exposedMachines and a recommendation's totalMachineCount are the machines
 * that have it, a CVE's machineReferences the machines with a version it affects, and the per-machine lists and the
 * assessment rows are the same facts seen from the machine.
 */
import * as crypto from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { hash32, Rng } from './data';
import { ApiError, notFound, type Reply } from './errors';
import { sasRefused, httpDate } from './liveresponse';
import { field, listItems, MDE_DIALECT, type EntitySchema } from './odata';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import type { Machine } from './types';

// ---------------------------------------------------------------------------------------------
// Entities as the API returns them

export const VULNERABILITY_SEVERITIES = ['Low', 'Medium', 'High', 'Critical'] as const;
export type VulnerabilitySeverity = (typeof VULNERABILITY_SEVERITIES)[number];

export interface TvmVulnerability {
	id: string;
	name: string;
	description: string;
	severity: VulnerabilitySeverity;
	cvssV3: number;
	cvssVector: string;
	exposedMachines: number;
	publishedOn: string;
	updatedOn: string;
	publicExploit: boolean;
	exploitVerified: boolean;
	exploitInKit: boolean;
	exploitTypes: string[];
	exploitUris: string[];
	cveSupportability: string;
	epss: number;
}

export interface TvmSoftware {
	id: string;
	name: string;
	vendor: string;
	weaknesses: number;
	publicExploit: boolean;
	activeAlert: boolean;
	exposedMachines: number;
	impactScore: number;
}

export const RECOMMENDATION_CATEGORIES = ['Accounts', 'Application', 'Network', 'OS', 'SecurityControls'] as const;
export const REMEDIATION_TYPES = ['ConfigurationChange', 'Update', 'Upgrade', 'Uninstall'] as const;
export const RECOMMENDATION_STATUSES = ['Active', 'Exception'] as const;

export interface TvmRecommendation {
	id: string;
	productName: string | null;
	recommendationName: string;
	weaknesses: number;
	vendor: string | null;
	recommendedVersion: string;
	recommendedProgram: string | null;
	recommendedVendor: string | null;
	recommendationCategory: (typeof RECOMMENDATION_CATEGORIES)[number];
	subCategory: string;
	severityScore: number;
	publicExploit: boolean;
	activeAlert: boolean;
	associatedThreats: string[];
	remediationType: (typeof REMEDIATION_TYPES)[number];
	status: (typeof RECOMMENDATION_STATUSES)[number];
	configScoreImpact: number;
	exposureImpact: number;
	totalMachineCount: number;
	exposedMachinesCount: number;
	nonProductivityImpactedAssets: number;
	relatedComponent: string;
	tags: string[];
	exposedCriticalDevices: number;
}

export interface TvmMachineReference {
	id: string;
	computerDnsName: string;
	osPlatform: string;
	rbacGroupName: string;
}

export interface TvmMissingKb {
	id: string;
	name: string;
	productsNames: string[];
	url: string;
	machineMissedOn: number;
	cveAddressed: number;
}

/** One row of the software vulnerabilities assessment by machine (JSON pages and export files alike). */
export interface TvmAssessmentRow {
	id: string;
	deviceId: string;
	rbacGroupName: string;
	deviceName: string;
	osPlatform: string;
	osVersion: string | null;
	osArchitecture: string;
	softwareVendor: string;
	softwareName: string;
	softwareVersion: string;
	cveId: string | null;
	cvssScore: number | null;
	vulnerabilitySeverityLevel: string | null;
	recommendedSecurityUpdate: string | null;
	recommendedSecurityUpdateId: string | null;
	recommendedSecurityUpdateUrl: string | null;
	diskPaths: string[];
	registryPaths: string[];
	lastSeenTimestamp: string;
	firstSeenTimestamp: string;
	exploitabilityLevel: string;
	recommendationReference: string;
	securityUpdateAvailable: boolean;
}

// ---------------------------------------------------------------------------------------------
// Catalogue (fixed: the same for every emulator, whatever its seed)

type Family = 'windowsDesktop' | 'windowsServer' | 'linux' | 'mac';

function familyOf(machine: Machine): Family {
	if (/^WindowsServer/i.test(machine.osPlatform)) return 'windowsServer';
	if (/^Windows/i.test(machine.osPlatform)) return 'windowsDesktop';
	if (/^macOS/i.test(machine.osPlatform)) return 'mac';
	return 'linux';
}

interface ProductSpec {
	vendor: string;
	name: string;
	/** Chance that a machine of each family has it; an OS product goes with an osPlatform instead. */
	share?: Partial<Record<Family, number>>;
	/** The osPlatform this operating system runs as (installed on every such machine). */
	osPlatform?: string;
	/** Oldest first; the last one has no known vulnerability. */
	versions: string[];
	paths: (version: string) => { diskPaths: string[]; registryPaths: string[] };
}

const winPath = (path: string) => () => ({ diskPaths: [path], registryPaths: [] as string[] });
const uninstallKey = (key: string, path: string) => () => ({
	diskPaths: [path],
	registryPaths: [`HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${key}`],
});
const noPaths = () => ({ diskPaths: [] as string[], registryPaths: [] as string[] });

const PRODUCTS: ProductSpec[] = [
	{ vendor: 'microsoft', name: 'windows_11', osPlatform: 'Windows11', versions: ['10.0.22631.3880', '10.0.22631.4037', '10.0.22631.4460'], paths: noPaths },
	{ vendor: 'microsoft', name: 'windows_10', osPlatform: 'Windows10', versions: ['10.0.19045.4529', '10.0.19045.4780', '10.0.19045.5131'], paths: noPaths },
	{ vendor: 'microsoft', name: 'windows_server_2022', osPlatform: 'WindowsServer2022', versions: ['10.0.20348.2655', '10.0.20348.2849'], paths: noPaths },
	{ vendor: 'microsoft', name: 'windows_server_2019', osPlatform: 'WindowsServer2019', versions: ['10.0.17763.6189', '10.0.17763.6293', '10.0.17763.6532'], paths: noPaths },
	{ vendor: 'canonical', name: 'ubuntu_linux', osPlatform: 'Linux', versions: ['22.04.3', '22.04.5'], paths: noPaths },
	{ vendor: 'apple', name: 'macos', osPlatform: 'macOS', versions: ['14.5', '14.6.1'], paths: noPaths },
	{
		vendor: 'microsoft',
		name: 'edge',
		share: { windowsDesktop: 1, windowsServer: 1, mac: 0.5 },
		versions: ['126.0.2592.87', '128.0.2739.79', '131.0.2903.70'],
		paths: winPath('C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe'),
	},
	{
		vendor: 'microsoft',
		name: '.net_framework',
		share: { windowsDesktop: 1, windowsServer: 1 },
		versions: ['4.8.04084', '4.8.09032'],
		paths: () => ({ diskPaths: [], registryPaths: ['SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full\\Install'] }),
	},
	{
		vendor: 'microsoft',
		name: '365_apps_for_enterprise',
		share: { windowsDesktop: 0.7 },
		versions: ['16.0.17628.20144', '16.0.17928.20156', '16.0.18129.20116'],
		paths: winPath('C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE'),
	},
	{
		vendor: 'google',
		name: 'chrome',
		share: { windowsDesktop: 0.6, mac: 0.6, linux: 0.15 },
		versions: ['124.0.6367.201', '127.0.6533.100', '131.0.6778.86'],
		paths: uninstallKey('Google Chrome', 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe'),
	},
	{
		vendor: 'mozilla',
		name: 'firefox',
		share: { windowsDesktop: 0.25, linux: 0.4, mac: 0.2 },
		versions: ['125.0.3.0', '129.0.2.0', '133.0.0.0'],
		paths: uninstallKey('Mozilla Firefox 133.0 (x64 en-US)', 'C:\\Program Files\\Mozilla Firefox\\firefox.exe'),
	},
	{
		vendor: '7-zip',
		name: '7-zip',
		share: { windowsDesktop: 0.3, windowsServer: 0.2 },
		versions: ['23.01.0.0', '24.08.0.0'],
		paths: uninstallKey('7-Zip', 'C:\\Program Files\\7-Zip\\7z.exe'),
	},
	{
		vendor: 'notepad-plus-plus',
		name: 'notepad++',
		share: { windowsDesktop: 0.2, windowsServer: 0.1 },
		versions: ['8.5.8.0', '8.7.1.0'],
		paths: uninstallKey('Notepad++', 'C:\\Program Files\\Notepad++\\notepad++.exe'),
	},
	{
		vendor: 'zoom',
		name: 'zoom',
		share: { windowsDesktop: 0.35, mac: 0.4 },
		versions: ['5.17.11.34827', '6.2.10.43047'],
		paths: winPath('C:\\Program Files\\Zoom\\bin\\Zoom.exe'),
	},
	{
		vendor: 'oracle',
		name: 'jre',
		share: { windowsDesktop: 0.12, windowsServer: 0.25, linux: 0.2 },
		versions: ['1.8.0.391', '1.8.0.421', '1.8.0.431'],
		paths: winPath('C:\\Program Files\\Java\\jre-1.8\\bin\\java.exe'),
	},
	{ vendor: 'openssl', name: 'openssl', share: { linux: 1, mac: 0.3 }, versions: ['3.0.2', '3.0.13', '3.0.15'], paths: () => ({ diskPaths: ['/usr/bin/openssl'], registryPaths: [] }) },
	{
		vendor: 'git-scm',
		name: 'git',
		share: { windowsDesktop: 0.25, linux: 0.5, mac: 0.5 },
		versions: ['2.44.0.1', '2.47.1.1'],
		paths: winPath('C:\\Program Files\\Git\\cmd\\git.exe'),
	},
];

export const softwareIdOf = (vendor: string, name: string): string => `${vendor}-_-${name}`;
export const recommendationIdOf = (softwareId: string): string => `va-_-${softwareId}`;

interface CatalogVulnerability extends Omit<TvmVulnerability, 'exposedMachines'> {}

interface CatalogVersion {
	version: string;
	cves: string[];
	/** The security update that fixes this version (Microsoft products), by KB number. */
	kb?: { id: string; name: string };
}

interface CatalogProduct {
	id: string;
	vendor: string;
	name: string;
	spec: ProductSpec;
	versions: CatalogVersion[];
	/** Display name, e.g. `Chrome`, `Windows 11`. */
	component: string;
}

interface ConfigRecommendation {
	id: string;
	recommendationName: string;
	category: TvmRecommendation['recommendationCategory'];
	subCategory: string;
	severityScore: number;
	configScoreImpact: number;
	relatedComponent: string;
	families: Family[];
	/** Chance a machine of those families is not compliant. */
	misconfigured: number;
}

const CONFIG_RECOMMENDATIONS: ConfigRecommendation[] = [
	{
		id: 'sca-_-scid-2010',
		recommendationName: 'Turn on Microsoft Defender Antivirus PUA protection in block mode',
		category: 'SecurityControls',
		subCategory: 'Antivirus',
		severityScore: 7,
		configScoreImpact: 1.28,
		relatedComponent: 'Microsoft Defender Antivirus',
		families: ['windowsDesktop', 'windowsServer'],
		misconfigured: 0.3,
	},
	{
		id: 'sca-_-scid-33',
		recommendationName: "Disable 'Autoplay' for all drives",
		category: 'OS',
		subCategory: 'Security Options',
		severityScore: 5,
		configScoreImpact: 0.64,
		relatedComponent: 'Windows',
		families: ['windowsDesktop'],
		misconfigured: 0.45,
	},
	{
		id: 'sca-_-scid-2400',
		recommendationName: "Set 'Minimum password length' to '14 or more characters'",
		category: 'Accounts',
		subCategory: 'Password Policy',
		severityScore: 4,
		configScoreImpact: 0.52,
		relatedComponent: 'Accounts',
		families: ['windowsDesktop', 'windowsServer'],
		misconfigured: 0.2,
	},
];

const EXPLOIT_TYPES = ['Remote code execution', 'Local privilege escalation', 'Denial of service'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const titleCase = (name: string): string =>
	name
		.split('_')
		.map((w) => (w.length <= 3 && /\d/.test(w) ? w : w.charAt(0).toUpperCase() + w.slice(1)))
		.join(' ');

function severityOf(cvss: number): VulnerabilitySeverity {
	if (cvss >= 9) return 'Critical';
	if (cvss >= 7) return 'High';
	if (cvss >= 4) return 'Medium';
	return 'Low';
}

function makeVulnerability(rng: Rng, id: string, subject: string): CatalogVulnerability {
	const cvssV3 = Math.round((2 + rng.next() * 8) * 10) / 10;
	const publishedMs = Date.UTC(2023, 0, 1) + rng.int(0, 700) * 86400000;
	const updatedMs = publishedMs + rng.int(1, 120) * 86400000 + rng.int(0, 86399) * 1000;
	const publicExploit = rng.chance(0.3);
	const exploitVerified = publicExploit && rng.chance(0.5);
	const kind = rng.pick(EXPLOIT_TYPES);
	return {
		id,
		name: id,
		description: `Emulated vulnerability: ${kind.toLowerCase()} in ${subject}.`,
		severity: severityOf(cvssV3),
		cvssV3,
		cvssVector: `CVSS:3.1/AV:${rng.pick(['N', 'L'])}/AC:${rng.pick(['L', 'H'])}/PR:${rng.pick(['N', 'L'])}/UI:${rng.pick(['N', 'R'])}/S:U/C:H/I:H/A:H/E:${publicExploit ? 'P' : 'U'}/RL:O/RC:C`,
		publishedOn: new Date(publishedMs).toISOString().replace('.000Z', 'Z'),
		updatedOn: new Date(updatedMs).toISOString().replace('.000Z', 'Z'),
		publicExploit,
		exploitVerified,
		exploitInKit: exploitVerified && rng.chance(0.3),
		exploitTypes: publicExploit ? [kind] : [],
		exploitUris: publicExploit ? [`https://www.exploit-db.com/exploits/${rng.int(50000, 52999)}`] : [],
		cveSupportability: 'Supported',
		epss: Math.round(rng.next() * (publicExploit ? 0.9 : 0.1) * 100000) / 100000,
	};
}

/** The fixed catalogue: products with versions and the CVEs each version has, plus CVEs no product here has. */
function buildCatalog(): { products: CatalogProduct[]; vulnerabilities: Map<string, CatalogVulnerability> } {
	const rng = new Rng(0x7e57);
	const vulnerabilities = new Map<string, CatalogVulnerability>();
	let serial = 21000;
	let kbSerial = 5039000;
	const products = PRODUCTS.map((spec) => {
		const id = softwareIdOf(spec.vendor, spec.name);
		const component = titleCase(spec.name);
		// Each version but the newest brings a group of 1–3 CVEs; an older version also has every newer version's.
		const groups = spec.versions.slice(0, -1).map((version) =>
			Array.from({ length: rng.int(1, 3) }, () => {
				const cve = `CVE-${rng.pick([2023, 2024])}-${serial++}`;
				vulnerabilities.set(cve, makeVulnerability(rng, cve, `${component} ${version}`));
				return cve;
			}),
		);
		const versions = spec.versions.map((version, i) => {
			const cves = groups.slice(i).flat();
			const entry: CatalogVersion = { version, cves };
			if (spec.vendor === 'microsoft' && cves.length) {
				const kbId = String(kbSerial);
				kbSerial += 13;
				entry.kb = { id: kbId, name: `${MONTHS[(kbSerial >> 3) % 12]} 2024 Security Updates` };
			}
			return entry;
		});
		return { id, vendor: spec.vendor, name: spec.name, spec, versions, component };
	});
	// Known to Defender, found on no machine here (exposedMachines 0), and one without a CVE id (Defender's TVM-… ids).
	for (let i = 0; i < 6; i++) {
		const cve = `CVE-2022-${40000 + i * 37}`;
		vulnerabilities.set(cve, makeVulnerability(rng, cve, 'software not in this organization'));
	}
	vulnerabilities.set('TVM-2024-0002', { ...makeVulnerability(rng, 'TVM-2024-0002', 'Microsoft Defender for Endpoint on Linux'), cveSupportability: 'SupportedInPremium' });
	return { products, vulnerabilities };
}

const CATALOG = buildCatalog();
const PRODUCTS_BY_ID = new Map(CATALOG.products.map((p) => [p.id, p]));

// ---------------------------------------------------------------------------------------------
// Store

interface Install {
	product: CatalogProduct;
	version: CatalogVersion;
}

/** An export snapshot ("via files"): its gzipped files, and the download links handed out for them. */
interface ExportSnapshot {
	generatedMs: number;
	files: Buffer[];
	lines: number;
}

interface ExportLink {
	snapshot: ExportSnapshot;
	index: number;
	expiresMs: number;
}

/** A page position of SoftwareVulnerabilitiesByMachine: rows of one snapshot, from an offset. */
interface JsonSnapshot {
	rows: TvmAssessmentRow[];
	createdMs: number;
}

export interface TvmCounts {
	vulnerabilities: number;
	/** Vulnerabilities on at least one machine. */
	exposedVulnerabilities: number;
	software: number;
	recommendations: number;
	/** Installed (machine, software) pairs. */
	installs: number;
	/** Rows of the assessment by machine (and lines of an export). */
	assessmentRows: number;
}

/** Documented ceiling of `sasValidHours` and the links' default lifetime (get-assessment-software-vulnerabilities.md). */
export const EXPORT_MAX_SAS_HOURS = 6;
/** "We refresh the … export every six hours": a snapshot is served until it is that old (emulator clock). */
export const EXPORT_REFRESH_MS = 6 * 3600000;
/** "Maximum page size is 200,000"; "pageSize (default = 50,000)". */
export const JSON_MAX_PAGE_SIZE = 200000;
export const JSON_DEFAULT_PAGE_SIZE = 50000;

export class TvmStore {
	/** Whether machines get their generated software (seed); clear() turns it off. */
	private generated = true;
	/** Explicit installs (machine → software → version, or null = uninstalled) on top of the generated ones. */
	private readonly overrides = new Map<string, Map<string, string | null>>();
	private readonly extra = new Map<string, CatalogVulnerability>();
	private readonly generatedCache = new Map<string, Install[]>();
	private snapshot: ExportSnapshot | undefined;
	private readonly links = new Map<string, ExportLink>();
	private readonly jsonSnapshots = new Map<string, JsonSnapshot>();
	/** Lines per export file (files hold at most this many). */
	linesPerFile = 10000;

	constructor(private readonly state: Pick<EmulatorState, 'machines' | 'clock'>) {}

	/** No software on any machine (until `install` or `seed`), no explicit installs, extras or exports. */
	clear(): void {
		this.drop();
		this.generated = false;
	}

	/** Back to the generated assignment, no explicit installs, no extra vulnerabilities, no exports. */
	reset(): void {
		this.drop();
		this.generated = true;
	}

	private drop(): void {
		this.overrides.clear();
		this.extra.clear();
		this.generatedCache.clear();
		this.snapshot = undefined;
		this.links.clear();
		this.jsonSnapshots.clear();
		this.linesPerFile = 10000;
	}

	seed(options: { extraVulnerabilities?: number } = {}): TvmCounts {
		this.generated = true;
		const rng = new Rng(0x5eed + this.extra.size);
		for (let i = 0; i < (options.extraVulnerabilities ?? 0); i++) {
			const id = `CVE-2021-${String(60000 + this.extra.size).padStart(5, '0')}`;
			this.extra.set(id, makeVulnerability(rng, id, 'a product not in this organization'));
		}
		return this.counts();
	}

	install(machineId: string, softwareId: string, version?: string): void {
		const machine = this.machine(machineId);
		const product = PRODUCTS_BY_ID.get(softwareId);
		if (!product) throw new Error(`Unknown software ${softwareId}; the catalogue has ${[...PRODUCTS_BY_ID.keys()].join(', ')}`);
		const chosen = version ?? product.versions[0].version;
		if (!product.versions.some((v) => v.version === chosen)) {
			throw new Error(`${softwareId} has no version ${chosen}; known: ${product.versions.map((v) => v.version).join(', ')}`);
		}
		this.override(machine.id).set(softwareId, chosen);
	}

	uninstall(machineId: string, softwareId: string): void {
		this.override(this.machine(machineId).id).set(softwareId, null);
	}

	private override(machineId: string): Map<string, string | null> {
		let map = this.overrides.get(machineId);
		if (!map) {
			map = new Map();
			this.overrides.set(machineId, map);
		}
		return map;
	}

	private machine(id: string): Machine {
		const machine = this.state.machines.get(id);
		if (!machine) throw new Error(`Unknown machine ${id}`);
		return machine;
	}

	/** What a machine has installed: generated from its id and platform, then the explicit installs. */
	installs(machine: Machine): Install[] {
		const key = `${machine.id}|${machine.osPlatform}`;
		let generated = this.generatedCache.get(key);
		if (!generated) {
			generated = [];
			const family = familyOf(machine);
			for (const product of CATALOG.products) {
				const rng = new Rng(hash32(`${machine.id}|${product.id}`));
				const has = product.spec.osPlatform ? product.spec.osPlatform === machine.osPlatform : rng.chance(product.spec.share?.[family] ?? 0);
				if (!has) continue;
				// Older versions are rarer: the newest half the time, the others share the rest.
				const versions = product.versions;
				const version = rng.chance(0.5) ? versions[versions.length - 1] : versions[rng.int(0, versions.length - 2)] ?? versions[0];
				generated.push({ product, version });
			}
			this.generatedCache.set(key, generated);
		}
		const result = this.generated ? generated.slice() : [];
		const override = this.overrides.get(machine.id);
		if (override) {
			for (const [softwareId, version] of override) {
				const at = result.findIndex((i) => i.product.id === softwareId);
				if (at >= 0) result.splice(at, 1);
				if (version === null) continue;
				const product = PRODUCTS_BY_ID.get(softwareId)!;
				result.push({ product, version: product.versions.find((v) => v.version === version)! });
			}
			result.sort((a, b) => CATALOG.products.indexOf(a.product) - CATALOG.products.indexOf(b.product));
		}
		return result;
	}

	private misconfigured(machine: Machine, rec: ConfigRecommendation): boolean {
		if (!this.generated) return false;
		if (!rec.families.includes(familyOf(machine))) return false;
		return new Rng(hash32(`${machine.id}|${rec.id}`)).chance(rec.misconfigured);
	}

	private allVulnerabilities(): Map<string, CatalogVulnerability> {
		return new Map([...CATALOG.vulnerabilities, ...this.extra]);
	}

	/** Every org-level fact, computed from the machines now (cheap: a few thousand machines × 17 products). */
	private view() {
		const machines = this.state.machines.all();
		const installsOf = new Map<string, Install[]>();
		const exposedByCve = new Map<string, Machine[]>();
		const installedBy = new Map<string, Machine[]>();
		const exposedBy = new Map<string, Machine[]>();
		const weaknessesOf = new Map<string, Set<string>>();
		const missedKb = new Map<string, number>();
		for (const machine of machines) {
			const installs = this.installs(machine);
			installsOf.set(machine.id, installs);
			for (const { product, version } of installs) {
				push(installedBy, product.id, machine);
				if (version.cves.length) push(exposedBy, product.id, machine);
				const weak = weaknessesOf.get(product.id) ?? new Set<string>();
				for (const cve of version.cves) {
					weak.add(cve);
					push(exposedByCve, cve, machine);
				}
				weaknessesOf.set(product.id, weak);
				if (version.kb) missedKb.set(version.kb.id, (missedKb.get(version.kb.id) ?? 0) + 1);
			}
		}
		return { machines, installsOf, exposedByCve, installedBy, exposedBy, weaknessesOf, missedKb };
	}

	private vulnerabilityEntity(v: CatalogVulnerability, exposed: number): TvmVulnerability {
		const { id, name, description, severity, cvssV3, cvssVector } = v;
		return {
			id,
			name,
			description,
			severity,
			cvssV3,
			cvssVector,
			exposedMachines: exposed,
			publishedOn: v.publishedOn,
			updatedOn: v.updatedOn,
			publicExploit: v.publicExploit,
			exploitVerified: v.exploitVerified,
			exploitInKit: v.exploitInKit,
			exploitTypes: [...v.exploitTypes],
			exploitUris: [...v.exploitUris],
			cveSupportability: v.cveSupportability,
			epss: v.epss,
		};
	}

	vulnerabilities(): TvmVulnerability[] {
		const { exposedByCve } = this.view();
		return [...this.allVulnerabilities().values()].map((v) => this.vulnerabilityEntity(v, exposedByCve.get(v.id)?.length ?? 0));
	}

	vulnerability(id: string): TvmVulnerability | undefined {
		const v = this.allVulnerabilities().get(id.toUpperCase());
		return v && this.vulnerabilityEntity(v, this.view().exposedByCve.get(v.id)?.length ?? 0);
	}

	private softwareEntity(product: CatalogProduct, view: ReturnType<TvmStore['view']>): TvmSoftware {
		const weak = view.weaknessesOf.get(product.id) ?? new Set<string>();
		const all = this.allVulnerabilities();
		const exposed = view.exposedBy.get(product.id)?.length ?? 0;
		const cvssSum = [...weak].reduce((s, cve) => s + (all.get(cve)?.cvssV3 ?? 0), 0);
		return {
			id: product.id,
			name: product.name,
			vendor: product.vendor,
			weaknesses: weak.size,
			publicExploit: [...weak].some((cve) => all.get(cve)?.publicExploit),
			activeAlert: false,
			exposedMachines: exposed,
			impactScore: Math.round(((cvssSum * exposed) / Math.max(1, view.machines.length)) * 1e6) / 1e6,
		};
	}

	/** The organization's software inventory: every product installed on at least one machine. */
	software(): TvmSoftware[] {
		const view = this.view();
		return CATALOG.products.filter((p) => view.installedBy.has(p.id)).map((p) => this.softwareEntity(p, view));
	}

	softwareById(id: string): TvmSoftware | undefined {
		const view = this.view();
		const product = PRODUCTS_BY_ID.get(id.toLowerCase());
		return product && view.installedBy.has(product.id) ? this.softwareEntity(product, view) : undefined;
	}

	/** Machines that have the software installed (get-machines-by-software.md: "has this software installed"). */
	installedMachines(softwareId: string): TvmMachineReference[] {
		return (this.view().installedBy.get(softwareId.toLowerCase()) ?? []).map(machineReference);
	}

	/** Machines exposed to the vulnerability: they have a version it affects. */
	exposedMachines(cveId: string): TvmMachineReference[] {
		return (this.view().exposedByCve.get(cveId.toUpperCase()) ?? []).map(machineReference);
	}

	/** The vulnerabilities of the versions of a software installed in the organization. */
	softwareVulnerabilities(softwareId: string): TvmVulnerability[] | undefined {
		const view = this.view();
		const product = PRODUCTS_BY_ID.get(softwareId.toLowerCase());
		if (!product || !view.installedBy.has(product.id)) return undefined;
		const weak = view.weaknessesOf.get(product.id) ?? new Set<string>();
		const all = this.allVulnerabilities();
		return [...weak].map((cve) => this.vulnerabilityEntity(all.get(cve)!, view.exposedByCve.get(cve)?.length ?? 0));
	}

	private recommendationEntities(view: ReturnType<TvmStore['view']>): TvmRecommendation[] {
		const all = this.allVulnerabilities();
		const critical = (machines: Machine[]) => machines.filter((m) => m.deviceValue === 'High').length;
		const software = CATALOG.products
			.filter((p) => view.exposedBy.has(p.id))
			.map((product): TvmRecommendation => {
				const weak = [...(view.weaknessesOf.get(product.id) ?? [])];
				const exposed = view.exposedBy.get(product.id) ?? [];
				const latest = product.versions[product.versions.length - 1].version;
				return {
					id: recommendationIdOf(product.id),
					productName: product.name,
					recommendationName: `Update ${product.component}${product.spec.osPlatform ? '' : ` to version ${latest}`}`,
					weaknesses: weak.length,
					vendor: product.vendor,
					recommendedVersion: product.spec.osPlatform ? '' : latest,
					recommendedProgram: null,
					recommendedVendor: null,
					recommendationCategory: 'Application',
					subCategory: '',
					severityScore: 0,
					publicExploit: weak.some((cve) => all.get(cve)?.publicExploit),
					activeAlert: false,
					associatedThreats: [],
					remediationType: 'Update',
					status: 'Active',
					configScoreImpact: 0,
					exposureImpact: Math.round((weak.reduce((s, cve) => s + (all.get(cve)?.cvssV3 ?? 0), 0) / 10) * 1e6) / 1e6,
					totalMachineCount: view.installedBy.get(product.id)?.length ?? 0,
					exposedMachinesCount: exposed.length,
					nonProductivityImpactedAssets: 0,
					relatedComponent: product.component,
					tags: [],
					exposedCriticalDevices: critical(exposed),
				};
			});
		const config = CONFIG_RECOMMENDATIONS.map((rec): TvmRecommendation | undefined => {
			const applicable = view.machines.filter((m) => rec.families.includes(familyOf(m)));
			const exposed = applicable.filter((m) => this.misconfigured(m, rec));
			if (!exposed.length) return undefined;
			return {
				id: rec.id,
				productName: null,
				recommendationName: rec.recommendationName,
				weaknesses: 0,
				vendor: null,
				recommendedVersion: '',
				recommendedProgram: null,
				recommendedVendor: null,
				recommendationCategory: rec.category,
				subCategory: rec.subCategory,
				severityScore: rec.severityScore,
				publicExploit: false,
				activeAlert: false,
				associatedThreats: [],
				remediationType: 'ConfigurationChange',
				status: 'Active',
				configScoreImpact: rec.configScoreImpact,
				exposureImpact: 0,
				totalMachineCount: applicable.length,
				exposedMachinesCount: exposed.length,
				nonProductivityImpactedAssets: 0,
				relatedComponent: rec.relatedComponent,
				tags: [],
				exposedCriticalDevices: critical(exposed),
			};
		}).filter((r): r is TvmRecommendation => r !== undefined);
		return [...software, ...config];
	}

	/** Security recommendations: an update for each software with an exposed install, and misconfigurations found. */
	recommendations(): TvmRecommendation[] {
		return this.recommendationEntities(this.view());
	}

	recommendation(id: string): TvmRecommendation | undefined {
		return this.recommendations().find((r) => r.id === id.toLowerCase());
	}

	machineVulnerabilities(machineId: string): TvmVulnerability[] {
		const view = this.view();
		const machine = this.machine(machineId);
		const all = this.allVulnerabilities();
		const cves = new Set(this.installs(machine).flatMap((i) => i.version.cves));
		return [...cves].map((cve) => this.vulnerabilityEntity(all.get(cve)!, view.exposedByCve.get(cve)?.length ?? 0));
	}

	machineSoftware(machineId: string): TvmSoftware[] {
		const view = this.view();
		return this.installs(this.machine(machineId)).map((i) => this.softwareEntity(i.product, view));
	}

	machineRecommendations(machineId: string): TvmRecommendation[] {
		const view = this.view();
		const machine = this.machine(machineId);
		const exposedProducts = new Set(this.installs(machine).filter((i) => i.version.cves.length).map((i) => recommendationIdOf(i.product.id)));
		const misconfigured = new Set(CONFIG_RECOMMENDATIONS.filter((r) => this.misconfigured(machine, r)).map((r) => r.id));
		return this.recommendationEntities(view).filter((r) => exposedProducts.has(r.id) || misconfigured.has(r.id));
	}

	missingKbs(machineId: string): TvmMissingKb[] {
		const view = this.view();
		return this.installs(this.machine(machineId))
			.filter((i) => i.version.kb)
			.map(({ product, version }) => ({
				id: version.kb!.id,
				name: version.kb!.name,
				productsNames: [product.name],
				url: `https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB${version.kb!.id}`,
				machineMissedOn: view.missedKb.get(version.kb!.id) ?? 0,
				cveAddressed: version.cves.length,
			}));
	}

	/** Rows of the assessment by machine: one per machine, software version and CVE (cveId null when it has none). */
	assessment(): TvmAssessmentRow[] {
		const all = this.allVulnerabilities();
		const rows: TvmAssessmentRow[] = [];
		for (const machine of this.state.machines.all()) {
			for (const { product, version } of this.installs(machine)) {
				const paths = product.spec.paths(version.version);
				const base = {
					deviceId: machine.id,
					rbacGroupName: machine.rbacGroupName,
					deviceName: machine.computerDnsName,
					osPlatform: machine.osPlatform,
					osVersion: machine.osVersion,
					osArchitecture: 'x64',
					softwareVendor: product.vendor,
					softwareName: product.name,
					softwareVersion: version.version,
					diskPaths: paths.diskPaths,
					registryPaths: paths.registryPaths,
					lastSeenTimestamp: machine.lastSeen.slice(0, 19).replace('T', ' '),
					firstSeenTimestamp: machine.firstSeen.slice(0, 19).replace('T', ' '),
					recommendationReference: recommendationIdOf(product.id),
				};
				const cves: Array<string | null> = version.cves.length ? version.cves : [null];
				for (const cve of cves) {
					const v = cve ? all.get(cve)! : undefined;
					rows.push({
						id: `${machine.id}_${product.name}_${version.version}_${cve ?? ''}_`,
						...base,
						cveId: cve,
						cvssScore: v?.cvssV3 ?? null,
						vulnerabilitySeverityLevel: v?.severity ?? null,
						recommendedSecurityUpdate: v && version.kb ? version.kb.name : null,
						recommendedSecurityUpdateId: v && version.kb ? version.kb.id : null,
						recommendedSecurityUpdateUrl: v && version.kb ? `https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB${version.kb.id}` : null,
						exploitabilityLevel: !v || !v.publicExploit ? 'NoExploit' : v.exploitInKit ? 'ExploitIsInKit' : v.exploitVerified ? 'ExploitIsVerified' : 'ExploitIsPublic',
						securityUpdateAvailable: version.cves.length > 0,
					});
				}
			}
		}
		return rows;
	}

	counts(): TvmCounts {
		const view = this.view();
		return {
			vulnerabilities: this.allVulnerabilities().size,
			exposedVulnerabilities: view.exposedByCve.size,
			software: view.installedBy.size,
			recommendations: this.recommendationEntities(view).length,
			installs: [...view.installsOf.values()].reduce((s, i) => s + i.length, 0),
			assessmentRows: this.assessment().length,
		};
	}

	// --- Export via files ---------------------------------------------------------------------

	/** The snapshot exports serve: the latest, or a new one when none is younger than six hours (emulator clock). */
	currentExport(): ExportSnapshot {
		const now = this.state.clock.nowMs();
		if (!this.snapshot || now - this.snapshot.generatedMs >= EXPORT_REFRESH_MS) this.snapshot = this.buildExport(now);
		return this.snapshot;
	}

	/** Generates a new snapshot now (what Defender does every six hours); returns its generatedTime. */
	publishExport(): string {
		this.snapshot = this.buildExport(this.state.clock.nowMs());
		return new Date(this.snapshot.generatedMs).toISOString();
	}

	private buildExport(nowMs: number): ExportSnapshot {
		const rows = this.assessment();
		const files: Buffer[] = [];
		const per = Math.max(1, this.linesPerFile);
		for (let i = 0; i < rows.length || files.length === 0; i += per) {
			const text = rows
				.slice(i, i + per)
				.map((r) => JSON.stringify(r) + '\n')
				.join('');
			files.push(gzipSync(Buffer.from(text, 'utf8')));
			if (rows.length === 0) break;
		}
		return { generatedMs: nowMs, files, lines: rows.length };
	}

	/** The rows of the current export snapshot, in file order (what its files hold, decompressed). */
	exportFileBytes(): Buffer[] {
		return this.currentExport().files;
	}

	issueExportLinks(validMs: number): { generatedTime: string; tokens: Array<{ token: string; expiresMs: number; index: number }> } {
		const snapshot = this.currentExport();
		const expiresMs = this.state.clock.nowMs() + validMs;
		const tokens = snapshot.files.map((_, index) => {
			const token = crypto.randomBytes(18).toString('base64url');
			this.links.set(token, { snapshot, index, expiresMs });
			return { token, expiresMs, index };
		});
		return { generatedTime: new Date(snapshot.generatedMs).toISOString().replace(/\.\d+Z$/, 'Z'), tokens };
	}

	download(token: string): { bytes: Buffer } | { expiredMs: number } | null {
		const link = this.links.get(token);
		if (!link) return null;
		if (this.state.clock.nowMs() >= link.expiresMs) return { expiredMs: link.expiresMs };
		return { bytes: link.snapshot.files[link.index] };
	}

	// --- JSON pages -----------------------------------------------------------------------------

	jsonPage(skiptoken: string | undefined): { snapshotId: string; rows: TvmAssessmentRow[]; offset: number } {
		if (skiptoken === undefined) {
			const snapshotId = crypto.randomBytes(9).toString('base64url');
			this.jsonSnapshots.set(snapshotId, { rows: this.assessment(), createdMs: this.state.clock.nowMs() });
			return { snapshotId, rows: this.jsonSnapshots.get(snapshotId)!.rows, offset: 0 };
		}
		let position: { s?: unknown; o?: unknown };
		try {
			position = JSON.parse(Buffer.from(skiptoken, 'base64url').toString('utf8')) as { s?: unknown; o?: unknown };
		} catch {
			throw new ApiError(400, 'InvalidInput', 'The $skiptoken is not valid.');
		}
		const snapshot = typeof position.s === 'string' ? this.jsonSnapshots.get(position.s) : undefined;
		if (!snapshot || typeof position.o !== 'number' || !Number.isInteger(position.o) || position.o < 0) {
			throw new ApiError(400, 'InvalidInput', 'The $skiptoken is not valid or has expired.');
		}
		return { snapshotId: position.s as string, rows: snapshot.rows, offset: position.o };
	}
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
	const list = map.get(key);
	if (list) list.push(value);
	else map.set(key, [value]);
}

const machineReference = (m: Machine): TvmMachineReference => ({
	id: m.id,
	computerDnsName: m.computerDnsName,
	osPlatform: m.osPlatform,
	rbacGroupName: m.rbacGroupName,
});

// ---------------------------------------------------------------------------------------------
// OData schemas: the filterable properties each page lists; the others exist but cannot be filtered on.

export const vulnerabilitySchema: EntitySchema<TvmVulnerability> = {
	typeName: 'Analytics.Contracts.PublicAPI.PublicVulnerabilityDto',
	keyField: 'id',
	fields: {
		id: field.string((v) => v.id),
		name: field.string((v) => v.name),
		description: field.string((v) => v.description),
		cvssV3: field.number((v) => v.cvssV3),
		publishedOn: field.datetime((v) => v.publishedOn),
		severity: field.enum(VULNERABILITY_SEVERITIES, (v) => v.severity),
		updatedOn: field.datetime((v) => v.updatedOn),
		exposedMachines: field.number((v) => v.exposedMachines, false),
		publicExploit: field.boolean((v) => v.publicExploit, false),
		exploitVerified: field.boolean((v) => v.exploitVerified, false),
		exploitInKit: field.boolean((v) => v.exploitInKit, false),
	},
};

export const softwareSchema: EntitySchema<TvmSoftware> = {
	typeName: 'Analytics.Contracts.PublicAPI.PublicSoftwareDto',
	keyField: 'id',
	fields: {
		id: field.string((s) => s.id),
		name: field.string((s) => s.name),
		vendor: field.string((s) => s.vendor),
		weaknesses: field.number((s) => s.weaknesses, false),
		exposedMachines: field.number((s) => s.exposedMachines, false),
		publicExploit: field.boolean((s) => s.publicExploit, false),
		impactScore: field.number((s) => s.impactScore, false),
	},
};

export const recommendationSchema: EntitySchema<TvmRecommendation> = {
	typeName: 'Analytics.Contracts.PublicAPI.PublicRecommendationDto',
	keyField: 'id',
	fields: {
		id: field.string((r) => r.id),
		productName: field.string((r) => r.productName),
		vendor: field.string((r) => r.vendor),
		recommendedVersion: field.string((r) => r.recommendedVersion),
		recommendationCategory: field.enum(RECOMMENDATION_CATEGORIES, (r) => r.recommendationCategory),
		subCategory: field.string((r) => r.subCategory),
		severityScore: field.number((r) => r.severityScore),
		remediationType: field.enum(REMEDIATION_TYPES, (r) => r.remediationType),
		recommendedProgram: field.string((r) => r.recommendedProgram),
		recommendedVendor: field.string((r) => r.recommendedVendor),
		status: field.enum(RECOMMENDATION_STATUSES, (r) => r.status),
		weaknesses: field.number((r) => r.weaknesses, false),
		exposedMachinesCount: field.number((r) => r.exposedMachinesCount, false),
		publicExploit: field.boolean((r) => r.publicExploit, false),
	},
};

// ---------------------------------------------------------------------------------------------
// Routes

export const TVM_ROLES = {
	vulnerability: ['Vulnerability.Read.All'],
	software: ['Software.Read.All'],
	recommendation: ['SecurityRecommendation.Read.All'],
} as const;

export function registerTvmRoutes(router: Router, state: EmulatorState): void {
	const { tvm, machines, clock } = state;
	const context = (name: string) => `${state.origin()}/api/$metadata#${name}`;
	const mde = { family: 'mde' as const, limits: LIMITS.standard };
	const findMachine = (id: string): Machine => {
		const machine = machines.get(id);
		if (!machine || machine.id !== id.toLowerCase()) throw notFound(`Machine ${id} was not found`);
		return machine;
	};

	// --- Assessment by machine (registered before /api/machines/:id, which would take these paths) ---

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/SoftwareVulnerabilitiesExport',
		roles: TVM_ROLES.vulnerability,
		limits: LIMITS.tvmExportFiles,
		handler: ({ query }) => {
			const raw = query.sasValidHours ?? Object.entries(query).find(([k]) => k.toLowerCase() === 'sasvalidhours')?.[1];
			let hours = 1;
			if (raw !== undefined) {
				hours = Number(raw);
				if (!/^\d+$/.test(raw.trim()) || hours < 1 || hours > EXPORT_MAX_SAS_HOURS) {
					throw new ApiError(400, 'InvalidInput', `sasValidHours must be a whole number of hours from 1 to ${EXPORT_MAX_SAS_HOURS}; got '${raw}'.`);
				}
			}
			const { generatedTime, tokens } = tvm.issueExportLinks(hours * 3600000);
			const day = generatedTime.slice(0, 10);
			const exportFiles = tokens.map(({ token, expiresMs, index }) => {
				const start = new Date(clock.nowMs()).toISOString().replace(/\.\d+Z$/, 'Z');
				const end = new Date(expiresMs).toISOString().replace(/\.\d+Z$/, 'Z');
				const name = `part-${String(index).padStart(5, '0')}-${token.slice(0, 8)}.c000.json.gz`;
				// Shaped like the page's blob SAS URLs (sv, st, se, sr=b, sp=r, sig); the token alone is checked.
				return `${state.origin()}/_download/tvm/${token}/${name}?sv=2019-12-12&st=${encodeURIComponent(start)}&se=${encodeURIComponent(end)}&sr=b&sp=r&sig=${crypto.createHash('sha256').update(token).digest('base64url')}&d=${day}`;
			});
			return {
				status: 200,
				json: { '@odata.context': context('microsoft.windowsDefenderATP.api.ExportFilesResponse'), exportFiles, generatedTime },
			};
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/SoftwareVulnerabilitiesByMachine',
		roles: TVM_ROLES.vulnerability,
		limits: LIMITS.tvmExportJson,
		handler: ({ query }) => {
			const lookup = (name: string) => Object.entries(query).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
			const positive = (name: string, raw: string | undefined, fallback: number, max?: number): number => {
				if (raw === undefined) return fallback;
				const n = Number(raw);
				if (!/^\d+$/.test(raw.trim()) || n < 1) throw new ApiError(400, 'InvalidInput', `${name} must be a positive whole number; got '${raw}'.`);
				if (max !== undefined && n > max) throw new ApiError(400, 'InvalidInput', `${name} must be at most ${max.toLocaleString('en-US')}; got ${n}.`);
				return n;
			};
			const pageSize = positive('pageSize', lookup('pageSize'), JSON_DEFAULT_PAGE_SIZE, JSON_MAX_PAGE_SIZE);
			const top = lookup('$top');
			const { snapshotId, rows, offset } = tvm.jsonPage(lookup('$skiptoken'));
			if (top !== undefined) {
				// "$top: Number of results to return (doesn't return @odata.nextLink …)".
				const n = positive('$top', top, 0);
				return { status: 200, json: { '@odata.context': context('Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)'), value: rows.slice(0, n) } };
			}
			const value = rows.slice(offset, offset + pageSize);
			const next = offset + value.length;
			const json: Record<string, unknown> = {
				'@odata.context': context('Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)'),
				value,
			};
			if (next < rows.length) {
				const token = Buffer.from(JSON.stringify({ s: snapshotId, o: next })).toString('base64url');
				json['@odata.nextLink'] = `${state.origin()}/api/machines/SoftwareVulnerabilitiesByMachine?pagesize=${pageSize}&$skiptoken=${token}`;
			}
			return { status: 200, json };
		},
	});

	router.add({
		family: 'download',
		method: 'GET',
		pattern: '/_download/tvm/:token/:name',
		handler: ({ params }): Reply => {
			const found = tvm.download(params.token);
			if (found && 'expiredMs' in found) {
				return sasRefused(clock, `Signed expiry time [${httpDate(found.expiredMs)}] must be after signed start time [${httpDate(clock.nowMs())}]`);
			}
			if (!found) return sasRefused(clock, 'Signature did not match.');
			return {
				status: 200,
				// A blob as the storage account serves it: the gzip bytes, no Content-Encoding.
				headers: { 'Content-Type': 'application/octet-stream', 'x-ms-blob-type': 'BlockBlob' },
				body: found.bytes,
			};
		},
	});

	// --- Per machine ---

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/:id/vulnerabilities',
		roles: TVM_ROLES.vulnerability,
		// get-discovered-vulnerabilities.md: "50 calls per minute and 1500 calls per hour".
		limits: LIMITS.tvmMachineVulnerabilities,
		handler: ({ params }) => ({
			status: 200,
			json: {
				'@odata.context': context('Collection(Analytics.Contracts.PublicAPI.PublicVulnerabilityDto)'),
				value: tvm.machineVulnerabilities(findMachine(params.id).id),
			},
		}),
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/:id/software',
		roles: TVM_ROLES.software,
		handler: ({ params }) => ({ status: 200, json: { '@odata.context': context('Software'), value: tvm.machineSoftware(findMachine(params.id).id) } }),
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/:id/getmissingkbs',
		roles: TVM_ROLES.software,
		handler: ({ params }) => ({
			status: 200,
			json: {
				'@odata.context': context('Collection(microsoft.windowsDefenderATP.api.PublicProductFixDto)'),
				value: tvm.missingKbs(findMachine(params.id).id),
			},
		}),
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/machines/:id/recommendations',
		roles: TVM_ROLES.recommendation,
		handler: ({ params }) => ({
			status: 200,
			json: { '@odata.context': context('Recommendations'), value: tvm.machineRecommendations(findMachine(params.id).id) },
		}),
	});

	// --- Vulnerabilities ---

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/vulnerabilities',
		roles: TVM_ROLES.vulnerability,
		handler: ({ query }) => {
			const { page } = listItems(tvm.vulnerabilities(), query, { schema: vulnerabilitySchema, dialect: MDE_DIALECT, maxTop: 8000, defaultTop: 8000 });
			return { status: 200, json: { '@odata.context': context('Vulnerabilities'), value: page } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/vulnerabilities/:id',
		roles: TVM_ROLES.vulnerability,
		handler: ({ params }) => {
			const found = tvm.vulnerability(params.id);
			if (!found) throw notFound(`Vulnerability ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Vulnerabilities/$entity'), ...found } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/vulnerabilities/:id/machineReferences',
		roles: TVM_ROLES.vulnerability,
		handler: ({ params }) => {
			if (!tvm.vulnerability(params.id)) throw notFound(`Vulnerability ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('MachineReferences'), value: tvm.exposedMachines(params.id) } };
		},
	});

	// --- Software ---

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/Software',
		roles: TVM_ROLES.software,
		handler: ({ query }) => {
			const { page } = listItems(tvm.software(), query, { schema: softwareSchema, dialect: MDE_DIALECT, maxTop: 10000, defaultTop: 10000 });
			return { status: 200, json: { '@odata.context': context('Software'), value: page } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/Software/:id',
		roles: TVM_ROLES.software,
		handler: ({ params }) => {
			const found = tvm.softwareById(params.id);
			if (!found) throw notFound(`Software ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Software/$entity'), ...found } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/Software/:id/machineReferences',
		roles: TVM_ROLES.software,
		handler: ({ params }) => {
			if (!tvm.softwareById(params.id)) throw notFound(`Software ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('MachineReferences'), value: tvm.installedMachines(params.id) } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/Software/:id/vulnerabilities',
		// get-vuln-by-software.md names Vulnerability.Read.All for this one.
		roles: TVM_ROLES.vulnerability,
		handler: ({ params }) => {
			const found = tvm.softwareVulnerabilities(params.id);
			if (!found) throw notFound(`Software ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Collection(Analytics.Contracts.PublicAPI.PublicVulnerabilityDto)'), value: found } };
		},
	});

	// --- Recommendations ---

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/recommendations',
		roles: TVM_ROLES.recommendation,
		handler: ({ query }) => {
			const { page } = listItems(tvm.recommendations(), query, { schema: recommendationSchema, dialect: MDE_DIALECT, maxTop: 10000, defaultTop: 10000 });
			return { status: 200, json: { '@odata.context': context('Recommendations'), value: page } };
		},
	});

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/recommendations/:id',
		roles: TVM_ROLES.recommendation,
		handler: ({ params }) => {
			const found = tvm.recommendation(params.id);
			if (!found) throw notFound(`Recommendation ${params.id} was not found`);
			return { status: 200, json: { '@odata.context': context('Recommendations/$entity'), ...found } };
		},
	});
}
