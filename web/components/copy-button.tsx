/** A button that copies text to the clipboard and says so in a polite live region. */
import { createSignal, onCleanup } from 'solid-js';

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Without the async clipboard API (e.g. plain http on a LAN address): the legacy path.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

export interface CopyButtonProps {
  text: string;
  /** The button's accessible name, e.g. "Copy key". */
  label: string;
}

export function CopyButton(props: CopyButtonProps) {
  const [state, setState] = createSignal<'idle' | 'copied' | 'failed'>('idle');
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));

  const copy = async () => {
    try {
      await copyText(props.text);
      setState('copied');
    } catch {
      setState('failed');
    }
    clearTimeout(timer);
    timer = setTimeout(() => setState('idle'), 2500);
  };

  return (
    <span class="copy">
      <button type="button" class="button button-small" onClick={copy}>
        {props.label}
      </button>
      <span class="copy-status" role="status">
        {state() === 'copied' ? 'Copied' : state() === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </span>
  );
}
