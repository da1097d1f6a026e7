// Metric charts (uPlot). A chart is an element with data-chart="<url>" answering
// {"key", "run_id", "run_name", "points": [[step, timestamp_ms, value], ...]} or
// {"key", "series": [{"run_id", "run_name", "points": [...]}, ...]} for several runs overlaid.
// A <select data-chart-axis> switches every chart between steps and time.
(function () {
  "use strict";
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  var charts = [];
  var axis = "step";

  function seriesOf(payload) {
    if (payload.series) return payload.series;
    return [{ run_id: payload.run_id, run_name: payload.run_name, points: payload.points }];
  }

  function table(points) {
    var pick = axis === "time" ? function (p) { return p[1] / 1000; } : function (p) { return p[0]; };
    var sorted = points.slice().sort(function (a, b) { return pick(a) - pick(b); });
    return [sorted.map(pick), sorted.map(function (p) { return p[2]; })];
  }

  function draw(chart) {
    var el = chart.el;
    if (chart.plot) { chart.plot.destroy(); chart.plot = null; }
    var runs = seriesOf(chart.payload);
    if (!runs.length || runs.every(function (s) { return !s.points.length; })) {
      el.textContent = "No values logged.";
      return;
    }
    var data = runs.length === 1 ? table(runs[0].points) : uPlot.join(runs.map(function (s) { return table(s.points); }));
    var series = [{ label: axis === "time" ? "time" : "step" }];
    runs.forEach(function (s, i) {
      series.push({ label: s.run_name || s.run_id, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
                    points: { show: data[0].length < 60 } });
    });
    var width = Math.max(el.clientWidth, 200);
    chart.plot = new uPlot({
      width: width,
      height: 240,
      scales: { x: { time: axis === "time" } },
      series: series,
      axes: [{}, { size: 60 }],
    }, data, el);
  }

  function load(el) {
    fetch(el.dataset.chart, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (payload) {
        var chart = { el: el, payload: payload, plot: null };
        charts.push(chart);
        draw(chart);
      })
      .catch(function (err) { el.textContent = "Could not load this chart (" + err.message + ")."; });
  }

  function wire(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.chartWired) return;
      el.dataset.chartWired = "1";
      load(el);
    });
    root.querySelectorAll("select[data-chart-axis]").forEach(function (select) {
      if (select.dataset.wired) return;
      select.dataset.wired = "1";
      select.addEventListener("change", function () {
        axis = select.value;
        charts.forEach(draw);
      });
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) { if (c.plot) c.plot.setSize({ width: Math.max(c.el.clientWidth, 200), height: 240 }); });
    }, 150);
  });

  window.DockyardCharts = { wire: wire };
  if (document.readyState !== "loading") wire(document);
  else document.addEventListener("DOMContentLoaded", function () { wire(document); });
})();
