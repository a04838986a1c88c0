/** Renders the whole dashboard at an address, as a browser would open it. */
import { render } from '@solidjs/testing-library';
import { App } from '../../web/app';

export function renderApp(path = '/') {
  window.history.pushState(null, '', path);
  return render(() => <App />);
}
