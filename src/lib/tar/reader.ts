// A streaming tar reader: yields one entry at a time; the entry's body must be read (or is skipped)
// before the next entry. Understands ustar, PAX ('x' and global 'g') and GNU long names ('L'/'K').
import { InvalidArgument } from '../../errdefs/index.js';
import { BLOCK, decodeHeader, entryTypeOf, isZeroBlock, padding, parsePax, type TarHeader } from './header.js';

export interface TarEntry {
  header: TarHeader;
  /** The body, chunk by chunk. Read it at most once, before asking for the next entry. */
  body(): AsyncGenerator<Buffer>;
}

/** Pulls exact byte counts out of an async chunk source. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer | string>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
        if (b.length) {
          this.chunks.push(b);
          this.buffered += b.length;
        }
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or undefined at a clean end of input before any byte. */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return undefined;
      throw new InvalidArgument('unexpected end of tar archive (truncated input)');
    }
    return this.take(n);
  }

  /** Up to `max` bytes that are already available (at least one), for streaming bodies. */
  async readSome(max: number): Promise<Buffer> {
    if (this.buffered === 0 && !(await this.fill(1))) throw new InvalidArgument('unexpected end of tar archive (truncated input)');
    return this.take(Math.min(max, this.buffered));
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length >= n) {
      const head = this.chunks[0]!;
      const out = head.subarray(0, n);
      if (head.length === n) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const head = this.chunks[0]!;
      const k = Math.min(head.length, n - off);
      head.copy(out, off, 0, k);
      off += k;
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.readSome(n)).length;
  }
}

export async function* readTar(source: AsyncIterable<Buffer | string>): AsyncGenerator<TarEntry> {
  const src = new ByteSource(source[Symbol.asyncIterator]());
  let globalPax = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await src.read(BLOCK);
    if (!block) return; // no end-of-archive marker: tolerated, as GNU tar does
    if (isZeroBlock(block)) return;
    const raw = decodeHeader(block);
    const records = { ...Object.fromEntries(globalPax), ...Object.fromEntries(pax ?? []) } as Record<string, Buffer>;
    const paxSize = records['size'] ? Number(records['size'].toString()) : raw.size;
    if (raw.typeflag === 'x' || raw.typeflag === 'g' || raw.typeflag === 'L' || raw.typeflag === 'K') {
      const data = (await src.read(raw.size + padding(raw.size)) ?? Buffer.alloc(0)).subarray(0, raw.size);
      if (raw.typeflag === 'x') pax = parsePax(data);
      else if (raw.typeflag === 'g') globalPax = new Map([...globalPax, ...parsePax(data)]);
      else {
        const s = data.toString('utf8').replace(/\0+$/, '');
        if (raw.typeflag === 'L') longName = s;
        else longLink = s;
      }
      continue;
    }
    const type = entryTypeOf(raw.typeflag);
    const size = type === 'file' ? paxSize : 0;
    let xattrs: Map<string, Buffer> | undefined;
    for (const [k, v] of Object.entries(records)) {
      if (k.startsWith('SCHILY.xattr.')) (xattrs ??= new Map()).set(k.slice('SCHILY.xattr.'.length), v);
    }
    const num = (key: string, fallback: number) => (records[key] ? Number(records[key]!.toString()) : fallback);
    const header: TarHeader = {
      name: records['path']?.toString('utf8') ?? longName ?? raw.name,
      type: type ?? 'file',
      mode: raw.mode & 0o7777,
      uid: num('uid', raw.uid),
      gid: num('gid', raw.gid),
      size,
      mtime: num('mtime', raw.mtime),
      linkname: records['linkpath']?.toString('utf8') ?? longLink ?? raw.linkname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      uname: records['uname']?.toString('utf8') ?? raw.uname,
      gname: records['gname']?.toString('utf8') ?? raw.gname,
      xattrs,
    };
    pax = undefined;
    longName = undefined;
    longLink = undefined;
    // Unknown type flags (e.g. GNU sparse 'S', volume 'V') carry data we do not interpret: skip them.
    const bodySize = type ? size : raw.size;
    let remaining = bodySize;
    let consumed = false;
    const entry: TarEntry = {
      header,
      async *body() {
        if (consumed) throw new Error('tar entry body read twice');
        consumed = true;
        while (remaining > 0) {
          const chunk = await src.readSome(remaining);
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    if (type) yield entry;
    consumed = true;
    await src.skip(remaining + padding(bodySize));
    remaining = 0;
  }
}
