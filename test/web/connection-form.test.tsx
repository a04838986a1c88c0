import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { AUTH_METHOD_LABELS, AUTH_METHODS, type ConnectionView } from '../../contract/connection';
import { QUERY_KEY_WARNING } from '../../web/components/auth-api-key-fields';
import { STORED_SECRET_PLACEHOLDER, UNSAVED_CHANGES_PROMPT } from '../../web/components/connection-form';
import { connectionRoutes, fakeApi, json, noticesText, OAUTH_VIEW, problem, VIEWS } from './fake-api';
import { renderApp } from './render-app';

const type = (label: string, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } });
const input = (label: string) => screen.getByLabelText(label) as HTMLInputElement;
const errorOf = (label: string) => {
  const control = input(label);
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ');
  return ids
    .filter((id) => id.endsWith('-error'))
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' ');
};

const connectionPageRoutes = connectionRoutes;

async function openNewForm() {
  renderApp('/new');
  await screen.findByRole('heading', { name: 'New connection', level: 1 });
}

function fillValidOAuth() {
  type('API Name', 'Acme CRM');
  type('Base URL', 'https://api.acme.example/v2');
  type('Client ID', 'abc');
  type('Client Secret', 's3cr3t');
  type('Token URL', 'https://auth.acme.example/oauth/token');
}

describe('connection form: creating', () => {
  it('shows the schema messages at their fields on submit, focuses the first invalid field and sends nothing', async () => {
    const api = fakeApi();
    await openNewForm();
    type('Base URL', 'http://api.acme.example');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));

    expect(errorOf('API Name')).toContain('API Name is required');
    expect(errorOf('Base URL')).toContain('Only https:// URLs are allowed');
    expect(errorOf('Client ID')).toContain('Client ID is required');
    expect(errorOf('Client Secret')).toContain('Client Secret is required');
    expect(input('API Name').getAttribute('aria-invalid')).toBe('true');
    expect(input('Scope').getAttribute('aria-invalid')).toBeNull();
    expect(document.activeElement).toBe(input('API Name'));
    expect(screen.getByRole('alert').textContent).toContain('Check the highlighted fields');
    expect(api.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('shows a field message when the field is left, not before', async () => {
    fakeApi();
    await openNewForm();
    type('Token URL', 'not a url');
    expect(errorOf('Token URL')).toBe('');
    fireEvent.blur(input('Token URL'));
    expect(errorOf('Token URL')).toContain('Enter an absolute URL');
    expect(errorOf('API Name')).toBe('');
    type('Token URL', 'https://auth.acme.example/token');
    expect(errorOf('Token URL')).toBe('');
  });

  it('suggests the slug from the name until the slug is edited', async () => {
    fakeApi();
    await openNewForm();
    type('API Name', 'Acme CRM (Prod)');
    expect(input('Slug').value).toBe('acme-crm-prod');
    type('Slug', 'acme');
    type('API Name', 'Acme CRM Production');
    expect(input('Slug').value).toBe('acme');
    expect(input('Slug').readOnly).toBe(false);
  });

  it('shows only the chosen method’s fields', async () => {
    fakeApi();
    await openNewForm();
    const method = screen.getByLabelText('Authentication method');
    const shown = (label: string) => screen.queryByLabelText(label) !== null;

    expect(['Client ID', 'Client Secret', 'Token URL', 'Scope'].every(shown)).toBe(true);
    expect(shown('Token') || shown('Username') || shown('API key')).toBe(false);

    fireEvent.change(method, { target: { value: 'bearer' } });
    expect(shown('Token')).toBe(true);
    expect(shown('Client ID') || shown('Client Secret') || shown('Username')).toBe(false);

    fireEvent.change(method, { target: { value: 'basic' } });
    expect(shown('Username') && shown('Password')).toBe(true);
    expect(shown('Token')).toBe(false);

    fireEvent.change(method, { target: { value: 'api_key' } });
    expect(input('Parameter name').value).toBe('x-key');
    expect(shown('API key')).toBe(true);
    expect((screen.getByLabelText('Send the key in') as HTMLSelectElement).value).toBe('header');

    fireEvent.change(method, { target: { value: 'none' } });
    expect(['Client ID', 'Token', 'Username', 'Password', 'API key', 'Parameter name'].some(shown)).toBe(false);
  });

  it('keeps secrets out of the page: password inputs, never autocompleted', async () => {
    fakeApi();
    await openNewForm();
    const secret = input('Client Secret');
    expect(secret.type).toBe('password');
    expect(secret.getAttribute('autocomplete')).toBe('new-password');
    expect(secret.value).toBe('');
  });

  it('creates the connection with POST and opens its page', async () => {
    const api = fakeApi({
      'POST /api/connections': () => json(201, OAUTH_VIEW),
      ...connectionPageRoutes(),
    });
    await openNewForm();
    fillValidOAuth();
    type('Scope', 'read:orders');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));

    expect(await screen.findByRole('heading', { name: 'Acme CRM', level: 1 })).toBeTruthy();
    expect(window.location.pathname).toBe('/connections/acme-crm');
    expect(noticesText()).toContain('Created “Acme CRM”');
    expect(api.calls('POST /api/connections')[0]!.body).toEqual({
      name: 'Acme CRM',
      slug: 'acme-crm',
      baseUrl: 'https://api.acme.example/v2',
      auth: {
        method: 'oauth2_client_credentials',
        clientId: 'abc',
        clientSecret: 's3cr3t',
        tokenUrl: 'https://auth.acme.example/oauth/token',
        scope: 'read:orders',
        clientAuth: 'client_secret_basic',
      },
    });
  });

  it('sends the advanced OAuth settings and the relay policy', async () => {
    const api = fakeApi({ 'POST /api/connections': () => json(201, OAUTH_VIEW), ...connectionPageRoutes() });
    await openNewForm();
    fillValidOAuth();
    fireEvent.change(screen.getByLabelText('Client authentication'), { target: { value: 'client_secret_post' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add parameter' }));
    type('Parameter 1 name', 'audience');
    type('Parameter 1 value', 'https://api.acme.example');
    type('Default token lifetime (seconds)', '600');
    fireEvent.click(screen.getByLabelText('GET'));
    fireEvent.click(screen.getByLabelText('POST'));
    type('Allowed path prefixes', '/orders\n\n /customers ');
    type('Allowed browser origins', 'https://shop.example');
    type('Timeout (ms)', '5000');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() => expect(api.calls('POST /api/connections')).toHaveLength(1));
    const body = api.calls('POST /api/connections')[0]!.body as Record<string, any>;
    expect(body.auth).toMatchObject({ clientAuth: 'client_secret_post', tokenParams: { audience: 'https://api.acme.example' }, tokenLifetimeSeconds: 600 });
    expect(body.relay).toEqual({
      allowedMethods: ['GET', 'POST'],
      allowedPaths: ['/orders', '/customers'],
      allowedOrigins: ['https://shop.example'],
      timeoutMs: 5000,
    });
  });

  it('opens Advanced and shows the message when an extra token parameter is not allowed', async () => {
    const api = fakeApi();
    await openNewForm();
    fillValidOAuth();
    fireEvent.click(screen.getByRole('button', { name: 'Add parameter' }));
    type('Parameter 1 name', 'client_secret');
    screen.getByText('Advanced').closest('details')!.open = false;
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));

    expect(screen.getByText('Advanced').closest('details')!.open).toBe(true);
    expect(screen.getByText(/set by the connector itself/)).toBeTruthy();
    expect(document.activeElement).toBe(input('Parameter 1 name'));
    expect(api.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('shows the server’s field errors at their fields and its problem in the alert', async () => {
    fakeApi({
      'POST /api/connections': () =>
        problem(400, 'Request body failed validation', '2 fields need attention.', {
          'auth.clientSecret': ['The token endpoint refused this secret'],
          'relay.allowedPaths.0': ['Paths may not contain . or .. segments'],
          other: ['Something the form has no field for'],
        }),
    });
    await openNewForm();
    fillValidOAuth();
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Request body failed validation');
    expect(alert.textContent).toContain('other: Something the form has no field for');
    expect(errorOf('Client Secret')).toContain('The token endpoint refused this secret');
    expect(errorOf('Allowed path prefixes')).toContain('Paths may not contain . or .. segments');
    expect(errorOf('Allowed path prefixes')).not.toContain('Line');
    expect(document.activeElement).toBe(input('Client Secret'));

    type('Client Secret', 'another');
    expect(errorOf('Client Secret')).toBe('');
  });

  it('shows a taken slug at the Slug field', async () => {
    fakeApi({ 'POST /api/connections': () => problem(409, 'Slug already in use', 'There is already a connection "acme-crm".') });
    await openNewForm();
    fillValidOAuth();
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(errorOf('Slug')).toContain('There is already a connection "acme-crm".'));
    expect(screen.getByRole('alert').textContent).toContain('Slug already in use');
  });

  it('refuses a second Save while the request is in flight, and keeps the button focusable', async () => {
    let answer!: (response: Response) => void;
    const api = fakeApi({ 'POST /api/connections': () => new Promise<Response>((resolve) => (answer = resolve)), ...connectionPageRoutes() });
    await openNewForm();
    fillValidOAuth();
    const save = screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement;
    fireEvent.click(save);
    await waitFor(() => expect(save.getAttribute('aria-disabled')).toBe('true'));
    expect(save.getAttribute('aria-busy')).toBe('true');
    expect(save.disabled).toBe(false);
    fireEvent.click(save);
    expect(api.calls('POST /api/connections')).toHaveLength(1);
    answer(json(201, OAUTH_VIEW));
    expect(await screen.findByRole('heading', { name: 'Acme CRM', level: 1 })).toBeTruthy();
  });
});

describe('connection form: editing', () => {
  async function openSettings(view = OAUTH_VIEW, routes = {}) {
    const api = fakeApi({ ...connectionPageRoutes(view), ...routes });
    renderApp(`/connections/${view.slug}`);
    const settings = await screen.findByRole('form', { name: 'Connection settings' });
    return { api, settings };
  }

  it('shows the stored connection with a read-only slug and a note that it is permanent', async () => {
    await openSettings();
    expect(input('API Name').value).toBe('Acme CRM');
    const slug = input('Slug');
    expect(slug.value).toBe('acme-crm');
    expect(slug.readOnly).toBe(true);
    expect(document.getElementById(slug.getAttribute('aria-describedby')!.split(' ')[0]!)!.textContent).toContain('permanent');
    type('API Name', 'Acme CRM renamed');
    expect(slug.value).toBe('acme-crm');
  });

  it('shows a stored secret as stored, never prefilled', async () => {
    await openSettings();
    const secret = input('Client Secret');
    expect(secret.value).toBe('');
    expect(secret.type).toBe('password');
    expect(secret.placeholder).toBe(STORED_SECRET_PLACEHOLDER);
    expect(secret.placeholder).toBe('stored — enter a new value to replace');
  });

  it('leaves the secret out of the PUT body when it was not touched', async () => {
    const { api } = await openSettings(OAUTH_VIEW, {
      'PUT /api/connections/acme-crm': () => json(200, { ...OAUTH_VIEW, name: 'Acme CRM EU' }),
    });
    type('API Name', 'Acme CRM EU');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(1));
    const body = api.calls('PUT /api/connections/acme-crm')[0]!.body as Record<string, any>;
    expect(body.name).toBe('Acme CRM EU');
    expect(body.slug).toBe('acme-crm');
    expect('clientSecret' in body.auth).toBe(false);
    expect(body.auth.clientId).toBe('abc');
    await waitFor(() => expect(noticesText()).toContain('Saved changes to “Acme CRM EU”.'));
  });

  it('sends the secret in the PUT body when a new one was typed, then empties the field again', async () => {
    const { api } = await openSettings(OAUTH_VIEW, {
      'PUT /api/connections/acme-crm': () => json(200, { ...OAUTH_VIEW, updatedAt: '2026-11-03T10:00:00.000Z' }),
    });
    type('Client Secret', 'n3w-s3cr3t');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(1));
    expect((api.calls('PUT /api/connections/acme-crm')[0]!.body as Record<string, any>).auth.clientSecret).toBe('n3w-s3cr3t');
    await waitFor(() => expect(input('Client Secret').value).toBe(''));
  });

  it('requires a new secret when the method changes to one whose secret is not stored', async () => {
    const { api } = await openSettings();
    fireEvent.change(screen.getByLabelText('Authentication method'), { target: { value: 'bearer' } });
    expect(input('Token').placeholder).toBe('');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(errorOf('Token')).toContain('Token is required');
    expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(0);
  });

  it('asks for the secret again when the Token URL moves to another host, and sends nothing until it is typed', async () => {
    const { api } = await openSettings(OAUTH_VIEW, {
      'PUT /api/connections/acme-crm': () => json(200, OAUTH_VIEW),
    });
    type('Token URL', 'https://attacker.example/token');
    expect(input('Client Secret').placeholder).toBe('');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(errorOf('Client Secret')).toContain("the Token URL's host changed");
    expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(0);
    type('Client Secret', 'typed-again');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(1));
    expect((api.calls('PUT /api/connections/acme-crm')[0]!.body as Record<string, any>).auth.clientSecret).toBe('typed-again');
  });

  it('keeps the stored secret when only the Base URL path changes', async () => {
    const { api } = await openSettings(OAUTH_VIEW, {
      'PUT /api/connections/acme-crm': () => json(200, OAUTH_VIEW),
    });
    type('Base URL', `${new URL(OAUTH_VIEW.baseUrl).origin}/v3`);
    expect(input('Client Secret').placeholder).toBe(STORED_SECRET_PLACEHOLDER);
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/connections/acme-crm')).toHaveLength(1));
    expect('clientSecret' in (api.calls('PUT /api/connections/acme-crm')[0]!.body as Record<string, any>).auth).toBe(false);
  });
});

describe('connection form: what a person sees and keeps', () => {
  async function openSettings(view: ConnectionView = OAUTH_VIEW, routes = {}) {
    const api = fakeApi({ ...connectionRoutes(view), ...routes });
    renderApp(`/connections/${view.slug}`);
    await screen.findByRole('form', { name: 'Connection settings' });
    return api;
  }
  const methodSelect = () => screen.getByLabelText('Authentication method') as HTMLSelectElement;

  for (const method of AUTH_METHODS) {
    it(`shows ${AUTH_METHOD_LABELS[method]} as the method of a stored ${method} connection`, async () => {
      await openSettings(VIEWS[method]);
      expect(methodSelect().value).toBe(method);
      expect(methodSelect().selectedOptions[0]?.textContent).toBe(AUTH_METHOD_LABELS[method]);
    });
  }

  it('switches a None connection to OAuth when OAuth is chosen', async () => {
    await openSettings(VIEWS.none);
    expect(screen.queryByLabelText('Client ID')).toBeNull();
    fireEvent.change(methodSelect(), { target: { value: 'oauth2_client_credentials' } });
    expect(screen.getByLabelText('Client ID')).toBeTruthy();
  });

  it('asks before leaving with unsaved edits, and keeps them when the answer is to stay', async () => {
    await openSettings(OAUTH_VIEW, { 'GET /api/connections': () => json(200, { connections: [OAUTH_VIEW] }) });
    type('API Name', 'Acme CRM edited');
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
    fireEvent.click(within(screen.getByRole('navigation', { name: 'Breadcrumb' })).getByRole('link', { name: 'Connections' }));
    expect(confirm).toHaveBeenCalledWith(UNSAVED_CHANGES_PROMPT);
    await new Promise((r) => setTimeout(r, 50));
    expect(window.location.pathname).toBe('/connections/acme-crm');
    expect(input('API Name').value).toBe('Acme CRM edited');

    confirm.mockReturnValue(true);
    fireEvent.click(within(screen.getByRole('navigation', { name: 'Breadcrumb' })).getByRole('link', { name: 'Connections' }));
    expect(await screen.findByRole('heading', { name: 'Connections', level: 1 })).toBeTruthy();
  });

  it('does not ask about unsaved edits when the connection itself is deleted', async () => {
    await openSettings(OAUTH_VIEW, { 'DELETE /api/connections/acme-crm': () => new Response(null, { status: 204 }), 'GET /api/connections': () => json(200, { connections: [] }) });
    type('API Name', 'Acme CRM edited');
    const confirm = vi.spyOn(window, 'confirm');
    fireEvent.click(screen.getByRole('button', { name: 'Delete connection' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, delete' }));
    expect(await screen.findByRole('heading', { name: 'No connections yet' })).toBeTruthy();
    expect(confirm).not.toHaveBeenCalled();
  });

  it('leaves without asking when nothing was changed', async () => {
    await openSettings(OAUTH_VIEW, { 'GET /api/connections': () => json(200, { connections: [OAUTH_VIEW] }) });
    const confirm = vi.spyOn(window, 'confirm');
    fireEvent.click(within(screen.getByRole('navigation', { name: 'Breadcrumb' })).getByRole('link', { name: 'Connections' }));
    expect(await screen.findByRole('heading', { name: 'Connections', level: 1 })).toBeTruthy();
    expect(confirm).not.toHaveBeenCalled();
  });

  it('discards unsaved edits on request, back to the stored connection', async () => {
    await openSettings();
    expect(screen.queryByRole('button', { name: 'Discard changes' })).toBeNull();
    type('API Name', 'Acme CRM edited');
    type('Scope', 'other');
    fireEvent.click(screen.getByRole('button', { name: 'Discard changes' }));
    expect(input('API Name').value).toBe('Acme CRM');
    expect(input('Scope').value).toBe('read:orders');
    expect(screen.queryByRole('button', { name: 'Discard changes' })).toBeNull();
    expect(document.activeElement).toBe(input('API Name'));
  });

  it('names the line of a relay policy entry the server refused', async () => {
    fakeApi({
      'POST /api/connections': () =>
        problem(400, 'Request body failed validation', '1 field needs attention.', { 'relay.allowedPaths.1': ['Paths may not contain . or .. segments'] }),
    });
    renderApp('/new');
    await screen.findByRole('heading', { name: 'New connection', level: 1 });
    fillValidOAuth();
    type('Allowed path prefixes', '/orders\n\n/a/../b');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(errorOf('Allowed path prefixes')).toMatch(/Line 3 \(\/a\/\.\.\/b\): .*may not contain \. or \.\. segments/));
  });

  it('names the line of a relay origin the form refuses before sending', async () => {
    const api = fakeApi();
    renderApp('/new');
    await screen.findByRole('heading', { name: 'New connection', level: 1 });
    fillValidOAuth();
    type('Allowed browser origins', 'https://shop.example\nhttps://shop.example/checkout');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(errorOf('Allowed browser origins')).toContain('Line 2 (https://shop.example/checkout)');
    expect(api.calls('POST /api/connections')).toHaveLength(0);
  });

  it('warns, at the choice, that an API key in the query string ends up in access logs', async () => {
    await openSettings(VIEWS.api_key);
    const placement = screen.getByLabelText('Send the key in') as HTMLSelectElement;
    expect(placement.value).toBe('header');
    expect(screen.queryByText(QUERY_KEY_WARNING)).toBeNull();
    fireEvent.change(placement, { target: { value: 'query' } });
    const described = (placement.getAttribute('aria-describedby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent ?? '');
    expect(described.join(' ')).toMatch(/access logs/);
  });
});
