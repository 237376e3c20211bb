import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { validateDateTime, validateIp } from '../../helpers/validation';
import { DefenderApiError, sendDefenderRequest, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';

const properties: INodeProperties[] = [
	{
		displayName: 'IP Address',
		name: 'ip',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'e.g. 10.248.240.38',
		description: 'Internal IP address (IPv4 or IPv6) the machine used',
	},
	{
		displayName: 'Timestamp',
		name: 'timestamp',
		type: 'dateTime',
		default: '',
		description:
			'When the machine used the address; Defender matches 15 minutes either side and only within the last 30 days. Empty means now.',
	},
];

export const description = updateDisplayOptions({ show: { resource: ['machine'], operation: ['findByIp'] } }, properties);

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const ip = validateIp(this.getNodeParameter('ip', itemIndex), 'IP Address');
	const rawTimestamp = this.getNodeParameter('timestamp', itemIndex, '') as string;
	const iso = rawTimestamp ? validateDateTime(rawTimestamp, 'Timestamp') : new Date().toISOString();
	const timestamp = `${iso.slice(0, 19)}Z`;
	let machines: IDataObject[] = [];
	try {
		const response = await sendDefenderRequest(transport, {
			method: 'GET',
			// The documented OData function call; the IP and timestamp are validated, so nothing else reaches the path.
			path: `/api/machines/findbyip(ip='${ip}',timestamp=${timestamp})`,
		});
		machines = (response.body as { value?: IDataObject[] })?.value ?? [];
	} catch (error) {
		if (!(error instanceof DefenderApiError && error.status === 404)) throw error;
	}
	return toOutput(this, itemIndex, machines);
}
