import { render } from 'solid-js/web';

render(() => <p>Edge API Connector</p>, document.getElementById('root')!);
