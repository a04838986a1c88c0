/** A section whose content loads: a loading line meanwhile, the problem with a retry on failure. */
import { ErrorBoundary, type JSX, Suspense } from 'solid-js';
import { Loading } from './busy';
import { ProblemAlert } from './problem-alert';

/** Shows `children` once their data is there; `retry` asks for it again after a failure. */
export function LoadingBoundary(props: { loading: string; retry: () => void; children: JSX.Element }) {
  return (
    <ErrorBoundary
      fallback={(error, reset) => (
        <ProblemAlert
          error={error}
          onRetry={() => {
            props.retry();
            reset();
          }}
        />
      )}
    >
      <Suspense fallback={<Loading>{props.loading}</Loading>}>{props.children}</Suspense>
    </ErrorBoundary>
  );
}
