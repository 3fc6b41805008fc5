"""Assess outputs under ``skyfence serve --reports DIR``: what the dashboard lists and opens as map layers.

An assess output folder holds ``summary.json``, ``report.html`` and ``maps/``.  Each cell map the report draws is
also written as ``maps/<stem>.cells.json`` (H3 ids and one value per cell, see
:func:`skyfence.report.figures.write_cell_layer`); those are the layers the dashboard opens.  Folders are found up
to two levels below ``DIR``; names in URLs are relative to it and can never leave it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skyfence.service.core.problems import ProblemError, quoted
from skyfence.service.web.encoding import NO_VALUE, encode_cells

__all__ = ["list_reports", "report_folder", "report_layer_payload"]

_SUFFIX = ".cells.json"


def _folders(root: Path) -> list[Path]:
    found = [
        p.parent for p in (*root.glob("summary.json"), *root.glob("*/summary.json"), *root.glob("*/*/summary.json"))
    ]
    # resolved, and only those still inside the root: a symlink out of it is neither listed nor served
    return sorted({f.resolve() for f in found if (f / "report.html").is_file() and f.resolve().is_relative_to(root)})


def report_folder(root: Path, name: str) -> Path:
    """The output folder ``name`` (relative to ``root``), or a 404 that names only ``name``."""
    base = root.resolve()
    # a listed name only: relative, no "..", no backslash or NUL; the resolved folder must be one _folders found
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts:
        raise ProblemError(404, f"no assess output {quoted(name)} in the reports directory", kind="not-found")
    wanted = (base / name).resolve()
    if not wanted.is_relative_to(base) or wanted not in _folders(base):
        raise ProblemError(404, f"no assess output {quoted(name)} in the reports directory", kind="not-found")
    return wanted


def list_reports(root: Path) -> list[dict[str, Any]]:
    """One entry per assess output: name, scenario title, when it ran, variants, map layers."""
    base = root.resolve()
    entries = []
    for folder in _folders(base):
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        scenario = summary.get("scenario") if isinstance(summary.get("scenario"), dict) else {}
        layers = []
        for file in sorted((folder / "maps").glob(f"*{_SUFFIX}")):
            try:
                head = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            layers.append(
                {"id": file.name[: -len(_SUFFIX)], "title": head.get("title", ""), "units": head.get("units", "")}
            )
        entries.append(
            {
                "name": folder.relative_to(base).as_posix() if folder != base else ".",
                "title": scenario.get("title") or scenario.get("name") or folder.name,
                "time": summary.get("time"),
                "variants": [v.get("name") for v in summary.get("variants", []) if isinstance(v, dict)],
                "maps": sorted(p.name for p in (folder / "maps").glob("*.png")),
                "layers": layers,
            }
        )
    return entries


def report_layer_payload(root: Path, name: str, layer: str) -> tuple[bytes, dict[str, str]]:
    """A report map as an SFC1 payload: values scaled to 0..254 between the map's minimum and maximum."""
    folder = report_folder(root, name)
    file = folder / "maps" / f"{layer}{_SUFFIX}"
    if "/" in layer or not file.is_file():
        raise ProblemError(404, f"no map layer {quoted(layer)} in assess output {quoted(name)}", kind="not-found")
    document = json.loads(file.read_text(encoding="utf-8"))
    cells = np.array([int(c, 16) for c in document["cells"]], dtype=np.uint64)
    raw = np.array([np.nan if v is None else v for v in document["values"]], dtype=float)
    finite = np.isfinite(raw)
    lo = float(np.nanmin(raw)) if finite.any() else 0.0
    hi = float(np.nanmax(raw)) if finite.any() else 1.0
    span = hi - lo if hi > lo else 1.0
    scaled = np.where(finite, np.round((np.nan_to_num(raw, nan=lo) - lo) / span * (NO_VALUE - 1)), NO_VALUE)
    headers = {
        "X-Skyfence-Min": repr(lo),
        "X-Skyfence-Max": repr(hi),
        "X-Skyfence-Units": str(document.get("units", "")),
        "X-Skyfence-Title": str(document.get("title", ""))[:200].encode("ascii", "replace").decode(),
    }
    return encode_cells(cells, scaled.astype(np.uint8)), headers
