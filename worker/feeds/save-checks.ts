/**
 * Save-time checks of a feed that need stored data (FEEDS.md §3.11): the connection must exist,
 * and the feed's method and path must satisfy the connection's relay policy and the relay path
 * guards. The storage layer calls these after `validateFeedInput` (contract/feed.ts).
 */
import type { RelayPolicy } from '../../contract/connection';
import { issueErrors, validateFeedInput, type FeedCheckOptions, type FeedIssue, type FeedOutput, type FeedValidation } from '../../contract/feed';
import { parseTemplate } from '../../contract/feed-template';
import { AppError } from '../errors';
import { assertSafeTail, pathHasPrefix } from '../relay/path';
import { allowedMethods } from '../relay/policy';

/** A placeholder stand-in for checking a path before any run: one harmless segment. */
const SAMPLE_SEGMENT = 'x';

/**
 * The literal path of a feed with every placeholder replaced by a harmless segment, and the part
 * before the first placeholder's segment (what a relay path prefix can be checked against).
 */
function samplePath(template: string): { sample: string; staticPrefix: string; hasPlaceholders: boolean } {
  const parts = parseTemplate(template);
  let sample = '';
  let staticPrefix: string | undefined;
  for (const part of parts) {
    if (part.kind === 'text') {
      sample += part.text;
      continue;
    }
    staticPrefix ??= sample.slice(0, sample.lastIndexOf('/'));
    sample += SAMPLE_SEGMENT;
  }
  return { sample, staticPrefix: staticPrefix ?? sample, hasPlaceholders: staticPrefix !== undefined };
}

/**
 * Checks a feed's method and path against a connection's relay policy: the method must be
 * allowed, and the path must lie under an allowed prefix by its literal segments alone (a prefix a
 * placeholder would have to supply cannot be proven before a run). Keys: `/request/method`,
 * `/request/path`.
 */
export function relayPolicyIssues(request: Pick<FeedOutput['request'], 'method' | 'path'>, policy: RelayPolicy | undefined): FeedIssue[] {
  const issues: FeedIssue[] = [];
  const methods = allowedMethods(policy);
  if (!methods.includes(request.method)) {
    issues.push({
      pointer: '/request/method',
      code: 'method-not-allowed',
      message: `The connection allows ${methods.join(', ')} only: choose one of these, or allow ${request.method} in the connection's relay policy`,
    });
  }
  const prefixes = policy?.allowedPaths;
  if (prefixes?.length) {
    let parsed: ReturnType<typeof samplePath>;
    try {
      parsed = samplePath(request.path);
    } catch {
      return issues; // A template that does not parse is reported by checkFeed.
    }
    const provable = parsed.hasPlaceholders ? parsed.staticPrefix : parsed.sample;
    if (!prefixes.some((prefix) => pathHasPrefix(provable, prefix))) {
      issues.push({
        pointer: '/request/path',
        code: 'path-not-allowed',
        message: parsed.hasPlaceholders
          ? `The path must lie under ${prefixes.join(' or ')} by its fixed segments (before any placeholder); the connection allows nothing else`
          : `The connection allows paths under ${prefixes.join(' or ')} only`,
      });
    }
  }
  return issues;
}

/** Checks that the feed's path, with sample values, passes the relay path guards (dot segments, `//`, encoded slashes…). */
export function pathGuardIssues(request: Pick<FeedOutput['request'], 'path'>): FeedIssue[] {
  let sample: string;
  try {
    sample = samplePath(request.path).sample;
  } catch {
    return [];
  }
  try {
    assertSafeTail(sample, '');
    return [];
  } catch (err) {
    const detail = err instanceof AppError ? err.detail ?? err.message : 'The path is not safe.';
    return [{ pointer: '/request/path', code: 'unsafe-path', message: `${detail} Write the path as /segment/segment with no dot, empty or encoded-slash segments` }];
  }
}

/**
 * The stored-data checks in one call: `connection` is the feed's connection as looked up (its
 * relay policy), or `undefined` when no connection has that slug (`/connection`).
 */
export function storedDataIssues(feed: FeedOutput, connection: { relay?: RelayPolicy | undefined } | undefined): FeedIssue[] {
  const issues = pathGuardIssues(feed.request);
  if (connection === undefined) {
    issues.push({ pointer: '/connection', code: 'connection-not-found', message: `There is no connection "${feed.connection}": choose an existing connection` });
    return issues;
  }
  return [...issues, ...relayPolicyIssues(feed.request, connection.relay)];
}

/**
 * Every save-time check of FEEDS.md §3.11 in one call, for the admin API: the schema and the
 * contract's checks, then (when those pass) the stored-data checks against `connection` (as looked
 * up; `undefined` when the slug names none). The errors are keyed by JSON Pointer into the input.
 */
export function validateFeedForSave(
  input: unknown,
  connection: { relay?: RelayPolicy | undefined } | undefined,
  options: FeedCheckOptions = {},
): FeedValidation {
  const result = validateFeedInput(input, options);
  if (!result.success) return result;
  const issues = storedDataIssues(result.output, connection);
  return issues.length === 0 ? result : { success: false, issues, errors: issueErrors(issues) };
}
