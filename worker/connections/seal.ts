/**
 * Sealing of secrets at rest: AES-256-GCM, a random 96-bit IV per write, additional data that
 * binds each ciphertext to its record and field, and a key derived (HKDF-SHA-256) from the Worker
 * secret `SECRETS_KEY`. Sealed form: `v1.<iv>.<ciphertext>` (base64url).
 */
import { AppError } from '../errors';

const SEAL_VERSION = 'v1';
const IV_BYTES = 12;
export const SECRETS_KEY_MIN_LENGTH = 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let cachedKey: { source: string; key: Promise<CryptoKey> } | undefined;

/** Seals and opens secret strings with the key derived from `SECRETS_KEY`. */
export class Sealer {
  private constructor(private readonly key: Promise<CryptoKey>) {}

  /** A sealer for this secrets key; the derived key is cached for the isolate's life. */
  static fromSecretsKey(secretsKey: string | undefined): Sealer {
    if (!secretsKey || secretsKey.length < SECRETS_KEY_MIN_LENGTH) {
      throw new AppError('misconfigured', {
        detail: 'The service is not configured: SECRETS_KEY is missing or too short.',
        internal: `SECRETS_KEY must be at least ${SECRETS_KEY_MIN_LENGTH} characters`,
      });
    }
    if (cachedKey?.source !== secretsKey) cachedKey = { source: secretsKey, key: deriveKey(secretsKey) };
    return new Sealer(cachedKey.key);
  }

  /** Encrypts `plaintext`; `context` (e.g. `conn|acme|auth.clientSecret`) must be given again to open it. */
  async seal(plaintext: string, context: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
      await this.key,
      encoder.encode(plaintext),
    );
    return `${SEAL_VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ciphertext))}`;
  }

  /** Decrypts a sealed value; throws when it was sealed for another context or tampered with. */
  async open(sealed: string, context: string): Promise<string> {
    const [version, iv, ciphertext] = sealed.split('.');
    if (version !== SEAL_VERSION || !iv || !ciphertext) throw new Error('Unrecognised sealed value');
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: encoder.encode(context) },
      await this.key,
      fromBase64Url(ciphertext),
    );
    return decoder.decode(plaintext);
  }
}

async function deriveKey(secretsKey: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(secretsKey), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode('edge-api-connector/seal/v1') },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Lowercase hex of each byte value. */
const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** SHA-256 of a string, as lowercase hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
  let hex = '';
  for (const byte of digest) hex += HEX_BYTES[byte]!;
  return hex;
}

/** Compares two strings in time independent of where they differ (both are hashed first). */
export async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/** A random identifier of `bytes` random bytes, base64url. */
export function randomId(bytes = 16): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}
