// Result trends: one uPlot line chart per test (data in the element's data-series attribute), with the
// reference range drawn as dashed lines. The values are also in the table under each chart.
for (const el of document.querySelectorAll('.icr-chart[data-series]')) {
  const s = JSON.parse(el.getAttribute('data-series'));
  const xs = s.points.map((p) => p[0] / 1000);
  const ys = s.points.map((p) => p[1]);
  const series = [
    {},
    { label: `${s.name}${s.unit ? ` (${s.unit})` : ''}`, stroke: '#005eb8', width: 2, points: { size: 7 } },
  ];
  const data = [xs, ys];
  if (s.low !== null) {
    series.push({ label: 'Lower limit', stroke: '#4c6272', dash: [6, 4], points: { show: false } });
    data.push(xs.map(() => s.low));
  }
  if (s.high !== null) {
    series.push({ label: 'Upper limit', stroke: '#d5281b', dash: [6, 4], points: { show: false } });
    data.push(xs.map(() => s.high));
  }
  const width = Math.max(260, Math.min(el.clientWidth || 600, 760));
  new uPlot({ width, height: 220, series, axes: [{}, { label: s.unit || '' }], cursor: { show: true } }, data, el);
  el.setAttribute('data-drawn', 'true');
}
