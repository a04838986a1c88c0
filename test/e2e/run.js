// Browser end-to-end tests: builds the app, serves it on a free loopback port as `npm start` does
// (the built Worker straight from workerd, scripts/serve.js, with its state in a temporary
// folder), starts the mock upstream, then runs test/e2e/*.test.ts with Node's test runner against
// a real Chromium. Every server started here is stopped here.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../support/free-port.js';
import { startMockServer } from '../support/mock-server.ts';
import { serve } from '../../scripts/serve.js';

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

const build = spawnSync('vite', ['build', '--logLevel', 'warn'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const stateDir = mkdtempSync(join(tmpdir(), 'eac-e2e-'));
const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
const adminToken = `e2e_${randomBytes(24).toString('base64url')}`;
const mock = await startMockServer();
let output = '';
const server = await serve({
  port,
  persistDir: stateDir,
  vars: { ADMIN_TOKEN: adminToken, SECRETS_KEY: randomBytes(32).toString('base64url') },
  allowLoopback: true,
  log: (line) => (output += `${line}\n`),
});

let status = 1;
try {
  // `*.browser.test.ts` files drive Chromium; the others need only the servers.
  const files = readdirSync('test/e2e')
    .filter((f) => f.endsWith('.test.ts') && (chromium || !f.endsWith('.browser.test.ts')))
    // E2E_ONLY=<part of a file name> runs only the matching files (while working on them).
    .filter((f) => !process.env.E2E_ONLY || f.includes(process.env.E2E_ONLY))
    .map((f) => join('test/e2e', f));
  // Asynchronous on purpose: the mock upstream runs in this process and must keep answering.
  const run = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    stdio: 'inherit',
    env: { ...process.env, E2E_BASE_URL: baseUrl, E2E_ADMIN_TOKEN: adminToken, E2E_MOCK_ORIGIN: mock.origin, CHROMIUM_PATH: chromium ?? '' },
  });
  status = await new Promise((resolve) => run.on('exit', (code) => resolve(code ?? 1)));
  if (status !== 0 && process.env.E2E_SERVER_LOG !== 'false') console.error(`--- server log ---\n${output.slice(-4000)}`);
} finally {
  await server.dispose();
  await mock.close();
  await new Promise((r) => setTimeout(r, 300));
  rmSync(stateDir, { recursive: true, force: true });
}
process.exit(status);
