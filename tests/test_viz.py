"""Pictures of graphs (autodiff.viz): the DOT text, rendering with every renderer found, the
guards against bad input, and the step-through of the backward pass."""

from __future__ import annotations

import html
import json
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
    assert node_text(bubble) == "a^b" and "tooltip=\"pow: a^b\"" in bubble


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
    outputs = MLP(2, [1], seed=0)([1.0, 2.0])
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
    out = model([Value(0.1 * i, label=f"x{i}") for i in range(4)])[0]
    with pytest.raises(viz.GraphTooLargeError, match=r"pass group='labels', collapse=True for one "
                       r"box per neuron \(21 nodes\)"):
        draw_graph(out, max_nodes=100)
    collapsed = parse_dot(draw_graph(out, group="labels", collapse=True, max_nodes=21).source)
    assert len(collapsed["nodes"]) == 21  # 4 inputs + 17 neurons


# --- networks: clusters and boxes --------------------------------------------------------------


def network() -> tuple[MLP, list[Value], Value]:
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    x = [Value(0.5, label="x0"), Value(-1.2, label="x1")]
    loss = (model(x)[0] - 1.0) ** 2
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
    wide_loss = (wide(inputs)[0] - 0.25) ** 2 + wide(inputs[::-1])[0] * 0.5  # reused parameters
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
    path = save_backward_html(L, tmp_path / "steps.html")
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
