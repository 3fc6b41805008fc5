"""Units of work of a scenario run, each a pure computation of data from its inputs.

A :class:`Unit` is one computation -- coverage of one constellation over one region, latency of one
constellation from the scenario's terminals under one ground segment, availability of one region under a
policy, or the diff of two policies -- with ``inputs``: everything it depends on (input file hashes, preset
parameters, region, settings).  Its cache key is the sha256 of the inputs and the skyfence version.  A unit
writes data only (``result.json`` and per-cell Parquet tables); labels, titles and maps are presentation and
belong to :mod:`skyfence.report`, so they are not in any key (see :data:`PRESENTATION_ONLY`).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skyfence._json import jsonable
from skyfence.orbits.epochs import EpochGap
from skyfence.scenario.schema import (
    ConstellationSpec,
    GroundSpec,
    PolicySpec,
    RegionSpec,
    Scenario,
    is_elements_dataset,
)

__all__ = [
    "PRESENTATION_ONLY",
    "Context",
    "Unit",
    "availability_unit",
    "capacity_unit",
    "coverage_unit",
    "latency_unit",
    "policy_diff_unit",
    "terminal_latency",
    "threat_unit",
]

#: Scenario keys that change what the report shows but not any computed number, so they are in no cache key.
#: ``[]`` stands for every element of a list.  ``tests/scenario/test_cache_keys.py`` checks that every other key
#: of the schema changes the key of at least one unit.
PRESENTATION_ONLY = frozenset(
    {
        "name",
        "title",
        "description",
        "constellations[].name",
        "constellations[].label",
        "regions[].name",
        "variants[].name",
        "variants[].title",
        "variants[].description",
        "variants[].threats[].name",
        "outputs.dir",
        "outputs.maps",
        "outputs.czml",  # the CZML files are written beside the report from the inputs, never from a unit
        "outputs.czml_duration",
        "outputs.czml_step",
        "time.max_epoch_gap_days",  # decides whether the run warns about stale elements, not any number
    }
)

#: Version of the files a unit writes; part of every key, so a cache written by older code is never misread.
LAYOUT = 2
#: Revision of the models behind the capacity and threats units' numbers, in their keys, so a cache written before a
#: model change is recomputed rather than served (2: issue 14's monotone allocation -- beam-time planned without the
#: jammer, offers taken by delivered rate -- and routes that never bridge a lost satellite; 3: the threat capacity
#: cases' users_with_service figure; 4: population per cell counts every inhabitant once, Taiwan 23.6 M not 20.8 M;
#: 5: the threats unit also keeps each terminal's route after the attacks, the attacked variant's latency table).
CAPACITY_MODEL = 5

#: Which cells a policy unit evaluates: the scenario region's own (its point of view and scale, as coverage uses),
#: not the policy's country layer, so "Taiwan" is one set of cells throughout a report.  Part of the policy units'
#: keys, so a cache written when they took the policy's layer is never read back.
REGION_CELLS = "scenario-region"
#: Whose service the policy diff's gains and losses count: an unregistered terminal (registered-only is no service).
#: Part of the policy-diff units' keys, so a diff cached when registered-only counted as served is recomputed.
POLICY_DIFF_POV = "unregistered"

#: Element catalogs already read by this process, by file (path, inode, size, mtime) and constellation name:
#: every point of a sweep is a new :class:`Context`, but a worker parses its catalog once (a Starlink OMM file
#: takes ~0.25 s).  Constellations are never changed in place (subsets are new objects); the last few are kept.
_CATALOGS: OrderedDict[tuple, Any] = OrderedDict()
_CATALOGS_KEPT = 4
_CATALOGS_LOCK = threading.Lock()


def _read_catalog(path: Path, name: str):
    """:func:`~skyfence.orbits.elements.read_elements` of ``path``, read once per process while the file is
    unchanged."""
    from skyfence.data import note_file
    from skyfence.orbits.elements import read_elements

    note_file(path, kind="elements")  # also when served from memory below
    try:
        stat = path.stat()
    except OSError:  # missing or unreadable: the reader says so, in its own words
        return read_elements(path, name=name)
    key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, name)
    with _CATALOGS_LOCK:
        known = _CATALOGS.get(key)
        if known is not None:
            _CATALOGS.move_to_end(key)
            return known
    constellation = read_elements(path, name=name)
    with _CATALOGS_LOCK:
        _CATALOGS[key] = constellation
        while len(_CATALOGS) > _CATALOGS_KEPT:
            _CATALOGS.popitem(last=False)
    return constellation


Advance = Callable[[int], None]


@dataclass
class Unit:
    """One cached computation: ``compute(advance)`` returns its files (``result.json`` and data tables)."""

    kind: str
    label: str
    inputs: dict[str, Any]
    compute: Callable[[Advance], dict[str, bytes | str]]
    steps: int = 1
    key: str = field(init=False)

    def __post_init__(self) -> None:
        from skyfence._version import __version__

        payload = json.dumps({"version": __version__, "layout": LAYOUT, **self.inputs}, sort_keys=True, default=str)
        self.key = hashlib.sha256(payload.encode()).hexdigest()


class Context:
    """Inputs of a run, each loaded once: constellations, regions, policies, and the datasets they came from."""

    def __init__(self, scenario: Scenario, base: Path) -> None:
        self.scenario = scenario
        self.base = base
        self.datasets_used: set[str] = set()
        self.files_used: dict[tuple[str, Path], None] = {}
        self._constellations: dict[str, Any] = {}
        self._regions: dict[tuple[str, str], Any] = {}
        self._policies: dict[Path, Any] = {}
        self._hashes: dict[Path, str] = {}
        if scenario.time.from_epoch:
            self.scenario = scenario.with_start(self._newest_epoch())
        self.times = self.scenario.time.grid()

    def _newest_epoch(self) -> str:
        """``start = "epoch"``: the newest element epoch of the scenario's catalogs, rounded down to the minute."""
        from skyfence.errors import InputError

        newest = None
        for spec in self.scenario.constellations:
            if self._source_path(spec) is None:
                continue
            epochs = self.constellation(spec).epoch_range
            if epochs is not None and (newest is None or epochs[1] > newest):
                newest = epochs[1]
        if newest is None:
            raise InputError(
                'start = "epoch" needs a catalog with element epochs', field="time.start", hint="give an absolute start"
            )
        from skyfence.orbits.time import iso_utc

        return iso_utc(np.datetime64(newest, "m"))

    def epoch_gaps(self) -> list[EpochGap]:
        """The epoch-gap check of every catalog the scenario propagates (presets have no measured epochs)."""
        from skyfence.orbits.epochs import epoch_gap
        from skyfence.orbits.time import parse_duration

        latency = self.scenario.latency
        end = self.times[-1]
        if latency is not None and latency.terminals:
            end = max(end, self.times[0] + parse_duration(latency.duration))
        gaps = []
        for spec in self.scenario.constellations:
            path = self._source_path(spec)
            if path is None:
                continue
            gap = epoch_gap(
                self.constellation(spec).satellites["epoch"].to_numpy(),
                self.times[0],
                end,
                source=spec.source if is_elements_dataset(spec.source) else path.name,
                max_gap_days=self.scenario.time.max_epoch_gap_days,
            )
            if gap is not None:
                gaps.append(gap)
        return gaps

    def inputs(self, scenario_file: Path | None, datasets_read: dict[str, Path]) -> list[dict[str, Any]]:
        """Every input of the run with its sha256 (see :mod:`skyfence.scenario.provenance`): the scenario file, each
        registry dataset and every other file a loader noted reading (``datasets_read``, a
        :func:`skyfence.data.record_use` record, with its ``files``) -- what was opened, not a list kept by hand."""
        from skyfence import data
        from skyfence.scenario.provenance import dataset_input, file_input

        records: list[dict[str, Any]] = []
        if scenario_file is not None:
            records.append(file_input("scenario", scenario_file, self.base))
        datasets: list[dict[str, Any]] = []
        dataset_files = set()
        for name in sorted(self.datasets_used | set(datasets_read)):
            if name in data.REGISTRY:
                file = datasets_read.get(name) or data.path(name)
                dataset_files.add(Path(file).resolve())
                datasets.append(dataset_input(name, file))
        skip = dataset_files | ({scenario_file.resolve()} if scenario_file is not None else set())
        files = []
        for file, (kind, label) in getattr(datasets_read, "files", {}).items():
            if Path(file).resolve() in skip or not Path(file).is_file():
                continue  # a dataset's file is recorded by its name; a file gone since is its loader's error
            record = file_input(kind, file, self.base)
            if label is not None:
                record["name"] = label
            files.append(record)
        records += sorted(files, key=lambda r: (r["kind"], r["name"])) + datasets
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for record in records:
            unique.setdefault((record["kind"], record["name"]), record)
        return list(unique.values())

    def file_hash(self, path: Path) -> str:
        if path not in self._hashes:
            from skyfence.data import sha256_file

            self._hashes[path] = sha256_file(path)
        return self._hashes[path]

    def relative(self, path: str | Path) -> str:
        """``path`` relative to the scenario's folder (never an absolute path of this machine)."""
        import os

        return Path(os.path.relpath(Path(path).resolve(), self.base.resolve())).as_posix()

    # ------------------------------------------------------------------ constellations

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
        path = (self.base / spec.source).expanduser()
        self.files_used[("elements", path)] = None
        return path

    def constellation_key(self, spec: ConstellationSpec) -> dict:
        path = self._source_path(spec)
        if path is None:
            from skyfence.orbits.walker import get_preset

            preset = get_preset(spec.source)
            return {"preset": spec.source, "shells": [repr(s) for s in preset.shells], "subset": spec.shells}
        return {"file_sha256": self.file_hash(path), "subset": spec.shells}

    def constellation(self, spec: ConstellationSpec):
        if spec.name not in self._constellations:
            from skyfence.orbits.walker import preset

            path = self._source_path(spec)
            c = preset(spec.source) if path is None else _read_catalog(path, spec.name)
            if spec.shells is not None:
                c = c.subset(c.satellites["shell"].isin(spec.shells).to_numpy(), name=spec.name)
            self._constellations[spec.name] = c
        return self._constellations[spec.name]

    # ------------------------------------------------------------------ regions

    def region_text(self, spec: RegionSpec) -> str:
        text = spec.spec
        return str(self.base / text) if text.lower().endswith((".json", ".geojson")) else text

    def region(self, spec: RegionSpec):
        from skyfence.earth.regions import get_region

        key = (spec.spec, spec.pov)
        if key not in self._regions:
            self._regions[key] = get_region(self.region_text(spec), pov=spec.pov)
            if spec.spec.lower().endswith((".json", ".geojson")):
                self.files_used[("region", Path(self.region_text(spec)))] = None
            elif self._regions[key].source:
                self.datasets_used.add(self._regions[key].source)
        return self._regions[key]

    def region_key(self, spec: RegionSpec) -> dict:
        region = self.region(spec)
        source = Path(region.source)
        is_file = source.suffix.lower() in (".json", ".geojson") and source.exists()
        return {
            "spec": spec.spec,
            "pov": spec.pov,
            "source": self.relative(region.source) if is_file else region.source,
            "file_sha256": self.file_hash(source) if is_file else None,
        }

    # ------------------------------------------------------------------ ground segment and policies

    def _sites_path(self, spec: GroundSpec) -> Path | None:
        from skyfence import data

        if spec.sites in data.REGISTRY:
            self.datasets_used.add(spec.sites)
            return data.path(spec.sites)
        path = (self.base / spec.sites).expanduser()
        if path.is_file():
            self.files_used[("ground", path)] = None
        return path

    def sites_text(self, spec: GroundSpec) -> str:
        """The ground segment's source as the summary names it: a dataset name, or a file relative to the scenario."""
        from skyfence import data

        return spec.sites if spec.sites in data.REGISTRY else self.relative(self.base / spec.sites)

    def ground_key(self, spec: GroundSpec) -> dict:
        path = self._sites_path(spec)
        return {
            "sites_sha256": self.file_hash(path) if path is not None and path.exists() else spec.sites,
            "exclude_gateways_in": spec.exclude_gateways_in,
            "add_sites": [s.model_dump() for s in spec.add_sites],
            **({"cables_cut_in": spec.cables_cut_in} if spec.cables_cut_in else {}),  # older cache keys unchanged
        }

    def ground(self, spec: GroundSpec):
        from skyfence.network.ground import load_ground_segment

        segment = load_ground_segment(self._sites_path(spec) or spec.sites)
        if spec.exclude_gateways_in:
            segment = segment.exclude_gateways_in(spec.exclude_gateways_in)
        for site in spec.add_sites:
            segment = segment.add_site(site.name, site.lat, site.lon, kind=site.kind, country=site.country)
        if spec.cables_cut_in:  # the scenario's premise (schema.GroundSpec): no site in the country has a path out
            cut = {c.strip().upper() for c in spec.cables_cut_in}
            sites = segment.sites
            segment = segment.remove_sites(sites.loc[sites["country"].astype(str).str.upper().isin(cut), "name"])
        return segment

    def policy_path(self, spec: PolicySpec) -> Path:
        return (self.base / spec.file).resolve()

    def policy(self, spec: PolicySpec):
        from skyfence import data
        from skyfence.policy import load_policy

        path = self.policy_path(spec)
        if path not in self._policies:
            policy = load_policy(path)
            self._policies[path] = policy
            if policy.status_source and policy.status_source in data.REGISTRY:
                self.datasets_used.add(policy.status_source)
        return self._policies[path]

    def policies(self) -> list[tuple[Path, Any]]:
        return sorted(self._policies.items())


def _time_key(times: np.ndarray) -> dict:
    step = int((times[1] - times[0]).astype(np.int64)) if len(times) > 1 else 0
    return {"start": str(times[0]), "n": len(times), "step_ns": step}


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _json(payload: Any) -> str:
    return json.dumps(jsonable(payload), allow_nan=False)


# ---------------------------------------------------------------------- coverage


def coverage_unit(ctx: Context, c_spec: ConstellationSpec, r_spec: RegionSpec) -> Unit:
    """Figures of merit per H3 cell (``per_cell.parquet``) and over the region (``result.json``)."""
    settings = ctx.scenario.coverage

    def compute(advance: Advance) -> dict[str, bytes | str]:
        from skyfence.coverage.engine import run_coverage

        region = ctx.region(r_spec)
        constellation = ctx.constellation(c_spec)
        result = run_coverage(
            constellation,
            region.cells(settings.res),
            ctx.times,
            min_elevation_deg=settings.min_elevation_deg,
            min_sats=settings.min_sats,
            keep_counts=False,
            progress=advance,
        )
        stats = {
            "satellites": len(constellation),
            "region": region.name,
            "region_code": region.code,
            "region_kind": region.kind,
            "region_area_km2": region.area_km2(),
            "res": settings.res,
            **result.statistics,
        }
        return {"per_cell.parquet": _parquet(result.per_cell), "result.json": _json(stats)}

    return Unit(
        "coverage",
        f"coverage: {c_spec.name} over {r_spec.name or r_spec.spec}",
        {
            "unit": "coverage",
            "constellation": ctx.constellation_key(c_spec),
            "region": ctx.region_key(r_spec),
            "time": _time_key(ctx.times),
            "settings": settings.model_dump(),
        },
        compute,
        steps=len(ctx.times),
    )


# ---------------------------------------------------------------------- capacity


def capacity_unit(ctx: Context, c_spec: ConstellationSpec, r_spec: RegionSpec, ground: GroundSpec) -> Unit:
    """Offered capacity, served fraction and Mb/s per user per H3 cell (``per_cell.parquet``) and over the region
    (``result.json``: population-weighted figures of merit, demand and supply in Gb/s)."""
    spec = ctx.scenario.capacity
    assert spec is not None
    res = spec.res if spec.res is not None else ctx.scenario.coverage.res
    generation = spec.generations.get(c_spec.name)

    def compute(advance: Advance) -> dict[str, bytes | str]:
        from skyfence.capacity.demand import DemandModel
        from skyfence.capacity.engine import assign_generations, run_capacity
        from skyfence.capacity.resources import fed_by_starlink_gateways

        region = ctx.region(r_spec)
        constellation = ctx.constellation(c_spec)
        names = assign_generations(constellation, generation)
        segment = ctx.ground(ground) if fed_by_starlink_gateways(names) else None
        result = run_capacity(
            constellation,
            region.cells(res),
            ctx.times,
            generation=generation,
            rain_p=spec.rain_p,
            demand=DemandModel(
                take_rate=spec.take_rate,
                busy_hour_mbps=spec.busy_hour_mbps,
                oversubscription=spec.oversubscription,
                plan_peak_mbps=spec.plan_peak_mbps,
            ),
            ground=segment,
            gateway_min_elevation_deg=spec.gateway_min_elevation_deg,
            progress=advance,
        )
        stats = {
            "satellites": len(constellation),
            "generations": result.settings["generations"],
            "gateways": result.settings["gateways"],
            "region": region.name,
            "res": res,
            "cells": len(result.cells),
            "footprint": result.settings.get("footprint"),
            **result.statistics,
        }
        return {"per_cell.parquet": _parquet(result.per_cell), "result.json": _json(stats)}

    return Unit(
        "capacity",
        f"capacity: {c_spec.name} over {r_spec.name or r_spec.spec}",
        {
            "unit": "capacity",
            "model": CAPACITY_MODEL,
            "constellation": ctx.constellation_key(c_spec),
            "region": ctx.region_key(r_spec),
            "ground": ctx.ground_key(ground),
            "time": _time_key(ctx.times),
            "capacity": spec.model_dump(exclude={"constellations", "generations"}),
            "generation": generation,
            "res": res,
        },
        compute,
        steps=len(ctx.times),
    )


# ---------------------------------------------------------------------- latency


def terminal_latency(name: str, route) -> dict[str, Any]:
    """One terminal's row of a latency table (:class:`~skyfence.scenario.summary.TerminalLatency`) from its route
    (:class:`~skyfence.network.routing.LatencyResult`): the latency unit's routes, and a threats unit's routes
    after the attacks, are summarised by this one function."""
    summary = route.summary()
    ok = np.isfinite(route.rtt_ms)
    summary["rtt_ms_quartiles"] = np.percentile(route.rtt_ms[ok], [25, 50, 75]).round(3).tolist() if ok.any() else None
    summary["terminal"] = name
    summary["rtt_ms_series"] = [round(float(r), 3) if np.isfinite(r) else None for r in route.rtt_ms]
    return summary


def latency_unit(ctx: Context, c_spec: ConstellationSpec, ground: GroundSpec) -> Unit:
    """Round-trip time from each terminal to the PoP over the latency window (``result.json``)."""
    latency = ctx.scenario.latency
    assert latency is not None

    def compute(advance: Advance) -> dict[str, bytes | str]:
        from skyfence.earth.places import resolve_place
        from skyfence.network.routing import route_pairs
        from skyfence.orbits.time import time_grid

        places = [resolve_place(t, field="latency.terminals") for t in latency.terminals]
        times = time_grid(ctx.times[0], latency.duration, latency.step)
        routes = route_pairs(
            ctx.constellation(c_spec), places, [None] * len(places), times, ctx.ground(ground), isl=latency.isl
        )
        terminals = [terminal_latency(place.name, route) for place, route in zip(places, routes, strict=True)]
        advance(1)
        return {"result.json": _json({"terminals": terminals})}

    changes = [f"no gateways in {', '.join(ground.exclude_gateways_in)}"] if ground.exclude_gateways_in else []
    changes += [f"+ {site.name}" for site in ground.add_sites]
    changes += [f"cables cut in {', '.join(ground.cables_cut_in)}"] if ground.cables_cut_in else []
    return Unit(
        "latency",
        f"latency: {c_spec.name} from {', '.join(latency.terminals)}" + (f" ({'; '.join(changes)})" if changes else ""),
        {
            "unit": "latency",
            "constellation": ctx.constellation_key(c_spec),
            "ground": ctx.ground_key(ground),
            "latency": latency.model_dump(exclude={"constellations"}),
            "start": str(ctx.times[0]),
        },
        compute,
    )


# ---------------------------------------------------------------------- policy


def availability_unit(ctx: Context, spec: PolicySpec, r_spec: RegionSpec) -> Unit:
    """Availability category per H3 cell (``cells.parquet``), area shares and countries (``result.json``)."""
    res = ctx.scenario.coverage.res

    def compute(advance: Advance) -> dict[str, bytes | str]:
        from skyfence.earth.cells import cell_area_km2
        from skyfence.policy.availability import AVAILABILITY, SERVED, availability_map

        policy = ctx.policy(spec)
        amap = availability_map(policy, operator=spec.operator, res=res, region=ctx.region(r_spec))
        area = cell_area_km2(amap.cells)
        categories = amap.table["availability"].to_numpy()
        shares = pd.Series(area).groupby(categories).sum() / area.sum() if len(area) else pd.Series(dtype=float)
        countries = amap.countries[amap.countries["cells"] > 0]
        result = {
            "policy_id": policy.id,
            "operator": amap.operator,
            "time": amap.time.isoformat(),
            "plan": amap.plan,
            "region": amap.region.name,
            "cells": len(amap.cells),
            "area_share": {name: float(shares.get(name, 0.0)) for name in AVAILABILITY},
            "served_share": float(sum(shares.get(n, 0.0) for n in SERVED)),
            "countries": countries[["iso_a2", "name", "status", "availability", "served_fraction"]].to_dict(
                orient="records"
            ),
        }
        cells = pd.DataFrame(
            {
                "cell": amap.table["cell"].to_numpy(),
                "country": amap.table["country"].to_numpy(),
                "availability": categories,
            }
        )
        advance(1)
        return {"result.json": _json(result), "cells.parquet": _parquet(cells)}

    policy = ctx.policy(spec)
    return Unit(
        "availability",
        f"policy: {policy.name} over {r_spec.name or r_spec.spec}",
        {
            "unit": "availability",
            "policy": policy.id,
            "operator": spec.operator,
            "region": ctx.region_key(r_spec),
            "cells": REGION_CELLS,
            "res": res,
        },
        compute,
    )


def policy_diff_unit(ctx: Context, a: PolicySpec, b: PolicySpec, r_spec: RegionSpec) -> Unit:
    """What changes from policy ``a`` to ``b`` inside a region: cells by transition, per country, people."""
    res = ctx.scenario.coverage.res

    def compute(advance: Advance) -> dict[str, bytes | str]:
        from skyfence.policy import diff_policies

        pa, pb = ctx.policy(a), ctx.policy(b)
        diff = diff_policies(pa, pb, operator=a.operator, res=res, region=ctx.region(r_spec))
        summary = diff.summary()
        population = summary["population"]
        cells = diff.cells
        people = {c["iso_a2"]: c.get("population") for c in summary["countries"]}
        names = dict(zip(diff.a.countries["iso_a2"], diff.a.countries["name"], strict=False))
        countries = []
        for code, frame in cells.groupby("country", sort=False):
            if not code:
                continue
            counts = frame.groupby(["from", "to"]).size().sort_values(ascending=False)
            countries.append(
                {
                    "iso_a2": code,
                    "name": names.get(code, ""),
                    "cells": len(frame),
                    "transitions": {f"{f} -> {t}": int(n) for (f, t), n in counts.items()},
                    "population": people.get(code),
                }
            )
        countries.sort(key=lambda c: -c["cells"])
        result = {
            "region": diff.a.region.name,
            "cells_total": summary["cells"]["total"],
            "cells_changed": summary["cells"]["changed"],
            "transitions": summary["cells"]["transitions"],
            "countries": countries,
            "people": population.get("people"),
            "people_gaining_service": population.get("people_gaining_service"),
            "people_losing_service": population.get("people_losing_service"),
            "people_still_served": population.get("people_still_served"),
            "people_still_unserved": population.get("people_still_unserved"),
            "population_note": population.get("note"),
        }
        advance(1)
        return {"result.json": _json(result)}

    pa, pb = ctx.policy(a), ctx.policy(b)
    return Unit(
        "policy_diff",
        f"policy diff: {pa.name} -> {pb.name} over {r_spec.name or r_spec.spec}",
        {
            "unit": "policy_diff",
            "a": pa.id,
            "b": pb.id,
            "operator": a.operator,
            "region": ctx.region_key(r_spec),
            "cells": REGION_CELLS,
            "res": res,
            "gains_for": POLICY_DIFF_POV,
        },
        compute,
    )


# ---------------------------------------------------------------------- threats


def threat_unit(ctx: Context, c_spec: ConstellationSpec, r_spec: RegionSpec, variant_index: int) -> Unit:
    """A variant's attacks on one constellation over one region (:func:`skyfence.threats.assess.assess_threats`):
    ``result.json`` (before, after with Monte Carlo bands, losses, reachability), ``per_cell.parquet`` (outage map),
    ``curve.parquet`` (resilience curve), ``draws.parquet``, ``jamming.parquet`` (EIRP sweep)."""
    scenario = ctx.scenario
    settings = scenario.coverage
    variant = scenario.resolved_variants()[variant_index]
    ground = variant.ground or scenario.ground
    policy = variant.policy or scenario.policy
    latency = scenario.latency
    with_terminals = (
        latency is not None
        and bool(latency.terminals)
        and (latency.constellations is None or c_spec.name in latency.constellations)
    )
    key = f"variants[{variant_index}].threats"
    # capacity before and after the threats: the scenario's [capacity] settings (defaults without one), for every
    # constellation the capacity study covers (all without a [capacity] table)
    from skyfence.scenario.schema import CapacitySpec

    cap_spec = scenario.capacity or CapacitySpec()
    with_capacity = cap_spec.constellations is None or c_spec.name in cap_spec.constellations

    def compute(advance: Advance) -> dict[str, bytes | str]:
        from skyfence.earth.places import resolve_place
        from skyfence.orbits.time import time_grid
        from skyfence.scenario.threat_specs import threat_plan
        from skyfence.threats.assess import assess_threats

        constellation = ctx.constellation(c_spec)
        region = ctx.region(r_spec)
        plan = threat_plan(
            variant.threats,
            constellation,
            constellation_name=c_spec.name,
            base=ctx.base,
            montecarlo=scenario.montecarlo,
            seed=scenario.seed,
            key=key,
        )
        capacity_options, capacity_ground = _threat_capacity(
            ctx, cap_spec, c_spec, ground, constellation, with_capacity
        )
        terminals = []
        latency_times = None
        if with_terminals and latency is not None:
            terminals = [resolve_place(t, field="latency.terminals") for t in latency.terminals]
            latency_times = time_grid(ctx.times[0], latency.duration, latency.step)
        result = assess_threats(
            constellation,
            region.cells(settings.res),
            ctx.times,
            plan,
            min_elevation_deg=settings.min_elevation_deg,
            min_sats=settings.min_sats,
            ground_segment=ctx.ground(ground) if terminals else None,
            terminals=terminals,
            isl=latency.isl if latency is not None else "+grid",
            policy=ctx.policy(policy) if policy is not None else None,
            operator=policy.operator if policy is not None else None,
            latency_times=latency_times,
            capacity_options=capacity_options,
            capacity_ground=capacity_ground,
        )
        advance(len(ctx.times))
        doc = result.to_json()
        payload = {
            "satellites": len(constellation),
            "region": region.name,
            **doc,
            "satellites_lost_mean": doc["satellites_lost"]["mean"],
            "jammed_share_mean": float(result.per_cell["jammed_share"].mean()) if plan.jammers else None,
            "jamming": doc["jamming"],
        }
        if terminals:  # the variant's latency table: its routes after the attacks (the runner moves it there)
            payload["latency_after"] = [
                terminal_latency(place.name, route) for place, route in zip(terminals, result.routes_after, strict=True)
            ]
        files: dict[str, bytes | str] = {
            "result.json": _json(payload),
            "per_cell.parquet": _parquet(result.per_cell),
            "curve.parquet": _parquet(result.curve),
            "draws.parquet": _parquet(result.draws),
        }
        if len(result.jamming_curve):
            files["jamming.parquet"] = _parquet(result.jamming_curve)
        if result.capacity is not None:
            files["capacity_cases.parquet"] = _parquet(result.capacity.cases)
            files["capacity_cells.parquet"] = _parquet(result.capacity.per_cell)
            if len(result.capacity.gateway_curve):
                files["gateway_curve.parquet"] = _parquet(result.capacity.gateway_curve)
        return files

    files_used = {}
    for spec in variant.threats:
        name = getattr(spec, "jammers_file", None)
        if name is not None and (ctx.base / name).exists():
            files_used[name] = ctx.file_hash(ctx.base / name)
        engagement = getattr(spec, "engagement", None)
        if engagement is not None and engagement.region.lower().endswith((".json", ".geojson")):
            path = ctx.base / engagement.region
            if path.exists():
                files_used[engagement.region] = ctx.file_hash(path)
    inputs: dict[str, Any] = {
        "unit": "threats",
        "model": CAPACITY_MODEL,
        "constellation": ctx.constellation_key(c_spec),
        "constellation_name": c_spec.name,  # threats may name the constellations they apply to
        "region": ctx.region_key(r_spec),
        "time": _time_key(ctx.times),
        "settings": settings.model_dump(),
        "threats": [t.model_dump(exclude={"name"}) for t in variant.threats],
        "files": files_used,
        "montecarlo": scenario.montecarlo.model_dump(),
        "seed": scenario.seed,
        "capacity": cap_spec.model_dump(exclude={"constellations"}) if with_capacity else None,
        "ground": ctx.ground_key(ground),
    }
    if with_terminals:
        inputs["latency"] = latency.model_dump(exclude={"constellations"}) if latency is not None else None
    if policy is not None and any(getattr(t, "licence_revoked", False) for t in variant.threats):
        inputs["policy"] = {"id": ctx.policy(policy).id, "operator": policy.operator}
    return Unit(
        "threats",
        f"threats: {variant.name}, {c_spec.name} over {r_spec.name or r_spec.spec}",
        inputs,
        compute,
        steps=len(ctx.times),
    )


def _threat_capacity(ctx: Context, spec, c_spec: ConstellationSpec, ground: GroundSpec, constellation, wanted: bool):
    """Options of the threat unit's capacity runs and the ground segment feeding the satellites; ``(None, None)``
    when the capacity study leaves the constellation out or its satellites' generation is unknown."""
    from skyfence.capacity.demand import DemandModel
    from skyfence.capacity.engine import assign_generations
    from skyfence.capacity.resources import fed_by_starlink_gateways
    from skyfence.errors import InputError

    if not wanted:
        return None, None
    generation = spec.generations.get(c_spec.name)
    try:
        names = assign_generations(constellation, generation)
    except InputError:
        return None, None
    options = {
        "generation": generation,
        "rain_p": spec.rain_p,
        "demand": DemandModel(
            take_rate=spec.take_rate,
            busy_hour_mbps=spec.busy_hour_mbps,
            oversubscription=spec.oversubscription,
            plan_peak_mbps=spec.plan_peak_mbps,
        ),
        "gateway_min_elevation_deg": spec.gateway_min_elevation_deg,
    }
    return options, (ctx.ground(ground) if fed_by_starlink_gateways(names) else None)
