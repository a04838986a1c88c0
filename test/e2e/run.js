// Browser end-to-end tests: builds the app, starts it on a free loopback port exactly as it
// deploys (the built Worker under `wrangler dev`, local KV in a temporary folder), starts the
// mock upstream, then runs test/e2e/*.test.ts with Node's test runner against a real Chromium.
// Every server started here is stopped here, by process group.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../support/free-port.js';
import { startMockServer } from '../support/mock-server.ts';

const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const chromium = CHROMIUM_CANDIDATES.find((p) => p && existsSync(p));
if (!chromium) {
  const line = 'No Chromium found (set CHROMIUM_PATH, or on Debian: sudo apt-get install -y chromium): browser tests skipped.';
  if (process.env.CI === 'true') {
    console.error(`${line.replace('skipped', 'cannot run')} Under CI a missing browser is a failure.`);
    process.exit(1);
  }
  console.warn(line);
}

/**
 * Waits until `url` answers, or the process exits, or the time runs out.
 * @param {string} url @param {import('node:child_process').ChildProcess} child @param {() => string} log
 */
async function waitFor(url, child, log, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server did not answer ${url} in time:\n${log()}`);
}

/** @param {import('node:child_process').ChildProcess} child */
function stopGroup(child) {
  if (child.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
}

const build = spawnSync('vite', ['build', '--logLevel', 'warn'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const stateDir = mkdtempSync(join(tmpdir(), 'eac-e2e-'));
const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
const adminToken = `e2e_${randomBytes(24).toString('base64url')}`;
const mock = await startMockServer();
let output = '';
const server = spawn(
  'wrangler',
  [
    'dev', '-c', 'dist/edge_api_connector/wrangler.json', '--ip', '127.0.0.1', '--port', String(port),
    '--persist-to', stateDir, '--show-interactive-dev-session=false', '--inspector-port', String(await freePort()),
    '--var', `ADMIN_TOKEN:${adminToken}`, '--var', `SECRETS_KEY:${randomBytes(32).toString('base64url')}`,
    '--var', 'INSECURE_ALLOW_LOOPBACK:true',
  ],
  { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
);
server.stdout?.on('data', (d) => (output += d));
server.stderr?.on('data', (d) => (output += d));

let status = 1;
try {
  await waitFor(`${baseUrl}/api/health`, server, () => output);
  // `*.browser.test.ts` files drive Chromium; the others need only the servers.
  const files = readdirSync('test/e2e')
    .filter((f) => f.endsWith('.test.ts') && (chromium || !f.endsWith('.browser.test.ts')))
    .map((f) => join('test/e2e', f));
  // Asynchronous on purpose: the mock upstream runs in this process and must keep answering.
  const run = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    stdio: 'inherit',
    env: { ...process.env, E2E_BASE_URL: baseUrl, E2E_ADMIN_TOKEN: adminToken, E2E_MOCK_ORIGIN: mock.origin, CHROMIUM_PATH: chromium ?? '' },
  });
  status = await new Promise((resolve) => run.on('exit', (code) => resolve(code ?? 1)));
  if (status !== 0 && process.env.E2E_SERVER_LOG !== 'false') console.error(`--- server log ---\n${output.slice(-4000)}`);
} finally {
  stopGroup(server);
  await mock.close();
  await new Promise((r) => setTimeout(r, 300));
  rmSync(stateDir, { recursive: true, force: true });
}
process.exit(status);
