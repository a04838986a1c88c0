import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import type { TestRequestAnswer } from '../../contract/activity';
import { connectionRoutes, fakeApi, json, problem, type Routes, VIEWS } from './fake-api';
import { renderApp } from './render-app';

const REQUEST = 'POST /api/connections/acme-crm/request';
const CALLS = 'GET /api/connections/acme-crm/calls?limit=50';

async function openPanel(routes: Routes = {}, view = VIEWS.oauth2_client_credentials) {
  const api = fakeApi({ ...connectionRoutes(view), ...routes });
  renderApp('/connections/acme-crm');
  const panel = await screen.findByRole('region', { name: 'Send a test request' });
  return { api, panel };
}

const answer = (overrides: Partial<TestRequestAnswer> = {}): TestRequestAnswer => ({
  status: 200,
  headers: [['content-type', 'application/json']],
  body: '{"orders":[{"id":1}]}',
  truncated: false,
  durationMs: 42,
  token: { fetched: true, durationMs: 17 },
  ...overrides,
});

describe('send a test request', () => {
  it('sends method, path, query and headers, and shows status, duration, token step, headers and pretty JSON', async () => {
    const { api, panel } = await openPanel({ [REQUEST]: () => json(200, answer()) });
    const p = within(panel);
    fireEvent.input(p.getByLabelText('Path'), { target: { value: '/orders' } });
    fireEvent.click(p.getByRole('button', { name: 'Add parameter' }));
    fireEvent.input(p.getByLabelText('Parameter 1 name'), { target: { value: 'status' } });
    fireEvent.input(p.getByLabelText('Parameter 1 value'), { target: { value: 'open' } });
    fireEvent.click(p.getByRole('button', { name: 'Add header' }));
    fireEvent.input(p.getByLabelText('Header 1 name'), { target: { value: 'Accept' } });
    fireEvent.input(p.getByLabelText('Header 1 value'), { target: { value: 'application/json' } });
    expect((p.getByLabelText('JSON body') as HTMLTextAreaElement).disabled).toBe(true);
    fireEvent.click(p.getByRole('button', { name: 'Send request' }));

    const result = await p.findByRole('heading', { name: 'Answered 200 in 42 ms' });
    expect(api.calls(REQUEST)[0]!.body).toEqual({
      method: 'GET',
      path: '/orders',
      query: [{ name: 'status', value: 'open' }],
      headers: [{ name: 'Accept', value: 'application/json' }],
    });
    const region = p.getByRole('region', { name: 'Test request result' });
    await waitFor(() => expect(document.activeElement).toBe(region));
    expect(region.textContent).toContain('Requested from the Token URL for this call (17 ms)');
    expect(region.textContent).toContain('content-type');
    expect(p.getByLabelText('Answer body').textContent).toBe('{\n  "orders": [\n    {\n      "id": 1\n    }\n  ]\n}');
    expect(result).toBeTruthy();
    expect(p.getByRole('status').textContent).toBe('Answered 200 in 42 ms');
    // The activity reads its log again at once: the test call shows without waiting for the next poll.
    await waitFor(() => expect(api.calls(CALLS).length).toBeGreaterThanOrEqual(2));
  });

  it('sends a JSON body for POST, refuses one that is not JSON, says when the body was cut and shows a cached token', async () => {
    const { api, panel } = await openPanel({ [REQUEST]: () => json(200, answer({ status: 201, body: 'plain text', truncated: true, token: { fetched: false, durationMs: 1 } })) });
    const p = within(panel);
    fireEvent.change(p.getByLabelText('Method'), { target: { value: 'POST' } });
    const body = p.getByLabelText('JSON body') as HTMLTextAreaElement;
    expect(body.disabled).toBe(false);
    fireEvent.input(body, { target: { value: '{"name": ' } });
    fireEvent.click(p.getByRole('button', { name: 'Send request' }));
    await waitFor(() => expect(body.getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById('tr-body-error')!.textContent).toContain('Not JSON');
    expect(document.activeElement).toBe(body);
    expect(api.calls(REQUEST)).toHaveLength(0);

    fireEvent.input(body, { target: { value: '{"name": "x"}' } });
    fireEvent.click(p.getByRole('button', { name: 'Send request' }));
    await p.findByRole('heading', { name: 'Answered 201 in 42 ms' });
    expect(api.calls(REQUEST)[0]!.body).toEqual({ method: 'POST', path: '/', body: '{"name": "x"}' });
    expect(p.getByLabelText('Answer body').textContent).toBe('plain text');
    expect(panel.textContent).toContain('Only the first 64 KiB of the body are shown.');
    expect(panel.textContent).toContain('Cached token used (1 ms)');
  });

  it('refuses a path with a query in it at the path field', async () => {
    const { api, panel } = await openPanel();
    const path = within(panel).getByLabelText('Path');
    fireEvent.input(path, { target: { value: '/orders?x=1' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Send request' }));
    await waitFor(() => expect(path.getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById('tr-path-error')!.textContent).toContain('query field');
    expect(api.calls(REQUEST)).toHaveLength(0);
  });

  it('shows the relay’s refusal as a problem, with its code', async () => {
    const { panel } = await openPanel({
      [REQUEST]: () =>
        json(200, answer({ status: 403, body: '', token: undefined, problem: { code: 'path-not-allowed', title: 'Path not allowed', detail: 'The relay policy does not allow /admin.' } })),
    }, VIEWS.bearer);
    fireEvent.click(within(panel).getByRole('button', { name: 'Send request' }));
    await within(panel).findByRole('heading', { name: 'Answered 403 in 42 ms' });
    expect(panel.textContent).toContain('The relay refused: Path not allowed');
    expect(panel.textContent).toContain('The relay policy does not allow /admin.');
    expect(panel.textContent).toContain('path-not-allowed');
    // Not OAuth: no token step to tell.
    expect(panel.textContent).not.toContain('Token');
    expect(within(panel).getByRole('status').textContent).toContain('the relay refused, Path not allowed');
  });

  it('shows a problem of the API itself (e.g. invalid input) in an alert', async () => {
    const { panel } = await openPanel({ [REQUEST]: () => problem(400, 'Invalid input', 'The request is not valid.', { 'headers.0.name': ['Not a header name'] }) });
    fireEvent.click(within(panel).getByRole('button', { name: 'Send request' }));
    const alert = await within(panel).findByRole('alert');
    expect(alert.textContent).toContain('Invalid input');
    expect(alert.textContent).toContain('headers.0.name: Not a header name');
  });
});
