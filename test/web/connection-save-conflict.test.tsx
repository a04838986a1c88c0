import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import { connectionRoutes, fakeApi, json, noticesText, OAUTH_VIEW, type Routes } from './fake-api';
import { renderApp } from './render-app';

const type = (label: string, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } });
const input = (label: string) => screen.getByLabelText(label) as HTMLInputElement;

async function openSettings(routes: Routes = {}, view = OAUTH_VIEW) {
  const api = fakeApi({ ...connectionRoutes(view), ...routes });
  renderApp(`/connections/${view.slug}`);
  await screen.findByRole('form', { name: 'Connection settings' });
  return api;
}

const conflict = (version: number) =>
  new Response(
    JSON.stringify({
      type: 'https://edge-api-connector.dev/problems/version-conflict',
      title: 'The connection was changed meanwhile',
      status: 412,
      detail: `The connection was changed meanwhile: it is at version ${version}.`,
      version,
    }),
    { status: 412, headers: { 'Content-Type': 'application/problem+json' } },
  );

describe('connection form: saving against the loaded version', () => {
  it('sends If-Match with the version of the loaded view', async () => {
    const api = await openSettings({ 'PUT /api/connections/acme-crm': () => json(200, { ...OAUTH_VIEW, version: 8 }) }, { ...OAUTH_VIEW, version: 7 });
    type('API Name', 'Acme CRM EU');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(1));
    expect(api.calls('PUT /api/connections/acme-crm')[0]!.headers['if-match']).toBe('"7"');
  });

  it('on 412 says someone saved meanwhile, and Reload shows the stored connection with nothing stale kept', async () => {
    let stored = { ...OAUTH_VIEW, version: 1 };
    const api = await openSettings({
      'GET /api/connections/acme-crm': () => json(200, stored),
      'PUT /api/connections/acme-crm': () => conflict(2),
    });
    // Someone else renames it meanwhile.
    stored = { ...OAUTH_VIEW, name: 'Acme CRM (renamed)', auth: { ...OAUTH_VIEW.auth, scope: 'read:all' } as never, version: 2 };
    type('Scope', 'mine');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));

    const alert = await screen.findByRole('alert');
    expect(within(alert).getByText('Someone saved this connection meanwhile')).toBeTruthy();
    expect(alert.textContent).toContain('Your changes were not saved');
    expect(alert.textContent).toContain('version 2');
    await waitFor(() => expect(document.activeElement).toBe(alert));
    // The field is not blamed: the problem is the version, not the value.
    expect(input('Scope').getAttribute('aria-invalid')).toBeNull();

    fireEvent.click(within(alert).getByRole('button', { name: 'Reload' }));
    await waitFor(() => expect(input('API Name').value).toBe('Acme CRM (renamed)'));
    expect(input('Scope').value).toBe('read:all');
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
    expect(document.activeElement).toBe(input('API Name'));
    await waitFor(() => expect(noticesText()).toContain('version 2'));
    expect(screen.queryByRole('button', { name: 'Discard changes' })).toBeNull();

    // The next save is made against the reloaded version.
    api.on({ 'PUT /api/connections/acme-crm': () => json(200, { ...stored, version: 3 }) });
    type('Scope', 'mine');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(2));
    expect(api.calls('PUT /api/connections/acme-crm')[1]!.headers['if-match']).toBe('"2"');
  });
});

describe('connection form: call log settings', () => {
  it('shows the stored log settings and sends them, also when full queries are turned off again', async () => {
    const view = { ...OAUTH_VIEW, log: { retainDays: 14, fullQuery: true } };
    const api = await openSettings({ 'PUT /api/connections/acme-crm': () => json(200, view) }, view);
    expect(input('Keep calls for (days)').value).toBe('14');
    const full = screen.getByRole('checkbox', { name: 'Log full query strings' }) as HTMLInputElement;
    expect(full.checked).toBe(true);
    const help = document.getElementById(full.getAttribute('aria-describedby')!.split(' ')[0]!)!;
    expect(help.textContent).toContain('API key sent as a query parameter is always redacted');
    fireEvent.click(full);
    type('Keep calls for (days)', '30');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(1));
    expect((api.calls('PUT /api/connections/acme-crm')[0]!.body as { log: unknown }).log).toEqual({ retainDays: 30, fullQuery: false });
  });

  it('refuses a retention outside 1 to 30 days at its field and sends nothing', async () => {
    const api = await openSettings();
    type('Keep calls for (days)', '31');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(input('Keep calls for (days)').getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById('f-log-retainDays-error')!.textContent).toContain('At most 30 days');
    expect(document.activeElement).toBe(input('Keep calls for (days)'));
    expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(0);
  });

  it('leaves the log settings out of a new connection that keeps the defaults', async () => {
    const api = fakeApi({ 'POST /api/connections': () => json(201, OAUTH_VIEW), ...connectionRoutes() });
    renderApp('/new');
    await screen.findByRole('heading', { name: 'New connection', level: 1 });
    type('API Name', 'Acme CRM');
    type('Base URL', 'https://api.acme.example/v2');
    type('Client ID', 'abc');
    type('Client Secret', 's3cr3t');
    type('Token URL', 'https://auth.acme.example/oauth/token');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('POST /api/connections')).toHaveLength(1));
    expect('log' in (api.calls('POST /api/connections')[0]!.body as object)).toBe(false);
  });
});
