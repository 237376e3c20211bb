#!/usr/bin/env node
/**
 * PostgreSQL and Redis for the queue-mode end-to-end test (n8n with EXECUTIONS_MODE=queue), started by the repo
 * itself on a fresh Debian machine, with no manual step:
 *
 *   ensurePostgres()  Debian's `postgresql` (apt-get, once) → a private cluster in
 *                     <tmp>/n8n-nodes-microsoft-defender-services/pg<major> (initdb once, run as the `postgres` OS
 *                     user when we are root), started with pg_ctl on a free loopback port; trust auth, loopback only.
 *   ensureRedis()     Debian's `redis-server` (apt-get, once) → a child process on a free loopback port, nothing
 *                     persisted (`--save '' --appendonly no`).
 *
 * Both are idempotent (a second call in the same process returns the same instance; a cluster left running by an
 * earlier run is reused) and return connection details, `stop()` and `timings` (what each step took). Debian's
 * package scripts do not start the system services here (policy-rc.d), and we never use them: the private
 * instances are ours. What is slow is cached: the packages stay installed, the cluster directory is kept (initdb
 * runs once) and `templateDatabase()` keeps a database n8n has already migrated, which each run copies.
 *
 * CLI: `node scripts/services.js` starts both, prints the connection details as JSON and stops them on Ctrl-C.
 */
'use strict';
const { execFileSync, spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const BASE_DIR = process.env.MDE_SERVICES_DIR || path.join(os.tmpdir(), 'n8n-nodes-microsoft-defender-services');
const PG_SUPERUSER = 'postgres';

function log(message) {
	process.stderr.write(`[services] ${message}\n`);
}

/** Runs fn, records how long it took under `step`, and returns its value. */
async function timed(timings, step, fn) {
	const started = Date.now();
	try {
		return await fn();
	} finally {
		const ms = Date.now() - started;
		timings.push({ step, ms });
		log(`${step}: ${(ms / 1000).toFixed(1)} s`);
	}
}

async function freePort() {
	return await new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs fn holding a lock (a directory made atomically), so two test runs on one machine do not start the shared
 * cluster or build the template at the same time. A lock older than 10 minutes is taken as left by a dead run.
 */
async function withLock(lockDir, fn) {
	const deadline = Date.now() + 10 * 60_000;
	for (;;) {
		try {
			fs.mkdirSync(lockDir);
			break;
		} catch (error) {
			if (error.code !== 'EEXIST') throw error;
			let age = 0;
			try {
				age = Date.now() - fs.statSync(lockDir).mtimeMs;
			} catch {
				continue;
			}
			if (age > 10 * 60_000 || Date.now() > deadline) fs.rmSync(lockDir, { recursive: true, force: true });
			else await sleep(200);
		}
	}
	try {
		return await fn();
	} finally {
		fs.rmSync(lockDir, { recursive: true, force: true });
	}
}

function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
}

/** Processes (other than this one) that registered as users of the cluster and still run. */
function otherUsers(usersDir) {
	let entries = [];
	try {
		entries = fs.readdirSync(usersDir);
	} catch {
		return [];
	}
	return entries.map(Number).filter((pid) => pid !== process.pid && Number.isInteger(pid) && alive(pid));
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function which(binary) {
	for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
		const candidate = path.join(dir, binary);
		try {
			fs.accessSync(candidate, fs.constants.X_OK);
			return candidate;
		} catch {
			/* next */
		}
	}
	return undefined;
}

// ---------------------------------------------------------------------------------------------------------- apt

function aptListsPresent() {
	try {
		return fs.readdirSync('/var/lib/apt/lists').some((f) => /_Packages(\.|$)/.test(f));
	} catch {
		return false;
	}
}

function aptGet(args) {
	const runner = isRoot() ? [] : which('sudo') ? ['sudo', '-n', '-E'] : undefined;
	if (!runner) throw new Error(`apt-get ${args.join(' ')} needs root (or passwordless sudo); install the packages by hand`);
	const [cmd, ...rest] = [...runner, 'apt-get', '-o', 'DPkg::Lock::Timeout=300', ...args];
	execFileSync(cmd, rest, {
		stdio: ['ignore', 'ignore', 'inherit'],
		env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' },
	});
}

/**
 * `apt-get install -y` of Debian packages: `apt-get update` first when the machine has no package lists, and once
 * more if the install fails (stale lists name files the mirror no longer has).
 */
async function aptInstall(packages, timings) {
	if (!which('apt-get')) throw new Error(`${packages.join(', ')} missing and no apt-get here: install them by hand`);
	const install = ['install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...packages];
	if (!aptListsPresent()) await timed(timings, 'apt-get update', () => aptGet(['update']));
	try {
		await timed(timings, `apt-get install ${packages.join(' ')}`, () => aptGet(install));
	} catch (error) {
		log(`apt-get install failed (${error.message.split('\n')[0]}); apt-get update, then once more`);
		await timed(timings, 'apt-get update', () => aptGet(['update']));
		await timed(timings, `apt-get install ${packages.join(' ')} (retry)`, () => aptGet(install));
	}
}

// ------------------------------------------------------------------------------------------------------ Chromium

/**
 * Debian's Chromium for the editor test (registry packages that download their own browser cannot reach the
 * internet here), with the Liberation fonts so screenshots render text as on a desktop. Returns its path.
 */
async function ensureChromium(timings = []) {
	const found = which('chromium');
	if (found) return found;
	await aptInstall(['chromium', 'fonts-liberation'], timings);
	const installed = which('chromium');
	if (!installed) throw new Error('apt-get installed chromium, but no chromium binary is on the PATH');
	return installed;
}

// --------------------------------------------------------------------------------------------------- PostgreSQL

/** The newest PostgreSQL server Debian's packages installed (/usr/lib/postgresql/<major>/bin), if any. */
function findPostgresBin() {
	const root = '/usr/lib/postgresql';
	let majors = [];
	try {
		majors = fs
			.readdirSync(root)
			.filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(root, v, 'bin', 'postgres')) && fs.existsSync(path.join(root, v, 'bin', 'initdb')))
			.sort((a, b) => Number(b) - Number(a));
	} catch {
		/* none */
	}
	if (majors.length > 0) return { major: majors[0], bin: path.join(root, majors[0], 'bin') };
	return undefined;
}

/** Runs a PostgreSQL server program as the `postgres` OS user when we are root (the server refuses root). */
function pgCommand(pg, program, args) {
	const binary = path.join(pg.bin, program);
	if (!isRoot()) return [binary, args];
	const runuser = which('runuser');
	if (runuser) return [runuser, ['-u', PG_SUPERUSER, '--', binary, ...args]];
	const quoted = [binary, ...args].map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`).join(' ');
	return [which('su') || 'su', [PG_SUPERUSER, '-s', '/bin/sh', '-c', quoted]];
}

function runPg(pg, program, args, options = {}) {
	const [cmd, argv] = pgCommand(pg, program, args);
	return spawnSync(cmd, argv, { encoding: 'utf8', cwd: '/', ...options });
}

function ensureOsUser() {
	if (!isRoot()) return;
	const found = spawnSync('id', ['-u', PG_SUPERUSER], { encoding: 'utf8' });
	if (found.status === 0) return;
	// Debian's postgresql-common creates it; a server from elsewhere may not have.
	execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', PG_SUPERUSER], { stdio: 'inherit' });
}

function psql(pg, port, database, sql) {
	const out = execFileSync(
		path.join(pg.bin, 'psql'),
		['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', PG_SUPERUSER, '-d', database, '-c', sql],
		{ encoding: 'utf8', env: { ...process.env, PGCONNECT_TIMEOUT: '10' }, maxBuffer: 512 * 1024 * 1024 },
	);
	return out;
}

let postgresPromise;

/**
 * A private PostgreSQL cluster on a free loopback port. Returns `{ host, port, user, password, version, dataDir,
 * query(database, sql) → rows, createDatabase(name, { template }), dropDatabase(name), stop(), timings }`.
 */
function ensurePostgres(options = {}) {
	postgresPromise ??= startPostgres(options).catch((error) => {
		postgresPromise = undefined;
		throw error;
	});
	return postgresPromise;
}

async function startPostgres(options) {
	const timings = [];
	let pg = findPostgresBin();
	if (!pg) {
		await aptInstall(['postgresql'], timings);
		pg = findPostgresBin();
		if (!pg) throw new Error('apt-get installed postgresql, but no server is in /usr/lib/postgresql/<major>/bin');
	}
	ensureOsUser();
	const dataDir = options.dataDir || path.join(BASE_DIR, `pg${pg.major}`);
	const stateFile = `${dataDir}.json`;
	fs.mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o755 });
	fs.chmodSync(path.dirname(dataDir), 0o755);
	const chown = () => {
		if (isRoot()) execFileSync('chown', ['-R', `${PG_SUPERUSER}:`, dataDir]);
	};

	const usersDir = `${dataDir}.users`;
	const port = await withLock(`${dataDir}.lock`, async () => {
		const started = await startCluster(pg, dataDir, stateFile, options, timings, chown);
		fs.mkdirSync(usersDir, { recursive: true });
		fs.writeFileSync(path.join(usersDir, String(process.pid)), '');
		return started;
	});
	return clusterHandle(pg, dataDir, port, usersDir, timings);
}

/** Starts the cluster in dataDir (initdb first if needed), or finds it running (another run's, or left over). */
async function startCluster(pg, dataDir, stateFile, options, timings, chown) {
	let port;
	const status = fs.existsSync(path.join(dataDir, 'PG_VERSION')) ? runPg(pg, 'pg_ctl', ['-D', dataDir, 'status']) : undefined;
	if (status?.status === 0 && fs.existsSync(stateFile)) {
		const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')).port;
		try {
			psql(pg, saved, 'postgres', 'SELECT 1');
			port = saved;
			log(`PostgreSQL ${pg.major} already running on 127.0.0.1:${port} (${dataDir})`);
		} catch {
			runPg(pg, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
		}
	} else if (status?.status === 0) {
		runPg(pg, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
	}

	if (port === undefined) {
		if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
			fs.rmSync(dataDir, { recursive: true, force: true });
			fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
			chown();
			await timed(timings, `initdb (PostgreSQL ${pg.major})`, () => {
				const result = runPg(pg, 'initdb', ['-D', dataDir, '-U', PG_SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
				if (result.status !== 0) throw new Error(`initdb failed:\n${result.stdout}\n${result.stderr}`);
			});
		}
		chown();
		port = options.port ?? (await freePort());
		const serverOptions = [
			`-p ${port}`,
			'-c listen_addresses=127.0.0.1',
			`-c unix_socket_directories=${dataDir}`,
			'-c max_connections=200',
			// A throwaway test database: durability off, for speed.
			'-c fsync=off',
			'-c synchronous_commit=off',
			'-c full_page_writes=off',
		].join(' ');
		await timed(timings, `start PostgreSQL ${pg.major} on 127.0.0.1:${port}`, () => {
			const result = runPg(pg, 'pg_ctl', ['-D', dataDir, '-l', path.join(dataDir, 'server.log'), '-w', '-t', '60', '-o', serverOptions, 'start']);
			if (result.status !== 0) {
				let serverLog = '';
				try {
					serverLog = fs.readFileSync(path.join(dataDir, 'server.log'), 'utf8').slice(-3000);
				} catch {
					/* none */
				}
				throw new Error(`pg_ctl start failed:\n${result.stdout}\n${result.stderr}\n${serverLog}`);
			}
		});
		fs.writeFileSync(stateFile, JSON.stringify({ port, major: pg.major }));
	}
	return port;
}

function clusterHandle(pg, dataDir, port, usersDir, timings) {
	const query = (database, sql) => {
		const out = psql(pg, port, database, `SELECT coalesce(json_agg(t), '[]'::json) FROM (${sql}) t`);
		return JSON.parse(out.trim() || '[]');
	};
	const exec = (database, sql) => psql(pg, port, database, sql);
	const quoteIdent = (name) => `"${String(name).replace(/"/g, '""')}"`;
	const databaseExists = (name) => query('postgres', `SELECT 1 FROM pg_database WHERE datname = '${name.replace(/'/g, "''")}'`).length > 0;
	return {
		host: '127.0.0.1',
		port,
		user: PG_SUPERUSER,
		password: '',
		version: pg.major,
		dataDir,
		timings,
		query,
		exec,
		databaseExists,
		createDatabase(name, { template } = {}) {
			exec('postgres', `CREATE DATABASE ${quoteIdent(name)}${template ? ` TEMPLATE ${quoteIdent(template)}` : ''}`);
		},
		dropDatabase(name) {
			exec('postgres', `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
		},
		/** Stops the cluster, unless another live process still uses it (then only this one's registration goes). */
		async stop() {
			postgresPromise = undefined;
			await withLock(`${dataDir}.lock`, async () => {
				fs.rmSync(path.join(usersDir, String(process.pid)), { force: true });
				const others = otherUsers(usersDir);
				if (others.length > 0) {
					log(`PostgreSQL left running: still used by process ${others.join(', ')}`);
					return;
				}
				await timed(timings, 'stop PostgreSQL', () => {
					runPg(pg, 'pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
				});
			});
		},
	};
}

/**
 * A database `name` that `prepare(database)` has set up once (e.g. n8n's migrations); kept in the cluster as a
 * template while the cluster directory lives. A half-made template (prepare failed) is dropped.
 */
async function templateDatabase(postgres, name, prepare) {
	return await withLock(`${postgres.dataDir}.template-${name}.lock`, () => buildTemplate(postgres, name, prepare));
}

async function buildTemplate(postgres, name, prepare) {
	if (postgres.databaseExists(name)) {
		const marked = postgres.query('postgres', `SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = '${name.replace(/'/g, "''")}'`)[0]?.d;
		if (marked === 'complete') return { name, created: false };
		postgres.dropDatabase(name);
	}
	postgres.createDatabase(name);
	try {
		await prepare(name);
	} catch (error) {
		postgres.dropDatabase(name);
		throw error;
	}
	postgres.exec('postgres', `COMMENT ON DATABASE "${name.replace(/"/g, '""')}" IS 'complete'`);
	return { name, created: true };
}

// -------------------------------------------------------------------------------------------------------- Redis

function redisPing(port, timeoutMs = 1000) {
	return new Promise((resolve) => {
		const socket = net.connect({ host: '127.0.0.1', port });
		let data = '';
		const done = (ok) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(timeoutMs, () => done(false));
		socket.on('error', () => done(false));
		socket.on('connect', () => socket.write('PING\r\n'));
		socket.on('data', (chunk) => {
			data += chunk.toString();
			if (data.includes('\r\n')) done(data.startsWith('+PONG'));
		});
	});
}

let redisPromise;

/** A private redis-server child process on a free loopback port: `{ host, port, version, stop(), timings }`. */
function ensureRedis(options = {}) {
	redisPromise ??= startRedis(options).catch((error) => {
		redisPromise = undefined;
		throw error;
	});
	return redisPromise;
}

async function startRedis(options) {
	const timings = [];
	let binary = which('redis-server');
	if (!binary) {
		await aptInstall(['redis-server'], timings);
		binary = which('redis-server');
		if (!binary) throw new Error('apt-get installed redis-server, but it is not on PATH');
	}
	const version = (spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/) || [])[1];
	const port = options.port ?? (await freePort());
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mde-redis-'));
	const child = await timed(timings, `start Redis ${version ?? ''} on 127.0.0.1:${port}`.replace('  ', ' '), async () => {
		const proc = spawn(
			binary,
			['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--protected-mode', 'yes'],
			{ stdio: ['ignore', 'pipe', 'pipe'] },
		);
		const output = [];
		proc.stdout.on('data', (c) => output.push(c.toString()));
		proc.stderr.on('data', (c) => output.push(c.toString()));
		let exited = false;
		proc.on('exit', () => (exited = true));
		const deadline = Date.now() + 30_000;
		while (!(await redisPing(port))) {
			if (exited || Date.now() > deadline) {
				proc.kill('SIGKILL');
				throw new Error(`redis-server did not start:\n${output.join('').slice(-2000)}`);
			}
			await new Promise((r) => setTimeout(r, 100));
		}
		return proc;
	});
	const killOnExit = () => child.kill('SIGKILL');
	process.once('exit', killOnExit);
	return {
		host: '127.0.0.1',
		port,
		version,
		timings,
		pid: child.pid,
		async stop() {
			redisPromise = undefined;
			process.removeListener('exit', killOnExit);
			await timed(timings, 'stop Redis', async () => {
				if (child.exitCode !== null || child.signalCode !== null) return;
				const exited = new Promise((resolve) => child.once('exit', resolve));
				child.kill('SIGTERM');
				const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
				await exited;
				clearTimeout(timer);
			});
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

module.exports = { ensureChromium, ensurePostgres, ensureRedis, templateDatabase, aptInstall, freePort, alive, BASE_DIR };

if (require.main === module) {
	(async () => {
		const [postgres, redis] = [await ensurePostgres(), await ensureRedis()];
		console.log(
			JSON.stringify({
				postgres: { host: postgres.host, port: postgres.port, user: postgres.user, version: postgres.version, dataDir: postgres.dataDir },
				redis: { host: redis.host, port: redis.port, version: redis.version },
				timings: [...postgres.timings, ...redis.timings],
			}),
		);
		const stop = async () => {
			await redis.stop();
			await postgres.stop();
			process.exit(0);
		};
		process.once('SIGINT', stop);
		process.once('SIGTERM', stop);
	})().catch((error) => {
		console.error(error);
		process.exit(1);
	});
}
