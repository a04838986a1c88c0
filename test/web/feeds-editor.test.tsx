import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { FEED_VIEW, fakeApi, feedRoutes, json, noContent, noticesText, OAUTH_SUMMARY, problem, type Routes } from './fake-api';
import { renderApp } from './render-app';

const type = (el: HTMLElement, value: string) => fireEvent.input(el, { target: { value } });
const field = (label: string) => screen.getByLabelText(label) as HTMLInputElement;

async function openFeed(routes: Routes = {}, view = FEED_VIEW) {
  const api = fakeApi({ ...feedRoutes(view), ...routes });
  renderApp(`/feeds/${view.id}`);
  await screen.findByRole('form', { name: 'Feed settings' });
  return api;
}

const conflict = (version: number) =>
  new Response(
    JSON.stringify({ type: 'https://edge-api-connector.dev/problems/version-conflict', title: 'The feed was changed meanwhile', status: 412, detail: 'Changed meanwhile.', version }),
    { status: 412, headers: { 'Content-Type': 'application/problem+json' } },
  );

describe('feed editor: a new feed', () => {
  it('starts with the connection of the address, and Create sends the feed and opens its page', async () => {
    const created = { ...FEED_VIEW, id: 'fd_new', name: 'Signup' };
    const api = fakeApi({
      ...feedRoutes(created),
      'GET /api/connections': () => json(200, { connections: [OAUTH_SUMMARY], cursor: null }),
      'POST /api/feeds': () => json(201, created),
    });
    renderApp('/feeds/new?connection=acme-crm');
    await screen.findByRole('form', { name: 'New feed' });
    await waitFor(() => expect((field('Connection') as unknown as HTMLSelectElement).value).toBe('acme-crm'));
    type(field('Name'), 'Signup');
    type(field('Origin 1'), 'https://shop.example');
    fireEvent.click(screen.getByRole('button', { name: 'Create feed' }));

    await waitFor(() => expect(api.calls('POST /api/feeds')).toHaveLength(1));
    const body = api.calls('POST /api/feeds')[0]!.body as Record<string, any>;
    expect(body.name).toBe('Signup');
    expect(body.connection).toBe('acme-crm');
    expect(body.trigger.browser).toEqual({ enabled: true, allowedOrigins: ['https://shop.example'] });
    expect(body.request.body.fields).toEqual([{ target: '/email', value: '{{/input/email}}', as: 'auto', ifMissing: 'omit' }]);
    await waitFor(() => expect(window.location.pathname).toBe('/feeds/fd_new'));
    await screen.findByRole('form', { name: 'Feed settings' });
    expect(noticesText()).toContain('Created “Signup”');
  });

  it('checks the feed as it is typed: an empty origin list in browser mode is refused at its list, and nothing is sent', async () => {
    const api = fakeApi({ ...feedRoutes(), 'GET /api/connections': () => json(200, { connections: [OAUTH_SUMMARY], cursor: null }) });
    renderApp('/feeds/new?connection=acme-crm');
    await screen.findByRole('form', { name: 'New feed' });
    type(field('Name'), 'Signup');
    fireEvent.click(screen.getByRole('button', { name: 'Create feed' }));
    const origins = await screen.findByRole('group', { name: 'Allowed origins' });
    await waitFor(() => expect(origins.textContent).toContain('Browser mode needs at least one allowed origin'));
    expect(screen.getByRole('alert').textContent).toContain('Check the highlighted fields');
    expect(api.calls('POST /api/feeds')).toHaveLength(0);
  });
});

describe('feed editor: a stored feed', () => {
  it('shows the stored feed and saves it with If-Match of its version', async () => {
    const api = await openFeed({ 'PUT /api/feeds/fd_7k3m9q2x': () => json(200, { ...FEED_VIEW, name: 'Signup EU', version: 4 }) });
    expect(field('Name').value).toBe('Newsletter signup');
    expect(field('Connection').readOnly).toBe(true);
    expect(field('Body field 1 target').value).toBe('/email_address');
    expect(field('Rule 1 source').value).toBe('/input/consent');
    expect(screen.getByText(/Edits are live within a minute/)).toBeTruthy();
    type(field('Name'), 'Signup EU');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/feeds/fd_7k3m9q2x')).toHaveLength(1));
    const put = api.calls('PUT /api/feeds/fd_7k3m9q2x')[0]!;
    expect(put.headers['if-match']).toBe('"3"');
    expect((put.body as { name: string }).name).toBe('Signup EU');
    expect((put.body as { connection: string }).connection).toBe('acme-crm');
  });

  it('sends the trigger modes, content types, declared fields, condition and response as edited', async () => {
    const api = await openFeed({ 'PUT /api/feeds/fd_7k3m9q2x': () => json(200, FEED_VIEW) });
    fireEvent.click(screen.getByRole('checkbox', { name: 'Server webhooks' }));
    fireEvent.click(screen.getByRole('checkbox', { name: 'JSON (application/json)' }));
    const fields = screen.getByRole('group', { name: 'Declared fields' });
    fireEvent.click(within(fields).getByRole('button', { name: 'Add field' }));
    type(field('Field 3 name'), 'phone');
    fireEvent.click(screen.getByRole('checkbox', { name: 'Field 3: Sensitive (masked in logs)' }));
    fireEvent.click(within(screen.getByRole('group', { name: 'Rules' })).getByRole('button', { name: 'Remove rule 1' }));
    type(field('Success statuses'), '200, 201');
    type(field('Success URL'), 'https://shop.example/thanks');
    fireEvent.change(field('Log level'), { target: { value: 'values' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/feeds/fd_7k3m9q2x')).toHaveLength(1));
    const body = api.calls('PUT /api/feeds/fd_7k3m9q2x')[0]!.body as Record<string, any>;
    expect(body.trigger.server).toEqual({ enabled: false });
    expect(body.trigger.contentTypes).toEqual(['form', 'multipart']);
    expect(body.input.fields[2]).toEqual({ name: 'phone', required: false, multiple: false, sensitive: true });
    expect(body.condition).toBeNull();
    expect(body.response.successStatuses).toEqual([200, 201]);
    expect(body.response.redirect.successUrl).toBe('https://shop.example/thanks');
    expect(body.log.level).toBe('values');
  });

  it('on 412 says someone saved meanwhile and Reload shows the stored feed', async () => {
    let stored = FEED_VIEW;
    const api = await openFeed({ 'GET /api/feeds/fd_7k3m9q2x': () => json(200, stored), 'PUT /api/feeds/fd_7k3m9q2x': () => conflict(4) });
    stored = { ...FEED_VIEW, name: 'Renamed elsewhere', version: 4 };
    type(field('Name'), 'Mine');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Someone saved this feed meanwhile');
    expect(alert.textContent).toContain('version 4');
    fireEvent.click(within(alert).getByRole('button', { name: 'Reload' }));
    await waitFor(() => expect(field('Name').value).toBe('Renamed elsewhere'));
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
    api.on({ 'PUT /api/feeds/fd_7k3m9q2x': () => json(200, { ...stored, version: 5 }) });
    type(field('Name'), 'Mine');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.calls('PUT /api/feeds/fd_7k3m9q2x')).toHaveLength(2));
    expect(api.calls('PUT /api/feeds/fd_7k3m9q2x')[1]!.headers['if-match']).toBe('"4"');
  });

  it("shows the server's errors at the row their pointer names, until that row is edited", async () => {
    await openFeed({
      'PUT /api/feeds/fd_7k3m9q2x': () =>
        problem(400, 'Invalid feed', '2 fields need attention.', {
          '/request/body/fields/1/target': ['The path is not allowed by the relay policy'],
          '/trigger/limits/maxFields': ['Too many'],
        }),
    });
    type(field('Name'), 'Changed');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    const target = field('Body field 2 target');
    await waitFor(() => expect(target.getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById(target.getAttribute('aria-describedby')!.split(' ').at(-1)!)!.textContent).toContain('not allowed by the relay policy');
    expect(field('Body field 1 target').getAttribute('aria-invalid')).toBeNull();
    // A pointer no control shows is listed in the alert.
    expect(screen.getByRole('alert').textContent).toContain('/trigger/limits/maxFields: Too many');
    type(target, '/state');
    await waitFor(() => expect(target.getAttribute('aria-invalid')).toBeNull());
  });

  it('places an error of a response row read by pointer at that pointer field', async () => {
    const view = { ...FEED_VIEW, response: { ...FEED_VIEW.response, json: { data: [{ target: '/memberId', source: '/response/body/id', as: 'auto' as const, ifMissing: 'omit' as const }], errorDetail: null } } };
    await openFeed({ 'PUT /api/feeds/fd_7k3m9q2x': () => problem(400, 'Invalid feed', '1 field needs attention.', { '/response/json/data/0/source': ['Not readable'] }) }, view);
    expect(field('Data field 1 pointer').value).toBe('/response/body/id');
    type(field('Name'), 'Changed');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(field('Data field 1 pointer').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByRole('group', { name: 'JSON answer data' }).textContent).toContain('Not readable');
  });

  it('keeps the keyboard in a list: Add focuses the new row, Remove the row that takes its place', async () => {
    await openFeed();
    const query = screen.getByRole('group', { name: 'Query parameters' });
    fireEvent.click(within(query).getByRole('button', { name: 'Add query parameter' }));
    await waitFor(() => expect(document.activeElement).toBe(field('Query parameter 1 name')));
    fireEvent.click(within(query).getByRole('button', { name: 'Add query parameter' }));
    await waitFor(() => expect(document.activeElement).toBe(field('Query parameter 2 name')));
    type(field('Query parameter 2 name'), 'double_optin');
    fireEvent.click(within(query).getByRole('button', { name: 'Remove query parameter 1' }));
    await waitFor(() => expect(document.activeElement).toBe(field('Query parameter 1 name')));
    expect(field('Query parameter 1 name').value).toBe('double_optin');
    expect(screen.queryByLabelText('Query parameter 2 name')).toBeNull();
  });

  it('refuses a header the connector sets at its row before anything is sent', async () => {
    const api = await openFeed();
    const headers = screen.getByRole('group', { name: 'Headers' });
    fireEvent.click(within(headers).getByRole('button', { name: 'Add header' }));
    type(field('Header 2 name'), 'Authorization');
    type(field('Header 2 value'), 'Bearer x');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(field('Header 2 name').getAttribute('aria-invalid')).toBe('true'));
    expect(headers.textContent).toContain('cannot be set by a feed');
    expect(document.activeElement).toBe(field('Header 2 name'));
    expect(api.calls('PUT /api/feeds/fd_7k3m9q2x')).toHaveLength(0);
  });

  it('turns GravityWP-style paths into pointers: targets as they are, sources under /input or /response/body', async () => {
    await openFeed();
    const target = field('Body field 1 target');
    type(target, 'items[0].sku');
    fireEvent.change(target, { target: { value: 'items[0].sku' } });
    await waitFor(() => expect(target.value).toBe('/items/0/sku'));
    expect(noticesText()).toContain('Converted the path “items[0].sku” to the pointer /items/0/sku');

    const source = field('Rule 1 source');
    fireEvent.change(source, { target: { value: 'customer.name' } });
    await waitFor(() => expect(source.value).toBe('/input/customer/name'));

    const data = screen.getByRole('group', { name: 'JSON answer data' });
    fireEvent.click(within(data).getByRole('button', { name: 'Add data field' }));
    fireEvent.change(field('Data field 1 reads'), { target: { value: 'source' } });
    const pointer = await screen.findByLabelText('Data field 1 pointer');
    fireEvent.change(pointer, { target: { value: 'member.id' } });
    await waitFor(() => expect((pointer as HTMLInputElement).value).toBe('/response/body/member/id'));
    // A key with a dot must be typed as a pointer: it is left alone.
    type(target, '/user.email');
    fireEvent.change(target, { target: { value: '/user.email' } });
    expect(target.value).toBe('/user.email');
  });

  it('offers the declared fields, /meta and (in response rows) /response as pointer suggestions', async () => {
    await openFeed();
    const options = (id: string) => [...document.querySelectorAll(`#${id} option`)].map((o) => (o as HTMLOptionElement).value);
    expect(options('feed-sources')).toEqual(expect.arrayContaining(['/input/email', '/input/consent', '/meta/runId']));
    expect(options('feed-sources')).not.toContain('/response/status');
    expect(options('feed-sources-response')).toContain('/response/body');
    expect(options('feed-templates')).toContain('{{/input/email}}');
    expect(field('Rule 1 source').getAttribute('list')).toBe('feed-sources');
    type(field('Field 2 name'), 'phone');
    await waitFor(() => expect(options('feed-sources')).toContain('/input/phone'));
  });

  it('asks before leaving with unsaved changes, and stays when told to', async () => {
    await openFeed();
    type(field('Name'), 'Changed');
    const asked: string[] = [];
    vi.spyOn(window, 'confirm').mockImplementation((message?: string) => (asked.push(message ?? ''), false));
    fireEvent.click(within(screen.getByRole('navigation', { name: 'Breadcrumb' })).getByRole('link', { name: 'Feeds' }));
    await waitFor(() => expect(asked).toHaveLength(1));
    expect(asked[0]).toContain('Leave without saving?');
    expect(window.location.pathname).toBe('/feeds/fd_7k3m9q2x');
  });

  it('deletes the feed after a confirmation and returns to its connection', async () => {
    const api = await openFeed({
      'DELETE /api/feeds/fd_7k3m9q2x': () => noContent(),
      'GET /api/connections/acme-crm': () => new Promise<Response>(() => {}),
    });
    const panel = screen.getByRole('heading', { name: 'Delete feed' }).closest('section')!;
    fireEvent.click(within(panel).getByRole('button', { name: 'Delete feed' }));
    expect(api.calls('DELETE /api/feeds/fd_7k3m9q2x')).toHaveLength(0);
    fireEvent.click(within(panel).getByRole('button', { name: 'Yes, delete' }));
    await waitFor(() => expect(api.calls('DELETE /api/feeds/fd_7k3m9q2x')).toHaveLength(1));
    await waitFor(() => expect(window.location.pathname).toBe('/connections/acme-crm'));
    expect(noticesText()).toContain('Deleted the feed “Newsletter signup”');
  });
});
