// Global single flight, shown in workerd with separate isolates: one Miniflare runs the built
// Worker (dist/edge_api_connector/index.js) as five Worker scripts, each its own isolate with its
// own module cache (so its own token memory and relay cache). Script "home" hosts the
// ConnectionHome class; the four others bind HOMES to it through `scriptName`. All five share one
// KV namespace, as the locations of one account do.
//
// A token endpoint and an API on 127.0.0.1 (in this process) count what they receive. The test
// proves, with those counts:
// - cold caches, 25 concurrent relay calls at each script at once: exactly 1 token request;
// - after the API starts refusing the current token, the first relay call answers 200 (one 401,
//   one refresh, one retry), and every other isolate's first call too, with no further request;
// - many concurrent calls across the scripts meeting the same refusal cause exactly 1 refresh.
//
// Runs after test/e2e/run.js has built dist/; alone, it builds dist/ when it is missing.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';

const SCRIPT_PATH = resolve('dist/edge_api_connector/index.js');
/** Scripts that take relay calls: the home's own and four others bound to its class. */
const SCRIPTS = ['home', 'edge-a', 'edge-b', 'edge-c', 'edge-d'];
const CALLS_PER_SCRIPT = 25;
const TOKEN_ENDPOINT_DELAY_MS = 250;

const adminToken = `iso_${randomBytes(24).toString('base64url')}`;
const secretsKey = randomBytes(32).toString('base64url');
const clientSecret = randomBytes(24).toString('base64url');

// ---- the token endpoint and the API

/** One OAuth client of the token endpoint: the tokens issued to it and which the API accepts. */
interface Client {
  issued: string[];
  /** Token requests received. */
  tokenRequests: number;
  /** The API accepts the client's token n (1-based) only when n >= this. */
  firstAccepted: number;
}

interface ApiCall {
  client: string;
  script: string;
  /** Which of the client's tokens was presented (1-based), 0 for none or another's. */
  token: number;
  status: number;
}

const clients = new Map<string, Client>();
const apiCalls: ApiCall[] = [];

function clientOf(id: string): Client {
  let client = clients.get(id);
  if (!client) clients.set(id, (client = { issued: [], tokenRequests: 0, firstAccepted: 1 }));
  return client;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

const upstream = createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.method === 'POST' && req.url === '/oauth/token') {
    // RFC 6749 §2.3.1: client id and secret are form-encoded, then Base64-encoded.
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [id, secret] = Buffer.from(basic ?? '', 'base64').toString('utf8').split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
    if (!id || !clients.has(id) || secret !== clientSecret || new URLSearchParams(body).get('grant_type') !== 'client_credentials') {
      json(res, 401, { error: 'invalid_client' });
      return;
    }
    const client = clientOf(id);
    client.tokenRequests++;
    // A token endpoint takes a while: callers arriving meanwhile find the request in flight.
    await new Promise((r) => setTimeout(r, TOKEN_ENDPOINT_DELAY_MS));
    const token = `at_${client.issued.length + 1}_${randomBytes(16).toString('base64url')}`;
    client.issued.push(token);
    json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
    return;
  }
  const api = /^\/api\/([\w-]+)\//.exec(req.url ?? '');
  const client = api ? clients.get(api[1]!) : undefined;
  if (api && client) {
    const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = presented === undefined ? 0 : client.issued.indexOf(presented) + 1;
    const status = token > 0 && token >= client.firstAccepted ? 200 : 401;
    apiCalls.push({ client: api[1]!, script: String(req.headers['x-caller'] ?? ''), token, status });
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    json(res, status, status === 200 ? { orders: [] } : { error: 'invalid_token' });
    return;
  }
  json(res, 404, { error: 'not_found' });
});

// ---- the Worker scripts

const built = () => JSON.parse(readFileSync(resolve(dirname(SCRIPT_PATH), 'wrangler.json'), 'utf8')) as { compatibility_date: string; compatibility_flags?: string[] };

/** Script `name`: the built Worker; HOMES is its own class in "home", the class in "home" elsewhere. */
const worker = (name: string) => ({
  name,
  modules: true,
  scriptPath: SCRIPT_PATH,
  modulesRoot: dirname(SCRIPT_PATH),
  compatibilityDate: built().compatibility_date,
  compatibilityFlags: built().compatibility_flags ?? [],
  // One namespace id for all: every script reads and writes the same KV.
  kvNamespaces: { CONNECTIONS: 'shared-connections' },
  durableObjects: {
    HOMES: name === 'home' ? { className: 'ConnectionHome', useSQLite: true } : { className: 'ConnectionHome', scriptName: 'home', useSQLite: true },
  },
  bindings: { ADMIN_TOKEN: adminToken, SECRETS_KEY: secretsKey, INSECURE_ALLOW_LOOPBACK: 'true' },
  // Each script on its own socket: a request goes to that script's isolate and no other.
  unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
});

let mf: Miniflare | undefined;
let upstreamOrigin = '';
const origins = new Map<string, string>();
const originOf = (name: string) => origins.get(name)!;

before(async () => {
  if (!existsSync(SCRIPT_PATH)) {
    const build = spawnSync('vite', ['build', '--logLevel', 'warn'], { stdio: 'inherit' });
    assert.equal(build.status, 0, 'vite build');
  }
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamOrigin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  mf = new Miniflare(convertV4MiniflareOptions({ host: '127.0.0.1', port: 0, logRequests: false, verbose: false, workers: SCRIPTS.map(worker) }));
  await mf.ready;
  for (const name of SCRIPTS) origins.set(name, (await mf.unsafeGetDirectURL(name)).origin);
});

after(async () => {
  await mf?.dispose();
  upstream.closeAllConnections();
  if (upstream.listening) await new Promise<void>((r) => upstream.close(() => r()));
});

// ---- helpers

async function admin(script: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${originOf(script)}${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/**
 * A new OAuth connection whose client is `clientId` at the mock token endpoint, created through
 * one script and given a relay key through another (both writes go to the home in script "home").
 */
async function connection(clientId: string): Promise<{ slug: string; key: string; client: Client }> {
  const client = clientOf(clientId);
  const slug = `${clientId}-${randomUUID().slice(0, 8)}`;
  const created = await admin('edge-a', 'POST', '/api/connections', {
    name: clientId,
    slug,
    baseUrl: `${upstreamOrigin}/api/${clientId}`,
    auth: { method: 'oauth2_client_credentials', clientId, clientSecret, tokenUrl: `${upstreamOrigin}/oauth/token` },
  });
  assert.equal(created.status, 201, 'connection created through edge-a');
  const keyRes = await admin('edge-b', 'POST', `/api/connections/${slug}/keys`, { name: 'isolates' });
  assert.equal(keyRes.status, 201, 'relay key created through edge-b');
  const { key } = (await keyRes.json()) as { key: string };
  assert.equal(client.tokenRequests, 0, 'no token requested before the first relay call');
  return { slug, key, client };
}

/** One relay call at `script`; answers its status and how long it took. */
async function relayCall(script: string, slug: string, key: string): Promise<{ script: string; status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${originOf(script)}/relay/${slug}/orders?limit=5`, { headers: { Authorization: `Bearer ${key}`, 'X-Caller': script } });
  await res.arrayBuffer();
  return { script, status: res.status, ms: performance.now() - started };
}

/** `perScript` calls at every script, all started at once. */
function burst(slug: string, key: string, perScript: number) {
  return Promise.all(SCRIPTS.flatMap((script) => Array.from({ length: perScript }, () => relayCall(script, slug, key))));
}

function statusCounts(results: { status: number }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** The API calls of `client` (of one script, if given) from index `from` on, as [token, status]. */
function callsOf(client: string, from: number, script?: string): [number, number][] {
  return apiCalls
    .slice(from)
    .filter((c) => c.client === client && (script === undefined || c.script === script))
    .map((c) => [c.token, c.status]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ALL = SCRIPTS.length * CALLS_PER_SCRIPT;

test(`cold caches, ${CALLS_PER_SCRIPT} concurrent calls at each of ${SCRIPTS.length} scripts: one token request; a revocation met by all: one refresh`, { timeout: 60_000 }, async () => {
  const { slug, key, client } = await connection('bulk');

  const cold = await burst(slug, key, CALLS_PER_SCRIPT);
  assert.deepEqual(statusCounts(cold), { 200: ALL }, 'every cold call answers 200');
  const coldRequests = client.tokenRequests;
  assert.equal(coldRequests, 1, 'one token request for all isolates');
  for (const script of SCRIPTS) {
    assert.deepEqual(callsOf('bulk', 0, script), Array(CALLS_PER_SCRIPT).fill([1, 200]), `${script}: each call reached the API once, with token 1`);
  }

  // The API refuses token 1 from now on; every isolate holds it in memory. All calls start at once.
  client.firstAccepted = 2;
  const mark = apiCalls.length;
  const storm = await burst(slug, key, CALLS_PER_SCRIPT);
  assert.deepEqual(statusCounts(storm), { 200: ALL }, 'every call meeting the refusal answers 200');
  const stormRefreshes = client.tokenRequests - coldRequests;
  assert.equal(stormRefreshes, 1, 'one refresh for all isolates');
  const seen = callsOf('bulk', mark);
  const refused = seen.filter(([, status]) => status === 401);
  assert.ok(refused.length >= SCRIPTS.length && refused.every(([token]) => token === 1), 'only token 1 was refused, in every isolate');
  for (const script of SCRIPTS) assert.ok(callsOf('bulk', mark, script).some(([, status]) => status === 401), `${script} met the refusal`);
  assert.deepEqual(seen.filter(([, status]) => status === 200), Array(ALL).fill([2, 200]), 'each call answered once, with token 2');

  // The home's own count agrees.
  const status = await admin('edge-d', 'GET', `/api/connections/${slug}/token`);
  assert.equal(status.status, 200);
  assert.equal(((await status.json()) as { fetches: number }).fetches, 2, 'the home counted 2 token requests');

  console.log(
    `[isolates] ${cold.length} cold calls over ${SCRIPTS.length} isolates: ${cold.filter((r) => r.status === 200).length} x 200, ${coldRequests} token request${coldRequests === 1 ? '' : 's'}, p50 ${median(cold.map((r) => r.ms)).toFixed(0)} ms; ` +
      `${storm.length} calls meeting a revocation: ${refused.length} refusals, ${stormRefreshes} refresh${stormRefreshes === 1 ? '' : 'es'}, ${storm.filter((r) => r.status === 200).length} x 200, p50 ${median(storm.map((r) => r.ms)).toFixed(0)} ms`,
  );
});

test('after a revocation the first call answers 200, and so does each other isolate\'s first call', { timeout: 30_000 }, async () => {
  const { slug, key, client } = await connection('revoke');
  // Every isolate gets token 1 into its memory.
  const warm = await burst(slug, key, 1);
  assert.deepEqual(statusCounts(warm), { 200: SCRIPTS.length });
  assert.equal(client.tokenRequests, 1, 'one token request for the first call of each isolate');

  client.firstAccepted = 2;
  let mark = apiCalls.length;
  const revokedAt = performance.now();
  const first = await relayCall('edge-c', slug, key);
  const firstGoodMs = performance.now() - revokedAt;
  assert.equal(first.status, 200, 'the first call after the revocation answers 200');
  assert.equal(client.tokenRequests, 2, 'one refresh for it');
  assert.deepEqual(callsOf('revoke', mark), [[1, 401], [2, 200]], 'the refused token once, then the fresh one');

  // The other isolates still hold token 1 in their own memory: each first call meets the 401,
  // learns token 2 from the home (the refused token is no longer current: no new request) and
  // answers 200.
  mark = apiCalls.length;
  const others = SCRIPTS.filter((s) => s !== 'edge-c');
  const answers = await Promise.all(others.map((s) => relayCall(s, slug, key)));
  assert.deepEqual(statusCounts(answers), { 200: others.length }, "each other isolate's first call answers 200");
  assert.equal(client.tokenRequests, 2, 'no request for the isolates that met the refusal later');
  for (const script of others) {
    assert.deepEqual(callsOf('revoke', mark, script), [[1, 401], [2, 200]], `${script}: token 1 from its own memory, then token 2 from the home`);
  }

  console.log(
    `[isolates] first answer after a revocation: ${first.status} in ${firstGoodMs.toFixed(0)} ms (1 refusal, 1 refresh at a token endpoint that takes ${TOKEN_ENDPOINT_DELAY_MS} ms, 1 retry); ` +
      `the other ${others.length} isolates' first calls: ${answers.map((a) => a.status).join(', ')} in at most ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms, no further token request`,
  );
});
