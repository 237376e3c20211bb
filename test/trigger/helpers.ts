import type { IDataObject } from 'n8n-workflow';

import { MicrosoftDefenderTrigger } from '../../nodes/MicrosoftDefender/MicrosoftDefenderTrigger.node';
import type { Emulator } from '../emulator';
import { createHarness, emulatorCredentials, nodeStaticData, pollOnce, type NodeHarness } from '../helpers/n8n';

export const trigger = new MicrosoftDefenderTrigger();

export function triggerHarness(emu: Emulator, parameters: IDataObject = {}): NodeHarness {
	return createHarness(
		trigger,
		'microsoftDefenderTrigger',
		{
			statuses: [],
			severities: [],
			categories: [],
			customCategories: '',
			maxHistoricalPollStart: '1 day ago',
			triggerOnUpdates: false,
			...parameters,
			options: { includeEvidence: false, ...((parameters.options as IDataObject) ?? {}) },
		},
		emulatorCredentials(emu),
		'Defender Trigger',
	);
}

/** Ids emitted by one poll (empty when it returned null). */
export async function pollIds(harness: NodeHarness): Promise<string[]> {
	const result = await pollOnce(harness, trigger);
	return result ? result[0].map((item) => String(item.json.id)) : [];
}

export async function pollItems(harness: NodeHarness): Promise<IDataObject[]> {
	const result = await pollOnce(harness, trigger);
	return result ? result[0].map((item) => item.json) : [];
}

export function cursorState(harness: NodeHarness): IDataObject {
	return JSON.parse(JSON.stringify(nodeStaticData(harness))) as IDataObject;
}

/** A timestamp with 7 fractional digits: `ms` plus `ticks` hundred-nanosecond ticks. */
export function ts7(ms: number, ticks = 0): string {
	const iso = new Date(ms).toISOString();
	const fraction = String((ms % 1000) * 10_000 + ticks).padStart(7, '0');
	return `${iso.slice(0, 19)}.${fraction}Z`;
}

/** The queries of the alert list requests the emulator received, oldest first. */
export function alertListQueries(emu: Emulator, path = '/api/alerts'): Array<Record<string, string>> {
	return emu.requestLog.filter((r) => r.method === 'GET' && r.path === path).map((r) => r.query);
}
