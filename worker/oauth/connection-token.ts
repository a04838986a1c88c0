/**
 * One token request for a stored connection, and the cached form of its answer: shared by the
 * home's broker and the isolates' fallback, so both ask and cache alike.
 */
import { DEFAULT_TOKEN_LIFETIME_SECONDS } from '../../contract/connection';
import { openSecret } from '../connections/records';
import type { Sealer } from '../connections/seal';
import { AppError } from '../errors';
import { type CachedToken, fingerprintOf, type OAuthConnection } from './fingerprint';
import { requestToken, type TokenClientOptions, type TokenResponse } from './token-client';

/** Opens the connection's client secret and requests a token with its settings. */
export async function requestConnectionToken(connection: OAuthConnection, sealer: Sealer, options: TokenClientOptions): Promise<TokenResponse> {
  const { auth } = connection;
  const clientSecret = await openSecret(sealer, connection);
  if (clientSecret === undefined) {
    throw new AppError('misconfigured', { detail: 'The connection has no client secret.', internal: `no client secret stored for ${connection.slug}` });
  }
  return requestToken(
    {
      tokenUrl: auth.tokenUrl,
      clientId: auth.clientId,
      clientSecret,
      clientAuth: auth.clientAuth,
      scope: auth.scope || undefined,
      tokenParams: auth.tokenParams,
      defaultLifetimeSeconds: auth.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    },
    options,
  );
}

/** A token answer as cached, obtained at `obtainedAt` (epoch ms) for the connection's settings. */
export function cachedTokenOf(response: TokenResponse, connection: OAuthConnection, obtainedAt: number): CachedToken {
  return {
    accessToken: response.accessToken,
    tokenType: response.tokenType,
    obtainedAt,
    expiresAt: obtainedAt + response.expiresIn * 1000,
    ...(response.scope !== undefined ? { scope: response.scope } : {}),
    fingerprint: fingerprintOf(connection),
  };
}
