"""The front door: one import gives the public API, listed once in a sorted ``__all__``."""

from __future__ import annotations

import subprocess
import sys

import skyfence


def test_all_is_sorted_unique_and_importable():
    names = skyfence.__all__
    assert list(names) == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(skyfence, name) is not None


def test_errors_inherit_builtins():
    assert issubclass(skyfence.ElementsError, ValueError)
    assert issubclass(skyfence.RegionError, ValueError)
    assert issubclass(skyfence.InputError, ValueError)
    assert issubclass(skyfence.DatasetError, OSError)
    error = skyfence.ElementsError("checksum is 3, expected 4", source="a.tle", line=7, field="checksum", hint="fix")
    assert str(error) == "a.tle:7: field checksum: checksum is 3, expected 4 (fix)"


def test_cli_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "skyfence", "--help"], capture_output=True, text=True, check=True)
    groups = ("data", "catalog", "region", "propagate", "coverage", "latency", "network", "policy", "assess", "serve")
    groups = (*groups, "capacity", "threat")
    for group in (*groups, "audit", "keys"):
        assert group in out.stdout
