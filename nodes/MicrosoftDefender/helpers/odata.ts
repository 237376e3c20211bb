import { odataString } from '../transport';

/** `(field eq 'a' or field eq 'b')`, or nothing when the list is empty (empty means all). Values are escaped. */
export function anyOf(field: string, values: string[]): string | undefined {
	if (!values.length) return undefined;
	const terms = values.map((v) => `${field} eq ${odataString(v)}`);
	return terms.length === 1 ? terms[0] : `(${terms.join(' or ')})`;
}
