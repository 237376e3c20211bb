/** Minimal JWS compact serialization (RS256 signing; RS256/PS256 verification) with node:crypto. */
import * as crypto from 'node:crypto';

export type JwtHeader = Record<string, unknown> & { alg?: string; kid?: string; x5t?: string; 'x5t#S256'?: string };
export type JwtPayload = Record<string, unknown>;

export interface DecodedJwt {
	header: JwtHeader;
	payload: JwtPayload;
	signingInput: string;
	signature: Buffer;
}

export const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export function signJwt(payload: JwtPayload, key: crypto.KeyObject, header: JwtHeader = {}): string {
	const signingInput = `${base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', ...header }))}.${base64url(JSON.stringify(payload))}`;
	const signature = crypto.sign('sha256', Buffer.from(signingInput), key);
	return `${signingInput}.${base64url(signature)}`;
}

/** Splits and parses a JWT without verifying it; null if it is not a well-formed JWS. */
export function decodeJwt(token: string): DecodedJwt | null {
	const parts = token.split('.');
	if (parts.length !== 3) return null;
	try {
		const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as unknown;
		const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
		if (!header || typeof header !== 'object' || !payload || typeof payload !== 'object') return null;
		return {
			header: header as JwtHeader,
			payload: payload as JwtPayload,
			signingInput: `${parts[0]}.${parts[1]}`,
			signature: Buffer.from(parts[2], 'base64url'),
		};
	} catch {
		return null;
	}
}

/** Verifies an RS256 or PS256 signature (MSAL uses PS256 when given a SHA-256 thumbprint). */
export function verifyJwtSignature(jwt: DecodedJwt, key: crypto.KeyObject): boolean {
	const data = Buffer.from(jwt.signingInput);
	try {
		switch (jwt.header.alg) {
			case 'RS256':
				return crypto.verify('sha256', data, key, jwt.signature);
			case 'PS256':
				return crypto.verify(
					'sha256',
					data,
					{ key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO },
					jwt.signature,
				);
			default:
				return false;
		}
	} catch {
		return false;
	}
}
