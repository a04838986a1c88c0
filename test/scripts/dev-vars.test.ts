import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDevVars } from '../../scripts/dev-vars.js';

describe('ensureDevVars', () => {
  it('writes random ADMIN_TOKEN and SECRETS_KEY once, readable by the owner only', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'devvars-')), '.dev.vars');
    const token = ensureDevVars(path);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(`ADMIN_TOKEN=${token}`);
    expect(token?.length).toBeGreaterThanOrEqual(40);
    const key = /^SECRETS_KEY=(.+)$/m.exec(text)?.[1] ?? '';
    expect(key.length).toBeGreaterThanOrEqual(43);
    expect(statSync(path).mode & 0o077).toBe(0);
    const other = join(mkdtempSync(join(tmpdir(), 'devvars-')), '.dev.vars');
    expect(ensureDevVars(other)).not.toBe(token);
  });

  it('leaves an existing file as it is', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'devvars-')), '.dev.vars');
    writeFileSync(path, 'ADMIN_TOKEN=mine\n');
    expect(ensureDevVars(path)).toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe('ADMIN_TOKEN=mine\n');
  });
});
