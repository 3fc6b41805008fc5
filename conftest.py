"""Root of the test session (tests, docstring examples in src/, the README's examples).

``SKYFENCE_DATA_DIR`` defaults, as in the Makefile, to ``../shared/data`` when that folder sits beside the checkout,
so a plain ``pytest`` does not skip the real-data tests silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"

# The CLI's output must not depend on the terminal the suite runs in: rich and Typer read these at run time (rich
# uses the terminal's width when any standard stream is a tty, colour when FORCE_COLOR or GITHUB_ACTIONS is set).
# 80 columns is what they use without a terminal, so the suite sees the same text in CI and in a developer's shell.
_TERMINAL = ("FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE", "GITHUB_ACTIONS", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
for _variable in (*_TERMINAL, "TERMINAL_WIDTH", "LINES"):
    os.environ.pop(_variable, None)
os.environ["COLUMNS"] = "80"

# Property tests are reproducible in CI: the same examples every run (derandomize), no example database carried
# between runs, no deadline (a loaded 2-core machine is slow, not wrong).  Recent Hypothesis versions load a "ci"
# profile like this one by themselves under CI=true; this makes it explicit for every version pyproject.toml allows.
if os.environ.get("CI", "").lower() == "true":
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "skyfence-ci",
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile("skyfence-ci")

if not os.environ.get("SKYFENCE_DATA_DIR", "").strip() and SHARED_DATA.is_dir():
    os.environ["SKYFENCE_DATA_DIR"] = str(SHARED_DATA)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The README's examples read the data mirror: skip them without it (in CI they run and fail loudly)."""
    if os.environ.get("SKYFENCE_DATA_DIR") or os.environ.get("CI", "").lower() == "true":
        return
    for item in items:
        if item.nodeid.startswith("README.md"):
            item.add_marker(pytest.mark.skip(reason="the README's examples need SKYFENCE_DATA_DIR"))
