export { composeArgv, type CommandInputs } from './command.js';
export { resolveUser, type ResolvedUser } from './user.js';
export { buildSpec, capabilitiesFor, grantableCapabilities, DEFAULT_CAPABILITIES, type OciMount, type SpecInput } from './spec.js';
export { Runtime, RuntimeError, cleanRuncMessage, type CreateOptions, type RuntimeConfig } from './conmon.js';
export { readLogs, parseLogLine, parseTimeNs, type LogRecord, type ReadLogOptions } from './logs.js';
export { StdinPipe, resizeTerminal } from './attach.js';
