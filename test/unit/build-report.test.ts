import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheReport } from '../../src/cli/commands/build-report.js';

const STREAM = [
  'Step 1/5 : FROM busybox\n ---> 1234567890ab\n',
  'Step 2/5 : ENV E=e\n ---> Using cache\n ---> 2234567890ab\n',
  // A line split across two stream messages, and an instruction holding ": ".
  'Step 3/5 : COPY app /app\n ---> Cache miss: COPY app /app: file app/x.txt ch',
  'anged\n ---> 3234567890ab\n',
  'Step 4/5 : RUN echo a: b\n ---> Running in 4234567890ab\na: b\n ---> 5234567890ab\n',
  'Step 5/5 : CMD ["sh"]\n ---> 6234567890ab\nSuccessfully built 6234567890ab\n',
];

test('the cache report names each step, the reason of the first miss, and what followed it', () => {
  const r = new CacheReport(false);
  for (const s of STREAM) r.add(s);
  assert.equal(r.render(), [
    'Cache report:',
    '  Step 1/5 FROM busybox: base image',
    '  Step 2/5 ENV E=e: from the cache',
    '  Step 3/5 COPY app /app: built (file app/x.txt changed)',
    '  Step 4/5 RUN echo a: b: built (rebuilt after the miss at step 3)',
    '  Step 5/5 CMD ["sh"]: built (rebuilt after the miss at step 3)',
    '1 of 4 steps from the cache',
    '',
  ].join('\n'));
});

test('steps never built before, and --no-cache, say so', () => {
  const fresh = new CacheReport(false);
  fresh.add('Step 1/2 : FROM busybox\n ---> 1\nStep 2/2 : RUN true\n ---> Running in 2\n ---> 3\n');
  assert.match(fresh.render(), /Step 2\/2 RUN true: built \(not built before\)\n0 of 1 steps from the cache\n$/);
  const nocache = new CacheReport(true);
  nocache.add('Step 1/2 : FROM busybox\n ---> 1\nStep 2/2 : RUN true\n ---> Running in 2\n ---> 3\n');
  assert.match(nocache.render(), /Step 2\/2 RUN true: built \(--no-cache\)\n/);
});
