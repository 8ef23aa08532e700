// The attention lab's views (notebook 08), drawn as SVG and canvas in the page.
// Python sends the tokens and the weights; everything here only draws, so a
// hover or a click never waits for the kernel. No CDN, no network.

const SVG = "http://www.w3.org/2000/svg";
const MASKED = "#bdbdbd"; // the grey of llmlib.viz.plots.MASKED_COLOR: "not allowed to look"
// matplotlib's "Blues" (ColorBrewer, 9 stops): the course's fixed 0-1 attention scale.
const BLUES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]
  .map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
const VISIBLE = { " ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d" };

function blue(w) {
  const x = Math.min(1, Math.max(0, w)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(x));
  const f = x - i;
  const c = BLUES[i].map((a, k) => Math.round(a + f * (BLUES[i + 1][k] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function label(tok) {
  const s = [...tok].map((ch) => VISIBLE[ch] ?? ch).join("");
  return s.length > 10 ? s.slice(0, 9) + "\u2026" : s;
}

function node(tag, attrs = {}, parent = null, text = null) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function div(cls, parent, text = null) {
  const e = document.createElement("div");
  e.className = cls;
  if (text !== null) e.textContent = text;
  parent.appendChild(e);
  return e;
}

// weights arrive as little-endian uint16 (w * 65535), shape [L, H, T, T].
function readWeights(model) {
  const [L, H, T] = model.get("shape").length === 4 ? model.get("shape") : [0, 0, 0];
  let raw = model.get("weights");
  let u16 = new Uint16Array(0);
  if (raw && raw.byteLength) {
    const bytes = raw instanceof DataView ? raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)
      : raw instanceof ArrayBuffer ? raw : raw.buffer;
    u16 = new Uint16Array(bytes);
  }
  const ok = u16.length === L * H * T * T && T > 0;
  const at = (l, h, i, j) => u16[((l * H + h) * T + i) * T + j] / 65535;
  // head < 0: the mean over heads, so the heatmap always shows one matrix.
  const get = (l, h, i, j) => {
    if (h >= 0) return at(l, h, i, j);
    let s = 0;
    for (let k = 0; k < H; k++) s += at(l, k, i, j);
    return s / H;
  };
  return { L: ok ? L : 0, H: ok ? H : 0, T: ok ? T : 0, get };
}

function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

// A heatmap: rows are queries, columns keys, the future grey and hatched, a 0-1 colour bar.
function drawHeatmap(parent, W, tokens, layer, head, selected, onHover, size = 460) {
  const T = W.T;
  const cell = clamp(Math.floor(size / Math.max(T, 1)), 6, 22);
  const pad = 70;
  const svg = node("svg", { width: pad + T * cell + 70, height: pad + T * cell + 10, class: "llmlib-heatmap" }, parent);
  const hatch = `llmlib-hatch-${Math.random().toString(36).slice(2)}`;
  const pat = node("pattern", { id: hatch, width: 4, height: 4, patternUnits: "userSpaceOnUse" }, node("defs", {}, svg));
  node("rect", { width: 4, height: 4, fill: MASKED }, pat);
  node("path", { d: "M0,4 L4,0", stroke: "white", "stroke-width": 1 }, pat);
  const g = node("g", { transform: `translate(${pad},${pad})` }, svg);
  const font = clamp(cell - 1, 7, 12);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const masked = j > i;
      const w = masked ? 0 : W.get(layer, head, i, j);
      const r = node("rect", {
        x: j * cell, y: i * cell, width: cell, height: cell,
        fill: masked ? `url(#${hatch})` : blue(w), "data-w": masked ? "masked" : w.toFixed(3),
      }, g);
      node("title", {}, r, masked ? `query ${i} cannot see key ${j} (future)` :
        `query ${i} '${label(tokens[i])}' \u2192 key ${j} '${label(tokens[j])}': ${w.toFixed(3)}`);
      r.addEventListener("mouseenter", () => onHover(i));
    }
    if (cell >= 7) {
      node("text", { x: -4, y: i * cell + cell / 2, "text-anchor": "end", "dominant-baseline": "middle",
        "font-size": font, class: i === selected ? "tok sel" : "tok" }, g, label(tokens[i]));
      node("text", { x: 0, y: 0, transform: `translate(${i * cell + cell / 2},-4) rotate(-90)`,
        "dominant-baseline": "middle", "font-size": font, class: "tok" }, g, label(tokens[i]));
    }
  }
  if (selected >= 0 && selected < T)
    node("rect", { x: 0, y: selected * cell, width: T * cell, height: cell, fill: "none", stroke: "#d62728", "stroke-width": 1.5 }, g);
  // colour bar, fixed 0..1
  const cb = node("g", { transform: `translate(${T * cell + 14},0)` }, g);
  const h = T * cell;
  for (let k = 0; k < 50; k++)
    node("rect", { x: 0, y: h - ((k + 1) * h) / 50, width: 10, height: h / 50 + 0.5, fill: blue((k + 0.5) / 50) }, cb);
  for (const v of [0, 0.5, 1])
    node("text", { x: 14, y: h - v * h, "dominant-baseline": "middle", "font-size": 10 }, cb, v.toFixed(1));
  node("rect", { x: 0, y: h + 4, width: 10, height: 6, fill: MASKED }, cb);
  return svg;
}

// bertviz-style line view: tokens in two columns, a line per (head, key) whose opacity is the weight.
function drawLines(parent, W, tokens, layer, head, selected, colors, onPick) {
  const T = W.T;
  const row = 18, colL = 110, colR = 300, top = 24;
  const svg = node("svg", { width: colR + 120, height: top + T * row + 10, class: "llmlib-lines" }, parent);
  node("text", { x: colL, y: 12, "text-anchor": "end", "font-size": 11, fill: "#555" }, svg, "query");
  node("text", { x: colR, y: 12, "font-size": 11, fill: "#555" }, svg, "key (attended to)");
  const heads = head >= 0 ? [head] : [...Array(W.H).keys()];
  const lines = node("g", { class: "lines" }, svg);
  if (selected >= 0 && selected < T) {
    for (const h of heads) {
      for (let j = 0; j <= selected; j++) {
        const w = W.get(layer, h, selected, j);
        if (w < 0.01) continue;
        node("line", {
          x1: colL + 6, y1: top + selected * row + row / 2, x2: colR - 6, y2: top + j * row + row / 2,
          stroke: colors[h % colors.length], "stroke-opacity": w.toFixed(3), "stroke-width": 3, "data-w": w.toFixed(3),
        }, lines);
      }
    }
  }
  for (let i = 0; i < T; i++) {
    const y = top + i * row + row / 2;
    const left = node("text", { x: colL, y, "text-anchor": "end", "dominant-baseline": "middle", "font-size": 12,
      class: i === selected ? "tok tok-left sel" : "tok tok-left", "data-i": i }, svg, label(tokens[i]));
    left.addEventListener("mouseenter", () => onPick(i));
    left.addEventListener("click", () => onPick(i));
    const future = selected >= 0 && i > selected;
    node("text", { x: colR, y, "dominant-baseline": "middle", "font-size": 12,
      class: future ? "tok tok-right future" : "tok tok-right" }, svg, label(tokens[i]));
  }
  // legend: one colour per head
  heads.forEach((h, k) => {
    node("rect", { x: colR + 60, y: top + k * 16, width: 10, height: 10, fill: colors[h % colors.length] }, svg);
    node("text", { x: colR + 74, y: top + k * 16 + 9, "font-size": 10 }, svg, `head ${h}`);
  });
  return svg;
}

// Every layer and head as a small canvas; a click enlarges that head.
function drawGrid(parent, W, tokens, layer, head, onPick) {
  const grid = div("llmlib-grid", parent);
  grid.style.gridTemplateColumns = `repeat(${W.H}, auto)`;
  const px = clamp(Math.floor(72 / Math.max(W.T, 1)), 1, 8);
  for (let l = 0; l < W.L; l++) {
    for (let h = 0; h < W.H; h++) {
      const cell = div(l === layer && h === head ? "thumb sel" : "thumb", grid);
      const c = document.createElement("canvas");
      c.width = c.height = W.T * px;
      const ctx = c.getContext("2d");
      for (let i = 0; i < W.T; i++)
        for (let j = 0; j < W.T; j++) {
          ctx.fillStyle = j > i ? MASKED : blue(W.get(l, h, i, j));
          ctx.fillRect(j * px, i * px, px, px);
        }
      cell.appendChild(c);
      div("cap", cell, `L${l} H${h}`);
      cell.title = `layer ${l}, head ${h}: click to enlarge`;
      cell.addEventListener("click", () => onPick(l, h));
    }
  }
  return grid;
}

// Step through one head for one query token: a bar per key position for each step.
function drawSteps(parent, steps, step) {
  const names = steps.names || [];
  const tokens = steps.tokens || [];
  const T = tokens.length;
  const bw = clamp(Math.floor(420 / Math.max(T, 1)), 4, 26);
  for (let s = 0; s <= Math.min(step, names.length - 1); s++) {
    const box = div("step", parent);
    div("step-title", box, `${s + 1}. ${names[s]}`);
    const vals = steps.rows[s] || [];
    const finite = vals.filter((v) => v !== null);
    const hi = Math.max(1e-9, ...finite.map(Math.abs));
    const h = 60;
    const isOut = s === names.length - 1;
    const n = vals.length;
    const svg = node("svg", { width: 40 + n * bw, height: h * 2 + (isOut ? 12 : 40), class: "llmlib-steps" }, box);
    const g = node("g", { transform: `translate(34,${h + 4})` }, svg);
    node("line", { x1: 0, x2: n * bw, y1: 0, y2: 0, stroke: "#999" }, g);
    node("text", { x: -4, y: -h, "text-anchor": "end", "font-size": 9, "dominant-baseline": "middle" }, g, hi.toPrecision(2));
    vals.forEach((v, j) => {
      if (v === null) {
        node("rect", { x: j * bw + 1, y: -h, width: bw - 2, height: 2 * h, fill: MASKED, "fill-opacity": 0.5 }, g);
        node("text", { x: j * bw + bw / 2, y: 0, "text-anchor": "middle", "font-size": 9, "dominant-baseline": "middle" }, g, "\u2212\u221e");
      } else {
        const y = (v / hi) * h;
        const r = node("rect", { x: j * bw + 1, y: Math.min(0, -y), width: bw - 2, height: Math.abs(y),
          fill: s === 3 ? blue(v) : v >= 0 ? "#4292c6" : "#ef8a62", stroke: s === 3 ? "#2171b5" : "none", "data-v": v.toFixed(4) }, g);
        node("title", {}, r, `${isOut ? "dim" : "key"} ${j}: ${v.toFixed(4)}`);
      }
      if (!isOut && bw >= 7)
        node("text", { x: 0, y: 0, transform: `translate(${j * bw + bw / 2},${h + 6}) rotate(-90)`, "text-anchor": "end",
          "dominant-baseline": "middle", "font-size": clamp(bw - 2, 7, 11), class: j === steps.token ? "tok sel" : "tok" }, g, label(tokens[j]));
    });
  }
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "llmlib-lab";
  el.appendChild(root);

  const draw = () => {
    root.replaceChildren();
    const title = model.get("title");
    if (title) div("title", root, title);
    if (model.get("kind") === "steps") {
      drawSteps(div("body", root), model.get("steps") || {}, model.get("step"));
      return;
    }
    const W = readWeights(model);
    const tokens = model.get("tokens");
    if (W.T === 0 || tokens.length !== W.T) {
      div("empty", root, model.get("shape").length === 4 ? "No tokens to show: type some text." : "Loading\u2026");
      return;
    }
    const layer = clamp(model.get("layer"), 0, W.L - 1);
    const head = clamp(model.get("head"), -1, W.H - 1);
    const selected = clamp(model.get("selected") < 0 ? W.T - 1 : model.get("selected"), 0, W.T - 1);
    const colors = model.get("colors").length ? model.get("colors") : ["#1f77b4"];
    const body = div("body", root);
    const pick = (i) => {
      if (i === model.get("selected")) return;
      model.set("selected", i);
      model.save_changes();
    };
    const mode = model.get("mode");
    if (mode === "lines") {
      drawLines(body, W, tokens, layer, head, selected, colors, pick);
    } else if (mode === "grid") {
      drawGrid(body, W, tokens, layer, head, (l, h) => {
        model.set("layer", l);
        model.set("head", h);
        model.save_changes();
      });
      const big = div("enlarged", body);
      div("cap", big, head >= 0 ? `layer ${layer}, head ${head}` : `layer ${layer}, mean of all heads`);
      drawHeatmap(big, W, tokens, layer, head, selected, pick, 340);
    } else {
      drawHeatmap(body, W, tokens, layer, head, selected, pick);
    }
  };
  draw();
  // Python holds the weights back until a page shows the view (see AttentionView).
  model.send({ type: "ready" });
  const events = "change:tokens change:weights change:shape change:layer change:head change:mode change:selected " +
    "change:title change:steps change:step change:kind";
  model.on(events, draw);
  return () => model.off(events, draw);
}

export default { render };
