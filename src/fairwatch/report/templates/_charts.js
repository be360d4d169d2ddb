(function () {
  "use strict";
  var holder = document.getElementById("fairwatch-figures");
  if (!holder || typeof Plotly === "undefined") { return; }
  var figures = JSON.parse(holder.textContent);
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };
  var nodes = [];
  figures.forEach(function (figure) {
    var node = document.getElementById(figure.id);
    if (node) { Plotly.newPlot(node, figure.data, figure.layout, config); nodes.push(node); }
  });
  // Charts are drawn at screen width; before printing, redraw them at the width of an A4 page
  // (182 mm of text at 96 dpi), and back to the screen width afterwards.
  var PRINT_WIDTH = 680;
  var printing = false;
  function toPrint() {
    if (printing) { return; }
    printing = true;
    nodes.forEach(function (node) { Plotly.relayout(node, { width: PRINT_WIDTH, autosize: false }); });
  }
  function toScreen() {
    if (!printing) { return; }
    printing = false;
    nodes.forEach(function (node) { Plotly.relayout(node, { width: null, autosize: true }); });
  }
  window.addEventListener("beforeprint", toPrint);
  window.addEventListener("afterprint", toScreen);
  if (window.matchMedia) {
    var query = window.matchMedia("print");
    var onChange = function (event) { if (event.matches) { toPrint(); } else { toScreen(); } };
    if (query.addEventListener) { query.addEventListener("change", onChange); }
  }
})();
