/** Test setup for the dashboard (jsdom): a clean DOM, router cache, address and fetch per test. */
import { query } from '@solidjs/router';
import { cleanup } from '@solidjs/testing-library';
import { afterEach, expect, vi } from 'vitest';
import { currentFakeApi, resetFakeApi } from './fake-api';

// jsdom has no layout: the router's scroll restoration has nothing to do.
window.scrollTo = () => {};

afterEach(() => {
  cleanup();
  query.clear();
  window.history.replaceState(null, '', '/');
  const unexpected = currentFakeApi()?.unexpected ?? [];
  resetFakeApi();
  vi.restoreAllMocks();
  expect(unexpected, 'requests the test did not plan for').toEqual([]);
});
