/**
 * The create / edit form of a connection, validated with the shared schema before it is sent and
 * showing the server's field errors at their fields too. Each authentication method's fields are
 * their own component; this one holds the state, the submission and what leaving unsaved means.
 */
import { revalidate, useAction, useSubmission } from '@solidjs/router';
import { createEffect, createMemo, createSignal, type JSX, Match, on, Show, Switch } from 'solid-js';
import * as v from 'valibot';
import {
  AUTH_METHOD_LABELS,
  AUTH_METHODS,
  type AuthMethod,
  ConnectionInputSchema,
  type ConnectionInput,
  type ConnectionView,
  fieldErrors,
  SECRET_FIELD,
  slugify,
} from '../../contract/connection';
import { ApiProblemError } from '../api/client';
import { deleteConnection, getConnection, saveConnection } from '../data';
import { useSession } from '../session';
import { ApiKeyFields } from './auth-api-key-fields';
import { BasicFields } from './auth-basic-fields';
import { BearerFields } from './auth-bearer-fields';
import { OAuthFields } from './auth-oauth-fields';
import { BusyButton } from './busy';
import { LogSettingsFields } from './log-settings-fields';
import {
  buildInput,
  type FormState,
  hasStoredSecret,
  placeErrors,
  SECRET_KEYS,
  secretReentryReason,
  stateFromView,
  visibleFields,
} from './connection-form-model';
import { ChoiceField, ConnectionFormContext, type ConnectionFormContextValue, FormField, SectionHeading, TextField } from './form-context';
import { fieldMessages, focusFirstInvalid, FormAlert, formSummary, useLeaveGuard, useReload, withoutEdited } from './form-summary';
import { notify } from './notices';
import { RelayPolicyFields } from './relay-policy-fields';

export { STORED_SECRET_PLACEHOLDER } from './form-context';

/** Asked before leaving the form with changes that were not saved. */
export const UNSAVED_CHANGES_PROMPT = 'Leave without saving? Your changes to this connection will be lost.';

export interface ConnectionFormProps {
  /** The stored connection when editing; absent when creating. */
  view?: ConnectionView;
  onSaved: (view: ConnectionView) => void;
  /** Extra buttons beside Save (e.g. Cancel). */
  actions?: JSX.Element;
}

const snapshot = (state: FormState) => JSON.stringify(state);

export function ConnectionForm(props: ConnectionFormProps) {
  const session = useSession();
  const save = useAction(saveConnection);
  const saving = useSubmission(saveConnection, (input) => input[1] === props.view?.slug);
  const editing = () => props.view !== undefined;

  const [state, setForm] = createSignal<FormState>(stateFromView(props.view));
  const setState: ConnectionFormContextValue['setState'] = (key, value) =>
    setForm((form) => ({ ...form, [key]: typeof value === 'function' ? (value as (p: unknown) => unknown)(form[key]) : value }));
  /** The state that counts as saved: what leaving or discarding compares with. */
  const [baseline, setBaseline] = createSignal(snapshot(state()));
  const dirty = () => snapshot(state()) !== baseline();
  const method = createMemo(() => state().method);
  const [slugEdited, setSlugEdited] = createSignal(editing());
  const [touched, setTouched] = createSignal<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = createSignal(false);
  /** Paths edited since the last save attempt: the server's messages for them no longer apply. */
  const [cleared, setCleared] = createSignal<ReadonlySet<string>>(new Set());
  let form: HTMLFormElement | undefined;
  let alert: HTMLDivElement | undefined;

  const reset = (view: ConnectionView | undefined) => {
    const fresh = stateFromView(view);
    setForm(fresh);
    setBaseline(snapshot(fresh));
    setTouched(new Set<string>());
    setSubmitted(false);
    setCleared(new Set<string>());
  };
  // A saved connection comes back as a new view: show it as stored (secret inputs empty again).
  createEffect(on(() => props.view, reset, { defer: true }));

  // Deleting the connection leaves its page too: its edits then go with it, without a question.
  const deleting = useSubmission(deleteConnection, ([slug]) => slug === props.view?.slug);
  useLeaveGuard(dirty, () => deleting.pending, UNSAVED_CHANGES_PROMPT);

  const visible = createMemo(() => visibleFields(method()));
  const input = createMemo(() => buildInput(state(), props.view));
  const schema = createMemo(() => ConnectionInputSchema({ mode: editing() ? 'replace' : 'create', allowLoopback: session.allowLoopback() }));
  const reentry = createMemo(() => secretReentryReason(props.view, state()));
  const clientIssues = createMemo(() => {
    const result = v.safeParse(schema(), input());
    const errors = result.success ? {} : fieldErrors(result.issues);
    const secretField = SECRET_FIELD[method()];
    const secretKey = SECRET_KEYS[method()];
    const reason = reentry();
    if (reason && secretField && secretKey && !state()[secretKey]) {
      errors[`auth.${secretField}`] = [`Enter it again: ${reason}`];
    }
    return placeErrors(errors, visible(), state());
  });
  const clientErrors = () => clientIssues().byField;

  /** The server's problem with the last save, while it still applies. */
  const problem = () => (saving.pending ? undefined : saving.error);
  /** Reads the stored connection again and shows it as stored: nothing of the stale form stays. */
  const { reloading, reload } = useReload(
    () => (props.view ? revalidate(getConnection.keyFor(props.view.slug)) : undefined),
    () => {
      saving.clear();
      reset(props.view);
      if (props.view) notify(`Reloaded “${props.view.name}” as saved now (version ${props.view.version}).`, 'info');
      form?.querySelector<HTMLInputElement>('input:not([readonly])')?.focus();
    },
  );
  const serverErrors = createMemo(() => {
    const err = problem();
    if (!(err instanceof ApiProblemError) || err.status === 412) return {};
    const errors: Record<string, string[]> = { ...err.errors };
    if (err.status === 409 && !errors.slug) errors.slug = [err.detail || err.title];
    return withoutEdited(errors, cleared(), '.');
  });
  const placedServerErrors = createMemo(() => placeErrors(serverErrors(), visible(), state()));

  /** What the alert says: the server's problem, or (after a submit) how many fields need attention. */
  const summary = createMemo(() =>
    formSummary({
      thing: 'connection',
      version: props.view?.version,
      problem: problem(),
      serverOther: placedServerErrors().other,
      submitted: submitted(),
      clientCount: Object.keys(clientIssues().byField).length,
      clientOther: clientIssues().other,
    }),
  );

  /** Messages shown at a field: the client's once it was left or the form submitted, and the server's. */
  const errorsAt = (path: string): string[] => fieldMessages(clientErrors()[path], placedServerErrors().byField[path], submitted() || touched().has(path));

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (saving.pending) return;
    setSubmitted(true);
    setCleared(new Set<string>());
    const result = v.safeParse(schema(), input());
    if (!result.success || Object.keys(clientIssues().byField).length > 0) {
      saving.clear();
      // Advanced opens by itself when a field in it is invalid, before this runs.
      if (!focusFirstInvalid(form)) alert?.focus();
      return;
    }
    try {
      const view = await save(result.output as ConnectionInput, props.view?.slug, props.view?.version);
      setBaseline(snapshot(state()));
      notify(editing() ? `Saved changes to “${view.name}”.` : `Created “${view.name}”. Its relay URL is ready below.`);
      props.onSaved(view);
    } catch {
      // The submission holds the problem; the alert and the fields show it (focused below).
    }
  };
  // The server's verdict arrives with the submission: take the keyboard to what it names.
  createEffect(
    on(problem, (err) => {
      if (err && !focusFirstInvalid(form)) alert?.focus();
    }),
  );

  const discard = () => {
    reset(props.view);
    saving.clear();
    notify('Changes discarded.', 'info');
    form?.querySelector<HTMLInputElement>('input')?.focus();
  };

  /** A stored secret that leaving the field empty keeps (not when a host changed). */
  const keepsStored = (secretMethod: AuthMethod) => hasStoredSecret(props.view, secretMethod) && !reentry();

  const context: ConnectionFormContextValue = {
    state,
    setState,
    view: () => props.view,
    editing,
    errorsAt,
    touch: (path) => setTouched((t) => new Set(t).add(path)),
    edited: (path) => setCleared((c) => (c.has(path) ? c : new Set(c).add(path))),
    keepsStored,
    secretHelp: (secretMethod, fresh) => {
      const reason = hasStoredSecret(props.view, secretMethod) ? reentry() : undefined;
      if (reason) return `A value is stored, but ${reason}: enter it again so it is not sent to a new host.`;
      return keepsStored(secretMethod) ? 'A value is stored. Leave this empty to keep it, or enter a new value to replace it.' : fresh;
    },
    loopbackNote: () => (session.allowLoopback() ? ' This server also accepts http:// to localhost.' : ''),
  };

  return (
    <ConnectionFormContext.Provider value={context}>
      <form ref={form} class="form" onSubmit={submit} noValidate aria-label={editing() ? 'Connection settings' : 'New connection'}>
        <Show when={summary()}>
          {(s) => <FormAlert summary={s()} reloading={reloading()} onReload={() => void reload()} ref={(el) => (alert = el)} />}
        </Show>

        <section class="form-section" aria-labelledby="form-connection">
          <SectionHeading id="form-connection">Connection</SectionHeading>
          <FormField path="name" label="API Name" help="A name for people, e.g. Acme CRM.">
            {(c) => (
              <input
                {...c}
                value={state().name}
                maxLength={100}
                autocomplete="off"
                onInput={(e) => {
                  setState('name', e.currentTarget.value);
                  if (!editing() && !slugEdited()) setState('slug', slugify(e.currentTarget.value));
                  context.edited('name');
                }}
                onBlur={() => context.touch('name')}
              />
            )}
          </FormField>
          <FormField
            path="slug"
            label="Slug"
            help={
              editing()
                ? 'The slug is permanent: it is part of the relay URL and cannot be changed.'
                : 'Names the connection in its relay URL: lowercase letters, digits and hyphens. Suggested from the name. It is permanent once saved.'
            }
          >
            {(c) => (
              <input
                {...c}
                value={state().slug}
                readOnly={editing()}
                aria-readonly={editing() ? 'true' : undefined}
                maxLength={64}
                autocomplete="off"
                autocapitalize="off"
                spellcheck={false}
                onInput={(e) => {
                  setState('slug', e.currentTarget.value);
                  setSlugEdited(e.currentTarget.value !== '');
                  context.edited('slug');
                }}
                onBlur={() => context.touch('slug')}
              />
            )}
          </FormField>
          <TextField
            name="baseUrl"
            path="baseUrl"
            label="Base URL"
            help={<>The API's root, e.g. https://api.example.com/v2. Relay paths are added to it.{context.loopbackNote()}</>}
            type="url"
            inputMode="url"
            placeholder="https://api.example.com/v2"
          />
        </section>

        <section class="form-section" aria-labelledby="form-auth">
          <SectionHeading id="form-auth">Authentication</SectionHeading>
          <ChoiceField
            path="auth.method"
            label="Authentication method"
            help="How the connector proves itself to the API. Only the chosen method's fields are stored."
            options={AUTH_METHODS}
            labels={AUTH_METHOD_LABELS}
            value={method()}
            onChange={(value) => {
              setState('method', value);
              context.edited('auth');
            }}
          />
          <Switch>
            <Match when={method() === 'oauth2_client_credentials'}>
              <OAuthFields />
            </Match>
            <Match when={method() === 'bearer'}>
              <BearerFields />
            </Match>
            <Match when={method() === 'basic'}>
              <BasicFields />
            </Match>
            <Match when={method() === 'api_key'}>
              <ApiKeyFields />
            </Match>
            <Match when={method() === 'none'}>
              <p class="help">Requests are relayed without credentials.</p>
            </Match>
          </Switch>
        </section>

        <RelayPolicyFields />

        <LogSettingsFields />

        <div class="actions form-actions">
          <BusyButton type="submit" class="button-primary" busy={saving.pending}>
            Save
          </BusyButton>
          <Show when={editing() && dirty()}>
            <button type="button" class="button" onClick={discard}>
              Discard changes
            </button>
          </Show>
          {props.actions}
          <Show when={editing()}>
            <span class="status-text" aria-hidden="true">
              {dirty() ? 'Unsaved changes' : 'All changes saved'}
            </span>
          </Show>
        </div>
      </form>
    </ConnectionFormContext.Provider>
  );
}
