/**
 * "Send a test request": one request through the relay with the connection's credentials, built
 * here (method, path, query, headers, JSON body) and answered with status, headers, body and
 * duration, and for OAuth the token step (never a token). Logged as a `test` call.
 */
import { useAction, useSubmission } from '@solidjs/router';
import { createSignal, Index, Match, Show, Switch } from 'solid-js';
import * as v from 'valibot';
import { TEST_REQUEST_METHODS, TestRequestSchema, type TestRequestAnswer, type TestRequestInput } from '../../contract/activity';
import { type ConnectionView, fieldErrors } from '../../contract/connection';
import { sendTestRequest } from '../activity-data';
import './activity.css';
import { BusyButton } from './busy';
import { ProblemAlert } from './problem-alert';

type Method = (typeof TEST_REQUEST_METHODS)[number];
interface Row {
  name: string;
  value: string;
}

/** The body pretty-printed when it is JSON, else as it came. */
export function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function Rows(props: { legend: string; noun: string; rows: Row[]; onChange: (rows: Row[]) => void; namePlaceholder: string; valuePlaceholder: string }) {
  let list: HTMLDivElement | undefined;
  const update = (index: number, patch: Partial<Row>) => props.onChange(props.rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  const add = () => {
    props.onChange([...props.rows, { name: '', value: '' }]);
    list?.querySelector<HTMLInputElement>('.param-row:last-child input')?.focus();
  };
  const remove = (index: number) => {
    props.onChange(props.rows.filter((_, j) => j !== index));
    const inputs = list?.querySelectorAll<HTMLInputElement>('.param-row input');
    (inputs?.[Math.min(index, props.rows.length - 1) * 2] ?? list?.parentElement?.querySelector<HTMLButtonElement>('.add-param'))?.focus();
  };
  return (
    <fieldset class="field">
      <legend>{props.legend}</legend>
      <div class="param-rows" ref={list}>
        <Index each={props.rows}>
          {(row, i) => (
            <div class="param-row">
              <input
                aria-label={`${props.noun} ${i + 1} name`}
                placeholder={props.namePlaceholder}
                autocomplete="off"
                spellcheck={false}
                value={row().name}
                onInput={(e) => update(i, { name: e.currentTarget.value })}
              />
              <input
                aria-label={`${props.noun} ${i + 1} value`}
                placeholder={props.valuePlaceholder}
                autocomplete="off"
                spellcheck={false}
                value={row().value}
                onInput={(e) => update(i, { value: e.currentTarget.value })}
              />
              <button type="button" class="button button-small button-quiet" onClick={() => remove(i)}>
                Remove<span class="visually-hidden">{` ${props.noun.toLowerCase()} ${i + 1}`}</span>
              </button>
            </div>
          )}
        </Index>
      </div>
      <button type="button" class="button button-small add-param" onClick={add}>
        Add {props.noun.toLowerCase()}
      </button>
    </fieldset>
  );
}

function Answer(props: { answer: TestRequestAnswer; oauth: boolean }) {
  const a = () => props.answer;
  const ok = () => a().status >= 200 && a().status < 300;
  return (
    <div class={`result ${ok() ? 'result-ok' : 'result-failed'}`}>
      <h3>
        Answered {a().status} in {a().durationMs} ms
      </h3>
      <Show when={a().problem}>
        {(p) => (
          <div class="alert alert-error">
            <p class="alert-title">The relay refused: {p().title}</p>
            <p>{p().detail}</p>
            <p>
              Problem code <code>{p().code}</code>
            </p>
          </div>
        )}
      </Show>
      <dl class="facts">
        <dt>Status</dt>
        <dd>{a().status}</dd>
        <dt>Duration</dt>
        <dd>{a().durationMs} ms</dd>
        <Show when={props.oauth || a().token}>
          <dt>Token</dt>
          <dd>
            {a().token
              ? a().token!.fetched
                ? `Requested from the Token URL for this call (${a().token!.durationMs} ms)`
                : `Cached token used (${a().token!.durationMs} ms)`
              : 'Not needed'}
          </dd>
        </Show>
      </dl>
      <details class="answer-headers">
        <summary>Headers ({a().headers.length})</summary>
        <dl class="facts">
          <Index each={a().headers}>
            {(h) => (
              <>
                <dt>
                  <code>{h()[0]}</code>
                </dt>
                <dd>{h()[1]}</dd>
              </>
            )}
          </Index>
        </dl>
      </details>
      <h4>Body</h4>
      <Show when={a().body !== ''} fallback={<p class="muted">Empty body.</p>}>
        <pre class="answer-body" tabIndex={0} aria-label="Answer body">
          <code>{prettyBody(a().body)}</code>
        </pre>
      </Show>
      <Show when={a().truncated}>
        <p class="help">Only the first 64 KiB of the body are shown.</p>
      </Show>
    </div>
  );
}

export function TestRequestPanel(props: { view: ConnectionView }) {
  const send = useAction(sendTestRequest);
  const sending = useSubmission(sendTestRequest, ([slug]) => slug === props.view.slug);
  const answer = () => (sending.pending ? undefined : sending.result);
  const [method, setMethod] = createSignal<Method>('GET');
  const [path, setPath] = createSignal((props.view.relay?.allowedPaths?.[0] ?? '/').replace(/^(?!\/)/, '/'));
  const [query, setQuery] = createSignal<Row[]>([]);
  const [headers, setHeaders] = createSignal<Row[]>([]);
  const [body, setBody] = createSignal('');
  const [errors, setErrors] = createSignal<Record<string, string[]>>({});
  const bodyless = () => method() === 'GET' || method() === 'HEAD';
  let result: HTMLDivElement | undefined;

  const input = (): TestRequestInput => {
    const rows = (list: Row[]) => list.filter((r) => r.name.trim() || r.value).map((r) => ({ name: r.name.trim(), value: r.value }));
    const out: TestRequestInput = { method: method(), path: path().trim() };
    if (rows(query()).length) out.query = rows(query());
    if (rows(headers()).length) out.headers = rows(headers());
    if (!bodyless() && body() !== '') out.body = body();
    return out;
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (sending.pending) return;
    const parsed = v.safeParse(TestRequestSchema, input());
    let found: Record<string, string[]> = parsed.success ? {} : fieldErrors(parsed.issues);
    if (!bodyless() && body().trim()) {
      try {
        JSON.parse(body());
      } catch {
        found = { ...found, body: ['Not JSON: check the quotes, commas and brackets'] };
      }
    }
    setErrors(found);
    if (Object.keys(found).length) {
      sending.clear();
      (document.querySelector<HTMLElement>('#test-request [aria-invalid="true"]') ?? result)?.focus();
      return;
    }
    try {
      await send(props.view.slug, input());
    } catch {
      // Shown from the submission below.
    }
    result?.focus();
  };

  const messages = (prefix: string) =>
    Object.entries(errors())
      .filter(([p]) => p === prefix || p.startsWith(`${prefix}.`))
      .flatMap(([, m]) => m);
  const err = (id: string, prefix: string) => (
    <Show when={messages(prefix).length}>
      <div class="field-error" id={id}>
        {messages(prefix).map((m) => (
          <p>{m}</p>
        ))}
      </div>
    </Show>
  );

  return (
    <section class="card panel-wide" aria-labelledby="test-request-title" id="test-request">
      <h2 id="test-request-title" tabIndex={-1}>
        Send a test request
      </h2>
      <p>
        Sends one request through the relay to <code>{props.view.baseUrl}</code> with the connection's credentials (and
        its policy). It is logged as a test call.
      </p>
      <form class="form" onSubmit={submit} noValidate aria-label="Test request">
        <div class="request-line">
          <div class="field">
            <label for="tr-method">Method</label>
            <select id="tr-method" onChange={(e) => setMethod(e.currentTarget.value as Method)}>
              {TEST_REQUEST_METHODS.map((m) => (
                <option value={m} selected={m === method()}>
                  {m}
                </option>
              ))}
            </select>
          </div>
          <div class="field" classList={{ 'field-invalid': messages('path').length > 0 }}>
            <label for="tr-path">Path</label>
            <input
              id="tr-path"
              value={path()}
              autocomplete="off"
              spellcheck={false}
              aria-describedby={`tr-path-help${messages('path').length ? ' tr-path-error' : ''}`}
              aria-invalid={messages('path').length ? 'true' : undefined}
              onInput={(e) => setPath(e.currentTarget.value)}
            />
            <p class="help" id="tr-path-help">
              Added to the Base URL, e.g. /orders. Query parameters go below.
            </p>
            {err('tr-path-error', 'path')}
          </div>
        </div>
        <Rows legend="Query parameters" noun="Parameter" rows={query()} onChange={setQuery} namePlaceholder="status" valuePlaceholder="open" />
        {err('tr-query-error', 'query')}
        <Rows legend="Headers (optional)" noun="Header" rows={headers()} onChange={setHeaders} namePlaceholder="Accept" valuePlaceholder="application/json" />
        {err('tr-headers-error', 'headers')}
        <div class="field" classList={{ 'field-invalid': messages('body').length > 0 }}>
          <label for="tr-body">JSON body</label>
          <textarea
            id="tr-body"
            rows={4}
            class="mono"
            spellcheck={false}
            disabled={bodyless()}
            value={body()}
            aria-describedby={`tr-body-help${messages('body').length ? ' tr-body-error' : ''}`}
            aria-invalid={messages('body').length ? 'true' : undefined}
            onInput={(e) => setBody(e.currentTarget.value)}
          />
          <p class="help" id="tr-body-help">
            {bodyless() ? `A ${method()} request has no body: choose POST, PUT, PATCH or DELETE to send one.` : 'Sent as application/json unless a Content-Type header says otherwise. At most 64 KiB.'}
          </p>
          {err('tr-body-error', 'body')}
        </div>
        <div class="actions">
          <BusyButton type="submit" class="button-primary" busy={sending.pending}>
            Send request
          </BusyButton>
        </div>
      </form>
      {/* A short line is announced; the answer itself takes the focus, to be read at will. */}
      <p class="visually-hidden" role="status">
        {sending.pending ? 'Sending…' : answer() ? `Answered ${answer()!.status} in ${answer()!.durationMs} ms${answer()!.problem ? `: the relay refused, ${answer()!.problem!.title}` : ''}` : ''}
      </p>
      <div class="result-region" tabIndex={-1} ref={result} role="region" aria-label="Test request result">
        <Switch>
          <Match when={answer()}>{(a) => <Answer answer={a()} oauth={props.view.auth.method === 'oauth2_client_credentials'} />}</Match>
        </Switch>
      </div>
      <Show when={!sending.pending && sending.error}>
        <ProblemAlert error={sending.error} />
      </Show>
    </section>
  );
}
