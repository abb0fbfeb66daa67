/**
 * SVG charts drawn by Preact, with no chart library: stacked bars over time, a single-series bar chart
 * (histograms), horizontal bars and rate lines. Every chart is an `<svg role="img">` named by its
 * `<title>` and described by its `<desc>`, has a legend in words, and shows the same numbers in a table
 * behind "Show the numbers". Colours come from CSS classes (`charts.css`, no `style` props under the
 * CSP); the legend's words, the segments' order and the lines' dash and marker shapes carry the meaning
 * as well, so colour is never the only carrier.
 */
import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';
import { Table } from './ui.tsx';
import './charts.css';

/** The colour family of a series: one per sign-in outcome, and a neutral one. */
export type Tone = 'allow' | 'step-up' | 'deny' | 'failure' | 'neutral';

/** A legend entry: the words that name a colour (and, for lines, a marker shape and dash). */
export interface LegendItem {
  label: string;
  tone: Tone;
  marker?: Marker;
}

/** The numbers behind a chart, shown as a table. */
export interface ChartTable {
  caption: string;
  head: string[];
  rows: Array<Array<string | number>>;
}

const WIDTH = 640;
const MARGIN = { top: 12, right: 16, bottom: 40, left: 48 };

/** Round tick values from 0 to at least `max` (about `count` steps of 1, 2 or 5 × 10ⁿ). */
export function niceTicks(max: number, { count = 4, integer = false } = {}): number[] {
  if (!(max > 0)) return integer ? [0, 1] : [0, max || 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  if (integer) step = Math.max(1, Math.round(step));
  const steps = Math.max(1, Math.ceil(max / step - 1e-9));
  return Array.from({ length: steps + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** A share (0-1) as a percentage with at most one decimal. */
export function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

/** Which x labels to print so that at most `most` fit without overlapping: every n-th. */
function labelEvery(count: number, most: number): (i: number) => boolean {
  const every = Math.max(1, Math.ceil(count / most));
  return (i) => i % every === 0;
}

/** How a legend entry is drawn: a square (bars), a dot (map points) or a line with its marker. */
export type Marker = 'square' | 'dot' | 'dashed-square' | 'solid-circle';

function Swatch({ tone, marker = 'square' }: { tone: Tone; marker?: Marker }) {
  if (marker === 'square' || marker === 'dot') {
    return (
      <svg class="chart-swatch" viewBox="0 0 14 14" aria-hidden="true">
        {marker === 'dot' ? (
          <circle cx="7" cy="7" r="6" class={`tone-${tone}`} />
        ) : (
          <rect x="1" y="1" width="12" height="12" rx="2" class={`tone-${tone}`} />
        )}
      </svg>
    );
  }
  const dashed = marker === 'dashed-square';
  return (
    <svg class="chart-swatch chart-swatch-line" viewBox="0 0 28 14" aria-hidden="true">
      <line
        x1="1"
        y1="7"
        x2="27"
        y2="7"
        class={`chart-line tone-${tone}`}
        stroke-dasharray={dashed ? '5 3' : undefined}
      />
      {dashed ? (
        <rect x="10" y="3" width="8" height="8" class={`tone-${tone}`} />
      ) : (
        <circle cx="14" cy="7" r="4" class={`tone-${tone}`} />
      )}
    </svg>
  );
}

/** The legend: one entry per series, its swatch and its name. */
export function Legend({ items }: { items: LegendItem[] }) {
  return (
    <ul class="chart-legend">
      {items.map((item) => (
        <li key={item.label}>
          <Swatch tone={item.tone} marker={item.marker} />
          {item.label}
        </li>
      ))}
    </ul>
  );
}

/** A chart: the named and described `svg`, its legend and the table of its numbers. */
export function ChartFrame(props: {
  title: string;
  description: string;
  height: number;
  width?: number;
  legend?: LegendItem[];
  legendNote?: ComponentChildren;
  table: ChartTable;
  class?: string;
  children: ComponentChildren;
}) {
  const id = useId();
  const width = props.width ?? WIDTH;
  return (
    <figure class={`chart ${props.class ?? ''}`}>
      <svg
        role="img"
        class="chart-svg"
        viewBox={`0 0 ${width} ${props.height}`}
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-desc`}
      >
        <title id={`${id}-title`}>{props.title}</title>
        <desc id={`${id}-desc`}>{props.description}</desc>
        {props.children}
      </svg>
      {props.legend ? <Legend items={props.legend} /> : null}
      {props.legendNote ? <p class="hint chart-note">{props.legendNote}</p> : null}
      <details class="chart-numbers">
        <summary>Show the numbers</summary>
        <Table caption={props.table.caption} head={props.table.head} rows={props.table.rows.length}>
          {props.table.rows.map((row, i) => (
            <tr key={i}>
              {row.map((cell, j) =>
                j === 0 ? (
                  <th scope="row" key={j}>
                    {cell}
                  </th>
                ) : (
                  <td key={j}>{cell}</td>
                ),
              )}
            </tr>
          ))}
        </Table>
      </details>
    </figure>
  );
}

/** Horizontal grid lines with their values, and the x axis's baseline. */
function YAxis(props: {
  ticks: number[];
  y: (v: number) => number;
  right: number;
  format: (v: number) => string;
}) {
  return (
    <g class="chart-axis">
      {props.ticks.map((tick) => (
        <g key={tick}>
          <line x1={MARGIN.left} x2={props.right} y1={props.y(tick)} y2={props.y(tick)} class="chart-grid" />
          <text x={MARGIN.left - 6} y={props.y(tick)} dy="0.32em" text-anchor="end">
            {props.format(tick)}
          </text>
        </g>
      ))}
    </g>
  );
}

/** Labels under the x axis (at most about ten of them, centred on their slot). */
function XLabels(props: { labels: string[]; x: (i: number) => number; y: number }) {
  const shown = labelEvery(props.labels.length, 10);
  return (
    <g class="chart-axis">
      {props.labels.map((label, i) =>
        shown(i) ? (
          <text key={i} x={props.x(i)} y={props.y} text-anchor="middle">
            {label}
          </text>
        ) : null,
      )}
    </g>
  );
}

/** A series of a bar or line chart. */
export interface Series {
  label: string;
  tone: Tone;
  values: number[];
}

/**
 * Vertical bars, one slot per label, each bar the series stacked bottom to top in the order given
 * (one series: a plain bar chart or histogram). The table lists every slot with each series and the
 * total.
 */
export function StackedBarChart(props: {
  title: string;
  description: string;
  labels: string[];
  /** Longer names of the slots for the table (e.g. full dates); defaults to `labels`. */
  rowNames?: string[];
  series: Series[];
  tableCaption: string;
  firstColumn: string;
}) {
  const height = 260;
  const right = WIDTH - MARGIN.right;
  const bottom = height - MARGIN.bottom;
  const n = Math.max(1, props.labels.length);
  const totals = props.labels.map((_, i) => props.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const ticks = niceTicks(Math.max(0, ...totals), { integer: true });
  const top = ticks.at(-1) ?? 1;
  const y = (v: number) => bottom - (v / top) * (bottom - MARGIN.top);
  const slot = (right - MARGIN.left) / n;
  const barWidth = Math.max(1, slot * 0.72);
  const x = (i: number) => MARGIN.left + slot * i + slot / 2;
  const multi = props.series.length > 1;
  return (
    <ChartFrame
      title={props.title}
      description={props.description}
      height={height}
      legend={multi ? props.series.map((s) => ({ label: s.label, tone: s.tone })) : undefined}
      table={{
        caption: props.tableCaption,
        head: [props.firstColumn, ...props.series.map((s) => s.label), ...(multi ? ['Total'] : [])],
        rows: props.labels.map((label, i) => [
          props.rowNames?.[i] ?? label,
          ...props.series.map((s) => s.values[i] ?? 0),
          ...(multi ? [totals[i] ?? 0] : []),
        ]),
      }}
    >
      <YAxis ticks={ticks} y={y} right={right} format={String} />
      <g class="chart-bars">
        {props.labels.map((_, i) => {
          let base = 0;
          return (
            <g key={i}>
              {props.series.map((s) => {
                const value = s.values[i] ?? 0;
                if (value <= 0) return null;
                const rect = (
                  <rect
                    key={s.label}
                    x={x(i) - barWidth / 2}
                    width={barWidth}
                    y={y(base + value)}
                    height={y(base) - y(base + value)}
                    class={`chart-bar tone-${s.tone}`}
                  />
                );
                base += value;
                return rect;
              })}
            </g>
          );
        })}
      </g>
      <line x1={MARGIN.left} x2={right} y1={bottom} y2={bottom} class="chart-baseline" />
      <XLabels labels={props.labels} x={x} y={bottom + 18} />
    </ChartFrame>
  );
}

/** A line of a rate chart, told apart by its dash and marker as well as its colour. */
export interface RateSeries extends Series {
  marker: 'dashed-square' | 'solid-circle';
}

/** Shares (0-1) over time as lines with a marker per point; the y axis in percent. */
export function RateChart(props: {
  title: string;
  description: string;
  labels: string[];
  rowNames?: string[];
  series: RateSeries[];
  tableCaption: string;
  firstColumn: string;
}) {
  const height = 240;
  const right = WIDTH - MARGIN.right;
  const bottom = height - MARGIN.bottom;
  const n = Math.max(1, props.labels.length);
  const ticks = niceTicks(Math.max(0.05, ...props.series.flatMap((s) => s.values)));
  const top = ticks.at(-1) ?? 1;
  const y = (v: number) => bottom - (v / top) * (bottom - MARGIN.top);
  const slot = (right - MARGIN.left) / n;
  const x = (i: number) => MARGIN.left + slot * i + slot / 2;
  return (
    <ChartFrame
      title={props.title}
      description={props.description}
      height={height}
      legend={props.series.map((s) => ({ label: s.label, tone: s.tone, marker: s.marker }))}
      table={{
        caption: props.tableCaption,
        head: [props.firstColumn, ...props.series.map((s) => s.label)],
        rows: props.labels.map((label, i) => [
          props.rowNames?.[i] ?? label,
          ...props.series.map((s) => percent(s.values[i] ?? 0)),
        ]),
      }}
    >
      <YAxis ticks={ticks} y={y} right={right} format={percent} />
      <line x1={MARGIN.left} x2={right} y1={bottom} y2={bottom} class="chart-baseline" />
      {props.series.map((s) => {
        const points = props.labels.map((_, i) => [x(i), y(s.values[i] ?? 0)] as const);
        const dashed = s.marker === 'dashed-square';
        return (
          <g key={s.label}>
            <polyline
              points={points.map(([px, py]) => `${px},${py}`).join(' ')}
              class={`chart-line tone-${s.tone}`}
              stroke-dasharray={dashed ? '6 4' : undefined}
            />
            {points.map(([px, py], i) =>
              dashed ? (
                <rect key={i} x={px - 3.5} y={py - 3.5} width="7" height="7" class={`tone-${s.tone}`} />
              ) : (
                <circle key={i} cx={px} cy={py} r="3.5" class={`tone-${s.tone}`} />
              ),
            )}
          </g>
        );
      })}
      <XLabels labels={props.labels} x={x} y={bottom + 18} />
    </ChartFrame>
  );
}

/** Horizontal bars, largest first as given: each bar's name above it and its value after it. */
export function HorizontalBarChart(props: {
  title: string;
  description: string;
  items: Array<{ label: string; value: number }>;
  tone?: Tone;
  tableCaption: string;
  head: [string, string];
  empty: string;
}) {
  const row = 40;
  const height = Math.max(1, props.items.length) * row + 8;
  const left = 8;
  const valueRoom = 56;
  const max = Math.max(1, ...props.items.map((item) => item.value));
  const width = (v: number) => (v / max) * (WIDTH - left - valueRoom);
  return (
    <ChartFrame
      title={props.title}
      description={props.description}
      height={height}
      table={{
        caption: props.tableCaption,
        head: props.head,
        rows: props.items.map((i) => [i.label, i.value]),
      }}
    >
      {props.items.length === 0 ? (
        <text x={left} y={24} class="chart-empty">
          {props.empty}
        </text>
      ) : (
        props.items.map((item, i) => (
          <g key={item.label} transform={`translate(0 ${i * row})`}>
            <text x={left} y={14} class="chart-label">
              {item.label}
            </text>
            <rect
              x={left}
              y={20}
              height={14}
              width={Math.max(2, width(item.value))}
              class={`chart-bar tone-${props.tone ?? 'neutral'}`}
            />
            <text x={left + Math.max(2, width(item.value)) + 6} y={31} class="chart-value">
              {item.value}
            </text>
          </g>
        ))
      )}
    </ChartFrame>
  );
}
