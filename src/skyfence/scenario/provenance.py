"""What a run depended on: every input file with its sha256, and the versions of the code that computed it.

``summary.json`` carries both (keys ``inputs`` and ``environment``) so that a
sceptic can re-run a published report and tell *why* a number moved:
``skyfence assess --check`` (:mod:`skyfence.scenario.check`) compares the
hashes recorded here with the files on the re-running machine and names the
input whose bytes changed.

An input is one of

* ``scenario`` -- the scenario file itself;
* ``dataset`` -- a registry dataset (elements, boundaries, occupied areas, ground segment, availability feed),
  recorded by name with the hash of the bytes the run read, its date and whether it is a live catalog;
* ``policy`` / ``policy_include`` / ``policy_zone_file`` / ``policy_statuses`` -- a policy file, the files it
  includes, the polygon files of its zones and a status feed given as a file;
* ``elements`` / ``region`` / ``ground`` -- a TLE/OMM file, a GeoJSON region or a ground-segment file named by path.

Paths are written relative to the scenario file's folder (never absolute), in POSIX form.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

__all__ = ["VERSIONED_PACKAGES", "dataset_input", "file_input", "relative_name", "versions"]

#: Packages whose versions ``summary.json`` records: the code that turns inputs into numbers.
VERSIONED_PACKAGES: Final = ("skyfence", "sgp4", "skyfield", "numpy", "h3")


def versions() -> dict[str, str]:
    """Installed versions of :data:`VERSIONED_PACKAGES` (``"unknown"`` when not installed as a distribution)."""
    import platform

    from skyfence._version import __version__

    out: dict[str, str] = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = __version__ if name == "skyfence" else version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    out["python"] = platform.python_version()
    return out


def relative_name(path: str | os.PathLike[str], base: Path) -> str:
    """``path`` relative to ``base`` in POSIX form (``policies/real_world_2026.toml``); never absolute.

    A file outside ``base`` is written with ``..`` steps; on another drive (Windows) only its name is kept.
    """
    target = Path(path).resolve()
    try:
        text = os.path.relpath(target, Path(base).resolve())
    except ValueError:  # pragma: no cover - different drives on Windows
        return target.name
    return Path(text).as_posix()


def file_input(kind: str, path: str | os.PathLike[str], base: Path) -> dict[str, Any]:
    """The record of one input file: kind, path relative to ``base``, sha256 and size [bytes]."""
    from skyfence.data import sha256_file

    target = Path(path)
    return {
        "kind": kind,
        "name": relative_name(target, base),
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
    }


def dataset_input(name: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """The record of one registry dataset read from ``path``: name, sha256 of the bytes read, date, live or not."""
    from skyfence import data

    ds = data.get(name)
    target = Path(path)
    record: dict[str, Any] = {
        "kind": "dataset",
        "name": ds.name,
        "sha256": data.sha256_file(target),
        "bytes": target.stat().st_size,
        "data_date": None if ds.data_date is None else ds.data_date.isoformat(),
        "live": ds.live,
    }
    if ds.live:
        fetched = data.where(ds.name).get("fetched_at")
        record["fetched_at"] = fetched
    return record
