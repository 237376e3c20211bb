/**
 * Advanced hunting over small, fixed tables derived from the machines (reference §3.5):
 * MDE `POST /api/advancedqueries/run` → {Schema, Results}; Graph `POST /v1.0/security/runHuntingQuery`
 * → {schema, results}. The KQL subset: `Table | where … | take/limit N | top N by C | order/sort by C
 * | project a, b | summarize count() by C | count`.
 */
import { BodyReader } from './body';
import { formatTimestamp, normalizeTimestamp } from './clock';
import { hash32, Rng, USERS } from './data';
import { ApiError } from './errors';
import { GRAPH_BUCKET } from './graph';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';

type ColumnType = 'DateTime' | 'String' | 'Int64';
type Row = Record<string, string | number | null>;
interface Table {
	columns: Array<[string, ColumnType]>;
	rows: Row[];
}

const MAX_ROWS = 100000;
const EVENT_ROWS = 300;

const ACTION_TYPES = ['ProcessCreated', 'FileCreated', 'ConnectionSuccess', 'AntivirusDetection', 'PowerShellCommand', 'ScheduledTaskCreated', 'DnsQueryResponse'];
const PROCESSES = ['powershell.exe', 'cmd.exe', 'rundll32.exe', 'chrome.exe', 'svchost.exe', 'winword.exe', 'curl.exe'];

/** Builds the tables for "now" (events are spread over the last ~2 days). */
function buildTables(state: EmulatorState): Record<string, Table> {
	const machines = state.machines.all().slice(0, 50);
	const nowMs = state.clock.nowMs();
	const rng = new Rng(20261128);
	const events: Row[] = [];
	for (let i = 0; i < EVENT_ROWS && machines.length > 0; i++) {
		const m = machines[i % machines.length];
		const user = USERS[hash32(m.id + i) % USERS.length];
		const action = rng.pick(ACTION_TYPES);
		const file = rng.pick(PROCESSES);
		events.push({
			Timestamp: formatTimestamp(nowMs - i * 9 * 60000 - rng.int(0, 60000), rng.int(0, 9999)),
			DeviceId: m.id,
			DeviceName: m.computerDnsName,
			ActionType: action,
			FileName: file,
			FolderPath: `C:\\Windows\\System32\\${file}`,
			SHA1: rng.hex(40),
			InitiatingProcessFileName: rng.pick(PROCESSES),
			InitiatingProcessCommandLine: `${file} /c ${rng.pick(['whoami', 'ipconfig /all', 'net user', 'dir C:\\Users'])}`,
			InitiatingProcessAccountName: user.accountName,
			RemoteIP: action === 'ConnectionSuccess' ? `52.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}` : null,
			RemotePort: action === 'ConnectionSuccess' ? rng.pick([443, 80, 8080, 445]) : null,
			RemoteUrl: action === 'ConnectionSuccess' ? rng.pick(['login.microsoftonline.com', 'cdn-update.example-bad.net', 'github.com']) : null,
			ReportId: 10000 + i,
		});
	}
	return {
		DeviceEvents: {
			columns: [
				['Timestamp', 'DateTime'],
				['DeviceId', 'String'],
				['DeviceName', 'String'],
				['ActionType', 'String'],
				['FileName', 'String'],
				['FolderPath', 'String'],
				['SHA1', 'String'],
				['InitiatingProcessFileName', 'String'],
				['InitiatingProcessCommandLine', 'String'],
				['InitiatingProcessAccountName', 'String'],
				['RemoteIP', 'String'],
				['RemotePort', 'Int64'],
				['RemoteUrl', 'String'],
				['ReportId', 'Int64'],
			],
			rows: events,
		},
		DeviceInfo: {
			columns: [
				['Timestamp', 'DateTime'],
				['DeviceId', 'String'],
				['DeviceName', 'String'],
				['OSPlatform', 'String'],
				['OSBuild', 'Int64'],
				['PublicIP', 'String'],
				['MachineGroup', 'String'],
				['OnboardingStatus', 'String'],
				['ExposureLevel', 'String'],
			],
			rows: state.machines.all().map((m) => ({
				Timestamp: m.lastSeen,
				DeviceId: m.id,
				DeviceName: m.computerDnsName,
				OSPlatform: m.osPlatform,
				OSBuild: m.osBuild,
				PublicIP: m.lastExternalIpAddress,
				MachineGroup: m.rbacGroupName,
				OnboardingStatus: m.onboardingStatus,
				ExposureLevel: m.exposureLevel,
			})),
		},
	};
}

// ---------------------------------------------------------------------------------------------
// KQL subset

const queryError = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

/** Splits on `|` outside string literals. */
function splitPipes(query: string): string[] {
	const parts: string[] = [];
	let current = '';
	let quote: string | null = null;
	for (const ch of query) {
		if (quote) {
			if (ch === quote) quote = null;
		} else if (ch === '"' || ch === "'") quote = ch;
		else if (ch === '|') {
			parts.push(current.trim());
			current = '';
			continue;
		}
		current += ch;
	}
	parts.push(current.trim());
	return parts;
}

const DURATION_MS: Record<string, number> = { d: 86400000, h: 3600000, m: 60000, s: 1000, ms: 1 };

/** A where-clause operand: "string", 'string', number, ago(1d), datetime(...). */
function literal(raw: string, nowMs: number): string | number {
	const s = raw.trim();
	const quoted = /^(["'])(.*)\1$/.exec(s);
	if (quoted) return quoted[2];
	if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
	const ago = /^ago\(\s*(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)\s*\)$/i.exec(s);
	if (ago) return formatTimestamp(nowMs - Number(ago[1]) * DURATION_MS[ago[2].toLowerCase()]);
	const dt = /^datetime\(\s*([^)]+?)\s*\)$/i.exec(s);
	if (dt) {
		const ts = normalizeTimestamp(dt[1].includes('T') ? dt[1] : `${dt[1]}T00:00:00Z`);
		if (ts) return ts;
	}
	throw queryError(`Query could not be parsed at '${s}'.`);
}

function compare(op: string, value: unknown, operand: string | number): boolean {
	if (value === null || value === undefined) return op === '!=' || op === '!contains' || op === '!~';
	const v = typeof operand === 'number' ? Number(value) : String(value);
	const o = operand;
	const lower = (x: unknown) => String(x).toLowerCase();
	switch (op) {
		case '==':
			return v === o;
		case '!=':
			return v !== o;
		case '=~':
			return lower(v) === lower(o);
		case '!~':
			return lower(v) !== lower(o);
		case 'contains':
			return lower(v).includes(lower(o));
		case '!contains':
			return !lower(v).includes(lower(o));
		case 'has':
			return lower(v).split(/[^a-z0-9_]+/).includes(lower(o));
		case 'startswith':
			return lower(v).startsWith(lower(o));
		case 'endswith':
			return lower(v).endsWith(lower(o));
		case '>':
			return v > o;
		case '>=':
			return v >= o;
		case '<':
			return v < o;
		case '<=':
			return v <= o;
		default:
			throw queryError(`Unsupported operator '${op}'.`);
	}
}

function runQuery(query: string, state: EmulatorState): Table {
	const stages = splitPipes(query);
	const tables = buildTables(state);
	const tableName = stages[0];
	const source = tables[tableName];
	if (!source) throw queryError(`Failed to resolve table or column expression named '${tableName}'.`);
	let columns = source.columns.slice();
	let rows = source.rows.slice();
	const nowMs = state.clock.nowMs();
	const column = (name: string): string => {
		const found = columns.find(([c]) => c === name);
		if (!found) throw queryError(`Failed to resolve scalar expression named '${name}'.`);
		return found[0];
	};
	const sortBy = (spec: string, defaultDesc: boolean) => {
		const m = /^(\w+)(?:\s+(asc|desc))?$/i.exec(spec.trim());
		if (!m) throw queryError(`Query could not be parsed at '${spec}'.`);
		const name = column(m[1]);
		const desc = m[2] ? m[2].toLowerCase() === 'desc' : defaultDesc;
		rows.sort((a, b) => {
			const x = a[name];
			const y = b[name];
			const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
			return desc ? -c : c;
		});
	};

	for (const stage of stages.slice(1)) {
		const [, op = '', rest = ''] = /^(\w+(?:\s+by)?)\s*([\s\S]*)$/i.exec(stage) ?? [];
		switch (op.toLowerCase().replace(/\s+/g, ' ')) {
			case 'take':
			case 'limit': {
				if (!/^\d+$/.test(rest.trim())) throw queryError(`Query could not be parsed at '${stage}'.`);
				rows = rows.slice(0, Number(rest.trim()));
				break;
			}
			case 'where': {
				const conditions = rest.split(/\s+and\s+/i).map((cond) => {
					const m = /^(\w+)\s*(==|!=|=~|!~|>=|<=|>|<|!contains|contains|has|startswith|endswith)\s*([\s\S]+)$/i.exec(cond.trim());
					if (!m) throw queryError(`Query could not be parsed at '${cond.trim()}'.`);
					return { name: column(m[1]), op: m[2].toLowerCase(), operand: literal(m[3], nowMs) };
				});
				rows = rows.filter((row) => conditions.every((c) => compare(c.op, row[c.name], c.operand)));
				break;
			}
			case 'project': {
				const names = rest.split(',').map((n) => column(n.trim()));
				columns = names.map((n) => columns.find(([c]) => c === n) as [string, ColumnType]);
				rows = rows.map((row) => Object.fromEntries(names.map((n) => [n, row[n]])));
				break;
			}
			case 'order by':
			case 'sort by':
				sortBy(rest, true);
				break;
			case 'top': {
				const m = /^(\d+)\s+by\s+(.+)$/i.exec(rest.trim());
				if (!m) throw queryError(`Query could not be parsed at '${stage}'.`);
				sortBy(m[2], true);
				rows = rows.slice(0, Number(m[1]));
				break;
			}
			case 'count':
				columns = [['Count', 'Int64']];
				rows = [{ Count: rows.length }];
				break;
			case 'summarize': {
				const m = /^count\(\)\s+by\s+(\w+)$/i.exec(rest.trim());
				if (!m) throw queryError(`Only 'summarize count() by Column' is supported by the emulator: '${stage}'.`);
				const name = column(m[1]);
				const counts = new Map<string | number | null, number>();
				for (const row of rows) counts.set(row[name], (counts.get(row[name]) ?? 0) + 1);
				columns = [columns.find(([c]) => c === name) as [string, ColumnType], ['count_', 'Int64']];
				rows = Array.from(counts, ([key, count]) => ({ [name]: key, count_: count }));
				break;
			}
			default:
				throw queryError(`Query could not be parsed at '${stage}'. The emulator supports where, take, limit, top, order by, sort by, project, summarize count() by, count.`);
		}
	}
	return { columns, rows: rows.slice(0, MAX_ROWS) };
}

export function registerHuntingRoutes(router: Router, state: EmulatorState): void {
	router.add({
		family: 'mde',
		method: 'POST',
		pattern: '/api/advancedqueries/run',
		roles: ['AdvancedQuery.Read.All'],
		limits: LIMITS.hunting,
		handler: ({ body }) => {
			const query = new BodyReader(body).only(['Query']).requiredString('Query');
			const started = Date.now();
			const table = runQuery(query.trim(), state);
			return {
				status: 200,
				json: {
					Stats: {
						ExecutionTime: (Date.now() - started) / 1000,
						resource_usage: { cache: { memory: { hits: 0, misses: 0, total: 0 } }, cpu: { 'total cpu': '00:00:00', breakdown: {} } },
						dataset_statistics: [{ table_row_count: table.rows.length, table_size: JSON.stringify(table.rows).length }],
					},
					Schema: table.columns.map(([Name, Type]) => ({ Name, Type })),
					Results: table.rows,
				},
			};
		},
	});

	router.add({
		family: 'graph',
		method: 'POST',
		pattern: '/v1.0/security/runHuntingQuery',
		roles: ['ThreatHunting.Read.All'],
		limits: LIMITS.graph,
		bucket: GRAPH_BUCKET,
		handler: ({ body }) => {
			const b = new BodyReader(body, 'BadRequest').only(['Query', 'Timespan', 'query', 'timespan']);
			const query = (b.string('Query') ?? b.string('query') ?? '').trim();
			if (!query) throw b.error("The 'Query' property is required.");
			const table = runQuery(query, state);
			return {
				status: 200,
				json: {
					'@odata.context': `${state.origin()}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults`,
					schema: table.columns.map(([name, type]) => ({ name, type })),
					results: table.rows,
				},
			};
		},
	});
}
