/* global window, document */
// Draws the admin portal's charts with Chart.js (served at /admin/assets/chart.umd.js). Each chart's data
// is in <script type="application/json" id="<canvas id>-data">; the same numbers are in a table beside it.
(function () {
  'use strict';
  var NHS = ['#005eb8', '#d5281b', '#ffb81c', '#007f3b', '#768692'];
  function draw() {
    if (typeof window.Chart !== 'function') return;
    var figures = document.querySelectorAll('figure[data-chart]');
    for (var i = 0; i < figures.length; i++) {
      var id = figures[i].getAttribute('data-chart');
      var canvas = document.getElementById(id);
      var dataEl = document.getElementById(id + '-data');
      if (!canvas || !dataEl) continue;
      var spec = JSON.parse(dataEl.textContent || '{}');
      var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      new window.Chart(canvas, {
        type: 'bar',
        data: {
          labels: spec.labels,
          datasets: spec.series.map(function (s, n) {
            return { label: s.name, data: s.values, backgroundColor: NHS[n % NHS.length] };
          }),
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: reduce ? false : { duration: 300 },
          plugins: { legend: { display: spec.series.length > 1 } },
          scales: {
            x: { stacked: spec.stacked },
            y: { stacked: spec.stacked, beginAtZero: true, title: { display: true, text: spec.unit } },
          },
        },
      });
      figures[i].classList.add('app-chart--drawn');
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw);
  else draw();
})();
