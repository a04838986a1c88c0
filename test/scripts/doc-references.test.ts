import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Text files that may point a reader to a README section: config at the top, and the code. */
function sources(): string[] {
  const top = ['wrangler.toml', 'package.json', 'vite.config.ts', 'vitest.config.ts', 'tsconfig.json', 'index.html'];
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : /\.(ts|tsx|js|toml|json|css)$/.test(name) ? [path] : [];
    });
  return [...top, ...['worker', 'web', 'contract', 'scripts', 'bench'].flatMap(walk)];
}

const headings = new Set(
  readFileSync('README.md', 'utf8')
    .split('\n')
    .filter((line) => /^#{1,4} /.test(line))
    .map((line) => line.replace(/^#+ /, '').trim()),
);

describe('references to the README', () => {
  it('name sections the README has', () => {
    const files = sources();
    expect(files).toContain('wrangler.toml');
    const broken: string[] = [];
    for (const file of files) {
      for (const match of readFileSync(file, 'utf8').matchAll(/README(?:\.md)?[,:]?\s+(?:section\s+)?["“]([^"”]+)["”]/g)) {
        if (!headings.has(match[1]!)) broken.push(`${file}: "${match[1]}"`);
      }
    }
    expect(broken).toEqual([]);
  });
});
