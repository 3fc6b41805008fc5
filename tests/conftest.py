"""Shared fixtures: where the real public data lives.

Tests that need ``../shared/data`` find it through ``SKYFENCE_DATA_DIR`` (which the root ``conftest.py`` defaults
to ``../shared/data`` when that folder sits beside the checkout).  On a user's machine without it they skip; in CI
(``CI=true``) a missing mirror is a failure, so a green CI run always means the real-data tests ran.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


def _require(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Root of the real-data mirror (``SKYFENCE_DATA_DIR``)."""
    value = os.environ.get("SKYFENCE_DATA_DIR")
    if not value:
        _require("SKYFENCE_DATA_DIR is not set")
    root = Path(value)
    if not root.is_dir():
        _require(f"SKYFENCE_DATA_DIR={value} is not a directory")
    return root


@pytest.fixture(scope="session")
def data_file(data_dir: Path):
    """``data_file("tle/starlink_20250923.tle")`` -> Path, skipping (or failing in CI) when absent."""

    def resolve(relative: str) -> Path:
        path = data_dir / relative
        if not path.exists():
            _require(f"{path} is missing from the data mirror")
        return path

    return resolve


@dataclass(frozen=True)
class Ran:
    """What a command did: exit code and output (the fields of ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def skyfence_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``skyfence_cli("coverage", ..., env={...})``: run the CLI in this process through :func:`skyfence.cli.main`
    (the real entry point and its one-line error path) and return a :class:`Ran`."""
    from skyfence import cli

    def invoke(*args: object, env: dict[str, str] | None = None) -> Ran:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "argv", ["skyfence", *map(str, args)])
        capsys.readouterr()
        code = 0
        try:
            cli.main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return invoke
