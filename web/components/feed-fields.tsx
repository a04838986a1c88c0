/**
 * The feed editor's building blocks: its context (the draft, and the messages at each pointer),
 * fields bound to the draft, and an editor of rows (add, remove, keyboard kept in the list).
 */
import { createContext, createSignal, Index, type JSX, Show, useContext } from 'solid-js';
import { controlId, type FeedDraft, type PathContext } from './feed-form-model';
import { ChoiceOptions, Field, type FieldControlProps, GroupErrors } from './field';

type ListKey = { [K in keyof FeedDraft]: FeedDraft[K] extends readonly unknown[] ? K : never }[keyof FeedDraft];
type ItemOf<K extends ListKey> = FeedDraft[K][number];

/** Sets a member of the draft, or one row of a list (an object row is merged with `patch`). */
export interface SetDraft {
  <K extends keyof FeedDraft>(key: K, value: FeedDraft[K]): void;
  <K extends ListKey>(key: K, index: number, patch: ItemOf<K> extends object ? Partial<ItemOf<K>> : ItemOf<K>): void;
}

/**
 * The draft as one signal: `draft` reads its members (reactively), `setDraft` writes them, `replace`
 * swaps it whole. (A Solid store would do the same, but it would add to the first load's chunk.)
 */
export function createDraft(initial: FeedDraft): { draft: FeedDraft; setDraft: SetDraft; replace: (next: FeedDraft) => void; current: () => FeedDraft } {
  const [state, setState] = createSignal(initial);
  const draft = new Proxy({} as FeedDraft, { get: (_, key) => state()[key as keyof FeedDraft] });
  const setDraft = ((key: keyof FeedDraft, ...rest: unknown[]) => {
    setState((prev) => {
      if (rest.length === 1) return { ...prev, [key]: rest[0] };
      const [index, patch] = rest as [number, unknown];
      const list = (prev[key] as unknown[]).map((item, i) =>
        i !== index ? item : item !== null && typeof item === 'object' ? { ...(item as object), ...(patch as object) } : patch,
      );
      return { ...prev, [key]: list };
    });
  }) as SetDraft;
  return { draft, setDraft, replace: (next) => setState(() => next), current: state };
}

export interface FeedFormContextValue {
  draft: FeedDraft;
  setDraft: SetDraft;
  /** Messages at a pointer into the FeedInput. */
  errorsAt: (pointer: string) => string[];
  /** A control for this pointer is in the page (until the caller is cleaned up): errors at or under it show there. */
  show: (pointer: string) => void;
  touch: (pointer: string) => void;
  edited: (pointer: string) => void;
  /** Turns a GravityWP-style path typed in a pointer field into a pointer (says so); answers the text to keep. */
  convert: (text: string, context: PathContext) => string;
  editing: () => boolean;
}

export const FeedFormContext = createContext<FeedFormContextValue>();

export function useFeedForm(): FeedFormContextValue {
  const form = useContext(FeedFormContext);
  if (!form) throw new Error('useFeedForm outside FeedForm');
  return form;
}

/** A field at a pointer (its messages, and those of pointers under it that no control shows). */
export function PField(props: { pointer: string; label: string; help?: JSX.Element; class?: string; children: (c: FieldControlProps) => JSX.Element }) {
  const form = useFeedForm();
  const pointer = props.pointer;
  form.show(pointer);
  return (
    <Field id={controlId(pointer)} label={props.label} help={props.help} errors={form.errorsAt(pointer)} class={props.class}>
      {props.children}
    </Field>
  );
}

type TextKey = { [K in keyof FeedDraft]: FeedDraft[K] extends string ? K : never }[keyof FeedDraft];
type BoolKey = { [K in keyof FeedDraft]: FeedDraft[K] extends boolean ? K : never }[keyof FeedDraft];

export interface DraftTextProps extends Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value' | 'name'> {
  name: TextKey;
  pointer: string;
  label: string;
  help?: JSX.Element;
  /** A pointer field: a GravityWP-style path is converted when the field is left. */
  path?: PathContext;
  multiline?: boolean;
}

/** A text input (or textarea) bound to one string of the draft. */
export function DraftText(props: DraftTextProps) {
  const form = useFeedForm();
  const { name, pointer, label, help, path, multiline, ...rest } = props;
  const set = (value: string) => {
    form.setDraft(name, value as never);
    form.edited(pointer);
  };
  return (
    <PField pointer={pointer} label={label} help={help}>
      {(c) =>
        multiline ? (
          <textarea {...c} rows={6} class="mono" spellcheck={false} value={form.draft[name] as string} onInput={(e) => set(e.currentTarget.value)} onBlur={() => form.touch(pointer)} />
        ) : (
          <input
            {...c}
            {...rest}
            autocomplete="off"
            spellcheck={false}
            value={form.draft[name] as string}
            onInput={(e) => set(e.currentTarget.value)}
            onChange={(e) => path && set(form.convert(e.currentTarget.value, path))}
            onBlur={() => form.touch(pointer)}
          />
        )
      }
    </PField>
  );
}

/** A checkbox bound to one boolean of the draft. */
export function DraftCheck(props: { name: BoolKey; pointer: string; label: string; help?: JSX.Element }) {
  const form = useFeedForm();
  const id = controlId(props.pointer);
  form.show(props.pointer);
  const errors = () => form.errorsAt(props.pointer);
  return (
    <div class="field" classList={{ 'field-invalid': errors().length > 0 }}>
      <label class="checkbox checkbox-plain">
        <input
          type="checkbox"
          id={id}
          checked={form.draft[props.name] as boolean}
          aria-describedby={[props.help ? `${id}-help` : '', errors().length ? `${id}-error` : ''].join(' ').trim() || undefined}
          aria-invalid={errors().length ? 'true' : undefined}
          onChange={(e) => {
            form.setDraft(props.name, e.currentTarget.checked as never);
            form.edited(props.pointer);
          }}
        />
        {props.label}
      </label>
      <Show when={props.help}>
        <p class="help" id={`${id}-help`}>
          {props.help}
        </p>
      </Show>
      <GroupErrors id={`${id}-error`} errors={errors()} />
    </div>
  );
}

/** A select of a closed set; each option says itself whether it is selected (see `ChoiceOptions`). */
export function Choice<T extends string>(props: {
  pointer: string;
  label: string;
  help?: JSX.Element;
  options: readonly T[];
  labels: Record<T, string>;
  value: T;
  onChange: (value: T) => void;
  class?: string;
}) {
  const form = useFeedForm();
  return (
    <PField pointer={props.pointer} label={props.label} help={props.help} class={props.class}>
      {(c) => (
        <select
          {...c}
          onChange={(e) => {
            props.onChange(e.currentTarget.value as T);
            form.edited(props.pointer);
          }}
        >
          <ChoiceOptions options={props.options} labels={props.labels} value={props.value} />
        </select>
      )}
    </PField>
  );
}

export interface RowsProps<T> {
  /** The list's pointer (`/request/query`): its own messages show under the list. */
  pointer: string;
  legend: string;
  /** "Query parameter": row legends ("Query parameter 2") and buttons ("Add query parameter"). */
  noun: string;
  help?: JSX.Element;
  rows: readonly T[];
  onChange: (rows: T[]) => void;
  make: () => T;
  children: (row: () => T, index: number, legend: string) => JSX.Element;
}

/** An editable list of rows, each a group named "<noun> <n>" with a Remove button. */
export function Rows<T>(props: RowsProps<T>) {
  const form = useFeedForm();
  form.show(props.pointer);
  const id = controlId(props.pointer);
  const errors = () => form.errorsAt(props.pointer);
  let list: HTMLDivElement | undefined;
  let addButton: HTMLButtonElement | undefined;
  const change = (rows: T[]) => {
    props.onChange(rows);
    form.edited(props.pointer);
  };
  const add = () => {
    change([...props.rows, props.make()]);
    queueMicrotask(() => list?.querySelector<HTMLElement>('.feed-row:last-child :is(input, select, textarea)')?.focus());
  };
  const remove = (index: number) => {
    change(props.rows.filter((_, j) => j !== index));
    // The row and its button are gone: keep the keyboard in the list.
    queueMicrotask(() => {
      const rows = list?.querySelectorAll<HTMLElement>('.feed-row');
      const next = rows?.[Math.min(index, (rows?.length ?? 0) - 1)];
      (next?.querySelector<HTMLElement>('input, select, textarea') ?? addButton)?.focus();
    });
  };
  const lower = () => props.noun.toLowerCase();
  return (
    <fieldset class="field feed-rows" id={id} aria-describedby={[props.help ? `${id}-help` : '', errors().length ? `${id}-error` : ''].join(' ').trim() || undefined}>
      <legend>{props.legend}</legend>
      <Show when={props.help}>
        <p class="help" id={`${id}-help`}>
          {props.help}
        </p>
      </Show>
      <div class="feed-row-list" ref={list}>
        <Index each={props.rows}>
          {(row, i) => (
            <fieldset class="feed-row">
              <legend class="visually-hidden">{`${props.noun} ${i + 1}`}</legend>
              {props.children(row, i, `${props.noun} ${i + 1}`)}
              <button type="button" class="button button-small button-quiet feed-row-remove" aria-label={`Remove ${lower()} ${i + 1}`} onClick={() => remove(i)}>
                Remove
              </button>
            </fieldset>
          )}
        </Index>
      </div>
      <button type="button" class="button button-small" ref={addButton} onClick={add}>
        Add {lower()}
      </button>
      <GroupErrors id={`${id}-error`} errors={errors()} />
    </fieldset>
  );
}

/** A text input of one row's member, at its pointer (`/request/query/0/value`). */
export function RowText(props: {
  pointer: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  help?: JSX.Element;
  /** A pointer field: a GravityWP-style path is converted when the field is left. */
  path?: PathContext;
  list?: string;
  placeholder?: string;
  multiline?: boolean;
  class?: string;
}) {
  const form = useFeedForm();
  const set = (value: string) => {
    props.onInput(value);
    form.edited(props.pointer);
  };
  return (
    <PField pointer={props.pointer} label={props.label} help={props.help} class={props.class}>
      {(c) =>
        props.multiline ? (
          <textarea {...c} rows={3} class="mono" spellcheck={false} value={props.value} onInput={(e) => set(e.currentTarget.value)} onBlur={() => form.touch(props.pointer)} />
        ) : (
          <input
            {...c}
            class="mono"
            autocomplete="off"
            spellcheck={false}
            list={props.list}
            placeholder={props.placeholder}
            value={props.value}
            onInput={(e) => set(e.currentTarget.value)}
            onChange={(e) => {
              const path = props.path;
              if (path) set(form.convert(e.currentTarget.value, path));
            }}
            onBlur={() => form.touch(props.pointer)}
          />
        )
      }
    </PField>
  );
}
