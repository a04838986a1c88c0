/**
 * The save-time checks that need stored data: the connection must exist, and the feed's method
 * and path must satisfy its relay policy and the relay path guards.
 */
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { FeedInputSchema, type FeedOutput } from '../../contract/feed';
import { pathGuardIssues, relayPolicyIssues, storedDataIssues, validateFeedForSave } from '../../worker/feeds/save-checks';

function feedOf(method: 'GET' | 'POST', path: string): FeedOutput {
  return v.parse(FeedInputSchema, { name: 'F', connection: 'acme-crm', request: { method, path } });
}

const keys = (issues: { pointer: string; code: string }[]) => issues.map((i) => [i.pointer, i.code]);

describe('relay policy at save time', () => {
  it('accepts any method and path when the connection has no policy', () => {
    expect(relayPolicyIssues({ method: 'POST', path: '/anything/{{/input/x}}' }, undefined)).toEqual([]);
  });

  it('refuses a method the policy does not allow, at /request/method', () => {
    const issues = relayPolicyIssues({ method: 'DELETE', path: '/lists' }, { allowedMethods: ['GET', 'POST'] });
    expect(keys(issues)).toEqual([['/request/method', 'method-not-allowed']]);
    expect(issues[0]!.message).toContain('GET, POST');
  });

  it('accepts a path under an allowed prefix, with placeholders after it', () => {
    const policy = { allowedPaths: ['/lists'] };
    expect(relayPolicyIssues({ method: 'POST', path: '/lists' }, policy)).toEqual([]);
    expect(relayPolicyIssues({ method: 'POST', path: '/lists/{{/input/id}}/members' }, policy)).toEqual([]);
  });

  it('refuses a path outside every allowed prefix, at /request/path', () => {
    const policy = { allowedPaths: ['/lists', '/tags'] };
    expect(keys(relayPolicyIssues({ method: 'POST', path: '/admin/users' }, policy))).toEqual([['/request/path', 'path-not-allowed']]);
    expect(keys(relayPolicyIssues({ method: 'POST', path: '/listsx' }, policy))).toEqual([['/request/path', 'path-not-allowed']]);
  });

  it('refuses a path whose allowed prefix a placeholder would have to supply', () => {
    const policy = { allowedPaths: ['/lists/42'] };
    expect(keys(relayPolicyIssues({ method: 'POST', path: '/lists/{{/input/id}}' }, policy))).toEqual([['/request/path', 'path-not-allowed']]);
    expect(keys(relayPolicyIssues({ method: 'POST', path: '/{{/input/p}}' }, { allowedPaths: ['/lists'] }))).toEqual([['/request/path', 'path-not-allowed']]);
  });
});

describe('path guards at save time', () => {
  it('accepts an ordinary path with placeholders', () => {
    expect(pathGuardIssues({ path: '/lists/{{/input/id}}/members' })).toEqual([]);
    expect(pathGuardIssues({ path: '' })).toEqual([]);
  });

  for (const path of ['/a/../b', '/a/./b', '/a//b', '/a/%2e%2e/b', '/a/%2fb', '/a/%5cb', '/a\\b', '/a/%00', '/a b']) {
    it(`refuses the literal path ${JSON.stringify(path)} at /request/path`, () => {
      expect(keys(pathGuardIssues({ path }))).toEqual([['/request/path', 'unsafe-path']]);
    });
  }
});

describe('stored data', () => {
  it('refuses an unknown connection at /connection', () => {
    expect(keys(storedDataIssues(feedOf('POST', '/lists'), undefined))).toEqual([['/connection', 'connection-not-found']]);
  });

  it('checks the policy of the connection found', () => {
    expect(storedDataIssues(feedOf('POST', '/lists'), { relay: { allowedMethods: ['POST'] } })).toEqual([]);
    expect(keys(storedDataIssues(feedOf('GET', '/lists'), { relay: { allowedMethods: ['POST'], allowedPaths: ['/tags'] } }))).toEqual([
      ['/request/method', 'method-not-allowed'],
      ['/request/path', 'path-not-allowed'],
    ]);
  });
});

describe('all save-time checks', () => {
  const input = { name: 'F', connection: 'gone', request: { method: 'POST', path: '/a/../b', headers: [{ name: 'Cookie', value: 'x' }] } };

  it('reports the contract checks first, then the stored-data checks once those pass', () => {
    const first = validateFeedForSave(input, undefined);
    expect(first.success).toBe(false);
    expect(Object.keys((first as { errors: object }).errors)).toEqual(['/request/headers/0/name']);
    const second = validateFeedForSave({ ...input, request: { ...input.request, headers: [] } }, undefined);
    expect(Object.keys((second as { errors: object }).errors)).toEqual(['/request/path', '/connection']);
  });

  it('answers the parsed feed when every check passes', () => {
    const ok = validateFeedForSave({ ...input, request: { method: 'POST', path: '/lists' } }, { relay: { allowedPaths: ['/lists'] } });
    expect(ok.success && ok.output.request.path).toBe('/lists');
  });
});
