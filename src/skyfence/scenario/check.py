"""``skyfence assess --check``: re-run the scenario a ``summary.json`` records and compare every number.

The recorded run's *resolved* scenario (defaults filled in, ``start = "epoch"``
replaced by the absolute time it meant) is run again, with an empty result
cache so that every unit is recomputed, and the new summary is compared with
the recorded one key by key:

* integers, text, booleans and nulls must be equal;
* floats -- all of them reductions (means, percentiles, shares, sums over cells and times) -- must agree within a
  stated tolerance, by default ``rtol = 1e-9`` and ``atol = 1e-12`` (``math.isclose``), which absorbs a different
  summation order in another numpy build and nothing else; ``--rtol 0 --atol 0`` demands bit equality;
* keys that describe the run rather than its answer are not compared: ``run`` (timings, cache counts),
  ``warnings`` (diagnostics such as a stale live catalog), ``inputs`` and ``environment`` -- these two are
  checked separately.

Every input file is hashed again.  An input whose sha256 changed, that is no
longer read, or that is new, makes the check fail even when the numbers happen
to agree (the report no longer states what it was computed from), and is named
as the likely cause of any difference.  Versions of the code (skyfence, sgp4,
skyfield, numpy, h3) that changed are reported but do not fail the check by
themselves: the numbers decide.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from skyfence.errors import InputError

if TYPE_CHECKING:
    from skyfence.scenario.runner import RunProgress

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "NOT_COMPARED",
    "CheckResult",
    "Difference",
    "InputChange",
    "check_summary",
    "compare_summaries",
]

#: Default relative tolerance for floats (reductions) in :func:`compare_summaries`.
DEFAULT_RTOL: Final = 1e-9
#: Default absolute tolerance for floats near zero.
DEFAULT_ATOL: Final = 1e-12
#: Top-level keys of ``summary.json`` that describe the run, not its answer.
NOT_COMPARED: Final = ("run", "inputs", "environment", "warnings")

_MISSING: Final = "<missing>"


@dataclass(frozen=True)
class Difference:
    """One key whose value differs: ``key`` is a dotted path (``variants.0.coverage.1.coverage_fraction``)."""

    key: str
    recorded: Any
    now: Any

    def __str__(self) -> str:
        return f"{self.key}: {_short(self.recorded)} -> {_short(self.now)}"


@dataclass(frozen=True)
class InputChange:
    """An input file or dataset whose bytes changed (``now`` None: no longer read; ``recorded`` None: new)."""

    kind: str
    name: str
    recorded: str | None
    now: str | None

    def __str__(self) -> str:
        if self.now is None:
            return f"{self.kind} {self.name} no longer read (was sha256 {self.recorded[:12] if self.recorded else '?'})"
        if self.recorded is None:
            return f"{self.kind} {self.name} is a new input (sha256 {self.now[:12]})"
        return f"{self.kind} {self.name} changed (sha256 {self.recorded[:12]} -> {self.now[:12]})"


@dataclass
class CheckResult:
    """Outcome of comparing a re-run with a recorded summary."""

    compared: int
    differences: list[Difference] = field(default_factory=list)
    input_changes: list[InputChange] = field(default_factory=list)
    version_changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    inputs: int = 0
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    @property
    def ok(self) -> bool:
        """True when every value agrees and every input has the recorded hash."""
        return not self.differences and not self.input_changes

    def verdict(self) -> str:
        """One line: reproduced or not, how many values differ, and the input(s) that changed."""
        tolerance = f"integers and text exactly, floats within rtol {self.rtol:g} / atol {self.atol:g}"
        versions = "; versions changed: " + ", ".join(
            f"{name} {a} -> {b}" for name, (a, b) in sorted(self.version_changes.items())
        )
        versions = versions if self.version_changes else ""
        if self.ok:
            return (
                f"reproduced: all {self.compared:,} values equal ({tolerance}); "
                f"{self.inputs} input(s) have their recorded sha256{versions}"
            )
        parts = [f"NOT reproduced: {len(self.differences):,} of {self.compared:,} values differ ({tolerance})"]
        if self.input_changes:
            n = len(self.input_changes)
            parts.append(f"{n} input{'s' if n > 1 else ''} changed (one line each below)")
        else:
            parts.append("every input has its recorded sha256" + (versions or ", and no version changed"))
            versions = ""
        return "; ".join(parts) + versions

    def details(self, limit: int = 25) -> list[str]:
        """Each changed input, one per line (all of them), then the differing keys (at most ``limit``, then a count of
        the rest)."""
        lines = [f"  input: {change}" for change in self.input_changes]
        lines += [f"  differs: {difference}" for difference in self.differences[:limit]]
        if len(self.differences) > limit:
            lines.append(f"  ... and {len(self.differences) - limit:,} more")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``skyfence assess --check ... --json``)."""
        return {
            "ok": self.ok,
            "verdict": self.verdict(),
            "compared": self.compared,
            "rtol": self.rtol,
            "atol": self.atol,
            "differences": [{"key": d.key, "recorded": d.recorded, "now": d.now} for d in self.differences],
            "input_changes": [
                {"kind": c.kind, "name": c.name, "recorded_sha256": c.recorded, "sha256": c.now}
                for c in self.input_changes
            ],
            "version_changes": {k: {"recorded": a, "now": b} for k, (a, b) in self.version_changes.items()},
        }


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if value is not _MISSING else _MISSING
    return text if len(text) <= 60 else text[:57] + "..."


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        if not value and prefix:
            out[prefix] = {}
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        out[f"{prefix}.length" if prefix else "length"] = len(value)
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}.{i}", out)
    else:
        out[prefix] = value


def _equal(a: Any, b: Any, rtol: float, atol: float) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, numbers) or not isinstance(b, numbers):
        return type(a) is type(b) and a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)


def compare_summaries(
    recorded: dict[str, Any], now: dict[str, Any], *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL
) -> CheckResult:
    """Compare two ``summary.json`` documents: values (see the module notes), input hashes and versions."""
    if rtol < 0 or atol < 0:
        raise InputError("tolerances must not be negative", field="--rtol/--atol")
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    _flatten({k: v for k, v in recorded.items() if k not in NOT_COMPARED}, "", flat_a)
    _flatten({k: v for k, v in now.items() if k not in NOT_COMPARED}, "", flat_b)
    differences = []
    for key in list(dict.fromkeys([*flat_a, *flat_b])):
        a = flat_a.get(key, _MISSING)
        b = flat_b.get(key, _MISSING)
        if a is _MISSING or b is _MISSING or not _equal(a, b, rtol, atol):
            differences.append(Difference(key, a, b))
    recorded_inputs = {(i["kind"], i["name"]): i.get("sha256") for i in recorded.get("inputs", [])}
    now_inputs = {(i["kind"], i["name"]): i.get("sha256") for i in now.get("inputs", [])}
    changes = [
        InputChange(kind, name, recorded_inputs.get((kind, name)), now_inputs.get((kind, name)))
        for kind, name in dict.fromkeys([*recorded_inputs, *now_inputs])
        if recorded_inputs.get((kind, name)) != now_inputs.get((kind, name))
    ]
    old_versions = recorded.get("environment", {}).get("versions", {})
    new_versions = now.get("environment", {}).get("versions", {})
    version_changes = {
        name: (str(old_versions.get(name)), str(new_versions.get(name)))
        for name in dict.fromkeys([*old_versions, *new_versions])
        if old_versions.get(name) != new_versions.get(name)
    }
    return CheckResult(
        compared=len(flat_a),
        differences=differences,
        input_changes=changes,
        version_changes=version_changes,
        inputs=len(recorded_inputs),
        rtol=rtol,
        atol=atol,
    )


def read_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a recorded ``summary.json``; one-line :class:`InputError` when it is missing or not a run's summary."""
    target = Path(path)
    try:
        summary = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("summary file not found", source=str(target), hint="give DIR/summary.json of a run") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"not a JSON file ({type(error).__name__})", source=str(target)) from None
    scenario = summary.get("scenario") if isinstance(summary, dict) else None
    if not isinstance(scenario, dict) or not isinstance(scenario.get("resolved"), dict):
        raise InputError(
            "no resolved scenario recorded",
            source=str(target),
            field="scenario.resolved",
            hint="--check needs the summary.json of a run by skyfence assess with input hashes (re-run it once)",
        )
    return summary


def scenario_file_of(summary: dict[str, Any], summary_path: str | os.PathLike[str]) -> Path:
    """The recorded run's scenario file, by the path it was given on the command line, from the current folder."""
    recorded = summary["scenario"].get("path")
    if isinstance(recorded, str) and recorded and Path(recorded).is_file():
        return Path(recorded)
    raise InputError(
        f"the recorded scenario file {recorded!r} is not found from this folder",
        source=str(summary_path),
        field="scenario.path",
        hint="run from the folder the report was made in, or give it: skyfence assess SCENARIO --check SUMMARY",
    )


def check_summary(
    summary_path: str | os.PathLike[str],
    *,
    scenario_file: str | os.PathLike[str] | None = None,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    progress: RunProgress | None = None,
) -> tuple[CheckResult, dict[str, Any]]:
    """Re-run the scenario ``summary_path`` records and compare; returns the result and the new summary.

    ``scenario_file`` locates the scenario (its folder is where relative paths start); by default the path the
    summary records, taken from the current folder.  The re-run uses a fresh, temporary result cache.
    """
    from skyfence.scenario.runner import run_scenario
    from skyfence.scenario.schema import Scenario, scenario_from_dict

    recorded = read_summary(summary_path)
    file = Path(scenario_file) if scenario_file is not None else scenario_file_of(recorded, summary_path)
    if not file.is_file():
        raise InputError("scenario file not found", source=str(file), hint="check the path")
    scenario: Scenario = scenario_from_dict(recorded["scenario"]["resolved"], source=f"{summary_path}: scenario")
    with tempfile.TemporaryDirectory(prefix="skyfence-check-") as scratch:
        result = run_scenario(scenario, file.parent, cache_root=Path(scratch), progress=progress, scenario_file=file)
    now = json.loads(json.dumps(result.summary.to_json(), allow_nan=False))
    return compare_summaries(recorded, now, rtol=rtol, atol=atol), now
