// Draws every history chart on the page with uPlot. Pages work without this file: it only turns
// the data already in the HTML (data-series) into charts, in the reader's local time.
(function () {
  "use strict";
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
      series: [{}, { label: el.getAttribute("data-label"), stroke: "#1f6feb", fill: "rgba(31,111,235,0.08)", width: 2, spanGaps: false }],
      axes: [{}, { size: 60 }]
    };
    var chart = new uPlot(opts, [data.x, data.y], el);
    el.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { chart.setSize({ width: Math.max(el.clientWidth, 300), height: 240 }); });
  }
  function init() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll(".chart[data-series]").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
