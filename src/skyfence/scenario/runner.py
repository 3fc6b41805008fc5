"""Run a scenario: every variant through coverage, latency and policy; cache each unit of work by its inputs.

A *unit* is one computation with a content key: coverage of one constellation
over one region, latency of one constellation from the scenario's terminals
under one ground segment, or a policy's availability summary.  Its key is the
sha256 of everything it depends on (input file hashes, preset parameters,
region, settings, the skyfence version), so a re-run after changing only the
report -- or adding a variant that shares units with others -- recomputes
nothing that is already known.  Units are stored under
``<cache>/results/<key>/`` (``skyfence.data.cache_dir()``), written atomically.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skyfence._io import atomic_outputs
from skyfence._version import __version__
from skyfence.scenario.schema import (
    ConstellationSpec,
    GroundSpec,
    PolicySpec,
    RegionSpec,
    Scenario,
    VariantSpec,
    is_elements_dataset,
)

__all__ = ["AssessResult", "run_scenario"]

Progress = Callable[[str], None]


@dataclass
class AssessResult:
    """Everything the report shows: ``summary`` (JSON-ready) and per-unit tables and map files."""

    summary: dict[str, Any]
    maps: dict[str, bytes] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0


def _sha256(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _file_hash(path: Path) -> str:
    from skyfence.data import sha256_file

    return sha256_file(path)


class _Cache:
    """Content-addressed store of unit results: ``<root>/<key>/{result.json, *.parquet, *.png}``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0

    def unit(self, inputs: dict[str, Any], compute: Callable[[], dict[str, bytes | str]]) -> Path:
        """The folder of the unit whose inputs are ``inputs``; ``compute()`` gives its files on a miss."""
        key = _sha256({"version": __version__, **inputs})
        folder = self.root / key
        if (folder / "result.json").is_file():
            self.hits += 1
            return folder
        self.misses += 1
        return self.put(key, compute())

    def put(self, key: str, files: dict[str, bytes | str]) -> Path:
        folder = self.root / key
        with atomic_outputs(folder) as staging:
            for name, content in files.items():
                target = staging / name
                if isinstance(content, str):
                    target.write_text(content)
                else:
                    target.write_bytes(content)
        return folder


class _Runner:
    def __init__(self, scenario: Scenario, base: Path, cache_root: Path, progress: Progress) -> None:
        self.scenario = scenario
        self.base = base
        self.cache = _Cache(cache_root)
        self.progress = progress
        self.times = scenario.time.grid()
        self._constellations: dict[str, Any] = {}
        self._regions: dict[str, Any] = {}
        self.maps: dict[str, bytes] = {}
        self.datasets_used: set[str] = set()
        self._policies: dict[Path, Any] = {}

    # ------------------------------------------------------------------ inputs and their fingerprints

    def _source_path(self, spec: ConstellationSpec) -> Path | None:
        from skyfence import data
        from skyfence.orbits.walker import PRESETS

        if spec.source in PRESETS:
            return None
        if is_elements_dataset(spec.source):
            live = spec.source.lower().startswith("celestrak:")
            name = spec.source.lower() if live else data.get(spec.source).name
            self.datasets_used.add(name)
            return data.path(name)
        return (self.base / spec.source).expanduser()

    def constellation_key(self, spec: ConstellationSpec) -> dict:
        path = self._source_path(spec)
        if path is None:
            from skyfence.orbits.walker import get_preset

            preset = get_preset(spec.source)
            return {"preset": spec.source, "shells": [repr(s) for s in preset.shells], "subset": spec.shells}
        return {"file_sha256": _file_hash(path), "subset": spec.shells}

    def constellation(self, spec: ConstellationSpec):
        if spec.name not in self._constellations:
            from skyfence.orbits.elements import read_elements
            from skyfence.orbits.walker import preset

            path = self._source_path(spec)
            c = preset(spec.source) if path is None else read_elements(path, name=spec.name)
            if spec.shells is not None:
                c = c.subset(c.satellites["shell"].isin(spec.shells).to_numpy(), name=spec.name)
            self._constellations[spec.name] = c
        return self._constellations[spec.name]

    def region(self, spec: RegionSpec):
        from skyfence.earth.regions import get_region

        key = f"{spec.spec}|{spec.pov}"
        if key not in self._regions:
            text = spec.spec
            if text.lower().endswith((".json", ".geojson")):
                text = str(self.base / text)
            self._regions[key] = get_region(text, pov=spec.pov)
            if self._regions[key].source:
                self.datasets_used.add(self._regions[key].source)
        return self._regions[key]

    def region_key(self, spec: RegionSpec) -> dict:
        region = self.region(spec)
        source = Path(region.source)
        digest = _file_hash(source) if source.suffix.lower() in (".json", ".geojson") and source.exists() else None
        return {"spec": spec.spec, "pov": spec.pov, "source": region.source, "file_sha256": digest}

    def _time_key(self) -> dict:
        t = self.times
        return {"start": str(t[0]), "n": len(t), "step_ns": int((t[1] - t[0]).astype(np.int64)) if len(t) > 1 else 0}

    # ------------------------------------------------------------------ units

    def coverage_unit(self, c_spec: ConstellationSpec, r_spec: RegionSpec) -> dict:
        settings = self.scenario.coverage
        folder = self.cache.unit(
            {
                "unit": "coverage",
                "constellation": self.constellation_key(c_spec),
                "region": self.region_key(r_spec),
                "time": self._time_key(),
                "settings": settings.model_dump(),
            },
            lambda: self._compute_coverage(c_spec, r_spec),
        )
        result = json.loads((folder / "result.json").read_text())
        for png in sorted(folder.glob("*.png")):
            self.maps[f"{c_spec.name}__{_slug(r_spec.spec)}__{png.stem}"] = png.read_bytes()
        return result

    def _compute_coverage(self, c_spec: ConstellationSpec, r_spec: RegionSpec) -> dict[str, bytes | str]:
        import io
        import shutil
        import tempfile

        from skyfence.coverage.engine import run_coverage
        from skyfence.earth.regions import countries
        from skyfence.report.maps import plot_cells

        settings = self.scenario.coverage
        region = self.region(r_spec)
        constellation = self.constellation(c_spec)
        self.progress(f"coverage: {c_spec.name} over {region.name} ({len(self.times)} steps)")
        cells = region.cells(settings.res)
        result = run_coverage(
            constellation,
            cells,
            self.times,
            min_elevation_deg=settings.min_elevation_deg,
            min_sats=settings.min_sats,
            keep_counts=False,
        )
        files: dict[str, bytes | str] = {}
        buffer = io.BytesIO()
        result.per_cell.to_parquet(buffer, index=False)
        files["per_cell.parquet"] = buffer.getvalue()
        if self.scenario.outputs.maps:
            borders = countries(scale="110m" if region.kind == "world" else None)["geometry"].to_numpy()
            if region.kind != "world":
                borders = np.concatenate([borders, [region.geometry]])
            label = c_spec.label or c_spec.name
            scratch = Path(tempfile.mkdtemp(prefix="skyfence-maps-"))
            for column, title, kwargs in (
                (
                    "coverage_fraction",
                    f"time with >= {settings.min_sats} satellite(s) above {settings.min_elevation_deg:g} deg",
                    {"vmin": 0.0, "vmax": 1.0, "cmap": "magma"},
                ),
                ("sats_in_view_mean", f"mean satellites above {settings.min_elevation_deg:g} deg", {"vmin": 0.0}),
            ):
                png = scratch / f"{column}.png"
                plot_cells(
                    png,
                    result.cells,
                    result.per_cell[column].to_numpy(),
                    title=f"{label} over {region.name}: {title}",
                    label=column,
                    borders=borders,
                    **kwargs,
                )
                files[f"{column}.png"] = png.read_bytes()
            shutil.rmtree(scratch, ignore_errors=True)
        files["result.json"] = json.dumps(
            {
                "constellation": c_spec.name,
                "satellites": len(constellation),
                "region": region.name,
                "region_code": region.code,
                "region_kind": region.kind,
                "region_area_km2": region.area_km2(),
                "res": settings.res,
                **{k: v for k, v in result.statistics.items()},
            },
            default=_plain,
            allow_nan=True,
        )
        return files

    def ground(self, spec: GroundSpec):
        from skyfence.network.ground import load_ground_segment

        segment = load_ground_segment(spec.sites)
        if not Path(spec.sites).exists():
            self.datasets_used.add(spec.sites)
        if spec.exclude_gateways_in:
            segment = segment.exclude_gateways_in(spec.exclude_gateways_in)
        for site in spec.add_sites:
            segment = segment.add_site(site.name, site.lat, site.lon, kind=site.kind, country=site.country)
        return segment

    def latency_unit(self, c_spec: ConstellationSpec, ground: GroundSpec) -> dict:
        latency = self.scenario.latency
        assert latency is not None
        sites_key = {
            "sites": ground.sites,
            "file_sha256": _file_hash(Path(ground.sites)) if Path(ground.sites).exists() else None,
        }
        folder = self.cache.unit(
            {
                "unit": "latency",
                "constellation": self.constellation_key(c_spec),
                "ground": ground.model_dump(),
                "sites": sites_key,
                "latency": latency.model_dump(),
                "start": str(self.times[0]),
            },
            lambda: self._compute_latency(c_spec, ground),
        )
        return json.loads((folder / "result.json").read_text())

    def _compute_latency(self, c_spec: ConstellationSpec, ground: GroundSpec) -> dict[str, bytes | str]:
        from skyfence.earth.places import resolve_place
        from skyfence.network.routing import route_pairs
        from skyfence.orbits.time import time_grid

        latency = self.scenario.latency
        assert latency is not None
        constellation = self.constellation(c_spec)
        places = [resolve_place(t, field="latency.terminals") for t in latency.terminals]
        self.progress(f"latency: {c_spec.name} from {', '.join(p.name for p in places)}")
        times = time_grid(self.times[0], latency.duration, latency.step)
        routes = route_pairs(constellation, places, [None] * len(places), times, self.ground(ground), isl=latency.isl)
        out: dict[str, Any] = {"constellation": c_spec.name, "terminals": []}
        for place, route in zip(places, routes, strict=True):
            summary = route.summary()
            ok = np.isfinite(route.rtt_ms)
            summary["rtt_ms_quartiles"] = (
                np.percentile(route.rtt_ms[ok], [25, 50, 75]).round(3).tolist() if ok.any() else None
            )
            summary["terminal"] = place.name
            summary["rtt_ms_series"] = [round(float(r), 3) if np.isfinite(r) else None for r in route.rtt_ms]
            out["terminals"].append(summary)
        return {"result.json": json.dumps(out, default=_plain)}

    # ------------------------------------------------------------------ policy

    def policy(self, spec: PolicySpec):
        from skyfence.policy import load_policy

        path = (self.base / spec.file).resolve()
        if path not in self._policies:
            policy = load_policy(path)
            self._policies[path] = policy
            if policy.status_source and policy.status_source in _registry_names():
                self.datasets_used.add(policy.status_source)
        return self._policies[path]

    def availability_unit(self, spec: PolicySpec, r_spec: RegionSpec) -> dict:
        policy = self.policy(spec)
        res = self.scenario.coverage.res
        folder = self.cache.unit(
            {
                "unit": "availability",
                "policy": policy.id,
                "operator": spec.operator,
                "region": self.region_key(r_spec),
                "res": res,
            },
            lambda: self._compute_availability(spec, r_spec),
        )
        result = json.loads((folder / "result.json").read_text())
        png = folder / "availability.png"
        if png.exists():
            self.maps[f"availability__{_slug(policy.name)}__{_slug(r_spec.spec)}"] = png.read_bytes()
        return result

    def _compute_availability(self, spec: PolicySpec, r_spec: RegionSpec) -> dict[str, bytes | str]:
        import tempfile

        from skyfence.earth.cells import cell_area_km2
        from skyfence.policy import AVAILABILITY, availability_map

        policy = self.policy(spec)
        region = self.region(r_spec)
        self.progress(f"policy: {policy.name} over {region.name}")
        amap = availability_map(
            policy, operator=spec.operator, res=self.scenario.coverage.res, region=self._region_text(r_spec)
        )
        area = cell_area_km2(amap.cells)
        shares = (
            pd.Series(area).groupby(amap.table["availability"].to_numpy()).sum() / area.sum()
            if len(area)
            else pd.Series(dtype=float)
        )
        countries = amap.countries[amap.countries["cells"] > 0]
        result = {
            "policy": policy.name,
            "policy_id": policy.id,
            "policy_file": spec.file,
            "operator": amap.operator,
            "time": amap.time.isoformat(),
            "plan": amap.plan,
            "region": region.name,
            "cells": len(amap.cells),
            "area_share": {name: float(shares.get(name, 0.0)) for name in AVAILABILITY},
            "served_share": float(sum(shares.get(n, 0.0) for n in ("served", "degraded", "registered_only"))),
            "countries": countries[["iso_a2", "name", "status", "availability", "served_fraction"]].to_dict(
                orient="records"
            ),
        }
        files: dict[str, bytes | str] = {"result.json": json.dumps(result, default=_plain)}
        if self.scenario.outputs.maps:
            with tempfile.TemporaryDirectory() as tmp:
                amap.write(tmp)
                files["availability.png"] = (Path(tmp) / "map.png").read_bytes()
        return files

    def policy_diff_unit(self, a: PolicySpec, b: PolicySpec, r_spec: RegionSpec) -> dict:
        pa, pb = self.policy(a), self.policy(b)
        folder = self.cache.unit(
            {
                "unit": "policy_diff",
                "a": pa.id,
                "b": pb.id,
                "operator": a.operator,
                "region": self.region_key(r_spec),
                "res": self.scenario.coverage.res,
            },
            lambda: self._compute_policy_diff(a, b, r_spec),
        )
        return json.loads((folder / "result.json").read_text())

    def _compute_policy_diff(self, a: PolicySpec, b: PolicySpec, r_spec: RegionSpec) -> dict[str, bytes | str]:
        from skyfence.policy import diff_policies

        pa, pb = self.policy(a), self.policy(b)
        self.progress(f"policy diff: {pa.name} -> {pb.name}")
        diff = diff_policies(
            pa, pb, operator=a.operator, res=self.scenario.coverage.res, region=self._region_text(r_spec)
        )
        summary = diff.summary()
        population = summary["population"]
        result = {
            "a": pa.name,
            "b": pb.name,
            "region": diff.a.region.name,
            "cells_total": summary["cells"]["total"],
            "cells_changed": summary["cells"]["changed"],
            "transitions": summary["cells"]["transitions"],
            "countries": [
                {k: c.get(k) for k in ("iso_a2", "name", "from", "to", "population")} for c in summary["countries"]
            ],
            "people": population.get("people"),
            "people_gaining_service": population.get("people_gaining_service"),
            "people_losing_service": population.get("people_losing_service"),
            "population_note": population.get("note"),
        }
        return {"result.json": json.dumps(result, default=_plain)}

    def _region_text(self, spec: RegionSpec) -> str:
        text = spec.spec
        return str(self.base / text) if text.lower().endswith((".json", ".geojson")) else text


def _registry_names() -> set[str]:
    from skyfence.data import REGISTRY

    return set(REGISTRY)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp | np.datetime64):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _variant_constellations(scenario: Scenario, variant: VariantSpec) -> list[ConstellationSpec]:
    wanted = variant.constellations
    return [c for c in scenario.constellations if wanted is None or c.name in wanted]


def run_scenario(
    scenario: Scenario, base: Path, *, cache_root: Path | None = None, progress: Progress | None = None
) -> AssessResult:
    """Run every variant of ``scenario`` (paths relative to ``base``); returns the summary for the report."""
    from skyfence import data

    started = time.perf_counter()
    root = cache_root or (data.cache_dir() / "results")
    runner = _Runner(scenario, base, root, progress or (lambda message: None))
    variants_out = []
    for variant in scenario.resolved_variants():
        ground = variant.ground or scenario.ground
        entry: dict[str, Any] = {
            "name": variant.name,
            "description": variant.description,
            "coverage": [],
            "latency": [],
        }
        for c_spec in _variant_constellations(scenario, variant):
            for r_spec in scenario.regions:
                entry["coverage"].append(runner.coverage_unit(c_spec, r_spec))
            if (
                scenario.latency is not None
                and scenario.latency.terminals
                and (scenario.latency.constellations is None or c_spec.name in scenario.latency.constellations)
            ):
                entry["latency"].append(runner.latency_unit(c_spec, ground))
        policy = variant.policy or scenario.policy
        entry["policy"] = []
        if policy is not None:
            entry["policy"] = [runner.availability_unit(policy, r_spec) for r_spec in scenario.regions]
        entry["ground"] = ground.model_dump()
        variants_out.append(entry)
    summary = {
        "scenario": {
            "name": scenario.name,
            "title": scenario.title,
            "description": scenario.description,
            "seed": scenario.seed,
        },
        "skyfence_version": __version__,
        "time": {
            "start": str(runner.times[0])[:19] + "Z",
            "end": str(runner.times[-1])[:19] + "Z",
            "step": scenario.time.step,
            "steps": len(runner.times),
        },
        "coverage_settings": scenario.coverage.model_dump(),
        "constellations": [c.model_dump() for c in scenario.constellations],
        "regions": [r.model_dump() for r in scenario.regions],
        "variants": variants_out,
        "diff": _diff(variants_out),
        "policy_diff": _policy_diffs(runner, scenario),
        "datasets": _datasets(runner.datasets_used),
        "policies": [
            {
                "name": p.name,
                "id": p.id,
                "file": str(path),
                "operator": p.operator,
                "default": p.default,
                "statuses_from": p.status_source,
            }
            for path, p in sorted(runner._policies.items())
        ],
        "run": {
            "cache_hits": runner.cache.hits,
            "cache_misses": runner.cache.misses,
            "seconds": round(time.perf_counter() - started, 3),
        },
    }
    return AssessResult(summary, runner.maps, runner.cache.hits, runner.cache.misses)


_DIFF_KEYS = ("coverage_fraction", "sats_in_view_mean", "max_gap_s")
_LATENCY_DIFF_KEYS = ("median_rtt_ms", "p95_rtt_ms")
_EMPTY_DIFF = {f"delta_{k}": None for k in _DIFF_KEYS + _LATENCY_DIFF_KEYS}


def _diff(variants: list[dict]) -> list[dict]:
    """Each variant against the first: differences of the headline numbers for matching units."""
    if len(variants) < 2:
        return []
    base = variants[0]
    base_cov = {(u["constellation"], u["region"]): u for u in base["coverage"]}
    base_lat = {(u["constellation"], t["terminal"]): t for u in base["latency"] for t in u["terminals"]}
    rows = []
    for variant in variants[1:]:
        for unit in variant["coverage"]:
            ref = base_cov.get((unit["constellation"], unit["region"]))
            if ref is None:
                continue
            rows.append(
                {
                    "variant": variant["name"],
                    "against": base["name"],
                    "kind": "coverage",
                    "constellation": unit["constellation"],
                    "where": unit["region"],
                    **_EMPTY_DIFF,
                    **{f"delta_{k}": _delta(unit.get(k), ref.get(k)) for k in _DIFF_KEYS},
                }
            )
        for unit in variant["latency"]:
            for terminal in unit["terminals"]:
                ref = base_lat.get((unit["constellation"], terminal["terminal"]))
                if ref is None:
                    continue
                rows.append(
                    {
                        "variant": variant["name"],
                        "against": base["name"],
                        "kind": "latency",
                        "constellation": unit["constellation"],
                        "where": terminal["terminal"],
                        **_EMPTY_DIFF,
                        **{f"delta_{k}": _delta(terminal.get(k), ref.get(k)) for k in _LATENCY_DIFF_KEYS},
                    }
                )
    return rows


def _policy_diffs(runner: _Runner, scenario: Scenario) -> list[dict]:
    """Each variant whose policy differs from the first variant's, against it, per region."""
    variants = scenario.resolved_variants()
    first = variants[0].policy or scenario.policy
    rows = []
    for variant in variants[1:]:
        policy = variant.policy or scenario.policy
        if first is None or policy is None or runner.policy(policy).id == runner.policy(first).id:
            continue
        for r_spec in scenario.regions:
            rows.append(
                {"variant": variant.name, "against": variants[0].name, **runner.policy_diff_unit(first, policy, r_spec)}
            )
    return rows


def _delta(a: Any, b: Any) -> float | None:
    if a is None or b is None:
        return None
    value = float(a) - float(b)
    return value if np.isfinite(value) else None


def _datasets(names: set[str]) -> list[dict]:
    from skyfence import data

    out = []
    for name in sorted(names):
        if name not in data.REGISTRY:
            continue
        ds = data.get(name)
        out.append(
            {
                "name": ds.name,
                "title": ds.title,
                "licence": ds.licence,
                "data_date": ds.date_text,
                "url": ds.url,
                "source": ds.source,
            }
        )
    return out
