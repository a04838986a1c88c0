/** Any address the dashboard does not know. */
import { A } from '@solidjs/router';
import { headingRef, usePageTitle } from '../components/page-title';

export function NotFoundPage() {
  usePageTitle(() => 'Page not found');
  return (
    <>
      <h1 tabIndex={-1} ref={headingRef}>Page not found</h1>
      <p>
        There is nothing at this address. <A href="/">Back to connections</A>
      </p>
    </>
  );
}
