/** Custom threat-intelligence indicators (reference §3.4). */
import { isIP } from 'node:net';
import { BodyReader } from './body';
import { Clock, normalizeTimestamp } from './clock';
import { RBAC_GROUPS } from './data';
import { ApiError, notFound } from './errors';
import { field, listItems, MDE_DIALECT, type EntitySchema } from './odata';
import { LIMITS } from './ratelimit';
import type { AuthInfo, Router } from './router';
import type { EmulatorState } from './state';
import { INDICATOR_ACTIONS, INDICATOR_SEVERITIES, INDICATOR_TYPES, type Indicator } from './types';

const MAX_ACTIVE_INDICATORS = 15000;
const MAX_BATCH = 500;
const BODY_KEYS = [
	'indicatorValue',
	'indicatorType',
	'action',
	'application',
	'title',
	'description',
	'expirationTime',
	'severity',
	'recommendedActions',
	'rbacGroupNames',
	'educateUrl',
	'generateAlert',
];
const FILE_TYPES = ['FileSha1', 'FileSha256', 'FileMd5', 'CertificateThumbprint'];
const HASH_LENGTH: Record<string, number> = { FileSha1: 40, FileSha256: 64, FileMd5: 32, CertificateThumbprint: 40 };
const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

type IndicatorInput = Omit<
	Indicator,
	'id' | 'source' | 'sourceType' | 'createdBy' | 'createdByDisplayName' | 'createdBySource' | 'creationTimeDateTimeUtc' | 'lastUpdateTime' | 'lastUpdatedBy' | 'externalID' | 'mitreTechniques' | 'category'
>;

/** Validates a submitted indicator; throws 400 with the specific MDE error code. */
export function readIndicator(body: unknown, clock: Clock): IndicatorInput {
	const b = new BodyReader(body).only(BODY_KEYS);
	const indicatorType = b.enumValue('indicatorType', INDICATOR_TYPES, { required: true }) as string;
	const indicatorValue = b.requiredString('indicatorValue').trim();
	const action = b.enumValue('action', INDICATOR_ACTIONS, { required: true }) as string;
	const title = b.requiredString('title', 500);
	const description = b.requiredString('description', 10000);
	const generateAlert = b.boolean('generateAlert') ?? false;

	if (indicatorType in HASH_LENGTH) {
		if (!new RegExp(`^[0-9a-fA-F]{${HASH_LENGTH[indicatorType]}}$`).test(indicatorValue)) {
			throw new ApiError(400, 'InvalidHashValue', `'${indicatorValue}' is not a valid ${indicatorType} value.`);
		}
	} else if (indicatorType === 'IpAddress') {
		if (!isIP(indicatorValue)) {
			throw new ApiError(400, 'InvalidIpAddress', `'${indicatorValue}' is not a valid IP address (CIDR ranges are not supported).`);
		}
	} else if (indicatorType === 'DomainName') {
		if (!DOMAIN_RE.test(indicatorValue)) throw new ApiError(400, 'InvalidDomainName', `'${indicatorValue}' is not a valid domain name.`);
	} else if (indicatorType === 'Url') {
		let ok = false;
		try {
			const url = new URL(indicatorValue.includes('://') ? indicatorValue : `http://${indicatorValue}`);
			ok = (url.protocol === 'http:' || url.protocol === 'https:') && DOMAIN_RE.test(url.hostname);
		} catch {
			ok = false;
		}
		if (!ok) throw new ApiError(400, 'InvalidUrl', `'${indicatorValue}' is not a valid URL.`);
	}
	if (action === 'Audit' && !generateAlert) throw b.error("The 'Audit' action requires 'generateAlert' to be true.");
	if (action === 'BlockAndRemediate' && !FILE_TYPES.includes(indicatorType)) {
		throw b.error(`The 'BlockAndRemediate' action is only supported for file and certificate indicators.`);
	}

	const rawExpiration = b.string('expirationTime', { nullable: true });
	let expirationTime: string | null = null;
	if (rawExpiration) {
		expirationTime = normalizeTimestamp(rawExpiration);
		if (!expirationTime) throw b.error(`'${rawExpiration}' is not a valid value for 'expirationTime'.`);
		if (expirationTime <= clock.nowTimestamp()) throw b.error("'expirationTime' must be in the future.");
	}
	const rbacGroupNames = b.stringArray('rbacGroupNames') ?? [];
	const rbacGroupIds = rbacGroupNames.map((name) => {
		const group = RBAC_GROUPS.find((g) => g.name.toLowerCase() === name.toLowerCase());
		if (!group) throw b.error(`Device group '${name}' was not found.`);
		return group.id;
	});
	return {
		indicatorValue,
		indicatorType,
		action,
		application: b.string('application', { nullable: true }) ?? null,
		title,
		description,
		expirationTime,
		severity: (b.enumValue('severity', INDICATOR_SEVERITIES) as string | undefined) ?? 'Informational',
		recommendedActions: b.string('recommendedActions', { nullable: true }) ?? null,
		rbacGroupNames,
		rbacGroupIds,
		generateAlert,
		educateUrl: b.string('educateUrl', { nullable: true }) ?? null,
	};
}

export class IndicatorStore {
	private readonly byId = new Map<string, Indicator>();
	private nextId = 1;

	constructor(private readonly clock: Clock) {}

	/** Creates, or updates the indicator with the same type and value (the API's "submit or update"). */
	upsert(input: IndicatorInput, by: AuthInfo): Indicator {
		const now = this.clock.stamp();
		const existing = this.all().find(
			(i) => i.indicatorType === input.indicatorType && i.indicatorValue.toLowerCase() === input.indicatorValue.toLowerCase(),
		);
		if (existing) {
			const updated: Indicator = { ...existing, ...input, lastUpdateTime: now, lastUpdatedBy: by.clientId };
			this.byId.set(existing.id, updated);
			return updated;
		}
		if (this.byId.size >= MAX_ACTIVE_INDICATORS) {
			throw new ApiError(400, 'BadRequest', `The tenant reached the maximum of ${MAX_ACTIVE_INDICATORS} active indicators.`);
		}
		const indicator: Indicator = {
			id: String(this.nextId++),
			...input,
			source: by.appName,
			sourceType: 'AadApp',
			createdBy: by.clientId,
			createdByDisplayName: by.appName,
			createdBySource: 'PublicApi',
			creationTimeDateTimeUtc: now,
			lastUpdateTime: now,
			lastUpdatedBy: by.clientId,
			externalID: null,
			mitreTechniques: [],
			category: null,
		};
		this.byId.set(indicator.id, indicator);
		return indicator;
	}

	clear(): void {
		this.byId.clear();
		this.nextId = 1;
	}

	delete(id: string): boolean {
		return this.byId.delete(id);
	}

	all(): Indicator[] {
		return Array.from(this.byId.values());
	}
}

export const indicatorSchema: EntitySchema<Indicator> = {
	typeName: 'microsoft.windowsDefenderATP.api.Indicator',
	keyField: 'id',
	fields: {
		id: field.string((i) => i.id),
		application: field.string((i) => i.application),
		createdByDisplayName: field.string((i) => i.createdByDisplayName),
		expirationTime: field.datetime((i) => i.expirationTime),
		generateAlert: field.boolean((i) => i.generateAlert),
		title: field.string((i) => i.title),
		rbacGroupNames: field.collection('string', (i) => i.rbacGroupNames),
		rbacGroupIds: field.collection('number', (i) => i.rbacGroupIds),
		indicatorValue: field.string((i) => i.indicatorValue),
		indicatorType: field.enum(INDICATOR_TYPES, (i) => i.indicatorType),
		creationTimeDateTimeUtc: field.datetime((i) => i.creationTimeDateTimeUtc),
		createdBy: field.string((i) => i.createdBy),
		action: field.enum(INDICATOR_ACTIONS, (i) => i.action),
		severity: field.enum(INDICATOR_SEVERITIES, (i) => i.severity),
	},
};

const TI_WRITE_ROLES = ['Ti.ReadWrite', 'Ti.ReadWrite.All'];

export function registerIndicatorRoutes(router: Router, state: EmulatorState): void {
	const { indicators, clock } = state;
	const context = (name: string) => `${state.origin()}/api/$metadata#${name}`;
	const mde = { family: 'mde' as const, limits: LIMITS.standard };
	const principal = (auth: AuthInfo | undefined): AuthInfo => {
		if (!auth) throw new ApiError(401, 'Unauthorized', 'Authorization has been denied for this request.');
		return auth;
	};

	router.add({
		...mde,
		method: 'GET',
		pattern: '/api/indicators',
		roles: [...TI_WRITE_ROLES, 'Ti.Read.All'],
		handler: ({ query, auth }) => {
			const me = principal(auth);
			// Ti.ReadWrite (without .All) only sees the app's own indicators.
			const seesAll = me.roles.includes('Ti.ReadWrite.All') || me.roles.includes('Ti.Read.All');
			const visible = indicators.all().filter((i) => seesAll || i.createdBy === me.clientId);
			const { page } = listItems(visible, query, {
				schema: indicatorSchema,
				dialect: MDE_DIALECT,
				maxTop: 10000,
				defaultTop: 10000,
				defaultOrderBy: state.listOrder.indicators,
			});
			return { status: 200, json: { '@odata.context': context('Indicators'), value: page } };
		},
	});

	router.add({
		...mde,
		method: 'POST',
		pattern: '/api/indicators',
		roles: TI_WRITE_ROLES,
		handler: ({ body, auth }) => {
			const indicator = indicators.upsert(readIndicator(body, clock), principal(auth));
			return { status: 200, json: { '@odata.context': context('Indicators/$entity'), ...indicator } };
		},
	});

	router.add({
		family: 'mde',
		method: 'POST',
		pattern: '/api/indicators/import',
		roles: TI_WRITE_ROLES,
		limits: LIMITS.indicatorImport,
		handler: ({ body, auth }) => {
			const me = principal(auth);
			const b = new BodyReader(body).only(['Indicators']);
			const list = b.obj.Indicators;
			if (!Array.isArray(list) || list.length === 0) throw b.error("The 'Indicators' property must be a non-empty array.");
			if (list.length > MAX_BATCH) {
				throw new ApiError(400, 'MaximumBatchSizeExceeded', `Maximum batch size is ${MAX_BATCH}; the request contains ${list.length} indicators.`);
			}
			const value = list.map((item: unknown) => {
				const raw = item && typeof item === 'object' ? (item as Record<string, unknown>).indicatorValue : undefined;
				try {
					const indicator = indicators.upsert(readIndicator(item, clock), me);
					return { id: indicator.id, indicator: indicator.indicatorValue, isFailed: false, failureReason: null };
				} catch (error) {
					if (!(error instanceof ApiError)) throw error;
					return { id: null, indicator: typeof raw === 'string' ? raw : null, isFailed: true, failureReason: error.message };
				}
			});
			return { status: 200, json: { '@odata.context': context('Collection(microsoft.windowsDefenderATP.api.ImportIndicatorResult)'), value } };
		},
	});

	router.add({
		family: 'mde',
		method: 'POST',
		pattern: '/api/indicators/BatchDelete',
		roles: TI_WRITE_ROLES,
		limits: LIMITS.indicatorBatchDelete,
		handler: ({ body }) => {
			const ids = new BodyReader(body).only(['IndicatorIds']).stringArray('IndicatorIds', {
				required: true,
				max: MAX_BATCH,
				maxCode: 'MaximumBatchSizeExceeded',
			}) as string[];
			// Unknown ids are ignored; it is a 404 only when none of them exists.
			const deleted = ids.filter((id) => indicators.delete(id)).length;
			if (deleted === 0) throw notFound(`None of the indicators ${ids.join(', ')} were found`);
			return { status: 204 };
		},
	});

	router.add({
		...mde,
		method: 'DELETE',
		pattern: '/api/indicators/:id',
		roles: TI_WRITE_ROLES,
		handler: ({ params }) => {
			if (!indicators.delete(params.id)) throw notFound(`Indicator ${params.id} was not found`);
			return { status: 204 };
		},
	});
}
