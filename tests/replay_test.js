// node tests/replay_test.js DIR: loads DIR/replay_*.js and DIR/replay.js (an activation_study
// report) into a minimal DOM, fires the page's load event, and checks that every replay
// block gets its two panels, that the slider walks every frame (each drawing the feature
// space's 40 x 40 cells, the input space's grid cells and every point, with the frame's own
// numbers in the label), and that play advances the frames.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const dir = process.argv[2];
let failures = 0;
function check(ok, what) {
  if (!ok) {
    console.log("FAIL: " + what);
    ++failures;
  }
}

// Just what replay.js uses of the DOM.
class Element {
  constructor(name) {
    this.name = name;
    this.attributes = {};
    this.children = [];
    this.style = {};
    this.textContent = "";
  }
  setAttribute(k, v) { this.attributes[k] = String(v); }
  appendChild(c) { this.children.push(c); c.parent = this; return c; }
  removeChild(c) { this.children.splice(this.children.indexOf(c), 1); }
  get firstChild() { return this.children[0] || null; }
  count(name) {
    return this.children.reduce((n, c) => n + c.count(name), this.name === name ? 1 : 0);
  }
}
const hosts = {};
const timers = [];
let onload = null;
const context = {
  window: {addEventListener: (event, f) => { if (event === "load") onload = f; }},
  document: {
    createElementNS: (ns, name) => {
      check(ns === "http://www.w3.org/2000/svg", "the SVG namespace for " + name);
      return new Element(name);
    },
    createElement: (name) => new Element(name),
    getElementById: (id) => hosts[id] || null,
  },
  Math, Infinity,
  setInterval: (f) => { timers.push(f); return timers.length; },
  clearInterval: (t) => { timers[t - 1] = null; },
};
vm.createContext(context);

const data = fs.readdirSync(dir).filter((f) => /^replay_.+\.js$/.test(f)).sort();
check(data.length > 0, "replay_*.js files in " + dir);
for (const file of data) {
  const activation = file.slice("replay_".length, -".js".length);
  hosts["replay_" + activation] = new Element("div");
  vm.runInContext(fs.readFileSync(path.join(dir, file), "utf8"), context, {filename: file});
}
vm.runInContext(fs.readFileSync(path.join(dir, "replay.js"), "utf8"), context,
                {filename: "replay.js"});
check(onload !== null, "replay.js waits for the page's load event");
onload();

for (const run of context.window.faninReplay) {
  const host = hosts["replay_" + run.activation];
  check(host.count("svg") === 1, run.activation + ": one svg");
  const controls = host.children.find((c) => c.name === "p");
  const [button, slider, label] = controls.children;
  const points = run.labels.length;
  check(run.inputs.length === 2 * points, run.activation + ": 2 inputs per point");
  for (let i = 0; i < run.frames.length; ++i) {
    const f = run.frames[i];
    check(f.epoch === i, run.activation + ": frame " + i + " is epoch " + i);
    check(f.features.length === 2 * points && f.wrong.length === points,
          run.activation + " frame " + i + ": every point");
    check(f.p.length === run.grid[0] * run.grid[1], run.activation + " frame " + i + ": cells");
    slider.value = String(i);
    slider.oninput();
    const cells = 40 * 40 + run.grid[0] * run.grid[1];
    check(host.count("rect") === cells + 2, run.activation + " frame " + i + ": " +
          host.count("rect") + " rects, not " + (cells + 2));
    check(host.count("circle") === 2 * points, run.activation + " frame " + i + ": circles");
    check(label.textContent.includes("after epoch " + f.epoch + ": loss " + f.loss.toFixed(4)),
          run.activation + " frame " + i + ": label " + label.textContent);
  }
  slider.value = "0";
  button.onclick();
  check(button.textContent === "pause", run.activation + ": play starts");
  timers[timers.length - 1]();
  check(String(slider.value) === "1",
        run.activation + ": play advances to frame 1, not " + slider.value);
  button.onclick();
  check(button.textContent === "play", run.activation + ": pause stops");
}
console.log(failures === 0 ? "replay: " + context.window.faninReplay.length + " replays checked"
                           : failures + " failures");
process.exit(failures === 0 ? 0 : 1);
