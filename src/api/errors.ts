// The one place where error classes become HTTP statuses (moby's httpstatus), with Docker's body.
import {
  isAlreadyExists, isCancelled, isConflict, isFailedPrecondition, isForbidden, isInvalidArgument, isNotFound,
  isNotImplemented, isUnauthorized, isUnavailable,
} from '../errdefs/index.js';

export function statusOf(err: unknown): number {
  if (isNotFound(err)) return 404;
  if (isInvalidArgument(err)) return 400;
  if (isConflict(err) || isAlreadyExists(err)) return 409;
  if (isFailedPrecondition(err)) return 409;
  if (isUnauthorized(err)) return 401;
  if (isForbidden(err)) return 403;
  if (isNotImplemented(err)) return 501;
  if (isUnavailable(err)) return 503;
  if (isCancelled(err)) return 499;
  return 500;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
