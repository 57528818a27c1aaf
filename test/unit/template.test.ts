import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '../../src/cli/render/template.js';

const run = (src: string, data: unknown) => new Template(src).execute(data);
const img = { ID: 'abc123', Repository: 'busybox', Tag: 'latest', Labels: { a: '1', b: '2' }, Names: ['/x', '/y'], Size: 42, Config: { Env: ['A=1', 'B=<2>'] } };

test('fields, nested fields and literal text', () => {
  assert.equal(run('{{.ID}}: {{.Repository}}', img), 'abc123: busybox');
  assert.equal(run('{{.Config.Env}}', img), '[A=1 B=<2>]');
  assert.equal(run('{{.Missing}}', img), '<no value>');
  assert.equal(run('{{.Labels}}', img), 'map[a:1 b:2]');
});

test('json is Go\'s: HTML-escaped and sorted maps', () => {
  assert.equal(run('{{json .Config.Env}}', img), '["A=1","B=\\u003c2\\u003e"]');
  assert.equal(run('{{.Config.Env | json}}', img), '["A=1","B=\\u003c2\\u003e"]');
});

test('functions: join, split, lower, upper, title, len, index, printf, truncate, pad', () => {
  assert.equal(run('{{join .Names ","}}', img), '/x,/y');
  assert.equal(run('{{index (split "a:b:c" ":") 1}}', img), 'b');
  assert.equal(run('{{upper .Repository}} {{lower "ABC"}} {{title "hello world"}}', img), 'BUSYBOX abc Hello World');
  assert.equal(run('{{len .Names}}', img), '2');
  assert.equal(run('{{index .Labels "b"}}', img), '2');
  assert.equal(run('{{printf "%-8s|%5d|%q" .Tag .Size .ID}}', img), 'latest  |   42|"abc123"');
  assert.equal(run('{{truncate .ID 3}}{{pad "x" 1 2}}', img), 'abc x  ');
});

test('control flow: if/else if/else, range with variables, with, trim markers', () => {
  assert.equal(run('{{if eq .Tag "v1"}}one{{else if eq .Tag "latest"}}newest{{else}}other{{end}}!', img), 'newest!');
  assert.equal(run('{{range $i, $n := .Names}}{{if $i}},{{end}}{{$i}}={{$n}}{{end}}', img), '0=/x,1=/y');
  assert.equal(run('{{range $k, $v := .Labels}}{{$k}}{{$v}} {{end}}', img), 'a1 b2 ');
  assert.equal(run('{{with .Config}}{{len .Env}}{{end}}', img), '2');
  assert.equal(run('{{range .Nothing}}x{{else}}empty{{end}}', img), 'empty');
  assert.equal(run('a  {{- .Tag -}}  b', img), 'alatestb');
  assert.equal(run('{{$x := .Tag}}{{$x}}-{{$.ID}}', img), 'latest-abc123');
  assert.equal(run('{{if and .Tag (not .Missing)}}yes{{end}}', img), 'yes');
});

test('errors read like Go\'s', () => {
  assert.throws(() => run('{{foo .ID}}', img), /template: :1: function "foo" not defined/);
  assert.throws(() => new Template('{{if .ID}}x'), /unexpected EOF/);
  assert.throws(() => new Template('{{.ID'), /unclosed action/);
});

test('a field holding a function is a method that takes arguments, as {{.Label "k"}} on a ps row', () => {
  const row = { Names: 'web', Label: (k: string) => ({ tier: 'db' } as Record<string, string>)[k] ?? '' };
  assert.equal(new Template('{{.Names}} {{.Label "tier"}} [{{.Label "none"}}]').execute(row), 'web db []');
  assert.equal(new Template('{{"tier" | .Label}}').execute(row), 'db');
});
