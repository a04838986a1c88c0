/**
 * Request helpers shared by the admin routes and the relay: JSON reading and validation that fail
 * with precise problems instead of exceptions, and the one parser of `Authorization: Bearer`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import * as v from 'valibot';
import { AppError } from './errors';
import { fieldErrors } from '../contract/connection';

/** Largest accepted `/api` request body. */
export const API_BODY_LIMIT_BYTES = 64 * 1024;

/** Reads a JSON body: 415 when it is not declared JSON, 400 when it does not parse. */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('Content-Type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new AppError('unsupported-media-type', { detail: 'Send the body as application/json.' });
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the body (which may hold a secret): only a position goes out.
    const position = err instanceof SyntaxError ? /\bposition (\d+)/.exec(err.message)?.[1] : undefined;
    throw new AppError('invalid-json', {
      detail: `The body is not valid JSON${position !== undefined ? ` (at character ${position})` : ''}.`,
    });
  }
}

/** The credential of an `Authorization: Bearer <credential>` header, or `null` when there is none. */
export function bearerCredential(authorization: string | null | undefined): string | null {
  if (authorization === null || authorization === undefined) return null;
  return /^Bearer +(\S+) *$/i.exec(authorization)?.[1] ?? null;
}

/** Validates `data` against `schema`, or throws `validation-failed` listing field errors. */
export function validate<S extends v.GenericSchema>(schema: S, data: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, data);
  if (result.success) return result.output;
  const errors = fieldErrors(result.issues);
  const count = Object.values(errors).reduce((n, list) => n + list.length, 0);
  throw new AppError('validation-failed', {
    detail: `${count} field${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} attention.`,
    extensions: { errors },
  });
}

/** Reads a stream to its end, throwing every chunk away. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done) {
      // Discarded.
    }
  } catch {
    // The caller went away: nothing left to keep usable.
  }
}

/**
 * Reads to its end and throws away a request body that nothing read (an answer given before the
 * body was needed: 401, 403, 413, 415, a refused relay call), before that answer leaves. Answering
 * while the caller is still sending makes the HTTP stack in front of the Worker under
 * `wrangler dev` fail that request or the next one on the same connection with 500 "Network
 * connection lost" (seen with bodies from about 2 MB); cancelling the stream is not enough there.
 * Reading costs the time the caller takes to send what it chose to send, and no memory. A body
 * that is being read elsewhere (locked) or was read is left alone.
 */
export async function discardUnreadBody(request: Request): Promise<void> {
  const body = request.body;
  if (body === null || request.bodyUsed || body.locked) return;
  await drain(body.getReader());
}

function payloadTooLarge(maxBytes: number): AppError {
  return new AppError('payload-too-large', { detail: `Request bodies are limited to ${maxBytes / 1024} KiB: send a smaller one.` });
}

/**
 * Middleware: refuses a request body over `maxBytes` with 413, whatever it holds. A declared
 * `Content-Length` over the cap is refused unread (the Worker's `fetch` drains it, see
 * `discardUnreadBody`); a body of unknown length is read up to the cap, and past it drained
 * before the 413, so the connection stays usable. (Hono's `bodyLimit` answers with its reader
 * still holding the half-read stream, which nothing can drain then.)
 */
export function apiBodyLimit(maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body === null) return next();
    const declared = c.req.raw.headers.get('Content-Length');
    if (declared !== null && /^\d+$/.test(declared)) {
      if (Number(declared) > maxBytes) throw payloadTooLarge(maxBytes);
      return next();
    }
    const reader = body.getReader();
    const buffer = new Uint8Array(maxBytes);
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > maxBytes) {
        await drain(reader);
        throw payloadTooLarge(maxBytes);
      }
      buffer.set(value, size);
      size += value.byteLength;
    }
    c.req.raw = new Request(c.req.raw, { body: buffer.subarray(0, size) });
    return next();
  };
}

/** The first `length` bytes of `chunks` (read in order) as one array. */
export function firstBytes(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    if (at >= length) break;
    const part = chunk.subarray(0, Math.min(chunk.byteLength, length - at));
    bytes.set(part, at);
    at += part.byteLength;
  }
  return bytes;
}

/** What keeps a promise running after the answer (`ctx.waitUntil`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/**
 * `ctx.waitUntil` that never throws: a context that cannot take the promise leaves it to run on
 * its own. `undefined` without a context.
 */
export function waitUntilOf(ctx: Pick<ExecutionContext, 'waitUntil'> | undefined): WaitUntil | undefined {
  if (!ctx) return undefined;
  return (promise) => {
    try {
      ctx.waitUntil(promise);
    } catch {
      // No usable execution context: let the promise run on its own.
    }
  };
}

/** A Hono request's execution context; `undefined` where there is none (`app.request()` in tests). */
export function executionContextOf(c: Context): Pick<ExecutionContext, 'waitUntil'> | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}
