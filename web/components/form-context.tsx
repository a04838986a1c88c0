/**
 * What the connection form's sections share: its state, where each field's messages are, and the
 * text and secret fields built on them. The form provides it; one component per section reads it.
 */
import { createContext, type JSX, useContext } from 'solid-js';
import type { AuthMethod, ConnectionView } from '../../contract/connection';
import { type FormState, fieldId } from './connection-form-model';
import { ChoiceOptions, Field, type FieldControlProps } from './field';
import { SecretInput } from './secret-input';

export const STORED_SECRET_PLACEHOLDER = 'stored — enter a new value to replace';

export type TextKey = { [K in keyof FormState]: FormState[K] extends string ? K : never }[keyof FormState];

export interface ConnectionFormContextValue {
  state: () => FormState;
  setState: <K extends keyof FormState>(key: K, value: FormState[K] | ((previous: FormState[K]) => FormState[K])) => void;
  /** The stored connection when editing. */
  view: () => ConnectionView | undefined;
  editing: () => boolean;
  /** Messages to show at a field (by error path, e.g. `auth.clientId`). */
  errorsAt: (path: string) => string[];
  /** The field was left: its own messages may show from now on. */
  touch: (path: string) => void;
  /** The field changed: the server's verdict on it no longer applies. */
  edited: (path: string) => void;
  /** Help for a secret field: whether a stored value is kept, or must be typed again. */
  secretHelp: (method: AuthMethod, fresh: string) => string;
  /** Whether leaving a secret field empty keeps the stored value. */
  keepsStored: (method: AuthMethod) => boolean;
  /** " This server also accepts http:// to localhost." when it does. */
  loopbackNote: () => string;
}

export const ConnectionFormContext = createContext<ConnectionFormContextValue>();

export function useConnectionForm(): ConnectionFormContextValue {
  const form = useContext(ConnectionFormContext);
  if (!form) throw new Error('useConnectionForm outside ConnectionForm');
  return form;
}

/** A field of the form at an error path: label, control, help and its messages. */
export function FormField(props: { path: string; label: string; help?: JSX.Element | (() => JSX.Element); children: (c: FieldControlProps) => JSX.Element }) {
  const form = useConnectionForm();
  return (
    <Field id={fieldId(props.path)} label={props.label} help={props.help} errors={form.errorsAt(props.path)}>
      {props.children}
    </Field>
  );
}

export interface TextFieldProps extends Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value'> {
  name: TextKey;
  path: string;
  label: string;
  help: JSX.Element;
}

/** A text input bound to one string of the form's state. */
export function TextField(props: TextFieldProps) {
  const form = useConnectionForm();
  return (
    <FormField path={props.path} label={props.label} help={props.help}>
      {(c) => (
        <input
          {...c}
          type={props.type}
          inputMode={props.inputMode}
          autocomplete={props.autocomplete ?? 'off'}
          spellcheck={props.spellcheck ?? false}
          placeholder={props.placeholder}
          min={props.min}
          max={props.max}
          step={props.step}
          maxLength={props.maxLength}
          value={form.state()[props.name]}
          onInput={(e) => {
            form.setState(props.name, e.currentTarget.value as never);
            form.edited(props.path);
          }}
          onBlur={() => form.touch(props.path)}
        />
      )}
    </FormField>
  );
}

/** A write-only secret: never filled in; empty keeps a stored value where that is allowed. */
export function SecretField(props: { name: TextKey; path: string; label: string; method: AuthMethod; help: string }) {
  const form = useConnectionForm();
  return (
    <FormField path={props.path} label={props.label} help={() => form.secretHelp(props.method, props.help)}>
      {(c) => (
        <SecretInput
          {...c}
          value={form.state()[props.name]}
          placeholder={form.keepsStored(props.method) ? STORED_SECRET_PLACEHOLDER : undefined}
          autocomplete="new-password"
          onInput={(e) => {
            form.setState(props.name, e.currentTarget.value as never);
            form.edited(props.path);
          }}
          onBlur={() => form.touch(props.path)}
        />
      )}
    </FormField>
  );
}

/** Under the connection page's "Settings" heading the form's sections are one level down. */
export function SectionHeading(props: { id: string; children: string }) {
  const form = useConnectionForm();
  return form.editing() ? <h3 id={props.id}>{props.children}</h3> : <h2 id={props.id}>{props.children}</h2>;
}

export interface ChoiceFieldProps<T extends string> {
  path: string;
  label: string;
  help: JSX.Element | (() => JSX.Element);
  options: readonly T[];
  labels: Record<T, string>;
  value: T;
  onChange: (value: T) => void;
}

/** A select of a closed set (see `ChoiceOptions`). */
export function ChoiceField<T extends string>(props: ChoiceFieldProps<T>) {
  return (
    <FormField path={props.path} label={props.label} help={props.help}>
      {(c) => (
        <select {...c} onChange={(e) => props.onChange(e.currentTarget.value as T)}>
          <ChoiceOptions options={props.options} labels={props.labels} value={props.value} />
        </select>
      )}
    </FormField>
  );
}
