#!/usr/bin/env node
/*
 * Ensures the emulator's certificate authority exists and prints the path of its certificate.
 *
 *   NODE_EXTRA_CA_CERTS=$(node test/emulator/ca-path.js) jest
 *
 * Plain CommonJS on purpose: it runs before jest/ts-node exist in the process. Node reads
 * NODE_EXTRA_CA_CERTS only at start-up, so the CA must be stable across runs (it is created once
 * in a cache folder and reused); each emulator start then signs a fresh server certificate with it.
 * tls.ts re-exports ensureCa from here so the logic lives in one place.
 */
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CA_SUBJECT = '/CN=n8n-nodes-microsoft-defender test emulator CA';

function defaultCaDir() {
	return (
		process.env.MDE_EMULATOR_CA_DIR ||
		path.join(os.homedir(), '.cache', 'n8n-nodes-microsoft-defender', 'emulator-ca')
	);
}

/** Runs openssl with the given arguments; throws with its stderr on failure. */
function openssl(args, cwd) {
	return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Creates the CA once (EC P-256, valid 10 years) and returns the paths of its certificate and key.
 * Creation happens in a temporary sibling folder that is renamed into place, so concurrent callers
 * (parallel jest workers) never observe a half-written CA.
 */
function ensureCa(dir) {
	const caDir = dir || defaultCaDir();
	const caCertPath = path.join(caDir, 'ca.crt');
	const caKeyPath = path.join(caDir, 'ca.key');
	if (fs.existsSync(caCertPath) && fs.existsSync(caKeyPath)) return { caCertPath, caKeyPath };

	fs.mkdirSync(path.dirname(caDir), { recursive: true });
	const tmp = fs.mkdtempSync(caDir + '.tmp-');
	try {
		openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], tmp);
		openssl(
			[
				'req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '3650',
				'-subj', CA_SUBJECT,
				'-addext', 'basicConstraints=critical,CA:TRUE',
				'-addext', 'keyUsage=critical,keyCertSign,cRLSign',
				'-out', 'ca.crt',
			],
			tmp,
		);
		fs.chmodSync(path.join(tmp, 'ca.key'), 0o600);
		try {
			fs.renameSync(tmp, caDir);
		} catch (error) {
			// Another process won the race: keep its CA, drop ours.
			if (!fs.existsSync(caCertPath)) throw error;
		}
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	return { caCertPath, caKeyPath };
}

module.exports = { ensureCa, defaultCaDir, openssl };

if (require.main === module) {
	process.stdout.write(ensureCa(process.argv[2]).caCertPath + '\n');
}
