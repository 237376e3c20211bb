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

/** A real PollContext for the harness's node (also a handy IPollFunctions for transport tests). */
export function pollContext(harness: NodeHarness, mode: WorkflowExecuteMode = 'trigger'): PollContext {
	return new PollContext(
		harness.workflow,
		harness.node,
		additionalDataFor(() => harness.credentials),
		mode,
		mode === 'manual' ? 'manual' : 'activate',
	);
}

/** One poll through a real PollContext. */
export async function pollOnce(
	harness: NodeHarness,
	nodeType: INodeType,
	mode: WorkflowExecuteMode = 'trigger',
): Promise<INodeExecutionData[][] | null> {
	return await nodeType.poll!.call(pollContext(harness, mode));
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

export function nodeStaticData(harness: NodeHarness): IDataObject {
	return harness.workflow.getStaticData('node', harness.node);
}

/**
 * Polls like n8n does: static data is persisted only when a poll returns items; a restart brings back the last
 * persisted copy; a failed poll persists nothing.
 */
export class N8nPollLoop {
	private persisted: IDataObject = {};

	readonly emitted: IDataObject[][] = [];

	failures = 0;

	constructor(
		private readonly harness: NodeHarness,
		private readonly nodeType: INodeType,
	) {}

	async poll(): Promise<IDataObject[] | null> {
		try {
			const result = await pollOnce(this.harness, this.nodeType);
			if (!result) return null;
			const items = result[0].map((i) => i.json);
			this.persisted = JSON.parse(JSON.stringify(this.harness.workflow.staticData)) as IDataObject;
			this.emitted.push(items);
			return items;
		} catch (error) {
			this.failures++;
			throw error;
		}
	}

	/** n8n stopped and started again: static data as last persisted. */
	restart(): void {
		const data = JSON.parse(JSON.stringify(this.persisted)) as IDataObject;
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
