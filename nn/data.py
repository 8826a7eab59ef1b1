"""Toy datasets generated in pure Python from a seed: no downloads, no scikit-learn."""

from __future__ import annotations

import math
import random


def make_moons(
    n_samples: int = 100, noise: float = 0.1, seed: int | None = 0
) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles: class 0 on ``(cos t, sin t)``, class 1 on
    ``(1 - cos t, 1/2 - sin t)`` for ``t`` in ``[0, pi]``, plus Gaussian noise of std ``noise``.

    Returns ``(X, y)``: ``X`` a list of ``[x1, x2]`` points, ``y`` a list of 0/1 labels.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"make_moons needs at least 2 samples, got {n_samples!r}")
    if not noise >= 0:
        raise ValueError(f"make_moons noise must be >= 0, got {noise!r}")
    rng = random.Random(seed)
    n_first = n_samples // 2
    n_second = n_samples - n_first
    points = [_on_arc(i, n_first, 0.0, 0.0, 1.0) for i in range(n_first)]
    points += [_on_arc(i, n_second, 1.0, 0.5, -1.0) for i in range(n_second)]
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in points]
    return X, [0] * n_first + [1] * n_second


def _on_arc(i: int, n: int, cx: float, cy: float, direction: float) -> tuple[float, float]:
    """Point ``i`` of ``n`` evenly spaced on the upper (direction 1) or lower (-1) half circle
    of radius 1 centred at ``(cx, cy)``."""
    t = math.pi * i / max(n - 1, 1)
    return cx + direction * math.cos(t), cy + direction * math.sin(t)
