/**
 * The feed editor's live preview: a dry run of what is typed (a draft, or the saved feed when
 * nothing changed) against a sample submission and an optional sample upstream answer, showing
 * the rendered request, each condition rule, the warnings and what the caller would get. "Send
 * for real" makes the upstream call, after a confirmation, and is marked live.
 */
import { createEffect, createSignal, For, on, onCleanup, Show } from 'solid-js';
import type { DryRunAnswer, DryRunAnswerKind, DryRunRequest, DryRunWarning } from '../../contract/feed-api';
import { CONDITION_OP_LABELS, type ConditionOp } from '../../contract/feed';
import * as api from '../feeds-api';
import { ConfirmButton } from './confirm-button';
import { type FieldDraft, sampleInput } from './feed-form-model';
import { ProblemAlert } from './problem-alert';

/** How long typing pauses before the preview is asked again. */
export const PREVIEW_DEBOUNCE_MS = 400;

const DEFAULT_SAMPLE_RESPONSE = JSON.stringify({ status: 201, headers: { 'content-type': 'application/json' }, body: { id: 'm_1' } }, null, 2);

const pretty = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

/** One warning in words. */
export function warningText(w: DryRunWarning): string {
  switch (w.code) {
    case 'missing-source':
      return `${w.pointer ?? 'A pointer'} has no value${w.row ? ` (row ${w.row})` : ''}${w.effect ? `: ${w.effect === 'omitted' ? 'left out' : `sent as ${w.effect}`}` : ''}.`;
    case 'unknown-field':
      return `“${w.name}” is not a declared field (kept in /input).`;
    case 'dropped-file':
      return `The file “${w.name}” is not used by any row and is dropped.`;
    case 'unresolved-response':
      return `${w.pointer ?? 'A /response pointer'} is unresolved: give a sample response to see it.`;
    case 'duplicate-key':
      return `The key “${w.name}” appears twice in the JSON; the last one wins.`;
    default:
      return (w as { code: string }).code;
  }
}

function parseJson(text: string, what: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `${what} is not valid JSON: ${(err as Error).message}` };
  }
}

function Result(props: { answer: DryRunAnswer; live: boolean }) {
  const a = () => props.answer;
  return (
    <div class="preview-result" classList={{ 'preview-live': props.live }}>
      <Show when={props.live}>
        <p class="badge badge-live">Live: really sent{a().runId ? `, logged as run ${a().runId}` : ''}</p>
      </Show>
      <h3>Condition</h3>
      <Show when={a().condition.rules.length > 0} fallback={<p class="muted">No rules: the feed always runs.</p>}>
        <p>{a().condition.result ? 'Matches: the request is sent.' : 'Does not match: nothing is sent (outcome skipped).'}</p>
        <ul class="preview-rules">
          <For each={a().condition.rules}>
            {(rule) => (
              <li>
                <span class={rule.matched ? 'result-ok' : 'result-failed'}>{rule.matched ? 'Matched' : 'Not matched'}</span>{' '}
                <code>{rule.source}</code> {CONDITION_OP_LABELS[rule.op as ConditionOp] ?? rule.op} {rule.value !== undefined && rule.value !== '' ? <code>{rule.value}</code> : null} (was{' '}
                <code>{rule.actual === undefined ? 'missing' : JSON.stringify(rule.actual)}</code>)
              </li>
            )}
          </For>
        </ul>
      </Show>
      <Show when={a().request}>
        {(req) => (
          <>
            <h3>Request</h3>
            <p class="request-line">
              <code>
                {req().method} {req().url}
              </code>
            </p>
            <table class="table table-compact">
              <caption class="visually-hidden">Request headers</caption>
              <tbody>
                <For each={Object.entries(req().headers)}>
                  {([name, value]) => (
                    <tr>
                      <th scope="row">
                        <code>{name}</code>
                      </th>
                      <td>
                        <code>{value}</code>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <Show when={req().body !== undefined}>
              <pre aria-label="Request body">
                <code>{pretty(req().body)}</code>
              </pre>
            </Show>
          </>
        )}
      </Show>
      <Show when={a().warnings.length > 0}>
        <h3>Warnings</h3>
        <ul class="warning-text">
          <For each={a().warnings}>{(w) => <li>{warningText(w)}</li>}</For>
        </ul>
      </Show>
      <Show when={a().problem}>
        {(p) => (
          <p class="result-failed">
            {p().title} (<code>{p().code}</code>): {p().detail}
          </p>
        )}
      </Show>
      <Show when={a().upstream}>
        {(up) => (
          <>
            <h3>Upstream answer</h3>
            <p>
              {up().status} in {up().durationMs} ms
            </p>
            <pre aria-label="Upstream body">
              <code>{pretty(up().body)}</code>
            </pre>
          </>
        )}
      </Show>
      <h3>Caller gets</h3>
      <p>
        <strong>{a().answer.status}</strong>
        <Show when={a().answer.location}>
          {(location) => (
            <>
              {' '}
              redirect to <code>{location()}</code>
            </>
          )}
        </Show>
      </p>
      <Show when={a().answer.body !== undefined}>
        <pre aria-label="Caller answer">
          <code>{pretty(a().answer.body)}</code>
        </pre>
      </Show>
    </div>
  );
}

export interface FeedPreviewProps {
  /** The saved feed's id (absent for a new feed). */
  feedId?: string;
  /** The FeedInput as typed. */
  input: Record<string, unknown>;
  valid: boolean;
  /** Typed changes not saved: the draft is previewed, not the saved feed. */
  dirty: boolean;
  fields: readonly FieldDraft[];
}

export function FeedPreview(props: FeedPreviewProps) {
  const [sample, setSample] = createSignal(JSON.stringify(sampleInput(props.fields), null, 2));
  const [sampleEdited, setSampleEdited] = createSignal(false);
  const [as, setAs] = createSignal<DryRunAnswerKind>('json');
  const [useResponse, setUseResponse] = createSignal(false);
  const [responseText, setResponseText] = createSignal(DEFAULT_SAMPLE_RESPONSE);
  const [answer, setAnswer] = createSignal<{ answer: DryRunAnswer; live: boolean }>();
  const [error, setError] = createSignal<unknown>();
  const [local, setLocal] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  const [sending, setSending] = createSignal(false);
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));

  // Until the sample is edited, it follows the declared fields.
  createEffect(
    on(
      () => JSON.stringify(props.fields.map((f) => [f.name, f.format, f.multiple])),
      () => {
        if (!sampleEdited()) setSample(JSON.stringify(sampleInput(props.fields), null, 2));
      },
      { defer: true },
    ),
  );

  /** The dry run's body, or a message saying what to fix first. */
  const body = (send: boolean): DryRunRequest | string => {
    if (!props.valid) return 'Fix the highlighted fields of the feed to see the preview.';
    const input = parseJson(sample(), 'The sample input');
    if (!input.ok) return input.message;
    if (!input.value || typeof input.value !== 'object' || Array.isArray(input.value)) return 'The sample input is a JSON object, e.g. {"email": "someone@example.com"}.';
    const request: DryRunRequest = { input: input.value as Record<string, unknown>, as: as(), send };
    if (useResponse() && !send) {
      const response = parseJson(responseText(), 'The sample response');
      if (!response.ok) return response.message;
      request.sampleResponse = response.value as DryRunRequest['sampleResponse'];
    }
    if (props.feedId === undefined || props.dirty) request.feed = props.input;
    return request;
  };
  const target = () => (props.feedId !== undefined && !props.dirty ? props.feedId : undefined);

  const run = async (send: boolean) => {
    const request = body(send);
    const mine = ++seq;
    if (typeof request === 'string') {
      setLocal(request);
      return;
    }
    setLocal(undefined);
    if (send) setSending(true);
    else setBusy(true);
    try {
      const result = await api.dryRun(target(), request);
      if (mine !== seq) return;
      setAnswer({ answer: result, live: send });
      setError(undefined);
    } catch (err) {
      if (mine === seq) setError(err);
    } finally {
      if (mine === seq) {
        setBusy(false);
        setSending(false);
      }
    }
  };

  createEffect(
    on(
      () => JSON.stringify([props.input, props.valid, props.dirty, sample(), as(), useResponse(), responseText()]),
      () => {
        clearTimeout(timer);
        timer = setTimeout(() => void run(false), PREVIEW_DEBOUNCE_MS);
      },
    ),
  );

  return (
    <section class="card feed-preview" aria-labelledby="preview-title">
      <h2 id="preview-title">Preview</h2>
      <p class="help">A dry run of the feed as typed: nothing is sent to the API, and Origin, rate limits and duplicates are not checked.</p>
      <div class="field">
        <label for="preview-input">Sample input (JSON)</label>
        <textarea
          id="preview-input"
          class="mono"
          rows={6}
          spellcheck={false}
          aria-describedby="preview-input-help"
          value={sample()}
          onInput={(e) => {
            setSample(e.currentTarget.value);
            setSampleEdited(true);
          }}
        />
        <p class="help" id="preview-input-help">
          The submitted fields as /input sees them; filled in from the declared fields until edited.
        </p>
      </div>
      <fieldset class="field">
        <legend>Caller</legend>
        <div class="checkbox-row">
          <label class="checkbox checkbox-plain">
            <input type="radio" name="preview-as" checked={as() === 'json'} onChange={() => setAs('json')} /> JSON (fetch or webhook)
          </label>
          <label class="checkbox checkbox-plain">
            <input type="radio" name="preview-as" checked={as() === 'navigation'} onChange={() => setAs('navigation')} /> Browser form (navigation)
          </label>
        </div>
      </fieldset>
      <label class="checkbox checkbox-plain">
        <input type="checkbox" checked={useResponse()} onChange={(e) => setUseResponse(e.currentTarget.checked)} /> Use a sample API response
      </label>
      <Show when={useResponse()}>
        <div class="field">
          <label for="preview-response">Sample response (JSON)</label>
          <textarea id="preview-response" class="mono" rows={5} spellcheck={false} value={responseText()} onInput={(e) => setResponseText(e.currentTarget.value)} />
        </div>
      </Show>
      <p class="status-text" role="status">
        {busy() ? 'Updating the preview…' : ''}
      </p>
      <Show when={local()}>{(message) => <p class="muted">{message()}</p>}</Show>
      <Show when={error()}>{(err) => <ProblemAlert error={err()} onRetry={() => void run(false)} />}</Show>
      <Show when={!local() && answer()}>{(a) => <Result answer={a().answer} live={a().live} />}</Show>
      <div class="preview-send">
        <ConfirmButton
          label="Send for real"
          prompt="Send this request to the API now, with the connection's credentials? It is a live call, logged as a dry-run run."
          confirmLabel="Yes, send it"
          busy={sending()}
          onConfirm={() => run(true)}
        />
      </div>
    </section>
  );
}
