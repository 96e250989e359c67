// Draws the comparison charts from the page's JSON (a <script type="application/json">, which the
// content security policy allows because it is not run). One chart per unit.
(function () {
  var el = document.getElementById("chart-data");
  if (!el || !window.Plotly) { return; }
  var data = JSON.parse(el.textContent);
  var byUnit = {};
  data.series.forEach(function (s) {
    if (s.values.every(function (v) { return v === null; })) { return; }
    (byUnit[s.unit] = byUnit[s.unit] || []).push(s);
  });
  var host = document.getElementById("charts");
  Object.keys(byUnit).forEach(function (unit) {
    var div = document.createElement("div");
    host.appendChild(div);
    var traces = data.names.map(function (name, i) {
      return { type: "bar", name: name, x: byUnit[unit].map(function (s) { return s.label; }),
               y: byUnit[unit].map(function (s) { return s.values[i]; }) };
    });
    Plotly.newPlot(div, traces, { barmode: "group", title: unit, margin: { t: 40, l: 50, r: 10, b: 120 } },
                   { displayModeBar: false, responsive: true });
  });
})();
