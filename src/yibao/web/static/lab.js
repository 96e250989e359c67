// Draws the pooled fund's balance under each variant (central draw) from the page's JSON, which
// the content security policy allows because a <script type="application/json"> is not run.
(function () {
  var el = document.getElementById("lab-data");
  if (!el || !window.Plotly) { return; }
  var data = JSON.parse(el.textContent);
  var traces = data.series.map(function (s) { return { type: "scatter", mode: "lines", name: s.name, x: s.x, y: s.y }; });
  Plotly.newPlot(document.getElementById("lab-chart"), traces,
                 { yaxis: { title: data.y_title, zeroline: true }, margin: { t: 20, l: 60, r: 10, b: 40 },
                   legend: { orientation: "h" } }, { displayModeBar: false, responsive: true });
})();
