/**
 * Request-body validation shared by the MDE and Graph handlers. Keys are case-sensitive, as
 * the real APIs document: a wrongly cased or unknown key is rejected instead of ignored.
 */
import { ApiError } from './errors';

export class BodyReader {
	readonly obj: Record<string, unknown>;

	/** `code` is the error code for invalid bodies (`InvalidRequestBody` for MDE, `BadRequest` for Graph). */
	constructor(
		body: unknown,
		private readonly code = 'InvalidRequestBody',
	) {
		if (body === undefined || body === null) this.obj = {};
		else if (typeof body !== 'object' || Array.isArray(body)) throw this.error('The request body must be a JSON object.');
		else this.obj = body as Record<string, unknown>;
	}

	error(message: string): ApiError {
		return new ApiError(400, this.code, message);
	}

	has(key: string): boolean {
		return Object.prototype.hasOwnProperty.call(this.obj, key);
	}

	/** Rejects keys outside `allowed` (names are case-sensitive). */
	only(allowed: readonly string[]): this {
		for (const key of Object.keys(this.obj)) {
			if (!allowed.includes(key)) {
				throw this.error(`The property '${key}' does not exist or is not allowed in the request body. Property names are case-sensitive; allowed: ${allowed.join(', ')}.`);
			}
		}
		return this;
	}

	string(key: string, opts: { required?: boolean; nullable?: boolean; maxLength?: number } = {}): string | null | undefined {
		if (!this.has(key) || this.obj[key] === undefined) {
			if (opts.required) throw this.error(`The '${key}' property is required.`);
			return undefined;
		}
		const value = this.obj[key];
		if (value === null) {
			if (opts.nullable && !opts.required) return null;
			throw this.error(`The '${key}' property must not be null.`);
		}
		if (typeof value !== 'string') throw this.error(`The '${key}' property must be a string.`);
		if (opts.required && value.trim() === '') throw this.error(`The '${key}' property must not be empty.`);
		if (opts.maxLength !== undefined && value.length > opts.maxLength) {
			throw this.error(`The '${key}' property exceeds the maximum length of ${opts.maxLength}.`);
		}
		return value;
	}

	requiredString(key: string, maxLength?: number): string {
		return this.string(key, { required: true, maxLength }) as string;
	}

	/** A string that must be one of `values` (exact case). */
	enumValue(key: string, values: readonly string[], opts: { required?: boolean; nullable?: boolean } = {}): string | null | undefined {
		const value = this.string(key, opts);
		if (typeof value === 'string' && !values.includes(value)) {
			throw this.error(`'${value}' is not a valid value for '${key}'. Valid values: ${values.join(', ')}.`);
		}
		return value;
	}

	boolean(key: string): boolean | undefined {
		if (!this.has(key) || this.obj[key] === undefined || this.obj[key] === null) return undefined;
		if (typeof this.obj[key] !== 'boolean') throw this.error(`The '${key}' property must be a boolean.`);
		return this.obj[key] as boolean;
	}

	stringArray(key: string, opts: { required?: boolean; max?: number; maxCode?: string } = {}): string[] | undefined {
		if (!this.has(key) || this.obj[key] === undefined || this.obj[key] === null) {
			if (opts.required) throw this.error(`The '${key}' property is required.`);
			return undefined;
		}
		const value = this.obj[key];
		if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
			throw this.error(`The '${key}' property must be an array of strings.`);
		}
		if (opts.required && value.length === 0) throw this.error(`The '${key}' property must not be empty.`);
		if (opts.max !== undefined && value.length > opts.max) {
			throw new ApiError(400, opts.maxCode ?? this.code, `The '${key}' property has ${value.length} items; the maximum is ${opts.max}.`);
		}
		return value.map(String);
	}
}
