/** Test setup for the dashboard (jsdom): a clean DOM, router cache, address and fetch per test. */
import { query } from '@solidjs/router';
import { cleanup } from '@solidjs/testing-library';
import { afterEach, beforeAll, beforeEach, expect, vi } from 'vitest';
import { rememberSession } from '../../web/api/session-hint';
import { clearNotices } from '../../web/components/notices';
import { currentFakeApi, resetFakeApi } from './fake-api';

// jsdom has no layout: the router's scroll restoration has nothing to do.
window.scrollTo = () => {};

// The pages the app loads on demand, loaded once up front so that no test waits on a first transform.
beforeAll(async () => {
  await Promise.all([import('../../web/pages/connection-page'), import('../../web/pages/new-connection-page'), import('../../web/pages/not-found-page'), import('../../web/components/activity-panel'), import('../../web/components/test-request-panel'), import('../../web/components/feeds-list'), import('../../web/pages/feeds-page'), import('../../web/pages/feed-page')]);
});

// A browser that signed in before: the dashboard asks for the session (tests of a first visit clear this).
beforeEach(() => rememberSession(true));

afterEach(() => {
  cleanup();
  clearNotices();
  query.clear();
  window.history.replaceState(null, '', '/');
  const unexpected = currentFakeApi()?.unexpected ?? [];
  resetFakeApi();
  vi.restoreAllMocks();
  expect(unexpected, 'requests the test did not plan for').toEqual([]);
});
