import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandWord, expandWordUsing, envLookup, splitWords } from '../../src/builder/dockerfile/index.js';

const env = envLookup(['A=apple', 'EMPTY=', 'SP=two words']);
const x = (w: string, esc = '\\') => expandWord(w, env, esc);

test('plain and braced variables; unset is empty', () => {
  assert.equal(x('$A'), 'apple');
  assert.equal(x('${A}pie'), 'applepie');
  assert.equal(x('$Apie'), '');
  assert.equal(x('a$NOPE-b'), 'a-b');
  assert.equal(x('cost $'), 'cost $');
});

test('modifiers :- - :+ + behave as in the shell for unset vs empty', () => {
  assert.equal(x('${NOPE:-def}'), 'def');
  assert.equal(x('${EMPTY:-def}'), 'def');
  assert.equal(x('${EMPTY-def}'), '');
  assert.equal(x('${NOPE-def}'), 'def');
  assert.equal(x('${A:+alt}'), 'alt');
  assert.equal(x('${EMPTY:+alt}'), '');
  assert.equal(x('${EMPTY+alt}'), 'alt');
  assert.equal(x('${NOPE:-$A}'), 'apple');
  assert.throws(() => x('${NOPE:?must be set}'), /NOPE: must be set/);
  assert.throws(() => x('${A'), /missing '}'/);
});

test('quotes and escapes', () => {
  assert.equal(x("'$A'"), '$A');
  assert.equal(x('"$A and $SP"'), 'apple and two words');
  assert.equal(x('\\$A'), '$A');
  assert.equal(x('"\\$A"'), '$A');
  assert.equal(x('"a\\b"'), 'a\\b');
  assert.equal(x('a\\ b'), 'a b');
  assert.equal(x('`$A', '`'), '$A');
  assert.equal(x('c:\\dir', '`'), 'c:\\dir');
  assert.throws(() => x("'open"), /matching single-quote/);
  assert.throws(() => x('"open'), /matching double-quote/);
});

test('expandWordUsing reports the variables read', () => {
  const r = expandWordUsing('${A}-$B-${C:-x}', env);
  assert.equal(r.value, 'apple--x');
  assert.deepEqual([...r.used].sort(), ['A', 'B', 'C']);
});

test('splitWords keeps quotes and escapes but splits on unquoted whitespace', () => {
  assert.deepEqual(splitWords('a=1 b="x y"  c=\'p q\' d=e\\ f'), ['a=1', 'b="x y"', "c='p q'", 'd=e\\ f']);
  assert.deepEqual(splitWords('  '), []);
});
