/**
 * The Microsoft Defender action node run as the action tests run it: through n8n-core's ExecuteContext
 * (helpers/n8n.ts) with the emulator's credential, the first output returned; and the error a failing run gives.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MicrosoftDefender } from '../../nodes/MicrosoftDefender/MicrosoftDefender.node';
import { createHarness, emulatorCredentials, executeNode, type EmulatorLike } from './n8n';
import type { Observer } from './observed';

export interface RunOptions {
	continueOnFail?: boolean;
	/** Another app registration than the emulator's own. */
	client?: { clientId: string; clientSecret: string };
}

/**
 * `run(parameters, items, options)` for a test file. `emulator` is read at each run (the emulator starts in
 * beforeAll); `defaults` go under each run's parameters; an `observer` sees each run's result or error.
 */
export function actionRunner(
	emulator: () => EmulatorLike,
	setup: { defaults?: IDataObject; observer?: Observer } = {},
): (parameters: IDataObject, items?: INodeExecutionData[], options?: RunOptions) => Promise<INodeExecutionData[]> {
	return async (parameters, items = [{ json: {} }], options = {}) => {
		const emu = emulator();
		const nodeType = new MicrosoftDefender();
		const nodeParameters = setup.defaults ? { ...setup.defaults, ...parameters } : parameters;
		const h = createHarness(nodeType, 'microsoftDefender', nodeParameters, emulatorCredentials(emu, options.client));
		if (options.continueOnFail) h.node.onError = 'continueRegularOutput';
		const execute = async () => await executeNode(h, nodeType, items);
		const [output] = setup.observer ? await setup.observer.captured(execute) : await execute();
		return output;
	};
}

/** The error a run fails with (the test fails if it does not). */
export async function failure(promise: Promise<unknown>): Promise<Error & { description?: string; httpCode?: string }> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(Error);
	return error as Error & { description?: string; httpCode?: string };
}
