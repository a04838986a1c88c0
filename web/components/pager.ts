/**
 * Paging a listing with its cursor ("Load more"): the first page from a router query, the pages
 * loaded after it, and the state of loading the next one. A fresh first page (another filter, or
 * read again after a change) starts the paging over, unless a `key` says what starts it over
 * (a listing whose first page is polled keeps the older pages it loaded while its filter stays).
 */
import { createEffect, createSignal, on } from 'solid-js';

export interface Pager<P> {
  /** The first page and those loaded after it. */
  pages: () => P[];
  /** Where the next page starts; null at the end. */
  cursor: () => string | null;
  loadMore: () => Promise<void>;
  loadingMore: () => boolean;
  moreError: () => unknown;
}

/** `first` is the first page (a router query's `latest`), `next` loads the page at a cursor. */
export function usePager<P extends { cursor: string | null }>(
  first: () => P | undefined,
  next: (head: P, cursor: string) => Promise<P>,
  key: () => unknown = first,
): Pager<P> {
  const [more, setMore] = createSignal<P[]>([]);
  const [loadingMore, setLoadingMore] = createSignal(false);
  const [moreError, setMoreError] = createSignal<unknown>();
  createEffect(
    on(
      key,
      () => {
        setMore([]);
        setMoreError(undefined);
      },
      { defer: true },
    ),
  );
  const pages = () => {
    const head = first();
    return head ? [head, ...more()] : [];
  };
  const cursor = () => pages().at(-1)?.cursor ?? null;
  const loadMore = async () => {
    const head = first();
    const from = cursor();
    const started = key();
    if (!head || !from || loadingMore()) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await next(head, from);
      if (key() === started) setMore((list) => [...list, page]);
    } catch (error) {
      setMoreError(error);
    } finally {
      setLoadingMore(false);
    }
  };
  return { pages, cursor, loadMore, loadingMore, moreError };
}
