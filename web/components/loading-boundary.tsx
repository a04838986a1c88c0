/** A section whose content loads: a loading line meanwhile, the problem with a retry on failure. */
import { ErrorBoundary, type JSX, Suspense } from 'solid-js';
import { Loading } from './busy';
import { ProblemAlert } from './problem-alert';

export interface LoadingBoundaryProps {
  loading: string;
  /** Asks for the data again after a failure (offered only when that may help). */
  retry: () => void;
  /**
   * Shown above the problem when loading failed, e.g. a page's `<h1>`, which the content would
   * otherwise have rendered. A function of the error, to name a missing thing as missing.
   */
  heading?: (error: unknown) => JSX.Element;
  /** Shown instead of the problem alert for errors it answers (e.g. a 404 with its own words). */
  failed?: (error: unknown) => JSX.Element | undefined;
  children: JSX.Element;
}

/** Shows `children` once their data is there. */
export function LoadingBoundary(props: LoadingBoundaryProps) {
  return (
    <ErrorBoundary
      fallback={(error, reset) => (
        <>
          {props.heading?.(error)}
          {props.failed?.(error) ?? (
            <ProblemAlert
              error={error}
              onRetry={() => {
                props.retry();
                reset();
              }}
            />
          )}
        </>
      )}
    >
      <Suspense fallback={<Loading>{props.loading}</Loading>}>{props.children}</Suspense>
    </ErrorBoundary>
  );
}
