// Draws every history chart on the page with uPlot. Pages work without this file: it only turns
// the data already in the HTML (data-series) into charts, in the reader's local time.
(function () {
  "use strict";
  var COLORS = ["#1f6feb", "#d97706", "#16a34a", "#9333ea"];
  function draw(el) {
    var data;
    try { data = JSON.parse(el.getAttribute("data-series")); } catch (e) { return; }
    if (!data.x.length) {
      var empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = el.getAttribute("data-empty");
      el.appendChild(empty);
      return;
    }
    var opts = {
      width: Math.max(el.clientWidth, 300),
      height: 240,
      legend: { show: true },
      scales: { x: { time: true, range: function () { return [data.from, data.to]; } }, y: { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; } } },
      series: [{}].concat(data.series.map(function (s, i) {
        var color = COLORS[i % COLORS.length];
        return { label: s.label, stroke: color, fill: i === 0 ? color + "14" : undefined, width: 2, spanGaps: false };
      })),
      axes: [{}, { size: 60 }]
    };
    var chart = new uPlot(opts, [data.x].concat(data.series.map(function (s) { return s.y; })), el);
    el.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { chart.setSize({ width: Math.max(el.clientWidth, 300), height: 240 }); });
  }
  function init(root) {
    if (typeof uPlot === "undefined") return;
    (root || document).querySelectorAll(".chart[data-series]:not([data-drawn])").forEach(draw);
  }
  // Live-refreshed parts of a page (htmx) may bring new charts.
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
