/** Route table: method + path pattern → handler, with the per-route policy (family, roles, rate limits). */
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiFamily, Reply } from './errors';
import type { RateLimitRule } from './ratelimit';

export interface AuthInfo {
	clientId: string;
	tenantId: string;
	roles: string[];
	/** Display name of the app registration (MDE shows it as comment author / requestor). */
	appName: string;
	audience: string;
}

export interface RequestContext {
	method: string;
	/** Decoded path, with `/api/v1.0/` folded into `/api/`. */
	path: string;
	/** Decoded query parameters (last value wins). */
	query: Record<string, string>;
	/** Parsed JSON or form body; undefined when empty. */
	body: unknown;
	headers: IncomingHttpHeaders;
	params: Record<string, string>;
	/** Set for MDE and Graph routes once the bearer token is verified. */
	auth: AuthInfo | undefined;
	/** Stats/rate-limit key, e.g. `GET /api/alerts/:id`. */
	routeKey: string;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface RouteSpec {
	method: string;
	/** Literal segments match case-insensitively (ASP.NET/Graph routing); `:name` captures one segment. */
	pattern: string;
	family: ApiFamily;
	/** Any one of these application roles grants access (MDE/Graph only). */
	roles?: readonly string[];
	limits?: readonly RateLimitRule[];
	/** Rate-limit bucket shared by several routes (Graph's security quota); defaults to the route key. */
	bucket?: string;
	handler: Handler;
}

export interface Route extends RouteSpec {
	key: string;
	matchers: Array<{ re: RegExp; params: string[] }>;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compileSegment(segment: string): { re: RegExp; params: string[] } {
	const params: string[] = [];
	// A segment may mix literals and captures, e.g. `findbyip(:args)`.
	const source = segment
		.split(/(:[A-Za-z]\w*)/)
		.map((part) => {
			if (part.startsWith(':')) {
				params.push(part.slice(1));
				return '(.+)';
			}
			return escapeRe(part);
		})
		.join('');
	return { re: new RegExp(`^${source}$`, 'i'), params };
}

export class Router {
	private readonly routes: Route[] = [];

	add(spec: RouteSpec): void {
		const segments = spec.pattern.split('/').filter(Boolean);
		this.routes.push({ ...spec, key: `${spec.method} ${spec.pattern}`, matchers: segments.map(compileSegment) });
	}

	/** First registered match wins, so specific routes are registered before `:id` ones. */
	match(method: string, path: string): { route: Route; params: Record<string, string> } | { methodNotAllowed: true } | null {
		const segments = path.split('/').filter(Boolean);
		let pathMatched = false;
		for (const route of this.routes) {
			if (route.matchers.length !== segments.length) continue;
			const params: Record<string, string> = {};
			const ok = route.matchers.every((m, i) => {
				const found = m.re.exec(segments[i]);
				if (!found) return false;
				m.params.forEach((name, j) => (params[name] = found[j + 1]));
				return true;
			});
			if (!ok) continue;
			if (route.method !== method) {
				pathMatched = true;
				continue;
			}
			return { route, params };
		}
		return pathMatched ? { methodNotAllowed: true } : null;
	}
}
