export { readTar, type TarEntry } from './reader.js';
export { TarWriter, type TarSink } from './writer.js';
export { encodeHeader, type EntryType, type TarHeader } from './header.js';
