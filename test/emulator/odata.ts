/**
 * A small OData v4 query engine: $filter (parsed and compiled to closures), $orderby, $top, $skip,
 * $select and $count, evaluated against an entity schema. Also the single list/pagination helper
 * every collection endpoint uses, with the hooks API profiles (profiles.ts) use to reject or ignore
 * parts of a query.
 */
import { ApiError } from './errors';
import { normalizeTimestamp } from './clock';

// ---------------------------------------------------------------------------------------------
// Schema

export type FieldType =
	| { kind: 'string' }
	| { kind: 'datetime' }
	| { kind: 'number' }
	| { kind: 'boolean' }
	/** Members in declaration order: comparisons and sorting use that order, like OData enums. */
	| { kind: 'enum'; members: readonly string[] }
	| { kind: 'collection'; element: 'string' | 'number' | 'object' };

export interface FieldDef<T> {
	type: FieldType;
	get: (item: T) => unknown;
	/** Defaults to true. Fields that exist on the entity but the API refuses to filter on are false. */
	filterable?: boolean;
}

export interface EntitySchema<T> {
	/** Used in error messages, e.g. `microsoft.windowsDefenderATP.api.PublicAlert`. */
	typeName: string;
	fields: Record<string, FieldDef<T>>;
	/** Field used to make every $orderby total (appended ascending unless present). */
	keyField?: string;
}

export const field = {
	string: <T>(get: (item: T) => unknown, filterable = true): FieldDef<T> => ({ type: { kind: 'string' }, get, filterable }),
	datetime: <T>(get: (item: T) => unknown, filterable = true): FieldDef<T> => ({ type: { kind: 'datetime' }, get, filterable }),
	number: <T>(get: (item: T) => unknown, filterable = true): FieldDef<T> => ({ type: { kind: 'number' }, get, filterable }),
	boolean: <T>(get: (item: T) => unknown, filterable = true): FieldDef<T> => ({ type: { kind: 'boolean' }, get, filterable }),
	enum: <T>(members: readonly string[], get: (item: T) => unknown, filterable = true): FieldDef<T> => ({
		type: { kind: 'enum', members },
		get,
		filterable,
	}),
	collection: <T>(element: 'string' | 'number' | 'object', get: (item: T) => unknown, filterable = true): FieldDef<T> => ({
		type: { kind: 'collection', element },
		get,
		filterable,
	}),
};

/** How query errors are reported: MDE says `ODataError`, Graph says `BadRequest` + "Invalid filter clause". */
export interface Dialect {
	errorCode: string;
	filterPrefix: string;
}

export const MDE_DIALECT: Dialect = { errorCode: 'ODataError', filterPrefix: '' };
export const GRAPH_DIALECT: Dialect = { errorCode: 'BadRequest', filterPrefix: 'Invalid filter clause: ' };

// ---------------------------------------------------------------------------------------------
// Tokenizer

type Token =
	| { t: 'ident'; v: string; pos: number }
	| { t: 'string'; v: string; pos: number }
	| { t: 'number'; v: number; pos: number }
	| { t: 'datetime'; v: string; pos: number }
	| { t: '(' | ')' | ',' | ':' | '/' | 'eof'; pos: number };

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/i;
const NUMBER_RE = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDd]?/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*/;

class SyntaxErr extends Error {}

function tokenize(src: string): Token[] {
	const tokens: Token[] = [];
	let i = 0;
	const fail = (pos: number): never => {
		throw new SyntaxErr(`Syntax error at position ${pos} in '${src}'.`);
	};
	while (i < src.length) {
		const ch = src[i];
		if (/\s/.test(ch)) {
			i++;
			continue;
		}
		if ('(),:/'.includes(ch)) {
			tokens.push({ t: ch as '(' | ')' | ',' | ':' | '/', pos: i });
			i++;
			continue;
		}
		if (ch === "'") {
			// Single-quoted string; '' is an escaped quote.
			let value = '';
			let j = i + 1;
			for (;;) {
				if (j >= src.length) throw new SyntaxErr(`There is an unterminated string literal at position ${i} in '${src}'.`);
				if (src[j] === "'") {
					if (src[j + 1] === "'") {
						value += "'";
						j += 2;
						continue;
					}
					break;
				}
				value += src[j];
				j++;
			}
			tokens.push({ t: 'string', v: value, pos: i });
			i = j + 1;
			continue;
		}
		const rest = src.slice(i);
		const dt = DATETIME_RE.exec(rest);
		if (dt) {
			const fraction = /\.(\d+)/.exec(dt[0]);
			const normalized = fraction && fraction[1].length > 7 ? null : normalizeTimestamp(dt[0]);
			if (!normalized) throw new SyntaxErr(`Unrecognized 'Edm.DateTimeOffset' literal '${dt[0]}' at '${i}' in '${src}'.`);
			tokens.push({ t: 'datetime', v: normalized, pos: i });
			i += dt[0].length;
			continue;
		}
		const num = NUMBER_RE.exec(rest);
		if (num) {
			tokens.push({ t: 'number', v: Number(num[0].replace(/[LlMmDd]$/, '')), pos: i });
			i += num[0].length;
			continue;
		}
		const id = IDENT_RE.exec(rest);
		if (id) {
			tokens.push({ t: 'ident', v: id[0], pos: i });
			i += id[0].length;
			continue;
		}
		fail(i);
	}
	tokens.push({ t: 'eof', pos: src.length });
	return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser → AST

export type CmpOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
type Lit = { k: 'lit'; v: string | number | boolean | null; lt: 'string' | 'number' | 'datetime' | 'boolean' | 'null' };
type Node =
	| Lit
	| { k: 'prop'; name: string; pos: number }
	| { k: 'var'; name: string }
	| { k: 'member'; obj: Node; name: string }
	| { k: 'cmp'; op: CmpOp; l: Node; r: Node; pos: number }
	| { k: 'in'; l: Node; list: Node[]; pos: number }
	| { k: 'and' | 'or'; l: Node; r: Node }
	| { k: 'not'; e: Node }
	| { k: 'call'; fn: FilterFunction; args: Node[]; pos: number }
	| { k: 'lambda'; fn: 'any' | 'all'; coll: Node; v?: string; body?: Node; pos: number };

const CMP_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = {
	startswith: 2,
	endswith: 2,
	contains: 2,
	tolower: 1,
	toupper: 1,
	trim: 1,
	length: 1,
} as const satisfies Record<string, number>;
export type FilterFunction = keyof typeof FUNCTIONS;

/** How a $filter uses a property: a comparison operator, `in (…)`, or a function taking it as an argument. */
export type FieldUse = CmpOp | 'in' | FilterFunction;
/**
 * Called at compile time for each use of a top-level property in $filter, with the property's schema name
 * (`ID gt 'x'` → `('id', 'gt')`; a literal on the left is mirrored: `'x' lt id` → `('id', 'gt')`). A returned
 * message rejects the $filter with a 400 in the dialect's shape. Lambda variables are not reported.
 */
export type ComparisonCheck = (field: string, use: FieldUse) => string | undefined;
const MIRRORED: Record<CmpOp, CmpOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };

class Parser {
	private i = 0;
	private readonly vars: string[] = [];
	constructor(private readonly tokens: Token[], private readonly src: string) {}

	parse(): Node {
		const node = this.expr();
		if (this.peek().t !== 'eof') this.fail(this.peek().pos);
		return node;
	}

	private peek(offset = 0): Token {
		return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
	}
	private next(): Token {
		return this.tokens[this.i++];
	}
	private isKeyword(word: string, offset = 0): boolean {
		const tok = this.peek(offset);
		return tok.t === 'ident' && tok.v === word;
	}
	private expect(t: Token['t']): Token {
		const tok = this.next();
		if (tok.t !== t) this.fail(tok.pos);
		return tok;
	}
	private fail(pos: number): never {
		throw new SyntaxErr(`Syntax error at position ${pos} in '${this.src}'.`);
	}

	private expr(): Node {
		let l = this.and();
		while (this.isKeyword('or')) {
			this.next();
			l = { k: 'or', l, r: this.and() };
		}
		return l;
	}
	private and(): Node {
		let l = this.unary();
		while (this.isKeyword('and')) {
			this.next();
			l = { k: 'and', l, r: this.unary() };
		}
		return l;
	}
	private unary(): Node {
		if (this.isKeyword('not')) {
			this.next();
			return { k: 'not', e: this.unary() };
		}
		return this.comparison();
	}
	private comparison(): Node {
		const l = this.primary();
		const tok = this.peek();
		if (tok.t === 'ident' && CMP_OPS.has(tok.v)) {
			this.next();
			return { k: 'cmp', op: tok.v as CmpOp, l, r: this.primary(), pos: tok.pos };
		}
		if (tok.t === 'ident' && tok.v === 'in') {
			this.next();
			this.expect('(');
			const list: Node[] = [this.primary()];
			while (this.peek().t === ',') {
				this.next();
				list.push(this.primary());
			}
			this.expect(')');
			return { k: 'in', l, list, pos: tok.pos };
		}
		return l;
	}
	private primary(): Node {
		const tok = this.next();
		switch (tok.t) {
			case '(': {
				const e = this.expr();
				this.expect(')');
				return e;
			}
			case 'string':
				return { k: 'lit', v: tok.v, lt: 'string' };
			case 'number':
				return { k: 'lit', v: tok.v, lt: 'number' };
			case 'datetime':
				return { k: 'lit', v: tok.v, lt: 'datetime' };
			case 'ident': {
				if (tok.v === 'null') return { k: 'lit', v: null, lt: 'null' };
				if (tok.v === 'true' || tok.v === 'false') return { k: 'lit', v: tok.v === 'true', lt: 'boolean' };
				if (this.peek().t === '(' && tok.v.toLowerCase() in FUNCTIONS) return this.call(tok.v.toLowerCase() as FilterFunction, tok.pos);
				const start: Node = this.vars.includes(tok.v) ? { k: 'var', name: tok.v } : { k: 'prop', name: tok.v, pos: tok.pos };
				return this.path(start);
			}
			default:
				return this.fail(tok.pos);
		}
	}
	private call(fn: FilterFunction, pos: number): Node {
		this.expect('(');
		const args: Node[] = [this.expr()];
		while (this.peek().t === ',') {
			this.next();
			args.push(this.expr());
		}
		this.expect(')');
		if (args.length !== FUNCTIONS[fn]) {
			throw new SyntaxErr(`The function '${fn}' requires ${FUNCTIONS[fn]} argument(s), found ${args.length}.`);
		}
		return { k: 'call', fn, args, pos };
	}
	/** `a/b/any(x: ...)` navigation after the first identifier. */
	private path(start: Node): Node {
		let node = start;
		while (this.peek().t === '/') {
			this.next();
			const name = this.expect('ident') as Extract<Token, { t: 'ident' }>;
			if ((name.v === 'any' || name.v === 'all') && this.peek().t === '(') {
				this.next();
				if (this.peek().t === ')') {
					this.next();
					node = { k: 'lambda', fn: name.v, coll: node, pos: name.pos };
					continue;
				}
				const v = (this.expect('ident') as Extract<Token, { t: 'ident' }>).v;
				this.expect(':');
				this.vars.push(v);
				const body = this.expr();
				this.vars.pop();
				this.expect(')');
				node = { k: 'lambda', fn: name.v, coll: node, v, body, pos: name.pos };
				continue;
			}
			node = { k: 'member', obj: node, name: name.v };
		}
		return node;
	}
}

// ---------------------------------------------------------------------------------------------
// Compiler: AST → closure, with type checks against the schema at compile time

type Scope = Record<string, unknown>;
type Fn = (item: unknown, scope: Scope) => unknown;
/** Static type of an expression; 'any' = untyped (lambda object members, function results). */
type ExprType = FieldType | { kind: 'null' } | { kind: 'any' };
interface Compiled {
	fn: Fn;
	type: ExprType;
	/** Boolean-valued expression (usable as a whole $filter). */
	bool: boolean;
}

const EDM: Record<string, string> = {
	string: 'Edm.String',
	datetime: 'Edm.DateTimeOffset',
	number: 'Edm.Int64',
	boolean: 'Edm.Boolean',
	enum: 'Enum',
	collection: 'Collection',
	null: 'null',
	any: 'Edm.Untyped',
};
const OP_NAMES: Record<CmpOp, string> = {
	eq: 'Equal',
	ne: 'NotEqual',
	gt: 'GreaterThan',
	ge: 'GreaterThanOrEqual',
	lt: 'LessThan',
	le: 'LessThanOrEqual',
};

/** Orders two non-null values of one static type. */
function compareValues(type: ExprType, a: unknown, b: unknown): number {
	if (type.kind === 'enum') {
		const ia = type.members.indexOf(String(a));
		const ib = type.members.indexOf(String(b));
		if (ia >= 0 && ib >= 0) return ia - ib;
	}
	if (typeof a === 'number' && typeof b === 'number') return a - b;
	if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
	const sa = String(a);
	const sb = String(b);
	return sa < sb ? -1 : sa > sb ? 1 : 0;
}

const isNil = (v: unknown): boolean => v === null || v === undefined;

class Compiler<T> {
	private readonly lookup = new Map<string, [string, FieldDef<T>]>();
	constructor(
		private readonly schema: EntitySchema<T>,
		private readonly src: string,
		private readonly check?: ComparisonCheck,
	) {
		for (const [name, def] of Object.entries(schema.fields)) this.lookup.set(name.toLowerCase(), [name, def]);
	}

	fail(message: string): never {
		throw new SyntaxErr(message);
	}

	/** Property names are matched case-insensitively (the MDE service is lenient about `InvestigationId`). */
	resolve(name: string): [string, FieldDef<T>] {
		const found = this.lookup.get(name.toLowerCase());
		if (!found || found[1].filterable === false) {
			this.fail(`Could not find a property named '${name}' on type '${this.schema.typeName}'.`);
		}
		return found;
	}

	/** Reports a use of a top-level property to the ComparisonCheck; its message is a syntax error. */
	private checkUse(node: Node, use: FieldUse): void {
		if (!this.check || node.k !== 'prop') return;
		const message = this.check(this.resolve(node.name)[0], use);
		if (message !== undefined) this.fail(message);
	}

	compile(node: Node, vars: Record<string, ExprType> = {}): Compiled {
		switch (node.k) {
			case 'lit': {
				const v = node.v;
				const type: ExprType =
					node.lt === 'null' ? { kind: 'null' } : node.lt === 'datetime' ? { kind: 'datetime' } : { kind: node.lt };
				return { fn: () => v, type, bool: node.lt === 'boolean' };
			}
			case 'prop': {
				const [, def] = this.resolve(node.name);
				const get = def.get as (item: unknown) => unknown;
				return { fn: (item) => get(item), type: def.type, bool: def.type.kind === 'boolean' };
			}
			case 'var': {
				const name = node.name;
				return { fn: (_item, scope) => scope[name], type: vars[name] ?? { kind: 'any' }, bool: false };
			}
			case 'member': {
				const obj = this.compile(node.obj, vars);
				const name = node.name;
				return {
					fn: (item, scope) => {
						const o = obj.fn(item, scope);
						return o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[name] : undefined;
					},
					type: { kind: 'any' },
					bool: false,
				};
			}
			case 'and':
			case 'or': {
				const l = this.boolean(node.l, vars);
				const r = this.boolean(node.r, vars);
				const fn: Fn =
					node.k === 'and'
						? (item, scope) => l(item, scope) === true && r(item, scope) === true
						: (item, scope) => l(item, scope) === true || r(item, scope) === true;
				return { fn, type: { kind: 'boolean' }, bool: true };
			}
			case 'not': {
				const e = this.boolean(node.e, vars);
				return { fn: (item, scope) => e(item, scope) !== true, type: { kind: 'boolean' }, bool: true };
			}
			case 'cmp':
				this.checkUse(node.l, node.op);
				this.checkUse(node.r, MIRRORED[node.op]);
				return this.comparison(node.op, node.l, node.r, vars);
			case 'in': {
				this.checkUse(node.l, 'in');
				const checks = node.list.map((entry) => this.comparison('eq', node.l, entry, vars).fn);
				return { fn: (item, scope) => checks.some((c) => c(item, scope) === true), type: { kind: 'boolean' }, bool: true };
			}
			case 'call':
				for (const arg of node.args) this.checkUse(arg, node.fn);
				return this.call(node.fn, node.args, vars);
			case 'lambda':
				return this.lambda(node, vars);
		}
	}

	private boolean(node: Node, vars: Record<string, ExprType>): Fn {
		const c = this.compile(node, vars);
		if (!c.bool && c.type.kind !== 'any') this.fail(`The expression is not a boolean expression in '${this.src}'.`);
		return c.fn;
	}

	/**
	 * Converts a literal to the type of the property it is compared with, at compile time, so a
	 * datetime compares as a normalized 7-digit string and an enum member is checked to exist.
	 */
	private coerce(lit: Compiled, target: ExprType, op: CmpOp): Compiled {
		const value = lit.fn(undefined, {});
		if (lit.type.kind === 'null' || target.kind === 'any') return lit;
		const mismatch = (): never =>
			this.fail(
				`A binary operator with incompatible types was detected. Found operand types '${EDM[target.kind]}' and ` +
					`'${EDM[lit.type.kind]}' for operator kind '${OP_NAMES[op]}'.`,
			);
		let converted: unknown = value;
		switch (target.kind) {
			case 'datetime':
				if (lit.type.kind === 'datetime') break;
				if (lit.type.kind !== 'string') mismatch();
				converted = normalizeTimestamp(String(value));
				if (converted === null) this.fail(`The string '${String(value)}' is not a valid DateTimeOffset value.`);
				break;
			case 'enum':
				if (lit.type.kind !== 'string') mismatch();
				if (!target.members.includes(String(value))) {
					this.fail(`The string '${String(value)}' is not a valid enumeration type constant.`);
				}
				break;
			case 'number':
				if (lit.type.kind === 'number') break;
				if (lit.type.kind !== 'string' || !/^-?\d+(\.\d+)?$/.test(String(value))) mismatch();
				converted = Number(value);
				break;
			case 'string':
				if (lit.type.kind === 'string') break;
				if (lit.type.kind !== 'number') mismatch();
				converted = String(value);
				break;
			case 'boolean':
				if (lit.type.kind !== 'boolean') mismatch();
				break;
			case 'collection':
				this.fail(`A binary operator cannot be applied to a collection; use any() or all().`);
		}
		return { fn: () => converted, type: target, bool: false };
	}

	private comparison(op: CmpOp, ln: Node, rn: Node, vars: Record<string, ExprType>): Compiled {
		let l = this.compile(ln, vars);
		let r = this.compile(rn, vars);
		if (l.type.kind === 'collection' || r.type.kind === 'collection') {
			this.fail(`A binary operator cannot be applied to the collection in '${this.src}'; use any() or all().`);
		}
		// Coerce literals (and only literals) to the other side's type.
		if (ln.k === 'lit' && rn.k !== 'lit') l = this.coerce(l, r.type, op);
		else if (rn.k === 'lit' && ln.k !== 'lit') r = this.coerce(r, l.type, op);
		const type = l.type.kind === 'any' || l.type.kind === 'null' ? r.type : l.type;
		const lf = l.fn;
		const rf = r.fn;
		const test = (a: unknown, b: unknown): boolean => {
			if (isNil(a) || isNil(b)) {
				if (op === 'eq') return isNil(a) && isNil(b);
				if (op === 'ne') return !(isNil(a) && isNil(b));
				return false;
			}
			const c = compareValues(type, a, b);
			switch (op) {
				case 'eq':
					return c === 0;
				case 'ne':
					return c !== 0;
				case 'gt':
					return c > 0;
				case 'ge':
					return c >= 0;
				case 'lt':
					return c < 0;
				case 'le':
					return c <= 0;
			}
		};
		return { fn: (item, scope) => test(lf(item, scope), rf(item, scope)), type: { kind: 'boolean' }, bool: true };
	}

	private call(fn: FilterFunction, argNodes: Node[], vars: Record<string, ExprType>): Compiled {
		const args = argNodes.map((a) => this.compile(a, vars));
		for (const a of args) {
			if (!['string', 'enum', 'any', 'null', 'datetime'].includes(a.type.kind)) {
				this.fail(`The '${fn}' function requires string arguments; found '${EDM[a.type.kind]}'.`);
			}
		}
		const [a, b] = args.map((c) => c.fn);
		const str = (f: Fn, item: unknown, scope: Scope): string | null => {
			const v = f(item, scope);
			return isNil(v) ? null : String(v);
		};
		const binary = (test: (x: string, y: string) => boolean): Compiled => ({
			fn: (item, scope) => {
				const x = str(a, item, scope);
				const y = str(b, item, scope);
				return x !== null && y !== null && test(x, y);
			},
			type: { kind: 'boolean' },
			bool: true,
		});
		const unary = (f: (x: string) => unknown, type: ExprType): Compiled => ({
			fn: (item, scope) => {
				const x = str(a, item, scope);
				return x === null ? null : f(x);
			},
			type,
			bool: false,
		});
		switch (fn) {
			case 'startswith':
				return binary((x, y) => x.startsWith(y));
			case 'endswith':
				return binary((x, y) => x.endsWith(y));
			case 'contains':
				return binary((x, y) => x.includes(y));
			case 'tolower':
				return unary((x) => x.toLowerCase(), { kind: 'string' });
			case 'toupper':
				return unary((x) => x.toUpperCase(), { kind: 'string' });
			case 'trim':
				return unary((x) => x.trim(), { kind: 'string' });
			default:
				return unary((x) => x.length, { kind: 'number' });
		}
	}

	private lambda(node: Extract<Node, { k: 'lambda' }>, vars: Record<string, ExprType>): Compiled {
		const coll = this.compile(node.coll, vars);
		if (coll.type.kind !== 'collection' && coll.type.kind !== 'any') {
			this.fail(`The '${node.fn}' operator can only be applied to a collection in '${this.src}'.`);
		}
		const elementType: ExprType =
			coll.type.kind === 'collection' && coll.type.element !== 'object' ? { kind: coll.type.element } : { kind: 'any' };
		const items = (item: unknown, scope: Scope): unknown[] => {
			const v = coll.fn(item, scope);
			return Array.isArray(v) ? v : [];
		};
		if (!node.body || !node.v) {
			return { fn: (item, scope) => items(item, scope).length > 0, type: { kind: 'boolean' }, bool: true };
		}
		const v = node.v;
		const body = this.boolean(node.body, { ...vars, [v]: elementType });
		const test = (item: unknown, scope: Scope) => (e: unknown) => body(item, { ...scope, [v]: e }) === true;
		const fn: Fn =
			node.fn === 'any'
				? (item, scope) => items(item, scope).some(test(item, scope))
				: (item, scope) => items(item, scope).every(test(item, scope));
		return { fn, type: { kind: 'boolean' }, bool: true };
	}
}

export interface FilterOptions {
	/** Rejects uses of properties the API does not accept (API profiles); see ComparisonCheck. */
	checkComparison?: ComparisonCheck;
}

/** Parses and compiles a $filter expression into a predicate. Throws ApiError(400) on any problem. */
export function compileFilter<T>(
	filter: string,
	schema: EntitySchema<T>,
	dialect: Dialect,
	options: FilterOptions = {},
): (item: T) => boolean {
	try {
		const ast = new Parser(tokenize(filter), filter).parse();
		const compiler = new Compiler(schema, filter, options.checkComparison);
		const compiled = compiler.compile(ast);
		if (!compiled.bool) compiler.fail(`The $filter expression must evaluate to a single boolean value: '${filter}'.`);
		const fn = compiled.fn;
		return (item) => fn(item, {}) === true;
	} catch (error) {
		if (error instanceof SyntaxErr) throw new ApiError(400, dialect.errorCode, dialect.filterPrefix + error.message);
		throw error;
	}
}

type SortValue = string | number | null;

/**
 * Maps a field value to a primitive that orders correctly with `<`: enums become their member
 * index, booleans 0/1, timestamps stay normalized strings, missing values null (sorted first).
 */
function sortValueOf(type: FieldType): (value: unknown) => SortValue {
	switch (type.kind) {
		case 'enum': {
			const rank = new Map(type.members.map((m, i) => [m, i]));
			return (v) => (isNil(v) ? null : rank.get(String(v)) ?? -1);
		}
		case 'boolean':
			return (v) => (isNil(v) ? null : Number(v));
		case 'number':
			return (v) => (isNil(v) ? null : Number(v));
		default:
			return (v) => (isNil(v) ? null : String(v));
	}
}

export interface OrderBy<T> {
	/** Normalized form, e.g. `lastUpdateTime asc,id asc` (cache key). */
	key: string;
	compare: (a: T, b: T) => number;
	/** Sorts a copy; extracts every sort value once per item (much faster on 100,000 items). */
	sort: (items: readonly T[]) => T[];
}

/** Parses $orderby (`a desc, b`) into a total order; ties are broken by the schema's key field. */
export function compileOrderBy<T>(orderby: string, schema: EntitySchema<T>, dialect: Dialect): OrderBy<T> {
	const lookup = new Map(Object.entries(schema.fields).map(([name, def]) => [name.toLowerCase(), { name, def }]));
	const parts = orderby
		.split(',')
		.map((p) => p.trim())
		.filter(Boolean);
	if (parts.length === 0) throw new ApiError(400, dialect.errorCode, `The $orderby query option is empty.`);
	const keys: Array<{ name: string; def: FieldDef<T>; desc: boolean }> = [];
	for (const part of parts) {
		const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?$/i.exec(part);
		if (!m) throw new ApiError(400, dialect.errorCode, `Syntax error in $orderby: '${orderby}'.`);
		const found = lookup.get(m[1].toLowerCase());
		if (!found || found.def.type.kind === 'collection') {
			throw new ApiError(400, dialect.errorCode, `Could not find a property named '${m[1]}' on type '${schema.typeName}' to order by.`);
		}
		keys.push({ name: found.name, def: found.def, desc: (m[2] ?? 'asc').toLowerCase() === 'desc' });
	}
	const keyField = schema.keyField;
	if (keyField && !keys.some((k) => k.name === keyField)) {
		keys.push({ name: keyField, def: schema.fields[keyField], desc: false });
	}
	const converters = keys.map((k) => sortValueOf(k.def.type));
	const signs = keys.map((k) => (k.desc ? -1 : 1));
	const compareValuesOf = (va: SortValue[], vb: SortValue[]): number => {
		for (let i = 0; i < va.length; i++) {
			const x = va[i];
			const y = vb[i];
			if (x === y) continue;
			// OData sorts nulls first in ascending order.
			if (x === null) return -signs[i];
			if (y === null) return signs[i];
			return x < y ? -signs[i] : signs[i];
		}
		return 0;
	};
	const valuesOf = (item: T): SortValue[] => keys.map((k, i) => converters[i](k.def.get(item)));
	return {
		key: keys.map((k) => `${k.name} ${k.desc ? 'desc' : 'asc'}`).join(','),
		compare: (a, b) => compareValuesOf(valuesOf(a), valuesOf(b)),
		sort: (items) =>
			items
				.map((item) => ({ item, values: valuesOf(item) }))
				.sort((a, b) => compareValuesOf(a.values, b.values))
				.map((d) => d.item),
	};
}

// ---------------------------------------------------------------------------------------------
// Pagination: the one place list endpoints apply $filter/$orderby/$skip/$top/$count/$select

export interface ListOptions<T> {
	schema: EntitySchema<T>;
	dialect: Dialect;
	/** Requests above this are clamped (MDE: 10,000; Graph: 1,000). */
	maxTop: number;
	defaultTop: number;
	/** Requests above this are rejected with 400 (Graph: 500). */
	maxSkip?: number;
	/** Per-snapshot cache of sorted copies, keyed by normalized $orderby. */
	sortCache?: Map<string, readonly T[]>;
	/** Base order when there is no $orderby. */
	defaultOrder?: (a: T, b: T) => number;
	/**
	 * Base order when there is no $orderby (or it is ignored), as an $orderby expression (e.g.
	 * `alertCreationTime desc,id desc`): sorted once per snapshot through sortCache. Wins over defaultOrder.
	 */
	defaultOrderBy?: string;
	/** 'honour' (default): sort by $orderby. 'ignore': check its syntax and properties, then use the base order. */
	orderBy?: 'honour' | 'ignore';
	/**
	 * Called whenever $orderby is present, before it is parsed, with its comma-separated parts (trimmed,
	 * empty ones dropped). A returned message rejects the request with a 400 in the dialect's shape.
	 */
	checkOrderBy?: (parts: readonly string[]) => string | undefined;
	/** Rejects uses of properties in $filter (see ComparisonCheck). */
	checkComparison?: ComparisonCheck;
}

export interface ListResult<T> {
	page: T[];
	/** Number of matching items; only computed when $count=true. */
	count?: number;
}

function parseNonNegativeInt(name: string, raw: string, dialect: Dialect): number {
	if (!/^\d+$/.test(raw.trim())) {
		throw new ApiError(
			400,
			dialect.errorCode,
			`Invalid value '${raw}' for ${name} query option found. The ${name} query option requires a non-negative integer value.`,
		);
	}
	return Number(raw.trim());
}

/** Query parameter lookup that tolerates `filter` without `$` and any casing, as OData services do. */
export function queryOption(query: Record<string, string>, name: string): string | undefined {
	const want = name.toLowerCase();
	for (const [k, v] of Object.entries(query)) {
		const key = k.toLowerCase();
		if (key === '$' + want) return v;
	}
	return undefined;
}

export function listItems<T>(items: readonly T[], query: Record<string, string>, opts: ListOptions<T>): ListResult<T> {
	const { dialect } = opts;
	const filter = queryOption(query, 'filter');
	const orderby = queryOption(query, 'orderby');
	const topRaw = queryOption(query, 'top');
	const skipRaw = queryOption(query, 'skip');
	const wantCount = (queryOption(query, 'count') ?? '').toLowerCase() === 'true';

	const top = Math.min(topRaw === undefined ? opts.defaultTop : parseNonNegativeInt('$top', topRaw, dialect), opts.maxTop);
	const skip = skipRaw === undefined ? 0 : parseNonNegativeInt('$skip', skipRaw, dialect);
	if (opts.maxSkip !== undefined && skip > opts.maxSkip) {
		throw new ApiError(400, dialect.errorCode, `Invalid $skip value '${skip}'. The maximum allowed $skip value is ${opts.maxSkip}.`);
	}
	const predicate =
		filter !== undefined && filter.trim() !== ''
			? compileFilter(filter, opts.schema, dialect, { checkComparison: opts.checkComparison })
			: null;

	if (orderby !== undefined && opts.checkOrderBy) {
		const parts = orderby
			.split(',')
			.map((p) => p.trim())
			.filter(Boolean);
		const rejected = opts.checkOrderBy(parts);
		if (rejected !== undefined) throw new ApiError(400, dialect.errorCode, rejected);
	}
	// Sorted copies are cached per snapshot, keyed by the normalized order.
	const sorted = (order: OrderBy<T>): readonly T[] => {
		const cached = opts.sortCache?.get(order.key);
		if (cached) return cached;
		const result = order.sort(items);
		opts.sortCache?.set(order.key, result);
		return result;
	};
	let requested = orderby !== undefined && orderby.trim() !== '' ? compileOrderBy(orderby, opts.schema, dialect) : undefined;
	if (opts.orderBy === 'ignore') requested = undefined;

	let ordered: readonly T[] = items;
	if (requested) ordered = sorted(requested);
	else if (opts.defaultOrderBy) ordered = sorted(compileOrderBy(opts.defaultOrderBy, opts.schema, dialect));
	else if (opts.defaultOrder) ordered = items.slice().sort(opts.defaultOrder);

	const page: T[] = [];
	let matched = 0;
	for (const item of ordered) {
		if (predicate && !predicate(item)) continue;
		matched++;
		if (matched > skip && page.length < top) page.push(item);
		// Stop early unless the caller also wants the total count.
		else if (page.length >= top && !wantCount) break;
	}
	return wantCount ? { page, count: matched } : { page };
}

/** Applies $select to serialized entities (unknown property → 400). */
export function applySelect(
	values: Array<Record<string, unknown>>,
	select: string | undefined,
	typeName: string,
	dialect: Dialect,
): Array<Record<string, unknown>> {
	if (select === undefined || select.trim() === '') return values;
	const wanted = select
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	const sample = values[0];
	if (sample) {
		for (const name of wanted) {
			if (!(name in sample)) {
				throw new ApiError(400, dialect.errorCode, `Could not find a property named '${name}' on type '${typeName}'.`);
			}
		}
	}
	return values.map((v) => {
		const out: Record<string, unknown> = {};
		for (const name of wanted) out[name] = v[name];
		return out;
	});
}
