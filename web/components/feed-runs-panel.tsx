/**
 * A feed's runs: the last 24 hours' counts by outcome, and the newest runs, filtered by outcome
 * and read again every 5 s while the tab is visible, each opening its details.
 */
import { createAsync, revalidate } from '@solidjs/router';
import { createSignal, For, Show } from 'solid-js';
import { CALL_OUTCOME_LABELS, CALL_OUTCOMES, type CallOutcome } from '../../contract/activity';
import type { FeedRun } from '../../contract/feed-api';
import { dateTime } from '../format';
import * as api from '../feeds-api';
import { getFeedStats, getRun, getRuns } from '../feeds-data';
import './activity.css';
import { DetailsRow } from './details-row';
import { LoadMore } from './load-more';
import { LoadingBoundary } from './loading-boundary';
import { usePager } from './pager';
import { usePolling } from './polling';

const ms = (value: number) => `${Math.round(value).toLocaleString('en')} ms`;
const label = (outcome: string) => CALL_OUTCOME_LABELS[outcome as CallOutcome] ?? outcome;
const json = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

function Stats(props: { feedId: string }) {
  const stats = createAsync(() => getFeedStats(props.feedId));
  return (
    <Show when={stats.latest}>
      {(s) => (
        <Show when={s().total > 0} fallback={<p class="muted">No runs in the last 24 hours.</p>}>
          <dl class="facts facts-inline" aria-label="Runs in the last 24 hours">
            <dt>Runs (24 h)</dt>
            <dd>{s().total.toLocaleString('en')}</dd>
            <For each={Object.entries(s().outcomes).filter(([, n]) => n > 0)}>
              {([outcome, count]) => (
                <>
                  <dt>{label(outcome)}</dt>
                  <dd>{count.toLocaleString('en')}</dd>
                </>
              )}
            </For>
          </dl>
        </Show>
      )}
    </Show>
  );
}

function RunDetails(props: { feedId: string; run: FeedRun }) {
  const full = createAsync(() => getRun(props.feedId, props.run.runId));
  const detail = () => full()?.detail ?? props.run.detail;
  return (
    <Show when={detail()} fallback={<p class="muted">{full() ? 'No details were recorded for this run.' : 'Loading details…'}</p>}>
      {(d) => (
        <div class="run-details">
          <dl class="facts call-details">
            <dt>Run</dt>
            <dd>
              <code>{props.run.runId}</code>
            </dd>
            <dt>Trigger</dt>
            <dd>{props.run.trigger}</dd>
            <dt>Origin</dt>
            <dd>{props.run.origin ?? '—'}</dd>
            <dt>Content type</dt>
            <dd>{d().contentType ?? '—'}</dd>
            <dt>Body size</dt>
            <dd>{d().bodyBytes === null ? '—' : `${d().bodyBytes!.toLocaleString('en')} bytes`}</dd>
            <dt>Fields</dt>
            <dd>{d().fieldNames.length ? d().fieldNames.join(', ') : '—'}</dd>
            <Show when={d().droppedFiles.length}>
              <dt>Dropped files</dt>
              <dd>{d().droppedFiles.join(', ')}</dd>
            </Show>
            <dt>Condition</dt>
            <dd>{d().condition === null ? 'None' : d().condition!.result ? 'Matched' : 'Not matched (skipped)'}</dd>
            <dt>Answer</dt>
            <dd>
              {d().answer.status}
              {d().answer.location ? ` → ${d().answer.location}` : ''}
            </dd>
            <dt>Problem code</dt>
            <dd>{props.run.errorCode ?? '—'}</dd>
          </dl>
          <Show when={d().attempts.length > 0} fallback={<p class="muted">The API was not called.</p>}>
            <table class="table table-compact">
              <caption>Attempts</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Time</th>
                  <th scope="col">Request</th>
                  <th scope="col" class="cell-number">
                    Status
                  </th>
                  <th scope="col" class="cell-number">
                    Duration
                  </th>
                  <th scope="col">Problem</th>
                </tr>
              </thead>
              <tbody>
                <For each={d().attempts}>
                  {(a) => (
                    <tr>
                      <td>{a.n}</td>
                      <td>{dateTime(a.at)}</td>
                      <td>
                        <code>
                          {a.method} {a.url}
                        </code>
                      </td>
                      <td class="cell-number">{a.status ?? '—'}</td>
                      <td class="cell-number">{ms(a.durationMs)}</td>
                      <td>{a.errorCode ?? '—'}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </Show>
          <Show when={d().input !== undefined}>
            <h4>Input (sensitive fields masked)</h4>
            <pre>
              <code>{json(d().input)}</code>
            </pre>
          </Show>
          <Show when={d().requestBody !== undefined}>
            <h4>Request body</h4>
            <pre>
              <code>{json(d().requestBody)}</code>
            </pre>
          </Show>
          <Show when={d().responseBody !== undefined}>
            <h4>Response body (first 2 KiB)</h4>
            <pre>
              <code>{d().responseBody}</code>
            </pre>
          </Show>
        </div>
      )}
    </Show>
  );
}

function RunRow(props: { feedId: string; run: FeedRun }) {
  const r = () => props.run;
  return (
    <DetailsRow
      id={`run-${r().runId}`}
      of={`the run at ${dateTime(r().at)}`}
      colSpan={6}
      cells={
        <>
          <td data-label="Time">
            <time dateTime={r().at}>{dateTime(r().at)}</time>
          </td>
          <td data-label="Trigger">{r().trigger}</td>
          <td data-label="Outcome">
            <span class={`badge o-${r().outcome}`}>{label(r().outcome)}</span>
          </td>
          <td data-label="Status" class="cell-number">
            {r().status}
          </td>
          <td data-label="Duration" class="cell-number">
            {ms(r().durationMs)}
          </td>
        </>
      }
    >
      <LoadingBoundary loading="Loading details…" retry={() => void revalidate(getRun.keyFor(props.feedId, r().runId))}>
        <RunDetails feedId={props.feedId} run={r()} />
      </LoadingBoundary>
    </DetailsRow>
  );
}

function RunTable(props: { feedId: string; outcome: string }) {
  const page = createAsync(() => getRuns(props.feedId, props.outcome));
  const pager = usePager(
    () => page.latest,
    (_, cursor) => api.listRuns(props.feedId, { cursor, outcome: props.outcome || undefined }),
    () => `${props.feedId} ${props.outcome}`,
  );
  /** Newest first; a run already shown (the first page read again by polling) is not repeated. */
  const runs = () => {
    const seen = new Set<string>();
    return pager.pages().flatMap((p) => p.runs).filter((r) => !seen.has(r.runId) && (seen.add(r.runId), true));
  };
  return (
    <Show when={page.latest}>
      {(p) => (
        <>
        <Show
          when={p().runs.length > 0 || runs().length > 0}
          fallback={<p class="muted">{props.outcome ? 'No runs with this outcome among the newest.' : 'No runs yet. Submit the form, or use “Send for real” in the preview.'}</p>}
        >
          <div class="table-scroll">
            <table class="table table-compact calls-table">
              <caption class="visually-hidden">Runs, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Outcome</th>
                  <th scope="col" class="cell-number">
                    Status
                  </th>
                  <th scope="col" class="cell-number">
                    Duration
                  </th>
                  <th scope="col">
                    <span class="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={runs()}>{(run) => <RunRow feedId={props.feedId} run={run} />}</For>
              </tbody>
            </table>
          </div>
        </Show>
        <LoadMore pager={pager}>Load more runs</LoadMore>
        </>
      )}
    </Show>
  );
}

export function FeedRunsPanel(props: { feedId: string }) {
  const [outcome, setOutcome] = createSignal('');
  const refresh = () => void revalidate([getRuns.key, getFeedStats.key]);
  usePolling(refresh);
  return (
    <section class="card panel-wide" aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      <p class="help">Refreshes every 5 seconds while this tab is visible.</p>
      <LoadingBoundary loading="Loading counts…" retry={refresh}>
        <Stats feedId={props.feedId} />
      </LoadingBoundary>
      <div class="field">
        <label for="runs-outcome">Outcome</label>
        <select id="runs-outcome" onChange={(e) => setOutcome(e.currentTarget.value)}>
          <option value="" selected={outcome() === ''}>
            Any outcome
          </option>
          <For each={CALL_OUTCOMES}>
            {(o) => (
              <option value={o} selected={outcome() === o}>
                {CALL_OUTCOME_LABELS[o]}
              </option>
            )}
          </For>
        </select>
      </div>
      <LoadingBoundary loading="Loading runs…" retry={refresh}>
        <RunTable feedId={props.feedId} outcome={outcome()} />
      </LoadingBoundary>
    </section>
  );
}
