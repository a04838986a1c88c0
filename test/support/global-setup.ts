/** Starts the loopback servers the worker tests talk to, and hands their addresses to workerd. */
import type { TestProject } from 'vitest/node';
import { startMockServer } from './mock-server';

declare module 'vitest' {
  export interface ProvidedContext {
    mockOrigin: string;
  }
}

export default async function setup(project: TestProject) {
  const mock = await startMockServer();
  project.provide('mockOrigin', mock.origin);
  return async () => {
    await mock.close();
  };
}
