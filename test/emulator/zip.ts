/**
 * A small, deterministic ZIP writer for the emulator's downloads: the investigation package (machines.ts, stored
 * entries) and GetFile results (liveresponse.ts, one deflated entry). Every entry has a fixed 1980-01-01 timestamp
 * and UTF-8 names, so the same entries always give the same bytes (tests compare them).
 */
import * as zlib from 'node:zlib';

export interface ZipEntry {
	name: string;
	data: Buffer;
}

export type ZipMethod = 'store' | 'deflate';

const METHOD_CODES: Record<ZipMethod, number> = { store: 0, deflate: 8 };

export function zip(entries: ZipEntry[], method: ZipMethod): Buffer {
	const code = METHOD_CODES[method];
	const locals: Buffer[] = [];
	const centrals: Buffer[] = [];
	let offset = 0;
	for (const { name, data } of entries) {
		const nameBuf = Buffer.from(name, 'utf8');
		const stored = method === 'deflate' ? zlib.deflateRawSync(data) : data;
		const crc = zlib.crc32(data);
		const local = Buffer.alloc(30);
		local.writeUInt32LE(0x04034b50, 0);
		local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
		local.writeUInt16LE(0x0800, 6); // UTF-8 names
		local.writeUInt16LE(code, 8);
		local.writeUInt16LE(0, 10);
		local.writeUInt16LE(0x21, 12); // 1980-01-01
		local.writeUInt32LE(crc, 14);
		local.writeUInt32LE(stored.length, 18);
		local.writeUInt32LE(data.length, 22);
		local.writeUInt16LE(nameBuf.length, 26);
		local.writeUInt16LE(0, 28);
		const central = Buffer.alloc(46);
		central.writeUInt32LE(0x02014b50, 0);
		central.writeUInt16LE(20, 4);
		central.writeUInt16LE(20, 6);
		central.writeUInt16LE(0x0800, 8);
		central.writeUInt16LE(code, 10);
		central.writeUInt16LE(0, 12);
		central.writeUInt16LE(0x21, 14);
		central.writeUInt32LE(crc, 16);
		central.writeUInt32LE(stored.length, 20);
		central.writeUInt32LE(data.length, 24);
		central.writeUInt16LE(nameBuf.length, 28);
		central.writeUInt32LE(offset, 42); // local header offset
		locals.push(local, nameBuf, stored);
		centrals.push(central, nameBuf);
		offset += local.length + nameBuf.length + stored.length;
	}
	const centralDir = Buffer.concat(centrals);
	const end = Buffer.alloc(22);
	end.writeUInt32LE(0x06054b50, 0);
	end.writeUInt16LE(entries.length, 8);
	end.writeUInt16LE(entries.length, 10);
	end.writeUInt32LE(centralDir.length, 12);
	end.writeUInt32LE(offset, 16);
	return Buffer.concat([...locals, centralDir, end]);
}
