// The compare page's parallel-coordinates plot (ECharts): one axis per parameter (numeric, or the values as
// categories) and the chosen metric last, one line per run coloured by that metric. Data comes from the
// page's <script type="application/json" id="parallel-data"> block.
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("parallel");
    var source = document.getElementById("parallel-data");
    if (!el || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    if (!data.axes.length) { el.textContent = "No parameters or metrics to plot."; return; }
    var axes = data.axes.map(function (a, i) {
      var axis = { dim: i, name: a.name, nameLocation: "end", nameTextStyle: { fontWeight: a.kind === "metric" ? "bold" : "normal" } };
      if (!a.numeric) { axis.type = "category"; axis.data = a.categories; } else { axis.scale = true; }
      return axis;
    });
    var metricIndex = data.axes.length - 1;
    var metricValues = data.lines.map(function (l) { return l.values[metricIndex]; }).filter(function (v) { return typeof v === "number"; });
    var hasMetric = data.axes[metricIndex].kind === "metric" && metricValues.length > 0;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      parallelAxis: axes,
      parallel: { left: 60, right: 90, top: 40, bottom: 30 },
      visualMap: hasMetric ? {
        show: true, type: "continuous", dimension: metricIndex, min: Math.min.apply(null, metricValues),
        max: Math.max.apply(null, metricValues), right: 0, top: "middle", calculable: true,
        inRange: { color: ["#2c7bb6", "#abd9e9", "#fdae61", "#d7191c"] }, itemHeight: 200, precision: 4,
      } : undefined,
      tooltip: { trigger: "item", formatter: function (p) { return p.name; } },
      series: [{
        type: "parallel", lineStyle: { width: 2, opacity: 0.7 },
        data: data.lines.map(function (l) { return { name: l.name, value: l.values }; }),
      }],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState !== "loading") draw();
  else document.addEventListener("DOMContentLoaded", draw);
})();
