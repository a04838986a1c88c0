/**
 * Relay keys of a connection: the list, creating one (its key is shown once, with a Copy button)
 * and revoking one after a confirmation.
 */
import { createAsync, revalidate, useAction, useSubmission } from '@solidjs/router';
import { createSignal, For, Show } from 'solid-js';
import { KEY_NAME_MAX_LENGTH } from '../../contract/connection';
import { createKey, getKeys, revokeKey } from '../data';
import { BusyButton } from './busy';
import { ConfirmButton } from './confirm-button';
import { CopyButton } from './copy-button';
import { LoadingBoundary } from './loading-boundary';
import { notify } from './notices';
import { ProblemAlert } from './problem-alert';
import { TimeAgo } from './time-ago';

function KeyList(props: { slug: string; onRevoked: () => void }) {
  const keys = createAsync(() => getKeys(props.slug));
  const revoke = useAction(revokeKey);
  const revoking = useSubmission(revokeKey, ([slug]) => slug === props.slug);

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
          <Show when={list().length > 0} fallback={<p class="muted">No relay keys yet. Create one for each site or tool that calls this API.</p>}>
            <table class="table table-compact">
              <caption class="visually-hidden">Relay keys</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
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
                      <td data-label="Last used">{key.lastUsedAt ? <TimeAgo iso={key.lastUsedAt} /> : 'Never'}</td>
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

export function KeysPanel(props: { slug: string }) {
  const create = useAction(createKey);
  const creating = useSubmission(createKey, ([slug]) => slug === props.slug);
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
    <section class="card panel-wide" aria-labelledby="keys-title">
      <h2 id="keys-title" tabIndex={-1} ref={heading}>
        Relay keys
      </h2>
      <p>
        Callers send a relay key as <code>Authorization: Bearer …</code>. Only its hash is stored.
      </p>

      <Show when={created()}>
        {(key) => (
          <div class="new-key" role="region" aria-labelledby="new-key-title">
            <h3 id="new-key-title">Copy the new key “{key().name}”</h3>
            <p class="warning">
              <strong>This key is shown only once.</strong> Store it somewhere safe now: it won't be shown again.
            </p>
            <div class="field">
              <label for="new-relay-key">New relay key</label>
              <div class="inline">
                <input
                  id="new-relay-key"
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
          <label for="relay-key-name">Key name</label>
          <div class="inline">
            <input
              id="relay-key-name"
              ref={nameInput}
              value={name()}
              maxLength={KEY_NAME_MAX_LENGTH}
              autocomplete="off"
              placeholder="shop.example checkout"
              aria-describedby={nameError() ? 'relay-key-name-error' : undefined}
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
            <div class="field-error" id="relay-key-name-error">
              <p>{nameError()}</p>
            </div>
          </Show>
        </div>
      </form>

      <Show when={!creating.pending && creating.error}>
        <ProblemAlert error={creating.error} />
      </Show>

      <LoadingBoundary loading="Loading keys…" retry={() => void revalidate(getKeys.keyFor(props.slug))}>
        <KeyList slug={props.slug} onRevoked={() => heading?.focus()} />
      </LoadingBoundary>
    </section>
  );
}
