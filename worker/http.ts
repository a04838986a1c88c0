/**
 * Request helpers shared by the admin routes and the relay: JSON reading and validation that fail
 * with precise problems instead of exceptions, and the one parser of `Authorization: Bearer`.
 */
import type { Context } from 'hono';
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
