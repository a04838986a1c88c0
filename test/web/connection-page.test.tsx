import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { connectionRoutes, fakeApi, json, noContent, noticesText, OAUTH_VIEW, problem, type Routes, VIEWS } from './fake-api';
import { renderApp } from './render-app';

const KEY = 'rk_' + 'A'.repeat(43);
async function openPage(overrides: Routes = {}) {
  const api = fakeApi({ ...connectionRoutes(), ...overrides });
  renderApp('/connections/acme-crm');
  await screen.findByRole('heading', { name: 'Acme CRM', level: 1 });
  return api;
}

const panel = (name: string) => screen.getByRole('region', { name });

describe('connection page', () => {
  it('is titled after the connection', async () => {
    await openPage();
    expect(document.title).toBe('Acme CRM · Edge API Connector');
  });

  it('says once that an unknown slug has no connection, and offers where to go instead of a retry', async () => {
    fakeApi({ 'GET /api/connections/nope': () => problem(404, 'Connection not found', 'There is no connection "nope".') });
    renderApp('/connections/nope');
    expect(await screen.findByRole('heading', { name: 'Connection not found', level: 1 })).toBeTruthy();
    expect(screen.getAllByText(/Connection not found/)).toHaveLength(1);
    expect(screen.getByText(/no connection with the slug/).textContent).toContain('nope');
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
    expect(screen.getByRole('link', { name: 'New connection' }).getAttribute('href')).toBe('/new');
  });

  it('offers to try again when the connection could not be loaded for a passing reason', async () => {
    let attempts = 0;
    fakeApi({
      ...connectionRoutes(),
      'GET /api/connections/acme-crm': () => (++attempts === 1 ? problem(503, 'Service unavailable', 'Try later.') : json(200, OAUTH_VIEW)),
    });
    renderApp('/connections/acme-crm');
    expect((await screen.findByRole('alert')).textContent).toContain('Service unavailable');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('acme-crm');
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('heading', { name: 'Acme CRM', level: 1 })).toBeTruthy();
  });

  it('offers one way to ask again when the token status fails: Try again, not Refresh beside it', async () => {
    await openPage({ 'GET /api/connections/acme-crm/token': () => problem(500, 'Internal error', 'An unexpected error occurred.') });
    const tokenPanel = panel('Token status');
    expect((await within(tokenPanel).findByRole('alert')).textContent).toContain('Internal error');
    expect(within(tokenPanel).getAllByRole('button').map((b) => b.textContent)).toEqual(['Try again']);
  });

  it('drops the last test result when the token it reported is purged', async () => {
    await openPage({
      'POST /api/connections/acme-crm/test': () => json(200, { ok: true, tokenType: 'Bearer', expiresIn: 3600, scope: null, durationMs: 5 }),
      'DELETE /api/connections/acme-crm/token': noContent,
    });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await within(panel('Test connection')).findByRole('heading', { name: 'Token received' });
    fireEvent.click(await within(panel('Token status')).findByRole('button', { name: 'Purge cached token' }));
    await within(panel('Token status')).findByText(/Cached token purged/);
    await waitFor(() => expect(within(panel('Test connection')).queryByRole('heading', { name: 'Token received' })).toBeNull());
  });

  it('shows the last token error from its parts and time', async () => {
    await openPage({
      'GET /api/connections/acme-crm/token': () =>
        json(200, {
          cached: false,
          expiresAt: null,
          fetches: 1,
          lastError: { at: '2026-11-02T10:00:00.000Z', code: 'token-endpoint-error', status: 401, error: 'invalid_client', errorDescription: 'bad secret' },
        }),
    });
    const tokenPanel = panel('Token status');
    await waitFor(() => expect(tokenPanel.textContent).toContain('401 · invalid_client · bad secret'));
    expect(tokenPanel.textContent).toContain('2026');
  });

  it('shows a successful test without any token', async () => {
    const api = await openPage({
      'POST /api/connections/acme-crm/test': () =>
        json(200, { ok: true, tokenType: 'Bearer', expiresIn: 3600, scope: 'read:orders', durationMs: 42 }),
    });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    const result = await within(panel('Test connection')).findByRole('heading', { name: 'Token received' });
    const text = result.parentElement!.textContent!;
    expect(text).toContain('Bearer');
    expect(text).toContain('3600 s (1 h)');
    expect(text).toContain('read:orders');
    expect(text).toContain('42 ms');
    expect(api.calls('POST /api/connections/acme-crm/test')).toHaveLength(1);
    // The token status is read again: the test may have cached a token.
    await waitFor(() => expect(api.calls('GET /api/connections/acme-crm/token')).toHaveLength(2));
  });

  it('shows a failed test with status, error, description and hint', async () => {
    await openPage({
      'POST /api/connections/acme-crm/test': () =>
        json(200, {
          ok: false,
          status: 401,
          error: 'invalid_client',
          errorDescription: 'Client authentication failed',
          hint: 'Try client_secret_post under Advanced.',
        }),
    });
    fireEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    const heading = await within(panel('Test connection')).findByRole('heading', { name: 'Token request failed' });
    const text = heading.parentElement!.textContent!;
    expect(text).toContain('401');
    expect(text).toContain('invalid_client');
    expect(text).toContain('Client authentication failed');
    expect(text).toContain('Hint: Try client_secret_post under Advanced.');
  });

  it('shows the token status and purges the cached token', async () => {
    let cached = true;
    const api = await openPage({
      'GET /api/connections/acme-crm/token': () =>
        json(200, { cached, expiresAt: cached ? '2026-11-02T11:00:00.000Z' : null, lastError: null, fetches: 3 }),
      'DELETE /api/connections/acme-crm/token': () => {
        cached = false;
        return noContent();
      },
    });
    const tokenPanel = panel('Token status');
    await waitFor(() => expect(tokenPanel.textContent).toContain('Cached tokenYes'));
    expect(tokenPanel.textContent).toContain('Token fetches3');
    fireEvent.click(within(tokenPanel).getByRole('button', { name: 'Purge cached token' }));
    await waitFor(() => expect(tokenPanel.textContent).toContain('Cached tokenNo'));
    expect(api.calls('DELETE /api/connections/acme-crm/token')).toHaveLength(1);
    expect(await within(tokenPanel).findByText(/Cached token purged/)).toBeTruthy();
  });

  it('keeps the Purge button, and so the keyboard focus, while the purge runs', async () => {
    let answer!: (r: Response) => void;
    const api = await openPage({ 'DELETE /api/connections/acme-crm/token': () => new Promise<Response>((resolve) => (answer = resolve)) });
    const button = (await within(panel('Token status')).findByRole('button', { name: 'Purge cached token' })) as HTMLButtonElement;
    button.focus();
    fireEvent.click(button);
    await waitFor(() => expect(button.getAttribute('aria-busy')).toBe('true'));
    // A disabled button would drop the focus to the page's body.
    expect(button.disabled).toBe(false);
    expect(button.getAttribute('aria-disabled')).toBe('true');
    fireEvent.click(button);
    expect(api.calls('DELETE /api/connections/acme-crm/token')).toHaveLength(1);
    answer(noContent());
    await within(panel('Token status')).findByText(/Cached token purged/);
    expect(document.activeElement).toBe(button);
  });

  it('shows a new relay key once, with a Copy button, then only its name in the list', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    let keys: unknown[] = [];
    const api = await openPage({
      'GET /api/connections/acme-crm/keys': () => json(200, { keys }),
      'POST /api/connections/acme-crm/keys': () => {
        keys = [{ id: 'k1', name: 'shop', createdAt: '2026-11-02T10:00:00.000Z', lastUsedAt: null }];
        return json(201, { id: 'k1', name: 'shop', key: KEY, createdAt: '2026-11-02T10:00:00.000Z' });
      },
    });
    const keysPanel = panel('Relay keys');
    await within(keysPanel).findByText(/No relay keys yet/);
    fireEvent.input(within(keysPanel).getByLabelText('Key name'), { target: { value: 'shop' } });
    fireEvent.click(within(keysPanel).getByRole('button', { name: 'Create key' }));

    const shown = (await within(keysPanel).findByLabelText('New relay key')) as HTMLInputElement;
    expect(shown.value).toBe(KEY);
    expect(shown.readOnly).toBe(true);
    expect(keysPanel.textContent).toContain("won't be shown again");
    await waitFor(() => expect(noticesText()).toContain('Created the key “shop”'));
    expect(noticesText()).not.toContain(KEY);
    expect(api.calls('POST /api/connections/acme-crm/keys')[0]!.body).toEqual({ name: 'shop' });

    fireEvent.click(within(keysPanel).getByRole('button', { name: 'Copy key' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(KEY));
    expect(await within(keysPanel).findByText('Copied')).toBeTruthy();

    await within(keysPanel).findByRole('row', { name: /shop/ });
    fireEvent.click(within(keysPanel).getByRole('button', { name: 'Done' }));
    expect(within(keysPanel).queryByLabelText('New relay key')).toBeNull();
    expect(document.body.textContent).not.toContain(KEY);
    expect(within(keysPanel).getByRole('row', { name: /shop/ }).textContent).toContain('Never');
  });

  it('asks for a key name before creating a key', async () => {
    const api = await openPage();
    const keysPanel = panel('Relay keys');
    fireEvent.click(within(keysPanel).getByRole('button', { name: 'Create key' }));
    expect(within(keysPanel).getByText(/Give the key a name/)).toBeTruthy();
    expect(api.calls('POST /api/connections/acme-crm/keys')).toHaveLength(0);
  });

  it('revokes a relay key only after a second confirmation', async () => {
    let keys = [{ id: 'k1', name: 'shop', createdAt: '2026-11-02T10:00:00.000Z', lastUsedAt: '2026-11-02T10:30:00.000Z' }];
    const api = await openPage({
      'GET /api/connections/acme-crm/keys': () => json(200, { keys }),
      'DELETE /api/connections/acme-crm/keys/k1': () => {
        keys = [];
        return noContent();
      },
    });
    const keysPanel = panel('Relay keys');
    fireEvent.click(await within(keysPanel).findByRole('button', { name: 'Revoke key shop' }));
    expect(api.calls('DELETE /api/connections/acme-crm/keys/k1')).toHaveLength(0);
    expect(document.activeElement).toBe(within(keysPanel).getByRole('button', { name: 'Cancel' }));

    fireEvent.click(within(keysPanel).getByRole('button', { name: 'Cancel' }));
    fireEvent.click(within(keysPanel).getByRole('button', { name: 'Revoke key shop' }));
    fireEvent.click(within(keysPanel).getByRole('button', { name: 'Yes, revoke' }));
    await within(keysPanel).findByText(/No relay keys yet/);
    expect(api.calls('DELETE /api/connections/acme-crm/keys/k1')).toHaveLength(1);
    await waitFor(() => expect(noticesText()).toContain('Revoked the key “shop”'));
    // The row and its buttons are gone: the keyboard stays in the panel.
    expect(document.activeElement).toBe(within(keysPanel).getByRole('heading', { name: 'Relay keys' }));
  });

  it('deletes the connection only after confirming, then returns to the list', async () => {
    const api = await openPage({
      'DELETE /api/connections/acme-crm': noContent,
      'GET /api/connections': () => json(200, { connections: [] }),
    });
    fireEvent.click(screen.getByRole('button', { name: 'Delete connection' }));
    expect(api.calls('DELETE /api/connections/acme-crm')).toHaveLength(0);
    expect(screen.getByText(/for good\? This cannot be undone/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Yes, delete' }));

    expect(await screen.findByRole('heading', { name: 'No connections yet' })).toBeTruthy();
    expect(window.location.pathname).toBe('/');
    expect(api.calls('DELETE /api/connections/acme-crm')).toHaveLength(1);
    expect(noticesText()).toContain('Deleted “Acme CRM”');
  });

  it('shows why a delete failed and stays on the page', async () => {
    await openPage({ 'DELETE /api/connections/acme-crm': () => problem(500, 'Internal error', 'An unexpected error occurred.') });
    fireEvent.click(screen.getByRole('button', { name: 'Delete connection' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, delete' }));
    expect((await within(panel('Delete connection')).findByRole('alert')).textContent).toContain('Internal error');
    expect(window.location.pathname).toBe('/connections/acme-crm');
  });

  it('gives the relay endpoint and ready curl and fetch examples with a placeholder key', async () => {
    await openPage();
    const usage = panel('Usage');
    expect(usage.textContent).toContain('http://localhost:3000/relay/acme-crm/<path>');
    fireEvent.input(within(usage).getByLabelText('Example path'), { target: { value: '/orders?status=open' } });
    expect(usage.textContent).toContain('curl "http://localhost:3000/relay/acme-crm/orders?status=open"');
    expect(usage.textContent).toContain('-H "Authorization: Bearer YOUR_RELAY_KEY"');
    expect(usage.textContent).toContain("fetch('http://localhost:3000/relay/acme-crm/orders?status=open'");
    expect(within(usage).getByRole('button', { name: 'Copy curl example' })).toBeTruthy();
    expect(within(usage).getByRole('button', { name: 'Copy fetch example' })).toBeTruthy();
  });

  it('suggests no example path that the examples do not use', async () => {
    await openPage();
    const usage = panel('Usage');
    const path = within(usage).getByLabelText('Example path') as HTMLInputElement;
    expect(path.value).toBe('');
    const curl = within(usage).getByRole('heading', { name: 'curl' }).closest('.snippet')!.querySelector('pre')!.textContent!;
    // Whatever the field shows, greyed or typed, is what the example calls.
    expect(curl).toContain(`${OAUTH_VIEW.relayUrl}/${path.placeholder}"`);
  });

  it('shows no token panels for a method without tokens', async () => {
    fakeApi(connectionRoutes(VIEWS.bearer));
    renderApp('/connections/acme-crm');
    await screen.findByRole('heading', { name: 'Acme CRM', level: 1 });
    expect(screen.queryByRole('button', { name: 'Test connection' })).toBeNull();
    expect(screen.queryByRole('region', { name: 'Token status' })).toBeNull();
    expect((screen.getByLabelText('Token') as HTMLInputElement).placeholder).toBe('stored — enter a new value to replace');
  });
});
