/**
 * A plain-text editor for Cedar policies: a labelled, monospace `<textarea>` with line numbers in a
 * gutter (hidden from assistive technology, which reads the text itself), the caret's line and column
 * under it, and Cedar's problems listed right below. Each problem with a position is a link that puts
 * the caret there; lines with a problem are marked in the gutter; the textarea is `aria-invalid` and
 * described by the list while there are errors.
 */
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import './cedar-editor.css';

/** A problem Cedar found in a policy text; positions are 1-based, in UTF-16 units, end exclusive. */
export interface SourceProblem {
  message: string;
  help?: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  policyId?: string;
}

/** What the last check found: valid, errors, or nothing checked yet. */
export type CheckState = 'valid' | 'invalid' | 'idle';

/** Offset in `text` of 1-based `line` and `column`, clamped to the text. */
function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let current = 1; current < line; current++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  const lineEnd = text.indexOf('\n', offset);
  const limit = lineEnd < 0 ? text.length : lineEnd;
  return Math.min(offset + Math.max(column, 1) - 1, limit);
}

/** 1-based line and column of `offset` in `text`. */
function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lastBreak };
}

/** The lines a problem covers (its first line only when it has no end). */
function linesOf(problems: SourceProblem[]): Set<number> {
  const lines = new Set<number>();
  for (const p of problems) {
    if (p.line === undefined) continue;
    const last = Math.min(p.endLine ?? p.line, p.line + 50);
    for (let line = p.line; line <= last; line++) lines.add(line);
  }
  return lines;
}

const where = (p: SourceProblem) => `Line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ''}`;

/** The Cedar editor; `id` names the textarea (`{id}-errors`, `{id}-warnings` its lists). */
export function CedarEditor(props: {
  id: string;
  label: ComponentChildren;
  value: string;
  onInput: (text: string) => void;
  errors: SourceProblem[];
  warnings: SourceProblem[];
  /** The last check's verdict; `errors` and `warnings` are that check's, kept while the next one runs. */
  state: CheckState;
  /** A check of the current text is under way. */
  checking: boolean;
  /** Shown under the label, and read with the textarea. */
  hint?: ComponentChildren;
  rows?: number;
}) {
  const { id, value, errors, warnings, state } = props;
  const areaRef = useRef<HTMLTextAreaElement>(null);
  const gutterRef = useRef<HTMLDivElement>(null);
  const [caret, setCaret] = useState({ line: 1, column: 1, selected: 0 });

  const readCaret = () => {
    const area = areaRef.current;
    if (!area) return;
    const { line, column } = positionOf(area.value, area.selectionStart);
    setCaret({ line, column, selected: Math.abs(area.selectionEnd - area.selectionStart) });
  };
  const syncGutter = () => {
    if (areaRef.current && gutterRef.current) gutterRef.current.scrollTop = areaRef.current.scrollTop;
  };

  /** Puts the caret at the problem's position and brings its line into view. */
  const jumpTo = (problem: SourceProblem) => (event: Event) => {
    event.preventDefault();
    const area = areaRef.current;
    if (!area || problem.line === undefined) return;
    const offset = offsetOf(area.value, problem.line, problem.column ?? 1);
    area.focus();
    area.setSelectionRange(offset, offset);
    const lineHeight = Number.parseFloat(getComputedStyle(area).lineHeight) || 20;
    const top = (problem.line - 1) * lineHeight;
    if (top < area.scrollTop || top + lineHeight > area.scrollTop + area.clientHeight) {
      area.scrollTop = Math.max(0, top - area.clientHeight / 3);
    }
    syncGutter();
    readCaret();
  };

  const errorLines = linesOf(errors);
  const warningLines = linesOf(warnings);
  const lineCount = value.split('\n').length;
  const hintId = `${id}-hint`;
  const errorsId = `${id}-errors`;
  const describedBy = [props.hint ? hintId : undefined, errors.length > 0 ? errorsId : undefined]
    .filter(Boolean)
    .join(' ');

  const problemList = (problems: SourceProblem[], listId: string, kind: 'error' | 'warning') => (
    <ol class={`cedar-problems cedar-${kind}s`} id={listId}>
      {problems.map((p, i) => (
        <li key={`${i}-${p.line}-${p.column}-${p.message}`}>
          {p.line !== undefined ? (
            <a href={`#${id}`} onClick={jumpTo(p)}>
              {kind === 'warning' ? 'Warning: ' : ''}
              {where(p)}: {p.message}
            </a>
          ) : (
            <span>{p.message}</span>
          )}
          {p.help ? <span class="cedar-help"> ({p.help})</span> : null}
        </li>
      ))}
    </ol>
  );

  return (
    <div class="cedar-editor">
      <label for={id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      <div class={`cedar-frame${errors.length > 0 ? ' cedar-frame-invalid' : ''}`}>
        <div class="cedar-gutter" aria-hidden="true" ref={gutterRef}>
          {Array.from({ length: lineCount }, (_, i) => {
            const line = i + 1;
            const mark = errorLines.has(line)
              ? ' cedar-line-error'
              : warningLines.has(line)
                ? ' cedar-line-warning'
                : '';
            return (
              <span class={`cedar-line${mark}`} key={line}>
                {line}
              </span>
            );
          })}
        </div>
        <textarea
          id={id}
          ref={areaRef}
          class="cedar-text"
          rows={props.rows ?? 24}
          wrap="off"
          spellcheck={false}
          autocomplete="off"
          autocapitalize="off"
          aria-invalid={errors.length > 0 ? 'true' : undefined}
          aria-describedby={describedBy || undefined}
          value={value}
          onInput={(event) => {
            props.onInput(event.currentTarget.value);
            readCaret();
          }}
          onScroll={syncGutter}
          onKeyUp={readCaret}
          onClick={readCaret}
          onSelect={readCaret}
          onFocus={readCaret}
        />
      </div>
      <p class="cedar-caret" id={`${id}-caret`}>
        Line {caret.line}, column {caret.column}
        {caret.selected > 0 ? ` (${caret.selected} selected)` : ''}
      </p>
      {/* Announced when a check ends; "Checking…" is for the eye only, or every pause in typing would speak. */}
      <p class={`cedar-state cedar-state-${state}`} role="status">
        {state === 'valid'
          ? `The policy is valid${warnings.length > 0 ? `, with ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''}.`
          : state === 'invalid'
            ? `${errors.length} error${errors.length === 1 ? '' : 's'}: select one to go to it.`
            : ''}
      </p>
      {props.checking ? (
        <p class="cedar-checking" aria-hidden="true">
          Checking…
        </p>
      ) : null}
      {errors.length > 0 ? problemList(errors, errorsId, 'error') : null}
      {warnings.length > 0 ? problemList(warnings, `${id}-warnings`, 'warning') : null}
    </div>
  );
}
