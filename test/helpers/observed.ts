/**
 * Collects what a test run shows a user — results, error messages, descriptions, stacks — so a final test can
 * scan it for secrets (the secret-leak checks of test/foundation).
 */
export interface Observer {
	/** Every text observed so far. */
	readonly observed: string[];
	observe(value: unknown): void;
	/** Runs `work` and observes its result or its error (rethrown). */
	captured<T>(work: () => Promise<T>): Promise<T>;
}

export function createObserver(): Observer {
	const observed: string[] = [];
	const observe = (value: unknown): void => {
		if (value instanceof Error) {
			const e = value as Error & { description?: string; messages?: string[] };
			observed.push(e.message, String(e.description ?? ''), JSON.stringify(e), String(e.stack ?? ''), ...(e.messages ?? []));
		} else {
			observed.push(typeof value === 'string' ? value : JSON.stringify(value));
		}
	};
	return {
		observed,
		observe,
		captured: async <T>(work: () => Promise<T>): Promise<T> => {
			try {
				const result = await work();
				observe(result);
				return result;
			} catch (error) {
				observe(error);
				throw error;
			}
		},
	};
}
