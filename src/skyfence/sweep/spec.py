"""The sweep file: a base scenario and the axes to vary, validated with pydantic, expanded into points.

A sweep file (TOML) names a base scenario and the scenario keys to vary, each by its dotted key path as the
scenario's own error messages write it (``coverage.min_elevation_deg``, ``variants[1].threats[0].fraction``;
``variants.1.threats.0.fraction`` is read the same way)::

    scenario = "../taiwan.toml"            # the base scenario, relative to this file
    repetitions = 100                      # Monte Carlo repetitions of every point (default 1)
    seed = 7                               # repetition r runs with seed + r ...
    seed_keys = ["variants[1].threats[0].seed"]   # ... written into these keys (default: the scenario's seed)

    [set]                                  # fixed changes to the base (same key paths), e.g. fewer draws
    "montecarlo.draws" = 1

    [[axes]]
    key = "variants[1].threats[0].fraction"
    name = "loss_fraction"                 # the column in results.parquet (default: the key)
    range = { start = 0.0, stop = 0.5, step = 0.05 }   # stop included; or { start, stop, num }

    [[axes]]
    key = "coverage.min_elevation_deg"
    values = [25, 40]                      # or random = { low, high, count, seed } (uniform draws)

Points are the Cartesian product of the axes in file order, each repeated ``repetitions`` times (repetition
innermost); the order is deterministic, so a point's number names the same scenario on every run.  Every axis
key is checked against the scenario schema before anything runs: an unknown key, an index past the end of a
list of the base, a value the scenario refuses, or an empty range fails with one line naming the sweep file and
the axis.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skyfence._validation import first_problem, read_toml
from skyfence.errors import InputError, SkyfenceError

__all__ = ["Axis", "Point", "Sweep", "SweepSpec", "axis_label", "load_sweep", "parse_key", "set_key"]

#: Points above this need ``--yes`` (or ``confirm_large=True``): a typo in a range should not start a week of work.
LARGE_SWEEP = 1_000_000

Scalar = float | int | str | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RangeSpec(_Strict):
    """``start`` to ``stop`` (included) by ``step``, or ``num`` evenly spaced values."""

    start: float
    stop: float
    step: float | None = None
    num: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RangeSpec:
        if (self.step is None) == (self.num is None):
            raise ValueError("give exactly one of step and num")
        if self.step == 0:
            raise ValueError("step must not be 0")
        return self

    def values(self) -> list[float]:
        if self.num is not None:
            grid: np.ndarray = np.linspace(self.start, self.stop, self.num)
        else:
            assert self.step is not None
            n = int(np.floor((self.stop - self.start) / self.step + 1e-9)) + 1
            grid = np.asarray(self.start + self.step * np.arange(max(n, 0)), dtype=float)
        return [float(v) for v in np.round(grid, 12)]


class RandomSpec(_Strict):
    """``count`` draws, uniform in [``low``, ``high``) (``integers = true``: integers in [low, high]), from ``seed``."""

    low: float
    high: float
    count: Annotated[int, Field(ge=0)]
    seed: int = 0
    integers: bool = False

    @model_validator(mode="after")
    def _order(self) -> RandomSpec:
        if self.high < self.low:
            raise ValueError(f"high {self.high} is below low {self.low}")
        return self

    def values(self) -> list[float] | list[int]:
        rng = np.random.default_rng(self.seed)
        if self.integers:
            return [int(v) for v in rng.integers(int(self.low), int(self.high), size=self.count, endpoint=True)]
        return [float(v) for v in rng.uniform(self.low, self.high, size=self.count)]


class AxisSpec(_Strict):
    """One axis: a scenario key and its values (a list, a range or random draws)."""

    key: Annotated[str, Field(min_length=1)]
    name: str | None = Field(default=None, description="The column name (default: the key).")
    title: str | None = Field(
        default=None,
        description="How plots and tables name the axis, with its unit (default: from the name and key, e.g. "
        "'loss fraction (0-1)').",
    )
    values: list[Any] | None = None
    range: RangeSpec | None = None
    random: RandomSpec | None = None
    labels: list[str] | None = Field(
        default=None, description="How the table names each value (for values that are tables, e.g. sites)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> AxisSpec:
        given = [n for n in ("values", "range", "random") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of values, range and random")
        if self.labels is not None and (self.values is None or len(self.labels) != len(self.values)):
            raise ValueError("labels need values, one label per value")
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        return self

    def points(self) -> list[Any]:
        if self.values is not None:
            return list(self.values)
        source = self.range if self.range is not None else self.random
        assert source is not None
        return list(source.values())


class RankSpec(_Strict):
    """Rank the axis values by a metric's mean over repetitions (``ranking.csv``); several metrics (same unit):
    by the mean of their means (``rank_value``)."""

    metric: Annotated[str, Field(min_length=1)] | Annotated[list[str], Field(min_length=1)]
    order: Literal["ascending", "descending"] = "descending"

    @property
    def metrics(self) -> list[str]:
        return [self.metric] if isinstance(self.metric, str) else list(self.metric)


class SweepSpec(_Strict):
    """A whole sweep file (see the module docstring)."""

    scenario: Annotated[str, Field(min_length=1)]
    title: str = ""
    description: str = ""
    repetitions: Annotated[int, Field(ge=1)] = 1
    seed: int = 0
    seed_keys: list[str] = Field(
        default_factory=lambda: ["seed"],
        description="Scenario keys that get repetition r's seed (seed + r) when repetitions > 1.",
    )
    set: dict[str, Any] = Field(default_factory=dict)
    axes: list[AxisSpec] = Field(default_factory=list)
    metrics: list[str] | None = Field(
        default=None, description="Columns to keep (default: every headline number of the summary)."
    )
    plot: list[str] | None = Field(default=None, description="Metrics to plot against each axis (default: all).")
    rank: RankSpec | None = None


#: Units implied by the end of a scenario key (the project names units in keys: ``_km``, ``_deg``, ``_dbw`` ...).
_KEY_UNITS = (
    ("fraction", "(0-1)"),
    ("_km", "[km]"),
    ("_deg", "[deg]"),
    ("_dbw", "[dBW]"),
    ("_db", "[dB]"),
    ("_ms", "[ms]"),
    ("_mbps", "[Mb/s]"),
    ("_days", "[days]"),
    ("_kg", "[kg]"),
    ("_m", "[m]"),
    ("_s", "[s]"),
    ("take_rate", "(0-1)"),
)


def axis_label(name: str, key: str) -> str:
    """``loss_fraction`` on ``variants[0].threats[0].fraction`` -> ``loss fraction (0-1)``: words, then the unit
    the key's last part names (none when it names none)."""
    last = re.split(r"[.\[\]]+", key.strip("]"))[-1] if key else ""
    unit = next((u for end, u in _KEY_UNITS if last.endswith(end) or name.endswith(end)), "")
    words = name
    for end, _ in _KEY_UNITS:
        if end.startswith("_") and words.endswith(end):
            words = words[: -len(end)]
            break
    words = words.replace("_", " ").replace(".", " ").strip()
    return f"{words} {unit}".strip()


@dataclass(frozen=True)
class Axis:
    """An expanded axis: the scenario key path (parsed), its column name and its values."""

    key: str
    path: tuple[str | int, ...]
    name: str
    values: tuple[Any, ...]
    labels: tuple[str, ...] | None = None
    title: str = ""

    @property
    def label(self) -> str:
        """How a reader sees the axis: its ``title``, or its name in words with the unit its key implies."""
        return self.title or axis_label(self.name, self.key)


@dataclass(frozen=True)
class Point:
    """One unit of a sweep: number ``index``, the axis values, the repetition and the scenario to run."""

    index: int
    params: dict[str, Any]
    repetition: int
    seed: int | None
    scenario: dict[str, Any]


@dataclass
class Sweep:
    """A loaded sweep: the spec, the base scenario (raw TOML), its folder, the axes, and the file it came from."""

    spec: SweepSpec
    source: str
    base_raw: dict[str, Any]
    base_dir: Path
    scenario_file: Path
    axes: list[Axis]

    @property
    def size(self) -> int:
        n = self.spec.repetitions
        for axis in self.axes:
            n *= len(axis.values)
        return n

    def points(self) -> Iterator[Point]:
        """Every point, in order: the product of the axes (first axis outermost), repetitions innermost."""
        spec = self.spec
        fixed = copy.deepcopy(self.base_raw)
        for key, value in spec.set.items():
            set_key(fixed, parse_key(key), value)
        index = 0
        for combo in itertools.product(*(axis.values for axis in self.axes)):
            for r in range(spec.repetitions):
                raw = copy.deepcopy(fixed)
                for axis, value in zip(self.axes, combo, strict=True):
                    set_key(raw, axis.path, value)
                seed = spec.seed + r if spec.repetitions > 1 else None
                if seed is not None:
                    for key in spec.seed_keys:
                        set_key(raw, parse_key(key), seed)
                params = {axis.name: value for axis, value in zip(self.axes, combo, strict=True)}
                yield Point(index, params, r, seed, raw)
                index += 1


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key(key: str) -> tuple[str | int, ...]:
    """``variants[1].threats[0].fraction`` (or ``variants.1.threats.0.fraction``) → ``('variants', 1, ...)``."""
    parts: list[str | int] = []
    pos = 0
    text = key.strip()
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            continue
        match = _PART.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read key path {key!r}")
        name, number = match.groups()
        if number is not None:
            parts.append(int(number))
        else:
            assert name is not None
            parts.append(int(name) if name.isdigit() else name)
        pos = match.end()
    if not parts or isinstance(parts[0], int):
        raise ValueError(f"cannot read key path {key!r}")
    return tuple(parts)


def key_text(path: tuple[str | int, ...]) -> str:
    """``('variants', 1, 'seed')`` → ``variants[1].seed``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def set_key(raw: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Write ``value`` at ``path`` inside the raw scenario dict (tables are created, lists must hold the index)."""
    node: Any = raw
    for depth, part in enumerate(path[:-1]):
        following = path[depth + 1]
        if isinstance(part, int):
            node = node[part]
        else:
            if node.get(part) is None:
                node[part] = {} if isinstance(following, str) else []
            node = node[part]
    last = path[-1]
    node[last] = value


def _model_of(annotation: Any, data: Any) -> Any:
    """The pydantic model class under ``annotation`` (through Optional, Annotated, list and discriminated unions)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _model_of(get_args(annotation)[0], data)
    if origin in (Union, getattr(__import__("types"), "UnionType", Union)):
        models = [a for a in get_args(annotation) if a is not type(None)]
        if len(models) == 1:
            return _model_of(models[0], data)
        kind = data.get("kind") if isinstance(data, dict) else None
        for candidate in models:
            model = _model_of(candidate, data)
            field = getattr(model, "model_fields", {}).get("kind")
            if field is not None and kind in get_args(field.annotation):
                return model
        return None
    if origin is list:
        return ("list", get_args(annotation)[0])  # resolved per element (a union needs the element's kind)
    if origin is dict:
        return "dict"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def check_key(path: tuple[str | int, ...], base: dict[str, Any]) -> str | None:
    """Why ``path`` is not a key of the scenario schema (with a close match), or ``None`` when it is."""
    from skyfence.scenario.schema import Scenario

    model: Any = Scenario
    data: Any = base
    for depth, part in enumerate(path):
        here = key_text(path[: depth + 1])
        if model == "dict":
            return None  # a free-form table (e.g. capacity.generations): any key
        if isinstance(model, tuple):  # a list of models: the index must exist in the base
            if not isinstance(part, int):
                return f"{key_text(path[:depth])} is a list: give an index, e.g. {key_text(path[:depth])}[0]"
            items = data if isinstance(data, list) else []
            if part >= len(items):
                return f"{here} does not exist: the base scenario has {len(items)} item(s) there"
            data = items[part]
            model = _model_of(model[1], data)
            continue
        if model is None:
            return f"{key_text(path[:depth])} has no keys below it"
        if isinstance(part, int):
            return f"{key_text(path[:depth])} is not a list"
        fields = model.model_fields
        if part not in fields:
            close = difflib.get_close_matches(part, list(fields), n=1)
            prefix = key_text(path[:depth])
            hint = f" (did you mean {prefix + '.' if prefix else ''}{close[0]}?)" if close else ""
            return f"{here!r} is not a scenario key{hint}"
        data = data.get(part) if isinstance(data, dict) else None
        model = _model_of(fields[part].annotation, data)
    return None


def _validate(raw: dict[str, Any], *, source: str, field: str, what: str) -> None:
    from skyfence.scenario.schema import Scenario

    try:
        Scenario.model_validate(raw)
    except ValidationError as error:
        problem = first_problem(error, data=raw)
        raise InputError(
            f"{what} makes the scenario invalid: {problem}", source=source, field=field, hint=problem.hint
        ) from None


def load_sweep(path: str | Path, *, confirm_large: bool = False, repetitions: int | None = None) -> Sweep:
    """Read and check a sweep file; nothing is run.  ``repetitions`` overrides the file's.

    Raises
    ------
    InputError
        One line: ``file: axes[0].key: 'coverage.min_elev' is not a scenario key (did you mean ...?)``; an empty
        range; more than :data:`LARGE_SWEEP` points without ``confirm_large``.
    """
    from skyfence.scenario.schema import load_scenario

    path = Path(path)
    source = str(path)
    raw = read_toml(path, what="sweep file")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as error:
        problem = first_problem(error, data=raw)
        raise InputError(
            problem.message, source=source, field=problem.field or "(top level)", hint=problem.hint
        ) from None
    if repetitions is not None:
        spec = spec.model_copy(update={"repetitions": repetitions})
    scenario_file = (path.parent / spec.scenario).resolve()
    if not scenario_file.is_file():
        raise InputError(
            f"base scenario {spec.scenario!r} not found",
            source=source,
            field="scenario",
            hint="give a scenario TOML file relative to the sweep file",
        )
    try:
        _scenario, base_dir = load_scenario(scenario_file)
    except SkyfenceError as error:
        raise InputError(
            f"base scenario {spec.scenario}: {error}", source=source, field="scenario", hint=None
        ) from None
    base_raw = tomllib.loads(scenario_file.read_text(encoding="utf-8"))

    def parsed(key: str, field: str) -> tuple[str | int, ...]:
        try:
            key_path = parse_key(key)
        except ValueError as error:
            raise InputError(
                str(error), source=source, field=field, hint="write it like variants[1].threats[0].seed"
            ) from None
        return key_path

    fixed = copy.deepcopy(base_raw)
    for key, value in spec.set.items():
        key_path = parsed(key, f"set.{key}")
        issue = check_key(key_path, fixed)
        if issue:
            raise InputError(issue, source=source, field=f"set.{key}")
        set_key(fixed, key_path, value)
    _validate(fixed, source=source, field="set", what="[set]")
    for i, key in enumerate(spec.seed_keys):
        key_path = parsed(key, f"seed_keys[{i}]")
        issue = check_key(key_path, fixed)
        if issue:
            raise InputError(issue, source=source, field=f"seed_keys[{i}]")
    axes: list[Axis] = []
    names: set[str] = set()
    for i, axis_spec in enumerate(spec.axes):
        key_path = parsed(axis_spec.key, f"axes[{i}].key")
        issue = check_key(key_path, fixed)
        if issue:
            raise InputError(issue, source=source, field=f"axes[{i}].key", hint="name a key of the scenario schema")
        values = axis_spec.points()
        if not values:
            which = "range" if axis_spec.range is not None else "random" if axis_spec.random is not None else "values"
            raise InputError(
                "the axis has no values (empty range)",
                source=source,
                field=f"axes[{i}].{which}",
                hint="check start, stop and the sign of step (stop is included), or num/count > 0",
            )
        name = axis_spec.name or key_text(key_path)
        if name in names or name in ("point", "repetition", "seed"):
            raise InputError(f"column name {name!r} is used twice", source=source, field=f"axes[{i}].name")
        names.add(name)
        labels = tuple(axis_spec.labels) if axis_spec.labels is not None else None
        axes.append(Axis(axis_spec.key, key_path, name, tuple(values), labels, axis_spec.title or ""))
    sweep = Sweep(spec, source, base_raw, base_dir, scenario_file, axes)
    if sweep.size > LARGE_SWEEP and not confirm_large:
        raise InputError(
            f"the sweep has {sweep.size:,} points (more than {LARGE_SWEEP:,})",
            source=source,
            hint="check the axes, or pass --yes to run it anyway",
        )
    # Every value an axis takes (its extremes for long axes), and the repetition seeds, must make a valid scenario.
    for i, axis in enumerate(axes):
        trials = list(axis.values) if len(axis.values) <= 200 else _extremes(axis.values)
        for value in trials:
            trial = copy.deepcopy(fixed)
            set_key(trial, axis.path, value)
            _validate(trial, source=source, field=f"axes[{i}]", what=f"{axis.key} = {value!r}")
    if spec.repetitions > 1:
        trial = copy.deepcopy(fixed)
        for key in spec.seed_keys:
            set_key(trial, parse_key(key), spec.seed + spec.repetitions - 1)
        _validate(trial, source=source, field="seed_keys", what="the repetition seed")
    return sweep


def _extremes(values: tuple[Any, ...]) -> list[Any]:
    out = [values[0], values[-1]]
    try:
        out += [min(values), max(values)]
    except TypeError:
        pass
    return out
