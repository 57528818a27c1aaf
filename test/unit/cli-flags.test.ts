import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, type FlagSpec } from '../../src/cli/flags.js';

const run: FlagSpec[] = [
  { name: 'interactive', short: 'i', type: 'bool', help: '' },
  { name: 'tty', short: 't', type: 'bool', help: '' },
  { name: 'rm', type: 'bool', help: '' },
  { name: 'publish', short: 'p', type: 'list', help: '' },
  { name: 'env', short: 'e', type: 'list', help: '' },
  { name: 'name', type: 'string', help: '' },
  { name: 'cpus', type: 'string', help: '' },
];

test('docker run grammar: clusters, = forms, and the container\'s own args left alone', () => {
  const { flags, args } = parseFlags(['-it', '-p', 'a:b', '-p=8080:80', '--rm=false', '--name=web', 'IMAGE', 'cmd', '-e', 'x', '--rm'], run, { stopAtPositional: true });
  assert.equal(flags['interactive'], true);
  assert.equal(flags['tty'], true);
  assert.deepEqual(flags['publish'], ['a:b', '8080:80']);
  assert.equal(flags['rm'], false);
  assert.equal(flags['name'], 'web');
  assert.deepEqual(args, ['IMAGE', 'cmd', '-e', 'x', '--rm']);
});

test('short flags take attached values; interspersed positionals where allowed; --', () => {
  const { flags, args } = parseFlags(['a', '-ep=1', 'b', '-itp80', '--', '-x'], run);
  assert.deepEqual(flags['env'], ['p=1']);
  assert.deepEqual(flags['publish'], ['80']);
  assert.deepEqual(args, ['a', 'b', '-x']);
});

test('errors are pflag\'s', () => {
  assert.throws(() => parseFlags(['--bogus'], run), /^UsageError: unknown flag: --bogus$/);
  assert.throws(() => parseFlags(['-z'], run), /unknown shorthand flag: 'z' in -z/);
  assert.throws(() => parseFlags(['--name'], run), /flag needs an argument: --name/);
  assert.throws(() => parseFlags(['--rm=maybe'], run), /invalid argument "maybe" for "--rm" flag/);
});
