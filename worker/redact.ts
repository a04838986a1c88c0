/**
 * Redaction of one secret in text the service passes on (upstream answer headers, a token
 * endpoint's error): patterns for the secret in its usual URL encodings, written once.
 */

/** What replaces a secret. */
export const REDACTED = '[redacted]';

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * A pattern (source) for `text` where each character may also appear percent-encoded (UTF-8,
 * either hex case), and a space as `+`. The encoded alternative comes first, so that a `%` of the
 * secret written `%25` is matched whole and leaves no `25` behind.
 */
export function encodedPattern(text: string): string {
  const encoder = new TextEncoder();
  const hexDigit = (digit: number) => {
    const hex = digit.toString(16);
    return /[a-f]/.test(hex) ? `[${hex}${hex.toUpperCase()}]` : hex;
  };
  let pattern = '';
  for (const char of text) {
    const encoded = [...encoder.encode(char)].map((byte) => `%${hexDigit(byte >> 4)}${hexDigit(byte & 15)}`).join('');
    pattern += `(?:${encoded}|${escapeRegExp(char)}${char === ' ' ? '|\\+' : ''})`;
  }
  return pattern;
}

/** Percent-decodes every run of valid escapes, leaving anything that does not decode as it is. */
function decodeLenient(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** How many layers of percent- or form-encoding `holdsSecret` looks through. */
const MAX_ENCODING_LAYERS = 3;

/** True when `secret` appears in `text` as it is or under up to three layers of percent- or form-encoding. */
export function holdsSecret(text: string, secret: string): boolean {
  if (secret === '') return false;
  let layer = new Set([text]);
  for (let depth = 0; layer.size > 0; depth++) {
    for (const candidate of layer) if (candidate.includes(secret)) return true;
    if (depth === MAX_ENCODING_LAYERS) break;
    const next = new Set<string>();
    for (const candidate of layer) {
      for (const decoded of [decodeLenient(candidate), decodeLenient(candidate.replace(/\+/g, ' '))]) {
        if (decoded !== candidate) next.add(decoded);
      }
    }
    layer = next;
  }
  return false;
}
