/**
 * The feed template syntax: text with `{{/pointer}}` placeholders, `\{` for a literal `{` and
 * `\\` for a literal backslash. Parsing only; rendering lives in `worker/feeds/template.ts`.
 *
 * Pure module, shared by the Worker (which renders) and the dashboard (which checks and explains).
 */
import { parsePointer, pointerProblem } from './pointer';

/** Pointer namespaces (the first token of a placeholder's pointer). */
export const FEED_NAMESPACES = ['input', 'meta', 'response'] as const;
export type FeedNamespace = (typeof FEED_NAMESPACES)[number];

/** Longest template, in characters. */
export const TEMPLATE_MAX_LENGTH = 16_384;

/** One piece of a parsed template: literal text, or a placeholder with its pointer. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'placeholder'; pointer: string; tokens: string[] };

/** A template that does not parse. */
export class TemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

/**
 * Parses a template into text and placeholder parts. The pointer of a placeholder is the text
 * between `{{` and the next `}}`; it must be a valid feed pointer. Throws `TemplateSyntaxError`.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    if (ch === '\\' && (template[i + 1] === '{' || template[i + 1] === '\\')) {
      text += template[i + 1];
      i += 2;
      continue;
    }
    if (ch === '{' && template[i + 1] === '{') {
      const end = template.indexOf('}}', i + 2);
      if (end === -1) throw new TemplateSyntaxError('A placeholder "{{" is not closed with "}}" (write "\\{" for a literal "{")');
      const pointer = template.slice(i + 2, end);
      const problem = pointerProblem(pointer);
      if (problem) throw new TemplateSyntaxError(`In {{${pointer}}}: ${problem}`);
      const tokens = parsePointer(pointer);
      const namespace = tokens[0];
      if (namespace === undefined || !(FEED_NAMESPACES as readonly string[]).includes(namespace)) {
        throw new TemplateSyntaxError(`In {{${pointer}}}: a placeholder reads /input/…, /meta/… or /response/…`);
      }
      if (text) parts.push({ kind: 'text', text });
      text = '';
      parts.push({ kind: 'placeholder', pointer, tokens });
      i = end + 2;
      continue;
    }
    text += ch;
    i++;
  }
  if (text) parts.push({ kind: 'text', text });
  return parts;
}

/** Why a template does not parse, or `undefined` when it does. */
export function templateProblem(template: string): string | undefined {
  if (template.length > TEMPLATE_MAX_LENGTH) return `A template is at most ${TEMPLATE_MAX_LENGTH} characters`;
  try {
    parseTemplate(template);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The placeholders of a parsed template. */
export function placeholdersOf(parts: readonly TemplatePart[]): Extract<TemplatePart, { kind: 'placeholder' }>[] {
  return parts.filter((part): part is Extract<TemplatePart, { kind: 'placeholder' }> => part.kind === 'placeholder');
}

/** Writes text so that it renders literally (escapes `\` and `{`). */
export function escapeTemplateText(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('{', '\\{');
}

/** One reference token of a body target: literal, or built from placeholders at run time. */
export type TargetToken = { kind: 'literal'; token: string } | { kind: 'dynamic'; parts: TemplatePart[] };

/**
 * Parses a body or data target: a JSON Pointer whose tokens may hold placeholders
 * (`/items/{{/input/i}}/sku`). Literal text is unescaped per RFC 6901 (`~1`, `~0`); a placeholder
 * never spans a `/`. `''` is the whole body. Throws `TemplateSyntaxError`.
 */
export function parseTargetTemplate(target: string): TargetToken[] {
  if (target === '') return [];
  if (!target.startsWith('/')) throw new TemplateSyntaxError(`A target is a pointer and starts with "/" (write "/${target}")`);
  const parts = parseTemplate(target);
  const tokens: TemplatePart[][] = [];
  // The text before the leading "/" (always empty) goes to a token that is not kept.
  let current: TemplatePart[] = [];
  for (const part of parts) {
    if (part.kind === 'placeholder') {
      current.push(part);
      continue;
    }
    part.text.split('/').forEach((piece, index) => {
      if (index > 0) {
        current = [];
        tokens.push(current);
      }
      if (piece !== '') current.push({ kind: 'text', text: piece });
    });
  }
  return tokens.map((token) => {
    if (token.every((part) => part.kind === 'text')) {
      const raw = token.map((part) => (part as { text: string }).text).join('');
      if (/~(?![01])/.test(raw)) throw new TemplateSyntaxError('In a pointer "~" is written "~0" and "/" inside a name "~1"');
      return { kind: 'literal', token: raw.replaceAll('~1', '/').replaceAll('~0', '~') };
    }
    for (const part of token) {
      if (part.kind === 'text' && /~(?![01])/.test(part.text)) throw new TemplateSyntaxError('In a pointer "~" is written "~0" and "/" inside a name "~1"');
    }
    return {
      kind: 'dynamic',
      parts: token.map((part) => (part.kind === 'text' ? { kind: 'text', text: part.text.replaceAll('~1', '/').replaceAll('~0', '~') } : part)),
    };
  });
}
