// Draws the admin portal's bar charts with uPlot (the viewer's chart library, served at /assets/uplot/; its
// ES module's versioned URL is each figure's data-uplot).
// Each chart's data is in <script type="application/json" id="<id>-data">; the same numbers are in a table
// beside it (the text alternative), so a page without scripts loses nothing.
const COLOURS = ['#005eb8', '#d5281b', '#ffb81c', '#007f3b', '#768692'];

function draw(uPlot, figure) {
  const id = figure.getAttribute('data-chart');
  const holder = document.getElementById(id);
  const dataEl = document.getElementById(`${id}-data`);
  if (!holder || !dataEl) return;
  const spec = JSON.parse(dataEl.textContent || '{}');
  const xs = spec.labels.map((_, i) => i);
  // Stacked: each series drawn as its running total, the tallest first, so the smaller ones sit in front.
  let series = spec.series.map((s) => s.values.slice());
  if (spec.stacked) {
    for (let n = 1; n < series.length; n++) series[n] = series[n].map((v, i) => v + series[n - 1][i]);
  }
  const order = spec.series.map((_, n) => n);
  if (spec.stacked) order.reverse();
  const bars = uPlot.paths.bars({ size: [0.7, 48] });
  // Shown (the box is hidden until drawn) before its width is measured.
  figure.classList.add('app-chart--drawn');
  const width = Math.max(260, holder.clientWidth || 600);
  new uPlot(
    {
      width,
      height: 200,
      legend: { show: spec.series.length > 1, live: false },
      cursor: { show: false },
      scales: {
        x: { time: false, range: [-0.5, xs.length - 0.5] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        {
          values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (spec.labels[t] ?? '') : '')),
          incrs: [1, 2, 3, 4, 6, 12],
          // Long names (feed ids) slant on narrow screens rather than overlap.
          rotate: width < 600 && spec.labels.some((l) => l.length > 6) ? -40 : 0,
          size: width < 600 && spec.labels.some((l) => l.length > 6) ? 80 : 40,
        },
        { label: spec.unit },
      ],
      series: [
        {},
        ...order.map((n) => ({
          label: spec.series[n].name,
          fill: COLOURS[n % COLOURS.length],
          stroke: COLOURS[n % COLOURS.length],
          paths: bars,
          points: { show: false },
        })),
      ],
    },
    [xs, ...order.map((n) => series[n])],
    holder,
  );
}

const first = document.querySelector('figure[data-chart][data-uplot]');
const url = first ? first.getAttribute('data-uplot') : null;
if (url) {
  import(url).then(({ default: uPlot }) => {
    for (const figure of document.querySelectorAll('figure[data-chart]')) draw(uPlot, figure);
  });
}
