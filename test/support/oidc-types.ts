/** The authorization server fixture: shapes shared by the server (Node) and the tests in workerd. */
/** What the tests need to know about the authorization server. */
// Type aliases, not interfaces: miniflare's JSON bindings need an index-signature-compatible shape.
export type OidcFixture = {
  issuer: string;
  tokenUrl: string;
  /** The resource indicator the server knows; its tokens are JWTs with this `aud`. */
  resource: string;
  /** Scopes the resource server accepts. */
  resourceScope: string;
  /** Lifetime of tokens issued without a resource, in seconds. */
  tokenTtlSeconds: number;
  /** Lifetime of tokens issued for `resource`, in seconds. */
  resourceTokenTtlSeconds: number;
  clients: {
    basic: OidcClient;
    post: OidcClient;
    /** client_secret_basic with a secret full of characters that need form-urlencoding. */
    specialBasic: OidcClient;
    /** client_secret_post with the same kind of secret. */
    specialPost: OidcClient;
    /** A client not allowed the client credentials grant. */
    noClientCredentials: OidcClient;
  };
};

export type OidcClient = {
  clientId: string;
  clientSecret: string;
  clientAuth: 'client_secret_basic' | 'client_secret_post';
  /** Scopes the client may ask for. */
  scope: string;
};
