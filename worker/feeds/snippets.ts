/**
 * Ready-to-paste snippets for a feed's trigger URL (`FeedSnippets`): an HTML form with the declared
 * input fields, and a `fetch` call with a JSON body. Everything from the feed is HTML-escaped (the
 * form) or JSON-encoded (the script), so a field name cannot break out of its attribute.
 */
import type { FeedOutput } from '../../contract/feed';
import type { FeedSnippets } from '../../contract/feed-api';
import { escapeHtml } from './pages';

function inputTypeOf(field: FeedOutput['input']['fields'][number]): string {
  if (field.file) return 'file';
  if (field.format === 'email') return 'email';
  if (field.format === 'number' || field.format === 'integer') return 'number';
  if (field.format === 'url') return 'url';
  return 'text';
}

/** The snippets of a feed whose trigger is `triggerUrl`. */
export function feedSnippets(feed: FeedOutput, triggerUrl: string): FeedSnippets {
  const fields = feed.input.fields;
  const hasFile = fields.some((f) => f.file !== undefined);
  const lines: string[] = [];
  lines.push(`<form method="post" action="${escapeHtml(triggerUrl)}"${hasFile ? ' enctype="multipart/form-data"' : ''}>`);
  fields.forEach((field, i) => {
    const id = `feed-field-${i}`;
    const attrs = [`id="${id}"`, `name="${escapeHtml(field.multiple ? `${field.name}` : field.name)}"`, `type="${inputTypeOf(field)}"`];
    if (field.required) attrs.push('required');
    if (field.maxLength !== undefined && !field.file) attrs.push(`maxlength="${field.maxLength}"`);
    if (field.multiple && field.file) attrs.push('multiple');
    if (field.file && field.file.types.length > 0) attrs.push(`accept="${escapeHtml(field.file.types.join(','))}"`);
    lines.push(`  <label for="${id}">${escapeHtml(field.name)}</label>`);
    lines.push(`  <input ${attrs.join(' ')}>`);
  });
  const honeypot = feed.trigger.browser.honeypotField;
  if (honeypot) {
    lines.push(`  <input name="${escapeHtml(honeypot)}" type="text" tabindex="-1" autocomplete="off" aria-hidden="true" style="position:absolute;left:-10000px">`);
  }
  lines.push('  <button type="submit">Send</button>');
  lines.push('</form>');

  const sample: Record<string, unknown> = {};
  for (const field of fields) {
    if (field.file) continue;
    sample[field.name] = field.multiple ? [] : field.format === 'email' ? 'someone@example.com' : '';
  }
  const script = [
    `const response = await fetch(${JSON.stringify(triggerUrl)}, {`,
    "  method: 'POST',",
    "  headers: { 'Content-Type': 'application/json' },",
    `  body: JSON.stringify(${JSON.stringify(sample, null, 2).replace(/\n/g, '\n  ')}),`,
    '});',
    'const answer = await response.json();',
    '// { ok: true, runId, data } or a problem (application/problem+json) with its status',
  ].join('\n');
  return { html: lines.join('\n'), fetch: script };
}
