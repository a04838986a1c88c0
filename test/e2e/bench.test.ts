// The benchmark (`npm run bench`) in its tiny mode: a few requests per figure, one round, no
// BENCHMARKS.md write. Proves every row is still produced with sane numbers so that the bench
// cannot rot; asserts nothing about speed (those are figures in BENCHMARKS.md, not tests).
// Runs after test/e2e/run.js has built dist/, so it reuses it (--no-build).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

const dir = mkdtempSync(join(tmpdir(), 'eac-bench-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Spread {
  min: number;
  median: number;
  max: number;
}

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Its own process group: on a timeout the bench and everything it started are ended.
    const child = spawn(process.execPath, ['bench/run.js', ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('npm run bench -- --tiny produces every figure, with sane numbers', { timeout: 180_000 }, async () => {
  const benchmarks = existsSync('BENCHMARKS.md') ? statSync('BENCHMARKS.md').mtimeMs : null;
  const json = join(dir, 'bench.json');
  const { code, stdout, stderr } = await run(['--tiny', '--no-build', '--json', json], 170_000);
  assert.equal(code, 0, `bench failed:\n${stderr.slice(-4000)}`);
  const res = JSON.parse(readFileSync(json, 'utf8'));

  const scenarios: Record<string, { label: string; rps: Spread; p50: Spread; p99: Spread; cpuUsPerCall: Spread; requests: number }> = res.scenarios;
  assert.deepEqual(
    Object.keys(scenarios).sort(),
    ['bare', 'bare1', 'bareMany', 'direct', 'feed', 'relay', 'relay1', 'relayBurst', 'relayCold', 'relayMany', 'relayPost', 'start', 'start1', 'startMany'].sort(),
  );
  for (const [key, s] of Object.entries(scenarios)) {
    assert.ok(s.requests > 0, `${key}: requests served`);
    assert.ok(s.rps.median > 0 && Number.isFinite(s.rps.median), `${key}: req/s`);
    assert.ok(s.p50.median > 0 && s.p50.median <= s.p99.median, `${key}: 0 < p50 <= p99`);
    assert.ok(s.p99.median < 10_000, `${key}: p99 under the load generator's timeout`);
    assert.ok(stdout.includes(s.label), `the table has a row for ${key}`);
  }
  for (const [name, ratio] of Object.entries(res.ratios as Record<string, Spread>)) {
    // CPU per call is read from /proc: Linux only.
    if (name.startsWith('cpu') && process.platform !== 'linux') continue;
    assert.ok(Number.isFinite(ratio.median), `ratio ${name} is a number`);
  }
  if (process.platform === 'linux') {
    assert.ok(scenarios.bare!.cpuUsPerCall.median > 0 && scenarios.relay!.cpuUsPerCall.median > 0, 'workerd CPU per call');
    assert.ok(scenarios.start!.cpuUsPerCall.median > 0, 'workerd CPU per call of npm start');
    // Memory of npm start's Node process and workerd, sampled under load.
    assert.ok(res.memory.samples >= 2, 'memory sampled');
    assert.ok(res.memory.firstMiB > 10 && res.memory.lastMiB > 10 && Number.isFinite(res.memory.maxDriftPct), 'memory figures');
  }
  assert.ok(res.ratios.throughput.median > 0);
  // The feed trigger was measured against the relay doing the same POST.
  assert.ok(res.ratios.feedThroughput.median > 0 && scenarios.feed!.requests > 0 && scenarios.relayPost!.requests > 0, 'feed and relay POST measured');
  assert.match(stdout, /feed trigger\/relay throughput/);

  // Token requests: none with a warm cache, exactly one for a burst from cold (single-flight).
  assert.equal(res.tokens.warmPer10k.max, 0, 'no token request with a warm cache');
  assert.equal(res.tokens.coldBurst.min, 1, 'one token request for the cold burst');
  assert.equal(res.tokens.coldBurst.max, 1);
  assert.equal(res.tokens.coldBurstSize, 100);
  assert.ok(res.tokens.relayedCalls > 0);
  assert.ok(scenarios.start!.requests > 0 && scenarios.startMany!.requests > 0, 'the relay through npm start was measured');
  assert.equal(res.tokens.relayedWithoutToken, 0, 'every relayed call carried the access token');
  assert.equal(res.tokens.relayedWithRelayKey, 0, 'no relayed call carried the relay key');

  // The connection home and the call log (counts, not speed): on the warm relay path the home
  // gets the call log's batches and nothing for tokens; every call made is logged; 4 isolates from
  // cold make one token request; after a revocation the first call answers.
  const home = res.home;
  for (const [name, w] of Object.entries({ '1 isolate': home.relay, '4 isolates': home.isolates }) as [string, any][]) {
    assert.equal(w.rounds, 1, `${name}: measured`);
    assert.ok(w.made > 0 && w.per1k.batches.median > 0, `${name}: call-log batches counted`);
    assert.equal(w.per1k.tokenCalls.max, 0, `${name}: no token call to the home on the warm path`);
    assert.equal(w.per1k.other.max, 0, `${name}: no home call but batches and key-use notes`);
    assert.equal(w.logged, w.made, `${name}: every call made is logged`);
  }
  assert.equal(home.isolateCount, 4);
  assert.equal(home.isoCold.tokenRequests.min, 1, 'one token request for 4 isolates from cold');
  assert.equal(home.isoCold.tokenRequests.max, 1);
  assert.equal(home.revocation.failedBeforeFirst.max, 0, 'the first call after a revocation answers 200');
  assert.equal(home.revocation.othersFailed.max, 0, "each other isolate's first call answers 200");
  assert.equal(home.revocation.tokenRequests.max, 1, 'one token request for the new token');
  assert.ok(home.revocation.refusals.min >= 1 && Number.isFinite(home.revocation.firstMs.median), 'the revocation was met and its first answer timed');
  assert.match(stdout, /home calls per 1,000 warm relayed calls/);

  const { dashboardJs, workerUpload } = res.sizes;
  assert.ok(dashboardJs.files > 0 && dashboardJs.rawBytes > dashboardJs.gzipBytes && dashboardJs.gzipBytes > 0, 'dashboard JS sizes');
  assert.ok(workerUpload.kib > workerUpload.gzipKib && workerUpload.gzipKib > 0, 'Worker upload sizes from wrangler --dry-run');

  assert.equal(res.targets.length, 19, 'every target is judged');
  for (const t of res.targets) assert.equal(typeof t.met, 'boolean');
  assert.ok(res.meta.machine.cores > 0 && res.meta.machine.memoryGiB > 0);
  assert.match(stdout, /relay\/bare throughput/);
  assert.match(stdout, /Worker upload/);

  // --tiny never writes BENCHMARKS.md.
  assert.equal(existsSync('BENCHMARKS.md') ? statSync('BENCHMARKS.md').mtimeMs : null, benchmarks);
});
