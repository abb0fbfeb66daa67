/**
 * A secret the server shows exactly once (a client secret, an initial access token): the value, a copy
 * button, a plain warning that it cannot be shown again, and a button to put it away. The value lives
 * only in the component's state: a reload forgets it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Button } from '../lib/ui.tsx';
import './shown-once.css';

export function ShownOnce(props: {
  /** The `h3` over the value. */
  title: string;
  /** What the value is, e.g. "Client secret"; labels the value and its copy button. */
  label: string;
  value: string;
  /** Facts shown before the value (e.g. the client id). */
  children?: ComponentChildren;
  onDone: () => void;
}) {
  const [copied, setCopied] = useState<'yes' | 'failed' | undefined>(undefined);
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Focus moves to the new secret so that screen reader and keyboard users find it at once.
  useEffect(() => headingRef.current?.focus(), []);
  const valueId = `${props.label.toLowerCase().replace(/[^a-z]+/g, '-')}-once`;

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };

  return (
    <section class="shown-once" aria-labelledby={`${valueId}-title`}>
      <h3 id={`${valueId}-title`} tabIndex={-1} ref={headingRef}>
        {props.title}
      </h3>
      <p class="shown-once-warning">
        <strong>Copy the {props.label.toLowerCase()} now.</strong> It is shown only this once: Trustgate keeps
        no readable copy, and it will not be shown again after you leave or reload this page.
      </p>
      {props.children}
      <p class="shown-once-label" id={`${valueId}-label`}>
        {props.label}
      </p>
      <p class="shown-once-value">
        <code class="long" id={valueId}>
          {props.value}
        </code>
      </p>
      <div class="actions">
        <Button onClick={copy} aria-describedby={`${valueId}-copied`}>
          Copy {props.label.toLowerCase()}
        </Button>
        <Button variant="secondary" onClick={props.onDone}>
          I have stored it
        </Button>
      </div>
      <p class="hint" id={`${valueId}-copied`} role="status">
        {copied === 'yes'
          ? 'Copied to the clipboard.'
          : copied === 'failed'
            ? 'This browser did not allow copying: select the value and copy it by hand.'
            : ''}
      </p>
    </section>
  );
}
