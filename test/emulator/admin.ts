/**
 * Admin HTTP API under `/_emulator/...` (JSON in/out, no auth): the in-process handle, over HTTP,
 * for the CLI and out-of-process tests. Every route delegates to the handle.
 */
import type { AlertInput, SeedOptions } from './alerts';
import { BodyReader } from './body';
import { ApiError } from './errors';
import { FAULT_KINDS, type FaultKind } from './faults';
import type { IncidentPatch } from './incidents';
import type { Emulator } from './index';
import { API_PROFILES, type ApiProfile } from './profiles';
import type { Router } from './router';
import { MACHINE_ACTION_TYPES, type MachineActionOutcome, type MachineActionType } from './types';

const OUTCOMES: MachineActionOutcome[] = ['Succeeded', 'Failed', 'TimeOut', 'Stuck'];

/** A regex sent as a string ("GET /api/alerts") or as {source, flags}. */
function toRegExp(value: unknown): RegExp | undefined {
	if (value === undefined || value === null) return undefined;
	if (typeof value === 'string') return new RegExp(value);
	if (typeof value === 'object' && typeof (value as { source?: unknown }).source === 'string') {
		const { source, flags } = value as { source: string; flags?: string };
		return new RegExp(source, flags ?? '');
	}
	throw new ApiError(400, 'BadRequest', "'match' must be a regular expression string.");
}

function faultKinds(value: unknown): FaultKind[] | undefined {
	if (value === undefined) return undefined;
	if (!Array.isArray(value) || value.some((k) => !FAULT_KINDS.includes(k as FaultKind))) {
		throw new ApiError(400, 'BadRequest', `'kinds' must be an array of ${FAULT_KINDS.join(', ')}.`);
	}
	return value as FaultKind[];
}

const num = (value: unknown): number | undefined => (value === undefined || value === null ? undefined : Number(value));

export function registerAdminRoutes(router: Router, emu: Emulator): void {
	const add = (method: string, pattern: string, handler: Parameters<Router['add']>[0]['handler']) =>
		router.add({ method, pattern: `/_emulator${pattern}`, family: 'admin', handler });
	const ok = (json: unknown, status = 200) => ({ status, json });
	const obj = (body: unknown) => new BodyReader(body, 'BadRequest').obj;

	add('GET', '/info', () =>
		ok({
			url: emu.url,
			caCertPath: emu.caCertPath,
			tenantId: emu.tenantId,
			client: emu.client,
			authority: `${emu.url}/${emu.tenantId}`,
			now: emu.clock.now().toISOString(),
			apiProfile: emu.apiProfile,
		}),
	);

	// API profile of the alert list endpoints
	const profile = () => ok({ profile: emu.apiProfile, profiles: API_PROFILES });
	add('GET', '/profile', profile);
	add('PUT', '/profile', ({ body }) => {
		const name = new BodyReader(body, 'BadRequest').only(['profile']).requiredString('profile');
		try {
			emu.setApiProfile(name as ApiProfile);
		} catch (error) {
			// Unknown name: the message lists the valid ones.
			throw new ApiError(400, 'BadRequest', (error as Error).message);
		}
		return profile();
	});

	// Alerts
	add('GET', '/alerts', () => ok({ value: emu.alerts.all() }));
	add('GET', '/alerts/:id', ({ params }) => {
		const alert = emu.alerts.get(params.id);
		if (!alert) throw new ApiError(404, 'NotFound', `Alert ${params.id} does not exist.`);
		return ok({ ...alert, history: emu.alerts.history(params.id).map((h) => ({ lastUpdateTime: h.alert.lastUpdateTime, status: h.alert.status, visibleAt: h.visibleAt })) });
	});
	add('POST', '/alerts', ({ body }) => {
		const { alert, visibleAt, ...rest } = obj(body);
		const partial = (alert ?? rest) as AlertInput;
		return ok(emu.alerts.create(partial, { visibleAt: visibleAt as string | undefined }), 201);
	});
	add('PATCH', '/alerts/:id', ({ params, body }) => {
		const { patch, at, visibleAt, ...rest } = obj(body);
		if (!emu.alerts.get(params.id)) throw new ApiError(404, 'NotFound', `Alert ${params.id} does not exist.`);
		return ok(emu.alerts.update(params.id, (patch ?? rest) as AlertInput, { at: at as string | undefined, visibleAt: visibleAt as string | undefined }));
	});
	add('POST', '/alerts/seed', ({ body }) => {
		const b = obj(body);
		const count = num(b.count ?? b.n) ?? 50;
		const seeded = emu.alerts.seed(count, b as SeedOptions);
		return ok({ count: seeded.length, firstId: seeded[0]?.id ?? null, lastId: seeded[seeded.length - 1]?.id ?? null }, 201);
	});

	// Incidents (derived from the alerts; updates and comments as the handle makes them)
	const incident = (id: string) => {
		const found = emu.incidents.get(id);
		if (!found) throw new ApiError(404, 'NotFound', `Incident ${id} is not visible (no visible alert has incidentId ${id}).`);
		return found;
	};
	const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
	add('GET', '/incidents', () => ok({ value: emu.incidents.list() }));
	add('GET', '/incidents/:id', ({ params }) => ok({ ...incident(params.id), alertIds: emu.incidents.alerts(params.id).map((a) => a.id) }));
	add('PATCH', '/incidents/:id', ({ params, body }) => {
		const { patch, at, by, ...rest } = obj(body);
		const updated = emu.incidents.update(params.id, (patch ?? rest) as IncidentPatch, { at: str(at), by: str(by) });
		return ok(updated ?? null);
	});
	add('POST', '/incidents/:id/comments', ({ params, body }) => {
		const { comment, at, by } = obj(body);
		return ok({ value: emu.incidents.comment(params.id, String(comment ?? ''), { at: str(at), by: str(by) }) }, 201);
	});
	add('POST', '/incidents/:id/alerts', ({ params, body }) => {
		const { alert, visibleAt, ...rest } = obj(body);
		return ok(emu.incidents.createAlert(params.id, (alert ?? rest) as AlertInput, { visibleAt: str(visibleAt) }), 201);
	});

	// Machines and actions
	add('GET', '/machines', () => ok({ value: emu.machines.all() }));
	add('POST', '/machines', ({ body }) => ok(emu.machines.create(obj(body)), 201));
	add('POST', '/machines/seed', ({ body }) => ok({ value: emu.machines.seed(num(obj(body).count) ?? 10) }, 201));
	add('GET', '/machineActions', () => ok({ value: emu.machineActions.all() }));
	add('POST', '/machineActions/script', ({ body }) => {
		const b = new BodyReader(body, 'BadRequest');
		const machineId = b.requiredString('machineId');
		const type = b.enumValue('type', MACHINE_ACTION_TYPES, { required: true }) as MachineActionType;
		const outcome = b.enumValue('outcome', OUTCOMES, { required: true }) as MachineActionOutcome;
		emu.machineActions.script(machineId, type, outcome);
		return ok({ machineId, type, outcome });
	});
	add('GET', '/packages/:actionId', ({ params }) => ({
		status: 200,
		headers: { 'Content-Type': 'application/zip' },
		body: emu.packageBytes(params.actionId),
	}));

	// Live response: library, device files, script results, failing commands, sessions, result bytes, link lifetime
	const lr = emu.liveResponse;
	add('GET', '/liveResponse/library', () => ok({ value: lr.library() }));
	add('POST', '/liveResponse/library', ({ body }) => {
		const b = new BodyReader(body, 'BadRequest').only(['fileName', 'content', 'contentBase64', 'description', 'parametersDescription', 'hasParameters', 'overrideIfExists']);
		const fileName = b.requiredString('fileName');
		const text = b.string('content');
		const base64 = b.string('contentBase64');
		if ((typeof text === 'string') === (typeof base64 === 'string')) throw new ApiError(400, 'BadRequest', "Give exactly one of 'content' (UTF-8 text) and 'contentBase64'.");
		const bytes = typeof base64 === 'string' ? Buffer.from(base64, 'base64') : Buffer.from(text as string, 'utf8');
		const file = lr.addLibraryFile(fileName, bytes, {
			description: b.string('description', { nullable: true }),
			parametersDescription: b.string('parametersDescription', { nullable: true }),
			hasParameters: b.boolean('hasParameters'),
			overrideIfExists: b.boolean('overrideIfExists'),
		});
		return ok(file, 201);
	});
	add('GET', '/liveResponse/library/:fileName', ({ params }) => {
		const bytes = lr.libraryFileBytes(params.fileName);
		if (!bytes) throw new ApiError(404, 'NotFound', `Library file ${params.fileName} does not exist.`);
		return { status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: bytes };
	});
	add('DELETE', '/liveResponse/library/:fileName', ({ params }) => {
		if (!lr.removeLibraryFile(params.fileName)) throw new ApiError(404, 'NotFound', `Library file ${params.fileName} does not exist.`);
		return { status: 204 };
	});
	add('GET', '/liveResponse/machines/:machineId/files', ({ params }) =>
		ok({ files: Object.fromEntries(Object.entries(lr.machineFiles(params.machineId)).map(([p, bytes]) => [p, bytes.toString('base64')])), encoding: 'base64' }),
	);
	add('PUT', '/liveResponse/machines/:machineId/files', ({ params, body }) => {
		const b = new BodyReader(body, 'BadRequest').only(['files', 'encoding']);
		const encoding = (b.enumValue('encoding', ['utf8', 'base64']) ?? 'utf8') as BufferEncoding;
		const files = b.obj.files;
		if (!files || typeof files !== 'object' || Array.isArray(files) || Object.values(files).some((v) => typeof v !== 'string')) {
			throw new ApiError(400, 'BadRequest', "'files' must be an object of path → content (string, in 'encoding').");
		}
		lr.setMachineFiles(params.machineId, Object.fromEntries(Object.entries(files as Record<string, string>).map(([p, v]) => [p, Buffer.from(v, encoding)])));
		return ok({ files: Object.keys(files) });
	});
	add('PUT', '/liveResponse/scripts/:scriptName', ({ params, body }) => {
		const b = new BodyReader(body, 'BadRequest').only(['fail', 'exit_code', 'script_output', 'script_errors', 'durationMs']);
		if (b.boolean('fail') === true) lr.setScriptResult(params.scriptName, 'fail');
		else {
			lr.setScriptResult(params.scriptName, {
				exit_code: num(b.obj.exit_code) ?? 0,
				script_output: b.string('script_output') ?? '',
				script_errors: b.string('script_errors') ?? '',
				durationMs: num(b.obj.durationMs),
			});
		}
		return ok({ scriptName: params.scriptName });
	});
	add('DELETE', '/liveResponse/scripts/:scriptName', ({ params }) => {
		lr.setScriptResult(params.scriptName, undefined);
		return { status: 204 };
	});
	add('GET', '/liveResponse/sessions', () => ok({ value: lr.sessions() }));
	add('POST', '/liveResponse/sessions/:actionId/commands/:index/fail', ({ params, body }) => {
		const message = new BodyReader(body, 'BadRequest').only(['message']).string('message') ?? undefined;
		lr.failCommand(params.actionId, Number(params.index), message);
		return ok({ actionId: params.actionId, index: Number(params.index) });
	});
	add('GET', '/liveResponse/results/:actionId/:index', ({ params }) => {
		const bytes = lr.resultBytes(params.actionId, Number(params.index));
		if (!bytes) throw new ApiError(404, 'NotFound', `Command ${params.index} of ${params.actionId} has no result (yet).`);
		return { status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: bytes };
	});
	add('GET', '/liveResponse/linkTtl', () => ok({ ms: lr.linkTtlMs }));
	add('PUT', '/liveResponse/linkTtl', ({ body }) => {
		lr.linkTtlMs = num(new BodyReader(body, 'BadRequest').only(['ms']).obj.ms) ?? NaN;
		return ok({ ms: lr.linkTtlMs });
	});

	// Faults
	add('POST', '/faults', ({ body }) => {
		const b = obj(body);
		if (!FAULT_KINDS.includes(b.kind as FaultKind)) throw new ApiError(400, 'BadRequest', `'kind' must be one of ${FAULT_KINDS.join(', ')}.`);
		emu.faults.inject({
			kind: b.kind as FaultKind,
			count: num(b.count),
			retryAfterSeconds: num(b.retryAfterSeconds),
			delayMs: num(b.delayMs),
			match: toRegExp(b.match),
			after: b.after === true,
		});
		return ok({ pending: emu.faults.pending() }, 201);
	});
	add('POST', '/faults/random', ({ body }) => {
		const b = obj(body);
		emu.faults.random({
			rate: num(b.rate) ?? 0.1,
			kinds: faultKinds(b.kinds),
			seed: num(b.seed),
			retryAfterSeconds: num(b.retryAfterSeconds),
			delayMs: num(b.delayMs),
			match: toRegExp(b.match),
		});
		return ok({ random: true }, 201);
	});
	const expandFailure = () => ok({ enabled: emu.faults.incidentExpandFailure });
	add('GET', '/faults/incidentExpand', expandFailure);
	add('PUT', '/faults/incidentExpand', ({ body }) => {
		const enabled = new BodyReader(body, 'BadRequest').only(['enabled']).boolean('enabled');
		if (enabled === undefined) throw new ApiError(400, 'BadRequest', "'enabled' (true or false) is required.");
		emu.faults.setIncidentExpandFailure(enabled);
		return expandFailure();
	});
	add('DELETE', '/faults', () => {
		emu.faults.clear();
		return { status: 204 };
	});

	// Stats, log, rate limits
	add('GET', '/stats', () => ok(emu.stats()));
	add('DELETE', '/stats', () => {
		emu.resetStats();
		return { status: 204 };
	});
	add('POST', '/stats/reset', () => {
		emu.resetStats();
		return { status: 204 };
	});
	add('GET', '/requests', ({ query }) => {
		const limit = num(query.limit) ?? 1000;
		return ok({ value: emu.requestLog.slice(-limit) });
	});
	add('GET', '/ratelimit', ({ query }) => {
		if (!query.key) throw new ApiError(400, 'BadRequest', "The 'key' query parameter is required (e.g. 'GET /api/alerts').");
		const windowMs = num(query.windowMs) ?? 60000;
		return ok({ key: query.key, windowMs, max: emu.maxInWindow(query.key, windowMs) });
	});
	add('POST', '/ratelimit', ({ body }) => {
		const b = obj(body);
		emu.setRateLimits(Boolean(b.enabled), num(b.timeScale));
		return ok({ enabled: Boolean(b.enabled) });
	});

	// Directory
	add('POST', '/clients', ({ body }) => {
		const b = new BodyReader(body, 'BadRequest').only(['clientId', 'clientSecret', 'certificatePem', 'roles', 'secretExpired', 'displayName']);
		return ok(
			emu.addClient({
				clientId: b.string('clientId') ?? undefined,
				clientSecret: b.string('clientSecret') ?? undefined,
				certificatePem: b.string('certificatePem') ?? undefined,
				roles: b.stringArray('roles'),
				secretExpired: b.boolean('secretExpired'),
				displayName: b.string('displayName') ?? undefined,
			}),
			201,
		);
	});
	add('POST', '/tenants', ({ body }) => ok({ tenantId: emu.addTenant(new BodyReader(body, 'BadRequest').requiredString('id')) }, 201));

	// Clock
	add('GET', '/clock', () => ok({ now: emu.clock.now().toISOString() }));
	add('POST', '/clock/advance', ({ body }) => {
		const ms = num(obj(body).ms);
		if (ms === undefined || !Number.isFinite(ms)) throw new ApiError(400, 'BadRequest', "'ms' must be a number.");
		return ok({ now: emu.clock.advance(ms).toISOString() });
	});
}
