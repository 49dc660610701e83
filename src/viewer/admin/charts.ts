/**
 * Small bar charts for the admin pages, where people would rather look than read (feed backlog,
 * freshness, messages per hour). Each chart is a figure holding a box that the page's script draws in
 * with uPlot (src/viewer/static/admin-charts.js), and the same numbers as a table — the text alternative, shown when scripts do not run
 * and read by screen readers. No I/O here.
 */
import { html, type Html } from '../../http/html-page.ts';
import { ASSETS } from '../assets.ts';

export interface ChartSpec {
  /** Unique on the page; names the canvas and its data. */
  id: string;
  title: string;
  /** The heading of the labels' column in the table (`Feed`, `Hour (UTC)`). */
  labelHeading: string;
  /** What the numbers count (the y axis). */
  unit: string;
  labels: readonly string[];
  series: ReadonlyArray<{ name: string; values: readonly number[] }>;
  /** Stack the series in one bar per label. */
  stacked?: boolean;
}

/** The chart's data for the page script (JSON; `<` escaped so it cannot close the script element). */
export function chartData(spec: ChartSpec): string {
  return JSON.stringify({
    title: spec.title,
    unit: spec.unit,
    labels: spec.labels,
    series: spec.series,
    stacked: spec.stacked === true,
  }).replace(/</g, '\\u003c');
}

export function barChart(spec: ChartSpec): Html {
  const head = html`<tr>
    <th scope="col">${spec.labelHeading}</th>
    ${spec.series.map((s) => html`<th scope="col" class="app-num">${s.name}</th>`)}
  </tr>`;
  const rows = spec.labels.map(
    (label, i) =>
      html`<tr>
        <th scope="row">${label}</th>
        ${spec.series.map((s) => html`<td class="app-num">${String(s.values[i] ?? 0)}</td>`)}
      </tr>`,
  );
  return html`<figure class="app-chart" data-chart="${spec.id}" data-uplot="${ASSETS.uplotEsm}">
    <figcaption class="app-chart__title">${spec.title}</figcaption>
    <div
      class="app-chart__canvas"
      id="${spec.id}"
      role="img"
      aria-label="${spec.title}: bar chart; the numbers are in the table below"
    ></div>
    <script type="application/json" id="${spec.id}-data">
      ${{ html: chartData(spec) }}
    </script>
    <details class="nhsuk-details app-chart__table">
      <summary class="nhsuk-details__summary">
        <span class="nhsuk-details__summary-text">Show the numbers</span>
      </summary>
      <div class="nhsuk-details__text">
        <table class="nhsuk-table">
          <caption class="nhsuk-u-visually-hidden">
            ${spec.title} (${spec.unit})
          </caption>
          <thead>
            ${head}
          </thead>
          <tbody>
            ${rows}
          </tbody>
        </table>
      </div>
    </details>
  </figure>`;
}
