"""Reproducible answers: published examples name dated catalogs, pinned by sha256, and absolute starts."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_examples_use_dated_catalogs_and_absolute_starts(example):
    import tomllib

    from skyfence import data
    from skyfence.orbits.walker import PRESETS

    scenario = tomllib.loads(example.read_text())
    assert scenario["time"]["start"].lower() != "epoch"
    for constellation in scenario["constellations"]:
        source = constellation["source"]
        assert source in PRESETS or not data.get(source).live, f"{example.name}: {source} is a live catalog"
        if source not in PRESETS:
            assert data.get(source).sha256 is not None
