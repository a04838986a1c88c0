/**
 * Router data of a connection's activity and its test request: the call log's first page and
 * stats as queries (read again by polling), and the test request as an action that makes them
 * stale. Loaded with the connection page's activity and test chunks only, not the first load.
 */
import { action, json, query } from '@solidjs/router';
import type { CallKind, CallOutcome, StatsWindow, TestRequestInput } from '../contract/activity';
import * as api from './api/client';

/** How many calls a page of the log shows. */
export const CALLS_PAGE_SIZE = 50;

const list = <T extends string>(joined: string) => (joined ? (joined.split(',') as T[]) : []);

/** The newest calls of a connection; `outcomes` and `kinds` comma-joined ('' for any), so that equal filters share a cache key. */
export const getCalls = query(
  (slug: string, outcomes: string, kinds: string) =>
    api.listCalls(slug, { limit: CALLS_PAGE_SIZE, outcomes: list<CallOutcome>(outcomes), kinds: list<CallKind>(kinds) }),
  'calls',
);

export const getCallStats = query((slug: string, window: StatsWindow) => api.getStats(slug, window), 'call-stats');

/** Sends a test request; the call it logs shows in the activity at once. */
export const sendTestRequest = action(async (slug: string, input: TestRequestInput) => {
  const answer = await api.sendTestRequest(slug, input);
  return json(answer, { revalidate: [getCalls.key, getCallStats.key] });
}, 'test-request');
