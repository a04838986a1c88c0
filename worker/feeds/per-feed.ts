/**
 * Values worked out once per feed object. A feed's record is read once per isolate and cached
 * (`triggerEntry`), never changed in place: a new save is a new object, so a value derived from
 * one stays true for it, and goes with it.
 */
import type { FeedOutput } from '../../contract/feed';

/** `derive`, run once per feed object (its value must not be `undefined`). */
export function perFeed<T extends NonNullable<unknown>>(derive: (feed: FeedOutput) => T): (feed: FeedOutput) => T {
  const memo = new WeakMap<FeedOutput, T>();
  return (feed) => {
    let value = memo.get(feed);
    if (value === undefined) memo.set(feed, (value = derive(feed)));
    return value;
  };
}
