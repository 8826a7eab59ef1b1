"""Test-suite settings: hypothesis searches afresh on a developer's machine (to find new
counterexamples), and replays a fixed search in CI (``CI=true``), so that a run is repeatable."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
