import { cleanup, fireEvent, screen, waitFor, within } from '@solidjs/testing-library';
import { describe, expect, it } from 'vitest';
import { rememberSession } from '../../web/api/session-hint';
import { fakeApi, json, noContent, noticesText, problem, SESSION } from './fake-api';
import { renderApp } from './render-app';

const unauthorized = () => problem(401, 'Authentication required', 'Sign in first.');

describe('sign-in', () => {
  it('shows the sign-in page when the session check answers 401', async () => {
    fakeApi({ 'GET /api/session': unauthorized });
    renderApp('/');
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy();
    const token = screen.getByLabelText('Admin token') as HTMLInputElement;
    expect(token.type).toBe('password');
    expect(document.title).toBe('Sign in · Edge API Connector');
  });

  it('says clearly that the token is wrong when sign-in answers 401, and stays on sign-in', async () => {
    const api = fakeApi({
      'GET /api/session': unauthorized,
      'POST /api/session': () => problem(401, 'Authentication required', 'That is not the admin token.'),
    });
    renderApp('/');
    const token = (await screen.findByLabelText('Admin token')) as HTMLInputElement;
    fireEvent.input(token, { target: { value: 'not-the-token' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('That is not the admin token');
    expect(token.getAttribute('aria-invalid')).toBe('true');
    expect(token.getAttribute('aria-describedby')).toContain('admin-token-error');
    expect(api.calls('POST /api/session')[0]!.body).toEqual({ token: 'not-the-token' });
  });

  it('asks for the token without calling the API when it is empty', async () => {
    const api = fakeApi({ 'GET /api/session': unauthorized });
    renderApp('/');
    fireEvent.click(await screen.findByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Enter the admin token');
    expect(api.calls('POST /api/session')).toHaveLength(0);
  });

  it('shows and hides the token with the Show button', async () => {
    fakeApi({ 'GET /api/session': unauthorized });
    renderApp('/');
    const token = (await screen.findByLabelText('Admin token')) as HTMLInputElement;
    const toggle = screen.getByRole('button', { name: 'Show' });
    fireEvent.click(toggle);
    expect(token.type).toBe('text');
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Hide' }));
    expect(token.type).toBe('password');
  });

  it('signs in with the token and then shows the page that was asked for', async () => {
    let signedIn = false;
    const api = fakeApi({
      'GET /api/session': () => (signedIn ? json(200, SESSION) : unauthorized()),
      'POST /api/session': () => {
        signedIn = true;
        return noContent();
      },
      'GET /api/connections': () => json(200, { connections: [] }),
    });
    renderApp('/');
    fireEvent.input(await screen.findByLabelText('Admin token'), { target: { value: ' the-admin-token ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'Connections', level: 1 })).toBeTruthy();
    expect(api.calls('POST /api/session')[0]!.body).toEqual({ token: 'the-admin-token' });
    expect(api.calls('GET /api/session')).toHaveLength(2);
  });

  it('returns to sign-in when a call answers 401 later, and says the session ended', async () => {
    fakeApi({ 'GET /api/connections': unauthorized });
    renderApp('/');
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy();
    expect(within(screen.getByRole('main')).getByText(/Your session has ended/)).toBeTruthy();
    expect(noticesText()).toContain('Your session has ended');
  });

  it('shows sign-in on a first visit without a session check the browser would log as a failed request', async () => {
    rememberSession(false);
    const api = fakeApi();
    renderApp('/');
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy();
    expect(api.calls('GET /api/session')).toHaveLength(0);
    expect(screen.queryByText(/Your session has ended/)).toBeNull();
  });

  it('asks for the session again on the next load after signing in', async () => {
    rememberSession(false);
    fakeApi({ 'POST /api/session': noContent, 'GET /api/connections': () => json(200, { connections: [] }) });
    renderApp('/');
    fireEvent.input(await screen.findByLabelText('Admin token'), { target: { value: 'the-admin-token' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Connections', level: 1 })).toBeTruthy();
    cleanup();
    const next = fakeApi({ 'GET /api/connections': () => json(200, { connections: [] }) });
    renderApp('/');
    expect(await screen.findByRole('heading', { name: 'Connections', level: 1 })).toBeTruthy();
    expect(next.calls('GET /api/session')).toHaveLength(1);
  });

  it('signs out with DELETE /api/session and shows sign-in again', async () => {
    const api = fakeApi({
      'GET /api/connections': () => json(200, { connections: [] }),
      'DELETE /api/session': noContent,
    });
    renderApp('/');
    fireEvent.click(await screen.findByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy();
    expect(api.calls('DELETE /api/session')).toHaveLength(1);
    expect(noticesText()).toContain('Signed out.');
    expect(screen.queryByText(/Your session has ended/)).toBeNull();
  });

  it('offers to try again when the session check fails for another reason', async () => {
    let attempts = 0;
    fakeApi({
      'GET /api/session': () => (++attempts === 1 ? problem(500, 'Internal error', 'An unexpected error occurred.') : unauthorized()),
    });
    renderApp('/');
    expect((await screen.findByRole('alert')).textContent).toContain('Internal error');
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Sign in' })).toBeTruthy());
  });
});
