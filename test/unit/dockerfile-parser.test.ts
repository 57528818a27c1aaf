import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseDockerfile, parseCommandLine, parseDuration, type CopyInstruction, type RunInstruction, type KeyValueInstruction, type HealthcheckInstruction } from '../../src/builder/dockerfile/index.js';

test('comments, blank lines and keywords in any case', () => {
  const df = parse('# a comment\n\nfrom busybox\n  # indented comment\nRun echo hi\n');
  assert.equal(df.stages.length, 1);
  assert.equal(df.stages[0]!.from.image, 'busybox');
  const run = df.stages[0]!.instructions[0] as RunInstruction;
  assert.equal(run.kind, 'run');
  assert.deepEqual(run.command, { json: false, text: 'echo hi' });
  assert.equal(run.line, 5);
});

test('line continuations join lines and skip comment lines inside', () => {
  const df = parse('FROM busybox\nRUN echo a \\\n# inner comment\n  b \\\n  c\nCMD x\n');
  const run = df.stages[0]!.instructions[0] as RunInstruction;
  assert.deepEqual(run.command, { json: false, text: 'echo a   b   c' });
  assert.equal(df.stages[0]!.instructions[1]!.line, 6);
});

test('escape directive switches to backtick and continuation follows it', () => {
  const df = parse('# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY a\\b c:\\d\n');
  assert.equal(df.escape, '`');
  assert.deepEqual((df.stages[0]!.instructions[0] as RunInstruction).command, { json: false, text: 'echo a   b' });
  const c = df.stages[0]!.instructions[1] as CopyInstruction;
  assert.deepEqual(c.sources, ['a\\b']);
});

test('syntax directive is accepted and recorded; directives stop after the first instruction or comment', () => {
  const p = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=\\\nFROM x\n');
  assert.equal(p.directives['syntax'], 'docker/dockerfile:1');
  const q = parseDockerfile('# hello\n# escape=`\nFROM x\n');
  assert.equal(q.escape, '\\');
});

test('an invalid escape directive is refused', () => {
  assert.throws(() => parse('# escape=x\nFROM a\n'), /invalid escape token/);
});

test('unknown instruction names its line as Docker does', () => {
  assert.throws(() => parse('FROM busybox\n\nFOO bar\n'), { message: 'Dockerfile parse error line 3: unknown instruction: FOO' });
  assert.throws(() => parse('FROM busybox\nrunn x\n'), { message: 'Dockerfile parse error line 2: unknown instruction: RUNN' });
});

test('exec form JSON and the fallback to shell form on invalid JSON', () => {
  assert.deepEqual(parseCommandLine('["echo", "hi"]'), { json: true, args: ['echo', 'hi'] });
  assert.deepEqual(parseCommandLine("['echo', 'hi']"), { json: false, text: "['echo', 'hi']" });
  assert.deepEqual(parseCommandLine('[1, 2]'), { json: false, text: '[1, 2]' });
  assert.deepEqual(parseCommandLine('[]'), { json: true, args: [] });
});

test('FROM forms: AS name, --platform, wrong arity', () => {
  const df = parse('ARG V=1\nFROM --platform=linux/amd64 busybox:${V} AS Build\nFROM build\n');
  assert.equal(df.metaArgs.length, 1);
  assert.equal(df.stages[0]!.from.name, 'build');
  assert.equal(df.stages[0]!.from.platform, 'linux/amd64');
  assert.equal(df.stages[0]!.from.image, 'busybox:${V}');
  assert.throws(() => parse('FROM a b\n'), /line 1: FROM requires either one or three arguments/);
  assert.throws(() => parse('RUN x\n'), /line 1: no build stage in current context/);
  assert.throws(() => parse('FROM a AS x\nFROM b AS x\n'), /line 2: duplicate name x/);
});

test('ENV and LABEL: key=value pairs with quotes, and the legacy one-pair form', () => {
  const df = parse('FROM a\nENV A=1 B="two words" C=three\\ words\nENV LEGACY some value here\nLABEL "com.x"="y" z=w\n');
  const [e1, e2, l] = df.stages[0]!.instructions as KeyValueInstruction[];
  assert.deepEqual(e1!.pairs, [{ key: 'A', value: '1' }, { key: 'B', value: '"two words"' }, { key: 'C', value: 'three\\ words' }]);
  assert.deepEqual(e2!.pairs, [{ key: 'LEGACY', value: 'some value here' }]);
  assert.deepEqual(l!.pairs, [{ key: '"com.x"', value: '"y"' }, { key: 'z', value: 'w' }]);
  assert.throws(() => parse('FROM a\nENV\n'), /line 2: ENV requires at least one argument/);
  assert.throws(() => parse('FROM a\nENV A=1 B\n'), /can't find = in "B"/);
  assert.throws(() => parse('FROM a\nENV =x\n'), /ENV names can not be blank/);
});

test('COPY and ADD: flags, JSON form, and Docker\'s argument errors', () => {
  const df = parse('FROM a\nCOPY --from=build --chown=1:2 --chmod=755 a b /dst/\nCOPY ["x y", "/z"]\nADD --checksum=sha256:abc http://h/f /f\n');
  const [c1, c2, a] = df.stages[0]!.instructions as CopyInstruction[];
  assert.deepEqual([c1!.from, c1!.chown, c1!.chmod, c1!.sources, c1!.dest], ['build', '1:2', '755', ['a', 'b'], '/dst/']);
  assert.deepEqual([c2!.sources, c2!.dest], [['x y'], '/z']);
  assert.equal(a!.checksum, 'sha256:abc');
  assert.throws(() => parse('FROM a\nCOPY onlyone\n'), { message: 'Dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined.' });
  assert.throws(() => parse('FROM a\nCOPY --bogus=1 a b\n'), /line 2: Unknown flag: bogus/);
  assert.throws(() => parse('FROM a\nADD --from=x a b\n'), /Unknown flag: from/);
});

test('heredocs: RUN, COPY, <<- strips tabs, quoted delimiters disable expansion', () => {
  const df = parse('FROM a\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-"END" /file\n\tline $X\n\tEND\nRUN cat <<A && cat <<B\na\nA\nb\nB\nCMD done\n');
  const s = df.stages[0]!.instructions;
  const r = s[0] as RunInstruction;
  assert.deepEqual(r.heredocs, [{ name: 'EOF', content: 'echo one\necho two\n', expand: true, chomp: false }]);
  const c = s[1] as CopyInstruction;
  assert.deepEqual(c.heredocs, [{ name: 'END', content: 'line $X\n', expand: false, chomp: true }]);
  assert.deepEqual(c.sources, ['<<-"END"']);
  assert.deepEqual((s[2] as RunInstruction).heredocs.map((h) => h.content), ['a\n', 'b\n']);
  assert.equal(s[3]!.kind, 'cmd');
  assert.equal(s[3]!.line, 14);
  assert.throws(() => parse('FROM a\nRUN <<EOF\nno end\n'), /line 2: unterminated heredoc EOF/);
});

test('SHELL needs JSON; ONBUILD refuses chaining and FROM; HEALTHCHECK options', () => {
  assert.throws(() => parse('FROM a\nSHELL /bin/bash -c\n'), /SHELL requires the arguments to be in JSON form/);
  assert.throws(() => parse('FROM a\nONBUILD ONBUILD RUN x\n'), /Chaining ONBUILD/);
  assert.throws(() => parse('FROM a\nONBUILD FROM x\n'), /FROM isn't allowed as an ONBUILD trigger/);
  const df = parse('FROM a\nHEALTHCHECK --interval=5s --retries=3 CMD ["true"]\nHEALTHCHECK NONE\n');
  const [h1, h2] = df.stages[0]!.instructions as HealthcheckInstruction[];
  assert.equal(h1!.interval, 5e9);
  assert.equal(h1!.retries, 3);
  assert.deepEqual(h1!.command, { json: true, args: ['true'] });
  assert.equal(h2!.none, true);
  assert.throws(() => parse('FROM a\nHEALTHCHECK FOO x\n'), /Unknown type "FOO" in HEALTHCHECK/);
  assert.throws(() => parse('FROM a\nHEALTHCHECK NONE x\n'), /HEALTHCHECK NONE takes no arguments/);
});

test('WORKDIR, USER, STOPSIGNAL need exactly one argument; EXPOSE and VOLUME at least one', () => {
  assert.throws(() => parse('FROM a\nUSER a b\n'), /USER requires exactly one argument/);
  assert.throws(() => parse('FROM a\nEXPOSE\n'), /EXPOSE requires at least one argument/);
  const df = parse('FROM a\nVOLUME ["/a", "/b"]\nVOLUME /c /d\nEXPOSE 80/tcp 53/udp\n');
  assert.deepEqual(df.stages[0]!.instructions.map((i) => (i as { words: string[] }).words), [['/a', '/b'], ['/c', '/d'], ['80/tcp', '53/udp']]);
});

test('durations in Go syntax', () => {
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('250ms'), 250e6);
  assert.throws(() => parseDuration('5'), /invalid duration/);
});

test('heredoc markers are found only where the shell would see them', () => {
  const df = parse('FROM a\nRUN cat <<< "here-string" && echo "1 << 2" \'<<X\'\nRUN cat <<"Q" <<-R\nq\nQ\n\tr\nR\n');
  const [a, b] = df.stages[0]!.instructions as RunInstruction[];
  assert.deepEqual(a!.heredocs, []);
  assert.deepEqual(b!.heredocs.map((h) => [h.name, h.expand, h.chomp, h.content]), [['Q', false, false, 'q\n'], ['R', true, true, 'r\n']]);
});

test('BuildKit-only options are refused with Docker\'s message', () => {
  assert.throws(() => parse('FROM a\nRUN --mount=type=cache,target=/x true\n'), /line 2: the --mount option requires BuildKit/);
  assert.throws(() => parse('FROM a\nCOPY --link a /b\n'), /the --link option requires BuildKit/);
});
