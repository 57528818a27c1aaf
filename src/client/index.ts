export { EngineClient, DaemonError, ConnectionError, CLIENT_API_VERSION, readAll, jsonMessages, type JsonMessage, type Query, type RequestOptions } from './client.js';
export { StreamDemuxer, copyStream } from './stdcopy.js';
