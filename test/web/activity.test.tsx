import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Call, StatsAnswer } from '../../contract/activity';
import { ACTIVITY_POLL_MS, stack } from '../../web/components/activity-panel';
import { connectionRoutes, emptyStats, fakeApi, json, problem, type Routes } from './fake-api';
import { renderApp } from './render-app';

const CALLS = '/api/connections/acme-crm/calls';
const STATS = '/api/connections/acme-crm/stats';

function call(overrides: Partial<Call> = {}): Call {
  return {
    id: 'c_1',
    at: '2026-11-02T12:59:30.000Z',
    kind: 'relay',
    method: 'GET',
    path: '/orders?status=',
    status: 200,
    upstreamStatus: 200,
    durationMs: 84,
    outcome: 'success',
    keyName: 'shop checkout',
    retried: false,
    tokenFetched: true,
    bytesIn: 0,
    bytesOut: 1234,
    origin: 'https://shop.example',
    errorCode: null,
    ...overrides,
  };
}

const STATS_24H: StatsAnswer = {
  window: '24h',
  bucketSeconds: 3600,
  buckets: [
    { start: '2026-11-02T11:00:00.000Z', total: 3, outcomes: { success: 2, 'server-error': 1 }, p50Ms: 50, p95Ms: 120 },
    { start: '2026-11-02T12:00:00.000Z', total: 1, outcomes: { refused: 1 }, p50Ms: 2, p95Ms: 2 },
  ],
  totals: { total: 4, outcomes: { success: 2, 'server-error': 1, refused: 1 }, p50Ms: 40, p95Ms: 118, errorRate: 0.5 },
};

async function openActivity(routes: Routes = {}) {
  const api = fakeApi({ ...connectionRoutes(), ...routes });
  renderApp('/connections/acme-crm');
  const panel = await screen.findByRole('region', { name: 'Activity' });
  return { api, panel };
}

/** Waits for a condition on real timers (testing-library's waitFor polls with setInterval, which these tests fake). */
async function until(check: () => void, timeoutMs = 2000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

afterEach(() => {
  vi.useRealTimers();
  delete (document as { visibilityState?: string }).visibilityState;
});

describe('activity', () => {
  it('shows how to make the first call when there are none: a curl example with the relay URL and a placeholder key', async () => {
    const { panel } = await openActivity();
    expect(await within(panel).findByRole('heading', { name: 'No calls yet' })).toBeTruthy();
    const example = panel.querySelector('pre')!.textContent!;
    expect(example).toContain('curl "http://localhost:3000/relay/acme-crm/"');
    expect(example).toContain('Authorization: Bearer YOUR_RELAY_KEY');
    expect(within(panel).getByRole('link', { name: 'send a test request' }).getAttribute('href')).toBe('#test-request-title');
    expect(within(panel).getByText('No calls in the last 24 hours.')).toBeTruthy();
  });

  it('lists recent calls with time, kind, method, path, status, outcome, duration and key, and opens each one’s details', async () => {
    const failed = call({ id: 'c_2', at: '2026-11-02T12:59:50.000Z', status: 502, upstreamStatus: null, outcome: 'network-error', errorCode: 'upstream-unreachable', durationMs: 3001, keyName: null, kind: 'test', method: 'POST' });
    const { panel } = await openActivity({ [`GET ${CALLS}?limit=50`]: () => json(200, { calls: [failed, call()], cursor: null }) });
    const table = await within(panel).findByRole('table', { name: 'Recent calls, newest first' });
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Time', 'Kind', 'Method', 'Path', 'Status', 'Outcome', 'Duration', 'Key', 'Details']);
    const rows = within(table).getAllByRole('row').slice(1);
    expect(within(rows[0]!).getAllByRole('cell').map((c) => c.textContent).slice(1, 8)).toEqual(['Test', 'POST', '/orders?status=', '502', 'Network error', '3,001 ms', '—']);
    expect(within(rows[1]!).getAllByRole('cell').map((c) => c.textContent).slice(1, 8)).toEqual(['Relay', 'GET', '/orders?status=', '200', 'Success', '84 ms', 'shop checkout']);

    const details = within(rows[0]!).getByRole('button', { name: /^Details/ });
    expect(details.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(details);
    expect(details.getAttribute('aria-expanded')).toBe('true');
    const shown = document.getElementById(details.getAttribute('aria-controls')!)!;
    for (const text of ['c_2', '2026-11-02T12:59:50.000Z', 'Not reached', 'upstream-unreachable', 'https://shop.example', '1,234', 'Token requested']) {
      expect(shown.textContent).toContain(text);
    }
    fireEvent.click(details);
    expect(document.getElementById('call-c_2')).toBeNull();
  });

  it('asks the log for the chosen outcomes and kinds, and says when none match', async () => {
    const { api, panel } = await openActivity({
      [`GET ${CALLS}?limit=50`]: () => json(200, { calls: [call()], cursor: null }),
      [`GET ${CALLS}?limit=50&outcome=network-error`]: () => json(200, { calls: [], cursor: null }),
      [`GET ${CALLS}?limit=50&outcome=server-error&outcome=network-error`]: () => json(200, { calls: [], cursor: null }),
      [`GET ${CALLS}?limit=50&outcome=server-error&outcome=network-error&kind=relay`]: () => json(200, { calls: [], cursor: 'older' }),
    });
    await within(panel).findByRole('table', { name: /Recent calls/ });
    const outcome = within(panel).getByRole('group', { name: 'Outcome' });
    fireEvent.click(within(outcome).getByRole('checkbox', { name: 'Outcome: Network error' }));
    fireEvent.click(within(outcome).getByRole('checkbox', { name: 'Outcome: Server error (5xx)' }));
    expect(await within(panel).findByText('No calls match these filters.')).toBeTruthy();
    // In the contract's order, whatever the order of the clicks.
    expect(api.calls(`GET ${CALLS}?limit=50&outcome=server-error&outcome=network-error`)).toHaveLength(1);
    fireEvent.click(within(within(panel).getByRole('group', { name: 'Kind' })).getByRole('checkbox', { name: 'Kind: Relay' }));
    expect(await within(panel).findByText(/No calls match these filters among the newest/)).toBeTruthy();
    expect(within(panel).getByRole('button', { name: 'Load more calls' })).toBeTruthy();
  });

  it('loads older calls with the cursor and keeps the newer ones', async () => {
    const api = (await openActivity({
      [`GET ${CALLS}?limit=50`]: () => json(200, { calls: [call({ id: 'c_new', path: '/new' })], cursor: 'c1' }),
      [`GET ${CALLS}?limit=50&cursor=c1`]: () => json(200, { calls: [call({ id: 'c_old', path: '/old' })], cursor: null }),
    })).api;
    fireEvent.click(await screen.findByRole('button', { name: 'Load more calls' }));
    await screen.findByText('/old');
    expect(screen.getByText('/new')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load more calls' })).toBeNull();
    expect(api.calls(`GET ${CALLS}?limit=50&cursor=c1`)).toHaveLength(1);
  });

  it('reads calls and stats again every 5 s while the tab is visible, stops while hidden, and reads them at once when it shows again', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let visibility = 'visible';
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
    const { api } = await openActivity();
    await screen.findByRole('heading', { name: 'No calls yet' });
    const reads = () => api.calls(`GET ${CALLS}?limit=50`).length;
    const statsReads = () => api.calls(`GET ${STATS}?window=24h`).length;
    expect(reads()).toBe(1);
    vi.advanceTimersByTime(ACTIVITY_POLL_MS);
    await until(() => expect(reads()).toBe(2));
    await until(() => expect(statsReads()).toBe(2));

    visibility = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    vi.advanceTimersByTime(ACTIVITY_POLL_MS * 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(reads()).toBe(2);

    visibility = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    await until(() => expect(reads()).toBe(3));
    vi.advanceTimersByTime(ACTIVITY_POLL_MS);
    await until(() => expect(reads()).toBe(4));
  });

  it('charts calls by outcome as stacked bars with a p95 line, and switches the window', async () => {
    const { api, panel } = await openActivity({
      [`GET ${STATS}?window=24h`]: () => json(200, STATS_24H),
      [`GET ${STATS}?window=1h`]: () => json(200, emptyStats('1h')),
    });
    const chart = await within(panel).findByRole('img', { name: /Calls per 60 minutes by outcome/ });
    expect(chart.getAttribute('aria-label')).toContain('Highest bar 3 calls; highest p95 120 ms');
    expect(chart.querySelectorAll('rect.bar')).toHaveLength(3);
    expect(chart.querySelectorAll('rect.o-server-error')).toHaveLength(1);
    expect(chart.querySelector('polyline.chart-p95')).toBeTruthy();
    expect(panel.textContent).toContain('50 %');
    expect(within(panel).getByText('Server error (5xx): 1')).toBeTruthy();

    const group = within(panel).getByRole('group', { name: 'Time window' });
    const hour = within(group).getByRole('button', { name: '1h' });
    expect(within(group).getByRole('button', { name: '24h' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(hour);
    expect(await within(panel).findByText('No calls in the last 1 hour.')).toBeTruthy();
    expect(hour.getAttribute('aria-pressed')).toBe('true');
    expect(api.calls(`GET ${STATS}?window=1h`)).toHaveLength(1);
  });

  it('stacks a bucket’s outcomes in the contract’s order with running tops', () => {
    expect(stack({ refused: 1, success: 2, 'server-error': 3 })).toEqual([
      { outcome: 'success', count: 2, top: 2 },
      { outcome: 'server-error', count: 3, top: 5 },
      { outcome: 'refused', count: 1, top: 6 },
    ]);
  });

  it('shows the problem when the calls cannot be read, and reads them again on Try again', async () => {
    let attempts = 0;
    const { panel } = await openActivity({
      [`GET ${CALLS}?limit=50`]: () => (++attempts === 1 ? problem(503, 'Service unavailable', 'Try later.') : json(200, { calls: [call()], cursor: null })),
    });
    const alert = await within(panel).findByRole('alert');
    expect(alert.textContent).toContain('Service unavailable');
    fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await within(panel).findByRole('table', { name: /Recent calls/ })).toBeTruthy();
  });
});
