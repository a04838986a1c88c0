/**
 * The end of a paged listing: a "Load more" button while a next page exists, and the failure to
 * load it, with a retry. Lazy pages only: the connections list on the first load keeps its own.
 */
import { Show } from 'solid-js';
import { BusyButton } from './busy';
import type { Pager } from './pager';
import { ProblemAlert } from './problem-alert';

export function LoadMore(props: { pager: Omit<Pager<unknown>, 'pages'>; children: string }) {
  return (
    <>
      <Show when={props.pager.cursor()}>
        <div class="actions list-more">
          <BusyButton busy={props.pager.loadingMore()} onClick={() => void props.pager.loadMore()}>
            {props.children}
          </BusyButton>
        </div>
      </Show>
      <Show when={props.pager.moreError()}>{(error) => <ProblemAlert error={error()} onRetry={() => void props.pager.loadMore()} />}</Show>
    </>
  );
}
