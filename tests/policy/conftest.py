"""Fixtures of the policy tests: the example policies (loaded once per session) and a TOML writer."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def load_example(data_dir):
    """``load_example("real_world_2026")`` → the loaded policy (cached; needs the data mirror)."""
    from skyfence.policy import load_policy

    cache = {}

    def load(name: str):
        if name not in cache:
            cache[name] = load_policy(EXAMPLES / f"{name}.toml")
        return cache[name]

    return load


@pytest.fixture(scope="session")
def real_world(load_example):
    return load_example("real_world_2026")


@pytest.fixture
def write_policy(tmp_path):
    """Write TOML text (dedented) to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "policy.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


HEADER = """
[policy]
name = "test"
operator = "starlink"
default = "deny"
pov = "DEU"
as_of = 2026-08-22
"""
