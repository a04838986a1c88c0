/** A URL that may wrap only after its separators (/ . - ? & =), never inside a word. */
import { For } from 'solid-js';

/** The URL cut after each separator, so that a `<wbr>` can go between the parts. */
export function urlParts(url: string): string[] {
  return url.match(/[^/.?&=-]*(?:[/.?&=-]+|$)/g)?.filter(Boolean) ?? [url];
}

export function BreakableUrl(props: { url: string; class?: string }) {
  return (
    <span class={`url ${props.class ?? ''}`}>
      <For each={urlParts(props.url)}>
        {(part, i) => (
          <>
            {i() > 0 && <wbr />}
            {part}
          </>
        )}
      </For>
    </span>
  );
}
