// activation_study's replay: the feature space and the decision boundary of one run after
// every epoch, with a slider and a play button, as DeepReplay animates them. The data come
// from replay_ACTIVATION.js, written by activation_study next to index.html, each pushing
// one object onto window.faninReplay; this script draws every one into the block
// id="replay_ACTIVATION". Plain DOM and SVG: nothing is fetched.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";  // the SVG namespace's name (nothing is fetched)
  var W = 300, H = 220, M = 34;  // a panel, its margin for the axes
  var NEGATIVE = "#1f77b4", POSITIVE = "#2ca02c", WRONG = "#d62728";
  var LEVELS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

  function node(name, attributes, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attributes) e.setAttribute(k, attributes[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // P(y = 1) to a color: blue for y = 0, red for y = 1, white at 0.5 (the static views').
  function color(p) {
    var t = Math.min(1, Math.abs(2 * p - 1));
    var to = p > 0.5 ? [214, 39, 40] : [31, 119, 180];
    var c = to.map(function (v) { return Math.round(255 + (v - 255) * t); });
    return "rgb(" + c.join(",") + ")";
  }

  // A panel: a frame, axis labels, and maps from data to pixels over [x0, x1] x [y0, y1].
  function panel(svg, left, title, xlabel, ylabel) {
    var g = node("g", {transform: "translate(" + left + ",0)"}, svg);
    node("text", {x: M + (W - M) / 2, y: 14, "text-anchor": "middle", "font-size": 12}, g)
        .textContent = title;
    node("text", {x: M + (W - M) / 2, y: H + 28, "text-anchor": "middle", "font-size": 11}, g)
        .textContent = xlabel;
    node("text", {x: 10, y: 20 + H / 2, "font-size": 11, transform: "rotate(-90 10 " +
        (20 + H / 2) + ")", "text-anchor": "middle"}, g).textContent = ylabel;
    var body = node("g", {}, g);
    node("rect", {x: M, y: 20, width: W - M, height: H, fill: "none", stroke: "#444"}, g);
    return {
      body: body,
      range: function (x0, x1, y0, y1) { this.r = [x0, x1, y0, y1]; },
      px: function (x) { return M + (x - this.r[0]) / (this.r[1] - this.r[0]) * (W - M); },
      py: function (y) { return 20 + H - (y - this.r[2]) / (this.r[3] - this.r[2]) * H; }
    };
  }

  function clear(g) { while (g.firstChild) g.removeChild(g.firstChild); }

  function points(p, g, xy, labels, wrong) {
    for (var i = 0; i < labels.length; ++i) {
      node("circle", {cx: p.px(xy[2 * i]), cy: p.py(xy[2 * i + 1]), r: 1.8,
                      fill: labels[i] === "1" ? POSITIVE : NEGATIVE,
                      stroke: wrong[i] === "1" ? WRONG : "none"}, g);
    }
  }

  // The output's boundary w1 a1 + w2 a2 + b = 0 across the feature panel.
  function boundary(p, g, w) {
    if (Math.abs(w[1]) < 1e-12) return;
    var x0 = p.r[0], x1 = p.r[1];
    node("line", {x1: p.px(x0), y1: p.py(-(w[0] * x0 + w[2]) / w[1]), x2: p.px(x1),
                  y2: p.py(-(w[0] * x1 + w[2]) / w[1]), stroke: "#000", "stroke-width": 1.2}, g);
  }

  function drawFeatures(p, run, f) {
    clear(p.body);
    var lo1 = Infinity, hi1 = -Infinity, lo2 = Infinity, hi2 = -Infinity;
    f.lines.forEach(function (line) {
      for (var i = 0; i < line.length; i += 2) {
        lo1 = Math.min(lo1, line[i]); hi1 = Math.max(hi1, line[i]);
        lo2 = Math.min(lo2, line[i + 1]); hi2 = Math.max(hi2, line[i + 1]);
      }
    });
    var pad1 = Math.max(0.04 * (hi1 - lo1), 1e-3), pad2 = Math.max(0.04 * (hi2 - lo2), 1e-3);
    p.range(lo1 - pad1, hi1 + pad1, lo2 - pad2, hi2 + pad2);
    var n = 40, cw = (W - M) / n, ch = H / n;
    for (var r = 0; r < n; ++r) {
      for (var c = 0; c < n; ++c) {
        var a1 = p.r[0] + (c + 0.5) / n * (p.r[1] - p.r[0]);
        var a2 = p.r[2] + (r + 0.5) / n * (p.r[3] - p.r[2]);
        var prob = 1 / (1 + Math.exp(-(f.w[0] * a1 + f.w[1] * a2 + f.w[2])));
        node("rect", {x: M + c * cw, y: 20 + H - (r + 1) * ch, width: cw + 0.3, height: ch + 0.3,
                      fill: color(prob), opacity: 0.5}, p.body);
      }
    }
    f.lines.forEach(function (line) {
      var d = "";
      for (var i = 0; i < line.length; i += 2) {
        d += (i ? "L" : "M") + p.px(line[i]).toFixed(1) + "," + p.py(line[i + 1]).toFixed(1);
      }
      node("path", {d: d, fill: "none", stroke: "#888", "stroke-width": 0.6}, p.body);
    });
    points(p, p.body, f.features, run.labels, f.wrong);
    boundary(p, p.body, f.w);
  }

  function drawInputs(p, run, f) {
    clear(p.body);
    var cols = run.grid[0], rows = run.grid[1], cw = (W - M) / cols, ch = H / rows;
    for (var r = 0; r < rows; ++r) {
      for (var c = 0; c < cols; ++c) {
        var prob = LEVELS.indexOf(f.p[r * cols + c]) / (LEVELS.length - 1);
        node("rect", {x: M + c * cw, y: 20 + H - (r + 1) * ch, width: cw + 0.3, height: ch + 0.3,
                      fill: color(prob), opacity: 0.6}, p.body);
      }
    }
    points(p, p.body, run.inputs, run.labels, f.wrong);
  }

  function player(run) {
    var host = document.getElementById("replay_" + run.activation);
    if (!host) return;
    clear(host);
    var svg = node("svg", {width: 2 * W + 20, height: H + 40, viewBox: "0 0 " + (2 * W + 20) +
                           " " + (H + 40)}, host);
    var features = panel(svg, 0, "Feature space (hidden layer)", "a1", "a2");
    var inputs = panel(svg, W + 20, "Decision boundary (input space)", "x1", "x2");
    inputs.range(run.input_region[0], run.input_region[1], run.input_region[2],
                 run.input_region[3]);
    var controls = document.createElement("p");
    var button = document.createElement("button");
    var slider = document.createElement("input");
    var label = document.createElement("span");
    slider.type = "range";
    slider.min = 0;
    slider.max = run.frames.length - 1;
    slider.value = 0;
    slider.style.width = "360px";
    button.textContent = "play";
    controls.appendChild(button);
    controls.appendChild(slider);
    controls.appendChild(label);
    host.appendChild(controls);
    function show(i) {
      var f = run.frames[i];
      drawFeatures(features, run, f);
      drawInputs(inputs, run, f);
      label.textContent = " after epoch " + f.epoch + ": loss " + f.loss.toFixed(4) +
                          ", accuracy " + (100 * f.accuracy).toFixed(1) + "%";
    }
    var timer = null;
    function stop() { clearInterval(timer); timer = null; button.textContent = "play"; }
    button.onclick = function () {
      if (timer) return stop();
      if (+slider.value >= run.frames.length - 1) slider.value = 0;
      button.textContent = "pause";
      timer = setInterval(function () {
        if (+slider.value >= run.frames.length - 1) return stop();
        slider.value = +slider.value + 1;
        show(+slider.value);
      }, 120);
    };
    slider.oninput = function () { show(+slider.value); };
    show(0);
  }

  // After the page has loaded every data script, wherever they stand in it.
  window.addEventListener("load", function () { (window.faninReplay || []).forEach(player); });
})();
