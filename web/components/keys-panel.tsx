/**
 * Keys callers send as `Authorization: Bearer …`: the list, creating one (its key is shown once,
 * with a Copy button) and revoking one after a confirmation. A connection's relay keys by default;
 * a feed's trigger keys with their own queries, actions and words (`KeysPanelConfig`).
 */
import { type Action, type CachedFunction, createAsync, revalidate, useAction, useSubmission } from '@solidjs/router';
import { createSignal, For, type JSX, Show } from 'solid-js';
import { KEY_NAME_MAX_LENGTH } from '../../contract/connection';
import { createKey, getKeys, revokeKey } from '../data';
import { BusyButton } from './busy';
import { ConfirmButton } from './confirm-button';
import { CopyButton } from './copy-button';
import { LoadingBoundary } from './loading-boundary';
import { notify } from './notices';
import { ProblemAlert } from './problem-alert';
import { TimeAgo } from './time-ago';

interface KeyRow {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string | null;
}

/** What differs between kinds of keys: where they are read and written, and what they are called. */
export interface KeysPanelConfig {
  keys: CachedFunction<(owner: string) => Promise<KeyRow[]>>;
  create: Action<[string, string], { id: string; name: string; key: string; createdAt: string }>;
  revoke: Action<[string, string], unknown>;
  /** "Relay keys", "Trigger keys". */
  title: string;
  /** "relay key": in labels ("New relay key") and the empty list. */
  noun: string;
  intro: JSX.Element;
  empty: string;
  /** Prefix of the panel's element ids. */
  idPrefix: string;
  placeholder: string;
  /** Whether the list has a "Last used" column. */
  lastUsed: boolean;
}

/** A connection's relay keys. */
export const RELAY_KEYS: KeysPanelConfig = {
  keys: getKeys,
  create: createKey,
  revoke: revokeKey,
  title: 'Relay keys',
  noun: 'relay key',
  intro: (
    <>
      Callers send a relay key as <code>Authorization: Bearer …</code>. Only its hash is stored.
    </>
  ),
  empty: 'No relay keys yet. Create one for each site or tool that calls this API.',
  idPrefix: 'relay-key',
  placeholder: 'shop.example checkout',
  lastUsed: true,
};

function KeyList(props: { slug: string; config: KeysPanelConfig; onRevoked: () => void }) {
  const keys = createAsync(() => props.config.keys(props.slug));
  const revoke = useAction(props.config.revoke);
  const revoking = useSubmission(props.config.revoke, ([slug]) => slug === props.slug);

  const onRevoke = async (id: string, name: string) => {
    try {
      await revoke(props.slug, id);
      notify(`Revoked the key “${name}”. Callers using it get 401 from now on.`);
      props.onRevoked();
    } catch {
      // Shown from the submission below.
    }
  };

  return (
    <Show when={keys()}>
      {(list) => (
        <>
          <Show when={!revoking.pending && revoking.error}>
            <ProblemAlert error={revoking.error} />
          </Show>
          <Show when={list().length > 0} fallback={<p class="muted">{props.config.empty}</p>}>
            <table class="table table-compact">
              <caption class="visually-hidden">{props.config.title}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Created</th>
                  <Show when={props.config.lastUsed}>
                    <th scope="col">Last used</th>
                  </Show>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={list()}>
                  {(key) => (
                    <tr>
                      <th scope="row" data-label="Name">
                        {key.name}
                      </th>
                      <td data-label="Created">
                        <TimeAgo iso={key.createdAt} />
                      </td>
                      <Show when={props.config.lastUsed}>
                        <td data-label="Last used">{key.lastUsedAt ? <TimeAgo iso={key.lastUsedAt} /> : 'Never'}</td>
                      </Show>
                      <td class="cell-actions">
                        <ConfirmButton
                          label="Revoke"
                          name={`Revoke key ${key.name}`}
                          prompt={`Revoke “${key.name}”? Callers using it get 401 from now on.`}
                          confirmLabel="Yes, revoke"
                          busy={revoking.pending && revoking.input?.[1] === key.id}
                          onConfirm={() => onRevoke(key.id, key.name)}
                        />
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </Show>
        </>
      )}
    </Show>
  );
}

/** The keys of `slug` (a connection's slug, or a feed's id with `config`). */
export function KeysPanel(props: { slug: string; config?: KeysPanelConfig }) {
  const config = () => props.config ?? RELAY_KEYS;
  const create = useAction(config().create);
  const creating = useSubmission(config().create, ([slug]) => slug === props.slug);
  const id = (suffix: string) => `${config().idPrefix}-${suffix}`;
  const created = () => (creating.pending ? undefined : creating.result);
  const [name, setName] = createSignal('');
  const [nameError, setNameError] = createSignal<string>();
  let heading: HTMLHeadingElement | undefined;
  let nameInput: HTMLInputElement | undefined;
  let keyInput: HTMLInputElement | undefined;

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (creating.pending) return;
    if (!name().trim()) {
      setNameError('Give the key a name, e.g. the site or tool that will use it.');
      nameInput?.focus();
      return;
    }
    setNameError(undefined);
    try {
      const key = await create(props.slug, name().trim());
      setName('');
      notify(`Created the key “${key.name}”. Copy it now: it is shown only once.`);
      keyInput?.focus();
      keyInput?.select();
    } catch {
      // Shown from the submission below.
    }
  };

  const done = () => {
    // The key leaves the page with its submission.
    creating.clear();
    nameInput?.focus();
  };

  return (
    <section class="card panel-wide" aria-labelledby={id('title')}>
      <h2 id={id('title')} tabIndex={-1} ref={heading}>
        {config().title}
      </h2>
      <p>{config().intro}</p>

      <Show when={created()}>
        {(key) => (
          <div class="new-key" role="region" aria-labelledby={id('new-title')}>
            <h3 id={id('new-title')}>Copy the new key “{key().name}”</h3>
            <p class="warning">
              <strong>This key is shown only once.</strong> Store it somewhere safe now: it won't be shown again.
            </p>
            <div class="field">
              <label for={id('new')}>New {config().noun}</label>
              <div class="inline">
                <input
                  id={id('new')}
                  ref={keyInput}
                  class="mono"
                  readOnly
                  value={key().key}
                  autocomplete="off"
                  spellcheck={false}
                  onFocus={(e) => e.currentTarget.select()}
                />
                <CopyButton text={key().key} label="Copy key" />
              </div>
            </div>
            <button type="button" class="button" onClick={done}>
              Done
            </button>
          </div>
        )}
      </Show>

      <form class="inline-form" onSubmit={submit} noValidate>
        <div class="field" classList={{ 'field-invalid': !!nameError() }}>
          <label for={id('name')}>Key name</label>
          <div class="inline">
            <input
              id={id('name')}
              ref={nameInput}
              value={name()}
              maxLength={KEY_NAME_MAX_LENGTH}
              autocomplete="off"
              placeholder={config().placeholder}
              aria-describedby={nameError() ? id('name-error') : undefined}
              aria-invalid={nameError() ? 'true' : undefined}
              onInput={(e) => {
                setName(e.currentTarget.value);
                setNameError(undefined);
              }}
            />
            <BusyButton type="submit" busy={creating.pending}>
              Create key
            </BusyButton>
          </div>
          <Show when={nameError()}>
            <div class="field-error" id={id('name-error')}>
              <p>{nameError()}</p>
            </div>
          </Show>
        </div>
      </form>

      <Show when={!creating.pending && creating.error}>
        <ProblemAlert error={creating.error} />
      </Show>

      <LoadingBoundary loading="Loading keys…" retry={() => void revalidate(config().keys.keyFor(props.slug))}>
        <KeyList slug={props.slug} config={config()} onRevoked={() => heading?.focus()} />
      </LoadingBoundary>
    </section>
  );
}
