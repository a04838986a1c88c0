import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { fakeApi, json, OAUTH_SUMMARY, problem } from './fake-api';
import { renderApp } from './render-app';

describe('connection list', () => {
  it('shows an empty state that leads to creating the first connection', async () => {
    fakeApi({ 'GET /api/connections': () => json(200, { connections: [] }) });
    renderApp('/');
    expect(await screen.findByRole('heading', { name: 'No connections yet' })).toBeTruthy();
    const cta = screen.getByRole('link', { name: 'Create your first connection' });
    expect(cta.getAttribute('href')).toBe('/new');
    expect(screen.getByRole('link', { name: 'New connection' }).getAttribute('href')).toBe('/new');
    expect(screen.queryByRole('table')).toBeNull();
    expect(document.title).toBe('Connections · Edge API Connector');
  });

  it('lists each connection with name, slug, base URL, method label and a relative update time', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-02T13:00:00.000Z'));
    const bearer = { ...OAUTH_SUMMARY, name: 'Weather', slug: 'weather', baseOrigin: 'https://api.weather.example', method: 'bearer' };
    fakeApi({ 'GET /api/connections': () => json(200, { connections: [OAUTH_SUMMARY, bearer], cursor: null }) });
    renderApp('/');

    const table = await screen.findByRole('table', { name: 'Connections' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    const first = within(rows[0]!);
    expect(first.getByRole('link', { name: 'Acme CRM' }).getAttribute('href')).toBe('/connections/acme-crm');
    expect(first.getByText('acme-crm')).toBeTruthy();
    expect(first.getByText('https://api.acme.example')).toBeTruthy();
    expect(first.getByText('OAuth 2.0 (Client Credentials)')).toBeTruthy();
    expect(first.getByText('3 hours ago')).toBeTruthy();
    expect(within(rows[1]!).getByText('Bearer token')).toBeTruthy();
  });

  it('shows the problem when the list cannot be loaded, and loads it again on Try again', async () => {
    let attempts = 0;
    const api = fakeApi({
      'GET /api/connections': () =>
        ++attempts === 1 ? problem(500, 'Internal error', 'An unexpected error occurred.') : json(200, { connections: [OAUTH_SUMMARY], cursor: null }),
    });
    renderApp('/');
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Internal error');
    expect(alert.textContent).toContain('An unexpected error occurred.');
    fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('link', { name: 'Acme CRM' })).toBeTruthy();
    expect(api.calls('GET /api/connections')).toHaveLength(2);
  });

  it('moves focus to the new page’s heading after following a link', async () => {
    fakeApi({ 'GET /api/connections': () => json(200, { connections: [] }) });
    renderApp('/');
    fireEvent.click(await screen.findByRole('link', { name: 'New connection' }));
    const heading = await screen.findByRole('heading', { name: 'New connection', level: 1 });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    expect(document.title).toBe('New connection · Edge API Connector');
  });

  it('shows last call, calls in 24 h and error rate from the Summary, and says how fresh they are', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-02T13:00:00.000Z'));
    const busy = { ...OAUTH_SUMMARY, lastCallAt: '2026-11-02T12:55:00.000Z', calls24h: 1234, errorRate24h: 0.125 };
    const idle = { ...OAUTH_SUMMARY, name: 'Idle', slug: 'idle', lastCallAt: null, calls24h: 0, errorRate24h: null };
    fakeApi({ 'GET /api/connections': () => json(200, { connections: [busy, idle], cursor: null }) });
    renderApp('/');
    const table = await screen.findByRole('table', { name: 'Connections' });
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Name', 'Slug', 'Base URL', 'Method', 'Last call', 'Calls (24 h)', 'Errors (24 h)', 'Updated']);
    const [first, second] = within(table).getAllByRole('row').slice(1).map((r) => within(r).getAllByRole('cell').map((c) => c.textContent));
    expect(first!.slice(3, 6)).toEqual(['5 minutes ago', '1,234', '13 %']);
    expect(second!.slice(3, 6)).toEqual(['Never', '0', '—']);
    expect(screen.getByText(/updated every minute/)).toBeTruthy();
  });

  it('loads the next page with the cursor on Load more, also after a short or empty page, until the cursor is null', async () => {
    const summary = (slug: string) => ({ ...OAUTH_SUMMARY, slug, name: slug.toUpperCase() });
    const api = fakeApi({
      'GET /api/connections': () => json(200, { connections: [summary('a')], cursor: 'c1' }),
      'GET /api/connections?cursor=c1': () => json(200, { connections: [], cursor: 'c2' }),
      'GET /api/connections?cursor=c2': () => json(200, { connections: [summary('b')], cursor: null }),
    });
    renderApp('/');
    await screen.findByRole('link', { name: 'A' });
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(api.calls('GET /api/connections?cursor=c1')).toHaveLength(1));
    // The empty page did not end the listing.
    const more = screen.getByRole('button', { name: 'Load more' });
    await waitFor(() => expect(more.getAttribute('aria-busy')).toBeNull());
    fireEvent.click(more);
    await screen.findByRole('link', { name: 'B' });
    expect(screen.getByRole('link', { name: 'A' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('shows why Load more failed and tries the same page again', async () => {
    let attempts = 0;
    fakeApi({
      'GET /api/connections': () => json(200, { connections: [OAUTH_SUMMARY], cursor: 'c1' }),
      'GET /api/connections?cursor=c1': () =>
        ++attempts === 1 ? problem(503, 'Service unavailable', 'Try later.') : json(200, { connections: [{ ...OAUTH_SUMMARY, slug: 'b', name: 'Bee' }], cursor: null }),
    });
    renderApp('/');
    fireEvent.click(await screen.findByRole('button', { name: 'Load more' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Service unavailable');
    fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    await screen.findByRole('link', { name: 'Bee' });
    expect(screen.getByRole('link', { name: 'Acme CRM' })).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('filters loaded rows by name at once and asks the server for slugs starting with the text after a pause', async () => {
    const weather = { ...OAUTH_SUMMARY, name: 'Weather', slug: 'weather' };
    const acmeOld = { ...OAUTH_SUMMARY, name: 'Old ledger', slug: 'acme-ledger' };
    const api = fakeApi({
      'GET /api/connections': () => json(200, { connections: [OAUTH_SUMMARY, weather], cursor: 'next' }),
      'GET /api/connections?q=acme': () => json(200, { connections: [OAUTH_SUMMARY, acmeOld], cursor: null }),
    });
    renderApp('/');
    await screen.findByRole('link', { name: 'Weather' });
    const filter = screen.getByLabelText('Filter');
    expect(filter.getAttribute('aria-describedby')).toBe('connection-filter-help');
    expect(screen.getByText(/slugs starting with the text/).textContent).toContain('rows already loaded');
    fireEvent.input(filter, { target: { value: 'ACME' } });
    // At once, from what is loaded: the name matches, the other row goes.
    await waitFor(() => expect(screen.queryByRole('link', { name: 'Weather' })).toBeNull());
    expect(screen.getByRole('link', { name: 'Acme CRM' })).toBeTruthy();
    expect(api.calls('GET /api/connections?q=acme')).toHaveLength(0);
    // After the pause, one request with the lowercased slug prefix finds a row not loaded yet.
    await screen.findByRole('link', { name: 'Old ledger' });
    expect(api.calls('GET /api/connections?q=acme')).toHaveLength(1);
    expect(screen.getAllByRole('link', { name: 'Acme CRM' })).toHaveLength(1);
    // The server's listing for the filter has ended: nothing more to load for it.
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('sends no server filter for text that cannot start a slug, and says when nothing matches', async () => {
    const api = fakeApi({ 'GET /api/connections': () => json(200, { connections: [OAUTH_SUMMARY], cursor: null }) });
    renderApp('/');
    await screen.findByRole('link', { name: 'Acme CRM' });
    fireEvent.input(screen.getByLabelText('Filter'), { target: { value: 'no such thing' } });
    expect(await screen.findByRole('heading', { name: 'No matching connections' })).toBeTruthy();
    expect(screen.getByText(/Nothing matches “no such thing”/)).toBeTruthy();
    await new Promise((r) => setTimeout(r, 400));
    expect(api.requests.filter((r) => r.path.includes('q='))).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Clear filter' }));
    await screen.findByRole('link', { name: 'Acme CRM' });
    expect(document.activeElement).toBe(screen.getByLabelText('Filter'));
  });

  it('says so when the service cannot be reached', async () => {
    fakeApi({ 'GET /api/connections': () => Promise.reject(new TypeError('Failed to fetch')) });
    renderApp('/');
    expect((await screen.findByRole('alert')).textContent).toContain('Network error');
  });
});
