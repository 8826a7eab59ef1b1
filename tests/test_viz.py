"""Pictures of graphs (autodiff.viz): the DOT text, rendering with every renderer found, the
guards against bad input, and the step-through of the backward pass."""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import stat
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff
from autodiff import Value, backward_steps, draw_graph, save_backward_html, viz
from nn import MLP

# --- helpers -----------------------------------------------------------------------------------


def readme_expression() -> tuple[Value, Value, Value, Value]:
    """The README's example: z = 2 w1 + 1, L = z w2 + 0.5, with w1 = 0.5 and w2 = 1.5."""
    w1, w2 = Value(0.5, label="w1"), Value(1.5, label="w2")
    z = 2.0 * w1 + 1.0
    z.label = "z"
    L = z * w2 + 0.5
    L.label = "L"
    return w1, w2, z, L


def html_label(attrs: str) -> str | None:
    """The text of an HTML-like label ``label=<...>`` in a DOT attribute list, tags removed."""
    start = attrs.find("label=<")
    if start < 0:
        return None
    depth, i = 0, start + len("label=")
    for j in range(i, len(attrs)):
        depth += {"<": 1, ">": -1}.get(attrs[j], 0)
        if depth == 0:
            inner = attrs[i + 1 : j]
            text = re.sub(r"<BR[^>]*>", " ", inner)
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
    raise AssertionError(f"unbalanced label in {attrs}")


def plain_label(attrs: str) -> str | None:
    found = re.search(r'(?:^|\s)label=("(?:[^"\\]|\\.)*"|[^\s<]\S*)', attrs)
    if not found:
        return None
    return found.group(1).strip('"')


def parse_dot(source: str) -> dict[str, Any]:
    """Nodes (id -> attribute text, and the clusters around it), edges and cluster labels."""
    nodes: dict[str, str] = {}
    where: dict[str, tuple[str, ...]] = {}
    edges: list[tuple[str, str, str]] = []
    stack: list[str] = []
    for line in source.splitlines():
        text = line.strip()
        if text.startswith("subgraph "):
            stack.append("?")
            continue
        if text == "}":
            if stack:
                stack.pop()
            continue
        if stack and re.match(r"^(graph \[)?\w+=", text) and "label=<" in text:
            stack[-1] = html_label(text) or "?"  # the cluster's own attributes
            continue
        edge = re.match(r"^(\w+) -> (\w+)(?: \[(.*)\])?$", text)
        if edge:
            edges.append((edge.group(1), edge.group(2), edge.group(3) or ""))
            continue
        node = re.match(r"^(\w+) \[(.*)\]$", text)
        if node and node.group(1) not in ("graph", "node", "edge"):
            nodes[node.group(1)] = node.group(2)
            where[node.group(1)] = tuple(stack)
    return {"nodes": nodes, "where": where, "edges": edges}


def node_text(attrs: str) -> str | None:
    return html_label(attrs) or plain_label(attrs)


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG; checks every chunk's CRC and that
    the pixel data has exactly the size the header promises."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert header is not None, "no IHDR"
    width, height, depth, colour, _, _, interlace = header
    raw = zlib.decompress(idat)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    assert interlace == 0
    assert len(raw) == height * (1 + (width * channels * depth + 7) // 8)
    return width, height, raw


RENDERERS = viz.find_renderers()


def renderer_named(name: str) -> viz.Renderer | None:
    return next((r for r in RENDERERS if r.name == name), None)


@pytest.fixture
def no_renderers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without any dot program: empty PATH and scripts folder, no $CHAINGRAD_DOT."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(viz.ENV_VAR, raising=False)
    monkeypatch.setattr(viz.renderers, "_script_dirs", lambda: [empty])


# --- the DOT text ------------------------------------------------------------------------------


def test_exports() -> None:
    assert autodiff.draw_graph is viz.draw_graph
    assert autodiff.backward_steps is viz.backward_steps
    assert autodiff.save_backward_html is viz.save_backward_html


def test_dot_source_of_a_known_expression_has_exactly_its_nodes_edges_and_numbers() -> None:
    *_, L = readme_expression()
    L.backward()
    graph = draw_graph(L)
    parsed = parse_dot(graph.source)
    texts = {name: node_text(attrs) for name, attrs in parsed["nodes"].items()}
    assert texts == {
        "v0": "w1 data 0.5 grad 3",
        "v1": "data 1 grad 1.5",
        "o1": "×",
        "c1_0": "2",
        "v2": "z data 2 grad 1.5",
        "o2": "+",
        "c2_1": "1",
        "v3": "w2 data 1.5 grad 2",
        "v4": "data 3 grad 1",
        "o4": "×",
        "v5": "L data 3.5 grad 1",
        "o5": "+",
        "c5_1": "0.5",
    }
    assert sorted((a, b) for a, b, _ in parsed["edges"]) == sorted([
        ("v0", "o1"), ("c1_0", "o1"), ("o1", "v1"),
        ("v1", "o2"), ("c2_1", "o2"), ("o2", "v2"),
        ("v2", "o4"), ("v3", "o4"), ("o4", "v4"),
        ("v4", "o5"), ("c5_1", "o5"), ("o5", "v5"),
    ])
    assert 'rankdir=LR' in graph.source


def test_styles_tell_leaves_constants_intermediates_and_the_output_apart() -> None:
    *_, L = readme_expression()
    nodes = parse_dot(draw_graph(L).source)["nodes"]
    colour = {name: re.search(r'COLOR="(#\w+)"', attrs) for name, attrs in nodes.items()}
    leaf, intermediate, output = (colour[n].group(1) for n in ("v0", "v1", "v5"))  # type: ignore[union-attr]
    assert len({leaf, intermediate, output}) == 3
    assert colour["v3"].group(1) == leaf and colour["v4"].group(1) == intermediate  # type: ignore[union-attr]
    assert 'BORDER="2"' in nodes["v5"] and 'BORDER="1"' in nodes["v0"]
    assert "dashed" in nodes["c1_0"] and "shape=box" in nodes["c1_0"]
    assert "shape=circle" in nodes["o1"]


def test_input_order_is_marked_where_it_matters_and_a_repeated_input_gets_two_edges() -> None:
    """An operation whose inputs' order matters shows its formula in their names: labels where
    they are short, else neutral letters, which the edges then carry (never the rules' own x
    and y, which mean other things in the book)."""
    x = Value(3.0, label="x")
    y = x - 1.0
    sq = x * x
    out = y / sq
    parsed = parse_dot(draw_graph(out).source)
    names = {node_text(attrs): n for n, attrs in parsed["nodes"].items()}
    div = names["a / b"]  # neither input has a label
    div_edges = {a: attrs for a, b, attrs in parsed["edges"] if b == div}
    assert sorted(re.search(r"headlabel=(\w)", e).group(1) for e in div_edges.values()) == ["a", "b"]  # type: ignore[union-attr]
    assert "headlabel=a" in div_edges[names["data 2 grad 0"]]  # y = x - 1 is a, the numerator
    sub = names["x - 1"]  # a labelled input and a constant: named, nothing on the edges
    assert all("headlabel" not in attrs for _, b, attrs in parsed["edges"] if b == sub)
    mul = names["×"]
    mul_edges = [(a, attrs) for a, b, attrs in parsed["edges"] if b == mul]
    assert len(mul_edges) == 2 and mul_edges[0][0] == mul_edges[1][0]  # x * x: two edges from x
    assert all("headlabel" not in attrs for _, attrs in mul_edges)  # x * y: order does not matter
    long = Value(2.0, label="a_long_name") ** Value(3.0, label="another_long_one")
    bubble = parse_dot(draw_graph(long).source)["nodes"]["o2"]
    assert node_text(bubble) == "a^b" and "d/da_long_name = another_long_one · " in bubble


def test_rankdir_and_number_format() -> None:
    *_, L = readme_expression()
    source = draw_graph(L, rankdir="TB", number_format=".3f").source
    assert "rankdir=TB" in source
    assert "data 3.500" in source and "data 0.500" in source
    source = draw_graph(L, number_format=lambda x: f"<{x:.1e}>").source
    assert "data &lt;3.5e+00&gt;" in source  # escaped inside the HTML-like label
    assert "grad" not in draw_graph(L, show_grad=False).source


def test_a_title_goes_on_top() -> None:
    *_, L = readme_expression()
    assert "<B>my &amp; graph</B>" in draw_graph(L, title="my & graph").source


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"rankdir": "XY"}, ValueError, "unknown rankdir 'XY'"),
        ({"rankdir": 3}, TypeError, "unknown rankdir 3"),
        ({"number_format": "%d"}, ValueError, "number_format '%d'"),
        ({"number_format": 4}, TypeError, "number_format must be"),
        ({"max_nodes": 0}, ValueError, "max_nodes must be at least 1, got 0"),
        ({"max_nodes": True}, TypeError, "max_nodes must be a whole number"),
        ({"group": 5}, TypeError, "group must be a function"),
        ({"collapse": True}, ValueError, "collapse=True needs group="),
        ({"title": 5}, TypeError, "title must be a str"),
    ],
)
def test_bad_arguments_say_what_was_wrong(kwargs: dict[str, Any], error: type, words: str) -> None:
    *_, L = readme_expression()
    with pytest.raises(error, match=re.escape(words)):
        draw_graph(L, **kwargs)


def test_a_root_that_is_not_a_value_is_refused() -> None:
    with pytest.raises(TypeError, match=r"draw_graph\(\) needs a Value as root, got float: 2.0"):
        draw_graph(2.0)  # type: ignore[arg-type]
    outputs = MLP(2, [2], seed=0)([1.0, 2.0])
    with pytest.raises(TypeError, match=r"got list.*pass one of its outputs, such as out\[0\]"):
        draw_graph(outputs)  # type: ignore[arg-type]
    for function in (backward_steps, lambda r: save_backward_html(r, "x.html")):
        with pytest.raises(TypeError, match="needs a Value as root, got str"):
            function("L")  # type: ignore[arg-type]


def test_max_nodes_refuses_with_a_summary() -> None:
    x = Value(1.0, label="x")
    y = x
    for _ in range(300):
        y = y * 1.0001 + x  # 600 operations, 300 constants
    with pytest.raises(viz.GraphTooLargeError) as caught:
        draw_graph(y)
    message = str(caught.value)
    assert "1501 nodes, more than max_nodes=500" in message
    assert "601 Values (1 leaf, 600 operations: 300 mul, 300 add) and 300 constants" in message
    assert "raise max_nodes" in message
    assert len(parse_dot(draw_graph(y, max_nodes=2000).source)["nodes"]) == 1501
    small = readme_expression()[3]
    with pytest.raises(viz.GraphTooLargeError, match="13 nodes, more than max_nodes=12"):
        draw_graph(small, max_nodes=12)
    assert draw_graph(small, max_nodes=13) is not None


def test_max_nodes_suggests_collapsing_a_network() -> None:
    model = MLP(4, [8, 8, 1], seed=0)
    out = model([Value(0.1 * i, label=f"x{i}") for i in range(4)])
    with pytest.raises(viz.GraphTooLargeError, match=r"pass group='labels', collapse=True for one "
                       r"box per neuron \(21 nodes\)"):
        draw_graph(out, max_nodes=100)
    collapsed = parse_dot(draw_graph(out, group="labels", collapse=True, max_nodes=21).source)
    assert len(collapsed["nodes"]) == 21  # 4 inputs + 17 neurons


# --- networks: clusters and boxes --------------------------------------------------------------


def network() -> tuple[MLP, list[Value], Value]:
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    x = [Value(0.5, label="x0"), Value(-1.2, label="x1")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    return model, x, loss


def test_nn_labels_parameters_and_neuron_values_by_layer_and_neuron() -> None:
    model, x, _ = network()
    labels = [p.label for p in model.parameters()]
    assert labels[:3] == ["L0.N0.w0", "L0.N0.w1", "L0.N0.b"]
    assert labels[-4:] == ["L1.N0.w0", "L1.N0.w1", "L1.N0.w2", "L1.N0.b"]
    hidden = model.layers[0](x)
    assert [h.label for h in hidden] == ["L0.N0.a", "L0.N1.a", "L0.N2.a"]
    assert {v.label for v in hidden[0].inputs if isinstance(v, Value)} == {"L0.N0.z"}
    from nn import Layer, Neuron

    assert [p.label for p in Neuron(2, rng=None).parameters()] == ["w0", "w1", "b"]
    assert Layer(2, 2).parameters()[3].label == "N1.w0"


def test_group_by_label_reads_dotted_labels() -> None:
    assert viz.group_by_label(Value(1.0, label="L0.N3.w1")) == ("L0", "L0.N3")
    assert viz.group_by_label(Value(1.0, label="w1")) is None
    assert viz.group_by_label(Value(1.0)) is None


def test_grouped_network_puts_every_node_in_its_neuron() -> None:
    _, _, loss = network()
    parsed = parse_dot(draw_graph(loss, group="labels").source)
    texts = {n: node_text(a) or "" for n, a in parsed["nodes"].items()}
    where = parsed["where"]
    for name, text in texts.items():
        if name.startswith("v") and text.startswith(("w0 ", "w1 ", "w2 ", "b ", "z ", "a ")):
            assert len(where[name]) == 2 and where[name][0] in ("L0", "L1"), (text, where[name])
            assert where[name][1] in ("N0", "N1", "N2")
        if text.startswith(("x0 ", "x1 ", "loss ")):
            assert where[name] == ()
    # the weighted sum (one dot node per neuron) and the activation sit in the neuron too
    dots = [n for n, t in texts.items() if t == "·"]
    assert len(dots) == 4 and all(len(where[n]) == 2 for n in dots)
    # inside a cluster the label is shortened: "w0", not "L0.N0.w0"
    assert not any("L0." in t for t in texts.values())


def test_an_unplaced_operation_joins_the_cluster_its_consumers_share() -> None:
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    inner = a * b  # unlabelled: used only by `summed`, which is in "n1"
    summed = inner + c
    summed.label = "s"
    shared = summed * 2.0 + summed  # used outside n1 too

    def group(node: Value) -> str | None:
        return "n1" if node.label in ("a", "b", "s") else None

    parsed = parse_dot(draw_graph(shared, group=group).source)
    texts = {node_text(a) or "": n for n, a in parsed["nodes"].items()}
    where = parsed["where"]
    assert where[texts["a data 1 grad 0"]] == ("n1",)
    assert where[texts["data 2 grad 0"]] == ("n1",)  # inner = a * b joined n1
    assert where[texts["s data 5 grad 0"]] == ("n1",)
    assert where[texts["c data 3 grad 0"]] == ()  # a leaf the group function left out
    assert where[texts["data 15 grad 0"]] == ()  # the output: its own consumers share none
    with pytest.raises(TypeError, match="group\\(\\) must return a cluster name"):
        draw_graph(shared, group=lambda node: 3)  # type: ignore[arg-type, return-value]


def test_collapsed_network_has_one_box_per_neuron_with_its_formula() -> None:
    _, _, loss = network()
    loss.backward()
    parsed = parse_dot(draw_graph(loss, group="labels", collapse=True).source)
    boxes = {n: node_text(a) or "" for n, a in parsed["nodes"].items() if n.startswith("g")}
    assert len(boxes) == 4
    hidden = [t for t in boxes.values() if "tanh" in t]
    assert len(hidden) == 3
    assert all("a = tanh(w0·x0 + w1·x1 + b)" in t for t in hidden)
    (last,) = [t for t in boxes.values() if "tanh" not in t]
    assert "a = w0·L0.N0 + w1·L0.N1 + w2·L0.N2 + b" in last
    edges = {(a, b) for a, b, _ in parsed["edges"]}
    assert sum(1 for a, b in edges if a in boxes and b in boxes) == 3  # L0 boxes -> L1 box
    assert sum(1 for a, b in edges if b in boxes and a not in boxes) == 6  # x0, x1 -> 3 boxes


# --- rendering ---------------------------------------------------------------------------------


def test_graphviz_pure_is_found_beside_python() -> None:
    pure = renderer_named("graphviz-pure")
    assert pure is not None, "graphviz-pure (the viz extra) should be installed: make test does it"
    assert {"svg", "png"} <= pure.formats


def test_graphviz_pure_is_found_in_the_scripts_folder_when_path_lacks_it(
    no_renderers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pure = renderer_named("graphviz-pure")
    assert pure is not None
    monkeypatch.setattr(viz.renderers, "_script_dirs", lambda: [Path(pure.path).parent])
    assert [r.name for r in viz.find_renderers()] == ["graphviz-pure"]


@pytest.mark.parametrize("renderer", RENDERERS, ids=[r.name for r in RENDERERS])
def test_svg_and_png_render_with_every_renderer(renderer: viz.Renderer, tmp_path: Path) -> None:
    *_, L = readme_expression()
    L.backward()
    graph = draw_graph(L)
    ids = set(parse_dot(graph.source)["nodes"])

    svg_path = graph.render(tmp_path / "graph.svg", renderer=renderer)
    tree = ET.parse(svg_path)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    groups = tree.getroot().findall(".//svg:g[@class='node']", ns)
    assert len(groups) == len(ids) == 13
    assert {g.find("svg:title", ns).text for g in groups} == ids  # type: ignore[union-attr]
    assert "data 3.5" in svg_path.read_text()

    png_path = graph.render(tmp_path / "graph.png", renderer=renderer)
    width, height, pixels = decode_png(png_path.read_bytes())
    assert width > 300 and height > 50
    assert len(set(pixels)) > 8  # drawn on, not blank


def test_system_dot_also_writes_pdf(tmp_path: Path) -> None:
    dot = renderer_named("dot")
    if dot is None:
        pytest.skip("Graphviz's dot is not installed here (CI installs it)")
    *_, L = readme_expression()
    data = draw_graph(L).render(tmp_path / "graph.pdf", renderer=dot).read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]


def test_pdf_with_graphviz_pure_says_it_cannot(tmp_path: Path) -> None:
    pure = renderer_named("graphviz-pure")
    assert pure is not None
    *_, L = readme_expression()
    with pytest.raises(viz.RendererNotFoundError, match=r"graphviz-pure .* cannot write 'pdf'"):
        draw_graph(L).render(tmp_path / "graph.pdf", renderer=pure)
    assert not (tmp_path / "graph.pdf").exists()


def test_format_comes_from_the_suffix_or_the_argument(tmp_path: Path) -> None:
    *_, L = readme_expression()
    graph = draw_graph(L)
    out = graph.render(tmp_path / "picture", format="svg")
    assert out.read_bytes().lstrip().startswith(b"<?xml")
    with pytest.raises(ValueError, match="cannot tell which format to write"):
        graph.render(tmp_path / "picture")
    assert graph.pipe().startswith(b"<?xml")
    assert graph.pipe("svg", encoding="utf-8").startswith("<?xml")
    assert graph._repr_mimebundle_()["image/svg+xml"].startswith("<?xml")  # Jupyter


def test_no_renderer_gives_a_clear_error_and_still_the_source(
    no_renderers: None, tmp_path: Path
) -> None:
    assert viz.find_renderers() == []
    *_, L = readme_expression()
    graph = draw_graph(L)
    with pytest.raises(viz.RendererNotFoundError) as caught:
        graph.render(tmp_path / "graph.svg")
    message = str(caught.value)
    assert "pip install 'chaingrad[viz]'" in message and "apt-get install graphviz" in message
    assert viz.ENV_VAR in message and "graph.source" in message
    assert not (tmp_path / "graph.svg").exists()
    assert graph.source.startswith("digraph")
    assert "pip install" in graph._repr_mimebundle_()["text/plain"]  # Jupyter shows the advice
    with pytest.raises(viz.RendererNotFoundError):
        save_backward_html(L, tmp_path / "steps.html")
    assert not (tmp_path / "steps.html").exists()


def test_the_environment_variable_names_a_renderer(
    no_renderers: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pure = renderer_named("graphviz-pure")
    assert pure is not None
    monkeypatch.setenv(viz.ENV_VAR, pure.path)
    assert viz.find_renderers() == [viz.Renderer(f"${viz.ENV_VAR}", pure.path)]
    *_, L = readme_expression()
    assert draw_graph(L).render(tmp_path / "g.svg").stat().st_size > 0
    monkeypatch.setenv(viz.ENV_VAR, str(tmp_path / "no-such-dot"))
    with pytest.raises(viz.RendererNotFoundError, match=r"CHAINGRAD_DOT='.*no-such-dot' names no"):
        viz.find_renderers()


def test_a_program_that_is_not_dot_is_refused_by_name(
    no_renderers: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    not_dot = fake_renderer(tmp_path, "echo hello\n")
    monkeypatch.setenv(viz.ENV_VAR, not_dot.path)
    with pytest.raises(viz.RendererNotFoundError, match=r"CHAINGRAD_DOT=.* does not answer like a "
                                                        r"dot program"):
        viz.find_renderer()
    with pytest.raises(viz.RendererNotFoundError, match="does not answer like a dot program"):
        not_dot.render("digraph {}", "svg")


def test_pdf_without_graphviz_says_how_to_get_it(
    no_renderers: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pure = renderer_named("graphviz-pure")
    assert pure is not None
    monkeypatch.setattr(viz.renderers, "_script_dirs", lambda: [Path(pure.path).parent])
    *_, L = readme_expression()
    with pytest.raises(viz.RendererNotFoundError, match=r"no renderer found writes 'pdf' "
                       r"\(graphviz-pure writes .*png, svg\)\. Graphviz's own dot writes pdf"):
        draw_graph(L).render(tmp_path / "g.pdf")
    with pytest.raises(viz.RendererNotFoundError, match=r"writes 'webm' .* write svg or png"):
        draw_graph(L).render(tmp_path / "g.webm")
    assert list(tmp_path.iterdir()) == [tmp_path / "empty-bin"]


def fake_renderer(tmp_path: Path, script: str) -> viz.Renderer:
    program = tmp_path / "fake-dot"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return viz.Renderer("fake", str(program))


def test_a_failed_render_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    broken = fake_renderer(
        tmp_path,
        'case "$1" in -T\\?) echo "Format: \\"?\\" not recognized. Use one of: svg png" >&2; '
        "exit 1;; esac\nprintf '<svg half'; echo 'Error: out of memory' >&2; exit 3\n",
    )
    *_, L = readme_expression()
    target = tmp_path / "graph.svg"
    target.write_text("the old picture")
    with pytest.raises(viz.RenderError, match=r"fake .* failed to draw svg \(exit code 3\): "
                                             r"Error: out of memory"):
        draw_graph(L).render(target, renderer=broken)
    assert target.read_text() == "the old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-dot", "graph.svg"]


def test_a_failed_write_names_the_path_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    *_, L = readme_expression()
    graph = draw_graph(L)
    with pytest.raises(FileNotFoundError, match=r"cannot write .*nowhere/g.svg: the folder .*nowhere "
                                                r"does not exist"):
        graph.render(tmp_path / "nowhere" / "g.svg")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        graph.render(tmp_path)
    with pytest.raises(TypeError, match="needs a file path, got int"):
        graph.render(3)

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match=r"cannot write .*g.svg: Permission denied"):
        graph.render(tmp_path / "g.svg")
    assert list(tmp_path.iterdir()) == []


# --- the backward pass, step by step -----------------------------------------------------------


def graphs() -> dict[str, Value]:
    """Graphs whose gradients must come out bit for bit as backward() gives them."""
    *_, readme = readme_expression()
    x = Value(0.3, label="x")
    square = x * x  # one input twice
    a, b, c = Value(0.1, label="a"), Value(0.2, label="b"), Value(0.7, label="c")
    many = (a * 3.3 + b).tanh() * (a * 1.7 - c) + (a / b) * (a + c).exp() + a.sin()  # a: 5 uses
    _, _, loss = network()
    wide = MLP(3, [5, 4, 1], activation="relu", seed=3)
    inputs = [Value(0.3 * i - 0.4, label=f"x{i}") for i in range(3)]
    wide_loss = (wide(inputs) - 0.25) ** 2 + wide(inputs[::-1]) * 0.5  # reused parameters
    vectors = autodiff.dot((a, b, a), (b, a, 2.0)) * a  # a Value on both sides of one dot
    return {
        "readme": readme, "square": square, "many": many, "mlp": loss, "wide": wide_loss,
        "vectors": vectors, "leaf": Value(2.5, label="alone"),
    }


@pytest.mark.parametrize("name", list(graphs()))
def test_the_last_step_gives_the_gradients_backward_gives(name: str) -> None:
    root = graphs()[name]
    nodes = autodiff.topological_order(root)
    steps = list(backward_steps(root))
    assert all(node.grad == 0.0 for node in nodes), "backward_steps must not touch .grad"
    assert len(steps) == len(nodes)
    root.backward()
    final = steps[-1].grads
    assert set(final) == set(nodes)
    for node in nodes:
        assert final[node] == node.grad, (node, final[node], node.grad)  # bit for bit


def test_steps_run_in_reverse_topological_order_and_each_adds_one_nodes_share() -> None:
    root = graphs()["many"]
    steps = list(backward_steps(root))
    assert steps[0].node is root and steps[0].upstream == 1.0
    position = {step.node: step.index for step in steps}
    for step in steps:
        assert step.count == len(steps) and steps[step.index] is step
        for x in step.node.inputs:
            if isinstance(x, Value):
                assert position[x] > step.index  # every consumer comes before its inputs
    previous: dict[Value, float] = {root: 1.0}
    for step in steps:
        assert step.upstream == previous[step.node]  # complete when its turn comes
        expected = dict(previous)
        for c in step.contributions:
            assert c.upstream == step.upstream
            assert c.product == step.upstream * c.local
            expected[c.input] = expected.get(c.input, 0.0) + c.product
            assert c.total == expected[c.input]
        assert dict(step.grads) == expected
        if step.node.is_leaf:
            assert step.contributions == ()
        previous = expected


def test_a_repeated_input_gets_both_contributions() -> None:
    x = Value(0.3, label="x")
    (first, second) = list(backward_steps(x * x))
    assert [c.input for c in first.contributions] == [x, x]
    assert [c.local for c in first.contributions] == [0.3, 0.3]
    assert first.grads[x] == 0.6 and second.node is x


def test_local_derivatives_come_from_the_rules() -> None:
    w1, w2, z, L = readme_expression()
    steps = {step.node: step for step in backward_steps(L)}
    zw2 = L.inputs[0]
    assert isinstance(zw2, Value)
    mul = steps[zw2]
    assert [(c.input, c.local, c.product) for c in mul.contributions] == [(z, 1.5, 1.5), (w2, 2.0, 2.0)]
    assert steps[w1].upstream == 3.0 and steps[w1].contributions == ()


def test_seed_and_bad_arguments() -> None:
    *_, L = readme_expression()
    steps = list(backward_steps(L, grad=2.0))
    L.backward(2.0)
    assert all(steps[-1].grads[n] == n.grad for n in autodiff.topological_order(L))
    with pytest.raises(TypeError, match=r"backward_steps\(\) grad must be a number, got str: 'x'"):
        backward_steps(L, grad="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"backward_steps\(\) grad must be a finite number .*, got nan"):
        backward_steps(L, grad=float("nan"))


def test_a_derivative_outside_its_domain_raises_when_its_step_is_reached() -> None:
    """Steps are lazy: the call checks its arguments, and the DomainError that backward() would
    raise comes with the step that meets it, after the steps before it."""
    x = Value(0.0, label="x")
    root = x.sqrt() * 2.0
    steps = backward_steps(root)
    first = next(steps)
    assert first.node is root and [c.product for c in first.contributions] == [2.0]
    with pytest.raises(autodiff.DomainError, match=r"sqrt\(\) has no finite derivative at 0.0"):
        next(steps)
    with pytest.raises(autodiff.DomainError):
        root.backward()
    with pytest.raises(autodiff.DomainError, match="sqrt"):
        list(backward_steps(root))


def test_describe_says_what_flows_where() -> None:
    *_, L = readme_expression()
    steps = list(backward_steps(L))
    first = steps[0].describe()
    assert first.startswith("Step 1 of 6: L = a + 0.5, where a = z · w2  (add)\n")
    assert "seeded with 1" in first and "  to a: 1 × 1 = 1  (d/da = 1); its grad is now 1" in first
    second = steps[1].describe()
    assert second.startswith("Step 2 of 6: z · w2  (mul)\n")
    assert "  to z: 1 × 1.5 = 1.5  (d/dz = w2); its grad is now 1.5" in second
    assert "  to w2: 1 × 2 = 2  (d/dw2 = z); its grad is now 2" in second
    assert "leaf" in steps[-1].describe() and "final" in steps[-1].describe()
    operation = parse_dot(draw_graph(L).source)["nodes"]["o4"]  # its tooltip says the same
    assert 'tooltip="mul: z · w2;  d/dz = w2, d/dw2 = z"' in operation
    x = Value(0.5, label="x")
    (first, _) = list(backward_steps(x.tanh()))
    assert first.describe().splitlines()[-1] == (
        "  to x: 1 × 0.7864 = 0.7864  (d/dx = 1 - tanh(x)²); its grad is now 0.7864")


def test_the_book_example_without_labels_reads_cleanly() -> None:
    """The README's example as it is written there (z and L unlabelled): each caption names
    the inputs by label or by a letter it defines, and never calls w1 "x" (the book's input)."""
    w1, w2 = Value(0.5, label="w1"), Value(1.5, label="w2")
    L = (2.0 * w1 + 1.0) * w2 + 0.5
    captions = [step.describe() for step in backward_steps(L)]
    assert [c.splitlines()[0] for c in captions] == [
        "Step 1 of 6: a + 0.5, where a = (2 · w1 + 1) · w2  (add)",
        "Step 2 of 6: a · w2, where a = 2 · w1 + 1  (mul)",
        "Step 3 of 6: a + 1, where a = 2 · w1  (add)",
        "Step 4 of 6: w2",
        "Step 5 of 6: 2 · w1  (mul)",
        "Step 6 of 6: w1",
    ]
    assert "  to a: 1 × 1.5 = 1.5  (d/da = w2); its grad is now 1.5" in captions[1]
    assert "  to w2: 1 × 2 = 2  (d/dw2 = a); its grad is now 2" in captions[1]
    assert "  to w1: 1.5 × 2 = 3  (d/dw1 = 2); its grad is now 3" in captions[4]
    assert not any(re.search(r"\bas [xy]\b|d/d[xy]\b|…", c) for c in captions)


def test_operands_get_letters_that_no_label_uses_and_negative_numbers_get_brackets() -> None:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    t = (a * -1.0) * (a + b)  # both inputs of t unlabelled, while labels a and b are taken
    head = next(iter(backward_steps(t))).describe().splitlines()
    assert head[0] == "Step 1 of 5: c · d, where c = a · (-1), d = a + b  (mul)"
    assert head[3] == "  to c: 1 × (-1) = -1  (d/dc = d); its grad is now -1"
    x = Value(0.5, label="x")
    caption = next(iter(backward_steps(x / -2.0))).describe()
    assert "x / (-2)  (div)" in caption and "1 × (-0.5) = -0.5  (d/dx = 1 / (-2))" in caption
    first = next(iter(backward_steps(-(x * -2.0)))).describe()
    assert first.startswith("Step 1 of 3: -a, where a = x · (-2)  (neg)")


def test_a_rule_without_formulas_is_described_and_drawn_without_them() -> None:
    """A rule of your own may have no ``code``: the pictures show its name, symbol and numbers."""
    twice = autodiff.Rule("twice", "2×", _twice, (_two,), "2 x;  d/dx = 2")
    halve = autodiff.Rule("scaled", "⊙", _scaled, (_scale_dx, _scale_dy), "x y / 2")
    x, y = Value(1.5, label="x"), Value(4.0)
    out = autodiff.apply(halve, autodiff.apply(twice, x), y)
    steps = list(backward_steps(out))
    first = steps[0].describe()
    assert first.startswith("Step 1 of 4: scaled(a, b), where a = 2×(x), b = 4  (scaled)")
    assert "  to a: 1 × 2 = 2; its grad is now 2" in first
    assert "  to x: 2 × 2 = 4; its grad is now 4" in steps[1].describe()
    parsed = parse_dot(draw_graph(out).source)
    assert node_text(parsed["nodes"]["o3"]) == "⊙"
    marks = sorted(re.search(r"headlabel=(\w)", attrs).group(1)  # type: ignore[union-attr]
                   for _, b, attrs in parsed["edges"] if b == "o3")
    assert marks == ["a", "b"]
    assert "Step 2 of 4" in steps[1].draw().source


def _twice(x: float) -> float:
    return 2 * x


def _two(x: float, out: float) -> float:
    return 2.0


def _scaled(x: float, y: float) -> float:
    return x * y / 2


def _scale_dx(x: float, y: float, out: float) -> float:
    return y / 2


def _scale_dy(x: float, y: float, out: float) -> float:
    return x / 2


def test_a_frame_marks_the_node_and_the_products_on_its_edges() -> None:
    *_, L = readme_expression()
    steps = list(backward_steps(L))
    parsed = parse_dot(steps[1].draw().source)  # the z * w2 node
    nodes = parsed["nodes"]
    red_border = re.compile(r'<TABLE[^>]*COLOR="#dc2626"')
    assert red_border.search(nodes["v4"]) and not red_border.search(nodes["v2"])
    assert '<FONT COLOR="#dc2626"><B>grad 1.5</B>' in nodes["v2"]  # z: just updated
    assert node_text(nodes["v0"]) == "w1 data 0.5 grad –"  # not reached yet
    assert node_text(nodes["v3"]) == "w2 data 1.5 grad 2"
    labels = {(a, b): html_label(attrs) for a, b, attrs in parsed["edges"]}
    assert labels[("v2", "o4")] == "1 × 1.5 = 1.5" and labels[("v3", "o4")] == "1 × 2 = 2"
    assert labels[("v4", "o5")] == "1 × 1 = 1"  # the step before, still shown
    assert labels[("v1", "o2")] == ""  # not yet
    assert "Step 2 of 6" in steps[1].draw().source and "Step 2" not in steps[1].draw(caption=False).source


@pytest.mark.parametrize("which", ["readme", "mlp"])
def test_every_frame_has_the_same_layout(which: str) -> None:
    renderer = RENDERERS[0]
    root = graphs()[which]
    steps = list(backward_steps(root))

    def geometry(step: viz.BackwardStep) -> dict[str, str]:
        svg = renderer.render(step.draw(caption=False).source, "svg").decode()
        shapes = re.findall(r'<title>(v\d+)</title>(?:\s*<[ga][^>]*>)*\s*<(?:path|polygon)[^>]*?'
                            r'(?:points|d)="([^"]+)"', svg)
        return dict(shapes)

    first = geometry(steps[0])
    assert len(first) == len(autodiff.topological_order(root))
    for step in steps[1:] if which == "readme" else steps[1:: max(1, len(steps) // 6)]:
        assert geometry(step) == first, f"step {step.index} moved the nodes"


def test_a_network_frame_renders_as_a_png(tmp_path: Path) -> None:
    _, _, loss = network()
    step = list(backward_steps(loss))[5]
    width, height, _ = decode_png(step.draw(group="labels").render(tmp_path / "s.png").read_bytes())
    assert width > 500 and height > 300


# --- the HTML page -----------------------------------------------------------------------------


def page_data(path: Path) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', path.read_text(), re.S)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_html_page_is_self_contained_and_holds_every_frame(tmp_path: Path) -> None:
    w1, w2, z, L = readme_expression()
    path = save_backward_html(L, tmp_path / "steps.html", rankdir="LR")
    page = path.read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:|//)", page)
    assert "<link" not in page and "@import" not in page and "http" not in page.replace(
        "http-equiv", "")
    data = page_data(path)
    assert len(data["frames"]) == 6
    assert [row["name"] for row in data["rows"]] == ["w1", "2 · w1", "z", "w2", "z · w2", "L"]
    for frame in data["frames"]:
        assert frame["image"].startswith("data:image/svg+xml;base64,")
        assert frame["focus"] is not None and all(0 <= f <= 1 for f in frame["focus"])
    # the output sits at the right of a left-to-right picture, w1 at the left
    assert data["frames"][0]["focus"][0] > 0.8 and data["frames"][-1]["focus"][0] < 0.2
    L.backward()
    two_w1, zw2 = z.inputs[0], L.inputs[0]
    assert isinstance(two_w1, Value) and isinstance(zw2, Value)
    final = data["frames"][-1]["grads"]
    assert [float(g[1]) for g in final] == [n.grad for n in (w1, two_w1, z, w2, zw2, L)]
    assert final[0] == ["3", "3.0"]
    assert data["frames"][0]["grads"][0] is None  # w1: not reached in the first step


def test_the_html_page_guards_its_arguments(tmp_path: Path) -> None:
    *_, L = readme_expression()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_backward_html(L, tmp_path / "no" / "steps.html")
    with pytest.raises(viz.GraphTooLargeError, match="more than max_nodes=5"):
        save_backward_html(L, tmp_path / "steps.html", max_nodes=5)
    with pytest.raises(ValueError, match="unknown rankdir"):
        save_backward_html(L, tmp_path / "steps.html", rankdir="up")
    with pytest.raises(TypeError, match=r"renderer must be an autodiff\.viz\.Renderer"):
        save_backward_html(L, tmp_path / "steps.html", renderer="dot")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_the_html_page_renders_with_graphviz_pure(tmp_path: Path) -> None:
    pure = renderer_named("graphviz-pure")
    assert pure is not None
    _, _, loss = network()
    path = save_backward_html(loss, tmp_path / "mlp.html", group="labels", renderer=pure)
    frames = page_data(path)["frames"]
    assert len(frames) == len(autodiff.topological_order(loss))
    assert all(frame["focus"] is not None for frame in frames)


def test_importing_autodiff_does_not_need_graphviz() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "import autodiff\n"
        "from autodiff import Value, backward_steps, draw_graph\n"
        "x = Value(2.0)\n"
        "assert len(list(backward_steps(x * x))) == 2\n"
        "try:\n"
        "    draw_graph(x * x)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'chaingrad[viz]'" in done.stdout


def test_shutil_which_is_what_finds_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = fake_renderer(tmp_path, "exit 0\n")
    Path(fake.path).rename(tmp_path / "dot")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(viz.ENV_VAR, raising=False)
    monkeypatch.setattr(viz.renderers, "_script_dirs", lambda: [])
    assert viz.find_renderers() == [viz.Renderer("dot", shutil.which("dot") or "")]


def test_describe_brackets_unlabelled_subexpressions_and_writes_whole_derivative_formulas() -> None:
    """An unlabelled input is a letter defined by its formula, brackets kept; each derivative is
    the rule's whole formula as a reader writes it (``Rule.code``), in the inputs' names."""
    a, b = Value(2.0, "a"), Value(3.0, "b")
    t = (a + b) * (a - b)
    t.label = "t"
    first = next(iter(backward_steps(t))).describe()
    assert first.startswith("Step 1 of 5: t = c · d, where c = a + b, d = a - b  (mul)")
    x = Value(0.5, "x")
    assert "(d/dx = σ(x) · (1 - σ(x)))" in next(iter(backward_steps(x.sigmoid()))).describe()
    assert "(d/dx = 1 / (2 √x))" in next(iter(backward_steps(x.sqrt()))).describe()
    z = Value(1.5, "z1")
    assert "(d/dz1 = e^z1)" in next(iter(backward_steps(z.exp()))).describe()
    y = Value(2.0, "y")
    caption = next(iter(backward_steps(z ** y))).describe()
    assert "z1^y  (pow)" in caption and "(d/dz1 = y · z1^(y - 1))" in caption
    assert "(d/dy = z1^y · ln z1)" in caption


@pytest.mark.parametrize("seed", range(40))
def test_steps_equal_backward_bit_for_bit_on_random_dot_graphs(seed: int) -> None:
    """Dots whose vectors share Values, hold constants, and feed one another: the order in which
    backward() adds each element's share must be the order backward_steps shows."""
    import random

    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-2, 2), label=f"x{i}") for i in range(5)]
    inner = [v.tanh() for v in leaves[:3]] + [leaves[3] * leaves[4]]
    pool: list[Value | float] = [*leaves, *inner, 0.5, -1.5]
    lengths = rng.choices(range(1, 7), k=4)
    sums = [autodiff.dot(rng.choices(pool, k=n), rng.choices(pool, k=n)) for n in lengths]
    diffs = [s - leaves[0] for s in sums]
    root = autodiff.dot(diffs, diffs) + autodiff.dot(sums, [1.0] * len(sums))
    steps = list(backward_steps(root))
    root.backward()
    nodes = autodiff.topological_order(root)
    assert [steps[-1].grads[node] for node in nodes] == [node.grad for node in nodes]  # bit for bit


def test_a_weighted_sum_drops_only_constant_ones_from_its_formula() -> None:
    """The bias is the weight of the constant input 1 and is written alone (``+ b``); a weight
    that merely prints as 1 is still a factor of its product."""
    from autodiff.viz.formulas import _formula

    x = Value(2.0, label="x")
    w = Value(0.99996)  # unlabelled: shown by its number, "1" at 4 significant digits
    b = Value(0.5, label="b")
    z = autodiff.dot((w, b), (x, 1.0))
    assert _formula(z, lambda v: v.label or None, lambda n: f"{n:.4g}", budget=5) == "1·x + b"


# --- the pipeline: graph -> scene -> frames -> outputs ------------------------------------------


def test_viz_modules_form_a_pipeline_without_import_circles() -> None:
    """The map in autodiff/viz/__init__.py lists the modules in pipeline order; each imports
    only modules listed above it (so no stage imports a later one, and there is no circle)."""
    import ast

    order = re.findall(r"^- ``(\w+)``:", viz.__doc__ or "", re.M)
    folder = Path(viz.__file__).parent
    assert sorted(order) == sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    for position, module in enumerate(order):
        tree = ast.parse((folder / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module in order[:position], f"{module} imports {node.module}"


def counting_rule(calls: list[float]) -> autodiff.Rule:
    def forward(x: float) -> float:
        return x * 1.0

    def partial(x: float, out: float) -> float:
        calls.append(x)
        return 1.0

    return autodiff.Rule("counted", "c", forward, (partial,), "x;  d/dx = 1")


def test_backward_steps_are_computed_when_asked_for_and_arguments_checked_at_the_call() -> None:
    calls: list[float] = []
    rule = counting_rule(calls)
    x = Value(1.0, label="x")
    y = x
    for _ in range(40):
        y = autodiff.apply(rule, y)
    steps = backward_steps(y)
    assert calls == []  # nothing worked out yet
    first = next(steps)
    assert len(calls) == 1 and first.index == 0 and first.count == 41
    for _ in range(9):
        next(steps)
    assert len(calls) == 10
    assert sum(1 for _ in steps) == 31 and len(calls) == 40
    for bad, error, words in [
        ({"root": None}, TypeError, r"backward_steps\(\) needs a Value as root, got NoneType"),
        ({"grad": "1"}, TypeError, r"backward_steps\(\) grad must be a number, got str"),
        ({"grad": math.inf}, ValueError, r"backward_steps\(\) grad must be a finite number"),
        ({"max_nodes": 0}, ValueError, r"backward_steps\(\) max_nodes must be at least 1"),
        ({"max_nodes": 80}, viz.GraphTooLargeError, r"backward_steps\(\): this graph would give "
                                                    r"Graphviz 81 nodes, more than max_nodes=80"),
    ]:
        arguments: dict[str, Any] = {"root": y, **bad}
        with pytest.raises(error, match=words) as caught:
            backward_steps(**arguments)
        assert len(calls) == 40  # refused before any step
    assert "raise max_nodes: the steps are worked out one at a time" in str(caught.value)


def test_a_step_keeps_its_gradients_while_later_steps_are_worked_out() -> None:
    """``step.grads`` is a view, computed when read, with the meaning it always had: every node
    reached by that step -> its gradient after it, in the order the nodes were reached."""
    root = graphs()["many"]
    steps = backward_steps(root)
    early = [next(steps) for _ in range(4)]
    before = [dict(step.grads) for step in early]
    rest = list(steps)
    assert [dict(step.grads) for step in early] == before
    nodes = autodiff.topological_order(root)
    third = early[2].grads
    reached = list(third)
    assert len(third) == len(reached) == len(set(reached)) and reached[0] is root
    unreached = [n for n in nodes if n not in third]
    assert unreached and all(n in rest[-1].grads for n in unreached)
    with pytest.raises(KeyError):
        third[unreached[0]]
    with pytest.raises(TypeError):
        third[root] = 2.0  # type: ignore[index]
    assert repr(third).startswith("<gradients after step 3: {Value(")


def chain(n: int) -> tuple[Value, Value]:
    x = Value(0.5, label="x")
    y = x
    for _ in range(n):
        y = y * 1.0001
    return x, y


def traced_peak(action: Any) -> int:
    """The most memory (bytes) that Python allocated at one time while ``action()`` ran."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_first_step_of_a_long_chain_costs_little_memory() -> None:
    """Was 1.8 GB for a 10k chain (a copy of every gradient per step, all steps up front)."""
    _, y = chain(10_000)
    peak = traced_peak(lambda: next(backward_steps(y, max_nodes=10**6)))
    assert peak < 8_000_000, f"{peak / 1e6:.1f} MB for the first step"


def test_all_steps_of_a_long_chain_take_memory_in_proportion_to_its_length() -> None:
    """Every step of a chain, one after the other (none kept): linear, not quadratic."""
    peaks = {}
    for n in (4_000, 16_000):
        x, y = chain(n)
        last: list[viz.BackwardStep] = []

        def run(y: Value = y, last: list[viz.BackwardStep] = last) -> None:
            for step in backward_steps(y, max_nodes=10**6):
                last[:] = [step]

        peaks[n] = traced_peak(run)
        y.backward()
        assert same_float(last[0].grads[x], x.grad)
    assert peaks[16_000] < 4.8 * peaks[4_000], peaks  # quadratic would be 16 times
    assert peaks[16_000] / 16_000 < 2_000, f"{peaks[16_000] / 16_000:.0f} bytes per node"


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the pictures walk a graph (``scene._drawing_order``), counted from now."""
    count = [0]
    walk = viz.scene._drawing_order

    def counted_walk(root: Value) -> list[Value]:
        count[0] += 1
        return walk(root)

    monkeypatch.setattr(viz.scene, "_drawing_order", counted_walk)
    return count


def test_describing_every_step_builds_the_scene_once_and_reads_each_node_a_few_times(
    monkeypatch: pytest.MonkeyPatch, walks: list[int]
) -> None:
    """Describing all n steps is linear in n: the graph is walked once per pass (not once per
    step), counted in walks and in reads of ``Value.inputs``, not in seconds."""
    reads = [0]
    inputs = Value.inputs

    def counted_inputs(node: Value) -> tuple[Value | float, ...]:
        reads[0] += 1
        return inputs.fget(node)  # type: ignore[attr-defined, no-any-return]

    per_step = {}
    for n in (300, 600):
        _, y = chain(n)
        steps = list(backward_steps(y, max_nodes=10**4))
        monkeypatch.setattr(Value, "inputs", property(counted_inputs))
        reads[0] = 0
        for step in steps:
            step.describe()
        monkeypatch.setattr(Value, "inputs", inputs)
        per_step[n] = reads[0] / len(steps)
        steps[1].draw(max_nodes=10**4)
        steps[5].draw(max_nodes=10**4, number_format=".3f")
    assert walks[0] == 2  # one walk for each of the two chains
    assert per_step[600] <= per_step[300] * 1.05 and per_step[600] < 20, per_step


def test_save_backward_html_walks_the_graph_once(walks: list[int], tmp_path: Path) -> None:
    *_, L = readme_expression()
    save_backward_html(L, tmp_path / "p.html")
    assert walks[0] == 1


# --- bit for bit, signs of zero included -------------------------------------------------------


def same_float(a: float, b: float) -> bool:
    """Equal as floats and with the same sign (0.0 and -0.0 differ)."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def test_gradients_equal_backwards_to_the_sign_of_zero() -> None:
    """backward() starts an intermediate gradient at -0.0 and a leaf's at 0.0 (it accumulates),
    so a first contribution of -0.0 stays -0.0 at an operation node and becomes 0.0 at a leaf;
    the steps agree, bit for bit."""
    x = Value(0.0, label="x")
    m = x * 2.0
    root = m * -0.0 + autodiff.dot((x, -0.0), (-0.0, x)) - (x * 0.0)
    steps = list(backward_steps(root))
    root.backward()
    final = steps[-1].grads
    assert math.copysign(1.0, final[m]) == -1.0 and math.copysign(1.0, final[x]) == 1.0
    for node in autodiff.topological_order(root):
        assert same_float(final[node], node.grad), (node, final[node], node.grad)
    alone = Value(1.0, label="alone")
    (only,) = backward_steps(alone, grad=-0.0)
    alone.backward(-0.0)
    assert same_float(only.grads[alone], alone.grad)


RANDOM_OPERATIONS: list[Any] = [
    lambda a, b, c: a + b, lambda a, b, c: a * b, lambda a, b, c: a - c, lambda a, b, c: c * a,
    lambda a, b, c: -a, lambda a, b, c: a.tanh(), lambda a, b, c: a.sigmoid(),
    lambda a, b, c: a.relu(), lambda a, b, c: a * a, lambda a, b, c: a.sin() * b.cos(),
    lambda a, b, c: autodiff.dot((a, b, c), (c, a, b)),
]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_steps_equal_backward_to_the_last_bit_on_random_graphs(seed: int) -> None:
    """Random graphs of every kind of node, with zeros of both signs among the numbers."""
    import random

    rng = random.Random(seed)
    numbers = [0.0, -0.0, 0.5, -1.5, 2.0, 3.0]
    pool: list[Value] = [Value(rng.choice(numbers), label=f"x{i}") for i in range(4)]
    for _ in range(rng.randint(1, 12)):
        a, b = rng.choice(pool), rng.choice(pool)
        c = rng.choice(numbers)
        pool.append(rng.choice(RANDOM_OPERATIONS)(a, b, c))
    root = pool[-1]
    steps = list(backward_steps(root))
    root.backward()
    final = steps[-1].grads
    for node in autodiff.topological_order(root):
        assert same_float(final[node], node.grad), (node, final[node], node.grad)


# --- files -------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_get_the_umasks_permissions_and_a_replaced_file_keeps_its_own(tmp_path: Path) -> None:
    *_, L = readme_expression()
    picture = draw_graph(L)
    saved = os.umask(0o077)
    try:
        assert mode(picture.render(tmp_path / "private.svg")) == 0o600
        assert mode(save_backward_html(L, tmp_path / "private.html", rankdir="LR")) == 0o600
        os.umask(0o022)
        assert mode(picture.render(tmp_path / "shared.svg")) == 0o644
        (tmp_path / "private.svg").chmod(0o600)
        (tmp_path / "group.html").write_text("old")
        (tmp_path / "group.html").chmod(0o640)
        assert mode(picture.render(tmp_path / "private.svg")) == 0o600  # not widened to 0644
        assert mode(save_backward_html(L, tmp_path / "group.html", rankdir="LR")) == 0o640
    finally:
        os.umask(saved)
    assert (tmp_path / "group.html").read_text().startswith("<!DOCTYPE html>")


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    from autodiff.files import atomic_write

    target = tmp_path / "f.txt"
    atomic_write(target, lambda file: file.write("first é"))
    assert target.read_text(encoding="utf-8") == "first é"

    def half(file: Any) -> None:
        file.write("sec")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, half)
    assert target.read_text(encoding="utf-8") == "first é"
    atomic_write(str(target), lambda file: file.write(b"\x00bytes"), binary=True)
    assert target.read_bytes() == b"\x00bytes" and os.listdir(tmp_path) == ["f.txt"]
    with pytest.raises(FileNotFoundError, match=r"cannot write .*nowhere.*No such file"):
        atomic_write(tmp_path / "nowhere" / "f.txt", lambda file: None)


def test_labels_that_look_like_the_pages_placeholders_stay_labels(tmp_path: Path) -> None:
    a, b = Value(1.0, label="__DATA__"), Value(2.0, label="__LAST__")
    c = a * b
    c.label = "__TITLE__ </script><!--"
    path = save_backward_html(c, tmp_path / "p.html", title="__DATA__ & __LAST__", rankdir="LR")
    page = path.read_text()
    assert "<title>__DATA__ &amp; __LAST__</title>" in page
    assert 'max="2"' in page and page.count('<script type="application/json"') == 1
    data = page_data(path)
    assert [row["name"] for row in data["rows"]] == ["__DATA__", "__LAST__", "__TITLE__ </script><!--"]
    assert len(data["frames"]) == 3 and data["frames"][0]["caption"].startswith(
        "Step 1 of 3: __TITLE__ </script><!-- = __DATA__ · __LAST__  (mul)")


# --- numbers, labels and words -------------------------------------------------------------------


NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(?:\.0*)?(?:e[-+]?\d+)?(?![\w.])", re.I)


def test_negative_zero_is_never_printed(tmp_path: Path) -> None:
    x = Value(-0.0, label="x")
    y = x * 2.0  # -0.0
    out = y - 0.0
    out.label = "out"
    out.backward(-0.0)
    tiny = Value(-1e-9, label="tiny") * 1.0
    texts = [draw_graph(out).source, draw_graph(out).alt, draw_graph(tiny, number_format=".3f").source]
    steps = list(backward_steps(out, grad=-0.0))
    texts += [s.describe() for s in steps] + [s.draw().source for s in steps]
    page = save_backward_html(out, tmp_path / "p.html", rankdir="LR").read_text()
    texts += [json.dumps(page_data(tmp_path / "p.html")["rows"]), page.split("<script")[0]]
    for text in texts:
        assert not NEGATIVE_ZERO.search(text), NEGATIVE_ZERO.search(text)
    assert "data 0 " in html_label(parse_dot(texts[0])["nodes"]["v0"]) + " "  # type: ignore[operator]
    assert "data 0.000" in texts[2] and "data=0.0" in texts[0]
    seen: list[float] = []
    draw_graph(out, number_format=lambda v: seen.append(v) or "n")  # type: ignore[func-returns-value]
    assert seen and all(math.copysign(1.0, v) == 1.0 for v in seen if v == 0)


def test_a_number_format_that_asks_for_a_huge_field_is_refused() -> None:
    *_, L = readme_expression()
    for spec in ("1000000000", ".1000000f", "9" * 5000, ">50.2f"):
        with pytest.raises(ValueError, match=r"draw_graph\(\) number_format .* over 40 characters"):
            draw_graph(L, number_format=spec)
    assert "data    3.50" in draw_graph(L, number_format="7.2f").source


def test_without_gradients_a_record_is_its_label_and_number() -> None:
    *_, L = readme_expression()
    L.backward()
    nodes = parse_dot(draw_graph(L, show_grad=False).source)["nodes"]
    assert node_text(nodes["v0"]) == "w1 0.5" and node_text(nodes["v5"]) == "L 3.5"
    assert not any("data" in (node_text(attrs) or "") or "grad" in attrs for attrs in nodes.values())
    _, _, loss = network()
    boxes = parse_dot(draw_graph(loss, group="labels", collapse=True, show_grad=False).source)
    texts = [node_text(a) or "" for n, a in boxes["nodes"].items() if n.startswith("g")]
    assert texts and not any("data" in t or "grad" in t for t in texts)
    assert all(re.search(r"a = -?\d", t) for t in texts)


def test_edge_labels_are_legible_in_the_rendered_svg() -> None:
    """Every text of a frame, edge labels included, is drawn at 10 points (13 pixels) or more."""
    *_, L = readme_expression()
    frame = list(backward_steps(L))[1].draw()
    tree = ET.fromstring(RENDERERS[0].render(frame.source, "svg"))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    edges = tree.findall(".//svg:g[@class='edge']", ns)
    edge_texts = [t for g in edges for t in g.findall(".//svg:text", ns)]
    assert len(edge_texts) >= 6  # the products on the edges drawn so far
    sizes = [float(t.get("font-size", "0")) for t in tree.iter(f"{{{ns['svg']}}}text")]
    assert min(float(t.get("font-size", "0")) for t in edge_texts) >= 10 and min(sizes) >= 10


def test_pictures_say_what_they_show_and_fit_the_width_in_jupyter() -> None:
    from IPython.core.formatters import DisplayFormatter

    *_, L = readme_expression()
    L.backward()
    picture = draw_graph(L)
    assert picture.alt == (
        "Computation graph of L (data 3.5, grad 1), drawn left to right: 6 values (2 inputs and "
        "parameters: w1, w2; 4 operations: 2 mul, 2 add) and 3 constants."
    )
    bundle, _ = DisplayFormatter().format(picture)  # what Jupyter gets
    assert bundle["text/plain"] == picture.alt
    svg = ET.fromstring(re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", "", bundle["image/svg+xml"]))
    assert svg.get("role") == "img" and svg.get("aria-label") == picture.alt
    assert svg[0].tag.endswith("title") and svg[0].text == picture.alt
    assert "max-width:100%" in (svg.get("style") or "") and svg.get("viewBox")
    assert picture._repr_svg_() == bundle["image/svg+xml"]
    frame = list(backward_steps(L))[1].draw()
    assert frame.alt == (
        "Backward pass of L, step 2 of 6: the node z · w2 is processed, with gradient 1; it "
        "passes 1.5 to z (whose grad becomes 1.5), 2 to w2 (whose grad becomes 2). 4 of 6 nodes "
        "have a gradient so far."
    )
    assert draw_graph(L, title="The example").alt.startswith("The example. Computation graph")


def test_the_page_gives_every_frame_its_words(tmp_path: Path) -> None:
    *_, L = readme_expression()
    frames = page_data(save_backward_html(L, tmp_path / "p.html"))["frames"]
    assert [f["alt"].split(":")[0] for f in frames] == [
        f"Backward pass of L, step {k} of 6" for k in range(1, 7)]
    page = (tmp_path / "p.html").read_text()
    assert 'img.alt = frame.alt' in page and 'aria-live="polite"' in page


def test_auto_draws_a_wide_backward_pass_top_to_bottom(tmp_path: Path) -> None:
    """rankdir="auto" (the page's default) keeps left to right where it fits 1,200 pixels and
    turns a wider pass top to bottom (a long chain reads better scrolled than shrunk)."""
    x = Value(1.0, label="x")
    small = page_data(save_backward_html(x * 2.0, tmp_path / "s.html"))["frames"]
    assert small[0]["width"] < 900
    assert small[0]["focus"][0] > small[-1]["focus"][0] + 0.3  # left to right: the output right
    *_, L = readme_expression()
    wide = page_data(save_backward_html(L, tmp_path / "w.html"))["frames"]
    flat = page_data(save_backward_html(L, tmp_path / "f.html", rankdir="LR"))["frames"]
    assert flat[0]["width"] > 900 and wide[0]["width"] < flat[0]["width"]
    assert wide[0]["focus"][1] > wide[-1]["focus"][1] + 0.3  # top to bottom: the output below


# --- odd inputs to every entry point ---------------------------------------------------------------


def odd_values() -> list[Any]:
    import numpy as np

    return [None, True, False, np.float32(1.5), np.float64(2.5), np.int64(3), np.bool_(True),
            10**5000, -(10**5000), math.nan, math.inf, -math.inf, "LR", "labels", "", "x",
            b"LR", [], {}, object(), 0, -1, 1.5, -0.0]


def entry_points(tmp_path: Path) -> dict[tuple[str, str], Any]:
    """(function as its errors name it, argument) -> a call with one odd value for it."""
    *_, L = readme_expression()
    step = list(backward_steps(L))[1]
    picture = draw_graph(L)
    fast = RENDERERS[0]
    calls: dict[tuple[str, str], Any] = {
        ("draw_graph", "root"): lambda v: draw_graph(v),
        ("backward_steps", "root"): lambda v: list(backward_steps(v)),
        ("backward_steps", "grad"): lambda v: list(backward_steps(L, grad=v)),
        ("backward_steps", "max_nodes"): lambda v: list(backward_steps(L, max_nodes=v)),
        ("save_backward_html", "root"): lambda v: save_backward_html(v, tmp_path / "p.html"),
        ("save_backward_html", "path"): lambda v: save_backward_html(L, v, renderer=fast),
        ("save_backward_html", "renderer"): lambda v: save_backward_html(L, tmp_path / "p.html",
                                                                          renderer=v),
        ("BackwardStep.describe", "number_format"): lambda v: step.describe(v),
        ("group_by_label", "Value"): lambda v: viz.group_by_label(v),
        ("render", "path"): lambda v: picture.render(v, renderer=fast),
        ("render", "format"): lambda v: picture.render(tmp_path / "g", format=v, renderer=fast),
        ("render", "dpi"): lambda v: picture.render(tmp_path / "g.png", dpi=v, renderer=fast),
        ("pipe", "format"): lambda v: picture.pipe(v, renderer=fast),
        ("pipe", "encoding"): lambda v: picture.pipe("svg", encoding=v, renderer=fast),
        ("find_renderer", "format"): lambda v: viz.find_renderer(v),
    }
    options = {"rankdir": "LR", "number_format": ".4g", "max_nodes": 500}
    for name in [*options, "show_grad", "group", "collapse", "title"]:
        calls["draw_graph", name] = lambda v, name=name: draw_graph(L, **{name: v})
    for name in [*options, "group", "caption"]:
        calls["BackwardStep.draw", name] = lambda v, name=name: step.draw(**{name: v})
    for name in [*options, "group", "title"]:
        calls["save_backward_html", name] = lambda v, name=name: save_backward_html(
            L, tmp_path / "p.html", renderer=fast, **{name: v})
    return calls


ENTRY_POINTS = sorted(entry_points(Path("unused")))


@pytest.mark.parametrize(("function", "argument"), ENTRY_POINTS,
                         ids=[f"{f}-{a}" for f, a in ENTRY_POINTS])
def test_odd_inputs_give_an_answer_or_an_error_naming_the_function_and_argument(
    function: str, argument: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numpy scalars, bools, huge ints, nan, inf, strings, None, containers: each is taken for
    what it means, or refused by a TypeError or ValueError that names the function and the
    argument; never a bare error from deeper code. (A format no renderer writes is a
    RendererNotFoundError, which says what the renderers do write.)"""
    monkeypatch.chdir(tmp_path)  # paths such as "x" are written here
    call = entry_points(tmp_path)[function, argument]
    unclear = []
    for value in odd_values():
        try:
            call(value)
        except viz.RendererNotFoundError as error:
            if not (isinstance(value, str) and argument == "format" and "writes" in str(error)):
                unclear.append((value, error))
        except (TypeError, ValueError) as error:
            message = str(error)
            named = argument if argument != "Value" else "needs a Value"
            if f"{function}()" not in message or named not in message:
                unclear.append((value, error))
        except Exception as error:  # the point is to list what leaked
            unclear.append((value, error))
    assert not unclear, "\n".join(f"{v!r:.40}: {type(e).__name__}: {e}" for v, e in unclear)


@settings(max_examples=80, deadline=None)
@given(grad=st.one_of(st.floats(), st.integers(-(10**400), 10**400), st.booleans(),
                      st.sampled_from(["1", None, b"1"])))
def test_any_seed_gives_backwards_gradients_or_a_clear_error(grad: Any) -> None:
    *_, L = readme_expression()
    try:
        steps = list(backward_steps(L, grad=grad))
    except autodiff.DomainError as error:  # a seed so large that a gradient overflows
        assert str(error).startswith("backward_steps(): the gradient at ") and "overflowed" in str(error)
        with pytest.raises(autodiff.DomainError, match="overflowed"):
            L.backward(grad)
        return
    except (TypeError, ValueError) as error:
        assert str(error).startswith("backward_steps() grad must be")
        finite = isinstance(grad, (int, float)) and not isinstance(grad, bool) and abs(grad) < 1e308
        assert not finite or not math.isfinite(float(grad))
        return
    L.backward(grad)
    for node in autodiff.topological_order(L):
        assert same_float(steps[-1].grads[node], float(node.grad))


@settings(max_examples=120, deadline=None)
@given(spec=st.text(max_size=12))
def test_any_number_format_prints_text_without_negative_zero_or_is_refused(spec: str) -> None:
    x = Value(-0.0, label="x")
    out = x * -1e-12
    try:
        text = draw_graph(out, number_format=spec).source
    except ValueError as error:
        assert str(error).startswith("draw_graph() number_format ")
        return
    assert not re.search(r"data -0(?:[.,_]0*)*(?:%|[eE][-+]?\d+)?\b(?![1-9])", text)


def test_infinities_and_nan_print_as_themselves() -> None:
    from autodiff.viz.arguments import _format

    assert [_format(x, ".4g") for x in (-math.inf, math.inf, math.nan)] == ["-inf", "inf", "nan"]
    assert _format(-1e-9, ".3f") == "0.000" and _format(-0.0, ".4g") == "0"


def test_unlabelled_operands_are_named_by_what_the_picture_shows() -> None:
    """A caption never names a node by an index the picture does not show: an operand too long
    to write out is named by its operation's symbol and its number, both drawn."""
    w1 = Value(0.5, label="w1")
    out = (-3.0 * w1).tanh() * ((w1 * w1 + w1 * 2.0).exp() * w1 + 1.5).tanh() + (-w1) * 0.0
    steps = list(backward_steps(out))
    texts = [s.describe() for s in steps] + [s.alt for s in (s.draw() for s in steps)]
    texts += [draw_graph(out).alt, draw_graph(out).source]
    assert not any(re.search(r"\bnode \d", t) for t in texts)
    first = steps[0].describe().splitlines()[0]
    assert first == "Step 1 of 14: a + b, where a = the × node of value -0.9024, b = -w1 · 0  (add)"
    assert draw_graph(out).alt.startswith("Computation graph of the + node (data -0.9024, grad 0)")
    assert steps[1].draw().alt.startswith(
        "Backward pass of the + node of value -0.9024, step 2 of 14: the × node of value -0.9024 is")


def test_negative_constants_are_bracketed_alike_in_headers_and_definitions() -> None:
    w1 = Value(0.5, label="w1")
    first, second, *_ = (s.describe().splitlines()[0] for s in backward_steps((-3.0 - w1) * w1))
    assert first == "Step 1 of 3: a · w1, where a = (-3) - w1  (mul)"
    assert second == "Step 2 of 3: (-3) - w1  (sub)"
    assert draw_graph(-2.0 * w1).alt.startswith("Computation graph of (-2) · w1 ")


def test_without_gradients_the_alt_text_gives_the_value_not_data() -> None:
    *_, L = readme_expression()
    L.backward()
    alt = draw_graph(L, show_grad=False).alt
    assert alt.startswith("Computation graph of L (value 3.5), drawn") and "data" not in alt
    assert "grad" not in alt
    x = Value(1.0, label="x")
    assert draw_graph(x * x).alt.endswith("1 operation: 1 mul).")  # no "and 0 constants"
