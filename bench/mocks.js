// Child process of the benchmark: the mock token endpoint and the mock upstream API, on 127.0.0.1.
// Kept out of the load generator's and the orchestrator's event loops. Spoken to over IPC:
//   { cmd: 'counts' } -> { tokenRequests, byClient: { <client id>: n }, upstream: { <via>: { requests, withToken, withRelayKey, refused } } }
//   { cmd: 'revoke', client } -> the API refuses (401) every token issued so far to that client;
//     tokens issued later are accepted. Answers how many were revoked.
//
// - token endpoint: POST /oauth/token (client credentials) answers a fresh access token after
//   `--token-delay` ms; every request is counted;
// - upstream: any method and path answers a small JSON body; requests are counted by the caller's
//   `X-Bench-Via` header (d: direct, b: bare, r: relay), and apart those that carry an access token
//   this token endpoint issued (every relayed call must) or a relay key (none relayed may), and
//   those answered 401 for a revoked token (`refused`).
import { createServer } from 'node:http';
import { serveParent } from './lib.js';

const delayArg = process.argv.indexOf('--token-delay');
const tokenDelayMs = delayArg > 0 ? Number(process.argv[delayArg + 1]) : 20;

let tokenRequests = 0;
/** Token requests by client id (HTTP Basic, or `client_id` in the form). @type {Record<string, number>} */
const byClient = {};
/** Issued tokens by client id. @type {Map<string, string[]>} */
const issuedTo = new Map();
/** Tokens the API refuses from now on. @type {Set<string>} */
const revoked = new Set();

/** The client id of a token request: HTTP Basic (RFC 6749 §2.3.1: form-encoded), else the form's. @param {import('node:http').IncomingMessage} req @param {URLSearchParams} form */
function clientIdOf(req, form) {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (basic) {
    const id = Buffer.from(basic, 'base64').toString('utf8').split(':')[0] ?? '';
    try {
      return decodeURIComponent(id.replace(/\+/g, ' '));
    } catch {
      return id;
    }
  }
  return form.get('client_id') ?? '';
}
/** @type {Record<string, { requests: number, withToken: number, withRelayKey: number, refused: number }>} */
const upstream = {};
/** @type {Set<string>} */
const issued = new Set();

const BODY = JSON.stringify({ id: 42, name: 'Widget', price: 9.99, currency: 'EUR', tags: ['bench', 'small'], inStock: true });

const token = createServer((req, res) => {
  tokenRequests++;
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    setTimeout(() => {
      const form = new URLSearchParams(body);
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/oauth/token' || form.get('grant_type') !== 'client_credentials') {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request' }));
        return;
      }
      const client = clientIdOf(req, form);
      byClient[client] = (byClient[client] ?? 0) + 1;
      const accessToken = `bench-token-${tokenRequests}-${Math.random().toString(36).slice(2)}`;
      issued.add(accessToken);
      const list = issuedTo.get(client) ?? [];
      list.push(accessToken);
      issuedTo.set(client, list);
      res
        .writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        .end(JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600, scope: 'read' }));
    }, tokenDelayMs);
  });
});

const api = createServer((req, res) => {
  const via = String(req.headers['x-bench-via'] ?? 'none');
  const count = (upstream[via] ??= { requests: 0, withToken: 0, withRelayKey: 0, refused: 0 });
  count.requests++;
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Bearer ') && issued.has(auth.slice(7))) count.withToken++;
  if (auth.includes('rk_')) count.withRelayKey++;
  const refuse = revoked.size > 0 && auth.startsWith('Bearer ') && revoked.has(auth.slice(7));
  if (refuse) count.refused++;
  req.resume();
  req.on('end', () => {
    if (refuse) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer error="invalid_token"' }).end('{"error":"invalid_token"}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(BODY) }).end(BODY);
  });
});

for (const server of [token, api]) {
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
}

/** @param {import('node:http').Server} server @returns {Promise<number>} */
const listen = (server) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });

const tokenPort = await listen(token);
const upstreamPort = await listen(api);

serveParent(
  async (msg) => {
    if (msg.cmd === 'counts') return { tokenRequests, byClient, upstream };
    if (msg.cmd === 'revoke') {
      const list = issuedTo.get(String(msg.client)) ?? [];
      for (const t of list) revoked.add(t);
      return list.length;
    }
    throw new Error(`unknown command ${msg.cmd}`);
  },
  () => {
    for (const server of [token, api]) {
      server.closeAllConnections();
      server.close();
    }
  },
);
process.send?.({ id: 0, result: { tokenOrigin: `http://127.0.0.1:${tokenPort}`, upstreamOrigin: `http://127.0.0.1:${upstreamPort}` } });
