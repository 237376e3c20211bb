/**
 * Runs the nodes inside n8n's own execution contexts from n8n-core (PollContext, ExecuteContext) with a real
 * n8n-workflow Workflow. What is not real: the credential store (an in-memory credentialsHelper returns the
 * decrypted credential) and the scheduler (tests call poll() themselves, and `N8nPollLoop` reproduces when n8n
 * persists static data: only when a poll returns items, and never for manual runs).
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

process.env.N8N_USER_FOLDER ??= mkdtempSync(join(tmpdir(), 'n8n-user-'));

import { ExecuteContext, LoadOptionsContext, PollContext } from 'n8n-core';
import { proxyRequestToAxios } from 'n8n-core/dist/execution-engine/node-execution-context/utils/request-helpers/legacy-request-adapter';
import {
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentialTestFunctions,
	type ICredentialsDecrypted,
	type INodeCredentialTestResult,
	type IDataObject,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type INodeTypes,
	type IRunExecutionData,
	type IWorkflowExecuteAdditionalData,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

export interface EmulatorLike {
	url: string;
	tenantId: string;
	client: { clientId: string; clientSecret: string };
}

/** The credential a user would enter to reach the emulator ("Custom Endpoints"). */
export function emulatorCredentials(
	emu: EmulatorLike,
	client: { clientId: string; clientSecret?: string } = emu.client,
	overrides: IDataObject = {},
): ICredentialDataDecryptedObject {
	return {
		environment: 'custom',
		authorityHost: emu.url,
		apiBaseUrl: emu.url,
		graphBaseUrl: emu.url,
		tenantId: emu.tenantId,
		clientId: client.clientId,
		authentication: 'clientSecret',
		clientSecret: client.clientSecret ?? '',
		...overrides,
	};
}

function nodeTypesFor(nodeType: INodeType): INodeTypes {
	return {
		getByName: () => nodeType,
		getByNameAndVersion: () => nodeType,
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
}

function additionalDataFor(getCredentials: () => ICredentialDataDecryptedObject): IWorkflowExecuteAdditionalData {
	return {
		credentialsHelper: {
			getDecrypted: async () => getCredentials(),
			getParentTypes: () => [],
			authenticate: async (_c: unknown, _t: unknown, options: unknown) => options,
			isCredentialUsableByNode: () => true,
			getCredentialsProperties: () => [],
		},
		executionId: 'test-execution',
		restApiUrl: 'http://localhost:5678/rest',
		instanceBaseUrl: 'http://localhost:5678/',
		webhookBaseUrl: 'http://localhost:5678/webhook',
		webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
		formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
		variables: {},
		currentNodeParameters: undefined,
		userId: 'test-user',
	} as unknown as IWorkflowExecuteAdditionalData;
}

export interface NodeHarness {
	workflow: Workflow;
	node: INode;
	credentials: ICredentialDataDecryptedObject;
}

export function createHarness(
	nodeType: INodeType,
	typeName: string,
	parameters: IDataObject,
	credentials: ICredentialDataDecryptedObject,
	nodeName = 'Defender',
): NodeHarness {
	const node: INode = {
		id: 'node-1',
		name: nodeName,
		type: typeName,
		typeVersion: 1,
		position: [0, 0],
		parameters: parameters as INode['parameters'],
		credentials: { microsoftDefenderApi: { id: 'cred-1', name: 'Defender emulator' } },
	};
	const workflow = new Workflow({
		id: 'wf-1',
		name: 'Test workflow',
		nodes: [node],
		connections: {},
		active: true,
		nodeTypes: nodeTypesFor(nodeType),
		staticData: {},
	});
	return { workflow, node, credentials };
}

/** What n8n's scheduler hands a PollContext besides the workflow (see PollContext's constructor in n8n-core). */
export interface PollRuntime {
	/** `getPollBudgetMs()`; n8n-core's default (5 minutes) when absent. */
	budgetMs?: number;
	/** Durable cursors: the node's static data is this per-poll snapshot... */
	staticData?: IDataObject;
	/** ...which n8n persists when `__commitCursor` is called. */
	commitCursor?: () => Promise<void>;
	activation?: 'activate' | 'update' | 'init';
	/** Collects what the node logs (`level message`) instead of n8n's logger. */
	logs?: string[];
}

/** A real PollContext for the harness's node (also a handy IPollFunctions for transport tests). */
export function pollContext(harness: NodeHarness, mode: WorkflowExecuteMode = 'trigger', runtime: PollRuntime = {}): PollContext {
	const unused = () => {
		throw new Error('not used by poll()');
	};
	const context = new PollContext(
		harness.workflow,
		harness.node,
		additionalDataFor(() => harness.credentials),
		mode,
		mode === 'manual' ? 'manual' : runtime.activation ?? 'activate',
		unused,
		unused,
		runtime.commitCursor,
		undefined,
		runtime.staticData ? () => runtime.staticData as IDataObject : undefined,
		runtime.budgetMs !== undefined ? () => runtime.budgetMs as number : undefined,
	);
	const logs = runtime.logs;
	if (logs) {
		const log = (level: string) => (message: string) => logs.push(`${level} ${message}`);
		Object.defineProperty(context, 'logger', {
			value: { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') },
		});
	}
	return context;
}

/** One poll through a real PollContext. */
export async function pollOnce(
	harness: NodeHarness,
	nodeType: INodeType,
	mode: WorkflowExecuteMode = 'trigger',
	runtime: PollRuntime = {},
): Promise<INodeExecutionData[][] | null> {
	return await nodeType.poll!.call(pollContext(harness, mode, runtime));
}

/**
 * The context n8n gives a node's credentialTest method: its legacy `request` helper is n8n-core's own
 * request-to-axios adapter, as in n8n's CredentialsTester.
 */
export function credentialTestContext(logLines: string[] = []): ICredentialTestFunctions {
	const log = (level: string) => (message: string, meta?: unknown) =>
		logLines.push(`${level} ${message} ${meta ? JSON.stringify(meta) : ''}`);
	return {
		logger: { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') },
		helpers: {
			request: async (uriOrObject: string | object, options?: object) =>
				await proxyRequestToAxios(undefined, undefined, undefined, uriOrObject as never, options as never),
		},
	} as unknown as ICredentialTestFunctions;
}

/** Runs a node's credentialTest method on a `microsoftDefenderApi` credential, as n8n's CredentialsTester does. */
export async function runCredentialTest(
	test: (this: ICredentialTestFunctions, credential: ICredentialsDecrypted) => Promise<INodeCredentialTestResult>,
	data: IDataObject,
	logLines: string[] = [],
): Promise<INodeCredentialTestResult> {
	return await test.call(credentialTestContext(logLines), { id: 'c', name: 'c', type: 'microsoftDefenderApi', data: data as never });
}

export function nodeStaticData(harness: NodeHarness): IDataObject {
	return harness.workflow.getStaticData('node', harness.node);
}

/** How n8n 2.41 keeps a polling node's static data (see shared/reference/verified-here.md). */
export type Persistence = 'classic' | 'durable';

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? {})) as T;

/**
 * Polls like n8n 2.41 does.
 * - classic: one live static data object; n8n saves it to the database when a poll returns items and once after
 *   the activation poll (workflow-trigger-activator), never for manual runs; a restart brings back the saved copy.
 * - durable cursors: each poll gets a copy of the saved cursor; it is saved with the items, or after a poll that
 *   returned null and changed it, or when the node calls `__commitCursor`; the activation poll's null result is
 *   dropped. Budget: `getPollBudgetMs()` as n8n passes it (36 s for scheduled durable polls by default).
 * A failed poll saves nothing.
 */
export class N8nPollLoop {
	/** What the database holds: the workflow's static data (classic) or the node's cursor row (durable). */
	persisted: IDataObject = {};

	readonly emitted: IDataObject[][] = [];

	failures = 0;

	private polls = 0;

	constructor(
		private readonly harness: NodeHarness,
		private readonly nodeType: INodeType,
		readonly persistence: Persistence = 'classic',
		/** `getPollBudgetMs()` of every poll (n8n gives 36 s to scheduled durable polls, 5 minutes otherwise). */
		private readonly budgetMs?: number,
		/** Where the node's log lines go (see PollRuntime.logs). */
		readonly logs?: string[],
	) {}

	/** The node's saved state (what a restart would resume from). */
	savedNodeState(): IDataObject {
		return this.persistence === 'durable'
			? copy(this.persisted)
			: copy((this.persisted[`node:${this.harness.node.name}`] as IDataObject) ?? {});
	}

	async poll(): Promise<IDataObject[] | null> {
		const activation = this.polls++ === 0;
		try {
			const result = this.persistence === 'durable' ? await this.durablePoll(activation) : await this.classicPoll(activation);
			if (!result) return null;
			const items = result[0].map((i) => i.json);
			this.emitted.push(items);
			return items;
		} catch (error) {
			this.failures++;
			throw error;
		}
	}

	private async classicPoll(activation: boolean): Promise<INodeExecutionData[][] | null> {
		const result = await pollOnce(this.harness, this.nodeType, 'trigger', { budgetMs: this.budgetMs, logs: this.logs });
		if (result || activation) this.persisted = copy(this.harness.workflow.staticData as IDataObject);
		return result;
	}

	private async durablePoll(activation: boolean): Promise<INodeExecutionData[][] | null> {
		let seed = JSON.stringify(this.persisted);
		const snapshot = copy(this.persisted);
		const commitCursor = async () => {
			this.persisted = copy(snapshot);
			seed = JSON.stringify(snapshot);
		};
		const result = await pollOnce(this.harness, this.nodeType, 'trigger', {
			staticData: snapshot,
			commitCursor,
			activation: activation ? 'activate' : 'update',
			budgetMs: this.budgetMs,
			logs: this.logs,
		});
		if (result || (!activation && JSON.stringify(snapshot) !== seed)) this.persisted = copy(snapshot);
		return result;
	}

	/** n8n stopped and started again: static data as last persisted. */
	restart(): void {
		// Classic n8n runs an activation poll again at start-up (and saves after it); durable cursors do not.
		if (this.persistence === 'durable') return;
		this.polls = 0;
		const data = copy(this.persisted);
		const live = this.harness.workflow.staticData as IDataObject;
		for (const key of Object.keys(live)) delete live[key];
		Object.assign(live, data);
	}

	allEmitted(): IDataObject[] {
		return this.emitted.flat();
	}
}

/** Runs an action node's execute() through a real ExecuteContext with the given input items. */
export async function executeNode(
	harness: NodeHarness,
	nodeType: INodeType,
	items: INodeExecutionData[] = [{ json: {} }],
): Promise<INodeExecutionData[][]> {
	const runExecutionData = {
		startData: {},
		resultData: { runData: {} },
		executionData: {
			contextData: {},
			nodeExecutionStack: [],
			metadata: {},
			waitingExecution: {},
			waitingExecutionSource: {},
		},
	} as unknown as IRunExecutionData;
	const executeData = { node: harness.node, data: { main: [items] }, source: null };
	const context = new ExecuteContext(
		harness.workflow,
		harness.node,
		additionalDataFor(() => harness.credentials),
		'manual',
		runExecutionData,
		0,
		items,
		{ main: [items] },
		executeData,
		[],
	);
	return (await nodeType.execute!.call(context)) as INodeExecutionData[][];
}

/** A real LoadOptionsContext (resource-locator list searches) for the harness's node and parameter path. */
export function loadOptionsContext(harness: NodeHarness, path: string): LoadOptionsContext {
	return new LoadOptionsContext(harness.workflow, harness.node, additionalDataFor(() => harness.credentials), path);
}
