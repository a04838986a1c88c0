/** Shapes shared by the mock server (Node) and its client in workerd. */
export interface MockResponse {
  status?: number;
  headers?: Record<string, string | string[]>;
  /** A JSON value to send (sets Content-Type). */
  json?: unknown;
  /** A raw text body. */
  body?: string;
  /** Send the body gzip-encoded, with `Content-Encoding: gzip` and the encoded length. */
  gzip?: boolean;
  /** Delay before the status line is written. */
  delayMs?: number;
  /** Delay between the status line with the first half of the body and the rest of the body. */
  bodyDelayMs?: number;
  /** Close the socket without answering. */
  destroy?: boolean;
  /** Bytes written to the socket as the whole answer, then the socket is closed: answers no HTTP server library writes (status 100 as final, 600). */
  raw?: string;
}

export interface MockRoute {
  method?: string;
  path: string;
  responses: MockResponse[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Path and query exactly as received (after the namespace). */
  rawUrl: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

