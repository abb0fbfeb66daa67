/**
 * The building blocks every view of the portal and console uses, so that each control is labelled,
 * reachable by keyboard and styled by `app.css` (no inline styles: the CSP refuses them).
 */

import { formatDate } from '@hosted/common';
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { Loaded } from './api.ts';

/** A card with a heading (`h2`) that names it for assistive technology. */
export function Section(props: {
  title: string;
  id?: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
}) {
  const headingId = useId();
  return (
    <section class={`card ${props.class ?? ''}`} id={props.id} aria-labelledby={headingId}>
      <div class="card-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.actions ? <div class="card-actions">{props.actions}</div> : null}
      </div>
      {props.children}
    </section>
  );
}

/** The view's `h1`, focused when the view appears so screen readers announce it. */
export function ViewTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h2 class="view-title" tabIndex={-1} ref={ref}>
      {children}
    </h2>
  );
}

/** Shows loading, the load's error, or the content once `loaded.data` is there. */
export function Load<T>(props: {
  loaded: Loaded<T>;
  children: (data: T) => ComponentChildren;
  label?: string;
}) {
  const { data, error, loading } = props.loaded;
  if (error && data === undefined) {
    return (
      <p class="error" role="alert">
        Could not load {props.label ?? 'this'}: {error.message}
      </p>
    );
  }
  if (data === undefined) {
    return (
      <p class="hint" aria-busy={loading ? 'true' : undefined}>
        Loading…
      </p>
    );
  }
  return <>{props.children(data)}</>;
}

/** A button that is disabled and marked busy while its action runs. */
export function Button(
  props: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; variant?: 'danger' | 'secondary' },
) {
  const { busy, variant, class: className, ...rest } = props;
  return (
    <button
      type="button"
      {...rest}
      class={[variant, className].filter(Boolean).join(' ') || undefined}
      disabled={busy || props.disabled}
      aria-busy={busy ? 'true' : undefined}
    />
  );
}

/**
 * A destructive button that asks first: the first press shows "Confirm …" and "Cancel" in its place,
 * with focus on the confirmation (Escape cancels).
 */
export function ConfirmButton(props: {
  label: string;
  confirmLabel: string;
  onConfirm: () => unknown;
  busy?: boolean;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const startRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <Button
        variant="danger"
        ref={startRef}
        busy={props.busy}
        disabled={props.disabled}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </Button>
    );
  }
  const cancel = () => {
    setAsking(false);
    queueMicrotask(() => startRef.current?.focus());
  };
  const onEscape = (event: KeyboardEvent) => {
    if (event.key === 'Escape') cancel();
  };
  return (
    <span class="confirm">
      <Button
        variant="danger"
        ref={confirmRef}
        busy={props.busy}
        onKeyDown={onEscape}
        onClick={async () => {
          await props.onConfirm();
          setAsking(false);
        }}
      >
        {props.confirmLabel}
      </Button>
      <Button variant="secondary" onClick={cancel} onKeyDown={onEscape}>
        Cancel
      </Button>
    </span>
  );
}

/** A labelled form field: the label, the control (given as children with `id`), an optional hint and error. */
export function Field(props: {
  label: ComponentChildren;
  id: string;
  hint?: ComponentChildren;
  error?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`} role="alert">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * The attributes that tie a `Field`'s control to its hint and error: its id, `aria-invalid` while
 * there is an error, and `aria-describedby` naming the hint and the error.
 */
export function fieldControl(id: string, error?: string) {
  return {
    id,
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': [`${id}-hint`, error ? `${id}-error` : undefined].filter(Boolean).join(' '),
  };
}

/** One option of `Choices`. */
export interface Choice<T extends string> {
  value: T;
  label: ComponentChildren;
  hint: ComponentChildren;
}

/**
 * A radio group: a fieldset with its legend, each option a labelled radio with its explanation
 * (described by it), `name` grouping them for the arrow keys.
 */
export function Choices<T extends string>(props: {
  legend: string;
  name: string;
  value: T;
  options: ReadonlyArray<Choice<T>>;
  onChange: (value: T) => void;
  disabled?: boolean;
}) {
  return (
    <fieldset class="choices" disabled={props.disabled}>
      <legend>{props.legend}</legend>
      {props.options.map((option) => (
        <label class="choice" key={option.value}>
          <input
            type="radio"
            name={props.name}
            value={option.value}
            checked={props.value === option.value}
            aria-describedby={`${props.name}-${option.value}-hint`}
            onChange={() => props.onChange(option.value)}
          />
          <span>{option.label}</span>
          <span class="hint" id={`${props.name}-${option.value}-hint`}>
            {option.hint}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/** A small labelled state: `tone` picks the colour, the text carries the meaning. */
export function Badge({
  tone,
  children,
}: {
  tone: 'good' | 'warn' | 'bad' | 'neutral';
  children: ComponentChildren;
}) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** A date and time as people read it, with the exact instant in `datetime`. */
export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span>—</span>;
  return <time dateTime={value}>{formatDate(value)}</time>;
}

/** A table with a caption (visible or for screen readers only) and header cells. */
export function Table(props: {
  caption: string;
  captionHidden?: boolean;
  head: ComponentChildren[];
  children: ComponentChildren;
  empty?: string;
  rows: number;
}) {
  if (props.rows === 0) return <p class="hint">{props.empty ?? 'Nothing here yet.'}</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class={props.captionHidden ? 'visually-hidden' : undefined}>{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((cell, i) => (
              <th scope="col" key={i}>
                {cell}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** Long identifiers (DIDs, hashes) that wrap and can be selected whole. */
export function Code({ children }: { children: ComponentChildren }) {
  return <code class="long">{children}</code>;
}
