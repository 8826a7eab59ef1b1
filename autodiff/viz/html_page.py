"""The backward pass as one self-contained HTML page: ``save_backward_html(root, path)``.

The page (no server, no network) has a slider, previous/next buttons and arrow keys to step
through the frames of ``backward_steps``, each inlined as SVG with its description, and a table
of the gradients filled in so far.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path
from typing import Any

from ..files import atomic_write
from ..value import Value, shown
from .arguments import NumberFormat, _check_picture_options, _check_root, _check_title
from .files import _check_path
from .grouping import Grouping
from .renderers import Renderer, find_renderer
from .steps import BackwardStep, _start, _steps

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; color: #111827; margin: 1.2rem; }
  h1 { font-size: 1.25rem; margin: 0 0 .3rem; }
  .hint { color: #6b7280; margin: 0 0 .8rem; font-size: .9rem; }
  #top { position: sticky; top: 0; background: white; padding: .3rem 0 .1rem; z-index: 1; }
  .controls { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center;
              margin-bottom: .6rem; }
  .controls input[type=range] { flex: 1; min-width: 8rem; max-width: 36rem; }
  button { font-size: 1rem; padding: .25rem .8rem; }
  #counter { min-width: 8rem; font-variant-numeric: tabular-nums; }
  #caption { white-space: pre-wrap; background: #f9fafb; border: 1px solid #e5e7eb;
             border-radius: 6px; padding: .5rem .7rem; margin: 0 0 .5rem; font-size: .95rem;
             max-height: 30vh; overflow-y: auto; }
  #picture { border: 1px solid #e5e7eb; border-radius: 6px; padding: .4rem; overflow-x: auto; }
  #stage { margin: 0 auto 0 0; max-width: 100%; }
  #picture.natural #stage { max-width: none; }
  #frame { display: block; height: auto; }
  table { border-collapse: collapse; margin-top: .8rem; font-size: .9rem; }
  th, td { border-bottom: 1px solid #e5e7eb; padding: .2rem .7rem; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.current { background: #fee2e2; }
  tr.updated td.grad { color: #dc2626; font-weight: bold; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<p class="hint">Each step takes one node, in the order backward() visits them, and adds
upstream gradient × local derivative to each of its inputs. Use the buttons, the slider or the
arrow keys. The picture fits the width of the page; "Actual size" shows it as drawn.</p>
<div id="top">
<div class="controls">
  <button id="prev" type="button">&#9664; Previous</button>
  <input id="step" type="range" min="0" max="__LAST__" value="0" aria-label="step">
  <button id="next" type="button">Next &#9654;</button>
  <span id="counter"></span>
  <button id="zoom" type="button" aria-pressed="false">Actual size</button>
</div>
<p id="caption" aria-live="polite"></p>
</div>
<div id="picture"><div id="stage"><img id="frame" alt=""></div></div>
<table id="grads">
  <thead><tr><th>node</th><th>kind</th><th class="num">data</th><th class="num">grad</th></tr></thead>
  <tbody></tbody>
</table>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const frames = data.frames;
const slider = document.getElementById("step");
const prev = document.getElementById("prev");
const next = document.getElementById("next");
const zoom = document.getElementById("zoom");
const box = document.getElementById("picture");
const img = document.getElementById("frame");
const body = document.querySelector("#grads tbody");
const cells = data.rows.map(function (row) {
  const tr = document.createElement("tr");
  for (const text of [row.name, row.kind, row.data]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  tr.children[2].className = "num";
  const grad = document.createElement("td");
  grad.className = "num grad";
  tr.appendChild(grad);
  tr.dataset.node = row.name;
  body.appendChild(tr);
  return { tr: tr, grad: grad };
});
// every frame at one scale, set by the widest, so that the nodes stay put from step to step:
// its drawn size (points, 4/3 of a pixel), or less where the page is narrower
const widest = Math.max.apply(null, frames.map(function (f) { return f.width; }));
document.getElementById("stage").style.width = (widest * 4 / 3) + "px";
let current = 0;
function show(k) {
  current = Math.max(0, Math.min(frames.length - 1, k));
  const frame = frames[current];
  img.src = frame.image;
  img.alt = frame.alt;
  img.style.width = (100 * frame.width / widest) + "%";
  document.getElementById("caption").textContent = frame.caption;
  document.getElementById("counter").textContent = "Step " + (current + 1) + " of " + frames.length;
  slider.value = String(current);
  prev.disabled = current === 0;
  next.disabled = current === frames.length - 1;
  cells.forEach(function (cell, i) {
    const g = frame.grads[i];
    cell.grad.textContent = g === null ? "–" : g[0];
    cell.grad.dataset.grad = g === null ? "" : g[1];
    cell.tr.classList.toggle("current", i === frame.current);
    cell.tr.classList.toggle("updated", frame.updated.indexOf(i) >= 0);
  });
}
// keep the node being processed in view: scroll the picture (at its actual size) or the page
// when the node is outside the middle of what shows below the controls and the caption
function reveal() {
  const focus = frames[current].focus;
  if (!focus) { return; }
  const x = img.offsetLeft + focus[0] * img.clientWidth;
  if (x < box.scrollLeft + 0.2 * box.clientWidth || x > box.scrollLeft + 0.8 * box.clientWidth) {
    box.scrollLeft = x - box.clientWidth / 2;
  }
  const shown = img.getBoundingClientRect();
  const y = shown.top + focus[1] * shown.height;
  const top = document.getElementById("top").getBoundingClientRect().bottom;
  const room = window.innerHeight - top;
  if (y < top + 0.15 * room || y > top + 0.85 * room) {
    window.scrollBy(0, y - (top + room / 2));
  }
}
img.addEventListener("load", reveal);
zoom.addEventListener("click", function () {
  const natural = box.classList.toggle("natural");
  zoom.textContent = natural ? "Fit to width" : "Actual size";
  zoom.setAttribute("aria-pressed", String(natural));
  reveal();
});
prev.addEventListener("click", function () { show(current - 1); });
next.addEventListener("click", function () { show(current + 1); });
slider.addEventListener("input", function () { show(Number(slider.value)); });
document.addEventListener("keydown", function (event) {
  if (event.target === slider) { return; }
  if (event.key === "ArrowLeft") { show(current - 1); }
  if (event.key === "ArrowRight") { show(current + 1); }
});
show(0);
</script>
</body>
</html>
"""


def _focus(svg: bytes, node_id: str) -> list[float] | None:
    """Where node ``node_id`` is drawn in ``svg``, as fractions of its width and height (the
    page scrolls there), or None when the SVG does not say."""
    box = re.search(rb'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+) ([0-9.]+)"', svg)
    shift = re.search(rb'class="graph"[^>]*translate\(([-0-9.]+)[ ,]([-0-9.]+)\)', svg)
    title = svg.find(f"<title>{node_id}</title>".encode())
    if not box or not shift or title < 0:
        return None
    text = re.compile(rb'<text[^>]*?\sx="([-0-9.]+)"[^>]*?\sy="([-0-9.]+)"').search(svg, title)
    if not text:
        return None
    width, height = float(box.group(1)), float(box.group(2))
    x = (float(text.group(1)) + float(shift.group(1))) / width
    y = (float(text.group(2)) + float(shift.group(2))) / height
    return [round(min(max(x, 0.0), 1.0), 4), round(min(max(y, 0.0), 1.0), 4)]


def _json_for_html(data: object) -> str:
    """JSON that is safe inside a <script> element: no "<", ">" or "&" as themselves."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_PLACEHOLDER = re.compile(r"__(TITLE|LAST|DATA)__")

_WIDE = 900.0
"""Points (1,200 pixels): a left-to-right picture wider than this is drawn top to bottom by
``rankdir="auto"`` when that is narrower (a long chain reads better scrolled than shrunk)."""


def _width(svg: bytes) -> float:
    """The width of an SVG that Graphviz drew, in points (800 when it does not say)."""
    size = re.search(rb'<svg[^>]*?\swidth="([0-9.]+)pt"', svg)
    return float(size.group(1)) if size else 800.0


def save_backward_html(
    root: Value,
    path: str | os.PathLike[str],
    *,
    rankdir: str = "auto",
    number_format: NumberFormat = ".4g",
    group: Grouping = None,
    max_nodes: int = 150,
    title: str | None = None,
    renderer: Renderer | None = None,
) -> Path:
    """Write one self-contained HTML page (no server, no network) that steps through the
    backward pass of ``root``: a slider, previous/next buttons (and arrow keys), the picture of
    each ``BackwardStep`` inlined as SVG and scaled to fit the page (a button shows it at its
    actual size), its description (also the picture's alternative text), and a table of the
    gradients filled in so far. Returns the path; the file is written whole or not at all, with
    the permissions the umask gives a new file (a replaced file keeps its own).

    ``rankdir`` is "LR", "TB", "RL" or "BT" as for ``draw_graph``, or "auto" (the default):
    left to right unless that is wider than 900 points (1,200 pixels) and top to bottom is
    narrower. Every frame is rendered once, so ``max_nodes`` (which counts picture nodes) is
    lower than ``draw_graph``'s.
    """
    caller = "save_backward_html"
    node = _check_root(root, caller)
    target = _check_path(path, caller)
    auto = isinstance(rankdir, str) and rankdir.lower() == "auto"
    direction, fmt, limit = _check_picture_options("LR" if auto else rankdir, number_format,
                                                   max_nodes, caller)
    heading = _check_title(title, caller)
    if renderer is not None and not isinstance(renderer, Renderer):
        raise TypeError(f"{caller}() renderer must be an autodiff.viz.Renderer, got {shown(renderer)}")
    run = _start(node, 1.0, limit, caller, [
        "draw a smaller part of it (the graph of one neuron's output, say)",
        "or raise max_nodes (every frame is rendered: a page of a few hundred nodes takes minutes)",
    ])
    scene = run.scene_for(group, caller)
    program = renderer or find_renderer("svg")

    def frame_svg(step: BackwardStep, direction: str) -> tuple[Any, bytes]:
        picture = step.draw(rankdir=direction, number_format=number_format, group=group,
                            max_nodes=limit, caption=False)
        return picture, program.render(picture.source, "svg")

    if auto:
        first = next(_steps(run))
        wide = _width(frame_svg(first, "LR")[1])
        if wide > _WIDE and _width(frame_svg(first, "TB")[1]) < wide:
            direction = "TB"
    rows = [
        {
            "name": scene.name(v, fmt),
            "kind": "output" if v is node else ("leaf" if v.op is None else v.op.name),
            "data": fmt(v.data),
        }
        for v in scene.order
    ]
    frames = []
    for step in _steps(run):
        picture, svg = frame_svg(step, direction)
        grads = step.grads
        frames.append({
            "image": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
            "width": _width(svg),
            "focus": _focus(svg, f"v{scene.index[step.node]}"),
            "caption": step.describe(number_format),
            "alt": picture.alt,
            "current": scene.index[step.node],
            "updated": [scene.index[c.input] for c in step.contributions],
            "grads": [
                [fmt(grads[v]), repr(grads[v])] if v in grads else None for v in scene.order
            ],
        })
    filling = {
        "TITLE": html.escape(heading or f"Backward pass of {scene.name(node, fmt)}"),
        "LAST": str(len(frames) - 1),
        "DATA": _json_for_html({"rows": rows, "frames": frames}),
    }
    # one pass: what is put in is never searched again, so a label "__DATA__" stays a label
    page = _PLACEHOLDER.sub(lambda found: filling[found.group(1)], _PAGE)
    atomic_write(target, lambda file: file.write(page))
    return target
