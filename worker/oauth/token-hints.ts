/**
 * Hints for "Test connection": for each way a token request fails, one sentence a person can act
 * on. Pure: no I/O, so the dashboard's wording is decided (and tested) in one place.
 */
import { type ClientAuthMethod, isLoopbackHost } from '../../contract/connection';
import type { TokenFailure } from './token-client';

const UNAUTHORIZED_CLIENT_HINT =
  'This client is not allowed to use the client credentials grant. Enable it for the client on the authorization server (often called machine-to-machine, service account or client credentials).';

/** What the hint may mention about the connection. */
export interface HintContext {
  clientAuth: ClientAuthMethod;
  /** The Token URL: what an unreachable endpoint's hint names. */
  tokenUrl?: string | undefined;
  scope?: string | undefined;
  tokenParams?: Record<string, string> | undefined;
  timeoutMs: number;
}

/** A hint for a failed token request. @see RFC 6749 §5.2 for the OAuth error codes. */
export function hintFor(failure: TokenFailure, context: HintContext): string {
  switch (failure.reason) {
    case 'oauth-error':
      return oauthErrorHint(failure, context);
    case 'server-error':
      return `The authorization server failed (HTTP ${failure.status ?? '5xx'}). Try again in a moment; if it keeps failing, ask its operator or check its status page.`;
    case 'unexpected-status':
      return statusHint(failure.status);
    case 'invalid-json':
      return 'The Token URL answered with something other than JSON (often an HTML page). Check that it is the token endpoint itself (often ending in /token or /oauth/token), not a login page, the API or the server’s home page.';
    case 'invalid-token-response':
      return 'The Token URL answered JSON that is not a token response (no usable access_token or expires_in). Check that it is the OAuth 2.0 token endpoint.';
    case 'unsupported-token-type':
      return `The server issued a "${failure.tokenType ?? 'non-Bearer'}" token; only Bearer tokens are supported. Configure the client on the authorization server to issue Bearer tokens.`;
    case 'unreachable':
      return unreachableHint(context.tokenUrl);
    case 'timeout':
      return `The token endpoint did not answer within ${Math.round(context.timeoutMs / 1000)} s. Check the Token URL’s host and port, and whether the server is overloaded or blocks these requests.`;
    case 'url-not-allowed':
      return 'The Token URL cannot be used from here: it must be an https:// URL with a public host name.';
  }
}

function oauthErrorHint(failure: TokenFailure, context: HintContext): string {
  switch (failure.error) {
    case 'invalid_client':
      return context.clientAuth === 'client_secret_basic'
        ? 'The server did not accept the client credentials. Check the Client ID and Client Secret; if they are right, this server may expect the credentials in the request body: try client_secret_post.'
        : 'The server did not accept the client credentials. Check the Client ID and Client Secret; if they are right, this server may expect the credentials in an HTTP Basic Authorization header: try client_secret_basic.';
    case 'invalid_scope':
      return context.scope
        ? `The server does not grant the scope "${context.scope}" to this client. Check the Scope field against the scopes the client is allowed (separated by spaces), or leave it empty to get the default scope.`
        : 'The server requires a scope for this client. Enter the Scope the client is allowed (separated by spaces).';
    case 'unauthorized_client':
      return UNAUTHORIZED_CLIENT_HINT;
    case 'unsupported_grant_type':
      return 'The server does not support the client credentials grant at this Token URL. Check the Token URL, and that the grant is enabled on the authorization server.';
    case 'invalid_grant':
      return 'The server refused the grant. Check that the client is allowed the client credentials grant and that its credentials are current.';
    case 'invalid_target':
      return 'The server does not accept the requested resource or audience. Check the resource/audience value in the token parameters against what the authorization server knows.';
    case 'invalid_request':
      // Some servers (oidc-provider among them) answer a grant the client may not use this way.
      if (/grant.?type/i.test(failure.errorDescription ?? '')) return UNAUTHORIZED_CLIENT_HINT;
      return hasExtraParams(context)
        ? 'The server rejected the request as malformed. Check the extra token parameters (for example audience or resource) and the Client ID.'
        : 'The server rejected the request as malformed. Check the Client ID and whether the server needs extra token parameters (for example audience or resource).';
    case 'access_denied':
      return 'The server denied access to this client. Check the client’s permissions on the authorization server.';
    case 'temporarily_unavailable':
    case 'server_error':
      return 'The authorization server reports a temporary failure. Try again in a moment.';
    default:
      return `The server refused the request with "${failure.error ?? 'an error'}"; see its description, and check the Client ID, Client Secret, Scope and token parameters.`;
  }
}

/**
 * What to check when nothing answered. The failure's description already says that the endpoint
 * could not be reached: the hint says where to look, and for a server on this machine (only
 * allowed with `INSECURE_ALLOW_LOOPBACK`) that it has to be running.
 */
function unreachableHint(tokenUrl: string | undefined): string {
  let url: URL | undefined;
  try {
    url = tokenUrl ? new URL(tokenUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (url && isLoopbackHost(url.hostname)) {
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return `Nothing answered at ${url.host}. Start the token server on this machine (port ${port}), or correct the port in the Token URL.`;
  }
  const where = url ? ` (${url.host})` : '';
  return `Check the host name and port in the Token URL${where}, and that the token server is running and accepts connections.`;
}

function statusHint(status: number | undefined): string {
  if (status === undefined) return 'The token endpoint answered unexpectedly. Check the Token URL.';
  if (status >= 300 && status < 400) {
    return `The Token URL redirects (HTTP ${status}); token requests are not redirected. Use the final URL of the token endpoint.`;
  }
  if (status === 404) return 'Nothing was found at the Token URL (HTTP 404). Check its path: it must be the token endpoint itself.';
  if (status === 405) return 'The Token URL does not accept POST (HTTP 405). Check that it is the token endpoint, not another page of the server.';
  if (status === 401 || status === 403) {
    return `The server refused the request (HTTP ${status}) without an OAuth error. Check the Client ID and Client Secret, and that the Token URL is the token endpoint.`;
  }
  return `The token endpoint answered HTTP ${status} without an OAuth error. Check the Token URL and the client’s settings on the authorization server.`;
}

function hasExtraParams(context: HintContext): boolean {
  return Object.keys(context.tokenParams ?? {}).length > 0;
}
