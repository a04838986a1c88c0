// Child process of the benchmark: drives load with autocannon, away from the servers' event loops.
// Spoken to over IPC:
//   { cmd: 'run', run: { url, headers, method?, body?, connections, duration | amount, bucket? } } ->
//     { ok, failed, statusCodes, elapsedMs, rps, p50, p99, max, mean } of that run;
//   { cmd: 'take', bucket } -> the same figures over every run into `bucket` since the last take
//     (interleaved slices of two scenarios add up to one figure each).
// Latencies come from autocannon's per-response timings (sub-millisecond), not its integer-ms
// histogram; only 2xx answers count as served.
import { createRequire } from 'node:module';
import { quantile, serveParent } from './lib.js';

// autocannon ships no types: loaded through require, it is `any` to the type checker.
const autocannon = createRequire(import.meta.url)('autocannon');

/**
 * @typedef {object} LoadRun
 * @property {string} url
 * @property {Record<string, string>} [headers]
 * @property {string} [method]  default GET
 * @property {string} [body]
 * @property {number} connections
 * @property {number} [duration]  seconds
 * @property {number} [amount]    requests in all
 * @property {string} [bucket]    also add the run's latencies and time to this bucket
 */

/** @type {Map<string, { latencies: number[], elapsedMs: number }>} */
const buckets = new Map();

/**
 * Figures of a set of latencies served in `elapsedMs`.
 * @param {number[]} latencies @param {number} elapsedMs
 */
function summarize(latencies, elapsedMs) {
  const sorted = Float64Array.from(latencies).sort();
  let sum = 0;
  for (const ms of latencies) sum += ms;
  return {
    ok: latencies.length,
    elapsedMs,
    rps: latencies.length / (elapsedMs / 1000),
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: quantile(sorted, 1),
    mean: sum / (latencies.length || 1),
  };
}

/**
 * @param {LoadRun} run
 */
function drive(run) {
  return new Promise((resolve, reject) => {
    /** @type {number[]} */
    const latencies = [];
    const started = performance.now();
    let last = started;
    /** @type {Record<string, unknown>} */
    const opts = {
      url: run.url,
      headers: run.headers ?? {},
      ...(run.method ? { method: run.method } : {}),
      ...(run.body !== undefined ? { body: run.body } : {}),
      connections: run.connections,
      pipelining: 1,
      timeout: 10,
      ...(run.amount ? { amount: run.amount } : { duration: run.duration ?? 1 }),
    };
    const instance = autocannon(opts, (/** @type {Error | null} */ err, /** @type {any} */ result) => {
      if (err) return reject(err);
      const elapsedMs = (run.amount ? last : performance.now()) - started;
      if (run.bucket) {
        const bucket = buckets.get(run.bucket) ?? { latencies: [], elapsedMs: 0 };
        for (const ms of latencies) bucket.latencies.push(ms);
        bucket.elapsedMs += elapsedMs;
        buckets.set(run.bucket, bucket);
      }
      resolve({ ...summarize(latencies, elapsedMs), failed: result.non2xx + result.errors + result.timeouts, statusCodes: result.statusCodeStats });
    });
    instance.on('response', (/** @type {unknown} */ _client, /** @type {number} */ status, /** @type {number} */ _bytes, /** @type {number} */ ms) => {
      last = performance.now();
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

serveParent(async (msg) => {
  if (msg.cmd === 'run') return drive(msg.run);
  if (msg.cmd === 'take') {
    const bucket = buckets.get(msg.bucket);
    buckets.delete(msg.bucket);
    if (!bucket) throw new Error(`no runs into bucket ${msg.bucket}`);
    return summarize(bucket.latencies, bucket.elapsedMs);
  }
  throw new Error(`unknown command ${msg.cmd}`);
});
process.send?.({ id: 0, result: null });
