/**
 * The create / edit form of a connection, validated with the shared schema before it is sent and
 * showing the server's field errors at their fields too.
 */
import { useAction } from '@solidjs/router';
import { createEffect, createMemo, createSignal, For, Index, type JSX, on, Show } from 'solid-js';
import * as v from 'valibot';
import {
  AUTH_METHOD_LABELS,
  AUTH_METHODS,
  type AuthMethod,
  ConnectionInputSchema,
  type ConnectionInput,
  type ConnectionView,
  DEFAULT_RELAY_TIMEOUT_MS,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  fieldErrors,
  RELAY_METHODS,
  SECRET_FIELD,
  slugify,
} from '../../contract/connection';
import { ApiProblemError } from '../api/client';
import { saveConnection } from '../data';
import { useSession } from '../session';
import {
  ADVANCED_FIELDS,
  buildInput,
  fieldId,
  type FormState,
  hasStoredSecret,
  SECRET_KEYS,
  secretReentryReason,
  placeErrors,
  stateFromView,
  type TokenParamRow,
  visibleFields,
} from './connection-form-model';
import { Field, type FieldControlProps } from './field';
import { describeError } from './problem-alert';
import { SecretInput } from './secret-input';
import { BusyButton } from './busy';

export const STORED_SECRET_PLACEHOLDER = 'stored — enter a new value to replace';

export interface ConnectionFormProps {
  /** The stored connection when editing; absent when creating. */
  view?: ConnectionView;
  onSaved: (view: ConnectionView) => void;
  /** Extra buttons beside Save (e.g. Cancel). */
  actions?: JSX.Element;
}

type TextKey = { [K in keyof FormState]: FormState[K] extends string ? K : never }[keyof FormState];

export function ConnectionForm(props: ConnectionFormProps) {
  const session = useSession();
  const save = useAction(saveConnection);
  const editing = () => props.view !== undefined;

  const [state, setForm] = createSignal<FormState>(stateFromView(props.view));
  const setState = <K extends keyof FormState>(key: K, value: FormState[K] | ((previous: FormState[K]) => FormState[K])) =>
    setForm((form) => ({ ...form, [key]: typeof value === 'function' ? value(form[key]) : value }));
  const method = createMemo(() => state().method);
  const [slugEdited, setSlugEdited] = createSignal(editing());
  const [touched, setTouched] = createSignal<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = createSignal(false);
  const [serverErrors, setServerErrors] = createSignal<Record<string, string[]>>({});
  const [problem, setProblem] = createSignal<unknown>();
  const [busy, setBusy] = createSignal(false);
  const [saved, setSaved] = createSignal(false);
  const hasAdvanced = (s: FormState) => s.clientAuth !== 'client_secret_basic' || s.tokenParams.length > 0 || s.tokenLifetimeSeconds !== '';
  const [advancedOpen, setAdvancedOpen] = createSignal(hasAdvanced(state()));
  let form: HTMLFormElement | undefined;
  let alert: HTMLDivElement | undefined;

  // A saved connection comes back as a new view: show it as stored (secret inputs empty again).
  createEffect(
    on(
      () => props.view,
      (view) => {
        setForm(stateFromView(view));
        setTouched(new Set<string>());
        setSubmitted(false);
        setServerErrors({});
        setProblem(undefined);
      },
      { defer: true },
    ),
  );

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
    return placeErrors(errors, visible());
  });
  const clientErrors = () => clientIssues().byField;
  const placedServerErrors = createMemo(() => placeErrors(serverErrors(), visible()));

  /** What the alert says: the server's problem, or (after a submit) how many fields need attention. */
  const summary = createMemo(() => {
    if (problem()) {
      const { title, detail } = describeError(problem());
      return { title, detail, messages: placedServerErrors().other };
    }
    const { byField, other } = clientIssues();
    const count = Object.keys(byField).length + other.length;
    if (!submitted() || count === 0) return undefined;
    return { title: 'Check the highlighted fields', detail: `${count} field${count === 1 ? ' needs' : 's need'} attention.`, messages: other };
  });

  /** Messages shown at a field: the client's once it was left or the form submitted, and the server's. */
  const errorsAt = (path: string): string[] => {
    const client = submitted() || touched().has(path) ? (clientErrors()[path] ?? []).slice(0, 1) : [];
    const server = placedServerErrors().byField[path] ?? [];
    return [...new Set([...client, ...server])];
  };

  const touch = (path: string) => setTouched((t) => new Set(t).add(path));

  /** Records an edit: the server's verdict on that field no longer applies. */
  const edited = (path: string) => {
    setSaved(false);
    if (serverErrors()[path] || Object.keys(serverErrors()).some((p) => p.startsWith(`${path}.`))) {
      setServerErrors((errors) => Object.fromEntries(Object.entries(errors).filter(([p]) => p !== path && !p.startsWith(`${path}.`))));
    }
  };

  const setText = (key: TextKey, path: string) => (event: { currentTarget: { value: string } }) => {
    setState(key, event.currentTarget.value as never);
    edited(path);
  };

  const focusFirstInvalid = (): boolean => {
    if (visible().some((p) => ADVANCED_FIELDS.includes(p) && errorsAt(p).length)) setAdvancedOpen(true);
    const invalid = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
    invalid?.focus();
    return !!invalid;
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (busy()) return;
    setSubmitted(true);
    setSaved(false);
    setProblem(undefined);
    const result = v.safeParse(schema(), input());
    if (!result.success || Object.keys(clientIssues().byField).length > 0) {
      if (!focusFirstInvalid()) alert?.focus();
      return;
    }
    setBusy(true);
    try {
      const view = await save(result.output as ConnectionInput, props.view?.slug);
      setServerErrors({});
      setSaved(true);
      props.onSaved(view);
    } catch (err) {
      const errors = err instanceof ApiProblemError ? { ...err.errors } : {};
      if (err instanceof ApiProblemError && err.status === 409 && !errors.slug) errors.slug = [err.detail || err.title];
      setServerErrors(errors);
      setProblem(err);
      if (!focusFirstInvalid()) alert?.focus();
    } finally {
      setBusy(false);
    }
  };

  /** A stored secret that leaving the field empty keeps (not when a host changed). */
  const keepsStored = (secretMethod: AuthMethod) => hasStoredSecret(props.view, secretMethod) && !reentry();
  const secretHelp = (secretMethod: AuthMethod, fresh: string) => {
    const reason = hasStoredSecret(props.view, secretMethod) ? reentry() : undefined;
    if (reason) return `A value is stored, but ${reason}: enter it again so it is not sent to a new host.`;
    return keepsStored(secretMethod) ? 'A value is stored. Leave this empty to keep it, or enter a new value to replace it.' : fresh;
  };

  const field = (path: string, label: string, help: JSX.Element | (() => JSX.Element), control: (c: FieldControlProps) => JSX.Element) => (
    <Field id={fieldId(path)} label={label} help={help} errors={errorsAt(path)}>
      {control}
    </Field>
  );

  const text = (
    key: TextKey,
    path: string,
    label: string,
    help: JSX.Element,
    extra: JSX.InputHTMLAttributes<HTMLInputElement> = {},
  ) =>
    field(path, label, help, (c) => (
      <input {...c} {...extra} value={state()[key]} onInput={setText(key, path)} onBlur={() => touch(path)} />
    ));

  const secret = (key: TextKey, path: string, label: string, secretMethod: AuthMethod, freshHelp: string) =>
    field(path, label, () => secretHelp(secretMethod, freshHelp), (c) => (
      <SecretInput
        {...c}
        value={state()[key]}
        placeholder={keepsStored(secretMethod) ? STORED_SECRET_PLACEHOLDER : undefined}
        autocomplete="new-password"
        onInput={setText(key, path)}
        onBlur={() => touch(path)}
      />
    ));

  // Under the connection page's "Settings" heading the sections are one level down.
  const SectionHeading = (p: { id: string; children: string }) =>
    editing() ? <h3 id={p.id}>{p.children}</h3> : <h2 id={p.id}>{p.children}</h2>;

  const loopbackNote = () => (session.allowLoopback() ? ' This server also accepts http:// to localhost.' : '');

  return (
    <form ref={form} class="form" onSubmit={submit} noValidate aria-label={editing() ? 'Connection settings' : 'New connection'}>
      <Show when={summary()}>
        {(s) => (
          <div class="alert alert-error" role="alert" tabIndex={-1} ref={alert}>
            <p class="alert-title">{s().title}</p>
            <Show when={s().detail && s().detail !== s().title}>
              <p>{s().detail}</p>
            </Show>
            <Show when={s().messages.length}>
              <ul>
                <For each={s().messages}>{(m) => <li>{m}</li>}</For>
              </ul>
            </Show>
          </div>
        )}
      </Show>

      <section class="form-section" aria-labelledby="form-connection">
        <SectionHeading id="form-connection">Connection</SectionHeading>
        {field('name', 'API Name', 'A name for people, e.g. Acme CRM.', (c) => (
          <input
            {...c}
            value={state().name}
            maxLength={100}
            autocomplete="off"
            onInput={(e) => {
              setState('name', e.currentTarget.value);
              if (!editing() && !slugEdited()) setState('slug', slugify(e.currentTarget.value));
              edited('name');
            }}
            onBlur={() => touch('name')}
          />
        ))}
        {field(
          'slug',
          'Slug',
          editing()
            ? 'The slug is permanent: it is part of the relay URL and cannot be changed.'
            : 'Names the connection in its relay URL: lowercase letters, digits and hyphens. Suggested from the name. It is permanent once saved.',
          (c) => (
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
                edited('slug');
              }}
              onBlur={() => touch('slug')}
            />
          ),
        )}
        {text('baseUrl', 'baseUrl', 'Base URL', <>The API's root, e.g. https://api.example.com/v2. Relay paths are added to it.{loopbackNote()}</>, {
          type: 'url',
          inputMode: 'url',
          autocomplete: 'off',
          spellcheck: false,
          placeholder: 'https://api.example.com/v2',
        })}
      </section>

      <section class="form-section" aria-labelledby="form-auth">
        <SectionHeading id="form-auth">Authentication</SectionHeading>
        {field('auth.method', 'Authentication method', 'How the connector proves itself to the API. Only the chosen method\'s fields are stored.', (c) => (
          <select
            {...c}
            value={state().method}
            onChange={(e) => {
              setState('method', e.currentTarget.value as AuthMethod);
              edited('auth');
            }}
          >
            <For each={AUTH_METHODS}>{(m) => <option value={m}>{AUTH_METHOD_LABELS[m]}</option>}</For>
          </select>
        ))}

        <Show when={method() === 'oauth2_client_credentials'}>
          {text('clientId', 'auth.clientId', 'Client ID', "From the API provider's app or client registration.", {
            autocomplete: 'off',
            spellcheck: false,
          })}
          {secret('clientSecret', 'auth.clientSecret', 'Client Secret', 'oauth2_client_credentials', 'Treat it like a password. It is stored encrypted and never shown again.')}
          {text('tokenUrl', 'auth.tokenUrl', 'Token URL', <>The provider's OAuth 2.0 token endpoint, e.g. https://auth.example.com/oauth/token.{loopbackNote()}</>, {
            type: 'url',
            inputMode: 'url',
            autocomplete: 'off',
            spellcheck: false,
          })}
          {text('scope', 'auth.scope', 'Scope', 'Optional. Space-separated scopes to request, e.g. read:orders write:orders.', {
            autocomplete: 'off',
            spellcheck: false,
          })}
          <details class="advanced" open={advancedOpen()} onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}>
            <summary>Advanced</summary>
            {field(
              'auth.clientAuth',
              'Client authentication',
              'How the client ID and secret reach the token endpoint. Most providers take HTTP Basic; some want them in the form body.',
              (c) => (
                <select {...c} value={state().clientAuth} onChange={(e) => setState('clientAuth', e.currentTarget.value as FormState['clientAuth'])}>
                  <option value="client_secret_basic">HTTP Basic header (client_secret_basic)</option>
                  <option value="client_secret_post">Form body (client_secret_post)</option>
                </select>
              ),
            )}
            <TokenParams
              rows={state().tokenParams}
              errors={errorsAt('auth.tokenParams')}
              onChange={(rows) => {
                setState('tokenParams', rows);
                edited('auth.tokenParams');
              }}
              onBlur={() => touch('auth.tokenParams')}
            />
            {text(
              'tokenLifetimeSeconds',
              'auth.tokenLifetimeSeconds',
              'Default token lifetime (seconds)',
              `Used when the token endpoint does not say (expires_in). 60 to 86400; default ${DEFAULT_TOKEN_LIFETIME_SECONDS}.`,
              { type: 'number', inputMode: 'numeric', min: 60, max: 86400, placeholder: String(DEFAULT_TOKEN_LIFETIME_SECONDS) },
            )}
          </details>
        </Show>

        <Show when={method() === 'bearer'}>
          {secret('bearerToken', 'auth.token', 'Token', 'bearer', 'Sent as "Authorization: Bearer <token>". Treat it like a password.')}
        </Show>

        <Show when={method() === 'basic'}>
          {text('username', 'auth.username', 'Username', 'Sent with the password as HTTP Basic authentication.', { autocomplete: 'off', spellcheck: false })}
          {secret('password', 'auth.password', 'Password', 'basic', 'Treat it like a password. It is stored encrypted and never shown again.')}
        </Show>

        <Show when={method() === 'api_key'}>
          {text('apiKeyName', 'auth.name', 'Parameter name', 'The header or query parameter that carries the key. Default x-key.', {
            autocomplete: 'off',
            spellcheck: false,
          })}
          {secret('apiKeyValue', 'auth.value', 'API key', 'api_key', 'The key itself. It is stored encrypted and never shown again.')}
          {field('auth.in', 'Send the key in', 'A request header, or the query string of every call.', (c) => (
            <select {...c} value={state().apiKeyIn} onChange={(e) => setState('apiKeyIn', e.currentTarget.value as FormState['apiKeyIn'])}>
              <option value="header">Header</option>
              <option value="query">Query string</option>
            </select>
          ))}
        </Show>

        <Show when={method() === 'none'}>
          <p class="help">Requests are relayed without credentials.</p>
        </Show>
      </section>

      <section class="form-section" aria-labelledby="form-relay">
        <SectionHeading id="form-relay">Relay policy</SectionHeading>
        <p class="section-help">Optional limits on what callers with a relay key may do.</p>
        <fieldset
          class="field"
          aria-describedby={['f-relay-allowedMethods-help', errorsAt('relay.allowedMethods').length ? 'f-relay-allowedMethods-error' : ''].join(' ').trim()}
        >
          <legend>Allowed methods</legend>
          <div class="checkbox-row">
            <For each={RELAY_METHODS}>
              {(method) => (
                <label class="checkbox">
                  <input
                    type="checkbox"
                    id={method === RELAY_METHODS[0] ? fieldId('relay.allowedMethods') : undefined}
                    aria-invalid={errorsAt('relay.allowedMethods').length ? 'true' : undefined}
                    checked={state().allowedMethods.includes(method)}
                    onChange={(e) => {
                      const checked = e.currentTarget.checked;
                      setState('allowedMethods', (list) => (checked ? RELAY_METHODS.filter((m) => m === method || list.includes(m)) : list.filter((m) => m !== method)));
                      edited('relay.allowedMethods');
                    }}
                  />
                  {method}
                </label>
              )}
            </For>
          </div>
          <p class="help" id="f-relay-allowedMethods-help">
            Leave all unchecked to allow every method.
          </p>
          <FieldErrors id="f-relay-allowedMethods-error" errors={errorsAt('relay.allowedMethods')} />
        </fieldset>
        {field('relay.allowedPaths', 'Allowed path prefixes', 'One per line, e.g. /orders. Leave empty to allow every path under the base URL.', (c) => (
          <textarea {...c} rows={3} spellcheck={false} value={state().allowedPaths} onInput={setText('allowedPaths', 'relay.allowedPaths')} onBlur={() => touch('relay.allowedPaths')} />
        ))}
        {field(
          'relay.allowedOrigins',
          'Allowed browser origins',
          'One per line, e.g. https://shop.example. Web pages on these origins may call the relay (CORS). Leave empty to refuse calls from browsers; servers are not affected.',
          (c) => (
            <textarea {...c} rows={3} spellcheck={false} value={state().allowedOrigins} onInput={setText('allowedOrigins', 'relay.allowedOrigins')} onBlur={() => touch('relay.allowedOrigins')} />
          ),
        )}
        {text('timeoutMs', 'relay.timeoutMs', 'Timeout (ms)', `How long the relay waits for the API. 1000 to 120000; default ${DEFAULT_RELAY_TIMEOUT_MS}.`, {
          type: 'number',
          inputMode: 'numeric',
          min: 1000,
          max: 120000,
          step: 1000,
          placeholder: String(DEFAULT_RELAY_TIMEOUT_MS),
        })}
      </section>

      <div class="actions form-actions">
        <BusyButton type="submit" class="button-primary" busy={busy()}>Save</BusyButton>
        {props.actions}
        <span class="status-text" role="status">
          {saved() ? 'Saved.' : ''}
        </span>
      </div>
    </form>
  );
}

function FieldErrors(props: { id: string; errors: readonly string[] }) {
  return (
    <Show when={props.errors.length}>
      <div class="field-error" id={props.id}>
        <For each={props.errors}>{(m) => <p>{m}</p>}</For>
      </div>
    </Show>
  );
}

interface TokenParamsProps {
  rows: readonly TokenParamRow[];
  errors: readonly string[];
  onChange: (rows: TokenParamRow[]) => void;
  onBlur: () => void;
}

/** Key/value rows of extra token request parameters (e.g. audience, resource). */
function TokenParams(props: TokenParamsProps) {
  const id = fieldId('auth.tokenParams');
  const invalid = () => (props.errors.length ? 'true' : undefined);
  const update = (index: number, change: Partial<TokenParamRow>) =>
    props.onChange(props.rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  let list: HTMLDivElement | undefined;
  const add = () => {
    props.onChange([...props.rows, { name: '', value: '' }]);
    list?.querySelector<HTMLInputElement>('.param-row:last-child input')?.focus();
  };
  return (
    <fieldset class="field" aria-describedby={`${id}-help${props.errors.length ? ` ${id}-error` : ''}`}>
      <legend>Extra token parameters</legend>
      <div class="param-rows" ref={list}>
        <Index each={props.rows}>
          {(row, i) => (
            <div class="param-row">
              <input
                id={i === 0 ? id : undefined}
                aria-label={`Parameter ${i + 1} name`}
                aria-invalid={invalid()}
                placeholder="audience"
                autocomplete="off"
                spellcheck={false}
                value={row().name}
                onInput={(e) => update(i, { name: e.currentTarget.value })}
                onBlur={() => props.onBlur()}
              />
              <input
                aria-label={`Parameter ${i + 1} value`}
                placeholder="https://api.example.com"
                autocomplete="off"
                spellcheck={false}
                value={row().value}
                onInput={(e) => update(i, { value: e.currentTarget.value })}
                onBlur={() => props.onBlur()}
              />
              <button type="button" class="button button-small button-quiet" onClick={() => props.onChange(props.rows.filter((_, j) => j !== i))}>
                Remove<span class="visually-hidden"> parameter {i + 1}</span>
              </button>
            </div>
          )}
        </Index>
      </div>
      <button type="button" class="button button-small" onClick={add}>
        Add parameter
      </button>
      <p class="help" id={`${id}-help`}>
        Added to every token request, e.g. audience or resource. The connector sets grant_type, client_id, client_secret and
        scope itself.
      </p>
      <FieldErrors id={`${id}-error`} errors={props.errors} />
    </fieldset>
  );
}
