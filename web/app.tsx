/**
 * The dashboard: routes, and the layout that gates them behind the admin session.
 *
 * Boot asks `GET /api/session`; signed out (or any later 401) shows the sign-in page in place, so
 * the address stays and the page comes back after signing in. The list and sign-in come with the
 * first load; every other page is its own chunk, fetched when it is first opened.
 */
import { A, query, Route, Router, type RouteSectionProps, useLocation } from '@solidjs/router';
import { createEffect, createSignal, lazy, Match, on, onCleanup, Suspense, Switch } from 'solid-js';
import * as api from './api/client';
import { BrandMark } from './components/brand-mark';
import { Loading } from './components/busy';
import { notify, NoticeRegion } from './components/notices';
import { focusNextHeading } from './components/page-title';
import { ProblemAlert } from './components/problem-alert';
import { ConnectionsPage } from './pages/connections-page';
import { SignInPage } from './pages/sign-in-page';
import { SessionContext } from './session';

const ConnectionPage = lazy(() => import('./pages/connection-page').then((m) => ({ default: m.ConnectionPage })));
const NewConnectionPage = lazy(() => import('./pages/new-connection-page').then((m) => ({ default: m.NewConnectionPage })));
const FeedsPage = lazy(() => import('./pages/feeds-page').then((m) => ({ default: m.FeedsPage })));
const FeedPage = lazy(() => import('./pages/feed-page').then((m) => ({ default: m.FeedPage })));
const NotFoundPage = lazy(() => import('./pages/not-found-page').then((m) => ({ default: m.NotFoundPage })));

type SessionState =
  | { status: 'checking' }
  | { status: 'signed-out'; reason?: 'expired' | 'signed-out' }
  | { status: 'signed-in'; session: api.Session }
  | { status: 'error'; error: unknown };

function Layout(props: RouteSectionProps) {
  const [state, setState] = createSignal<SessionState>({ status: 'checking' });
  const location = useLocation();

  const check = async () => {
    setState({ status: 'checking' });
    try {
      const session = await api.getSession();
      setState(session ? { status: 'signed-in', session } : { status: 'signed-out' });
    } catch (error) {
      setState({ status: 'error', error });
    }
  };
  void check();

  const session = () => {
    const s = state();
    return s.status === 'signed-in' ? s.session : undefined;
  };
  const bootError = () => {
    const s = state();
    return s.status === 'error' ? s : undefined;
  };

  const signedOut = (reason: 'expired' | 'signed-out') => {
    query.clear();
    setState({ status: 'signed-out', reason });
    notify(reason === 'expired' ? 'Your session has ended. Sign in again to go on where you were.' : 'Signed out.', 'info');
  };
  api.onUnauthorized(() => {
    if (state().status === 'signed-in') signedOut('expired');
  });
  onCleanup(() => api.onUnauthorized(undefined));

  const signOut = async () => {
    try {
      await api.signOut();
    } finally {
      signedOut('signed-out');
    }
  };
  const signedOutReason = () => {
    const s = state();
    return s.status === 'signed-out' ? s.reason : undefined;
  };

  // Moves focus to the new page's heading after in-app navigation (not on first load).
  createEffect(
    on(
      () => location.pathname,
      () => focusNextHeading(),
      { defer: true },
    ),
  );

  return (
    <>
    <Switch>
      <Match when={state().status === 'checking'}>
        <main class="boot" id="main" aria-busy="true">
          <span class="spinner" aria-hidden="true" /> Loading…
        </main>
      </Match>
      <Match when={bootError()}>
        {(failed) => (
          <main class="page" id="main">
            <h1>Edge API Connector</h1>
            <ProblemAlert error={failed().error} onRetry={check} />
          </main>
        )}
      </Match>
      <Match when={state().status === 'signed-out'}>
        <SignInPage
          expired={signedOutReason() === 'expired'}
          onSignedIn={(session) => {
            focusNextHeading();
            setState({ status: 'signed-in', session });
          }}
        />
      </Match>
      <Match when={session()}>
        {(current) => (
          <SessionContext.Provider value={{ allowLoopback: () => current().insecureAllowLoopback, signOut }}>
            <a class="skip-link" href="#main">
              Skip to content
            </a>
            <header class="topbar">
              <A href="/" class="brand" end>
                <BrandMark />
                Edge API Connector
              </A>
              <nav aria-label="Main">
                <A href="/" end>
                  Connections
                </A>
                <A href="/feeds">Feeds</A>
              </nav>
              <button type="button" class="button button-quiet" onClick={() => void signOut()}>
                Sign out
              </button>
            </header>
            <main class="page" id="main">
              {/* While a page's own chunk loads (its first visit only). */}
              <Suspense fallback={<Loading>Loading…</Loading>}>{props.children}</Suspense>
            </main>
          </SessionContext.Provider>
        )}
      </Match>
    </Switch>
    <NoticeRegion />
    </>
  );
}

/** The whole dashboard, routed on the browser's address. */
export function App() {
  return (
    <Router root={Layout}>
      <Route path="/" component={ConnectionsPage} />
      <Route path="/new" component={NewConnectionPage} />
      <Route path="/connections/:slug" component={ConnectionPage} />
      <Route path="/feeds" component={FeedsPage} />
      <Route path="/feeds/:id" component={FeedPage} />
      <Route path="*" component={NotFoundPage} />
    </Router>
  );
}
