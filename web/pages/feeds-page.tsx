/** All feeds, across connections (`/feeds`). */
import { A } from '@solidjs/router';
import { FeedsList, newFeedHref } from '../components/feeds-list';
import { headingRef, usePageTitle } from '../components/page-title';

export function FeedsPage() {
  usePageTitle(() => 'Feeds');
  return (
    <>
      <div class="page-header">
        <h1 tabIndex={-1} ref={headingRef}>
          Feeds
        </h1>
        <A href={newFeedHref()} class="button button-primary">
          New feed
        </A>
      </div>
      <p class="help list-note">New or changed feeds may take up to a minute to show here; a feed's own page is always current.</p>
      <FeedsList connection="" headingLevel={2} />
    </>
  );
}
