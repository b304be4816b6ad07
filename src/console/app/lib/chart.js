import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { formatNumber, t } from './i18n.js';
import { html } from './ui.js';

/** cssColor reads a colour of the console's palette (app.css), so charts and badges agree. */
function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim() || '#59636e';
}

/** stacked turns rows of counts into uPlot's columns, each series the sum of itself and those below it. */
function stacked(series, rows) {
  const columns = [];
  let below = rows.map(() => 0);
  for (const { key } of series) {
    below = rows.map((row, i) => below[i] + (row[key] ?? 0));
    columns.push(below);
  }
  return columns;
}

/** pickedSeries is the series whose segment of bar `idx` covers the value `y`, or null above the bar. */
function pickedSeries(series, rows, idx, y) {
  let top = 0;
  for (const { key } of series) {
    top += rows[idx]?.[key] ?? 0;
    if (y <= top && (rows[idx]?.[key] ?? 0) > 0) return key;
  }
  return null;
}

/** tickEvery keeps x labels apart: one label every `step` bars, so they never overlap. */
function tickEvery(width, count) {
  const room = Math.max(1, Math.floor(width / 64));
  return Math.max(1, Math.ceil(count / room));
}

/** COUNT_AXIS_MIN is the least width of the count axis, in CSS pixels: room for a count of a few digits. */
const COUNT_AXIS_MIN = 40;

/**
 * countAxisSize is the width of the count axis: its widest label as drawn, and the axis's ticks and
 * gap beside it. A fixed width cut counts of thousands (`2,000`, `2 000`) down to their last digits.
 * @param {uPlot} u
 * @param {string[] | null} values
 * @param {number} axisIdx
 * @param {number} cycleNum
 */
function countAxisSize(u, values, axisIdx, cycleNum) {
  const axis = /** @type {uPlot.Axis & { font: [string, number], _size: number }} */ (u.axes[axisIdx]);
  // uPlot asks again once the sizes settle; the answer it has is final, so the layout converges.
  if (cycleNum > 1) return axis._size;
  u.ctx.font = axis.font[0];
  const widest = Math.max(0, ...(values ?? []).map((label) => u.ctx.measureText(label).width / devicePixelRatio));
  return Math.max(COUNT_AXIS_MIN, Math.ceil(widest + (axis.ticks?.size ?? 0) + (axis.gap ?? 0)));
}

/**
 * BarChart draws stacked bars with uPlot (a canvas, hidden from assistive technology) and gives the
 * same numbers as a table under a disclosure, whose first cells are buttons doing what a click on
 * the bar does. `series` are {key, label, color} from the bottom of a bar up; `rows` one object of
 * counts per bar; `labels` the text under each bar; `onPick(index, key | null)` answers a click.
 */
export function BarChart({ id, title, labels, series, rows, onPick, height = 160 }) {
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  // The table is built when opened: a closed disclosure needs none of its rows.
  const [tableOpen, setTableOpen] = useState(false);
  const plot = useRef(/** @type {uPlot | null} */ (null));
  const current = useRef({ series, rows, labels, onPick });
  current.current = { series, rows, labels, onPick };
  const shape = `${series.map((s) => s.key).join()}|${rows.length}`;

  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const width = Math.max(200, element.clientWidth);
    // uPlot draws series in order: the tallest (all series summed) first, each lower one over it.
    const drawn = [...series].reverse();
    /** @type {uPlot.Options} */
    const opts = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: () => /** @type {uPlot.Range.MinMax} */ ([-0.5, rows.length - 0.5]) },
        y: { range: (_u, _min, max) => /** @type {uPlot.Range.MinMax} */ ([0, Math.max(4, max * 1.1)]) },
      },
      axes: [
        {
          stroke: cssColor('muted'),
          grid: { show: false },
          splits: (u) => {
            const step = tickEvery(u.bbox.width / devicePixelRatio, rows.length);
            return rows.map((_, i) => i).filter((i) => (rows.length - 1 - i) % step === 0);
          },
          values: (_u, splits) => splits.map((i) => current.current.labels[i] ?? ''),
        },
        { stroke: cssColor('muted'), size: countAxisSize, values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? formatNumber(v) : '')) },
      ],
      series: [
        {},
        ...drawn.map((s) => ({
          label: s.label,
          fill: cssColor(s.color),
          stroke: cssColor(s.color),
          width: 0,
          paths: uPlot.paths.bars?.({ size: [0.7, 48], gap: 1 }),
          points: { show: false },
        })),
      ],
    };
    const data = [rows.map((_, i) => i), ...stacked(series, rows).reverse()];
    const u = new uPlot(opts, data, element);
    plot.current = u;
    u.over.addEventListener('click', () => {
      const idx = u.cursor.idx;
      if (idx === null || idx === undefined) return;
      const { series: now, rows: counts, onPick: pick } = current.current;
      pick?.(idx, pickedSeries(now, counts, idx, u.posToVal(u.cursor.top ?? 0, 'y')));
    });
    u.over.style.cursor = onPick ? 'pointer' : 'default';
    const resize = new ResizeObserver(() => {
      const next = Math.max(200, element.clientWidth);
      if (next !== u.width) u.setSize({ width: next, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([rows.map((_, i) => i), ...stacked(series, rows).reverse()]);
  }, [JSON.stringify(rows), JSON.stringify(labels)]);

  const total = rows.reduce((sum, row) => sum + series.reduce((s, { key }) => s + (row[key] ?? 0), 0), 0);
  return html`<figure class="chart" id=${id} aria-labelledby=${`${id}-title`}>
    <figcaption id=${`${id}-title`}>${title} <span class="muted">${t('chart.total', { count: total })}</span></figcaption>
    <ul class="chart-legend">${series.map((s) => html`<li><span class="swatch" style=${`background:${cssColor(s.color)}`}></span>${s.label}</li>`)}</ul>
    <div class="chart-canvas" ref=${box} aria-hidden="true" data-testid=${`${id}-canvas`}></div>
    <details class="chart-table" onToggle=${(event) => setTableOpen(event.currentTarget.open)}>
      <summary>${t('chart.showTable')}</summary>
      ${
        tableOpen
          ? html`<div class="table-wrap"><table>
        <thead><tr><th scope="col">${t('chart.period')}</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
        <tbody>${rows.map(
          (row, i) => html`<tr key=${i}>
          <th scope="row">${onPick ? html`<button type="button" class="link" onClick=${() => onPick(i, null)}>${labels[i]}</button>` : labels[i]}</th>
          ${series.map((s) => html`<td>${formatNumber(row[s.key] ?? 0)}</td>`)}</tr>`,
        )}</tbody>
      </table></div>`
          : null
      }
    </details>
  </figure>`;
}

/** RangePicker is a row of toggle buttons choosing a chart's period. */
export function RangePicker({ label, value, options, onChange }) {
  return html`<div class="range-picker" role="group" aria-label=${label}>
    ${options.map(
      ([option, text]) =>
        html`<button type="button" class=${option === value ? '' : 'secondary'} aria-pressed=${option === value ? 'true' : 'false'} onClick=${() => onChange(option)}>${text}</button>`,
    )}
  </div>`;
}
