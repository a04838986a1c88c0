/**
 * A programmable HTTP server on 127.0.0.1 that stands in for token endpoints and upstream APIs.
 * Tests (inside workerd) program it over HTTP and read back what it received.
 *
 * Every test works in its own namespace `/<ns>/…`:
 * - `PUT /__mock/<ns>/routes` with `[{ method?, path, responses: [MockResponse, …] }]` programs
 *   answers, consumed in order (the last repeats);
 * - `GET /__mock/<ns>/requests` answers `{ requests, unexpected }`: everything received;
 * - any other request under `/<ns>/` is recorded and answered; one with no route is answered 599
 *   and listed as unexpected, so a test can fail on any unplanned call.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

import type { MockResponse, MockRoute, RecordedRequest } from './mock-types.ts';

export type { MockResponse, MockRoute, RecordedRequest };

interface Namespace {
  routes: (MockRoute & { served: number })[];
  requests: RecordedRequest[];
  unexpected: RecordedRequest[];
}

export interface MockServerHandle {
  origin: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the mock server on an ephemeral loopback port. */
export async function startMockServer(): Promise<MockServerHandle> {
  const namespaces = new Map<string, Namespace>();
  const space = (ns: string): Namespace => {
    let found = namespaces.get(ns);
    if (!found) namespaces.set(ns, (found = { routes: [], requests: [], unexpected: [] }));
    return found;
  };

  const server: Server = createServer(async (req, res) => {
    const rawUrl = req.url ?? '/';
    const control = /^\/__mock\/([\w-]+)\/(routes|requests)$/.exec(rawUrl);
    const body = await readBody(req);
    if (control) {
      const ns = space(control[1]!);
      if (control[2] === 'routes' && req.method === 'PUT') {
        ns.routes.push(...(JSON.parse(body) as MockRoute[]).map((r) => ({ ...r, served: 0 })));
        res.writeHead(204).end();
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ requests: ns.requests, unexpected: ns.unexpected }));
      }
      return;
    }
    const match = /^\/([\w-]+)(\/[^?]*)?(\?.*)?$/.exec(rawUrl);
    const ns = space(match?.[1] ?? '_');
    const path = match?.[2] ?? '/';
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      rawUrl: rawUrl.slice((match?.[1]?.length ?? 0) + 1),
      headers: req.headers,
      body,
      at: Date.now(),
    };
    const route = ns.routes.find((r) => r.path === path && (!r.method || r.method === req.method));
    if (!route) {
      ns.unexpected.push(recorded);
      res.writeHead(599, { 'Content-Type': 'text/plain' }).end(`unexpected request ${req.method} ${rawUrl}`);
      return;
    }
    ns.requests.push(recorded);
    const answer = route.responses[Math.min(route.served++, route.responses.length - 1)] ?? {};
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (answer.destroy) {
      req.socket.destroy();
      return;
    }
    if (answer.raw !== undefined) {
      req.socket.end(answer.raw);
      return;
    }
    const headers: Record<string, string | string[]> = { ...answer.headers };
    let text = answer.body ?? '';
    if (answer.json !== undefined) {
      text = JSON.stringify(answer.json);
      headers['Content-Type'] ??= 'application/json';
    }
    if (res.destroyed) return;
    if (answer.bodyDelayMs) {
      const half = Math.floor(text.length / 2);
      res.writeHead(answer.status ?? 200, headers).write(text.slice(0, half));
      await new Promise((r) => setTimeout(r, answer.bodyDelayMs));
      if (!res.destroyed) res.end(text.slice(half));
      return;
    }
    if (answer.gzip) {
      const encoded = gzipSync(text);
      res.writeHead(answer.status ?? 200, { ...headers, 'Content-Encoding': 'gzip', 'Content-Length': String(encoded.byteLength) }).end(encoded);
      return;
    }
    res.writeHead(answer.status ?? 200, headers).end(text);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
