// Tar headers: the 512-byte ustar block plus the PAX records that carry what ustar cannot (long
// names, big numbers, binary xattrs). Encoding is deterministic: the same entry gives the same bytes.
import { InvalidArgument } from '../../errdefs/index.js';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: EntryType;
  mode: number; // permission and set-id bits only
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (fractions kept when PAX carries them). */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  uname?: string;
  gname?: string;
  /** Extended attributes (SCHILY.xattr.*), values binary. */
  xattrs?: Map<string, Buffer>;
}

export const BLOCK = 512;

const TYPE_FLAGS: Record<EntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const FLAG_TYPES: Record<string, EntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

function readString(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function readNumber(b: Buffer, off: number, len: number): number {
  // GNU base-256 for values that do not fit in octal.
  if (b[off]! & 0x80) {
    let n = 0;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + b[i]!;
    return n;
  }
  const s = readString(b, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new InvalidArgument(`invalid tar header: bad number ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

export function decodeHeader(b: Buffer): RawHeader {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  const stored = readNumber(b, 148, 8);
  if (stored !== sum) throw new InvalidArgument('invalid tar header: checksum mismatch');
  let name = readString(b, 0, 100);
  const magic = b.toString('latin1', 257, 263);
  if (magic === 'ustar\0' || magic === 'ustar ') {
    const prefix = magic === 'ustar\0' ? readString(b, 345, 155) : '';
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: readNumber(b, 100, 8),
    uid: readNumber(b, 108, 8),
    gid: readNumber(b, 116, 8),
    size: readNumber(b, 124, 12),
    mtime: readNumber(b, 136, 12),
    typeflag: String.fromCharCode(b[156]!),
    linkname: readString(b, 157, 100),
    uname: readString(b, 265, 32),
    gname: readString(b, 297, 32),
    devmajor: readNumber(b, 329, 8),
    devminor: readNumber(b, 337, 8),
  };
}

export function entryTypeOf(flag: string): EntryType | undefined {
  return FLAG_TYPES[flag];
}

/** Parses PAX records `LEN key=value\n`; values stay binary for SCHILY.xattr.*. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(data.toString('latin1', off, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > data.length) throw new InvalidArgument('invalid tar header: bad PAX record');
    const rec = data.subarray(sp + 1, off + len - 1); // drop trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new InvalidArgument('invalid tar header: bad PAX record');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function writeString(b: Buffer, s: string, off: number, len: number): boolean {
  const bytes = Buffer.from(s);
  if (bytes.length > len) return false;
  bytes.copy(b, off);
  return true;
}

function fitsOctal(n: number, len: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < 8 ** (len - 1);
}

function writeOctal(b: Buffer, n: number, off: number, len: number): void {
  b.write(n.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { prefix: '', name };
  if (bytes > 256) return undefined;
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const p = name.slice(0, i);
    const n = name.slice(i + 1);
    if (Buffer.byteLength(p) <= 155 && Buffer.byteLength(n) <= 100 && n.length > 0) return { prefix: p, name: n };
  }
  return undefined;
}

/** Encodes an entry's header blocks: an optional PAX header ('x') and the ustar block. */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: Buffer[] = [];
  const split = splitUstarName(h.name);
  if (!split) pax.push(paxRecord('path', Buffer.from(h.name)));
  if (Buffer.byteLength(h.linkname) > 100) pax.push(paxRecord('linkpath', Buffer.from(h.linkname)));
  const mtime = Math.floor(h.mtime);
  if (!fitsOctal(h.size, 12)) pax.push(paxRecord('size', Buffer.from(String(h.size))));
  if (!fitsOctal(h.uid, 8)) pax.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (!fitsOctal(h.gid, 8)) pax.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (!fitsOctal(mtime, 12)) pax.push(paxRecord('mtime', Buffer.from(String(mtime))));
  if (h.xattrs) {
    for (const key of [...h.xattrs.keys()].sort()) pax.push(paxRecord(`SCHILY.xattr.${key}`, h.xattrs.get(key)!));
  }
  const main = ustarBlock(h, split ?? { prefix: '', name: h.name.slice(0, 100) }, mtime);
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax);
  const paxName = `PaxHeaders.0/${(split?.name ?? h.name).split('/').filter(Boolean).pop() ?? 'x'}`.slice(0, 100);
  const paxHeader = ustarBlock({ name: paxName, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, linkname: '', devmajor: 0, devminor: 0 }, { prefix: '', name: paxName }, 0, 'x');
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length)), main]);
}

function ustarBlock(h: TarHeader, n: { prefix: string; name: string }, mtime: number, flag = TYPE_FLAGS[h.type]): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, n.name, 0, 100);
  writeOctal(b, h.mode & 0o7777, 100, 8);
  writeOctal(b, fitsOctal(h.uid, 8) ? h.uid : 0, 108, 8);
  writeOctal(b, fitsOctal(h.gid, 8) ? h.gid : 0, 116, 8);
  writeOctal(b, fitsOctal(h.size, 12) ? h.size : 0, 124, 12);
  writeOctal(b, fitsOctal(mtime, 12) ? mtime : 0, 136, 12);
  b.write(flag, 156, 1, 'latin1');
  if (Buffer.byteLength(h.linkname) <= 100) writeString(b, h.linkname, 157, 100);
  b.write('ustar\x0000', 257, 8, 'latin1');
  writeString(b, h.uname ?? '', 265, 32);
  writeString(b, h.gname ?? '', 297, 32);
  if (h.type === 'char' || h.type === 'block') {
    writeOctal(b, h.devmajor, 329, 8);
    writeOctal(b, h.devminor, 337, 8);
  }
  writeString(b, n.prefix, 345, 155);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
