// The dashboard's download sizes as a browser meets them: what the first load fetches (the entry
// script of index.html, every module it preloads and every stylesheet it links) and each chunk
// that loads later, on demand. Gzip at zlib's default level, each file on its own.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * @typedef {{ file: string, rawBytes: number, gzipBytes: number }} FileSize
 * @typedef {{ files: FileSize[], rawBytes: number, gzipBytes: number }} SizeGroup
 * @typedef {{ firstLoad: SizeGroup, firstLoadJs: SizeGroup, lazy: FileSize[] }} DashboardSizes
 */

/** The asset paths index.html makes the browser fetch at once, in document order (`/assets/x.js`). */
export function firstLoadAssets(/** @type {string} */ html) {
  const paths = [];
  for (const tag of html.match(/<(script|link)\b[^>]*>/gi) ?? []) {
    const attr = (/** @type {string} */ name) => new RegExp(`\\b${name}\\s*=\\s*["']([^"']+)["']`, 'i').exec(tag)?.[1];
    const isScript = /^<script/i.test(tag);
    const rel = attr('rel')?.toLowerCase() ?? '';
    const url = isScript ? attr('src') : ['modulepreload', 'stylesheet', 'preload'].includes(rel) ? attr('href') : undefined;
    if (url && !/^(data:|https?:)/i.test(url)) paths.push(url);
  }
  return paths;
}

/** @param {string} dir @param {string} file @returns {FileSize} */
function sizeOf(dir, file) {
  const data = readFileSync(join(dir, file));
  return { file, rawBytes: data.length, gzipBytes: gzipSync(data).length };
}

/** @param {FileSize[]} files @returns {SizeGroup} */
function group(files) {
  return { files, rawBytes: files.reduce((n, f) => n + f.rawBytes, 0), gzipBytes: files.reduce((n, f) => n + f.gzipBytes, 0) };
}

/**
 * Sizes of a built dashboard (`dist/client`): `firstLoad` (scripts, preloads and stylesheets of
 * index.html), `firstLoadJs` (its scripts only) and every other script in `assets/` as `lazy`,
 * largest first.
 * @param {string} clientDir e.g. `dist/client`
 * @returns {DashboardSizes}
 */
export function dashboardSizes(clientDir) {
  const html = readFileSync(join(clientDir, 'index.html'), 'utf8');
  const first = firstLoadAssets(html).map((url) => url.replace(/^\//, ''));
  const firstFiles = first.map((path) => sizeOf(clientDir, path));
  const lazy = readdirSync(join(clientDir, 'assets'))
    .filter((f) => f.endsWith('.js') && !first.includes(`assets/${f}`))
    .map((f) => sizeOf(join(clientDir, 'assets'), f))
    .sort((a, b) => b.gzipBytes - a.gzipBytes);
  return { firstLoad: group(firstFiles), firstLoadJs: group(firstFiles.filter((f) => f.file.endsWith('.js'))), lazy };
}
