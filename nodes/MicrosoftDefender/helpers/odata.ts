import { odataString } from '../transport';

/** `(field eq 'a' or field eq 'b')`, or nothing when the list is empty (empty means all). Values are escaped. */
export function anyOf(field: string, values: string[]): string | undefined {
	if (!values.length) return undefined;
	const terms = values.map((v) => `${field} eq ${odataString(v)}`);
	return terms.length === 1 ? terms[0] : `(${terms.join(' or ')})`;
}

/** The clauses that are set, joined with `and`; nothing when none is. */
export function allOf(clauses: Array<string | undefined>): string | undefined {
	const present = clauses.filter((c): c is string => Boolean(c));
	return present.length ? present.join(' and ') : undefined;
}
