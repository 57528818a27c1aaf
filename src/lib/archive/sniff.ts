// Recognising archives by their first bytes, without the codecs (the CLI uses it too).

/** Compressed (gzip, bzip2, xz, zstd) or a tar: what ADD extracts and a build context may be. */
export function looksLikeArchive(head: Buffer): boolean {
  if (head[0] === 0x1f && head[1] === 0x8b) return true;
  if (head.toString('latin1', 0, 3) === 'BZh') return true;
  if (head[0] === 0xfd && head.toString('latin1', 1, 6) === '7zXZ\0') return true;
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return true;
  return head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar';
}
