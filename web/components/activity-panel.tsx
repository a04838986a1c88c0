/**
 * A connection's activity: calls over time by outcome with the p95 latency (1 h, 24 h, 7 d), and
 * the recent calls, newest first, filtered by outcome and kind, paged with the log's cursor, each
 * opening its details. Both are read again every 5 s while the browser tab is visible.
 */
import { createAsync, revalidate } from '@solidjs/router';
import { createMemo, createSignal, For, Show } from 'solid-js';
import {
  type Call,
  CALL_KIND_LABELS,
  CALL_KINDS,
  CALL_OUTCOME_LABELS,
  CALL_OUTCOMES,
  type CallKind,
  type CallOutcome,
  type StatsAnswer,
  STATS_WINDOWS,
  type StatsWindow,
} from '../../contract/activity';
import type { ConnectionView } from '../../contract/connection';
import * as api from '../api/client';
import { CALLS_PAGE_SIZE, getCallStats, getCalls } from '../activity-data';
import { dateTime } from '../format';
import './activity.css';
import { CopyButton } from './copy-button';
import { DetailsRow } from './details-row';
import { LoadMore } from './load-more';
import { LoadingBoundary } from './loading-boundary';
import { usePager } from './pager';
import { usePolling } from './polling';
import { RELAY_KEY_PLACEHOLDER } from './usage-panel';

export { ACTIVITY_POLL_MS } from './polling';

const WINDOW_LABELS: Record<StatsWindow, string> = { '1h': '1 hour', '24h': '24 hours', '7d': '7 days' };
/** The outcomes a chart stacks, in this order from the bottom; the rest (feeds') follow when present. */
const STACK_ORDER: readonly CallOutcome[] = CALL_OUTCOMES;

const TIME = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const DAY_TIME = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });

/** "14:03:07" for today, "Nov 28, 14:03" before. */
export function callTime(iso: string, now = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return new Date(at).toDateString() === new Date(now).toDateString() ? TIME.format(at) : DAY_TIME.format(at);
}

const ms = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `${Math.round(value).toLocaleString('en')} ms`);
const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)} %`);

// ---- Chart

/** A bucket's outcomes as stacked parts: each with its count and the running total at its top. */
export function stack(outcomes: Partial<Record<CallOutcome, number>>): { outcome: CallOutcome; count: number; top: number }[] {
  let top = 0;
  return STACK_ORDER.filter((o) => (outcomes[o] ?? 0) > 0).map((outcome) => {
    const count = outcomes[outcome]!;
    top += count;
    return { outcome, count, top };
  });
}

const CHART_W = 600;
const CHART_H = 160;
const PAD_TOP = 8;

/** Stacked bars of calls per bucket by outcome, and a line of each bucket's p95 on its own scale. */
export function CallsChart(props: { stats: StatsAnswer }) {
  const buckets = () => props.stats.buckets;
  const maxTotal = () => Math.max(1, ...buckets().map((b) => b.total));
  const maxP95 = () => Math.max(1, ...buckets().map((b) => b.p95Ms ?? 0));
  const slot = () => CHART_W / Math.max(1, buckets().length);
  const y = (count: number) => ((CHART_H - PAD_TOP) * count) / maxTotal();
  const present = () => STACK_ORDER.filter((o) => (props.stats.totals.outcomes[o] ?? 0) > 0);
  const line = () =>
    buckets()
      .map((b, i) => (b.p95Ms === null ? null : `${(i + 0.5) * slot()},${CHART_H - ((CHART_H - PAD_TOP) * b.p95Ms) / maxP95()}`))
      .filter(Boolean)
      .join(' ');
  const first = () => buckets()[0]?.start;
  const last = () => buckets().at(-1)?.start;
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${CHART_W} ${CHART_H}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Calls per ${Math.round(props.stats.bucketSeconds / 60)} minutes by outcome, with the p95 latency as a line. Highest bar ${maxTotal()} calls; highest p95 ${ms(maxP95())}.`}
      >
        <line class="chart-axis" x1="0" x2={CHART_W} y1={CHART_H - 0.5} y2={CHART_H - 0.5} />
        <For each={buckets()}>
          {(b, i) => (
            <g>
              <title>{`${dateTime(b.start)}: ${b.total} calls${b.p95Ms !== null ? `, p95 ${ms(b.p95Ms)}` : ''}`}</title>
              <For each={stack(b.outcomes)}>
                {(part) => <rect class={`bar o-${part.outcome}`} x={i() * slot() + slot() * 0.1} width={slot() * 0.8} y={CHART_H - y(part.top)} height={y(part.count)} />}
              </For>
            </g>
          )}
        </For>
        <Show when={line()}>
          <polyline class="chart-p95" points={line()} fill="none" vector-effect="non-scaling-stroke" />
        </Show>
      </svg>
      <div class="chart-scale" aria-hidden="true">
        <span>{first() ? callTime(first()!) : ''}</span>
        <span>{last() ? callTime(last()!) : ''}</span>
      </div>
      <figcaption>
        <ul class="legend">
          <For each={present()}>
            {(o) => (
              <li>
                <span class={`swatch o-${o}`} aria-hidden="true" />
                {CALL_OUTCOME_LABELS[o]}: {props.stats.totals.outcomes[o]}
              </li>
            )}
          </For>
          <li>
            <span class="swatch swatch-line" aria-hidden="true" />
            p95 latency (up to {ms(maxP95())})
          </li>
        </ul>
      </figcaption>
    </figure>
  );
}

function StatsView(props: { slug: string; window: StatsWindow }) {
  const stats = createAsync(() => getCallStats(props.slug, props.window));
  return (
    <Show when={stats.latest}>
      {(s) => (
        <>
          <dl class="facts facts-inline">
            <dt>Calls</dt>
            <dd>{s().totals.total.toLocaleString('en')}</dd>
            <dt>Errors</dt>
            <dd>{percent(s().totals.errorRate)}</dd>
            <dt>p50</dt>
            <dd>{ms(s().totals.p50Ms)}</dd>
            <dt>p95</dt>
            <dd>{ms(s().totals.p95Ms)}</dd>
          </dl>
          <Show when={s().totals.total > 0} fallback={<p class="muted">No calls in the last {WINDOW_LABELS[props.window]}.</p>}>
            <CallsChart stats={s()} />
          </Show>
        </>
      )}
    </Show>
  );
}

// ---- Calls

function CallDetails(props: { call: Call }) {
  const c = props.call;
  const yesNo = (b: boolean) => (b ? 'Yes' : 'No');
  const facts: [string, string][] = [
    ['Id', c.id],
    ['Time', `${dateTime(c.at)} (${c.at})`],
    ['Kind', CALL_KIND_LABELS[c.kind] ?? c.kind],
    ['Method', c.method],
    ['Path', c.path],
    ['Status', String(c.status)],
    ['Upstream status', c.upstreamStatus === null ? 'Not reached' : String(c.upstreamStatus)],
    ['Outcome', CALL_OUTCOME_LABELS[c.outcome] ?? c.outcome],
    ['Duration', ms(c.durationMs)],
    ['Relay key', c.keyName ?? '—'],
    ['Retried with a fresh token', yesNo(c.retried)],
    ['Token requested', yesNo(c.tokenFetched)],
    ['Bytes in', c.bytesIn === null ? '—' : c.bytesIn.toLocaleString('en')],
    ['Bytes out', c.bytesOut === null ? '—' : c.bytesOut.toLocaleString('en')],
    ['Origin', c.origin ?? '—'],
    ['Problem code', c.errorCode ?? '—'],
  ];
  if (c.count !== undefined) facts.push(['Calls this entry stands for', String(c.count)]);
  if (c.feedId !== undefined) facts.push(['Feed', c.feedId]);
  if (c.runId !== undefined) facts.push(['Run', c.runId]);
  if (c.trigger !== undefined) facts.push(['Trigger', c.trigger]);
  return (
    <dl class="facts call-details">
      <For each={facts}>
        {([term, value]) => (
          <>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </>
        )}
      </For>
    </dl>
  );
}

function CallRow(props: { call: Call }) {
  const c = () => props.call;
  return (
    <DetailsRow
      id={`call-${c().id}`}
      of={`the call at ${dateTime(c().at)}`}
      class={`call-row outcome-${c().outcome}`}
      colSpan={9}
      cells={
        <>
          <td data-label="Time">
            <time dateTime={c().at} title={dateTime(c().at)}>
              {callTime(c().at)}
            </time>
          </td>
          <td data-label="Kind">{CALL_KIND_LABELS[c().kind] ?? c().kind}</td>
          <td data-label="Method">
            <code>{c().method}</code>
          </td>
          <td data-label="Path" class="cell-path">
            <code>{c().path}</code>
          </td>
          <td data-label="Status" class="cell-number">
            {c().status}
          </td>
          <td data-label="Outcome">
            <span class={`badge o-${c().outcome}`}>{CALL_OUTCOME_LABELS[c().outcome] ?? c().outcome}</span>
            <Show when={(c().count ?? 1) > 1}> ×{c().count}</Show>
          </td>
          <td data-label="Duration" class="cell-number">
            {ms(c().durationMs)}
          </td>
          <td data-label="Key">{c().keyName ?? '—'}</td>
        </>
      }
    >
      <CallDetails call={c()} />
    </DetailsRow>
  );
}

/** What a connection without calls shows: how to make the first one. */
function NoCallsYet(props: { view: ConnectionView }) {
  const example = () => `curl "${props.view.relayUrl}/" \\\n  -H "Authorization: Bearer ${RELAY_KEY_PLACEHOLDER}"`;
  return (
    <div class="empty-activity">
      <h3>No calls yet</h3>
      <p>Calls through the relay show here within seconds. Make a first one with a relay key (create one under Relay keys):</p>
      <div class="snippet">
        <div class="snippet-head">
          <span class="label">curl</span>
          <CopyButton text={example()} label="Copy first call example" />
        </div>
        <pre>
          <code>{example()}</code>
        </pre>
      </div>
      <p>
        Or <a href="#test-request-title">send a test request</a> from this page: no key needed, and it is logged as a
        test.
      </p>
    </div>
  );
}

function CallTable(props: { view: ConnectionView; outcomes: CallOutcome[]; kinds: CallKind[] }) {
  const args = () => [props.view.slug, props.outcomes.join(','), props.kinds.join(',')] as const;
  const first = createAsync(() => getCalls(...args()));
  // Other filters start the paging over; the first page read again by polling keeps the older pages.
  const pager = usePager(
    () => first.latest,
    (_, from) => api.listCalls(props.view.slug, { limit: CALLS_PAGE_SIZE, cursor: from, outcomes: props.outcomes, kinds: props.kinds }),
    () => args().join('|'),
  );
  /** Newest first; a call already shown (the first page read again by polling) is not repeated. */
  const rows = createMemo(() => {
    const seen = new Set<string>();
    return pager.pages().flatMap((p) => p.calls).filter((c) => !seen.has(c.id) && (seen.add(c.id), true));
  });
  const cursor = pager.cursor;
  const filtered = () => props.outcomes.length > 0 || props.kinds.length > 0;
  return (
    <Show when={first.latest}>
      <Show
        when={rows().length > 0}
        fallback={
          filtered() ? (
            <p class="muted">No calls match these filters{cursor() ? ' among the newest: load more to look further back' : ''}.</p>
          ) : (
            <NoCallsYet view={props.view} />
          )
        }
      >
        <div class="table-scroll">
          <table class="table table-compact calls-table">
            <caption class="visually-hidden">Recent calls, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Method</th>
                <th scope="col">Path</th>
                <th scope="col" class="cell-number">
                  Status
                </th>
                <th scope="col">Outcome</th>
                <th scope="col" class="cell-number">
                  Duration
                </th>
                <th scope="col">Key</th>
                <th scope="col">
                  <span class="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={rows()}>{(call) => <CallRow call={call} />}</For>
            </tbody>
          </table>
        </div>
      </Show>
      <LoadMore pager={pager}>Load more calls</LoadMore>
    </Show>
  );
}

function CheckboxGroup<T extends string>(props: { legend: string; options: readonly T[]; labels: Record<T, string>; value: T[]; onChange: (value: T[]) => void }) {
  return (
    <fieldset class="filter-group">
      <legend>{props.legend}</legend>
      <div class="checkbox-row">
        <For each={props.options}>
          {(option) => (
            <label class="checkbox checkbox-plain">
              {/* The group's name in the control's too: "Token" alone is also a field of the settings form. */}
              <input
                type="checkbox"
                aria-label={`${props.legend}: ${props.labels[option]}`}
                checked={props.value.includes(option)}
                onChange={(e) => {
                  const on = e.currentTarget.checked;
                  props.onChange(props.options.filter((o) => (o === option ? on : props.value.includes(o))));
                }}
              />
              <span class="visually-hidden">{`${props.legend}: `}</span>
              {props.labels[option]}
            </label>
          )}
        </For>
      </div>
    </fieldset>
  );
}

export function ActivityPanel(props: { view: ConnectionView }) {
  const [span, setSpan] = createSignal<StatsWindow>('24h');
  const [outcomes, setOutcomes] = createSignal<CallOutcome[]>([]);
  const [kinds, setKinds] = createSignal<CallKind[]>([]);
  const refresh = () => void revalidate([getCalls.key, getCallStats.key]);
  usePolling(refresh);

  return (
    <section class="card panel-wide" aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <div class="activity-head">
        <div class="segmented" role="group" aria-label="Time window">
          <For each={STATS_WINDOWS}>
            {(w) => (
              <button type="button" class="button button-small" aria-pressed={span() === w} onClick={() => setSpan(w)}>
                {w}
              </button>
            )}
          </For>
        </div>
        <p class="help">Refreshes every 5 seconds while this tab is visible.</p>
      </div>
      <LoadingBoundary loading="Loading activity…" retry={refresh}>
        <StatsView slug={props.view.slug} window={span()} />
      </LoadingBoundary>

      <h3 id="calls-title">Recent calls</h3>
      <div class="filters">
        <CheckboxGroup legend="Outcome" options={CALL_OUTCOMES} labels={CALL_OUTCOME_LABELS} value={outcomes()} onChange={setOutcomes} />
        <CheckboxGroup legend="Kind" options={CALL_KINDS} labels={CALL_KIND_LABELS} value={kinds()} onChange={setKinds} />
      </div>
      <LoadingBoundary loading="Loading calls…" retry={refresh}>
        <CallTable view={props.view} outcomes={outcomes()} kinds={kinds()} />
      </LoadingBoundary>
    </section>
  );
}
