// `npm start` as a new user meets it, from a clean state on a free port: the dashboard and API on
// PORT straight from workerd, the admin token written to `.dev.vars` and printed once, nothing of
// Miniflare's local tools on that port, CORS answered by the Worker, outbound connections only to
// public addresses (a host name that resolves to loopback included), no development page or
// stack trace for a caller, no secret in the local state, and nothing left running after SIGINT
// or SIGTERM to the npm process. Connections survive a restart.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../support/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'eac-start-'));
const stateDir = join(dir, 'state');
const devVars = join(dir, '.dev.vars');
const mockOrigin = process.env.E2E_MOCK_ORIGIN ?? '';
const HOSTS = '/etc/hosts';
/** A name only this run uses, added to /etc/hosts as 127.0.0.1 and removed again after. */
const loopbackName = `eac-e2e-${randomBytes(6).toString('hex')}.test`;
const hostsLine = `127.0.0.1 ${loopbackName} # edge-api-connector e2e, removed after the run`;
const started: ChildProcess[] = [];

/** A TCP service on 127.0.0.1 that counts the connections it is offered. */
let probe: { port: number; connections: number; close: () => Promise<void> };

/** Why the /etc/hosts entry could not be added (not root, outside CI), or undefined. */
let hostsProblem: string | undefined;

before(async () => {
  try {
    appendFileSync(HOSTS, `\n${hostsLine}\n`);
  } catch (err) {
    const why = `cannot add ${loopbackName} to ${HOSTS} (${(err as Error).message})`;
    if (process.env.CI === 'true') throw new Error(`${why}: under CI the tests run as root and must prove this`);
    hostsProblem = why;
    console.warn(`\n*** ${why}: the test of a host name that resolves to loopback is NOT run (run npm test as root for it) ***\n`);
  }
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    probe.connections++;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  probe = {
    port: (server.address() as AddressInfo).port,
    connections: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
});

after(async () => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }
  try {
    // Only this run's line goes; whatever else changed in the file meanwhile stays.
    const text = readFileSync(HOSTS, 'utf8');
    if (text.includes(hostsLine)) writeFileSync(HOSTS, text.split('\n').filter((line) => line !== hostsLine).join('\n').replace(/\n+$/, '\n'));
  } finally {
    await probe?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every process of the npm process's group (npm, the Node server, workerd). */
function group(child: ChildProcess): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.split(/\s+/)[1] === String(child.pid));
}

async function start(port: number, env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string; origin: string }> {
  let output = '';
  // `npm start` itself, in its own process group, so that the test can see everything it started.
  const child = spawn('npm', ['start'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), EAC_PERSIST_DIR: stateDir, EAC_DEV_VARS: devVars, ...env },
  });
  started.push(child);
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const origin = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    assert.equal(child.exitCode, null, `npm start exited early:\n${output}`);
    try {
      // Up when it answers and has said so (the startup lines may trail the first answer).
      if (output.includes(`Edge API Connector: ${origin}`) && (await fetch(`${origin}/api/health`)).ok) return { child, output: () => output, origin };
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`npm start did not come up:\n${output}`);
}

/** Sends `signal` to the npm process alone and waits until nothing of its group is left. */
async function stopWith(child: ChildProcess, signal: NodeJS.Signals): Promise<number> {
  assert.ok(group(child).length >= 3, `npm, the server and workerd run in the group:\n${group(child).join('\n')}`);
  const t0 = Date.now();
  process.kill(child.pid!, signal);
  while (group(child).length > 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(group(child), [], `left running ${Date.now() - t0} ms after ${signal} to npm`);
  return Date.now() - t0;
}

/** Every file under `root`, as bytes. */
function filesUnder(root: string): { path: string; bytes: Buffer }[] {
  if (!existsSync(root)) return [];
  const found: { path: string; bytes: Buffer }[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && statSync(path).size < 64 * 2 ** 20) found.push({ path, bytes: readFileSync(path) });
  }
  return found;
}

let adminToken = '';

test('npm start serves the built app straight from workerd, its own CORS, public addresses only, and stops on SIGINT to npm', async () => {
  const port = await freePort();
  const server = await start(port, { INSECURE_ALLOW_LOOPBACK: 'false' });
  const { origin } = server;

  // First start: `.dev.vars` written (owner only), the admin token printed once.
  adminToken = /^ADMIN_TOKEN=(.+)$/m.exec(readFileSync(devVars, 'utf8'))?.[1] ?? '';
  assert.ok(adminToken.length >= 16, '.dev.vars has an ADMIN_TOKEN');
  assert.equal(statSync(devVars).mode & 0o077, 0, '.dev.vars is readable by its owner only');
  assert.equal(server.output().split(adminToken).length - 1, 1, 'the new admin token is printed exactly once');

  // The dashboard, and an admin call.
  const page = await fetch(`${origin}/connections/anything`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Edge API Connector<\/title>/);
  const admin = { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' };
  const signIn = await fetch(`${origin}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: adminToken }) });
  assert.equal(signIn.status, 204);
  assert.equal((await fetch(`${origin}/api/connections`)).status, 401, 'no admin call without the token');

  // Nothing of Miniflare's local explorer (or its other tools) on this port.
  for (const [method, path] of [
    ['GET', '/cdn-cgi/local/explorer/'],
    ['GET', '/cdn-cgi/local/explorer/api/storage/kv'],
    ['PUT', '/cdn-cgi/local/explorer/api/storage/kv/CONNECTIONS/bulk'],
    ['GET', '/cdn-cgi/local/scheduled'],
  ] as const) {
    const res = await fetch(`${origin}${path}`, { method, headers: { Origin: 'http://127.0.0.1:5173', 'Content-Type': 'application/json' }, ...(method === 'PUT' ? { body: '[{"key":"x","value":"y"}]' } : {}) });
    assert.equal(res.status, 404, `${method} ${path} is not served`);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    await res.body?.cancel();
  }

  // A connection whose Base URL's host name resolves to loopback; its API key goes in the query.
  const apiKey = `qk_${randomBytes(16).toString('hex')}`;
  const created = await fetch(`${origin}/api/connections`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      name: 'Loopback by name',
      slug: 'by-name',
      baseUrl: `https://${loopbackName}:${probe.port}/v1`,
      auth: { method: 'api_key', name: 'api_key', value: apiKey, in: 'query' },
      relay: { allowedOrigins: ['https://shop.example'] },
    }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const keyRes = await fetch(`${origin}/api/connections/by-name/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'e2e' }) });
  const { key: relayKey } = (await keyRes.json()) as { key: string };

  // Preflights are the Worker's: exactly the listed origin, and nothing for another one.
  const preflight = (from: string) =>
    fetch(`${origin}/relay/by-name/orders`, { method: 'OPTIONS', headers: { Origin: from, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } });
  const allowed = await preflight('https://shop.example');
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example');
  const other = await preflight('https://elsewhere.example');
  assert.deepEqual([...other.headers.keys()].filter((h) => h.startsWith('access-control-')), [], 'an unlisted origin gets no CORS headers');

  // The name resolves to 127.0.0.1, which the runtime may not reach: 502, and no connection.
  const relayed = await fetch(`${origin}/relay/by-name/orders?page=1`, { headers: { Authorization: `Bearer ${relayKey}` } });
  assert.equal(relayed.status, 502);
  assert.equal(relayed.headers.get('content-type'), 'application/problem+json');
  assert.match(((await relayed.json()) as { type: string }).type, /upstream-unreachable$/);
  if (!hostsProblem) assert.equal(probe.connections, 0, 'the loopback service saw no connection');
  assert.ok(!server.output().includes(apiKey), 'the API key is in no log line');

  const ms = await stopWith(server.child, 'SIGINT');
  assert.ok(ms < 5000, `stopped within a few seconds (${ms} ms)`);
});

test('npm start keeps connections across restarts, reaches loopback only with INSECURE_ALLOW_LOOPBACK, shows no development page, and stores no secret in plain text', async () => {
  assert.ok(adminToken, 'the first test ran');
  assert.ok(mockOrigin, 'E2E_MOCK_ORIGIN is set (test/e2e/run.js)');
  const port = await freePort();
  const server = await start(port, { INSECURE_ALLOW_LOOPBACK: 'true' });
  const { origin } = server;
  assert.ok(!server.output().includes(adminToken), 'an existing .dev.vars is used as it is, its token not printed');
  const admin = { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' };

  const kept = await fetch(`${origin}/api/connections/by-name`, { headers: admin });
  assert.equal(kept.status, 200, 'the connection survived the restart');
  await kept.body?.cancel();

  // A mock API on 127.0.0.1 with the API key in the query, relayed with a relay key.
  const ns = `start${randomBytes(4).toString('hex')}`;
  await fetch(`${mockOrigin}/__mock/${ns}/routes`, { method: 'PUT', body: JSON.stringify([{ path: '/v1/orders', responses: [{ json: { ok: true } }] }]) });
  const apiKey = `qk_${randomBytes(16).toString('hex')}`;
  const created = await fetch(`${origin}/api/connections`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: 'Mock', slug: 'mock', baseUrl: `${mockOrigin}/${ns}/v1`, auth: { method: 'api_key', name: 'api_key', value: apiKey, in: 'query' } }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { key: relayKey } = (await (await fetch(`${origin}/api/connections/mock/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'e2e' }) })).json()) as { key: string };
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${origin}/relay/mock/orders?status=open`, { headers: { Authorization: `Bearer ${relayKey}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  }
  const { requests } = (await (await fetch(`${mockOrigin}/__mock/${ns}/requests`)).json()) as { requests: { rawUrl: string }[] };
  assert.equal(requests.length, 3);
  assert.ok(requests.every((r) => r.rawUrl.includes(`api_key=${apiKey}`)), 'the API key reached the API in the query');

  // No development page reaches a caller: an upstream that drops mid-body, a header over 16 KiB,
  // TRACE and `Upgrade: h2c` get answers from the Worker or the runtime, never a stack trace, and
  // the next visitor gets the dashboard.
  const rough = createHttpServer((req, res) => {
    if (req.url?.startsWith('/v1/drop')) {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100000' }).write('x'.repeat(1000));
      setTimeout(() => req.socket.destroy(), 50);
    } else if (req.url?.startsWith('/v1/big')) res.writeHead(200, { 'X-Big': 'y'.repeat(17 * 1024) }).end('big');
    else res.end(`plain ${req.method}`);
  });
  await new Promise<void>((resolve) => rough.listen(0, '127.0.0.1', resolve));
  try {
    const roughCreated = await fetch(`${origin}/api/connections`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'Rough', slug: 'rough', baseUrl: `http://127.0.0.1:${(rough.address() as AddressInfo).port}/v1`, auth: { method: 'none' } }),
    });
    assert.equal(roughCreated.status, 201);
    const { key: roughKey } = (await (await fetch(`${origin}/api/connections/rough/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'e2e' }) })).json()) as { key: string };
    const raw = (head: string) =>
      new Promise<string>((resolve) => {
        let text = '';
        const socket = connect(port, '127.0.0.1', () => socket.write(`${head}\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${roughKey}\r\n\r\n`));
        socket.on('data', (d) => (text += d));
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
        setTimeout(() => socket.destroy(), 3000);
      });
    const answers = {
      drop: await raw('GET /relay/rough/drop HTTP/1.1\r\nConnection: close'),
      big: await raw('GET /relay/rough/big HTTP/1.1\r\nConnection: close'),
      trace: await raw('TRACE /relay/rough/x HTTP/1.1\r\nConnection: close'),
      traceRoot: await raw('TRACE / HTTP/1.1\r\nConnection: close'),
      h2c: await raw('GET /relay/rough/x HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'),
    };
    for (const [name, text] of Object.entries(answers)) {
      assert.match(text, /^HTTP\/1\.1 \d{3} /, `${name}: an HTTP answer`);
      assert.doesNotMatch(text, /^HTTP\/1\.1 5\d\d /, `${name}: not a server error`);
      assert.doesNotMatch(text, /\bat [\w.<>]+ \(|node_modules|\/work\/|stack|vite/i, `${name}: no stack trace or server path`);
    }
    assert.match(answers.drop, /^HTTP\/1\.1 200 /, 'the dropped body is cut, as on Cloudflare');
    assert.match(answers.big, /^HTTP\/1\.1 200 /);
    assert.match(answers.trace, /^HTTP\/1\.1 405 /);
    assert.match(answers.h2c, /plain GET/);
    const next = await fetch(`${origin}/`);
    assert.equal(next.status, 200);
    assert.match(await next.text(), /<title>Edge API Connector<\/title>/, 'the next visitor gets the dashboard');
  } finally {
    rough.closeAllConnections();
    rough.close();
  }

  const secretsKey = /^SECRETS_KEY=(.+)$/m.exec(readFileSync(devVars, 'utf8'))?.[1] ?? '';
  await stopWith(server.child, 'SIGTERM');

  // Nothing under the state folder holds a secret in plain text (nor URL-encoded).
  const files = filesUnder(stateDir);
  assert.ok(files.length > 0, 'state was written');
  for (const secret of [apiKey, relayKey, adminToken, secretsKey]) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      const holder = files.find((f) => f.bytes.includes(form));
      assert.equal(holder?.path, undefined, `a secret (${secret.slice(0, 3)}...) is stored in plain text`);
    }
  }
  assert.ok(!server.output().includes(apiKey) && !server.output().includes(relayKey), 'no secret in the output');
});
