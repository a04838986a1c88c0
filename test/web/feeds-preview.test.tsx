import { fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import type { DryRunAnswer } from '../../contract/feed-api';
import { DRY_RUN_ANSWER, FEED_VIEW, fakeApi, feedRoutes, json, type Routes } from './fake-api';
import { renderApp } from './render-app';

const preview = () => screen.getByRole('heading', { name: 'Preview' }).closest('section')!;

async function openFeed(routes: Routes = {}) {
  const api = fakeApi({ ...feedRoutes(), ...routes });
  renderApp(`/feeds/${FEED_VIEW.id}`);
  await screen.findByRole('form', { name: 'Feed settings' });
  return api;
}

describe('feed preview', () => {
  it('dry-runs the saved feed with a sample of the declared fields and shows the rendered request, rules, warnings and answer', async () => {
    const api = await openFeed();
    const sample = within(preview()).getByLabelText('Sample input (JSON)') as HTMLTextAreaElement;
    expect(JSON.parse(sample.value)).toEqual({ email: 'someone@example.com', consent: 'sample consent' });
    await waitFor(() => expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')).toHaveLength(1));
    expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')[0]!.body).toEqual({ input: { email: 'someone@example.com', consent: 'sample consent' }, as: 'json', send: false });

    const panel = preview();
    await within(panel).findByText('POST https://api.acme.example/v2/lists/members');
    expect(within(panel).getByRole('row', { name: 'authorization Bearer ***' })).toBeTruthy();
    expect(JSON.parse(within(panel).getByLabelText('Request body').textContent!)).toEqual({ email_address: 'someone@example.com', status: 'subscribed' });
    expect(panel.textContent).toContain('Matched /input/consent is yes (was "yes")');
    expect(panel.textContent).toContain('“utm_source” is not a declared field');
    expect(JSON.parse(within(panel).getByLabelText('Caller answer').textContent!)).toEqual({ ok: true, runId: 'run_preview', data: {} });
  });

  it('previews unsaved edits as a draft, with the sample response and as a navigation', async () => {
    const navigation: DryRunAnswer = { ...DRY_RUN_ANSWER, answer: { status: 303, location: 'https://shop.example/thanks?m=m_1' } };
    const api = await openFeed({ 'POST /api/feeds/dry-run': () => json(200, navigation) });
    await waitFor(() => expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')).toHaveLength(1));
    fireEvent.input(screen.getByLabelText('Path'), { target: { value: '/lists/42/members' } });
    fireEvent.click(within(preview()).getByRole('radio', { name: /Browser form/ }));
    fireEvent.click(within(preview()).getByRole('checkbox', { name: 'Use a sample API response' }));
    fireEvent.input(within(preview()).getByLabelText('Sample input (JSON)'), { target: { value: '{"email": "a@b.example", "consent": "yes"}' } });
    await waitFor(() => expect(api.calls('POST /api/feeds/dry-run').length).toBeGreaterThan(0));
    // Debounced: one request for the burst of edits.
    expect(api.calls('POST /api/feeds/dry-run')).toHaveLength(1);
    const body = api.calls('POST /api/feeds/dry-run')[0]!.body as Record<string, any>;
    expect(body.feed.request.path).toBe('/lists/42/members');
    expect(body.input).toEqual({ email: 'a@b.example', consent: 'yes' });
    expect(body.as).toBe('navigation');
    expect(body.sampleResponse).toEqual({ status: 201, headers: { 'content-type': 'application/json' }, body: { id: 'm_1' } });
    await within(preview()).findByText('https://shop.example/thanks?m=m_1');
    expect(preview().textContent).toContain('303 redirect to');
  });

  it('says what to fix instead of asking when the sample is not JSON', async () => {
    const api = await openFeed();
    await waitFor(() => expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')).toHaveLength(1));
    fireEvent.input(within(preview()).getByLabelText('Sample input (JSON)'), { target: { value: '{"email": ' } });
    await within(preview()).findByText(/The sample input is not valid JSON/);
    expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')).toHaveLength(1);
  });

  it('sends for real only after a confirmation, and marks the result live', async () => {
    const live: DryRunAnswer = { ...DRY_RUN_ANSWER, runId: 'run_live1', upstream: { status: 201, durationMs: 184, headers: {}, body: { id: 'm_1' } } };
    const api = await openFeed({ 'POST /api/feeds/fd_7k3m9q2x/dry-run': (request) => json(200, (request.body as { send: boolean }).send ? live : DRY_RUN_ANSWER) });
    await waitFor(() => expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')).toHaveLength(1));
    fireEvent.click(within(preview()).getByRole('button', { name: 'Send for real' }));
    expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')).toHaveLength(1);
    const confirm = within(preview()).getByRole('group', { name: 'Send for real' });
    expect(confirm.textContent).toContain('live call');
    fireEvent.click(within(confirm).getByRole('button', { name: 'Yes, send it' }));
    await waitFor(() => expect(api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')).toHaveLength(2));
    expect((api.calls('POST /api/feeds/fd_7k3m9q2x/dry-run')[1]!.body as { send: boolean }).send).toBe(true);
    await within(preview()).findByText('Live: really sent, logged as run run_live1');
    expect(preview().textContent).toContain('201 in 184 ms');
  });
});
