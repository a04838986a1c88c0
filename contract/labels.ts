/**
 * The closed sets of a connection's settings and the words people see for them, written once for
 * the Worker's schemas and the dashboard's forms and lists. No valibot here: the dashboard's first
 * screen imports these without the schemas.
 */

/** Authentication methods, in the order the dashboard offers them. */
export const AUTH_METHODS = ['oauth2_client_credentials', 'bearer', 'basic', 'api_key', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export const AUTH_METHOD_LABELS: Record<AuthMethod, string> = {
  oauth2_client_credentials: 'OAuth 2.0 (Client Credentials)',
  bearer: 'Bearer token',
  basic: 'Basic authentication',
  api_key: 'API key',
  none: 'None',
};

/**
 * How the client ID and secret reach the token endpoint, the default first.
 * @see RFC 6749 §2.3.1
 */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
export const DEFAULT_CLIENT_AUTH: ClientAuthMethod = CLIENT_AUTH_METHODS[0];

export const CLIENT_AUTH_LABELS: Record<ClientAuthMethod, string> = {
  client_secret_basic: 'HTTP Basic header (client_secret_basic)',
  client_secret_post: 'Form body (client_secret_post)',
};

/** Where an API key is sent, the default first. */
export const API_KEY_PLACEMENTS = ['header', 'query'] as const;
export type ApiKeyPlacement = (typeof API_KEY_PLACEMENTS)[number];

export const API_KEY_PLACEMENT_LABELS: Record<ApiKeyPlacement, string> = {
  header: 'Header',
  query: 'Query string',
};
