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

  it('says so when the service cannot be reached', async () => {
    fakeApi({ 'GET /api/connections': () => Promise.reject(new TypeError('Failed to fetch')) });
    renderApp('/');
    expect((await screen.findByRole('alert')).textContent).toContain('Network error');
  });
});
