/** The client-side limiter with a fake clock: exact, and independent of the machine's speed. */
import { rateLimitFamily, RateLimitWaitError, SlidingWindowLimiter } from '../../nodes/MicrosoftDefender/transport/rateLimiter';

function fakeClock() {
	let now = 0;
	const sleeps: number[] = [];
	return {
		sleeps,
		now: () => now,
		advance: (ms: number) => (now += ms),
		sleep: async (ms: number) => {
			sleeps.push(ms);
			now += ms;
			// Yield like a real timer would, so other work (a response arriving) can run in between.
			await new Promise((r) => setImmediate(r));
		},
	};
}

/** Largest number of stamps in any window of `windowMs` (stamps are sorted). */
function maxInWindow(stamps: number[], windowMs: number): number {
	let best = 0;
	for (let i = 0, j = 0; j < stamps.length; j++) {
		while (stamps[j] - stamps[i] >= windowMs) i++;
		best = Math.max(best, j - i + 1);
	}
	return best;
}

test('250 sequential calls at 100/min: never more than 100 in any minute, and the calls wait instead', async () => {
	const clock = fakeClock();
	const limiter = new SlidingWindowLimiter(clock);
	const arrivals: number[] = [];
	for (let i = 0; i < 250; i++) {
		const settled = await limiter.acquire('k', [{ max: 100, windowMs: 60_000 }]);
		arrivals.push(clock.now() + 5); // the API counts the call 5 ms later...
		clock.advance(20); // ...and answers after 20 ms
		settled();
	}
	expect(maxInWindow(arrivals, 60_000)).toBe(100);
	expect(clock.sleeps.length).toBeGreaterThanOrEqual(2);
	// 250 calls need two full windows of waiting: about 2 minutes.
	expect(clock.now()).toBeGreaterThanOrEqual(120_000);
	expect(clock.now()).toBeLessThan(125_000);
});

test('the hourly limit applies too, and time scaling shortens every window', async () => {
	const clock = fakeClock();
	const limiter = new SlidingWindowLimiter(clock);
	const stamps: number[] = [];
	for (let i = 0; i < 1600; i++) {
		const settled = await limiter.acquire('k', [{ max: 100, windowMs: 60_000 }, { max: 1500, windowMs: 3_600_000 }], 60);
		stamps.push(clock.now());
		clock.advance(1);
		settled();
	}
	expect(maxInWindow(stamps, 1_000)).toBeLessThanOrEqual(100);
	expect(maxInWindow(stamps, 60_000)).toBeLessThanOrEqual(1500);
	expect(stamps[1500]).toBeGreaterThanOrEqual(60_000); // the 1,501st call waited for the scaled hour
});

test('calls in flight count inside every window until their response arrives', async () => {
	const clock = fakeClock();
	const limiter = new SlidingWindowLimiter(clock);
	const pending = [];
	for (let i = 0; i < 2; i++) pending.push(await limiter.acquire('k', [{ max: 2, windowMs: 1000 }]));
	let third = false;
	const next = limiter.acquire('k', [{ max: 2, windowMs: 1000 }]).then((s) => {
		third = true;
		return s;
	});
	clock.advance(5000); // long after the window, but both calls are still in flight
	for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
	expect(third).toBe(false);
	pending[0](); // its response arrives now: the window counts from here
	const released = clock.now();
	(await next)();
	expect(third).toBe(true);
	expect(clock.now()).toBeGreaterThanOrEqual(released + 1000);
});

test('endpoint families follow the documented limits', () => {
	expect(rateLimitFamily('POST', '/api/alerts/batchUpdate').limits[0]).toEqual({ max: 10, windowMs: 60_000 });
	expect(rateLimitFamily('GET', '/api/machineactions/abc/GetPackageUri').limits[0]).toEqual({ max: 2, windowMs: 60_000 });
	expect(rateLimitFamily('POST', '/api/machines/a1/isolate').family).toBe(rateLimitFamily('POST', '/api/machines/b2/isolate').family);
	expect(rateLimitFamily('POST', '/api/machines/a1/isolate').family).not.toBe(rateLimitFamily('POST', '/api/machines/a1/unisolate').family);
	expect(rateLimitFamily('GET', '/v1.0/security/alerts_v2').limits[0]).toEqual({ max: 150, windowMs: 60_000 });
});

test('concurrent callers (several executions at once) share the budget and never leak a slot', async () => {
	const clock = fakeClock();
	const limiter = new SlidingWindowLimiter(clock);
	const stamps: number[] = [];
	const worker = async () => {
		for (let i = 0; i < 150; i++) {
			const settled = await limiter.acquire('k', [{ max: 100, windowMs: 60_000 }]);
			await new Promise((r) => setImmediate(r)); // the request is in flight
			stamps.push(clock.now());
			clock.advance(10);
			settled();
		}
	};
	await Promise.all([worker(), worker(), worker()]);
	stamps.sort((a, b) => a - b);
	expect(stamps).toHaveLength(450);
	expect(maxInWindow(stamps, 60_000)).toBeLessThanOrEqual(100);
	expect(clock.now()).toBeLessThan(5 * 60_000); // 450 calls: four waits of a minute, not a deadlock
});

test('with a deadline, a wait for room that would run past it throws at once, saying when the room comes', async () => {
	const clock = fakeClock();
	const limiter = new SlidingWindowLimiter(clock);
	const limits = [{ max: 2, windowMs: 60_000 }];
	for (let i = 0; i < 2; i++) (await limiter.acquire('k', limits, 1, 30_000))();
	clock.advance(1_000);
	// The window frees at 60,000 ms (+1); the caller must be done by 30,000 ms.
	const error = await limiter.acquire('k', limits, 1, 30_000).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(RateLimitWaitError);
	expect(error).toMatchObject({ waitMs: 59_001, freeAt: 60_001 });
	expect(clock.sleeps).toEqual([]);
	// A deadline the room fits in waits as before.
	(await limiter.acquire('k', limits, 1, 61_000))();
	expect(clock.sleeps).toEqual([59_001]);
});
