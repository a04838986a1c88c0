/** Creating a connection: the form, then on to the new connection's page. */
import { A, useNavigate } from '@solidjs/router';
import { ConnectionForm } from '../components/connection-form';
import { headingRef, usePageTitle } from '../components/page-title';

export function NewConnectionPage() {
  usePageTitle(() => 'New connection');
  const navigate = useNavigate();
  return (
    <>
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <A href="/">Connections</A>
      </nav>
      <h1 tabIndex={-1} ref={headingRef}>New connection</h1>
      <div class="card">
        <ConnectionForm
          onSaved={(view) => navigate(`/connections/${view.slug}`)}
          actions={
            <A href="/" class="button">
              Cancel
            </A>
          }
        />
      </div>
    </>
  );
}
