// Child process of the benchmark: the mock token endpoint and the mock upstream API, on 127.0.0.1.
// Kept out of the load generator's and the orchestrator's event loops. Spoken to over IPC:
//   { cmd: 'counts' } -> { tokenRequests, upstream: { <via>: { requests, withToken, withRelayKey } } }
//
// - token endpoint: POST /oauth/token (client credentials) answers a fresh access token after
//   `--token-delay` ms; every request is counted;
// - upstream: any method and path answers a small JSON body; requests are counted by the caller's
//   `X-Bench-Via` header (d: direct, b: bare, r: relay), and apart those that carry an access token
//   this token endpoint issued (every relayed call must) or a relay key (none relayed may).
import { createServer } from 'node:http';
import { serveParent } from './lib.js';

const delayArg = process.argv.indexOf('--token-delay');
const tokenDelayMs = delayArg > 0 ? Number(process.argv[delayArg + 1]) : 20;

let tokenRequests = 0;
/** @type {Record<string, { requests: number, withToken: number, withRelayKey: number }>} */
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
      const accessToken = `bench-token-${tokenRequests}-${Math.random().toString(36).slice(2)}`;
      issued.add(accessToken);
      res
        .writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        .end(JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600, scope: 'read' }));
    }, tokenDelayMs);
  });
});

const api = createServer((req, res) => {
  const via = String(req.headers['x-bench-via'] ?? 'none');
  const count = (upstream[via] ??= { requests: 0, withToken: 0, withRelayKey: 0 });
  count.requests++;
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Bearer ') && issued.has(auth.slice(7))) count.withToken++;
  if (auth.includes('rk_')) count.withRelayKey++;
  req.resume();
  req.on('end', () => {
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
    if (msg.cmd === 'counts') return { tokenRequests, upstream };
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
