/**
 * The feed editor: every part of a feed (trigger, declared input, condition, request, response,
 * log), validated with the shared `validateFeedInput` as it is typed and showing the server's
 * errors at the row their JSON Pointer names. Saves with If-Match; a 412 offers a reload; leaving
 * with unsaved changes asks first. The live preview beside it dry-runs what is typed.
 */
import { createAsync, revalidate, useAction, useSubmission } from '@solidjs/router';
import { createEffect, createMemo, createSignal, For, type JSX, on, onCleanup, Show } from 'solid-js';
import {
  BODY_FORMAT_LABELS,
  BODY_FORMATS,
  COERCION_LABELS,
  COERCIONS,
  CONDITION_OP_LABELS,
  CONDITION_OPS,
  FEED_CONTENT_TYPE_LABELS,
  FEED_CONTENT_TYPES,
  FEED_METHODS,
  type FeedInput,
  FLAT_BODY_FORMATS,
  IF_MISSING,
  IF_MISSING_LABELS,
  INPUT_FORMATS,
  LOG_LEVEL_LABELS,
  LOG_LEVELS,
  QUERY_ARRAY_FORMAT_LABELS,
  QUERY_ARRAY_FORMATS,
  validateFeedInput,
} from '../../contract/feed';
import type { FeedAnswer } from '../../contract/feed-api';
import { ApiProblemError } from '../api/client';
import { getConnections } from '../data';
import { deleteFeed, getFeed, saveFeed } from '../feeds-data';
import { useSession } from '../session';
import { BusyButton } from './busy';
import { Choice, createDraft, DraftCheck, DraftText, FeedFormContext, type FeedFormContextValue, PField, Rows, RowText, useFeedForm } from './feed-fields';
import { GroupErrors } from './field';
import {
  buildInput,
  controlId,
  convertPath,
  draftFromView,
  emptyField,
  emptyRow,
  type FeedDraft,
  type PathContext,
  placeErrors,
  pointerSuggestions,
  type RowDraft,
} from './feed-form-model';
import { FeedPreview } from './feed-preview';
import { fieldMessages, focusFirstInvalid, FormAlert, formSummary, useLeaveGuard, useReload, withoutEdited } from './form-summary';
import { notify } from './notices';

/** Asked before leaving the editor with changes that were not saved. */
export const UNSAVED_FEED_PROMPT = 'Leave without saving? Your changes to this feed will be lost.';

const yesNo = { ignore: 'Ignore them (kept in /input, flagged in the preview)', reject: 'Refuse the submission (400)' } as const;
const LOGIC_LABELS = { all: 'All rules match', any: 'Any rule matches' } as const;
const FORMAT_LABELS: Record<(typeof INPUT_FORMATS)[number] | '', string> = { '': 'Any text', email: 'Email', number: 'Number', integer: 'Whole number', url: 'URL' };
const KIND_LABELS = { value: 'Template', source: 'Pointer' } as const;
const METHOD_LABELS = Object.fromEntries(FEED_METHODS.map((m) => [m, m])) as Record<(typeof FEED_METHODS)[number], string>;
const OPS_WITHOUT_VALUE = ['empty', 'notempty'];

const snapshot = (draft: FeedDraft) => JSON.stringify(draft);

export interface FeedFormProps {
  /** The stored feed when editing. */
  view?: FeedAnswer;
  /** A new feed's connection (from `?connection=`). */
  connection?: string;
  onSaved: (feed: FeedAnswer) => void;
}

/** The connection of a new feed: a choice of the connections (their first page), or the one given. */
function ConnectionChoice() {
  const form = useFeedForm();
  const page = createAsync(() => getConnections(''));
  const slugs = () => {
    const listed = (page()?.connections ?? []).map((c) => ({ slug: c.slug, name: c.name }));
    const chosen = form.draft.connection;
    return chosen && !listed.some((c) => c.slug === chosen) ? [{ slug: chosen, name: chosen }, ...listed] : listed;
  };
  return (
    <PField pointer="/connection" label="Connection" help="The API the feed calls, with that connection's credentials. It cannot be changed after the feed is created.">
      {(c) => (
        <select
          {...c}
          onChange={(e) => {
            form.setDraft('connection', e.currentTarget.value);
            form.edited('/connection');
          }}
        >
          <option value="" selected={form.draft.connection === ''}>
            Choose a connection
          </option>
          <For each={slugs()}>
            {(conn) => (
              <option value={conn.slug} selected={conn.slug === form.draft.connection}>
                {conn.name} ({conn.slug})
              </option>
            )}
          </For>
        </select>
      )}
    </PField>
  );
}

/** Body or response-data rows: target, template or pointer, type and what a missing value does. */
function MappingRows(props: {
  pointer: string;
  legend: string;
  noun: string;
  help: JSX.Element;
  rows: RowDraft[];
  onChange: (rows: RowDraft[]) => void;
  withResponse: boolean;
  withCoercion: boolean;
  targetHelp?: string;
}) {
  const update = (i: number, patch: Partial<RowDraft>) => props.onChange(props.rows.map((row, j) => (j === i ? { ...row, ...patch } : row)));
  const lists = () => (props.withResponse ? ['feed-sources-response', 'feed-templates-response'] : ['feed-sources', 'feed-templates']);
  const context: PathContext = props.withResponse ? 'response' : 'input';
  return (
    <Rows pointer={props.pointer} legend={props.legend} noun={props.noun} help={props.help} rows={props.rows} onChange={props.onChange} make={emptyRow}>
      {(row, i, legend) => {
        const at = `${props.pointer}/${i}`;
        return (
          <div class="feed-row-grid">
            <RowText pointer={`${at}/target`} label={`${legend} target`} value={row().target} path="target" placeholder="/email_address" onInput={(target) => update(i, { target })} />
            <Choice pointer={`${at}/kind`} label={`${legend} reads`} options={['value', 'source'] as const} labels={KIND_LABELS} value={row().kind} onChange={(kind) => update(i, { kind })} />
            {/* Keyed: the control moves to the other pointer (`…/value` or `…/source`) with its errors. */}
            <Show when={row().kind} keyed>
              {(kind) => (
                <RowText
                  pointer={`${at}/${kind}`}
                  label={`${legend} ${kind === 'value' ? 'template' : 'pointer'}`}
                  value={row().text}
                  list={kind === 'value' ? lists()[1] : lists()[0]}
                  path={kind === 'source' ? context : undefined}
                  placeholder={kind === 'value' ? '{{/input/email}}' : props.withResponse ? '/response/body/id' : '/input/email'}
                  onInput={(text) => update(i, { text })}
                />
              )}
            </Show>
            <Show when={props.withCoercion}>
              <Choice pointer={`${at}/as`} label={`${legend} type`} options={COERCIONS} labels={COERCION_LABELS} value={row().as} onChange={(as) => update(i, { as })} />
            </Show>
            <Choice pointer={`${at}/ifMissing`} label={`${legend} when missing`} options={IF_MISSING} labels={IF_MISSING_LABELS} value={row().ifMissing} onChange={(ifMissing) => update(i, { ifMissing })} />
          </div>
        );
      }}
    </Rows>
  );
}

/** Query or header rows: a literal name and a template value. */
function NamedRows(props: { pointer: '/request/query' | '/request/headers'; key: 'query' | 'headers'; legend: string; noun: string; help: JSX.Element }) {
  const form = useFeedForm();
  const rows = () => form.draft[props.key];
  const set = (next: FeedDraft['query']) => form.setDraft(props.key, next);
  const update = (i: number, patch: Partial<FeedDraft['query'][number]>) => set(rows().map((row, j) => (j === i ? { ...row, ...patch } : row)));
  return (
    <Rows pointer={props.pointer} legend={props.legend} noun={props.noun} help={props.help} rows={rows()} onChange={set} make={() => ({ name: '', value: '', ifMissing: 'omit' as const })}>
      {(row, i, legend) => (
        <div class="feed-row-grid">
          <RowText pointer={`${props.pointer}/${i}/name`} label={`${legend} name`} value={row().name} onInput={(name) => update(i, { name })} />
          <RowText pointer={`${props.pointer}/${i}/value`} label={`${legend} value`} value={row().value} list="feed-templates" onInput={(value) => update(i, { value })} />
          <Choice pointer={`${props.pointer}/${i}/ifMissing`} label={`${legend} when missing`} options={IF_MISSING} labels={IF_MISSING_LABELS} value={row().ifMissing} onChange={(ifMissing) => update(i, { ifMissing })} />
        </div>
      )}
    </Rows>
  );
}

function Section(props: { id: string; title: string; help?: JSX.Element; children: JSX.Element }) {
  return (
    <section class="form-section" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      <Show when={props.help}>
        <p class="section-help">{props.help}</p>
      </Show>
      {props.children}
    </section>
  );
}

export function FeedForm(props: FeedFormProps) {
  const session = useSession();
  const save = useAction(saveFeed);
  const saving = useSubmission(saveFeed, (input) => input[1] === props.view?.id);
  const editing = () => props.view !== undefined;

  const { draft, setDraft, replace, current } = createDraft(draftFromView(props.view, props.connection));
  const [baseline, setBaseline] = createSignal(snapshot(current()));
  const dirty = () => snapshot(current()) !== baseline();
  const [touched, setTouched] = createSignal<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = createSignal(false);
  const [cleared, setCleared] = createSignal<ReadonlySet<string>>(new Set());
  const [shown, setShown] = createSignal<ReadonlySet<string>>(new Set());
  let form: HTMLFormElement | undefined;
  let alert: HTMLDivElement | undefined;

  const reset = (view: FeedAnswer | undefined) => {
    const fresh = draftFromView(view, props.connection);
    replace(fresh);
    setBaseline(snapshot(fresh));
    setTouched(new Set<string>());
    setSubmitted(false);
    setCleared(new Set<string>());
  };
  // A saved feed comes back as a new view: show it as stored. Another change read meanwhile (a
  // rotated public key) does not throw away what is being typed.
  createEffect(on(() => props.view, (view) => !dirty() && reset(view), { defer: true }));

  const deleting = useSubmission(deleteFeed, ([id]) => id === props.view?.id);
  useLeaveGuard(dirty, () => deleting.pending, UNSAVED_FEED_PROMPT);

  const input = createMemo(() => buildInput(current(), props.view));
  const validation = createMemo(() =>
    validateFeedInput(input(), { storedTurnstileSecret: props.view?.trigger.browser.turnstile.secretKeySet ?? false, allowLoopback: session.allowLoopback() }),
  );
  const clientErrors = () => {
    const result = validation();
    return result.success ? {} : result.errors;
  };
  const clientPlaced = createMemo(() => placeErrors(clientErrors(), shown()));

  const problem = () => (saving.pending ? undefined : saving.error);
  /** Reads the stored feed again and shows it as stored: nothing of the stale draft stays. */
  const { reloading, reload } = useReload(
    () => (props.view ? revalidate(getFeed.keyFor(props.view.id)) : undefined),
    () => {
      saving.clear();
      reset(props.view);
      if (props.view) notify(`Reloaded “${props.view.name}” as saved now (version ${props.view.version}).`, 'info');
      form?.querySelector<HTMLInputElement>('input')?.focus();
    },
  );
  const serverPlaced = createMemo(() => {
    const err = problem();
    if (!(err instanceof ApiProblemError) || err.status === 412) return { byPointer: {} as Record<string, string[]>, other: [] as string[] };
    return placeErrors(withoutEdited(err.errors, cleared(), '/'), shown());
  });

  const summary = createMemo(() =>
    formSummary({
      thing: 'feed',
      version: props.view?.version,
      problem: problem(),
      serverOther: serverPlaced().other,
      submitted: submitted(),
      clientCount: Object.keys(clientPlaced().byPointer).length,
      clientOther: clientPlaced().other,
    }),
  );

  const errorsAt = (pointer: string): string[] =>
    fieldMessages(clientPlaced().byPointer[pointer], serverPlaced().byPointer[pointer], submitted() || touched().has(pointer));

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (saving.pending) return;
    setSubmitted(true);
    setCleared(new Set<string>());
    const result = validation();
    if (!result.success) {
      saving.clear();
      queueMicrotask(() => {
        if (!focusFirstInvalid(form)) alert?.focus();
      });
      return;
    }
    try {
      const feed = await save(input() as FeedInput, props.view?.id, props.view?.version);
      setBaseline(snapshot(current()));
      notify(editing() ? `Saved changes to “${feed.name}”. They are live within a minute.` : `Created “${feed.name}”. Its trigger URL is ready below.`);
      props.onSaved(feed);
    } catch {
      // The submission holds the problem; the alert and the fields show it.
    }
  };
  createEffect(
    on(problem, (err) => {
      if (err) queueMicrotask(() => !focusFirstInvalid(form) && alert?.focus());
    }),
  );

  const discard = () => {
    reset(props.view);
    saving.clear();
    notify('Changes discarded.', 'info');
    form?.querySelector<HTMLInputElement>('input')?.focus();
  };

  const context: FeedFormContextValue = {
    draft,
    setDraft,
    errorsAt,
    show: (pointer) => {
      setShown((s) => new Set(s).add(pointer));
      onCleanup(() =>
        setShown((s) => {
          const next = new Set(s);
          next.delete(pointer);
          return next;
        }),
      );
    },
    touch: (pointer) => setTouched((t) => new Set(t).add(pointer)),
    edited: (pointer) => setCleared((c) => (c.has(pointer) ? c : new Set(c).add(pointer))),
    convert: (text, context) => {
      const pointer = convertPath(text, context);
      if (pointer === undefined) return text;
      notify(`Converted the path “${text.trim()}” to the pointer ${pointer}.`, 'info');
      return pointer;
    },
    editing,
  };

  context.show('/trigger/contentTypes');
  const sources = (withResponse: boolean) => pointerSuggestions(draft.fields, withResponse);
  const bodyless = () => draft.method === 'GET' || draft.method === 'DELETE';
  const flat = () => FLAT_BODY_FORMATS.includes(draft.bodyFormat);

  return (
    <FeedFormContext.Provider value={context}>
      <div class="feed-editor">
        <form ref={form} class="form feed-form" onSubmit={submit} noValidate aria-label={editing() ? 'Feed settings' : 'New feed'}>
          <datalist id="feed-sources">
            <For each={sources(false)}>{(p) => <option value={p} />}</For>
          </datalist>
          <datalist id="feed-sources-response">
            <For each={sources(true)}>{(p) => <option value={p} />}</For>
          </datalist>
          <datalist id="feed-templates">
            <For each={sources(false)}>{(p) => <option value={`{{${p}}}`} />}</For>
          </datalist>
          <datalist id="feed-templates-response">
            <For each={sources(true)}>{(p) => <option value={`{{${p}}}`} />}</For>
          </datalist>

          <Show when={summary()}>
            {(s) => <FormAlert summary={s()} reloading={reloading()} onReload={() => void reload()} ref={(el) => (alert = el)} />}
          </Show>

          <Section id="feed-general" title="Feed">
            <DraftText name="name" pointer="/name" label="Name" help="A name for people, e.g. Newsletter signup → Acme CRM." maxLength={100} />
            <DraftText name="description" pointer="/description" label="Description" help="Optional: what the feed is for." maxLength={1000} />
            <DraftCheck name="enabled" pointer="/enabled" label="Enabled" help="A disabled feed answers 404, as an unknown one does." />
            <Show
              when={editing()}
              fallback={<ConnectionChoice />}
            >
              <PField pointer="/connection" label="Connection" help="Fixed once the feed is created.">
                {(c) => <input {...c} value={draft.connection} readOnly aria-readonly="true" class="mono" />}
              </PField>
            </Show>
          </Section>

          <Section id="feed-trigger" title="Trigger" help="How callers reach the feed: HTML forms and pages (browser), servers with a trigger key, or both.">
            <DraftCheck name="browserEnabled" pointer="/trigger/browser/enabled" label="Browser forms and fetch" help="Accepts posts from the listed origins only; the server checks Origin itself." />
            <Show when={draft.browserEnabled}>
              <Rows
                pointer="/trigger/browser/allowedOrigins"
                legend="Allowed origins"
                noun="Origin"
                help="Exact origins of the pages that post, e.g. https://shop.example (no path, no trailing slash)."
                rows={draft.allowedOrigins}
                onChange={(rows) => setDraft('allowedOrigins', rows)}
                make={() => ''}
              >
                {(row, i, legend) => (
                  <RowText pointer={`/trigger/browser/allowedOrigins/${i}`} label={legend} value={row()} placeholder="https://shop.example" onInput={(value) => setDraft('allowedOrigins', i, value)} />
                )}
              </Rows>
              <DraftText
                name="honeypotField"
                pointer="/trigger/browser/honeypotField"
                label="Honeypot field"
                help="Optional: a hidden field people leave empty. A submission that fills it gets the normal success answer and is not sent. Use a non-obvious name such as company_website."
              />
            </Show>
            <DraftCheck name="serverEnabled" pointer="/trigger/server/enabled" label="Server webhooks" help="Accepts JSON from servers that send a trigger key as Authorization: Bearer ftk_… (create keys below once the feed is saved)." />
            <fieldset class="field" id={controlId('/trigger/contentTypes')}>
              <legend>Content types</legend>
              <div class="checkbox-row">
                <For each={FEED_CONTENT_TYPES}>
                  {(type) => (
                    <label class="checkbox checkbox-plain">
                      <input
                        type="checkbox"
                        checked={draft.contentTypes.includes(type)}
                        onChange={(e) => {
                          const on = e.currentTarget.checked;
                          setDraft('contentTypes', FEED_CONTENT_TYPES.filter((t) => (t === type ? on : draft.contentTypes.includes(t))));
                          context.edited('/trigger/contentTypes');
                        }}
                      />
                      {FEED_CONTENT_TYPE_LABELS[type]}
                    </label>
                  )}
                </For>
              </div>
              <GroupErrors id={`${controlId('/trigger/contentTypes')}-error`} errors={errorsAt('/trigger/contentTypes')} />
            </fieldset>
          </Section>

          <Section id="feed-input" title="Input fields" help="The fields the form sends. Declared fields are checked before anything is sent, offered for autocomplete below, and masked in logs when sensitive.">
            <Rows pointer="/input/fields" legend="Declared fields" noun="Field" rows={draft.fields} onChange={(rows) => setDraft('fields', rows)} make={emptyField}>
              {(row, i, legend) => {
                const at = `/input/fields/${i}`;
                const set = (patch: Partial<FeedDraft['fields'][number]>) => {
                  setDraft('fields', i, patch);
                };
                return (
                  <div class="feed-row-grid">
                    <RowText pointer={`${at}/name`} label={`${legend} name`} value={row().name} placeholder="email" onInput={(name) => set({ name })} />
                    <Choice pointer={`${at}/format`} label={`${legend} format`} options={['', ...INPUT_FORMATS] as const} labels={FORMAT_LABELS} value={row().format} onChange={(format) => set({ format })} />
                    <RowText pointer={`${at}/maxLength`} label={`${legend} maximum length`} value={row().maxLength} placeholder="none" onInput={(maxLength) => set({ maxLength })} />
                    <div class="checkbox-row">
                      <For each={['required', 'multiple', 'sensitive'] as const}>
                        {(flag) => {
                          const text = flag === 'required' ? 'Required' : flag === 'multiple' ? 'Multiple values' : 'Sensitive (masked in logs)';
                          return (
                            <label class="checkbox checkbox-plain">
                              {/* The row's name in the control's too: "Required" alone is in every row. */}
                              <input
                                type="checkbox"
                                aria-label={`${legend}: ${text}`}
                                checked={row()[flag]}
                                onChange={(e) => {
                                  set({ [flag]: e.currentTarget.checked });
                                  context.edited(`${at}/${flag}`);
                                }}
                              />
                              {text}
                            </label>
                          );
                        }}
                      </For>
                    </div>
                  </div>
                );
              }}
            </Rows>
            <Choice pointer="/input/unknownFields" label="Undeclared fields" options={['ignore', 'reject'] as const} labels={yesNo} value={draft.unknownFields} onChange={(v) => setDraft('unknownFields', v)} />
          </Section>

          <Section id="feed-condition" title="Condition" help="Optional: the feed runs only when the rules match; otherwise the caller gets the normal success answer and nothing is sent. No rules: it always runs.">
            <Show when={draft.rules.length > 0}>
              <Choice pointer="/condition/logic" label="Run when" options={['all', 'any'] as const} labels={LOGIC_LABELS} value={draft.logic} onChange={(v) => setDraft('logic', v)} />
            </Show>
            <Rows pointer="/condition/rules" legend="Rules" noun="Rule" rows={draft.rules} onChange={(rows) => setDraft('rules', rows)} make={() => ({ source: '', op: 'is' as const, value: '' })}>
              {(row, i, legend) => (
                <div class="feed-row-grid">
                  <RowText pointer={`/condition/rules/${i}/source`} label={`${legend} source`} value={row().source} list="feed-sources" path="input" placeholder="/input/consent" onInput={(source) => setDraft('rules', i, { source })} />
                  <Choice pointer={`/condition/rules/${i}/op`} label={`${legend} comparison`} options={CONDITION_OPS} labels={CONDITION_OP_LABELS} value={row().op} onChange={(op) => setDraft('rules', i, { op })} />
                  <Show when={!OPS_WITHOUT_VALUE.includes(row().op)}>
                    <RowText pointer={`/condition/rules/${i}/value`} label={`${legend} value`} value={row().value} onInput={(value) => setDraft('rules', i, { value })} />
                  </Show>
                </div>
              )}
            </Rows>
          </Section>

          <Section
            id="feed-request"
            title="Request"
            help={
              <>
                What is sent to the connection's API. Values are templates: text with <code>{'{{/input/email}}'}</code> placeholders (JSON Pointers; a
                value that is one placeholder keeps its type). GravityWP-style paths such as <code>items[0].sku</code> are turned into pointers.
              </>
            }
          >
            <Choice pointer="/request/method" label="Method" options={FEED_METHODS} labels={METHOD_LABELS} value={draft.method} onChange={(v) => setDraft('method', v)} />
            <DraftText name="path" pointer="/request/path" label="Path" list="feed-templates" class="mono" help="Relative to the connection's Base URL, e.g. /lists/{{/input/list_id}}/members. Placeholders are encoded as one path segment." />
            <NamedRows pointer="/request/query" key="query" legend="Query parameters" noun="Query parameter" help="Added to the URL; a missing value leaves the parameter out unless set otherwise." />
            <NamedRows pointer="/request/headers" key="headers" legend="Headers" noun="Header" help="Names are literal. Authorization, Cookie, Host and hop-by-hop headers are set by the connector and cannot be set here." />
            <Choice pointer="/request/body/format" label="Body format" options={BODY_FORMATS} labels={BODY_FORMAT_LABELS} value={draft.bodyFormat} onChange={(v) => setDraft('bodyFormat', v)} help={bodyless() ? `${draft.method} requests carry no body: choose “No body” and use query parameters.` : undefined} />
            <Show when={draft.bodyFormat === 'form' || draft.bodyFormat === 'multipart'}>
              <Choice pointer="/request/body/queryArrayFormat" label="Lists are sent as" options={QUERY_ARRAY_FORMATS} labels={QUERY_ARRAY_FORMAT_LABELS} value={draft.queryArrayFormat} onChange={(v) => setDraft('queryArrayFormat', v)} />
            </Show>
            <Show when={draft.bodyFormat === 'raw'}>
              <DraftText name="rawContentType" pointer="/request/body/raw/contentType" label="Raw content type" class="mono" help="e.g. text/xml or application/json (JSON types escape inserted values)." />
              <DraftText name="rawTemplate" pointer="/request/body/raw/template" label="Raw template" multiline help="The body as text with {{/pointer}} placeholders." />
            </Show>
            <Show when={draft.bodyFormat !== 'raw' && draft.bodyFormat !== 'none'}>
              <MappingRows
                pointer="/request/body/fields"
                legend="Body fields"
                noun="Body field"
                help={flat() ? 'Each target is one field name, e.g. /email.' : 'Each target is a JSON Pointer into the body, e.g. /merge_fields/FNAME; /tags/- appends to a list.'}
                rows={draft.bodyFields}
                onChange={(rows) => setDraft('bodyFields', rows)}
                withResponse={false}
                withCoercion
              />
            </Show>
            <DraftText name="timeoutMs" pointer="/request/timeoutMs" label="Timeout (ms)" inputMode="numeric" help="1000 to 30000; default 10000." />
          </Section>

          <Section id="feed-response" title="Response" help="What the trigger's caller gets back. Only mapped values leave; the upstream's body is never passed on whole.">
            <DraftText name="successStatuses" pointer="/response/successStatuses" label="Success statuses" help="2xx, or a list such as 200, 201, 409." />
            <MappingRows
              pointer="/response/json/data"
              legend="JSON answer data"
              noun="Data field"
              help="Fields of data in the JSON answer {ok, runId, data}, read from /response/body/…, /input/… or /meta/…."
              rows={draft.data}
              onChange={(rows) => setDraft('data', rows)}
              withResponse
              withCoercion={false}
            />
            <DraftText name="errorDetail" pointer="/response/json/errorDetail" label="Error detail" list="feed-sources-response" path="response" class="mono" help="Optional: a pointer such as /response/body/detail whose text JSON callers get when the API refuses." />
            <DraftText name="successUrl" pointer="/response/redirect/successUrl" label="Success URL" list="feed-templates-response" help="Where a browser form goes after success, e.g. https://shop.example/thanks. Its origin must be an allowed origin. Empty: a built-in thank-you page." />
            <DraftText name="errorUrl" pointer="/response/redirect/errorUrl" label="Error URL" list="feed-templates-response" help="Where it goes on failure; {{/meta/errorCode}} says why. Empty: a built-in error page." />
          </Section>

          <Section id="feed-log" title="Run log" help="Every run is logged without secrets, tokens or keys.">
            <Choice pointer="/log/level" label="Log level" options={LOG_LEVELS} labels={LOG_LEVEL_LABELS} value={draft.logLevel} onChange={(v) => setDraft('logLevel', v)} help="Values means submitted data (personal data) is stored with each run; sensitive fields are masked." />
            <DraftText name="retainDays" pointer="/log/retainDays" label="Keep runs for (days)" inputMode="numeric" help="1 to 30; default 7. Never longer than the connection keeps its calls." />
            <DraftCheck name="logSuccess" pointer="/log/logSuccess" label="Log successful runs" help="Failures are always logged." />
          </Section>

          <div class="actions form-actions">
            <BusyButton type="submit" class="button-primary" busy={saving.pending}>
              {editing() ? 'Save' : 'Create feed'}
            </BusyButton>
            <Show when={editing() && dirty()}>
              <button type="button" class="button" onClick={discard}>
                Discard changes
              </button>
            </Show>
            <Show when={editing()}>
              <span class="status-text" aria-hidden="true">
                {dirty() ? 'Unsaved changes' : 'All changes saved'}
              </span>
            </Show>
          </div>
          <p class="help">Edits are live within a minute: the edge may answer with the previous version until then. The preview always uses what is typed here.</p>
        </form>
        <FeedPreview feedId={props.view?.id} input={input()} valid={validation().success} dirty={dirty()} fields={draft.fields} />
      </div>
    </FeedFormContext.Provider>
  );
}
