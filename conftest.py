"""Root of the test session (tests, docstring examples in src/, the README's examples).

``SKYFENCE_DATA_DIR`` defaults, as in the Makefile, to ``../shared/data`` when that folder sits beside the checkout,
so a plain ``pytest`` does not skip the real-data tests silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"
if not os.environ.get("SKYFENCE_DATA_DIR", "").strip() and SHARED_DATA.is_dir():
    os.environ["SKYFENCE_DATA_DIR"] = str(SHARED_DATA)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The README's examples read the data mirror: skip them without it (in CI they run and fail loudly)."""
    if os.environ.get("SKYFENCE_DATA_DIR") or os.environ.get("CI", "").lower() == "true":
        return
    for item in items:
        if item.nodeid.startswith("README.md"):
            item.add_marker(pytest.mark.skip(reason="the README's examples need SKYFENCE_DATA_DIR"))
