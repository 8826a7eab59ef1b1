"""Draw the README's pictures: ``python docs/pictures.py`` (needs the viz extra).

The example is the README's, as its code writes it: only the weights have labels, so the
pictures name the other nodes by their formulas, and the captions by letters they define."""

from pathlib import Path

from autodiff import Value, backward_steps, draw_graph
from autodiff.viz import find_renderer

here = Path(__file__).parent


def readme_expression() -> Value:
    w1, w2 = Value(0.5, label="w1"), Value(1.5, label="w2")
    z = 2.0 * w1 + 1.0
    L = z * w2 + 0.5
    return L


renderer = find_renderer("png")
L = readme_expression()
L.backward()
draw_graph(L).render(here / "expression.png", renderer=renderer, dpi=110)
step = list(backward_steps(readme_expression()))[1]
step.draw(rankdir="TB").render(here / "backward-step.png", renderer=renderer, dpi=110)
print("wrote", here / "expression.png", "and", here / "backward-step.png", "with", renderer.name)
