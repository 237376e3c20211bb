/**
 * Standalone emulator for demos and manual testing (`npm run emulator -- --port 8443`).
 * Seeds machines and alerts, then streams new alerts and lifecycle updates until stopped.
 */
import { ANALYSTS, Rng } from './data';
import { startEmulator, type Emulator } from './index';
import { API_PROFILES, toApiProfile, type ApiProfile } from './profiles';
import type { Alert } from './types';

interface CliOptions {
	port: number;
	stream: boolean;
	alerts: number;
	machines: number;
	intervalSeconds: number;
	rateLimits: boolean;
	seed: number;
	clientSecret: string;
	apiProfile: ApiProfile;
}

const USAGE = `Usage: npm run emulator -- [options]

  --port N          HTTPS port on 127.0.0.1 (default $EMULATOR_PORT or 8443; 0 = any free port)
  --no-stream       do not stream new alerts and updates
  --interval S      seconds between streamed events (default 20)
  --alerts N        alerts to seed (default 50)
  --machines N      machines to seed (default 25)
  --rate-limits     enforce Defender's documented rate limits
  --seed N          data generator seed (default 1)
  --profile NAME    API profile of the alert and incident lists (default $EMULATOR_PROFILE or ordered):
                    ordered         $orderby honoured, any operator on any filterable property
                                    (incidents: one key, createdDateTime or lastUpdateDateTime)
                    ignoresOrderby  $orderby checked, then ignored: newest first (alertCreationTime /
                                    createdDateTime desc, then id desc)
                    documentedOnly  only what Microsoft documents; the rest is a 400 (MDE: no $orderby,
                                    id only with eq; Graph alerts: one $orderby key, id only with eq, no
                                    incidentId; incidents: no $orderby)
  --client-secret S secret of the default client (default $EMULATOR_CLIENT_SECRET or a fixed demo
                    secret, so saved n8n credentials keep working across restarts)
  --help            show this help`;

function parseArgs(argv: string[]): CliOptions {
	const options: CliOptions = {
		port: Number(process.env.EMULATOR_PORT ?? 8443),
		stream: true,
		alerts: 50,
		machines: 25,
		intervalSeconds: 20,
		rateLimits: false,
		seed: 1,
		clientSecret: process.env.EMULATOR_CLIENT_SECRET ?? 'emu~local-demo-secret-not-for-production',
		apiProfile: 'ordered',
	};
	const profile = (source: string, value: string | undefined): ApiProfile => {
		try {
			return toApiProfile(value);
		} catch {
			throw new Error(`${source}: unknown API profile '${value ?? ''}'; valid profiles: ${API_PROFILES.join(', ')}`);
		}
	};
	let profileFlag = false;
	const number = (flag: string, value: string | undefined): number => {
		const n = Number(value);
		if (value === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number`);
		return n;
	};
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		switch (arg) {
			case '--port':
				options.port = number(arg, argv[++i]);
				break;
			case '--no-stream':
				options.stream = false;
				break;
			case '--interval':
				options.intervalSeconds = Math.max(0.1, number(arg, argv[++i]));
				break;
			case '--alerts':
				options.alerts = number(arg, argv[++i]);
				break;
			case '--machines':
				options.machines = number(arg, argv[++i]);
				break;
			case '--rate-limits':
				options.rateLimits = true;
				break;
			case '--seed':
				options.seed = number(arg, argv[++i]);
				break;
			case '--profile':
				options.apiProfile = profile(arg, argv[++i]);
				profileFlag = true;
				break;
			case '--client-secret':
				options.clientSecret = argv[++i] ?? '';
				if (!options.clientSecret) throw new Error('--client-secret needs a value');
				break;
			case '--help':
			case '-h':
				process.stdout.write(USAGE + '\n');
				process.exit(0);
				break;
			default:
				throw new Error(`Unknown option ${arg}\n\n${USAGE}`);
		}
	}
	if (!profileFlag && process.env.EMULATOR_PROFILE) options.apiProfile = profile('EMULATOR_PROFILE', process.env.EMULATOR_PROFILE);
	return options;
}

const log = (line: string): void => {
	process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

/**
 * One streamed tick: 1-3 new alerts, each opening a new incident or (about a third of them) joining one of the
 * last few incidents, and moves 1-2 older alerts along New → InProgress → Resolved.
 */
function streamTick(emu: Emulator, rng: Rng): void {
	for (let i = rng.int(1, 3); i > 0; i--) {
		const recent = Array.from(new Set(emu.alerts.all().slice(-10).map((a) => a.incidentId).filter((id) => id !== null)));
		const join = recent.length > 0 && rng.chance(0.35) ? rng.pick(recent) : undefined;
		const alert = join === undefined ? emu.alerts.create({}) : emu.incidents.createAlert(join, {});
		log(
			`new alert ${alert.id} ${alert.severity} ${alert.category}: ${alert.title} (${alert.computerDnsName ?? 'no device'}), ` +
				`${join === undefined ? 'opens' : 'joins'} incident ${alert.incidentId ?? 'none'}`,
		);
	}
	const open = emu.alerts
		.all()
		.slice(-300)
		.filter((a) => a.status === 'New' || a.status === 'InProgress');
	for (let i = Math.min(open.length, rng.int(1, 2)); i > 0; i--) {
		const alert = rng.pick(open);
		const patch: Partial<Alert> =
			alert.status === 'New'
				? { status: 'InProgress', assignedTo: rng.pick(ANALYSTS) }
				: rng.chance(0.6)
					? { status: 'Resolved', classification: 'TruePositive', determination: 'Malware' }
					: { status: 'Resolved', classification: 'FalsePositive', determination: 'Clean' };
		const updated = emu.alerts.update(alert.id, patch);
		log(`updated ${updated.id}: ${alert.status} → ${updated.status}${updated.assignedTo ? ` (${updated.assignedTo})` : ''}`);
	}
}

/** New alerts and lifecycle updates every `intervalSeconds` (also used by `npm start`). */
export function startAlertStream(
	emu: Emulator,
	options: { intervalSeconds?: number; seed?: number } = {},
): { stop(): void } {
	const rng = new Rng((options.seed ?? 1) + 1000);
	const timer = setInterval(() => streamTick(emu, rng), (options.intervalSeconds ?? 20) * 1000);
	return { stop: () => clearInterval(timer) };
}

async function main(): Promise<void> {
	const options = parseArgs(process.argv.slice(2));
	const emu = await startEmulator({
		port: options.port,
		rateLimits: options.rateLimits,
		seed: options.seed,
		clientSecret: options.clientSecret,
		apiProfile: options.apiProfile,
	});
	emu.machines.seed(options.machines);
	// About a third of seeded alerts join the incident of the one before: single- and multi-alert incidents.
	emu.alerts.seed(options.alerts, { from: new Date(emu.clock.now().getTime() - 3 * 86400000) });

	process.stdout.write(
		[
			`Microsoft Defender for Endpoint emulator listening on ${emu.url}`,
			``,
			`  Authority host   ${emu.url}`,
			`  API base URL     ${emu.url}  (MDE /api/..., Graph /v1.0/...)`,
			`  Tenant ID        ${emu.tenantId}`,
			`  Client ID        ${emu.client.clientId}`,
			`  Client secret    ${emu.client.clientSecret}`,
			`  CA certificate   ${emu.caCertPath}`,
			`  Admin API        ${emu.url}/_emulator/info`,
			`  API profile      ${emu.apiProfile}  (alert and incident lists; PUT ${emu.url}/_emulator/profile to change)`,
			``,
			`Trust the CA in the process that calls the emulator (for example n8n):`,
			`  export NODE_EXTRA_CA_CERTS=${emu.caCertPath}`,
			``,
			`Seeded ${emu.machines.all().length} machines and ${emu.alerts.all().length} alerts in ${emu.incidents.list().length} incidents.` +
				(options.stream ? ` Streaming events every ${options.intervalSeconds} s.` : ' Streaming is off.'),
			`Press Ctrl+C to stop.`,
			``,
		].join('\n'),
	);

	const stream = options.stream ? startAlertStream(emu, { intervalSeconds: options.intervalSeconds, seed: options.seed }) : undefined;

	let stopping = false;
	const stop = (signal: string): void => {
		if (stopping) return;
		stopping = true;
		stream?.stop();
		log(`${signal}: shutting down`);
		emu.close().then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) {
	main().catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
		process.exit(1);
	});
}
