export { RepositoryClient, searchRegistry, CHUNK_THRESHOLD, type FetchedManifest } from './registry.js';
export { RegistryTransport, endpointFor, isInsecure, type RegistryOptions } from './transport.js';
export { decodeRegistryAuth, encodeRegistryAuth, parseChallenges, basicAuth, TokenCache, type Credentials, type Challenge } from './auth.js';
