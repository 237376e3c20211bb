/**
 * Live response through the API and the live response library:
 *
 * * `POST /api/machines/{id}/runliveresponse` (run-live-response.md) queues a `LiveResponse` machine action whose
 *   commands (PutFile, RunScript, GetFile) run one after another on the emulator clock, like the other machine
 *   actions (machines.ts): Pending → InProgress → Succeeded / Failed, one `machineActionStepMs` step per command.
 * * `GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index={i})` (get-live-response-result.md) gives a
 *   short-lived link to a command's result, served by the emulator itself like a blob SAS URL.
 * * `GET|POST /api/libraryfiles`, `DELETE /api/libraryfiles/{fileName}` (list-library-files.md, upload-library.md,
 *   delete-library.md): the scripts and files PutFile and RunScript take.
 *
 * What the docs leave open is the emulator's choice, said where it is made.
 */
import * as crypto from 'node:crypto';
import { addMs, timestampToMs, type Clock } from './clock';
import { ApiError, notFound, type Reply } from './errors';
import type { MachineActionStore, MachineStore } from './machines';
import { MultipartForm, type MultipartPart } from './multipart';
import { LIMITS } from './ratelimit';
import type { Router } from './router';
import type { EmulatorState } from './state';
import type { Machine, MachineAction } from './types';
import { zip } from './zip';

export const LIVE_RESPONSE_COMMAND_TYPES = ['PutFile', 'RunScript', 'GetFile'] as const;
export type LiveResponseCommandType = (typeof LIVE_RESPONSE_COMMAND_TYPES)[number];
/** run-live-response.md: "Possible values for each command status are "Created", "Completed", and "Failed"." */
export type LiveResponseCommandStatus = 'Created' | 'Completed' | 'Failed';

export interface LiveResponseParam {
	key: string;
	value: string;
}

/** A command as the request body gives it (and the action echoes it in `commands[].command`). */
export interface LiveResponseCommandInput {
	type: LiveResponseCommandType;
	params: LiveResponseParam[];
}

/** One entry of a LiveResponse action's `commands` (run-live-response.md, response example). */
export interface LiveResponseCommand {
	index: number;
	/** Set when the command starts running. */
	startTime: string | null;
	endTime: string | null;
	commandStatus: LiveResponseCommandStatus;
	/** Why the command failed (empty unless Failed). */
	errors: string[];
	command: LiveResponseCommandInput;
}

/** A live response library entry (list-library-files.md, response example). */
export interface LibraryFile {
	fileName: string;
	sha256: string;
	description: string | null;
	creationTime: string;
	lastUpdatedTime: string;
	createdBy: string;
	hasParameters: boolean;
	parametersDescription: string | null;
}

export interface AddLibraryFileOptions {
	description?: string | null;
	parametersDescription?: string | null;
	hasParameters?: boolean;
	/** Replace a file of the same name (else a 400 / throw). */
	overrideIfExists?: boolean;
	/** Default: the default client's display name. */
	createdBy?: string;
}

/** A RunScript transcript (get-live-response-result.md, "Runscript transcript properties"). */
export interface LiveResponseScriptResult {
	exit_code: number;
	script_output: string;
	script_errors: string;
	/**
	 * How long the script runs (emulator clock; default one machine-action step). Past 10 minutes the command
	 * times out and fails (run-live-response.md: "RunScript command time-outs after 10 minutes").
	 */
	durationMs?: number;
}

/** What `liveResponse.sessions()` reports. */
export interface LiveResponseSession {
	actionId: string;
	machineId: string;
	computerDnsName: string;
	status: MachineAction['status'];
	creationDateTimeUtc: string;
	lastUpdateDateTimeUtc: string;
	commands: LiveResponseCommand[];
}

/** upload-library.md: "File max size limitation is 20MB." */
export const LIBRARY_MAX_BYTES = 20 * 1024 * 1024;
/** run-live-response.md limitation 2: "25 concurrently running sessions". */
export const MAX_CONCURRENT_SESSIONS = 25;
/** run-live-response.md limitation 4: "RunScript command time-outs after 10 minutes". */
export const RUN_SCRIPT_TIMEOUT_MS = 10 * 60000;
/** run-live-response.md limitation 3: "If the machine isn't available, the session is queued for up to three days." */
export const OFFLINE_QUEUE_MS = 3 * 86400000;
/** get-live-response-result.md: "This link is valid for 30 minutes". */
export const DEFAULT_LINK_TTL_MS = 30 * 60000;

/**
 * Health statuses (machine.md) of a device that cannot take a session now: its session stays Pending (queued).
 * `NoSensorData` still talks to the cloud, so it counts as reachable. The emulator's reading of the statuses.
 */
const OFFLINE_HEALTH = new Set(['Inactive', 'ImpairedCommunication', 'NoSensorDataImpairedCommunication']);
const FINAL = new Set(['Succeeded', 'Failed', 'TimeOut', 'Cancelled']);
/** HRESULTs in `errorHResult` of a failed session: file not found, timeout, unspecified failure. */
const HRESULT = { fileNotFound: -2147024894, timeout: -2147023436, fail: -2147467259 };

/** Parameter keys per command type (run-live-response.md, "Commands" table). */
const COMMAND_PARAMS: Record<LiveResponseCommandType, { required: string[]; optional: string[] }> = {
	PutFile: { required: ['FileName'], optional: [] },
	RunScript: { required: ['ScriptName'], optional: ['Args'] },
	GetFile: { required: ['Path'], optional: [] },
};

const missing = (name: string) => new ApiError(400, 'MissingRequiredParameter', `Parameter ${name} is missing.`);
const invalid = (message: string) => new ApiError(400, 'InvalidRequestBody', message);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
	for (const key of Object.keys(obj)) {
		if (!allowed.includes(key)) {
			throw invalid(`The property '${key}' does not exist or is not allowed in ${where}. Property names are case-sensitive; allowed: ${allowed.join(', ')}.`);
		}
	}
}

/**
 * Reads a runliveresponse body: `{ Commands: [{ type, params: [{ key, value }] }], Comment }`, names as the doc's
 * example spells them (common-errors.md: "The submitted body parameters are currently case-sensitive"), command types
 * and parameter keys from the "Commands" table, commands "in this order" PutFile, RunScript, GetFile. `Comment` is
 * required as on the other action routes (the page does not say; strict so a client that omits it is caught here).
 */
export function readLiveResponseRequest(body: unknown): { comment: string; commands: LiveResponseCommandInput[] } {
	if (body !== undefined && body !== null && !isObject(body)) throw invalid('The request body must be a JSON object.');
	const obj = (body ?? {}) as Record<string, unknown>;
	onlyKeys(obj, ['Commands', 'Comment'], 'the request body');
	if (obj.Commands === undefined || obj.Commands === null) throw missing('Commands');
	if (obj.Comment === undefined || obj.Comment === null) throw missing('Comment');
	if (typeof obj.Comment !== 'string') throw invalid("The 'Comment' property must be a string.");
	if (obj.Comment.trim() === '') throw invalid("The 'Comment' property must not be empty.");
	if (!Array.isArray(obj.Commands) || obj.Commands.length === 0) throw invalid("The 'Commands' property must be a non-empty array of commands.");
	let lastRank = 0;
	const commands = obj.Commands.map((raw: unknown, i): LiveResponseCommandInput => {
		const where = `Commands[${i}]`;
		if (!isObject(raw)) throw invalid(`${where} must be an object with 'type' and 'params'.`);
		onlyKeys(raw, ['type', 'params'], where);
		if (raw.type === undefined || raw.type === null) throw missing(`${where}.type`);
		const type = raw.type as LiveResponseCommandType;
		if (!LIVE_RESPONSE_COMMAND_TYPES.includes(type)) {
			throw invalid(`'${String(raw.type)}' is not a valid value for ${where}.type. Valid values: ${LIVE_RESPONSE_COMMAND_TYPES.join(', ')}.`);
		}
		const rank = LIVE_RESPONSE_COMMAND_TYPES.indexOf(type);
		if (rank < lastRank) {
			throw invalid(`${where} is a ${type} after a ${LIVE_RESPONSE_COMMAND_TYPES[lastRank]}: commands must be in the order PutFile, RunScript, GetFile.`);
		}
		lastRank = rank;
		if (raw.params === undefined || raw.params === null) throw missing(`${where}.params`);
		if (!Array.isArray(raw.params)) throw invalid(`${where}.params must be an array of { key, value }.`);
		const spec = COMMAND_PARAMS[type];
		const allowed = [...spec.required, ...spec.optional];
		const params = raw.params.map((p: unknown, j): LiveResponseParam => {
			const at = `${where}.params[${j}]`;
			if (!isObject(p)) throw invalid(`${at} must be an object with 'key' and 'value'.`);
			onlyKeys(p, ['key', 'value'], at);
			if (typeof p.key !== 'string') throw missing(`${at}.key`);
			if (!allowed.includes(p.key)) throw invalid(`'${p.key}' is not a parameter of ${type}. Keys are case-sensitive; allowed: ${allowed.join(', ')}.`);
			if (typeof p.value !== 'string') throw invalid(`${at}.value must be a string.`);
			return { key: p.key, value: p.value };
		});
		for (const key of allowed) {
			if (params.filter((p) => p.key === key).length > 1) throw invalid(`${where} gives the parameter '${key}' more than once.`);
		}
		for (const key of spec.required) {
			const found = params.find((p) => p.key === key);
			if (!found) throw missing(`${where}: ${key}`);
			if (found.value.trim() === '') throw invalid(`${where}: the value of '${key}' must not be empty.`);
		}
		return { type, params };
	});
	return { comment: obj.Comment, commands };
}

// ---------------------------------------------------------------------------------------------
// Store

interface SessionRecord {
	/** The very object the machine action store lists (machines.ts `adopt`). */
	action: MachineAction;
	commands: LiveResponseCommand[];
	createdMs: number;
	/** When the device took the session (creation time when it was reachable then); null while queued. */
	startMs: number | null;
	/** Start time (emulator ms) of command `next`. */
	cursorMs: number;
	/** Index of the first command not finished yet. */
	next: number;
	/** Duration of each started command (fixed when it starts). */
	durations: number[];
	/** Result blob per command (PutFile and failed commands have none). */
	results: Array<{ bytes: Buffer; contentType: string } | null>;
	/** Test hook: commands made to fail, with their error. */
	forcedFailures: Map<number, string>;
}

interface LinkRecord {
	actionId: string;
	index: number;
	expiresMs: number;
}

const param = (command: LiveResponseCommandInput, key: string): string => command.params.find((p) => p.key === key)?.value ?? '';
const isWindows = (machine: Machine | undefined) => (machine?.osPlatform ?? '').startsWith('Windows');
/** Windows paths compare case-insensitively and with either slash; other platforms exactly. */
const pathKey = (path: string, windows: boolean) => (windows ? path.replace(/\//g, '\\').toLowerCase() : path);

export class LiveResponseStore {
	private readonly sessionsById = new Map<string, SessionRecord>();
	/** By lower-cased file name: library names are unique regardless of case (Windows file names). */
	private readonly files = new Map<string, { file: LibraryFile; bytes: Buffer }>();
	private readonly machineFileSets = new Map<string, Map<string, Buffer>>();
	private readonly scripts = new Map<string, LiveResponseScriptResult | 'fail'>();
	private readonly links = new Map<string, LinkRecord>();
	/** Lifetime of result download links (emulator clock). */
	linkTtlMs: number;

	constructor(
		private readonly clock: Clock,
		private readonly machines: MachineStore,
		private readonly actions: MachineActionStore,
		private readonly defaultLinkTtlMs: number,
		/** Display name of the default client (createdBy of files added in-process). */
		private readonly defaultAppName: string,
	) {
		this.linkTtlMs = defaultLinkTtlMs;
	}

	clear(): void {
		this.sessionsById.clear();
		this.files.clear();
		this.machineFileSets.clear();
		this.scripts.clear();
		this.links.clear();
		this.linkTtlMs = this.defaultLinkTtlMs;
	}

	// -- library

	library(): LibraryFile[] {
		return Array.from(this.files.values(), (f) => ({ ...f.file }));
	}

	libraryBytes(fileName: string): Buffer | undefined {
		return this.files.get(fileName.toLowerCase())?.bytes;
	}

	addLibraryFile(fileName: string, bytes: Buffer, options: AddLibraryFileOptions = {}): LibraryFile {
		if (typeof fileName !== 'string' || fileName.trim() === '') throw invalid('The file must have a name.');
		if (/[\\/]/.test(fileName)) throw invalid(`'${fileName}' is not a file name (no folders in the library).`);
		// The page documents only 400 for a failed upload ("Bad request usually indicates incorrect body").
		if (bytes.length > LIBRARY_MAX_BYTES) {
			throw new ApiError(400, 'BadRequest', `The file '${fileName}' has ${bytes.length} bytes; the maximum is 20 MB (${LIBRARY_MAX_BYTES} bytes).`);
		}
		const key = fileName.toLowerCase();
		const existing = this.files.get(key);
		if (existing && options.overrideIfExists !== true) {
			throw new ApiError(
				400,
				'BadRequest',
				`A file named '${existing.file.fileName}' already exists in the live response library. Set OverrideIfExists to true to replace it.`,
			);
		}
		const now = this.clock.stamp();
		const file: LibraryFile = {
			fileName,
			sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
			description: options.description ?? null,
			creationTime: existing?.file.creationTime ?? now,
			lastUpdatedTime: now,
			createdBy: existing?.file.createdBy ?? options.createdBy ?? this.defaultAppName,
			hasParameters: options.hasParameters ?? false,
			parametersDescription: options.parametersDescription ?? null,
		};
		this.files.set(key, { file, bytes: Buffer.from(bytes) });
		return { ...file };
	}

	removeLibraryFile(fileName: string): boolean {
		return this.files.delete(fileName.toLowerCase());
	}

	// -- emulated devices and scripts

	/**
	 * Files GetFile can collect on a machine. Until set: the platform's hosts file (`C:\Windows\System32\drivers\etc\hosts`
	 * on Windows, `/etc/hosts` elsewhere) with deterministic content.
	 */
	machineFiles(machineId: string): Map<string, Buffer> {
		const set = this.machineFileSets.get(machineId.toLowerCase());
		if (set) return set;
		const machine = this.machines.get(machineId);
		const hosts = Buffer.from(`# hosts of ${machine?.computerDnsName ?? machineId}\n127.0.0.1 localhost\n::1 localhost\n`, 'utf8');
		return new Map([[isWindows(machine) ? 'C:\\Windows\\System32\\drivers\\etc\\hosts' : '/etc/hosts', hosts]]);
	}

	/** Replaces the files GetFile can collect on the machine (path → bytes). */
	setMachineFiles(machineId: string, files: Record<string, Buffer | string>): void {
		this.machineFileSets.set(
			machineId.toLowerCase(),
			new Map(Object.entries(files).map(([path, data]) => [path, Buffer.isBuffer(data) ? Buffer.from(data) : Buffer.from(data, 'utf8')])),
		);
	}

	/** How later RunScript commands of the script end (any machine); undefined = the default transcript (exit 0). */
	setScriptResult(scriptName: string, result: LiveResponseScriptResult | 'fail' | undefined): void {
		if (result === undefined) this.scripts.delete(scriptName.toLowerCase());
		else this.scripts.set(scriptName.toLowerCase(), result === 'fail' ? 'fail' : { ...result });
	}

	/** Makes command `index` of a session fail when it runs (no effect once it finished). */
	failCommand(actionId: string, index: number, message = 'The command failed on the device.'): void {
		const record = this.sessionsById.get(actionId.toLowerCase());
		if (!record) throw new Error(`Unknown live response action ${actionId}`);
		if (!Number.isInteger(index) || index < 0 || index >= record.commands.length) {
			throw new Error(`Live response action ${actionId} has no command ${index} (it has ${record.commands.length})`);
		}
		record.forcedFailures.set(index, message);
	}

	// -- sessions

	private refreshed(actionId: string): SessionRecord | undefined {
		const record = this.sessionsById.get(actionId.toLowerCase());
		// Through the action store: an action removed from it (machineActions.remove) is gone for live response too.
		if (!record || !this.actions.get(record.action.id)) return undefined;
		return record;
	}

	/** Sessions not finished yet (Pending or InProgress), up to date with the clock. */
	private active(): SessionRecord[] {
		return Array.from(this.sessionsById.values()).filter((r) => {
			const action = this.actions.get(r.action.id);
			return action !== undefined && !FINAL.has(action.status);
		});
	}

	sessions(): LiveResponseSession[] {
		return Array.from(this.sessionsById.values()).flatMap((r) => {
			const a = this.actions.get(r.action.id);
			if (!a) return [];
			return [
				{
					actionId: a.id,
					machineId: a.machineId,
					computerDnsName: a.computerDnsName,
					status: a.status,
					creationDateTimeUtc: a.creationDateTimeUtc,
					lastUpdateDateTimeUtc: a.lastUpdateDateTimeUtc,
					commands: structuredClone(r.commands),
				},
			];
		});
	}

	/**
	 * Queues a session (run-live-response.md): 400 ActiveRequestAlreadyExists while the machine has one that is not
	 * finished (limitation 8), 429 beyond 25 unfinished sessions (limitation 2; one data set, so across tenants).
	 */
	start(machine: Machine, commands: LiveResponseCommandInput[], requestor: string, comment: string): MachineAction {
		const active = this.active();
		const busy = active.find((r) => r.action.machineId === machine.id);
		if (busy) {
			throw new ApiError(
				400,
				'ActiveRequestAlreadyExists',
				`Action is already in progress. Live response action ${busy.action.id} on machine ${machine.id} is ${busy.action.status}; a machine runs one live response session at a time.`,
			);
		}
		if (active.length >= MAX_CONCURRENT_SESSIONS) {
			throw new ApiError(429, 'TooManyRequests', `Too many live response sessions: ${active.length} are running; at most ${MAX_CONCURRENT_SESSIONS} may run at once.`);
		}
		const created = this.clock.stamp();
		const createdMs = timestampToMs(created);
		const liveCommands: LiveResponseCommand[] = commands.map((command, index) => ({
			index,
			startTime: null,
			endTime: null,
			commandStatus: 'Created',
			errors: [],
			command: { type: command.type, params: command.params.map((p) => ({ ...p })) },
		}));
		const action: MachineAction = {
			id: crypto.randomUUID(),
			type: 'LiveResponse',
			title: `Live response on ${machine.computerDnsName}`,
			requestor,
			requestorComment: comment,
			status: 'Pending',
			machineId: machine.id,
			computerDnsName: machine.computerDnsName,
			creationDateTimeUtc: created,
			lastUpdateDateTimeUtc: created,
			cancellationRequestor: null,
			cancellationComment: null,
			cancellationDateTimeUtc: null,
			errorHResult: 0,
			scope: null,
			externalId: null,
			requestSource: 'PublicApi',
			relatedFileInfo: null,
			commands: liveCommands,
			troubleshootInfo: null,
		};
		const reachable = !OFFLINE_HEALTH.has(machine.healthStatus);
		const record: SessionRecord = {
			action,
			commands: liveCommands,
			createdMs,
			startMs: reachable ? createdMs : null,
			cursorMs: createdMs + this.actions.stepMs,
			next: 0,
			durations: [],
			results: liveCommands.map(() => null),
			forcedFailures: new Map(),
		};
		this.sessionsById.set(action.id, record);
		this.actions.adopt(action, (nowMs) => this.advance(record, nowMs));
		return structuredClone(action);
	}

	/** Brings a session up to date with the clock (called by the machine action store on every read). */
	private advance(r: SessionRecord, nowMs: number): void {
		const a = r.action;
		if (FINAL.has(a.status)) return;
		const step = this.actions.stepMs;
		const at = (ms: number) => addMs(a.creationDateTimeUtc, ms - r.createdMs);
		if (r.startMs === null) {
			const deadline = r.createdMs + OFFLINE_QUEUE_MS;
			if (nowMs >= deadline) {
				a.status = 'TimeOut';
				a.lastUpdateDateTimeUtc = at(deadline);
				a.errorHResult = HRESULT.timeout;
				return;
			}
			// Picked up the first time it is seen reachable (lazy, like every lifecycle here).
			const machine = this.machines.get(a.machineId);
			if (!machine || OFFLINE_HEALTH.has(machine.healthStatus)) return;
			r.startMs = nowMs;
			r.cursorMs = nowMs + step;
		}
		const pickup = r.startMs + step;
		if (nowMs < pickup) return;
		if (a.status === 'Pending') {
			a.status = 'InProgress';
			a.lastUpdateDateTimeUtc = at(pickup);
		}
		// run-live-response.md limitation 5: "can only be executed one at a time".
		while (r.next < r.commands.length) {
			const i = r.next;
			const cmd = r.commands[i];
			const start = r.cursorMs;
			if (cmd.startTime === null) {
				cmd.startTime = at(start);
				r.durations[i] = this.durationOf(cmd.command);
			}
			const timedOut = cmd.command.type === 'RunScript' && r.durations[i] > RUN_SCRIPT_TIMEOUT_MS;
			const end = start + (timedOut ? RUN_SCRIPT_TIMEOUT_MS : r.durations[i]);
			if (nowMs < end) return;
			const outcome = timedOut
				? { error: `RunScript timed out after 10 minutes (${param(cmd.command, 'ScriptName')}).`, hresult: HRESULT.timeout }
				: this.execute(r, i);
			cmd.endTime = at(end);
			a.lastUpdateDateTimeUtc = cmd.endTime;
			r.cursorMs = end;
			r.next++;
			if ('error' in outcome) {
				// Limitation 7: "when a live response command fails all the subsequent actions won't be executed".
				cmd.commandStatus = 'Failed';
				cmd.errors = [outcome.error];
				a.status = 'Failed';
				a.errorHResult = outcome.hresult;
				return;
			}
			cmd.commandStatus = 'Completed';
			r.results[i] = outcome.result;
		}
		a.status = 'Succeeded';
	}

	private durationOf(command: LiveResponseCommandInput): number {
		if (command.type === 'RunScript') {
			const scripted = this.scripts.get(param(command, 'ScriptName').toLowerCase());
			if (scripted && scripted !== 'fail' && scripted.durationMs !== undefined) return Math.max(0, scripted.durationMs);
		}
		return this.actions.stepMs;
	}

	/** Runs command i against the library, the device's files and the scripted results as they are now. */
	private execute(r: SessionRecord, i: number): { result: { bytes: Buffer; contentType: string } | null } | { error: string; hresult: number } {
		const forced = r.forcedFailures.get(i);
		if (forced !== undefined) return { error: forced, hresult: HRESULT.fail };
		const command = r.commands[i].command;
		const a = r.action;
		switch (command.type) {
			case 'PutFile': {
				const name = param(command, 'FileName');
				if (!this.files.has(name.toLowerCase())) return { error: `File '${name}' was not found in the live response library.`, hresult: HRESULT.fileNotFound };
				// "Doesn't have a response result."
				return { result: null };
			}
			case 'RunScript': {
				const name = param(command, 'ScriptName');
				const file = this.files.get(name.toLowerCase());
				if (!file) return { error: `Script '${name}' was not found in the live response library.`, hresult: HRESULT.fileNotFound };
				const scripted = this.scripts.get(name.toLowerCase());
				if (scripted === 'fail') return { error: `Script '${file.file.fileName}' failed to run on ${a.computerDnsName}.`, hresult: HRESULT.fail };
				const args = param(command, 'Args');
				const transcript = {
					script_name: file.file.fileName,
					exit_code: scripted?.exit_code ?? 0,
					script_output: scripted?.script_output ?? `Ran ${file.file.fileName}${args ? ` ${args}` : ''} on ${a.computerDnsName} (action ${a.id}, command ${i})\n`,
					script_errors: scripted?.script_errors ?? '',
				};
				return { result: { bytes: Buffer.from(JSON.stringify(transcript), 'utf8'), contentType: 'application/json' } };
			}
			case 'GetFile': {
				const path = param(command, 'Path');
				const machine = this.machines.get(a.machineId);
				const windows = isWindows(machine);
				const wanted = pathKey(path, windows);
				const found = Array.from(this.machineFiles(a.machineId)).find(([p]) => pathKey(p, windows) === wanted);
				if (!found) return { error: `File '${path}' was not found on ${a.computerDnsName}.`, hresult: HRESULT.fileNotFound };
				const name = found[0].split(/[\\/]/).pop() || 'file';
				// The collected file comes zipped: one deflated entry under its own name.
				return { result: { bytes: zip([{ name, data: found[1] }], 'deflate'), contentType: 'application/zip' } };
			}
		}
	}

	/** The result blob of command `index`, once Completed (PutFile has none). */
	result(actionId: string, index: number): { bytes: Buffer; contentType: string } | undefined {
		const record = this.refreshed(actionId);
		return record?.results[index] ?? undefined;
	}

	/**
	 * A download token for command `index` (get-live-response-result.md), or an ApiError: 404 for an unknown action,
	 * an action that is no live response, an index it lacks, or a command without a result (yet).
	 */
	issueLink(actionId: string, index: number): { token: string; expiresMs: number } {
		const action = this.actions.get(actionId);
		if (!action) throw notFound(`Machine action ${actionId} was not found`);
		const record = this.refreshed(actionId);
		if (!record || action.type !== 'LiveResponse') throw notFound(`Machine action ${actionId} is not a live response action`);
		const command = record.commands[index];
		if (!command) throw notFound(`Live response action ${actionId} has no command with index ${index} (it has ${record.commands.length})`);
		if (command.commandStatus !== 'Completed') {
			throw notFound(`Command ${index} (${command.command.type}) of live response action ${actionId} is ${command.commandStatus}; its result is available once Completed`);
		}
		if (!record.results[index]) throw notFound(`Command ${index} (${command.command.type}) of live response action ${actionId} has no result`);
		const token = crypto.randomBytes(18).toString('base64url');
		const expiresMs = this.clock.nowMs() + this.linkTtlMs;
		this.links.set(token, { actionId: record.action.id, index, expiresMs });
		return { token, expiresMs };
	}

	/** The blob behind a download token; `{ expiredMs }` past its lifetime (emulator clock), null when unknown. */
	download(token: string): { bytes: Buffer; contentType: string; name: string } | { expiredMs: number } | null {
		const link = this.links.get(token);
		if (!link) return null;
		if (this.clock.nowMs() >= link.expiresMs) return { expiredMs: link.expiresMs };
		const record = this.sessionsById.get(link.actionId);
		const result = record?.results[link.index];
		if (!record || !result) return null;
		const type = record.commands[link.index].command.type;
		return { ...result, name: type === 'GetFile' ? `${link.actionId}_${link.index}.zip` : `${link.actionId}_${link.index}.json` };
	}
}

// ---------------------------------------------------------------------------------------------
// Routes

/** Azure Blob Storage's answer to a SAS link it does not accept (what the real result links are): 403, XML. */
export function sasRefused(clock: Clock, detail: string): Reply {
	const requestId = crypto.randomUUID();
	return {
		status: 403,
		headers: { 'Content-Type': 'application/xml', 'x-ms-error-code': 'AuthenticationFailed', 'x-ms-request-id': requestId },
		body:
			'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate ' +
			'the request. Make sure the value of Authorization header is formed correctly including the signature.\n' +
			`RequestId:${requestId}\nTime:${clock.now().toISOString()}</Message><AuthenticationErrorDetail>${detail}</AuthenticationErrorDetail></Error>`,
	};
}

export const httpDate = (ms: number) => new Date(ms).toUTCString();

/** Form fields of an upload (upload-library.md: the table spells `File`, its curl example `file`). */
const UPLOAD_FIELDS = ['File', 'Description', 'ParametersDescription', 'HasParameters', 'OverrideIfExists'];

function readUpload(body: unknown): { file: MultipartPart; text: (name: string) => string | undefined; bool: (name: string) => boolean | undefined } {
	if (!(body instanceof MultipartForm)) {
		throw invalid("The request body must be multipart/form-data with a 'file' part (upload-library.md).");
	}
	const fields = new Map<string, MultipartPart>();
	for (const part of body.parts) {
		// Form field names bind case-insensitively (ASP.NET model binding), and the page itself writes both File and file.
		const name = UPLOAD_FIELDS.find((f) => f.toLowerCase() === part.name.toLowerCase());
		if (!name) throw invalid(`'${part.name}' is not a field of a library upload; allowed: ${UPLOAD_FIELDS.join(', ')}.`);
		if (fields.has(name)) throw invalid(`The field '${name}' is given more than once.`);
		fields.set(name, part);
	}
	const file = fields.get('File');
	if (!file) throw missing('file');
	if (file.filename === undefined || file.filename === '') throw invalid("The 'file' field must be a file (Content-Disposition with a filename).");
	const text = (name: string) => fields.get(name)?.data.toString('utf8');
	const bool = (name: string): boolean | undefined => {
		const value = text(name)?.trim();
		// OverrideIfExists: "Default value is an empty string", i.e. not set.
		if (value === undefined || value === '') return undefined;
		if (/^true$/i.test(value)) return true;
		if (/^false$/i.test(value)) return false;
		throw invalid(`'${value}' is not a valid value for '${name}' (true or false).`);
	};
	return { file, text, bool };
}

export function registerLiveResponseRoutes(router: Router, state: EmulatorState): void {
	const { liveResponse, machines, clock } = state;
	const context = (name: string) => `${state.origin()}/api/$metadata#${name}`;

	router.add({
		family: 'mde',
		method: 'POST',
		pattern: '/api/machines/:id/runliveresponse',
		roles: ['Machine.LiveResponse'],
		// Limitation 1: "10 calls per minute (more requests are responded with HTTP 429)".
		limits: LIMITS.liveResponse,
		handler: ({ params, body, auth }) => {
			const machine = machines.get(params.id);
			// "If machine with the specified ID wasn't found, you see 404 Not Found."
			if (!machine) throw notFound(`Machine ${params.id} was not found`);
			const { comment, commands } = readLiveResponseRequest(body);
			const action = liveResponse.start(machine, commands, auth?.appName ?? 'unknown', comment);
			// The page says "returns 201 Created" (its example shows "200 Ok"); 201 as the other action routes.
			return { status: 201, json: { '@odata.context': context('MachineActions/$entity'), ...action } };
		},
	});

	router.add({
		family: 'mde',
		method: 'GET',
		pattern: '/api/machineactions/:id/GetLiveResponseResultDownloadLink(:args)',
		// Application permissions on get-live-response-result.md: Machine.Read.All or Machine.ReadWrite.All.
		roles: ['Machine.Read.All', 'Machine.ReadWrite.All'],
		limits: LIMITS.standard,
		handler: ({ params }) => {
			const m = /^\s*index\s*=\s*(\d+)\s*$/i.exec(params.args);
			if (!m) throw new ApiError(400, 'InvalidInput', `Invalid input '${params.args}': expected (index={command index}).`);
			const { token, expiresMs } = liveResponse.issueLink(params.id, Number(m[1]));
			// Shaped like the page's blob SAS URL (se = expiry, sp=r, sr=b); the token alone is checked.
			const query = `se=${encodeURIComponent(new Date(expiresMs).toISOString().replace(/\.\d+Z$/, 'Z'))}&sp=r&sv=2019-07-07&sr=b`;
			return { status: 200, json: { '@odata.context': context('Edm.String'), value: `${state.origin()}/_download/liveresponse/${token}?${query}` } };
		},
	});

	router.add({
		family: 'download',
		method: 'GET',
		pattern: '/_download/liveresponse/:token',
		handler: ({ params }): Reply => {
			const found = liveResponse.download(params.token);
			if (found && 'expiredMs' in found) {
				// "An expired link can be re-created by another call" (get-live-response-result.md).
				return sasRefused(clock, `Signed expiry time [${httpDate(found.expiredMs)}] must be after signed start time [${httpDate(clock.nowMs())}]`);
			}
			if (!found) return sasRefused(clock, 'Signature did not match.');
			return {
				status: 200,
				headers: { 'Content-Type': found.contentType, 'Content-Disposition': `attachment; filename="${found.name}"`, 'x-ms-blob-type': 'BlockBlob' },
				body: found.bytes,
			};
		},
	});

	// Library: Library.Manage for all three (list-library-files.md, upload-library.md, delete-library.md); 100/min, 1,500/h.
	const library = { family: 'mde' as const, roles: ['Library.Manage'], limits: LIMITS.standard };

	router.add({
		...library,
		method: 'GET',
		pattern: '/api/libraryfiles',
		handler: () => ({ status: 200, json: { '@odata.context': context('LibraryFiles'), value: liveResponse.library() } }),
	});

	router.add({
		...library,
		method: 'POST',
		pattern: '/api/libraryfiles',
		handler: ({ body, auth }) => {
			const { file, text, bool } = readUpload(body);
			const entry = liveResponse.addLibraryFile(file.filename as string, file.data, {
				description: text('Description') ?? null,
				parametersDescription: text('ParametersDescription') || null,
				hasParameters: bool('HasParameters'),
				overrideIfExists: bool('OverrideIfExists'),
				createdBy: auth?.appName,
			});
			// "returns 200 - OK response code and the uploaded live response library entity".
			return { status: 200, json: { '@odata.context': context('LibraryFiles/$entity'), ...entry } };
		},
	});

	router.add({
		...library,
		method: 'DELETE',
		pattern: '/api/libraryfiles/:fileName',
		handler: ({ params }) => {
			if (!liveResponse.removeLibraryFile(params.fileName)) throw notFound(`Library file ${params.fileName} was not found`);
			return { status: 204 };
		},
	});
}
