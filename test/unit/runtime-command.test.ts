import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeArgv } from '../../src/runtime/command.js';

// The seeds' table. Shell forms reach the image config already wrapped in /bin/sh -c.
const SH = (s: string) => ['/bin/sh', '-c', s];
const ENTRY_SHELL = SH('exec_entry p1_entry');
const ENTRY_EXEC = ['exec_entry', 'p1_entry'];
const CMDS: Array<[string, string[] | undefined]> = [
  ['no CMD', undefined],
  ['CMD exec', ['exec_cmd', 'p1_cmd']],
  ['CMD params', ['p1_cmd', 'p2_cmd']],
  ['CMD shell', SH('exec_cmd p1_cmd')],
];

test('the 12 cases of CMD x ENTRYPOINT compose as Docker documents', () => {
  const want: Record<string, [string[] | 'error', string[], string[]]> = {
    'no CMD': ['error', ENTRY_SHELL, ENTRY_EXEC],
    'CMD exec': [['exec_cmd', 'p1_cmd'], [...ENTRY_SHELL, 'exec_cmd', 'p1_cmd'], [...ENTRY_EXEC, 'exec_cmd', 'p1_cmd']],
    'CMD params': [['p1_cmd', 'p2_cmd'], [...ENTRY_SHELL, 'p1_cmd', 'p2_cmd'], [...ENTRY_EXEC, 'p1_cmd', 'p2_cmd']],
    'CMD shell': [SH('exec_cmd p1_cmd'), [...ENTRY_SHELL, ...SH('exec_cmd p1_cmd')], [...ENTRY_EXEC, ...SH('exec_cmd p1_cmd')]],
  };
  for (const [name, cmd] of CMDS) {
    const [none, shell, exec] = want[name]!;
    if (none === 'error') assert.throws(() => composeArgv({ imageCmd: cmd }), /no command specified/);
    else assert.deepEqual(composeArgv({ imageCmd: cmd }), none, `${name}, no ENTRYPOINT`);
    assert.deepEqual(composeArgv({ imageEntrypoint: ENTRY_SHELL, imageCmd: cmd }), shell, `${name}, ENTRYPOINT shell`);
    assert.deepEqual(composeArgv({ imageEntrypoint: ENTRY_EXEC, imageCmd: cmd }), exec, `${name}, ENTRYPOINT exec`);
  }
});

test('run arguments replace CMD; --entrypoint replaces ENTRYPOINT and drops the image CMD', () => {
  assert.deepEqual(composeArgv({ imageEntrypoint: ENTRY_EXEC, imageCmd: ['a'], cmd: ['b', 'c'] }), ['exec_entry', 'p1_entry', 'b', 'c']);
  assert.deepEqual(composeArgv({ imageCmd: ['a'], cmd: ['echo', 'hi'] }), ['echo', 'hi']);
  assert.deepEqual(composeArgv({ imageEntrypoint: ENTRY_EXEC, imageCmd: ['a'], entrypoint: ['/bin/echo'] }), ['/bin/echo']);
  assert.deepEqual(composeArgv({ imageEntrypoint: ENTRY_EXEC, imageCmd: ['a'], entrypoint: ['/bin/echo'], cmd: ['x'] }), ['/bin/echo', 'x']);
  assert.deepEqual(composeArgv({ imageEntrypoint: ENTRY_EXEC, imageCmd: ['a'], entrypoint: [''], cmd: ['ls'] }), ['ls']);
});
