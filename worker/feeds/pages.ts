/**
 * The trigger's built-in pages for browser navigations without a configured URL (FEEDS.md §3.6):
 * "Thank you", "We could not send your form (reference <runId>)", and "This form is not available"
 * (an unknown or disabled feed, or a method other than POST). No submitted value is
 * reflected; the only variable text is the run id the service made. Served with a CSP that allows
 * nothing but inline styles.
 */

/** The CSP of the built-in pages. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'";

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

function page(title: string, message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.5rem}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${message}</p>
</body>
</html>
`;
}

/** The body of a built-in page. `runId` is the service's own id (escaped all the same). */
export function pageHtml(kind: 'thanks' | 'error' | 'unavailable', runId: string): string {
  if (kind === 'thanks') return page('Thank you', 'Your form was sent.');
  if (kind === 'unavailable') return page('This form is not available', 'It is not accepted here any more, or not this way. Nothing was sent.');
  return page('We could not send your form', `Please try again later. Reference: <code>${escapeHtml(runId)}</code>`);
}

/** A built-in page as a response. */
export function pageResponse(kind: 'thanks' | 'error' | 'unavailable', status: number, runId: string, headers: Record<string, string> = {}): Response {
  return new Response(pageHtml(kind, runId), {
    status,
    headers: {
      ...headers,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    },
  });
}
