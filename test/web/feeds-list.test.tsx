import { fireEvent, screen, within } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import { connectionRoutes, FEED_SUMMARY, fakeApi, json } from './fake-api';
import { renderApp } from './render-app';

// Updated relative to the clock, so the shown time does not depend on the day the test runs.
const second = { ...FEED_SUMMARY, id: 'fd_second', name: 'Order webhook', connection: 'billing', enabled: false, updatedAt: new Date(Date.now() - 3 * 3600_000).toISOString() };

describe('feeds list', () => {
  it('is reached from the main navigation and lists each feed with its connection, state and update time', async () => {
    fakeApi({
      'GET /api/connections': () => json(200, { connections: [], cursor: null }),
      'GET /api/feeds': () => json(200, { feeds: [FEED_SUMMARY, second], cursor: null }),
    });
    renderApp('/');
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    fireEvent.click(within(nav).getByRole('link', { name: 'Feeds' }));
    await screen.findByRole('heading', { name: 'Feeds', level: 1 });
    const table = await screen.findByRole('table', { name: 'Feeds' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByRole('link', { name: 'Newsletter signup' }).getAttribute('href')).toBe('/feeds/fd_7k3m9q2x');
    expect(within(rows[0]!).getByRole('link', { name: 'acme-crm' }).getAttribute('href')).toBe('/connections/acme-crm');
    expect(rows[0]!.textContent).toContain('Yes');
    expect(rows[1]!.textContent).toContain('No (answers 404)');
    expect(within(rows[1]!).getByText('3 hours ago').tagName).toBe('TIME');
  });

  it('loads the next page with the cursor and keeps the rows already shown', async () => {
    const api = fakeApi({
      'GET /api/feeds': () => json(200, { feeds: [FEED_SUMMARY], cursor: 'c1' }),
      'GET /api/feeds?cursor=c1': () => json(200, { feeds: [second], cursor: null }),
    });
    renderApp('/feeds');
    await screen.findByRole('link', { name: 'Newsletter signup' });
    fireEvent.click(screen.getByRole('button', { name: 'Load more feeds' }));
    await screen.findByRole('link', { name: 'Order webhook' });
    expect(screen.getByRole('link', { name: 'Newsletter signup' })).toBeTruthy();
    expect(api.calls('GET /api/feeds?cursor=c1')).toHaveLength(1);
    expect(screen.queryByRole('button', { name: 'Load more feeds' })).toBeNull();
  });

  it('explains what a feed is when there is none, with a New feed action', async () => {
    fakeApi({ 'GET /api/feeds': () => json(200, { feeds: [], cursor: null }) });
    renderApp('/feeds');
    const empty = (await screen.findByRole('heading', { name: 'No feeds yet' })).parentElement!;
    expect(empty.textContent).toContain('HTML form');
    expect(empty.textContent).toContain('webhook');
    expect(within(empty).getByRole('link', { name: 'New feed' }).getAttribute('href')).toBe('/feeds/new');
  });

  it("shows a connection's own feeds on its page, and New feed there starts with that connection", async () => {
    const api = fakeApi({ ...connectionRoutes(), 'GET /api/feeds?connection=acme-crm': () => json(200, { feeds: [FEED_SUMMARY], cursor: null }) });
    renderApp('/connections/acme-crm');
    const section = (await screen.findByRole('heading', { name: 'Feeds', level: 2 })).closest('section')!;
    await within(section).findByRole('link', { name: 'Newsletter signup' });
    expect(within(section).getByRole('link', { name: 'New feed' }).getAttribute('href')).toBe('/feeds/new?connection=acme-crm');
    expect(api.calls('GET /api/feeds?connection=acme-crm')).toHaveLength(1);
  });
});
