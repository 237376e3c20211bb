/**
 * Live response (reference §3.1, end of file) as Microsoft documents it in MicrosoftDocs/defender-docs:
 * - defender-endpoint/api/run-live-response.md: `POST /api/machines/{id}/runliveresponse` with
 *   `{ Commands: [{ type, params: [{ key, value }] }], Comment }`; command types PutFile (`FileName`, a library
 *   file), RunScript (`ScriptName`, a library script, and optional `Args`), GetFile (`Path`), "must be in this
 *   order with no limit on repetitions"; 10 calls a minute, 25 concurrent sessions (429 beyond), one session per
 *   machine (400 `ActiveRequestAlreadyExists`), RunScript times out after 10 minutes, an offline device's session
 *   is queued up to three days, and "when a live response command fails all the subsequent actions won't be
 *   executed". Permission Machine.LiveResponse. Answers a MachineAction of type LiveResponse whose `commands[]`
 *   hold `index`, `commandStatus` (Created, Completed, Failed), `errors` and the `command` sent.
 * - defender-endpoint/api/get-live-response-result.md: `GET /api/machineactions/{id}/
 *   GetLiveResponseResultDownloadLink(index={i})` → `{ value: <link> }`, valid 30 minutes; "an expired link can be
 *   re-created by another call". A RunScript result is JSON (`script_name`, `exit_code`, `script_output`,
 *   `script_errors`); a GetFile result is the collected file. Permission Machine.Read.All or Machine.ReadWrite.All.
 * - defender-endpoint/api/list-library-files.md, upload-library.md, delete-library.md: `GET /api/libraryfiles`,
 *   `POST /api/libraryfiles` (multipart/form-data: file, Description, ParametersDescription, HasParameters,
 *   OverrideIfExists; 20 MB at most), `DELETE /api/libraryfiles/{fileName}` (204, 404 when not found); permission
 *   Library.Manage.
 * - defender-endpoint/api/machineaction.md: `commands` on the MachineAction entity.
 */
import type { IBinaryData, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import {
	DefenderApiError,
	InvalidInputError,
	pathId,
	sendDefenderRequest,
	type TransportContext,
} from '../transport';
import { downloadFromLink } from './download';
import type { MachineAction } from './machineActions';
import { requireText } from './validation';

export const LIVE_RESPONSE_COMMAND_TYPES = ['PutFile', 'RunScript', 'GetFile'] as const;
export type LiveResponseCommandType = (typeof LIVE_RESPONSE_COMMAND_TYPES)[number];

/** One command as the API takes it (keys are case-sensitive). */
export interface LiveResponseCommand {
	type: LiveResponseCommandType;
	params: Array<{ key: string; value: string }>;
}

/** One entry of a LiveResponse action's `commands`, as the API returns it. */
export interface LiveResponseCommandEntry extends IDataObject {
	index: number;
	commandStatus: string;
	errors: unknown[];
	command: { type: string; params: Array<{ key: string; value: string }> } & IDataObject;
}

/** The library's size limit, "File max size limitation is 20MB" (upload-library.md), as 20 × 1024 × 1024 bytes. */
export const LIBRARY_MAX_BYTES = 20 * 1024 * 1024;

export const LIVE_RESPONSE_PERMISSION = 'Machine.LiveResponse';
export const LIBRARY_PERMISSION = 'Library.Manage';
export const RESULT_PERMISSION = 'Machine.Read.All or Machine.ReadWrite.All';

/** A command from the node's Commands parameter (one row of the fixed collection). */
export interface CommandInput {
	type?: unknown;
	fileName?: unknown;
	scriptName?: unknown;
	args?: unknown;
	path?: unknown;
}

/**
 * A name in the live response library: a Windows file name (no `\ / : * ? " < > |`, no control characters), as
 * PutFile's FileName, RunScript's ScriptName, an upload's file name and Delete's path segment use it.
 */
export function validateLibraryFileName(value: unknown, field: string): string {
	const name = requireText(value, field);
	// eslint-disable-next-line no-control-regex
	if (/[\\/:*?"<>|\u0000-\u001f\u007f%#]/.test(name) || name === '.' || name === '..' || name.length > 255) {
		throw new InvalidInputError(
			`${field} "${name.slice(0, 80)}" is not a live response library file name: give the file's name as the library lists it (e.g. collect.ps1), without a folder and without \\ / : * ? " < > | % #.`,
		);
	}
	return name;
}

const ORDER: Record<LiveResponseCommandType, number> = { PutFile: 0, RunScript: 1, GetFile: 2 };

/** The fixed collection's rows: `{ command: [...] }` from the editor, or a plain array from an expression. */
export function commandRows(raw: unknown): CommandInput[] {
	if (Array.isArray(raw)) return raw as CommandInput[];
	if (raw && typeof raw === 'object') {
		const rows = (raw as { command?: unknown }).command;
		if (Array.isArray(rows)) return rows as CommandInput[];
		if (rows && typeof rows === 'object') return [rows as CommandInput];
	}
	return [];
}

/**
 * The Commands parameter as the API's `Commands`, validated before anything is sent: every command names its
 * library file, script or path, and the commands come in the order the API requires (all PutFile, then all
 * RunScript, then all GetFile: run-live-response.md, "must be in this order"). They are not reordered: a GetFile
 * placed before a RunScript usually means the file is wanted before the script changes it, which Defender cannot
 * do in one request, so the user decides.
 */
export function buildCommands(raw: unknown): LiveResponseCommand[] {
	const rows = commandRows(raw);
	if (!rows.length) {
		throw new InvalidInputError('Commands is empty. Add at least one command (Put File, Run Script or Get File).');
	}
	const commands = rows.map((row, i) => {
		const label = `Command ${i + 1}`;
		const type = String(row.type ?? '').trim();
		if (!LIVE_RESPONSE_COMMAND_TYPES.includes(type as LiveResponseCommandType)) {
			throw new InvalidInputError(`${label}: type "${type.slice(0, 40)}" is not one of PutFile, RunScript, GetFile.`);
		}
		switch (type as LiveResponseCommandType) {
			case 'PutFile':
				return {
					type: 'PutFile',
					params: [{ key: 'FileName', value: validateLibraryFileName(row.fileName, `${label} (Put File): File Name`) }],
				} satisfies LiveResponseCommand;
			case 'RunScript': {
				const params = [{ key: 'ScriptName', value: validateLibraryFileName(row.scriptName, `${label} (Run Script): Script Name`) }];
				const args = typeof row.args === 'string' ? row.args.trim() : row.args === undefined || row.args === null ? '' : String(row.args);
				if (args) params.push({ key: 'Args', value: args });
				return { type: 'RunScript', params } satisfies LiveResponseCommand;
			}
			case 'GetFile': {
				// The path is sent as a JSON string, so its backslashes are escaped by the serialisation (the doc's
				// "Backslashes in path must be escaped" is about the JSON text): C:\Temp\x.zip is entered as it is.
				const path = requireText(row.path, `${label} (Get File): Path`);
				// eslint-disable-next-line no-control-regex
				if (/[\u0000-\u001f]/.test(path) || path.length > 1024) {
					throw new InvalidInputError(`${label} (Get File): Path "${path.slice(0, 80)}" is not a file path.`);
				}
				return { type: 'GetFile', params: [{ key: 'Path', value: path }] } satisfies LiveResponseCommand;
			}
		}
	}) as LiveResponseCommand[];
	for (let i = 1; i < commands.length; i++) {
		if (ORDER[commands[i].type] < ORDER[commands[i - 1].type]) {
			throw new InvalidInputError(
				`Command ${i + 1} (${commands[i].type}) comes after command ${i} (${commands[i - 1].type}), but Defender runs the commands of one request only in the order PutFile, RunScript, GetFile (any number of each). Reorder the commands, or split them into two Run Live Response steps.`,
			);
		}
	}
	return commands;
}

/** Whether a LiveResponse action's `commands` are the ones sent (when the action lists them; else it may be). */
export function sameCommands(action: MachineAction, sent: LiveResponseCommand[]): boolean {
	const listed = action.commands;
	if (!Array.isArray(listed) || !listed.length) return true;
	if (listed.length !== sent.length) return false;
	return (listed as LiveResponseCommandEntry[]).every((entry, i) => {
		const command = entry?.command;
		if (!command || typeof command !== 'object') return true;
		if (command.type !== sent[i].type) return false;
		const params = Array.isArray(command.params) ? command.params : [];
		const value = (key: string, list: Array<{ key: string; value: string }>) => list.find((p) => p?.key === key)?.value ?? '';
		return sent[i].params.every((p) => value(p.key, params) === p.value);
	});
}

/** `value` of a command's params. */
export function commandParam(entry: LiveResponseCommandEntry | undefined, key: string): string | undefined {
	const params = entry?.command?.params;
	if (!Array.isArray(params)) return undefined;
	const found = params.find((p) => p?.key === key)?.value;
	return found === undefined || found === null ? undefined : String(found);
}

/** The file name a GetFile result is saved under: the collected file's name (Windows or POSIX path), as a zip. */
export function resultFileName(path: string | undefined, actionId: string, index: number): string {
	const base = (path ?? '').split(/[\\/]/).filter(Boolean).pop()?.replace(/[^\w.() -]/g, '_') ?? '';
	if (!base) return `live-response-${actionId}-${index}.zip`;
	return /\.zip$/i.test(base) ? base : `${base}.zip`;
}

/**
 * The 403 of a live response or library call, saying which application permission it needs (the emulator and
 * Defender name only "missing application permission").
 */
export function withPermissionHint(error: unknown, permission: string, what: string): unknown {
	if (error instanceof DefenderApiError && error.status === 403) {
		return error.withMessage(
			`${error.message}${/[.!]$/.test(error.message) ? '' : '.'} ${what} needs the WindowsDefenderATP application permission ${permission}, with admin consent.`,
		);
	}
	return error;
}

/** GET …/GetLiveResponseResultDownloadLink(index=i) → the result's short-lived download link. */
export async function getResultLink(transport: TransportContext, actionId: string, index: number): Promise<string> {
	if (!Number.isInteger(index) || index < 0 || index > 10_000) {
		throw new InvalidInputError(`Command Index ${String(index)} is not a command index (0, 1, 2, …).`);
	}
	let response;
	try {
		response = await sendDefenderRequest(transport, {
			method: 'GET',
			// The documented OData function call; the id went through pathId and the index is an integer.
			path: `/api/machineactions/${pathId(actionId, 'Machine Action ID')}/GetLiveResponseResultDownloadLink(index=${index})`,
		});
	} catch (error) {
		throw withPermissionHint(error, RESULT_PERMISSION, 'Reading a live response result');
	}
	return String((response.body as { value?: unknown })?.value ?? '');
}

const LINK_REQUESTS = 3;

/** Why a download failed, for the error. */
export class ResultDownloadError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ResultDownloadError';
	}
}

/**
 * Downloads the result of command `index` of live response action `actionId`. The link is a storage SAS URL:
 * fetched with n8n's HTTP client and without the bearer token, which must not leave for the storage host (as the
 * investigation package download). A link refused with a 4xx (expired: it is valid 30 minutes) is asked for again,
 * up to three links; a 5xx or dropped connection is retried on the same link.
 */
export async function downloadResult(
	context: IExecuteFunctions,
	transport: TransportContext,
	actionId: string,
	index: number,
): Promise<Buffer> {
	let lastProblem = '';
	for (let link = 1; link <= LINK_REQUESTS; link++) {
		const raw = await getResultLink(transport, actionId, index);
		let url: URL;
		try {
			url = new URL(raw);
			if (url.protocol !== 'https:') throw new Error('not https');
		} catch {
			throw new ResultDownloadError(
				`Defender returned no usable download link for command ${index} of live response action ${actionId}`,
			);
		}
		// A 5xx or dropped connection is retried on this link inside downloadFromLink; whatever it ended with (a 4xx
		// above all: the link expired or is wrong), a fresh link may work where the same one will not.
		const result = await downloadFromLink(context, url);
		if (result.ok) return result.data;
		if ('status' in result) {
			lastProblem = `HTTP ${result.status}`;
		} else {
			// The query string holds the SAS signature: never put the URL in a message.
			const error = result.error;
			lastProblem = `no response (${String((error as { code?: string }).code ?? (error as Error).message ?? error).slice(0, 120)})`;
		}
	}
	throw new ResultDownloadError(
		`Downloading the result of command ${index} of live response action ${actionId} failed: ${lastProblem}`,
	);
}

/** The RunScript transcript fields (get-live-response-result.md). */
export interface ScriptResult extends IDataObject {
	script_name: string | null;
	exit_code: number | null;
	script_output: string;
	script_errors: string;
}

export function parseScriptResult(data: Buffer, actionId: string, index: number): ScriptResult {
	let text = data.toString('utf8');
	if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		throw new ResultDownloadError(
			`The result of command ${index} of live response action ${actionId} is not the RunScript transcript Defender documents (JSON with script_name, exit_code, script_output, script_errors)`,
		);
	}
	const result = (parsed && typeof parsed === 'object' ? parsed : {}) as IDataObject;
	const exit = result.exit_code;
	return {
		script_name: result.script_name === undefined || result.script_name === null ? null : String(result.script_name),
		exit_code: typeof exit === 'number' ? exit : exit === undefined || exit === null || exit === '' ? null : Number(exit),
		script_output: result.script_output === undefined || result.script_output === null ? '' : String(result.script_output),
		script_errors: result.script_errors === undefined || result.script_errors === null ? '' : String(result.script_errors),
	};
}

/** One command's result as the node outputs it: JSON fields for RunScript, n8n binary data for GetFile. */
export interface CommandResult {
	/** Fields added to the command's entry. */
	json: IDataObject;
	binary?: IBinaryData;
}

/**
 * Fetches and shapes the result of one Completed command. PutFile has none (run-live-response.md: "Doesn't have
 * a response result").
 */
export async function fetchCommandResult(
	context: IExecuteFunctions,
	transport: TransportContext,
	actionId: string,
	entry: LiveResponseCommandEntry,
	binaryPropertyName: string,
): Promise<CommandResult | undefined> {
	const type = entry.command?.type;
	const index = Number(entry.index);
	if (type === 'RunScript') {
		return { json: { ...parseScriptResult(await downloadResult(context, transport, actionId, index), actionId, index) } };
	}
	if (type === 'GetFile') {
		const data = await downloadResult(context, transport, actionId, index);
		const fileName = resultFileName(commandParam(entry, 'Path'), actionId, index);
		const binary = await context.helpers.prepareBinaryData(data, fileName, 'application/zip');
		return { json: { binaryPropertyName, fileName, fileSize: data.length }, binary };
	}
	return undefined;
}
