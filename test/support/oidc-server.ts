/**
 * A real authorization server for the worker tests: `oidc-provider` (a certified OpenID provider)
 * on 127.0.0.1, with clients allowed the client credentials grant, scopes, and a resource indicator
 * (RFC 8707) whose tokens are JWTs naming the resource as audience.
 *
 * The fixture (issuer, clients with their secrets) is handed to workerd as the `OIDC` binding.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors } from 'oidc-provider';

import type { OidcClient, OidcFixture } from './oidc-types.ts';

export type { OidcClient, OidcFixture };

export interface OidcServerHandle {
  fixture: OidcFixture;
  close(): Promise<void>;
}

// RFC 6749 Appendix A.2 limits client_secret to VSCHAR (%x20-7E) and oidc-provider enforces it,
// so the non-ASCII case of client_secret_basic encoding is proven against the mock server instead.
const SPECIAL_SECRET = 'Sp3c!al %&+ :/=?#~*\'()"\\ secret';

/** Starts oidc-provider on an ephemeral loopback port. */
export async function startOidcServer(): Promise<OidcServerHandle> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const fixture: OidcFixture = {
    issuer,
    tokenUrl: `${issuer}/token`,
    resource: 'https://api.acme.example/',
    resourceScope: 'read write',
    tokenTtlSeconds: 600,
    resourceTokenTtlSeconds: 900,
    clients: {
      basic: { clientId: 'cc-basic', clientSecret: 'basic-secret-0123456789abcdef', clientAuth: 'client_secret_basic', scope: 'read write' },
      post: { clientId: 'cc-post', clientSecret: 'post-secret-0123456789abcdef', clientAuth: 'client_secret_post', scope: 'read write' },
      specialBasic: { clientId: 'cc-special:basic', clientSecret: SPECIAL_SECRET, clientAuth: 'client_secret_basic', scope: 'read' },
      specialPost: { clientId: 'cc-special+post', clientSecret: `${SPECIAL_SECRET}-post`, clientAuth: 'client_secret_post', scope: 'read' },
      noClientCredentials: { clientId: 'cc-web-only', clientSecret: 'web-only-secret-0123456789', clientAuth: 'client_secret_basic', scope: 'read' },
    },
  };

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };
  const { clients } = fixture;
  const ccClient = (c: OidcClient) => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    token_endpoint_auth_method: c.clientAuth,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: c.scope,
  });

  const provider = new Provider(issuer, {
    clients: [
      ccClient(clients.basic),
      ccClient(clients.post),
      ccClient(clients.specialBasic),
      ccClient(clients.specialPost),
      {
        client_id: clients.noClientCredentials.clientId,
        client_secret: clients.noClientCredentials.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['https://rp.example/callback'],
        scope: clients.noClientCredentials.scope,
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
    scopes: ['openid', 'read', 'write', 'admin'],
    ttl: {
      ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? fixture.tokenTtlSeconds,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator !== fixture.resource) throw new errors.InvalidTarget();
          return {
            scope: fixture.resourceScope,
            audience: fixture.resource,
            accessTokenTTL: fixture.resourceTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  server.on('request', provider.callback());

  return {
    fixture,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
