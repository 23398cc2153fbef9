// Draws every history chart on the page with uPlot. Pages work without this file: it only turns
// the data already in the HTML (data-series) into charts, in the reader's local time.
(function () {
  "use strict";
  var COLORS = ["#1f6feb", "#d97706", "#16a34a", "#9333ea"];
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function monthDay(d) { return pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  // Time-axis ticks in 24-hour local time and without month names, so they read the same in
  // every language: HH:mm (HH:mm:ss when zoomed below a minute), with MM-DD under the first tick
  // and where the day changes when the axis spans days; MM-DD alone for ticks a day apart.
  function timeTicks(u, splits, axisIdx, space, incr) {
    var dates = splits.map(function (s) { return s == null ? null : new Date(s * 1000); });
    var days = dates.map(function (d) { return d && monthDay(d); });
    var known = days.filter(Boolean);
    var spansDays = known.length > 1 && known[0] !== known[known.length - 1];
    return dates.map(function (d, i) {
      if (!d) return null;
      if (incr >= 86400) return days[i];
      var time = pad(d.getHours()) + ":" + pad(d.getMinutes()) + (incr < 60 ? ":" + pad(d.getSeconds()) : "");
      return spansDays && (i === 0 || days[i] !== days[i - 1]) ? time + "\n" + days[i] : time;
    });
  }
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
    // The x series' legend label comes translated from the page; its value is 24-hour local time.
    var zh = el.getAttribute("data-lang") === "zh";
    var timeLabel = el.getAttribute("data-time-label") || (zh ? "时间" : "Time");
    var opts = {
      width: Math.max(el.clientWidth, 300),
      height: 240,
      legend: { show: true },
      scales: { x: { time: true, range: function () { return [data.from, data.to]; } }, y: { range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; } } },
      series: [{ label: timeLabel, value: "{YYYY}-{MM}-{DD} {HH}:{mm}" }].concat(data.series.map(function (s, i) {
        var color = COLORS[i % COLORS.length];
        return { label: s.label, stroke: color, fill: i === 0 ? color + "14" : undefined, width: 2, spanGaps: false };
      })),
      axes: [{ values: timeTicks }, { size: 60 }]
    };
    var chart = new uPlot(opts, [data.x].concat(data.series.map(function (s) { return s.y; })), el);
    el.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { chart.setSize({ width: Math.max(el.clientWidth, 300), height: 240 }); });
  }
  function init(root) {
    if (typeof uPlot === "undefined") return;
    (root || document).querySelectorAll(".chart[data-series]:not([data-drawn])").forEach(draw);
  }
  // Forms that delete ask first (the page's Content-Security-Policy allows no inline handlers).
  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });
  // Live-refreshed parts of a page (htmx) may bring new charts.
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(); }); else init();
})();
