// One error base for the whole engine: a stable `code`, an optional `hint` for the person reading it,
// and a `cause`. The API maps classes to HTTP status in one place (api/errors.ts); everyone else
// throws these and asks with the is*() guards, which follow the `cause` chain.

export interface BerthErrorOptions {
  hint?: string;
  cause?: unknown;
}

export abstract class BerthError extends Error {
  abstract readonly code: string;
  readonly hint?: string;

  constructor(message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

export class NotFound extends BerthError { readonly code = 'NOT_FOUND'; }
export class AlreadyExists extends BerthError { readonly code = 'ALREADY_EXISTS'; }
export class InvalidArgument extends BerthError { readonly code = 'INVALID_ARGUMENT'; }
export class Conflict extends BerthError { readonly code = 'CONFLICT'; }
export class FailedPrecondition extends BerthError { readonly code = 'FAILED_PRECONDITION'; }
export class Unavailable extends BerthError { readonly code = 'UNAVAILABLE'; }
export class NotImplemented extends BerthError { readonly code = 'NOT_IMPLEMENTED'; }
export class Unauthorized extends BerthError { readonly code = 'UNAUTHORIZED'; }
export class Forbidden extends BerthError { readonly code = 'FORBIDDEN'; }
/** The request was fine but the work was cut short (client went away, Ctrl-C). */
export class Cancelled extends BerthError { readonly code = 'CANCELLED'; }

type ErrorClass = abstract new (...args: never[]) => BerthError;

function follows(err: unknown, cls: ErrorClass): boolean {
  const seen = new Set<unknown>();
  for (let e = err; e && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (e instanceof cls) return true;
  }
  return false;
}

export const isNotFound = (err: unknown) => follows(err, NotFound);
export const isAlreadyExists = (err: unknown) => follows(err, AlreadyExists);
export const isInvalidArgument = (err: unknown) => follows(err, InvalidArgument);
export const isConflict = (err: unknown) => follows(err, Conflict);
export const isFailedPrecondition = (err: unknown) => follows(err, FailedPrecondition);
export const isUnavailable = (err: unknown) => follows(err, Unavailable);
export const isNotImplemented = (err: unknown) => follows(err, NotImplemented);
export const isUnauthorized = (err: unknown) => follows(err, Unauthorized);
export const isForbidden = (err: unknown) => follows(err, Forbidden);
export const isCancelled = (err: unknown) => follows(err, Cancelled);

/** The first BerthError in the cause chain, if any. */
export function berthErrorOf(err: unknown): BerthError | undefined {
  const seen = new Set<unknown>();
  for (let e = err; e && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (e instanceof BerthError) return e;
  }
  return undefined;
}

/** Node system errors carry `code` like 'ENOENT'. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
