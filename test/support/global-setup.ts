/** Starts the loopback servers the worker tests talk to, and hands their addresses to workerd. */
import type { TestProject } from 'vitest/node';
import { startMockServer } from './mock-server';
import { startOidcServer, type OidcFixture } from './oidc-server';

declare module 'vitest' {
  export interface ProvidedContext {
    mockOrigin: string;
    oidc: OidcFixture;
  }
}

export default async function setup(project: TestProject) {
  const [mock, oidc] = await Promise.all([startMockServer(), startOidcServer()]);
  project.provide('mockOrigin', mock.origin);
  project.provide('oidc', oidc.fixture);
  return async () => {
    await Promise.all([mock.close(), oidc.close()]);
  };
}
