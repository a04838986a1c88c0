/**
 * How a feed is triggered: its trigger URL with ready HTML-form and fetch snippets, rotating its
 * public key, and (server mode) its trigger keys.
 */
import { useAction, useSubmission } from '@solidjs/router';
import { Show } from 'solid-js';
import type { FeedAnswer } from '../../contract/feed-api';
import { createTriggerKey, getTriggerKeys, revokeTriggerKey, rotatePublicKey } from '../feeds-data';
import { BreakableUrl } from './breakable-url';
import { ConfirmButton } from './confirm-button';
import { CopyButton } from './copy-button';
import { KeysPanel, type KeysPanelConfig } from './keys-panel';
import { notify } from './notices';
import { ProblemAlert } from './problem-alert';

function Snippet(props: { title: string; text: string; copyLabel: string }) {
  return (
    <div class="snippet">
      <div class="snippet-head">
        <h3>{props.title}</h3>
        <CopyButton text={props.text} label={props.copyLabel} />
      </div>
      <pre>
        <code>{props.text}</code>
      </pre>
    </div>
  );
}

export function FeedTriggerPanel(props: { feed: FeedAnswer }) {
  const rotate = useAction(rotatePublicKey);
  const rotating = useSubmission(rotatePublicKey, ([id]) => id === props.feed.id);
  const onRotate = async () => {
    try {
      await rotate(props.feed.id);
      notify('Rotated the public key. Update your forms: the old trigger URL stops within a minute.');
    } catch {
      // Shown from the submission below.
    }
  };
  return (
    <section class="card panel-wide" aria-labelledby="trigger-title">
      <h2 id="trigger-title">Trigger URL</h2>
      <div class="field">
        <span class="label">Trigger URL</span>
        <div class="inline">
          <code class="endpoint">
            <BreakableUrl url={props.feed.triggerUrl} />
          </code>
          <CopyButton text={props.feed.triggerUrl} label="Copy trigger URL" />
        </div>
        <p class="help">
          Forms and pages post here{props.feed.trigger.server.enabled ? '; servers post JSON with a trigger key' : ''}. The public key in it is not a secret: it
          appears in your HTML.
        </p>
      </div>
      <Show when={props.feed.snippets} fallback={<p class="muted">Snippets show once the service offers them for this feed.</p>}>
        {(snippets) => (
          <>
            <Snippet title="HTML form" text={snippets().html} copyLabel="Copy HTML form" />
            <Snippet title="JavaScript fetch" text={snippets().fetch} copyLabel="Copy fetch snippet" />
          </>
        )}
      </Show>
      <h3>Rotate the public key</h3>
      <p class="help">Gives the feed a new trigger URL. The old one stops at once, though edge caches may accept it for up to 60 seconds.</p>
      <ConfirmButton
        label="Rotate public key"
        prompt="Rotate the public key? Every form and page using the current trigger URL stops working until it is updated."
        confirmLabel="Yes, rotate"
        busy={rotating.pending}
        onConfirm={onRotate}
      />
      <Show when={!rotating.pending && rotating.error}>
        <ProblemAlert error={rotating.error} />
      </Show>
    </section>
  );
}

/** A feed's server trigger keys. */
export const TRIGGER_KEYS: KeysPanelConfig = {
  keys: getTriggerKeys,
  create: createTriggerKey,
  revoke: revokeTriggerKey,
  title: 'Trigger keys',
  noun: 'trigger key',
  intro: (
    <>
      Servers send a trigger key as <code>Authorization: Bearer ftk_…</code>. Only its hash is stored.
    </>
  ),
  empty: 'No trigger keys yet. Create one for each server that sends webhooks to this feed.',
  idPrefix: 'trigger-key',
  placeholder: 'billing server',
  lastUsed: false,
};

export function TriggerKeysPanel(props: { feedId: string }) {
  return <KeysPanel slug={props.feedId} config={TRIGGER_KEYS} />;
}
