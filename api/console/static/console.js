// Progressive enhancement: draws each chart from its JSON data island with Chart.js. Without
// JavaScript the same figures are in the table next to the chart.
(function () {
  if (typeof Chart === "undefined") return;
  var pairs = [["trend-chart", "trend-data", "line"], ["guarantee-chart", "guarantee-data", "line"],
               ["necessity-chart", "necessity-data", "bar"], ["whatif-chart", "whatif-data", "bar"]];
  var colours = ["#00539c", "#b35900", "#2e7d32", "#6a1b9a", "#4a4a4a"];
  pairs.forEach(function (p) {
    var canvas = document.getElementById(p[0]), island = document.getElementById(p[1]);
    if (!canvas || !island) return;
    var data = JSON.parse(island.textContent);
    new Chart(canvas, {
      type: p[2],
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return { label: s.label, data: s.data, borderColor: colours[i % 5],
                   backgroundColor: colours[i % 5], borderDash: s.dashed ? [6, 4] : [] };
        })
      },
      options: { locale: document.documentElement.lang === "sv" ? "sv-SE" : "en-GB", responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { position: "bottom" } } }
    });
  });
})();
