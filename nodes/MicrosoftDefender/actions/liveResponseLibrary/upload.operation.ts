/**
 * Live Response Library › Upload: `POST /api/libraryfiles` as multipart/form-data (MicrosoftDocs/defender-docs
 * defender-endpoint/api/upload-library.md): the file, Description, ParametersDescription, HasParameters and
 * OverrideIfExists; 20 MB at most; permission Library.Manage. Answers the library entity.
 */
import { createHash } from 'crypto';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import {
	LIBRARY_MAX_BYTES,
	LIBRARY_PERMISSION,
	validateLibraryFileName,
	withPermissionHint,
} from '../../helpers/liveResponse';
import { InvalidInputError, sendDefenderRequest, transportSettings, type TransportContext } from '../../transport';
import { toOutput, updateDisplayOptions } from '../utils';
import { listLibraryFiles } from './getAll.operation';

const properties: INodeProperties[] = [
	{
		displayName:
			'Scripts in the live response library can be run on every machine of the tenant by Run Live Response. With Override If Exists, a file of the same name is replaced for every workflow and analyst using it.',
		name: 'uploadNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		hint: 'The name of the input binary field holding the file to upload (20 MB at most)',
	},
	{
		displayName: 'Description',
		name: 'fileDescription',
		type: 'string',
		default: '',
		description: 'What the file or script does, shown in the library',
	},
	{
		displayName: 'Has Parameters',
		name: 'hasParameters',
		type: 'boolean',
		default: false,
		description: 'Whether the script takes arguments (the Arguments of a Run Script command)',
	},
	{
		displayName: 'Parameters Description',
		name: 'parametersDescription',
		type: 'string',
		default: '',
		description: 'The arguments the script takes, shown in the library',
		displayOptions: { show: { hasParameters: [true] } },
	},
	{
		displayName: 'Override If Exists',
		name: 'overrideIfExists',
		type: 'boolean',
		default: false,
		description: 'Whether to replace a library file of the same name. When off, Defender refuses the upload if the name is taken.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'File Name',
				name: 'fileName',
				type: 'string',
				default: '',
				placeholder: 'e.g. collect.ps1',
				description: "Name to give the file in the library, instead of the binary data's file name",
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['liveResponseLibrary'], operation: ['upload'] } },
	properties,
);

const megabytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

export async function execute(
	this: IExecuteFunctions,
	itemIndex: number,
	transport: TransportContext,
): Promise<INodeExecutionData[]> {
	const property = String(this.getNodeParameter('binaryPropertyName', itemIndex, 'data')).trim();
	if (!property) throw new InvalidInputError('Input Binary Field is empty. Enter the name of the binary field, such as data.');
	const binary = this.helpers.assertBinaryData(itemIndex, property);
	const options = this.getNodeParameter('options', itemIndex, {}) as { fileName?: string };
	const override = String(options.fileName ?? '').trim();
	const fileName = validateLibraryFileName(
		override || binary.fileName,
		override ? 'File Name' : `File name of the binary field "${property}" (set Options → File Name to give another)`,
	);
	const hasParameters = this.getNodeParameter('hasParameters', itemIndex, false) as boolean;
	const fields = {
		Description: String(this.getNodeParameter('fileDescription', itemIndex, '') ?? ''),
		ParametersDescription: hasParameters ? String(this.getNodeParameter('parametersDescription', itemIndex, '') ?? '') : '',
		HasParameters: String(hasParameters),
		OverrideIfExists: String(this.getNodeParameter('overrideIfExists', itemIndex, false) as boolean),
	};

	// The size is checked before the file is read where n8n knows it, and again on the bytes.
	const tooLarge = (bytes: number) =>
		new InvalidInputError(
			`The file "${fileName}" is ${megabytes(bytes)} (${bytes.toLocaleString('en-US')} bytes); the live response library takes files of at most 20 MB (${LIBRARY_MAX_BYTES.toLocaleString('en-US')} bytes). Nothing was uploaded.`,
		);
	const knownSize =
		typeof binary.bytes === 'number'
			? binary.bytes
			: binary.id
				? Number((await this.helpers.getBinaryMetadata(binary.id)).fileSize)
				: Buffer.byteLength(binary.data ?? '', 'base64');
	if (Number.isFinite(knownSize) && knownSize > LIBRARY_MAX_BYTES) throw tooLarge(knownSize);
	const data = await this.helpers.getBinaryDataBuffer(itemIndex, property);
	if (data.length > LIBRARY_MAX_BYTES) throw tooLarge(data.length);
	if (!data.length) throw new InvalidInputError(`The binary field "${property}" is empty: there is no file to upload.`);
	const sha256 = createHash('sha256').update(data).digest('hex');

	let body: unknown;
	try {
		const response = await sendDefenderRequest(transport, {
			method: 'POST',
			path: '/api/libraryfiles',
			multipart: {
				fields: Object.entries(fields).map(([name, value]) => ({ name, value })),
				// The page's curl example names the file part `file` (its table "File"; form names bind either way) and
				// sends HasParameters, which its table leaves out.
				file: { fieldName: 'file', fileName, contentType: binary.mimeType || 'application/octet-stream', data },
			},
			// Up to 20 MB upstream: the usual timeout, or as long as 100 KB/s takes for the file if that is longer.
			timeoutMs: Math.max(transportSettings.requestTimeoutMs, Math.ceil(data.length / 100_000) * 1000),
			// Read back: a library file of this name holding these bytes (same SHA-256) → applied, that entry. Else
			// sending again is safe: the same upload once more leaves the same file.
			verify: async () => {
				const found = (await listLibraryFiles(transport)).find(
					(f) => String(f.fileName ?? '').toLowerCase() === fileName.toLowerCase() && String(f.sha256 ?? '').toLowerCase() === sha256,
				);
				return found ? { outcome: 'applied', body: found } : 'notApplied';
			},
			effect: { action: `Upload ${fileName} to the live response library`, check: 'check the library (Live Response Library → Get Many)' },
		});
		body = response.body;
	} catch (error) {
		throw withPermissionHint(error, LIBRARY_PERMISSION, 'Uploading to the live response library');
	}
	const entity = body && typeof body === 'object' && !Array.isArray(body) ? (body as IDataObject) : { fileName, sha256 };
	return toOutput(this, itemIndex, entity);
}
