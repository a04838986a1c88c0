import { describe, expect, it } from 'vitest';
import { buildInput, fieldForPath, placeErrors, stateFromView, visibleFields } from '../../web/components/connection-form-model';
import { relativeTime, seconds } from '../../web/format';
import { OAUTH_VIEW } from './fake-api';

describe('connection form model', () => {
  it('leaves the API key parameter name out when it is emptied, so the default x-key applies', () => {
    const state = { ...stateFromView(), name: 'K', slug: 'k', baseUrl: 'https://k.example', method: 'api_key' as const, apiKeyName: ' ', apiKeyValue: 'v' };
    expect(buildInput(state).auth).toEqual({ method: 'api_key', value: 'v', in: 'header' });
  });

  it('reads a stored OAuth connection back without any secret', () => {
    const state = stateFromView({ ...OAUTH_VIEW, auth: { ...OAUTH_VIEW.auth, tokenParams: { audience: 'a' }, tokenLifetimeSeconds: 600 } as typeof OAUTH_VIEW.auth });
    expect(state.clientSecret).toBe('');
    expect(state.tokenParams).toEqual([{ name: 'audience', value: 'a' }]);
    expect(state.tokenLifetimeSeconds).toBe('600');
  });

  it('places nested error paths at their field and keeps the rest for the alert', () => {
    const visible = visibleFields('oauth2_client_credentials');
    expect(fieldForPath('relay.allowedOrigins.3', visible)).toBe('relay.allowedOrigins');
    expect(fieldForPath('auth', visible)).toBe('auth.method');
    expect(fieldForPath('auth.token', visible)).toBeUndefined();
    expect(placeErrors({ 'auth.token': ['x'], name: ['y'] }, visible)).toEqual({ byField: { name: ['y'] }, other: ['auth.token: x'] });
  });
});

describe('formatting', () => {
  it('says how long ago or until a time, in words', () => {
    const now = Date.parse('2026-11-02T12:00:00Z');
    expect(relativeTime('2026-11-02T11:59:58Z', now)).toBe('just now');
    expect(relativeTime('2026-11-02T09:00:00Z', now)).toBe('3 hours ago');
    expect(relativeTime('2026-11-02T12:05:00Z', now)).toBe('in 5 minutes');
    expect(relativeTime('2026-11-01T12:00:00Z', now)).toBe('yesterday');
  });

  it('writes a token lifetime in seconds with a readable breakdown', () => {
    expect(seconds(45)).toBe('45 s');
    expect(seconds(3600)).toBe('3600 s (1 h)');
    expect(seconds(5430)).toBe('5430 s (1 h 30 min 30 s)');
  });
});
