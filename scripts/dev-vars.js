// Writes `.dev.vars` with a random ADMIN_TOKEN and SECRETS_KEY when it does not exist yet.
// An existing file is used as it is.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';

/**
 * Ensures `.dev.vars` exists at `path`; returns the new admin token, or undefined when the file
 * was already there.
 * @param {string} path
 * @returns {string | undefined}
 */
export function ensureDevVars(path) {
  if (existsSync(path)) return undefined;
  const adminToken = `adm_${randomBytes(32).toString('base64url')}`;
  const secretsKey = randomBytes(32).toString('base64url');
  const text = [
    '# Local secrets for `npm start` (git-ignored). Generated on first start; edit or delete to regenerate.',
    '# ADMIN_TOKEN signs you in to the dashboard and authorizes admin API calls (Authorization: Bearer ...).',
    `ADMIN_TOKEN=${adminToken}`,
    '# SECRETS_KEY seals stored secrets (AES-256-GCM). Changing it makes stored secrets unreadable.',
    `SECRETS_KEY=${secretsKey}`,
    '# Set to true to allow http:// and IP-literal URLs on loopback hosts (e.g. a local mock API).',
    'INSECURE_ALLOW_LOOPBACK=false',
    '',
  ].join('\n');
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  return adminToken;
}
