// The built dashboard's first load against its budget, measured the way the bench reports it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dashboardSizes, firstLoadAssets } from '../../bench/sizes.js';

const CLIENT = 'dist/client';
const FIRST_LOAD_BUDGET_BYTES = 30_000;
const sizes = dashboardSizes(CLIENT);
const text = (file: string) => readFileSync(join(CLIENT, file), 'utf8');

test('the first load (entry, preloads and stylesheets of index.html) stays within 30 kB gzip', () => {
  assert.ok(sizes.firstLoadJs.files.length >= 1, 'index.html loads a script');
  assert.ok(sizes.firstLoad.gzipBytes <= FIRST_LOAD_BUDGET_BYTES, `first load is ${sizes.firstLoad.gzipBytes} bytes gzip`);
});

test('the connection page and the editor are not part of the first load, but chunks of their own', () => {
  const first = sizes.firstLoad.files.map((f) => text(f.file)).join('\n');
  for (const words of ['Relay keys', 'Client Secret', 'Allowed path prefixes', 'Recent calls', 'Send a test request']) {
    assert.ok(!first.includes(words), `"${words}" is in the first load`);
    assert.ok(
      sizes.lazy.some((chunk) => text(join('assets', chunk.file)).includes(words)),
      `no chunk on demand holds "${words}"`,
    );
  }
});

test('the activity and the test request are chunks of their own, apart from the connection page', () => {
  const holding = (words: string) => sizes.lazy.filter((chunk) => text(join('assets', chunk.file)).includes(words)).map((c) => c.file);
  const page = holding('Delete connection');
  assert.equal(page.length, 1, 'one chunk holds the connection page');
  for (const words of ['Recent calls', 'Send a test request']) {
    assert.equal(holding(words).length, 1, `"${words}" is in one chunk`);
    assert.ok(!page.includes(holding(words)[0]!), `"${words}" is in the connection page's own chunk`);
  }
});

test('reads the scripts, preloads and stylesheets of a page, not its icons or other links', () => {
  const html = `<link rel="icon" href="data:x"><script type="module" src="/assets/a.js"></script>
    <link rel="modulepreload" href="/assets/b.js"><link rel="stylesheet" href="/assets/c.css"><link rel="canonical" href="/x">`;
  assert.deepEqual(firstLoadAssets(html), ['/assets/a.js', '/assets/b.js', '/assets/c.css']);
});
