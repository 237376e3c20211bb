/**
 * Certificates for the emulator. Nothing here disables TLS verification: clients trust the
 * emulator through its own CA (NODE_EXTRA_CA_CERTS or an explicit `ca` option).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureCa, defaultCaDir, openssl, type CaPaths } from './ca-path';

export { ensureCa, defaultCaDir, type CaPaths };

export interface ServerCertificate {
	keyPem: string;
	certPem: string;
}

export interface ClientCertificate {
	certificatePem: string;
	privateKeyPem: string;
	/** Hex SHA-1 thumbprint, as shown in the Entra portal and used by MSAL's `thumbprint`. */
	thumbprintSha1Hex: string;
	/** Hex SHA-256 thumbprint, for MSAL's `thumbprintSha256` (PS256 assertions). */
	thumbprintSha256Hex: string;
}

/** Runs `fn` with a temporary working folder that is always removed afterwards. */
function withTempDir<T>(fn: (dir: string) => T): T {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mde-emulator-tls-'));
	try {
		return fn(dir);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

/**
 * Issues a fresh server key and certificate for 127.0.0.1/localhost, signed by the CA.
 * A new one per start keeps the CA the only long-lived secret.
 * `dnsNames` adds host names to the subjectAltName (e.g. `defender.test`, reached through a test proxy).
 */
export function issueServerCertificate(ca: CaPaths = ensureCa(), dnsNames: readonly string[] = []): ServerCertificate {
	for (const name of dnsNames) {
		if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name)) {
			throw new Error(`Not a DNS name for the emulator certificate: ${JSON.stringify(name)}`);
		}
	}
	return withTempDir((dir) => {
		fs.writeFileSync(
			path.join(dir, 'ext.cnf'),
			[
				`subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...dnsNames.map((name) => `DNS:${name}`)].join(',')}`,
				'basicConstraints=critical,CA:FALSE',
				'keyUsage=critical,digitalSignature,keyEncipherment',
				'extendedKeyUsage=serverAuth',
				'',
			].join('\n'),
		);
		openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key'], dir);
		openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr'], dir);
		openssl(
			[
				'x509', '-req', '-in', 'server.csr', '-CA', ca.caCertPath, '-CAkey', ca.caKeyPath,
				'-set_serial', '0x' + crypto.randomBytes(8).toString('hex'),
				'-days', '30', '-sha256', '-extfile', 'ext.cnf', '-out', 'server.crt',
			],
			dir,
		);
		return {
			keyPem: fs.readFileSync(path.join(dir, 'server.key'), 'utf8'),
			certPem: fs.readFileSync(path.join(dir, 'server.crt'), 'utf8'),
		};
	});
}

/**
 * Generates a self-signed RSA certificate + private key, like the one an admin uploads to an app
 * registration for certificate (client assertion) authentication.
 */
export function generateClientCertificate(commonName = 'n8n-mde-emulator-client'): ClientCertificate {
	return withTempDir((dir) => {
		openssl(
			[
				'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.crt',
				'-days', '365', '-sha256', '-subj', `/CN=${commonName}`,
			],
			dir,
		);
		const certificatePem = fs.readFileSync(path.join(dir, 'client.crt'), 'utf8');
		const privateKeyPem = fs.readFileSync(path.join(dir, 'client.key'), 'utf8');
		const { sha1, sha256 } = certificateThumbprints(certificatePem);
		return { certificatePem, privateKeyPem, thumbprintSha1Hex: sha1, thumbprintSha256Hex: sha256 };
	});
}

/** SHA-1 and SHA-256 thumbprints (lowercase hex, no colons) of a PEM certificate. */
export function certificateThumbprints(certificatePem: string): { sha1: string; sha256: string } {
	const x509 = new crypto.X509Certificate(certificatePem);
	return {
		sha1: x509.fingerprint.replace(/:/g, '').toLowerCase(),
		sha256: x509.fingerprint256.replace(/:/g, '').toLowerCase(),
	};
}
