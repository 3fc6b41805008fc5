"""``/api/v1/map/...``: the server half of each dashboard layer (the browser half is ``static/layers/<id>.js``).

Each layer is one endpoint here and one small ES module there; :data:`LAYERS` lists them with the roles that may
see them, and ``GET /api/v1/map/layers`` tells the page which ones the caller's role may draw (a terminal key sees
its own terminal only).  To add a layer: one function below, one entry in :data:`LAYERS`, one module under
``static/layers/``.

Heavy results (availability maps, coverage runs, the propagated catalog) are computed on request and kept in small
in-memory caches keyed by their inputs; the policy maps use a policy compiled for this module alone, so drawing a
map never holds the lock ingestion decides under.  Its country parts are still the process's shared Natural Earth
geometries, so map builds and ingestion do share :data:`skyfence.earth.shared.GEOS_LOCK`, one predicate call at a
time (GEOS prepared geometries are not thread-safe).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time as _time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Final

import numpy as np
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from skyfence.service.api.deps import AnyCaller, DbDep, Reader, SettingsDep
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import Scope, scope_of
from skyfence.service.core.config import Settings
from skyfence.service.core.problems import FieldProblem, ProblemError, quoted
from skyfence.service.models import Alert, Fix, Policy
from skyfence.service.web.encoding import NO_VALUE, encode_cells

__all__ = ["LAYERS", "LayerInfo", "router", "warm_active_map"]

router = APIRouter(prefix="/map", tags=["map"], route_class=JsonRoute)

_BINARY: Final = "application/octet-stream"
_READERS: Final = ("operator", "regulator", "analyst")
_EVERYONE: Final = ("operator", "regulator", "analyst", "terminal")


class GeoJSONResponse(Response):
    media_type = "application/geo+json"


class CellsResponse(Response):
    media_type = _BINARY


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


@dataclass(frozen=True)
class LayerInfo:
    """One map layer: its id (= ``static/layers/<id>.js``), label, who may see it and whether it has time."""

    id: str
    label: str
    roles: tuple[str, ...]
    timed: bool = False


#: Every layer, in drawing order (bottom first).
LAYERS: Final = (
    LayerInfo("availability", "Availability under the active policy (per H3 cell and country)", _READERS),
    LayerInfo("diff", "Policy diff: cells that change", ("operator", "regulator", "analyst")),
    LayerInfo("coverage", "Satellites in view over time (coverage)", _READERS, timed=True),
    LayerInfo("report", "Assess report maps", _READERS),
    LayerInfo("ground", "Gateways and PoPs", _READERS),
    LayerInfo("satellites", "Satellites now and ground tracks", _EVERYONE),
    LayerInfo("terminals", "Terminals' last fixes, by decision", _EVERYONE),
    LayerInfo("alerts", "Alerts, live", _READERS),
)


def _gzip_response(body: bytes, media_type: str, request: Request, headers: dict[str, str] | None = None) -> Response:
    """``body`` gzipped when the client accepts it (the payload sizes in BENCHMARKS.md are the bytes on the wire)."""
    extra = {"Cache-Control": "no-store", "Vary": "Accept-Encoding", **(headers or {})}
    if "gzip" in request.headers.get("accept-encoding", "") and len(body) > 1024:
        return Response(
            gzip.compress(body, compresslevel=5), media_type=media_type, headers={**extra, "Content-Encoding": "gzip"}
        )
    return Response(body, media_type=media_type, headers=extra)


class _Lru:
    """A few recent results keyed by their inputs; one computation per key at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.build_lock = threading.Lock()

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        with self.build_lock:
            with self.lock:
                if key in self.items:
                    return self.items[key]
            value = build()
            with self.lock:
                self.items[key] = value
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
            return value


_maps = _Lru(6)
_coverage = _Lru(4)


# --------------------------------------------------------------------------- which layers


@router.get("/layers")
def list_layers(principal: AnyCaller, settings: SettingsDep, db: DbDep) -> dict[str, Any]:
    """The layers the caller's role may draw, and who the caller is (the page shows only these).

    A reader signing in starts computing the active policy's world map, so it is ready when the page asks.
    """
    if principal.role in _READERS:
        warm_active_map(db, settings)
    return {
        "role": principal.role,
        "key_id": principal.key_id,
        "terminal_id": principal.terminal_id,
        "jurisdiction": principal.jurisdiction,
        "constellation": settings.dashboard_constellation,
        "reports": settings.reports_dir is not None and principal.role in _READERS,
        "layers": [
            {"id": layer.id, "label": layer.label, "timed": layer.timed}
            for layer in LAYERS
            if principal.role in layer.roles and (layer.id != "report" or settings.reports_dir is not None)
        ],
    }


# --------------------------------------------------------------------------- basemap


@lru_cache(maxsize=1)
def _basemap_bytes() -> bytes:
    """Natural Earth 1:110m countries, simplified to 0.05° and rounded to 0.01° (the registry's ``ne_admin0_110m``)."""
    import shapely

    from skyfence.earth.regions import countries

    table = countries(scale="110m")
    features = []
    for row in table.itertuples():
        geometry = shapely.simplify(row.geometry, 0.05, preserve_topology=True)
        geometry = shapely.set_precision(geometry, 0.01)
        if geometry.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"iso_a2": row.iso_a2, "name": row.name},
                "geometry": shapely.geometry.mapping(geometry),
            }
        )
    document = {
        "type": "FeatureCollection",
        "attribution": "Natural Earth (public domain), admin-0 countries 1:110m v5.1.1",
        "features": features,
    }
    return json.dumps(document, separators=(",", ":")).encode()


@router.get(
    "/basemap",
    response_class=GeoJSONResponse,
    openapi_extra={"responses": {"200": {"content": {"application/geo+json": {"schema": {"type": "object"}}}}}},
)
def basemap(request: Request) -> Response:
    """Country polygons (GeoJSON) for the offline basemap: fills, borders and coastlines are drawn from them.

    Public, like the page: Natural Earth is public-domain data and the map must show before sign-in.
    """
    return _gzip_response(_basemap_bytes(), "application/geo+json", request)


# --------------------------------------------------------------------------- availability and diff


def _active(db) -> Policy:
    with db.read() as session:
        row = session.scalar(select(Policy).where(Policy.active.is_(True)))
        if row is None:
            raise ProblemError(404, "no policy is active (upload one and activate it)", kind="not-found")
        session.expunge(row)
        return row


def _stored(db, version_id: str) -> Policy:
    with db.read() as session:
        row = session.get(Policy, version_id)
        if row is None:
            raise ProblemError(404, f"no policy version {version_id!r}", kind="not-found")
        session.expunge(row)
        return row


@lru_cache(maxsize=8)
def _compiled(version_id: str, source: str, policy_dir: str | None) -> Any:
    """A policy compiled for the map endpoints alone (ingestion's compiled copy keeps its own lock)."""
    from pathlib import Path

    from skyfence.service.decisions import compile_policy

    return compile_policy(source, policy_dir=None if policy_dir is None else Path(policy_dir))


@dataclass(frozen=True)
class _MapPolicy:
    """The policy a map draws: ``key`` names it in the caches; ``registry_version`` is set when the licences came
    from the registry."""

    key: str
    policy: Any
    registry_version: int | None = None


def _map_policy(db, version_id: str, source: str, settings: Settings, compiled: Any = None) -> _MapPolicy:
    """The policy as decisions apply it right now.

    A policy that takes its licences from the registry (``licences_from = "registry"``) is drawn with the
    registry's licences, conditions and what they are checked against put in -- the resolution ``skyfence policy
    export`` writes (:func:`skyfence.service.snapshot.with_registry_licences`) -- read at every request (a few
    small queries), so a licence change shows on the next map request.  The cache key is the resolved policy's
    content hash (its id): it changes with the registry's content, never with another database's.
    """
    policy_dir = None if settings.policy_dir is None else str(settings.policy_dir)
    policy = compiled if compiled is not None else _compiled(version_id, source, policy_dir)
    if policy.spec.policy.licences_from != "registry":
        return _MapPolicy(version_id, policy)
    from skyfence.service import registry
    from skyfence.service.snapshot import with_registry_licences

    with db.read() as session:
        version = registry.current_version(session)
        resolved = with_registry_licences(session, source)
    effective = _compiled(f"{version_id}+registry", resolved, policy_dir)
    return _MapPolicy(effective.id, effective, version)


def _availability(db, row: Policy, settings: Settings, res: int) -> tuple[Any, _MapPolicy]:
    from skyfence.policy.availability import availability_map

    drawn = _map_policy(db, row.version_id, row.source, settings)
    return _maps.get(("map", drawn.key, res), lambda: availability_map(drawn.policy, res=res)), drawn


def warm_active_map(db, settings: Settings) -> None:
    """Compute the active policy's world map at res 3 in the background (a signed-in page will ask for it)."""

    def run() -> None:
        try:
            _availability(db, _active(db), settings, 3)
        except Exception:  # the request that needs the map reports the error
            pass

    threading.Thread(target=run, name="skyfence-map-warm-up", daemon=True).start()


Res = Annotated[int, Query(ge=0, le=4, description="H3 resolution (3: about 41,000 cells for the world).")]


@router.get("/availability")
def availability(db: DbDep, settings: SettingsDep, _: Reader, request: Request, res: Res = 3) -> Response:
    """The active policy's availability per country and the legend of the cell payload (``/availability/cells``)."""
    from skyfence.policy.availability import AVAILABILITY, AVAILABILITY_LABELS

    row = _active(db)
    amap, drawn = _availability(db, row, settings, res)
    countries = amap.countries[["iso_a2", "name", "availability", "served_fraction", "status", "reason"]]
    document = {
        "policy": {"version_id": row.version_id, "name": row.name},
        # set when the licences came from the registry (licences_from = "registry"): the version they were read at
        "registry_version": drawn.registry_version,
        "operator": amap.operator,
        "time": amap.time.isoformat(),
        "plan": amap.plan,
        "res": res,
        "cells": len(amap.cells),
        "categories": list(AVAILABILITY),
        "labels": {name: AVAILABILITY_LABELS[name] for name in AVAILABILITY},  # the legend's words for each
        "countries": countries.to_dict(orient="records"),
        "summary": {
            "cells_by_availability": amap.summary()["cells_by_availability"],
            "countries_by_availability": amap.summary()["countries_by_availability"],
        },
    }
    return _gzip_response(json.dumps(document).encode(), "application/json", request)


@router.get(
    "/availability/cells",
    response_class=CellsResponse,
    responses={200: {"content": {"application/geo+json": {}}, "description": "SFC1 payload (or GeoJSON)"}},
)
def availability_cells(
    db: DbDep,
    settings: SettingsDep,
    _: Reader,
    request: Request,
    res: Res = 3,
    format: Annotated[str, Query(pattern="^(binary|geojson)$", description="binary (SFC1) or geojson")] = "binary",
) -> Response:
    """Per-cell availability: H3 ids and one category byte each (``format=geojson``: cell polygons, the baseline
    ``benchmarks/web_dashboard.py`` compares with)."""
    from skyfence.policy.availability import AVAILABILITY

    row = _active(db)
    amap = _availability(db, row, settings, res)[0]
    codes = {name: i for i, name in enumerate(AVAILABILITY)}
    category = np.array([codes[name] for name in amap.table["availability"]], dtype=np.uint8)
    if format == "geojson":
        body = _cells_geojson(amap.cells, {"availability": amap.table["availability"].tolist()})
        return _gzip_response(body, "application/geo+json", request)
    return _gzip_response(encode_cells(amap.cells, category), _BINARY, request, {"X-Skyfence-Policy": row.version_id})


def _cells_geojson(cells: np.ndarray, properties: dict[str, list[Any]]) -> bytes:
    from skyfence.earth.cells import cells_to_polygons

    polygons = cells_to_polygons(cells)
    import shapely

    features = [
        {
            "type": "Feature",
            "properties": {"cell": f"{int(c):x}", **{k: v[i] for k, v in properties.items()}},
            "geometry": shapely.geometry.mapping(p),
        }
        for i, (c, p) in enumerate(zip(cells.tolist(), polygons, strict=True))
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()


class DiffRequest(BaseModel):
    """A policy to compare with the active one: TOML text, or a stored version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"source": '[policy]\nname = "Taiwan only"\noperator = "starlink"\ndefault = "deny"\n'}]
        },
    )
    source: Annotated[str | None, Field(min_length=1, max_length=1_000_000)] = None
    version_id: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = None
    res: Annotated[int, Field(ge=0, le=4)] = 3
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "previewed in the dashboard"


@router.post("/policy-diff")
def policy_diff(body: DiffRequest, db: DbDep, settings: SettingsDep, principal: Reader) -> dict[str, Any]:
    """Validate a policy and show what activating it would change against the active one: cells (with their H3
    ids, to draw), countries, population.  An invalid policy is a 422 naming the key path
    (``rules[0].action``).  The preview is recorded in the audit log (``policy.diff``)."""
    from skyfence.policy.availability import diff_policies
    from skyfence.service.api.common import record_change
    from skyfence.service.decisions import compile_policy

    if (body.source is None) == (body.version_id is None):
        raise ProblemError(422, "body: give either source (TOML text) or version_id", kind="validation-error")
    active = _active(db)
    candidate = None
    if body.source is not None:
        candidate = compile_policy(body.source, policy_dir=settings.policy_dir)
        candidate_id, candidate_name, candidate_source = candidate.id, candidate.name, body.source
    else:
        row = _stored(db, str(body.version_id))
        candidate_id, candidate_name, candidate_source = row.version_id, row.name, row.source
    # both sides as decisions would apply them now: registry licences put in where a policy reads them from there
    before = _map_policy(db, active.version_id, active.source, settings)
    after = _map_policy(db, candidate_id, candidate_source, settings, candidate)

    def build() -> Any:
        return diff_policies(before.policy, after.policy, res=body.res)

    diff = _maps.get(("diff", before.key, after.key, body.res), build)
    summary = diff.summary()
    people = summary["population"]
    with db.write() as session:
        record_change(
            session,
            principal,
            action="policy.diff",
            resource_type="policy",
            resource_id=candidate_id,
            before={"active": active.version_id},
            after={"changed_cells": summary["cells"]["changed"], "people": people.get("people", 0)},
            reason=body.reason,
        )
    return {
        "active": {"version_id": active.version_id, "name": active.name},
        "candidate": {"version_id": candidate_id, "name": candidate_name},
        "res": body.res,
        "cells": {
            "total": summary["cells"]["total"],
            "changed": summary["cells"]["changed"],
            "transitions": summary["cells"]["transitions"],
            "ids": diff.cells["cell"].tolist(),
            "from": diff.cells["from"].tolist(),
            "to": diff.cells["to"].tolist(),
        },
        "countries": summary["countries"],
        "population": people,
    }


# --------------------------------------------------------------------------- coverage over time


@lru_cache(maxsize=2)
def _constellation(name: str) -> Any:
    from skyfence.orbits.sources import load_constellation

    return load_constellation(name, skip_invalid=True)


def _default_time(constellation: Any) -> tuple[datetime, str]:
    """Now, if the catalog's elements are at most 3 days old; else the catalog's newest epoch (a dated snapshot)."""
    now = datetime.now(UTC)
    epochs = constellation.epoch_range
    if epochs is None:
        return now.replace(microsecond=0), "now"
    newest = datetime.fromtimestamp(int(epochs[1].astype("datetime64[s]").astype(np.int64)), UTC)
    if abs(now - newest) <= timedelta(days=3):
        return now.replace(microsecond=0), "now"
    return newest.replace(second=0), "catalog epoch"


def _parse_time(value: str | None, constellation: Any, *, field: str = "query.time") -> tuple[datetime, str]:
    """The requested time (UTC), refused (422 naming ``field``) when not ISO 8601 or further from the catalog's element
    epochs than the CLI's epoch-gap limit (:func:`skyfence.orbits.epochs.catalog_epoch_gap`, 14 days)."""
    from skyfence.orbits.epochs import catalog_epoch_gap

    if value is None:
        return _default_time(constellation)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        message = f"{quoted(value)} is not ISO 8601 (e.g. 2026-08-18T12:00Z)"
        raise ProblemError(422, f"{field}: {message}", errors=[FieldProblem(field=field, message=message)]) from None
    moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    gap = catalog_epoch_gap(constellation, np.datetime64(moment.replace(tzinfo=None), "ns"))
    if gap is not None and gap.exceeded:
        message = (
            f"{moment:%Y-%m-%dT%H:%MZ} is {gap.gap_days:.1f} days from the catalog's median element epoch "
            f"{gap.epoch_median.astype('datetime64[m]')}Z, more than the {gap.max_gap_days:g}-day limit: "
            "SGP4 positions that far from epoch are off by tens to hundreds of km "
            "(ask for a time near the epoch, or leave the time out)"
        )
        raise ProblemError(422, f"{field}: {message}", errors=[FieldProblem(field=field, message=message)])
    return moment, "requested"


_KNOWN_REGIONS: Final = "ISO codes (TW, UKR), country names (Taiwan), world, disputed:NAME, occupied:ua:DATE"


def _region_problem(region: str, error: Any) -> ProblemError:
    """422 for a region the server does not know, naming only the caller's own input or registry names: never a
    path (a file name is not echoed at all, since any rewriting of it would tell where the server runs)."""
    from skyfence.earth.regions import names_a_file

    if names_a_file(region):
        detail = f"query.region: files are not regions here; known: {_KNOWN_REGIONS}"
    else:
        hint = error.hint if error.hint and error.hint.startswith(("did you mean", "known")) else None
        detail = f"query.region: {error.message}; {hint or 'known: ' + _KNOWN_REGIONS}"
    return ProblemError(
        422,
        detail,
        kind="validation-error",
        errors=[FieldProblem(field="query.region", message="unknown region")],
    )


@router.get("/coverage", response_class=CellsResponse, responses={200: {"description": "SFC1, one frame a step"}})
def coverage(
    settings: SettingsDep,
    _: Reader,
    request: Request,
    region: Annotated[str, Query(min_length=2, max_length=64, description="Country code or region name.")] = "TW",
    res: Annotated[int, Query(ge=2, le=6)] = 4,
    start: Annotated[str | None, Query(description="ISO 8601 UTC; default the catalog's epoch or now.")] = None,
    steps: Annotated[int, Query(ge=1, le=2880, description="Time steps.")] = 1440,
    step_s: Annotated[int, Query(ge=10, le=3600)] = 60,
    min_elevation_deg: Annotated[float, Query(ge=0, le=90)] = 25.0,
) -> Response:
    """Satellites in view per cell and time step over a region, computed on request (coverage engine)."""
    from skyfence.coverage.engine import run_coverage
    from skyfence.earth.regions import get_region
    from skyfence.errors import SkyfenceError
    from skyfence.orbits.time import time_grid

    constellation = _constellation(settings.dashboard_constellation)
    moment, basis = _parse_time(start, constellation, field="query.start")
    try:
        area = get_region(region, files=False)
        cells = np.unique(area.cells(res))
    except SkyfenceError as error:
        raise _region_problem(region, error) from None
    if cells.size * steps > 2_000_000:
        raise ProblemError(
            422, f"region {region} at res {res} has {cells.size} cells: {cells.size} x {steps} steps is over 2,000,000"
        )
    key = (settings.dashboard_constellation, area.name, res, moment.isoformat(), steps, step_s, min_elevation_deg)

    def build() -> Any:
        times = time_grid(moment.replace(tzinfo=None).isoformat(), (steps - 1) * step_s, step_s)
        return run_coverage(constellation, cells, times, min_elevation_deg=min_elevation_deg)

    result = _coverage.get(key, build)
    counts = result.counts["sats_in_view"].to_numpy()
    values = np.minimum(counts, NO_VALUE - 1).astype(np.uint8)
    headers = {
        "X-Skyfence-Start": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "X-Skyfence-Step-S": str(step_s),
        "X-Skyfence-Time-Basis": basis,
        "X-Skyfence-Region": area.name,
        "X-Skyfence-Constellation": f"{settings.dashboard_constellation} ({len(constellation)} satellites)",
    }
    return _gzip_response(encode_cells(result.cells, values), _BINARY, request, headers)


# --------------------------------------------------------------------------- satellites and ground segment


@router.get("/satellites")
def satellites(
    settings: SettingsDep,
    _: AnyCaller,
    request: Request,
    time: Annotated[str | None, Query(description="ISO 8601 UTC; default now, or the catalog's epoch.")] = None,
    tracks: Annotated[int, Query(ge=0, le=200, description="Satellites with a ground track.")] = 24,
    track_minutes: Annotated[int, Query(ge=10, le=200)] = 95,
) -> Response:
    """Every satellite's sub-satellite point at one time, and ground tracks (±half ``track_minutes``) of a few."""
    from skyfence.orbits.propagate import propagate
    from skyfence.orbits.time import time_grid

    constellation = _constellation(settings.dashboard_constellation)
    moment, basis = _parse_time(time, constellation)
    naive = np.datetime64(moment.replace(tzinfo=None), "ns")
    now = propagate(constellation, np.array([naive]))
    ok = now["error"].to_numpy()[:, 0] == 0
    lat = now["lat"].to_numpy()[:, 0]
    lon = now["lon"].to_numpy()[:, 0]
    alt = now["alt"].to_numpy()[:, 0]
    norad = now["norad_id"].to_numpy()
    picked = np.flatnonzero(ok)[:: max(1, int(ok.sum()) // max(tracks, 1))][:tracks] if tracks else np.array([], int)
    track_list = []
    if picked.size:
        half = track_minutes * 30
        times = time_grid(str(naive - np.timedelta64(half, "s")), 2 * half, 60)
        path = propagate(constellation.subset(picked), times)
        for i, index in enumerate(picked.tolist()):
            track_list.append(
                {
                    "norad_id": int(norad[index]),
                    "lat": np.round(path["lat"].to_numpy()[i], 2).tolist(),
                    "lon": np.round(path["lon"].to_numpy()[i], 2).tolist(),
                }
            )
    document = {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "time_basis": basis,
        "constellation": settings.dashboard_constellation,
        "satellites": int(ok.sum()),
        "norad_id": norad[ok].astype(int).tolist(),
        "lat": np.round(lat[ok], 2).tolist(),
        "lon": np.round(lon[ok], 2).tolist(),
        "alt_km": np.round(alt[ok], 0).astype(int).tolist(),
        "tracks": track_list,
    }
    return _gzip_response(json.dumps(document).encode(), "application/json", request)


@lru_cache(maxsize=2)
def _ground(name: str) -> list[dict[str, Any]]:
    from skyfence.network.ground import load_ground_segment

    sites = load_ground_segment(name, status=None).sites
    columns = ["name", "kind", "status", "lat_deg", "lon_deg", "country"]
    return sites[columns].to_dict(orient="records")


@router.get("/ground")
def ground(settings: SettingsDep, _: Reader, request: Request) -> Response:
    """Gateways and PoPs (operational and planned) from the ground-segment dataset."""
    sites = _ground(settings.dashboard_ground)
    document = {"source": settings.dashboard_ground, "sites": sites}
    return _gzip_response(json.dumps(document).encode(), "application/json", request)


# --------------------------------------------------------------------------- terminals and alerts


@router.get("/terminals")
def terminals(db: DbDep, principal: AnyCaller) -> dict[str, Any]:
    """Each terminal's last decided fix and its decision (a terminal key: its own terminal only; a regulator: each
    terminal's last fix in its jurisdiction, as its service view counts them)."""
    last = select(Fix.terminal_id, func.max(Fix.id).label("id")).where(*scope_of(principal).where(Fix))
    latest = last.group_by(Fix.terminal_id).subquery()
    # a fix and its decision are one row (models.Fix)
    query = select(Fix).join(latest, Fix.id == latest.c.id).order_by(Fix.terminal_id)
    with db.read() as session:
        rows = session.scalars(query).all()
        items = [
            {
                "terminal_id": fix.terminal_id,
                "time": fix.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lat_deg": fix.lat_deg,
                "lon_deg": fix.lon_deg,
                "speed_kmh": fix.speed_kmh,
                "decision": fix.decision,
                "rule": fix.rule,
                "reason": fix.reason,
                "country": fix.country,
            }
            for fix in rows
        ]
    return {"terminals": items}


#: One server-sent event as OpenAPI describes it (``event: alert``, ``id``, ``data`` = the alert as JSON text).
_SSE_EVENT: Final = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "id": {"type": "string"}, "data": {"type": "string"}},
}


def _alert_event(row: Alert, where: dict[int, tuple[float, float]]) -> str:
    lat_lon = where.get(row.first_fix_id)
    data = {
        "id": row.id,
        "kind": row.kind,
        "terminal_id": row.terminal_id,
        "n_fixes": row.n_fixes,
        "rule": row.rule,
        "reason": row.reason,
        "score": getattr(row, "score", None),
        "created_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lat_deg": None if lat_lon is None else lat_lon[0],
        "lon_deg": None if lat_lon is None else lat_lon[1],
    }
    return f"id: {row.id}\nevent: alert\ndata: {json.dumps(data)}\n\n"


def _alerts_after(db, after: int, scope: Scope, limit: int = 100) -> list[str]:
    with db.read() as session:
        query = select(Alert).where(Alert.id > after, *scope.where(Alert))
        rows = session.scalars(query.order_by(Alert.id).limit(limit)).all()
        fix_ids = [r.first_fix_id for r in rows]
        where = {}
        if fix_ids:
            found = session.execute(select(Fix.id, Fix.lat_deg, Fix.lon_deg).where(Fix.id.in_(fix_ids))).all()
            where = {int(i): (float(a), float(b)) for i, a, b in found}
        return [_alert_event(r, where) for r in rows]


def _last_alert_ids(db, recent: int) -> int:
    with db.read() as session:
        top = session.scalar(select(func.max(Alert.id))) or 0
    return max(0, int(top) - recent)


@router.get(
    "/alerts/stream",
    response_class=EventStreamResponse,
    responses={200: {"description": "Server-sent events", "content": {"text/event-stream": {"schema": _SSE_EVENT}}}},
)
async def alerts_stream(
    request: Request,
    db: DbDep,
    principal: Reader,
    recent: Annotated[int, Query(ge=0, le=500, description="Send this many recent alerts first.")] = 20,
    timeout_s: Annotated[float, Query(ge=0.5, le=3600, description="Close the stream after this long.")] = 600,
    after: Annotated[int | None, Query(ge=0, description="Resume after this alert id (SSE Last-Event-ID).")] = None,
) -> EventStreamResponse:
    """New alerts as server-sent events (``event: alert``, ``id`` = alert id), checked twice a second.

    The stream ends after ``timeout_s``; the page reconnects with ``after`` = the last id it saw, so a revoked key
    stops receiving within one period.  A regulator receives the alerts raised on fixes in its jurisdiction only.
    """
    scope = scope_of(principal)
    resume = request.headers.get("last-event-id")
    start = int(resume) if resume and resume.isdigit() else after
    last = start if start is not None else await run_in_threadpool(_last_alert_ids, db, recent)

    async def events() -> AsyncIterator[str]:
        nonlocal last
        deadline = _time.monotonic() + timeout_s
        yield "retry: 1000\n\n"
        quiet = 0.0
        while True:  # one look at least, however late: the recent alerts are sent even on a short, slow stream
            if await request.is_disconnected():
                return
            chunk = await run_in_threadpool(_alerts_after, db, last, scope)
            for event in chunk:
                last = int(event.split("\n", 1)[0][4:])
                yield event
            quiet = 0.0 if chunk else quiet + 0.5
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
            if _time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.5)

    return EventStreamResponse(events(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# --------------------------------------------------------------------------- reports


@router.get("/reports")
def reports(settings: SettingsDep, _: Reader) -> dict[str, Any]:
    """Assess outputs under ``skyfence serve --reports DIR``: name, scenario, when, variants, map layers."""
    from skyfence.service.web.reports import list_reports

    if settings.reports_dir is None:
        return {"reports": [], "hint": "start the server with --reports DIR to list assess outputs"}
    return {"reports": list_reports(settings.reports_dir)}


@router.get("/reports/{name:path}/layers/{layer}", response_class=CellsResponse)
def report_layer(name: str, layer: str, settings: SettingsDep, _: Reader, request: Request) -> Response:
    """One map of an assess output as an SFC1 cell payload (see :mod:`skyfence.service.web.reports`)."""
    from skyfence.service.web.reports import report_layer_payload

    if settings.reports_dir is None:
        raise ProblemError(404, "no reports directory (start the server with --reports DIR)", kind="not-found")
    payload, headers = report_layer_payload(settings.reports_dir, name, layer)
    return _gzip_response(payload, _BINARY, request, headers)


@router.get("/reports/{name:path}/report.html", response_class=HTMLResponse)
def report_html(name: str, settings: SettingsDep, _: Reader) -> Response:
    """The assess report itself (self-contained HTML); ``name`` is as listed, nested names included (``ex/asat``)."""
    from skyfence.service.web.reports import report_folder

    if settings.reports_dir is None:
        raise ProblemError(404, "no reports directory (start the server with --reports DIR)", kind="not-found")
    folder = report_folder(settings.reports_dir, name)
    return HTMLResponse((folder / "report.html").read_bytes())
