// Shared helpers of the benchmark: flags, statistics, child processes, formatting.
import { fork } from 'node:child_process';

/**
 * @typedef {object} Options
 * @property {boolean} tiny          a few requests per figure, to prove the bench runs (tests)
 * @property {number} rounds         rounds over all scenarios (min/median/max are over these)
 * @property {number} duration       seconds of measured load per scenario and round
 * @property {number} warmup         seconds of unmeasured load before each measured run
 * @property {number} connections    concurrent callers for direct, bare and relay
 * @property {number} slices         bare and relay alternate in this many slices per round
 * @property {boolean} singleCaller  also measure bare and relay with 1 caller (unloaded latency)
 * @property {number} many           also measure bare, relay and npm start with this many callers (0: not)
 * @property {boolean} start         also measure the relay through `npm start`
 * @property {number} memorySeconds  seconds of load on `npm start` while its memory is sampled
 * @property {number} coldBurst      concurrent first calls after a token purge
 * @property {number} warmCalls      relayed calls at `tokenConnections` callers that count token requests
 * @property {number} tokenConnections concurrent callers of the token-count run
 * @property {number} isolates      isolates (Worker scripts bound to one home) for the cold-token, revocation and call-log rows (0: not)
 * @property {number} isolateBurst   concurrent first calls at each isolate from cold
 * @property {number} amount         with --tiny: requests per measured scenario (instead of a duration)
 * @property {number} tokenDelay     ms the mock token endpoint waits before answering
 * @property {boolean} write         write BENCHMARKS.md
 * @property {boolean} build         run `vite build` first (else reuse dist/)
 * @property {string | undefined} json  also write the results as JSON to this file
 */

const HELP = `Usage: npm run bench -- [flags]
  --tiny             a few requests per figure, 1 round (what the test runs); implies --no-write
  --rounds N         rounds (default 3; min/median/max are over rounds)
  --duration S       seconds of measured load per scenario and round (default 5)
  --warmup S         seconds of unmeasured load before each measured run (default 1)
  --connections N    concurrent callers for direct, bare and relay (default 10)
  --slices N         bare and relay alternate in N slices per round (default: 1 per second)
  --no-single-caller skip the 1-caller latency runs of bare and relay
  --many N           also measure with N concurrent callers (default 32; 0 skips)
  --no-start         leave out the relay through \`npm start\`
  --memory S         seconds of load on npm start while its memory is sampled (default 30)
  --cold-burst N     concurrent first calls after a token purge (default 100)
  --warm-calls N     warm relayed calls (at 100 callers) that count token requests (default 10000)
  --isolates N       isolates bound to one connection home for the cold-token, revocation and
                     call-log rows (default 4; 0 skips)
  --isolate-burst N  concurrent first calls at each isolate from cold (default 100)
  --token-delay MS   delay of the mock token endpoint (default 20)
  --no-write         do not write BENCHMARKS.md
  --no-build         reuse dist/ instead of running vite build
  --json FILE        also write the results as JSON
`;

/**
 * Parses the command line.
 * @param {string[]} argv
 * @returns {Options}
 */
export function parseArgs(argv) {
  /** @type {Options} */
  const o = {
    tiny: false,
    rounds: 3,
    duration: 5,
    warmup: 1,
    connections: 10,
    slices: 0,
    singleCaller: true,
    many: 32,
    start: true,
    memorySeconds: 30,
    coldBurst: 100,
    warmCalls: 10_000,
    tokenConnections: 100,
    isolates: 4,
    isolateBurst: 100,
    amount: 0,
    tokenDelay: 20,
    write: true,
    build: true,
    json: undefined,
  };
  /** @type {Set<string>} */
  const given = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] = arg.split('=', 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (/** @type {number} */ min) => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}`);
      return n;
    };
    given.add(flag);
    switch (flag) {
      case '--tiny': o.tiny = true; break;
      case '--rounds': o.rounds = Math.floor(num(1)); break;
      case '--duration': o.duration = num(0.5); break;
      case '--warmup': o.warmup = num(0); break;
      case '--connections': o.connections = Math.floor(num(1)); break;
      case '--slices': o.slices = Math.floor(num(1)); break;
      case '--no-single-caller': o.singleCaller = false; break;
      case '--many': o.many = Math.floor(num(0)); break;
      case '--no-start': o.start = false; break;
      case '--memory': o.memorySeconds = num(1); break;
      case '--cold-burst': o.coldBurst = Math.floor(num(1)); break;
      case '--warm-calls': o.warmCalls = Math.floor(num(1)); break;
      case '--token-delay': o.tokenDelay = num(0); break;
      case '--isolates': o.isolates = Math.floor(num(0)); break;
      case '--isolate-burst': o.isolateBurst = Math.floor(num(1)); break;
      case '--no-write': o.write = false; break;
      case '--no-build': o.build = false; break;
      case '--json': o.json = value(); break;
      case '--help': case '-h': process.stdout.write(HELP); process.exit(0); break;
      default: throw new Error(`unknown flag ${arg}\n${HELP}`);
    }
  }
  if (o.tiny) {
    // A few requests per figure: proves every path works, measures nothing worth keeping.
    if (!given.has('--rounds')) o.rounds = 1;
    if (!given.has('--warm-calls')) o.warmCalls = 300;
    if (!given.has('--warmup')) o.warmup = 0;
    o.amount = 200;
    if (!given.has('--memory')) o.memorySeconds = 2;
    o.write = false;
    if (!given.has('--slices')) o.slices = 2;
  }
  if (o.slices === 0) o.slices = Math.max(1, Math.round(o.duration));
  o.tokenConnections = Math.min(100, o.warmCalls);
  return o;
}

/**
 * The q-quantile (0..1) of sorted numbers, by the nearest-rank method.
 * @param {ArrayLike<number>} sorted @param {number} q
 */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return /** @type {number} */ (sorted[rank - 1]);
}

/**
 * Min, median and max of a figure over rounds.
 * @param {number[]} values
 * @returns {{ min: number, median: number, max: number }}
 */
export function spread(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return { min: NaN, median: NaN, max: NaN };
  const mid = s.length >> 1;
  const median = s.length % 2 ? /** @type {number} */ (s[mid]) : (/** @type {number} */ (s[mid - 1]) + /** @type {number} */ (s[mid])) / 2;
  return { min: /** @type {number} */ (s[0]), median, max: /** @type {number} */ (s[s.length - 1]) };
}

/**
 * A number for a table: `digits` decimals, thousands grouped.
 * @param {number} n @param {number} digits
 */
export function fmt(n, digits = 0) {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * A Markdown / console table.
 * @param {string[]} head @param {string[][]} rows
 */
export function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (/** @type {string[]} */ cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/**
 * A helper child process spoken to over IPC: `call(msg)` sends `{ id, ...msg }` and resolves with
 * the child's `{ id, result }` answer (rejects on `{ id, error }`); `ready` waits for its `{ id: 0 }`. Each child runs in its own
 * process group, so that `stop()` also ends whatever it started (workerd).
 * @param {string} script @param {string[]} args
 */
export function startChild(script, args = []) {
  const child = fork(script, args, { detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
  const pending = new Map();
  /** Resolves with the child's first message (`{ id: 0, result }`), sent once it is listening. */
  const ready = new Promise((resolve, reject) => pending.set(0, { resolve, reject }));
  child.on('message', (/** @type {any} */ msg) => {
    const waiter = pending.get(msg?.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (msg.error) waiter.reject(new Error(`${script}: ${msg.error}`));
    else waiter.resolve(msg.result);
  });
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    child,
    ready,
    /** @param {Record<string, unknown>} msg @returns {Promise<any>} */
    call(msg) {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`${script} is not running`));
        const id = ++next;
        pending.set(id, { resolve, reject });
        child.send({ id, ...msg });
      });
    },
    /** Ends the child's process group: SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 2000) {
      if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      const timer = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }, graceMs);
      await exited;
      clearTimeout(timer);
      // workerd may outlive its parent for a moment: make sure the group is gone.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    },
  };
}

/**
 * Serves IPC requests in a child started by `startChild`; runs `cleanup` and exits when the parent
 * goes away or on SIGTERM / SIGINT.
 * @param {(msg: any) => Promise<unknown>} handle
 * @param {() => Promise<void> | void} [cleanup]
 */
export function serveParent(handle, cleanup) {
  let ending = false;
  const end = async () => {
    if (ending) return;
    ending = true;
    try {
      await cleanup?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
  process.on('message', async (/** @type {any} */ msg) => {
    try {
      const result = await handle(msg);
      process.send?.({ id: msg.id, result });
    } catch (err) {
      process.send?.({ id: msg.id, error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  });
  // The parent gone means the run is over.
  process.on('disconnect', end);
}
