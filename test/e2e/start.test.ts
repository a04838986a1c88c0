// `npm start` as a new user meets it: the dashboard and API come up on PORT, the admin token in
// .dev.vars signs in, and connections survive a restart (local KV on disk).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../support/free-port.js';

const stateDir = mkdtempSync(join(tmpdir(), 'eac-start-'));
const hadDevVars = existsSync('.dev.vars');
const children: ChildProcess[] = [];

async function start(port: number): Promise<{ child: ChildProcess; output: () => string }> {
  let output = '';
  const child = spawn(process.execPath, ['scripts/start.js'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), EAC_PERSIST_DIR: stateDir },
  });
  children.push(child);
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    assert.equal(child.exitCode, null, `npm start exited early:\n${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/health`)).ok) return { child, output: () => output };
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`npm start did not come up:\n${output}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

after(async () => {
  for (const child of children) if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
  if (!hadDevVars) rmSync('.dev.vars', { force: true });
});

test('npm start serves the dashboard and API on PORT, and keeps connections across restarts', async () => {
  const port = await freePort();
  const first = await start(port);
  const devVars = readFileSync('.dev.vars', 'utf8');
  const token = /^ADMIN_TOKEN=(.+)$/m.exec(devVars)?.[1];
  assert.ok(token, '.dev.vars has an ADMIN_TOKEN');
  assert.match(devVars, /^SECRETS_KEY=.{32,}$/m);
  if (hadDevVars) assert.ok(!first.output().includes(token), 'an existing .dev.vars is used as it is, its token not printed');
  else assert.ok(first.output().includes(`Admin token: ${token}`), 'the new admin token is printed once');

  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Edge API Connector<\/title>/);

  const origin = `http://127.0.0.1:${port}`;
  const signIn = await fetch(`${origin}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
  assert.equal(signIn.status, 204);
  const created = await fetch(`${origin}/api/connections`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Persisted', slug: 'persisted', baseUrl: 'https://api.example.com', auth: { method: 'bearer', token: 'static-secret-value' } }),
  });
  assert.equal(created.status, 201);
  await stop(first.child);

  const second = await start(port);
  const res = await fetch(`${origin}/api/connections/persisted`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(!text.includes('static-secret-value'));
  assert.equal(JSON.parse(text).auth.tokenSet, true);
  assert.ok(!second.output().includes('static-secret-value'));
  await stop(second.child);
});
