/** Test-side client (runs in workerd) for the mock server in `mock-server.ts`. */
import { env } from 'cloudflare:workers';
import type { MockResponse, RecordedRequest } from './mock-types';

export type { MockResponse, RecordedRequest };

/** One namespace on the mock server: a fresh, isolated fake for one test. */
export class Mock {
  readonly ns = `ns${crypto.randomUUID().replaceAll('-', '')}`;
  readonly origin: string = (env as unknown as { MOCK_ORIGIN: string }).MOCK_ORIGIN;

  /** Absolute URL of `path` in this namespace. */
  url(path = ''): string {
    return `${this.origin}/${this.ns}${path}`;
  }

  /** Programs answers for `method path`, served in order (the last repeats). */
  async on(method: string | undefined, path: string, ...responses: MockResponse[]): Promise<void> {
    const res = await fetch(`${this.origin}/__mock/${this.ns}/routes`, {
      method: 'PUT',
      body: JSON.stringify([{ method, path, responses }]),
    });
    if (res.status !== 204) throw new Error(`mock programming failed: ${res.status}`);
  }

  /** Requests received so far, and those that matched no route. */
  async received(): Promise<{ requests: RecordedRequest[]; unexpected: RecordedRequest[] }> {
    const res = await fetch(`${this.origin}/__mock/${this.ns}/requests`);
    return res.json();
  }

  /** Requests received on one path. */
  async requestsTo(path: string): Promise<RecordedRequest[]> {
    return (await this.received()).requests.filter((r) => r.path === path);
  }
}
