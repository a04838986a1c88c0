import { describe, expect, it } from 'vitest';
import type { TokenFailure } from '../../worker/oauth/token-client';
import { hintFor } from '../../worker/oauth/token-hints';

const UNREACHABLE: TokenFailure = { reason: 'unreachable' };
/** What the test result shows as the description for this failure, beside the hint. */
const DESCRIPTION = 'The token endpoint could not be reached';

describe('hint for an unreachable token endpoint', () => {
  const hint = (tokenUrl?: string) => hintFor(UNREACHABLE, { clientAuth: 'client_secret_basic', timeoutMs: 10_000, tokenUrl });

  it('does not repeat the description it is shown beside', () => {
    for (const url of ['http://127.0.0.1:9/token', 'https://auth.example.com/token', undefined]) {
      expect(hint(url)).not.toContain(DESCRIPTION);
    }
  });

  it('asks for a running local server and names its port for a loopback Token URL', () => {
    const text = hint('http://127.0.0.1:9/oauth/token');
    expect(text).toContain('127.0.0.1:9');
    expect(text).toMatch(/port 9\b/);
    expect(text).toMatch(/this machine/);
    expect(text).not.toMatch(/internet|HTTPS/);
  });

  it('names the default port of a loopback URL without one', () => {
    expect(hint('http://localhost/token')).toMatch(/port 80\b/);
  });

  it('names the host of a public Token URL', () => {
    const text = hint('https://auth.example.com:8443/token');
    expect(text).toContain('auth.example.com:8443');
    expect(text).not.toMatch(/this machine/);
  });
});

describe('hint for an unreachable token endpoint whose URL the caller did not pass', () => {
  it('asks for what holds for a local and a public server alike', () => {
    const text = hintFor(UNREACHABLE, { clientAuth: 'client_secret_basic', timeoutMs: 10_000 });
    expect(text).toMatch(/host name and port/);
    expect(text).not.toMatch(/internet|HTTPS|Cloudflare/);
  });
});
