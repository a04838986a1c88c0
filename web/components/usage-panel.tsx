/** How to call a connection through the relay: the endpoint URL and ready curl / fetch examples. */
import { createSignal } from 'solid-js';
import type { ConnectionView } from '../../contract/connection';
import { BreakableUrl } from './breakable-url';
import { CopyButton } from './copy-button';

/** Stands in for a real relay key in examples; the dashboard never has one after creation. */
export const RELAY_KEY_PLACEHOLDER = 'YOUR_RELAY_KEY';

function curlExample(url: string): string {
  return `curl "${url}" \\\n  -H "Authorization: Bearer ${RELAY_KEY_PLACEHOLDER}"`;
}

function fetchExample(url: string): string {
  return [
    `const response = await fetch('${url}', {`,
    `  headers: { Authorization: 'Bearer ${RELAY_KEY_PLACEHOLDER}' },`,
    `});`,
    `const data = await response.json();`,
  ].join('\n');
}

export function UsagePanel(props: { view: ConnectionView }) {
  const [path, setPath] = createSignal((props.view.relay?.allowedPaths?.[0] ?? '').replace(/^\/+/, ''));
  const url = () => `${props.view.relayUrl}/${path().replace(/^\/+/, '')}`;

  return (
    <section class="card panel-wide" aria-labelledby="usage-title">
      <h2 id="usage-title">Usage</h2>
      <div class="field">
        <span class="label">Endpoint</span>
        <div class="inline">
          <code class="endpoint">
            <BreakableUrl url={`${props.view.relayUrl}/<path>`} />
          </code>
          <CopyButton text={`${props.view.relayUrl}/`} label="Copy endpoint URL" />
        </div>
        <p class="help">
          Any method; <code>&lt;path&gt;</code> and the query string are added to {props.view.baseUrl}. The connection's
          credentials are added at the edge.
        </p>
      </div>
      <div class="field">
        <label for="usage-path">Example path</label>
        {/* No placeholder: a greyed "orders" that the examples below do not use reads as if they did. */}
        <input
          id="usage-path"
          value={path()}
          aria-describedby="usage-path-help"
          autocomplete="off"
          spellcheck={false}
          onInput={(e) => setPath(e.currentTarget.value)}
        />
        <p class="help" id="usage-path-help">
          The path and query the examples call, e.g. <code>orders?status=open</code>. Empty calls the Base URL itself.
        </p>
      </div>
      <div class="snippet">
        <div class="snippet-head">
          <h3>curl</h3>
          <CopyButton text={curlExample(url())} label="Copy curl example" />
        </div>
        <pre>
          <code>{curlExample(url())}</code>
        </pre>
      </div>
      <div class="snippet">
        <div class="snippet-head">
          <h3>JavaScript fetch</h3>
          <CopyButton text={fetchExample(url())} label="Copy fetch example" />
        </div>
        <pre>
          <code>{fetchExample(url())}</code>
        </pre>
      </div>
      <p class="help">
        Replace {RELAY_KEY_PLACEHOLDER} with a relay key. Keep keys out of public web pages unless the connection limits
        browser origins and paths.
      </p>
    </section>
  );
}
