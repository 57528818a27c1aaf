export { RegistryServer, type ServerOptions } from './server.js';
export { RegistryStorage } from './storage.js';
export { collectGarbage, type GcResult } from './gc.js';
export { HtpasswdAuthorizer, TokenAuthorizer, openAccess, type Authorizer } from './auth.js';
export { RegistryError, ERROR_CODES, type ErrorCode } from './errcodes.js';
export { runRegistryCommand } from './main.js';
