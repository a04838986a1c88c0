// `npm start`: the product on http://127.0.0.1:$PORT (default 8787), served straight from workerd
// (scripts/serve.js): builds the dashboard and Worker first when the build is missing or older
// than the sources, writes `.dev.vars` on first start, keeps state under .wrangler/state (the
// same data `npm run dev` uses). Ctrl-C, SIGINT or SIGTERM stop it and the runtime with it.
//
// EAC_PERSIST_DIR and EAC_DEV_VARS move the state folder and the secrets file elsewhere (tests and
// the benchmark); INSECURE_ALLOW_LOOPBACK=true in the environment or in `.dev.vars` lets the
// Worker reach loopback and private addresses (local mock APIs).
import './check-node.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseEnv } from 'node:util';
import { ensureDevVars } from './dev-vars.js';
import { ROOT, serve } from './serve.js';

/** A path as the user would type it: relative when under the current folder. */
const shown = (/** @type {string} */ path) => {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
};
const DIST_CONFIG = join(ROOT, 'dist/edge_api_connector/wrangler.json');
const DIST_INDEX = join(ROOT, 'dist/client/index.html');
/** Never build inputs: tooling, tests, docs, output, state. */
const NOT_SOURCES = new Set(['node_modules', 'dist', '.wrangler', '.git', '.ci', 'test', 'test-results', 'bench', 'scripts', '.vitest-cache']);
/** How long the runtime may take to stop before it is killed. */
const STOP_GRACE_MS = 3000;

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a port number, not "${process.env.PORT}".`);
  process.exit(1);
}

/** Newest modification time of the build's inputs under `dir` (ms). */
function newestSource(dir = ROOT) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (dir === ROOT && (NOT_SOURCES.has(entry.name) || entry.name.endsWith('.md') || entry.name.startsWith('.'))) continue;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.isFile()) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Why the build must be redone, or undefined when it is current. */
function staleBuild() {
  if (!existsSync(DIST_CONFIG) || !existsSync(DIST_INDEX)) return 'no build yet';
  const built = Math.min(statSync(DIST_CONFIG).mtimeMs, statSync(DIST_INDEX).mtimeMs);
  return newestSource() > built ? 'sources changed since the last build' : undefined;
}

const why = staleBuild();
if (why) {
  console.log(`Building the dashboard and Worker (${why})...`);
  const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
  const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('The build failed; nothing was started.');
    process.exit(build.status ?? 1);
  }
}

const devVarsPath = process.env.EAC_DEV_VARS ?? join(ROOT, '.dev.vars');
const token = ensureDevVars(devVarsPath);
if (token) {
  console.log(`\nWrote ${shown(devVarsPath)} with a new ADMIN_TOKEN and SECRETS_KEY (shown once; the file keeps them):`);
  console.log(`\n  Admin token: ${token}\n`);
}
const vars = /** @type {Record<string, string>} */ (parseEnv(readFileSync(devVarsPath, 'utf8')));
const allowLoopback = (process.env.INSECURE_ALLOW_LOOPBACK ?? vars.INSECURE_ALLOW_LOOPBACK) === 'true';
const persistDir = process.env.EAC_PERSIST_DIR ?? join(ROOT, '.wrangler/state');

/** @type {Awaited<ReturnType<typeof serve>> | undefined} */
let server;
let stopping = false;
/** Stops the runtime (killed if it takes too long), then exits. */
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
  try {
    await server?.dispose();
  } catch {}
  process.exit(code);
}
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.on(signal, () => void stop(0));
// When the process that started this one goes away without a signal reaching here (npm's shell
// ended by a signal sent to npm alone), stop as well.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 500).unref();

try {
  server = await serve({
    port,
    persistDir,
    vars,
    allowLoopback,
    log: (line) => console.error(line),
  });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  console.error(/EADDRINUSE|address already in use/i.test(message) ? `Port ${port} is in use: set PORT to another one.` : `Could not start: ${message}`);
  await stop(1);
}
if (!stopping) {
  console.log(`Edge API Connector: http://127.0.0.1:${port}`);
  console.log(`  state: ${shown(persistDir)}; outbound: ${allowLoopback ? 'public, private and loopback addresses (INSECURE_ALLOW_LOOPBACK)' : 'public addresses only'}`);
  console.log('  Ctrl-C stops it. `npm run dev` serves the same with hot reload, for working on the code.');
}
