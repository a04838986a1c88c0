/**
 * Call-log entries from what the relay saw: the outcome (one closed set for every kind), the path
 * as logged (query values left out unless the connection logs full queries; an API key parameter
 * is redacted even then), sizes from `Content-Length` when known.
 */
import type { CallOutcome } from '../../contract/activity';
import type { StoredConnection } from '../connections/records';
import { AppError } from '../errors';
import type { CallInput } from './call-store';

const NETWORK_CODES = new Set(['upstream-unreachable', 'upstream-timeout', 'token-endpoint-error', 'token-endpoint-timeout']);
const LOGGED_PATH_MAX = 2048;

/** The outcome of an answer: from the upstream's status, or from the relay's own problem. */
export function outcomeOf(status: number, problemCode: string | null, fromUpstream: boolean): CallOutcome {
  if (problemCode !== null && !fromUpstream) {
    if (NETWORK_CODES.has(problemCode)) return 'network-error';
    return status >= 500 ? 'server-error' : 'refused';
  }
  if (status >= 200 && status < 300) return 'success';
  if (status === 304) return 'success';
  if (status >= 400 && status < 500) return 'client-error';
  return 'server-error';
}

/** The path and query as the call log keeps them. */
export function loggedPath(tail: string, query: string, record: StoredConnection): string {
  const path = tail === '' ? '/' : tail;
  let logged = path;
  if (query.startsWith('?')) query = query.slice(1);
  if (query !== '') {
    const full = record.log?.fullQuery === true;
    const apiKeyName = full && record.auth.method === 'api_key' && record.auth.in === 'query' ? record.auth.name : undefined;
    const pairs = query.split('&').filter(Boolean).map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      // Names only, as sent: no value is kept, so none needs reading.
      if (!full) return `${rawName}=`;
      if (apiKeyName === undefined) return pair;
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        name = rawName;
      }
      return name === apiKeyName ? `${rawName}=[redacted]` : pair;
    });
    logged = `${path}?${pairs.join('&')}`;
  }
  return logged.length > LOGGED_PATH_MAX ? `${logged.slice(0, LOGGED_PATH_MAX - 1)}…` : logged;
}

function lengthOf(headers: Headers): number | null {
  const value = headers.get('Content-Length');
  if (value === null || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/** What one relay call adds to the log. */
export interface RelayCallFacts {
  request: Request;
  record: StoredConnection;
  tail: string;
  query: string;
  keyName: string | null;
  /** The caller's `Origin` when already read (the relay reads it); else read from `request`. */
  origin?: string | null;
  startedAt: number;
  endedAt: number;
  response: Response | null;
  error: unknown;
  upstream: { upstreamStatus: number; retried: boolean; tokenFetched: boolean } | undefined;
  kind?: 'relay' | 'test';
}

/** The entry of a relay call (or of an admin test request through the relay core). */
export function relayCallEntry(facts: RelayCallFacts): CallInput {
  const { request, record, response, error, upstream } = facts;
  const problemCode = response === null ? (error instanceof AppError ? error.code : 'internal-error') : null;
  const status = response !== null ? response.status : error instanceof AppError ? error.status : 500;
  const fromUpstream = response !== null && upstream !== undefined;
  return {
    at: facts.startedAt,
    kind: facts.kind ?? 'relay',
    method: request.method.slice(0, 16),
    path: loggedPath(facts.tail, facts.query, record),
    status,
    upstreamStatus: upstream?.upstreamStatus ?? null,
    durationMs: Math.max(0, facts.endedAt - facts.startedAt),
    outcome: outcomeOf(status, problemCode, fromUpstream),
    keyName: facts.keyName,
    retried: upstream?.retried ?? false,
    tokenFetched: upstream?.tokenFetched ?? false,
    bytesIn: lengthOf(request.headers),
    bytesOut: response ? lengthOf(response.headers) : null,
    origin: (facts.origin !== undefined ? facts.origin : request.headers.get('Origin'))?.slice(0, 300) ?? null,
    errorCode: problemCode,
  };
}
