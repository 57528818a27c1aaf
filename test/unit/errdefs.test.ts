import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFound, InvalidArgument, isNotFound, isInvalidArgument, berthErrorOf } from '../../src/errdefs/index.js';

test('is*() guards follow the cause chain', () => {
  const inner = new NotFound('no such image: x');
  const outer = new Error('while deleting', { cause: inner });
  assert.equal(isNotFound(outer), true);
  assert.equal(isInvalidArgument(outer), false);
  assert.equal(berthErrorOf(outer), inner);
});

test('errors carry a stable code and a hint', () => {
  const e = new InvalidArgument('bad ref', { hint: 'use NAME[:TAG]' });
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.equal(e.hint, 'use NAME[:TAG]');
  assert.equal(e.name, 'InvalidArgument');
});
