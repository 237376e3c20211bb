#!/usr/bin/env node
/**
 * `npm start`: the product on the bundled emulator, in one command.
 * Installs the pinned n8n once (cached under ~/.cache), builds and packs this package and installs it into a
 * demo n8n user folder as a community package, starts the Defender/Entra emulator with a stream of alerts,
 * starts n8n, creates the owner, imports a credential pointing at the emulator and publishes two workflows:
 * "Defender alert triage" (alerts → isolate → comment) and "Defender incident triage" (new incidents → assign →
 * comment). Ctrl-C stops everything.
 */
'use strict';
const { createHash } = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.test.json') });

const harness = require('./n8n-harness');
const demo = require('./demo-workflow');
const { startEmulator } = require('../test/emulator');
const { startAlertStream } = require('../test/emulator/cli');

const OWNER = { email: 'demo@example.com', firstName: 'Demo', lastName: 'Analyst', password: 'Defender-demo-1' };
const DEMO_DIR = process.env.DEMO_DIR || path.join(os.homedir(), '.cache', 'n8n-nodes-microsoft-defender', 'demo');

function step(text) {
	process.stdout.write(`\n▶ ${text}\n`);
}

function sha256(file) {
	return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function main() {
	const started = Date.now();
	step('n8n (first run: installs n8n 2.41.1 and Node 24 into ~/.cache, about 7 minutes; later runs: cached)');
	const n8nPaths = harness.install();

	step('Building and packing n8n-nodes-microsoft-defender');
	const userFolder = path.join(DEMO_DIR, 'n8n-user');
	const tarball = harness.packPackage(path.join(DEMO_DIR, 'pack'));
	const installedHash = path.join(userFolder, '.installed-package.sha256');
	const hash = sha256(tarball);
	if (!fs.existsSync(installedHash) || fs.readFileSync(installedHash, 'utf8') !== hash) {
		step('Installing the package into n8n as a community package');
		harness.installCommunityPackage(userFolder, tarball);
		fs.writeFileSync(installedHash, hash);
	}

	step('Starting the Defender for Endpoint + Entra ID emulator');
	const emu = await startEmulator({ port: Number(process.env.EMULATOR_PORT || 8443), machineActionStepMs: 3000 });
	emu.machines.seed(25);
	emu.alerts.seed(12, { from: new Date(Date.now() - 6 * 3600_000), to: new Date() });
	const stream = startAlertStream(emu, { intervalSeconds: Number(process.env.ALERT_INTERVAL_SECONDS || 20) });

	const options = {
		userFolder,
		port: Number(process.env.N8N_PORT || 5678),
		brokerPort: await harness.freePort(),
		caCertPath: emu.caCertPath,
		logFile: path.join(DEMO_DIR, 'n8n.log'),
	};
	step('Importing the credential and the "Defender alert triage" and "Defender incident triage" workflows');
	demo.importDemo(n8nPaths, options, emu, path.join(DEMO_DIR, 'import'));

	step(`Starting n8n (log: ${options.logFile})`);
	const n8n = await harness.startN8n(n8nPaths, options);
	await harness.ownerCookie(n8n.url, OWNER);

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		process.stdout.write('\nStopping n8n and the emulator…\n');
		stream.stop();
		await n8n.stop();
		await emu.close();
		process.exit(0);
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	n8n.process.on('exit', () => {
		if (!stopping) {
			process.stdout.write('n8n exited; see the log.\n');
			void stop();
		}
	});

	process.stdout.write(
		[
			'',
			`Ready in ${Math.round((Date.now() - started) / 1000)} s.`,
			'',
			`  alert triage:    ${n8n.url}/workflow/${demo.WORKFLOW_ID}`,
			`  incident triage: ${n8n.url}/workflow/${demo.INCIDENT_WORKFLOW_ID}`,
			`  login:           ${OWNER.email} / ${OWNER.password}`,
			`  emulator:        ${emu.url} (tenant ${emu.tenantId}, client ${emu.client.clientId})`,
			'',
			'New Defender alerts arrive about every 20 seconds and some are updated later; each opens a Defender XDR',
			'incident or (about a third) joins a recent one. Both workflows poll every minute (n8n\'s shortest poll',
			'interval). Open a workflow and its Executions tab: "Defender alert triage" isolates the machine of each High',
			'alert and comments on the alert; "Defender incident triage" assigns each new active incident to',
			`${demo.INCIDENT_ASSIGNEE} (In Progress, tag ${demo.INCIDENT_TAG}) and comments on it, once per incident.`,
			'Ctrl-C stops everything.',
			'',
		].join('\n'),
	);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
