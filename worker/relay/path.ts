/**
 * Safe upstream URLs for the relay: the connection's base URL plus the tail of the RAW request
 * path plus the query, by concatenation. The tail is refused (`unsafe-path`) when it holds
 * anything an upstream (or a proxy in front of it) could read as a way out of the base path:
 * dot segments in any encoding, encoded slashes and backslashes, control characters, empty
 * segments, malformed or invalid-UTF-8 percent escapes. The result is then checked to keep the
 * base URL's origin and path prefix.
 *
 * The runtime may already have normalised some of this (the URL parser resolves `..` and `%2e%2e`
 * and turns `\` into `/` before the Worker runs); these checks do not rely on it.
 */
import { SLUG_PATTERN } from '../../contract/connection';
import { AppError } from '../errors';

/** Where the relay is mounted. */
export const RELAY_PATH_PREFIX = '/relay/';
/** Longest relayed path tail plus query, in characters (a URL longer than this is refused). */
const RELAY_MAX_URL_CHARS = 8 * 1024;
/** How many times `%25` is unwrapped to look for a double- or triple-encoded dot, slash or control character. */
const MAX_DECODE_DEPTH = 3;

/** The parts of a relay request URL, exactly as received (still percent-encoded). */
export interface RelayUrlParts {
  /** The connection slug, or `null` when the path names none that could exist. */
  slug: string | null;
  /** The path after `/relay/<slug>`: empty or starting with `/`. */
  tail: string;
  /** The query including its `?`, or empty. The fragment, if any, is dropped (it is never sent). */
  query: string;
}

/** Splits a raw request URL (`request.url`) into slug, path tail and query without decoding anything. */
export function splitRelayUrl(rawUrl: string): RelayUrlParts {
  const authority = rawUrl.indexOf('://');
  let pathStart = rawUrl.indexOf('/', authority === -1 ? 0 : authority + 3);
  if (pathStart === -1) pathStart = rawUrl.length;
  const hash = rawUrl.indexOf('#', pathStart);
  const end = hash === -1 ? rawUrl.length : hash;
  const question = rawUrl.indexOf('?', pathStart);
  const pathEnd = question === -1 || question > end ? end : question;
  const path = rawUrl.slice(pathStart, pathEnd);
  const query = pathEnd < end ? rawUrl.slice(pathEnd, end) : '';
  if (!path.startsWith(RELAY_PATH_PREFIX)) return { slug: null, tail: '', query };
  const slugEnd = path.indexOf('/', RELAY_PATH_PREFIX.length);
  const slug = path.slice(RELAY_PATH_PREFIX.length, slugEnd === -1 ? path.length : slugEnd);
  return { slug: SLUG_PATTERN.test(slug) ? slug : null, tail: slugEnd === -1 ? '' : path.slice(slugEnd), query };
}

function unsafe(detail: string): AppError {
  return new AppError('unsafe-path', { detail });
}

// Characters that may not appear raw anywhere in the path or query: C0 controls, space, DEL, backslash.
// (A parsed request URL has these percent-encoded; a raw one here means something bypassed parsing.)
const RAW_FORBIDDEN = /[\u0000-\u0020\u007f\\]/;
// Non-ASCII must arrive percent-encoded in a serialised URL.
const RAW_NON_ASCII = /[^\u0000-\u007f]/;
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// Encoded slash, backslash, C0 controls and DEL.
const ENCODED_FORBIDDEN = /%(?:2f|5c|[01][0-9a-f]|7f)/i;

/**
 * Dots and spaces only, with at least one dot: `.`, `..`, and the spellings that are not dot
 * segments under RFC 3986 but that some servers read as one: Windows and IIS drop trailing dots
 * and spaces from a path segment (`...`, `..%20`, `.. .` become `..`), others trim spaces.
 */
const DOTS_AND_SPACES = /^[ .]*\.[ .]*$/;

/**
 * True when a decoded segment would be read as `.` or `..` by some server: also `..;param`,
 * fullwidth dots, and dots with other dots or spaces around them (see `DOTS_AND_SPACES`).
 */
function isDotSegment(decoded: string): boolean {
  const bare = decoded.split(';', 1)[0] ?? '';
  if (DOTS_AND_SPACES.test(bare)) return true;
  // Servers that apply NFKC see U+FF0E FULLWIDTH FULL STOP (and friends) as '.'.
  if (RAW_NON_ASCII.test(bare)) return DOTS_AND_SPACES.test(bare.normalize('NFKC'));
  return false;
}

/**
 * Throws `unsafe-path` unless the raw path tail and query are safe to append to a base URL.
 * `tail` is empty or starts with `/`; `query` is empty or starts with `?`.
 */
export function assertSafeTail(tail: string, query: string): void {
  if (tail.length + query.length > RELAY_MAX_URL_CHARS) throw unsafe(`The relayed path and query are limited to ${RELAY_MAX_URL_CHARS} characters.`);
  if (RAW_FORBIDDEN.test(tail) || RAW_FORBIDDEN.test(query) || RAW_NON_ASCII.test(tail) || RAW_NON_ASCII.test(query)) {
    throw unsafe('The path or query holds a control character, a space, a backslash or an unencoded character.');
  }
  if (tail === '') return;
  if (!tail.startsWith('/')) throw unsafe('The path must start with a slash.');
  if (MALFORMED_ESCAPE.test(tail)) throw unsafe('The path holds a malformed percent escape.');
  const segments = tail.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    // An empty segment (`//`) is refused, except a trailing slash.
    if (segment === '' && i < segments.length - 1) throw unsafe('The path holds an empty segment (//).');
    let level = segment;
    for (let depth = 0; ; depth++) {
      if (ENCODED_FORBIDDEN.test(level)) throw unsafe('The path holds an encoded slash, backslash or control character.');
      let decoded: string;
      try {
        decoded = decodeURIComponent(level);
      } catch {
        throw unsafe('The path holds a percent escape that is not valid UTF-8.');
      }
      if (isDotSegment(decoded)) throw unsafe('The path holds a dot segment.');
      // Look one level deeper only where `%25` wrapped another escape (`%252e` is `%2e` to a server that decodes twice).
      if (decoded === level || !/%[0-9A-Fa-f]{2}/.test(decoded) || depth >= MAX_DECODE_DEPTH) break;
      level = decoded;
    }
  }
}

/** A base URL parsed once: what `buildUpstreamUrl` checks every joined URL against. */
export interface UpstreamBase {
  /** The base URL as stored. */
  href: string;
  /** Its trailing slashes cut, ready for a tail to be appended. */
  joinPrefix: string;
  origin: string;
  pathname: string;
  /** `pathname` without trailing slashes. */
  basePath: string;
}

/** Parses a base URL for `buildUpstreamUrl` (throws on a URL that does not parse, as `new URL` does). */
export function parseUpstreamBase(baseUrl: string): UpstreamBase {
  const base = new URL(baseUrl);
  return {
    href: baseUrl,
    joinPrefix: baseUrl.replace(/\/+$/, ''),
    origin: base.origin,
    pathname: base.pathname,
    basePath: base.pathname.replace(/\/+$/, ''),
  };
}

/**
 * The upstream URL for a relayed request: `baseUrl` + `tail` + `query` by concatenation, after
 * `assertSafeTail`, checked to keep the base URL's origin and to sit at or under its path. The base
 * may be given parsed (`parseUpstreamBase`), so that the relay parses a stored one only once.
 */
export function buildUpstreamUrl(baseUrl: string | UpstreamBase, tail: string, query: string): URL {
  assertSafeTail(tail, query);
  const base = typeof baseUrl === 'string' ? parseUpstreamBase(baseUrl) : baseUrl;
  const joined = tail === '' ? base.href : base.joinPrefix + tail;
  let url: URL;
  try {
    url = new URL(joined + query);
  } catch {
    throw unsafe('The path does not form a valid URL.');
  }
  const expectedPath = tail === '' ? base.pathname : base.basePath + tail;
  // Equality (not just a prefix) proves the parser normalised nothing away.
  if (url.origin !== base.origin || url.pathname !== expectedPath || url.username !== '' || url.password !== '' || url.hash !== '') {
    throw unsafe('The path would leave the connection base URL.');
  }
  if (url.pathname !== base.pathname && !url.pathname.startsWith(`${base.basePath}/`)) {
    throw unsafe('The path would leave the connection base URL.');
  }
  return url;
}

/** True when `path` (a validated tail) is `prefix` or lies under it on a segment boundary. */
export function pathHasPrefix(path: string, prefix: string): boolean {
  const normalizedPath = path === '' ? '/' : path;
  if (prefix === '/' || prefix === '') return true;
  const bare = prefix.replace(/\/+$/, '');
  return normalizedPath === bare || normalizedPath.startsWith(`${bare}/`);
}
