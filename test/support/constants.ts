/** Credentials the test Worker runs with (never used outside tests). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const TEST_SECRETS_KEY = 'test-secrets-key-0123456789abcdef0123456789';
