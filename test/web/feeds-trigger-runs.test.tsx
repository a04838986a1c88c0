import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import type { FeedRun } from '../../contract/feed-api';
import { ACTIVITY_POLL_MS } from '../../web/components/polling';
import { FEED_VIEW, fakeApi, feedRoutes, json, noContent, noticesText, type Routes } from './fake-api';
import { renderApp } from './render-app';

const section = (name: string) => screen.getByRole('heading', { name, level: 2 }).closest('section')!;

async function openFeed(routes: Routes = {}, view = FEED_VIEW) {
  const api = fakeApi({ ...feedRoutes(view), ...routes });
  renderApp(`/feeds/${view.id}`);
  await screen.findByRole('form', { name: 'Feed settings' });
  return api;
}

const RUN: FeedRun = {
  id: 'c1',
  at: '2026-11-02T10:00:00.000Z',
  kind: 'feed-run',
  method: 'POST',
  path: '/lists/members',
  status: 502,
  upstreamStatus: 400,
  durationMs: 184,
  outcome: 'client-error',
  keyName: null,
  retried: false,
  tokenFetched: false,
  bytesIn: 40,
  bytesOut: 60,
  origin: 'https://shop.example',
  errorCode: 'upstream-rejected',
  feedId: 'fd_7k3m9q2x',
  runId: 'run_1',
  trigger: 'browser',
};

describe('feed trigger', () => {
  it('shows the trigger URL and the HTML and fetch snippets, each with a copy button', async () => {
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await openFeed();
    const panel = section('Trigger URL');
    expect(panel.textContent).toContain('http://localhost:3000/hook/fpk_abc');
    expect(panel.textContent).toContain('<form method="post" action="http://localhost:3000/hook/fpk_abc">');
    fireEvent.click(within(panel).getByRole('button', { name: 'Copy HTML form' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(FEED_VIEW.snippets!.html));
    fireEvent.click(within(panel).getByRole('button', { name: 'Copy fetch snippet' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(FEED_VIEW.snippets!.fetch));
    fireEvent.click(within(panel).getByRole('button', { name: 'Copy trigger URL' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith('http://localhost:3000/hook/fpk_abc'));
  });

  it('rotates the public key after a confirmation and shows the new trigger URL', async () => {
    let view = FEED_VIEW;
    const api = await openFeed({
      'GET /api/feeds/fd_7k3m9q2x': () => json(200, view),
      'POST /api/feeds/fd_7k3m9q2x/rotate-public-key': () => {
        view = { ...FEED_VIEW, publicKey: 'fpk_new', triggerUrl: 'http://localhost:3000/hook/fpk_new', snippets: undefined };
        return json(200, { publicKey: 'fpk_new', triggerUrl: view.triggerUrl });
      },
    });
    const panel = section('Trigger URL');
    fireEvent.click(within(panel).getByRole('button', { name: 'Rotate public key' }));
    expect(api.calls('POST /api/feeds/fd_7k3m9q2x/rotate-public-key')).toHaveLength(0);
    fireEvent.click(within(panel).getByRole('button', { name: 'Yes, rotate' }));
    await waitFor(() => expect(section('Trigger URL').textContent).toContain('/hook/fpk_new'));
    await waitFor(() => expect(noticesText()).toContain('Rotated the public key'));
  });

  it('shows a new trigger key once, with a copy button, and revokes a key after a confirmation', async () => {
    let keys = [{ id: 'tk_1', name: 'old server', createdAt: '2026-11-01T10:00:00.000Z' }];
    const api = await openFeed({
      'GET /api/feeds/fd_7k3m9q2x/keys': () => json(200, { keys }),
      'POST /api/feeds/fd_7k3m9q2x/keys': () => {
        keys = [...keys, { id: 'tk_2', name: 'billing', createdAt: '2026-11-02T10:00:00.000Z' }];
        return json(201, { id: 'tk_2', name: 'billing', key: 'ftk_secret_once', createdAt: '2026-11-02T10:00:00.000Z' });
      },
      'DELETE /api/feeds/fd_7k3m9q2x/keys/tk_1': () => {
        keys = keys.filter((k) => k.id !== 'tk_1');
        return noContent();
      },
    });
    const panel = section('Trigger keys');
    await within(panel).findByText('old server');
    fireEvent.input(within(panel).getByLabelText('Key name'), { target: { value: 'billing' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Create key' }));
    const shown = (await within(panel).findByLabelText('New trigger key')) as HTMLInputElement;
    expect(shown.value).toBe('ftk_secret_once');
    expect(panel.textContent).toContain('This key is shown only once');
    expect(within(panel).getByRole('button', { name: 'Copy key' })).toBeTruthy();
    expect((api.calls('POST /api/feeds/fd_7k3m9q2x/keys')[0]!.body as { name: string }).name).toBe('billing');
    fireEvent.click(within(panel).getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(document.body.textContent).not.toContain('ftk_secret_once'));

    fireEvent.click(within(panel).getByRole('button', { name: 'Revoke key old server' }));
    fireEvent.click(within(panel).getByRole('button', { name: 'Yes, revoke' }));
    await waitFor(() => expect(api.calls('DELETE /api/feeds/fd_7k3m9q2x/keys/tk_1')).toHaveLength(1));
    await waitFor(() => expect(within(panel).queryByText('old server')).toBeNull());
  });

  it('has no trigger keys panel while server webhooks are off', async () => {
    const browserOnly = { ...FEED_VIEW, trigger: { ...FEED_VIEW.trigger, server: { enabled: false } } };
    const routes = feedRoutes(browserOnly);
    delete routes['GET /api/feeds/fd_7k3m9q2x/keys'];
    fakeApi(routes);
    renderApp('/feeds/fd_7k3m9q2x');
    await screen.findByRole('form', { name: 'Feed settings' });
    expect(screen.queryByRole('heading', { name: 'Trigger keys' })).toBeNull();
  });
});

describe('feed runs', () => {
  it('lists the newest runs with the 24 h counts, and a row opens its details', async () => {
    await openFeed({
      'GET /api/feeds/fd_7k3m9q2x/runs': () => json(200, { runs: [RUN], cursor: null }),
      'GET /api/feeds/fd_7k3m9q2x/stats': () => json(200, { window: '24h', total: 13, outcomes: { success: 12, 'client-error': 1 } }),
      'GET /api/feeds/fd_7k3m9q2x/runs/run_1': () =>
        json(200, {
          ...RUN,
          detail: {
            contentType: 'application/x-www-form-urlencoded',
            bodyBytes: 40,
            fieldNames: ['email', 'consent'],
            droppedFiles: [],
            condition: { result: true },
            attempts: [{ n: 1, at: RUN.at, method: 'POST', url: 'https://api.acme.example/v2/lists/members', status: 400, durationMs: 180, errorCode: null }],
            answer: { status: 303, location: 'https://shop.example/signup?error=upstream-rejected' },
            input: { email: 'a@b.example', consent: 'yes' },
          },
        }),
    });
    const panel = section('Runs');
    await waitFor(() => expect(panel.textContent).toContain('Runs (24 h)13'));
    expect(panel.textContent).toContain('Success12');
    const table = await within(panel).findByRole('table', { name: 'Runs, newest first' });
    expect(table.textContent).toContain('Client error (4xx)');
    fireEvent.click(within(table).getByRole('button', { name: /Details/ }));
    await within(panel).findByText('email, consent');
    expect(panel.textContent).toContain('POST https://api.acme.example/v2/lists/members');
    expect(panel.textContent).toContain('303 → https://shop.example/signup?error=upstream-rejected');
    expect(panel.textContent).toContain('"email": "a@b.example"');
  });

  it('loads older runs with the cursor and keeps them while the newest are read again', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const older = { ...RUN, id: 'c0', runId: 'run_0', at: '2026-11-01T09:00:00.000Z', outcome: 'success' as const, status: 200 };
      const newer = { ...RUN, id: 'c2', runId: 'run_2', at: '2026-11-02T11:00:00.000Z', outcome: 'skipped' as const, status: 200 };
      let newest = [RUN];
      const api = await openFeed({
        'GET /api/feeds/fd_7k3m9q2x/runs': () => json(200, { runs: newest, cursor: 'r1' }),
        'GET /api/feeds/fd_7k3m9q2x/runs?cursor=r1': () => json(200, { runs: [older], cursor: null }),
      });
      const panel = section('Runs');
      const table = await within(panel).findByRole('table', { name: 'Runs, newest first' });
      fireEvent.click(within(panel).getByRole('button', { name: 'Load more runs' }));
      await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(3));
      expect(within(panel).queryByRole('button', { name: 'Load more runs' })).toBeNull();
      newest = [newer, RUN];
      vi.advanceTimersByTime(ACTIVITY_POLL_MS);
      await within(table).findByText('Skipped');
      expect(within(table).getAllByRole('row')).toHaveLength(4);
      expect(table.textContent).toContain('Success');
      expect(api.calls('GET /api/feeds/fd_7k3m9q2x/runs?cursor=r1')).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('filters by outcome and reads the runs again every 5 seconds', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const api = await openFeed({ 'GET /api/feeds/fd_7k3m9q2x/runs?outcome=failed': () => json(200, { runs: [], cursor: null }) });
      const panel = section('Runs');
      await within(panel).findByText(/No runs yet/);
      fireEvent.change(within(panel).getByLabelText('Outcome'), { target: { value: 'failed' } });
      await within(panel).findByText('No runs with this outcome among the newest.');
      expect(api.calls('GET /api/feeds/fd_7k3m9q2x/runs?outcome=failed')).toHaveLength(1);
      const before = api.calls('GET /api/feeds/fd_7k3m9q2x/stats').length;
      vi.advanceTimersByTime(ACTIVITY_POLL_MS);
      await waitFor(() => expect(api.calls('GET /api/feeds/fd_7k3m9q2x/runs?outcome=failed').length).toBeGreaterThan(1));
      expect(api.calls('GET /api/feeds/fd_7k3m9q2x/stats').length).toBeGreaterThan(before);
    } finally {
      vi.useRealTimers();
    }
  });
});
