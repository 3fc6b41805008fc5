"""Zones → geometry: countries of a point of view, regions, strict polygon files, H3 cell sets, geodesic buffers.

A compiled policy sees the Earth as a list of *parts* -- polygonal geometries in lon/lat WGS-84, each cut at the
antimeridian: first every admin-0 unit of the policy's Natural Earth layer (``pov``, ``scale``), then each coastal
state's **territorial sea** (12 nmi, UNCLOS Art. 3; :mod:`skyfence.earth.waters`), then the other geometries its
zones need (a disputed or occupied area, a GeoJSON file, a cell set, a buffered zone).  A country's territorial sea
belongs to the country for the policy (UNCLOS Art. 2: its sovereignty extends there): it is part of every zone,
status and licence that names the country, and a fix there has that country.  A zone is a set of parts plus two
flags: ``world`` (everywhere) and ``sea`` (outside every country and every territorial sea: the EEZs and the high
seas, and anything Natural Earth leaves unclaimed inland).  A point is in a zone when it intersects one of its
parts (``shapely.intersects_xy``: a point on an edge is inside, so a point on a denied polygon's edge is denied).

Policy polygons are never repaired: a GeoJSON file with an invalid (e.g. self-intersecting) polygon is a
:class:`~skyfence.errors.PolicyError` naming the file and the feature.  Country and region layers come from
:mod:`skyfence.earth.regions` as they are.

**Buffers** (``buffer_km`` of a zone) are :func:`skyfence.earth.waters.buffer_km`: geodesic, in local
azimuthal-equidistant projections of 5° tiles (see there).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from skyfence.data.store import input_cache, note_file
from skyfence.earth import cells as _cells
from skyfence.earth import regions as _regions
from skyfence.earth import waters as _waters
from skyfence.earth.shared import GEOS_LOCK
from skyfence.earth.waters import buffer_km
from skyfence.errors import InputError, PolicyError, RegionError
from skyfence.policy.confine import confinement, policy_file

#: Name of the zone of every territorial sea (registered by each :class:`Geography`; not a user zone).
WATERS_ZONE = "waters:territorial_sea"

__all__ = ["WATERS_ZONE", "Geography", "Part", "ZoneGeometry", "buffer_km", "country_table", "read_policy_polygon"]

_TILE_DEG = 5.0
_DENSIFY_DEG = 0.05
_DENSIFY_M = 2000.0


@dataclass(frozen=True, eq=False)
class Part:
    """One polygonal piece of the policy's world."""

    key: str
    name: str
    geometry: Polygon | MultiPolygon = field(repr=False)
    country: str | None  # ISO alpha-2 for a country unit ("" if Natural Earth gives none); None otherwise
    area_deg2: float
    waters: bool = False  # a country's territorial sea (skyfence.earth.waters), not its land


@dataclass(frozen=True, eq=False)
class ZoneGeometry:
    """A zone: a set of parts (indices into :attr:`Geography.parts`) and the ``world`` / ``sea`` flags."""

    name: str
    parts: frozenset[int]
    world: bool = False
    sea: bool = False
    countries: tuple[str, ...] = ()  # ISO codes the zone was built from (licence conditions, explanations)
    description: str = ""

    @property
    def empty(self) -> bool:
        return not (self.parts or self.world or self.sea)


@input_cache(maxsize=4)
def country_table(pov: str, scale: str | None) -> pd.DataFrame:
    """The Natural Earth admin-0 layer of a point of view (``regions.countries``), read once per process."""
    try:
        return _regions.countries(pov=pov, scale=scale)
    except (RegionError, InputError) as error:
        raise PolicyError(
            error.message, field="policy.scale" if error.field == "scale" else "policy.pov", hint=error.hint
        ) from None


def _suggest(code: str, table: pd.DataFrame) -> str:
    """Close ISO codes for an unknown one: same first letter for two letters, else the closest codes and names."""
    text = code.strip().upper()
    names = {str(r.iso_a2): str(r.name) for r in table.itertuples() if r.iso_a2}
    if len(text) == 2:
        picks = [c for c in sorted(names) if c[0] == text[0]][:8]
    else:
        choices = {}
        for row in table.itertuples():
            if row.iso_a2:
                choices[str(row.name).upper()] = str(row.iso_a2)
                choices[str(row.iso_a3).upper()] = str(row.iso_a2)
        close = difflib.get_close_matches(text, list(choices), n=4, cutoff=0.5)
        picks = list(dict.fromkeys(choices[c] for c in close))
    if picks:
        return "did you mean " + ", ".join(f"{c} ({names[c]})" for c in picks) + "?"
    return "use ISO 3166 alpha-2 codes as in Natural Earth (UA, TW, RU ...)"


class Geography:
    """The parts and zones of one policy (see the module notes).  Build with :meth:`from_policy`."""

    def __init__(self, pov: str, scale: str | None) -> None:
        self.pov = pov
        self.scale = scale
        table = country_table(pov, scale)
        self.countries = table
        self.parts: list[Part] = []
        self._part_index: dict[str, int] = {}
        self.code_rows: dict[str, list[int]] = {}
        for number, row in enumerate(table.itertuples()):
            geometry = row.geometry
            self._add_part(
                Part(
                    f"country:{row.adm0_a3}:{number}",
                    str(row.name),
                    geometry,
                    str(row.iso_a2),
                    float(shapely.area(geometry)),
                )
            )
            if row.iso_a2:
                self.code_rows.setdefault(str(row.iso_a2), []).append(number)
        self.n_countries = len(self.parts)  # land units: parts[:n_countries]
        waters = _waters.territorial_seas(pov, scale)
        #: how reasons name the territorial-sea approximation ("12 nmi of the Natural Earth 1:50m coast")
        self.waters_label = waters.label
        waters_parts = []
        for number, row in enumerate(waters.table.itertuples()):
            code = str(row.code)
            index = self._add_part(
                Part(
                    f"waters:{code or row.name}:{number}",
                    f"{row.name} territorial sea",
                    row.geometry,
                    code,
                    float(shapely.area(row.geometry)),
                    waters=True,
                )
            )
            waters_parts.append(index)
            if code:
                self.code_rows.setdefault(code, []).append(index)
        self.alpha3: dict[str, str] = {}
        for row in table.itertuples():
            for code in (row.iso_a3, row.adm0_a3):
                if code and row.iso_a2:
                    self.alpha3.setdefault(str(code), str(row.iso_a2))
        self.zones: dict[str, ZoneGeometry] = {}
        self.zone_index: dict[str, int] = {}
        self.zone_list: list[ZoneGeometry] = []
        self._tree: shapely.STRtree | None = None
        self._tree_size = 0
        #: every territorial sea as one zone: its bit tells a fix at sea in a country from one on its land
        self.waters_zone = self.register(
            ZoneGeometry(WATERS_ZONE, frozenset(waters_parts), description="territorial seas")
        )

    # ----------------------------------------------------------------- parts and zones

    def _add_part(self, part: Part) -> int:
        if part.key in self._part_index:
            return self._part_index[part.key]
        # prepared once; other threads share the parts (a country part is the Natural Earth layer's own geometry),
        # so every predicate on them holds GEOS_LOCK (skyfence.earth.shared)
        with GEOS_LOCK:
            shapely.prepare(part.geometry)
        self.parts.append(part)
        self._part_index[part.key] = len(self.parts) - 1
        return len(self.parts) - 1

    def add_geometry(self, key: str, name: str, geometry: BaseGeometry) -> int:
        """Register a non-country part (deduplicated by ``key``) and return its index."""
        if key in self._part_index:
            return self._part_index[key]
        return self._add_part(Part(key, name, geometry, None, float(shapely.area(geometry))))

    def register(self, zone: ZoneGeometry) -> int:
        """Add ``zone`` (or find an identical one) and return its index."""
        signature = (zone.parts, zone.world, zone.sea)
        for index, known in enumerate(self.zone_list):
            if (known.parts, known.world, known.sea) == signature:
                if zone.name not in self.zones:
                    self.zones[zone.name] = known
                    self.zone_index[zone.name] = index
                return index
        self.zone_list.append(zone)
        self.zones[zone.name] = zone
        self.zone_index[zone.name] = len(self.zone_list) - 1
        return len(self.zone_list) - 1

    def country_parts(self, codes, *, field_path: str) -> tuple[frozenset[int], tuple[str, ...]]:
        """Parts of ISO codes (alpha-2 or alpha-3); an unknown code is a PolicyError with close matches."""
        parts: set[int] = set()
        resolved = []
        for i, raw in enumerate(codes):
            code = str(raw).strip().upper()
            if len(code) == 3 and code in self.alpha3:
                code = self.alpha3[code]
            rows = self.code_rows.get(code)
            if not rows:
                raise PolicyError(
                    f"unknown ISO code {raw!r}",
                    field=f"{field_path}[{i}]",
                    hint=_suggest(str(raw), self.countries),
                )
            parts.update(rows)
            resolved.append(code)
        return frozenset(parts), tuple(resolved)

    def union_geometry(self, zone: ZoneGeometry) -> BaseGeometry:
        """The zone as one geometry (``world`` → the whole lon/lat box; ``sea`` is not representable)."""
        if zone.world:
            return box(-180.0, -90.0, 180.0, 90.0)
        if zone.sea:
            raise PolicyError(f"zone {zone.name!r} includes 'sea', which has no polygon to buffer or draw")
        geometries = [self.parts[p].geometry for p in sorted(zone.parts)]
        return geometries[0] if len(geometries) == 1 else shapely.union_all(geometries)

    def buffered(self, zone: ZoneGeometry, km: float, *, name: str, field_path: str) -> ZoneGeometry:
        """``zone`` grown by ``km`` (one new part)."""
        if km <= 0.0:
            return zone
        if zone.world or zone.sea:
            raise PolicyError("cannot buffer 'world' or 'sea'", field=field_path, hint="buffer a country or polygon")
        key = f"buffer:{km!r}:" + ",".join(self.parts[p].key for p in sorted(zone.parts))
        if key in self._part_index:
            index = self._part_index[key]
        else:
            geometry = buffer_km(self.union_geometry(zone), km)
            index = self.add_geometry(key, f"{zone.name} + {km:g} km", geometry)
        return ZoneGeometry(
            name,
            frozenset({index}),
            countries=zone.countries,
            description=f"{zone.description or zone.name}, grown by {km:g} km",
        )

    # ----------------------------------------------------------------- zone specs

    def resolve_zone(self, name: str, spec, base_dir: Path, *, field_path: str) -> ZoneGeometry:
        """A ``[zones.NAME]`` table → :class:`ZoneGeometry` (registered under ``name``)."""
        parts: set[int] = set()
        world = sea = False
        countries: list[str] = []
        if spec.countries:
            found, codes = self.country_parts(spec.countries, field_path=f"{field_path}.countries")
            parts |= found
            countries.extend(codes)
        for i, region_spec in enumerate(spec.regions):
            where = f"{field_path}.regions[{i}]"
            lowered = region_spec.strip().lower()
            if lowered == "world":
                world = True
                continue
            if lowered == "sea":
                sea = True
                continue
            try:
                if _regions.names_a_file(region_spec):  # relative to the TOML file, as zone files (and confined)
                    region = _regions.region_from_geojson(policy_file(region_spec, base_dir, field=where))
                else:
                    region = _regions.get_region(
                        region_spec, pov=self.pov, scale=self.scale, files=not confinement()[0]
                    )
            except RegionError as error:
                raise PolicyError(error.message, field=where, hint=error.hint) from None
            if region.kind == "country":
                found, codes = self.country_parts([region.code], field_path=where)
                parts |= found
                countries.extend(codes)
            elif region.kind == "world":
                world = True
            else:
                parts.add(
                    self.add_geometry(
                        f"region:{region.kind}:{region.source}:{region.name}", region.name, region.geometry
                    )
                )
        for i, file_name in enumerate(spec.files):
            path = policy_file(file_name, base_dir, field=f"{field_path}.files[{i}]")
            geometry, digest = read_policy_polygon(path, field=f"{field_path}.files[{i}]")
            parts.add(self.add_geometry(f"file:{digest}", path.stem, geometry))
        if spec.cells:
            geometry, digest = _cells_geometry(spec.cells, field=f"{field_path}.cells")
            parts.add(self.add_geometry(f"cells:{digest}", f"{name} cells", geometry))
        zone = ZoneGeometry(name, frozenset(parts), world, sea, tuple(dict.fromkeys(countries)), spec.description)
        if spec.buffer_km > 0.0:
            zone = self.buffered(zone, spec.buffer_km, name=name, field_path=f"{field_path}.buffer_km")
        self.register(zone)
        return zone

    def union_zone(self, name: str, zones: list[ZoneGeometry]) -> ZoneGeometry:
        """The union of zones as a new registered zone."""
        if len(zones) == 1:
            return zones[0]
        merged = ZoneGeometry(
            name,
            frozenset().union(*(z.parts for z in zones)),
            any(z.world for z in zones),
            any(z.sea for z in zones),
            tuple(dict.fromkeys(c for z in zones for c in z.countries)),
            " + ".join(z.name for z in zones),
        )
        self.register(merged)
        return merged

    # ----------------------------------------------------------------- geometry questions

    def zones_may_overlap(self, a: ZoneGeometry | None, b: ZoneGeometry | None, neg_a=False, neg_b=False) -> bool:
        """Whether two zones (None = everywhere; ``neg`` = outside the zone) can share an interior point."""
        if a is None or b is None:
            other = b if a is None else a
            return other is None or not other.empty or (neg_a or neg_b)
        if neg_a and neg_b:
            return True
        if neg_a or neg_b:
            fence, other = (a, b) if neg_a else (b, a)
            if fence.world:
                return False
            if fence.sea or other.sea or other.world:
                return True
            fence_geometry, other_geometry = self.union_geometry(fence), self.union_geometry(other)
            with GEOS_LOCK:  # a single part is the shared, prepared part itself
                return not shapely.covers(fence_geometry, other_geometry)
        if a.empty or b.empty:
            return False
        if a.world or b.world:
            return True
        if a.sea and b.sea:
            return True
        if (a.sea and any(self.parts[p].country is None for p in b.parts)) or (
            b.sea and any(self.parts[p].country is None for p in a.parts)
        ):
            return True
        if a.parts & b.parts:
            return True
        for p in a.parts:
            gp = self.parts[p].geometry
            for q in b.parts:
                if self.parts[p].country is not None and self.parts[q].country is not None:
                    continue  # admin-0 units do not overlap
                gq = self.parts[q].geometry
                with GEOS_LOCK:  # gp is prepared and shared: the prepared relate keeps state per call
                    if shapely.intersects(shapely.envelope(gp), shapely.envelope(gq)) and shapely.relate_pattern(
                        gp, gq, "T********"
                    ):
                        return True
        return False

    def tree(self) -> shapely.STRtree:
        """An STR-tree of all parts (the exact point-in-polygon path)."""
        if self._tree is None or self._tree_size != len(self.parts):
            self._tree = shapely.STRtree(np.array([p.geometry for p in self.parts], dtype=object))
            self._tree_size = len(self.parts)
        return self._tree


# --------------------------------------------------------------------------- policy polygons


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_policy_polygon(path: Path, *, field: str) -> tuple[BaseGeometry, str]:
    """A GeoJSON polygon file of a policy: (normalised geometry, sha256 of the file); invalid → PolicyError.

    Unlike :func:`skyfence.earth.regions.region_from_geojson`, an invalid polygon is not repaired: a geofence
    must be exactly what its author drew, so a self-intersection is an error naming the file and feature.
    """
    if not path.is_file():
        raise PolicyError(
            "polygon file not found",
            source=str(path),
            field=field,
            hint="paths are relative to the TOML file that names them",
        )
    note_file(path, kind="policy_zone_file")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PolicyError(f"not valid GeoJSON: {error}", source=str(path), field=field) from None
    if not isinstance(document, dict):
        raise PolicyError("not a GeoJSON object", source=str(path), field=field)
    if document.get("type") == "FeatureCollection":
        entries = [(f"features[{i}]", (f or {}).get("geometry")) for i, f in enumerate(document.get("features") or [])]
    elif document.get("type") == "Feature":
        entries = [("feature", document.get("geometry"))]
    else:
        entries = [("geometry", document)]
    for where, geometry in entries:
        if geometry is None:
            continue
        try:
            raw = shape(geometry)
        except Exception as error:
            raise PolicyError(f"{where}: malformed geometry ({error})", source=str(path), field=field) from None
        if raw.geom_type not in ("Polygon", "MultiPolygon"):
            raise PolicyError(
                f"{where}: a {raw.geom_type}; a zone needs Polygon or MultiPolygon", source=str(path), field=field
            )
        if not raw.is_valid:
            raise PolicyError(
                f"{where}: invalid polygon ({shapely.is_valid_reason(raw)})",
                source=str(path),
                field=field,
                hint="fix the polygon; skyfence does not repair policy polygons",
            )
    try:
        region = _regions.region_from_geojson(path)
    except RegionError as error:
        raise PolicyError(error.message, source=str(path), field=field, hint=error.hint) from None
    return region.geometry, _file_digest(path)


def _cells_geometry(cells: list[str], *, field: str) -> tuple[BaseGeometry, str]:
    for i, cell in enumerate(cells):
        if not h3.is_valid_cell(str(cell)):
            raise PolicyError(
                f"not an H3 cell: {cell!r}", field=f"{field}[{i}]", hint="give hex ids like 85283473fffffff"
            )
    ids = np.array([h3.str_to_int(str(c)) for c in cells], dtype=np.uint64)
    polygons = _cells.cells_to_polygons(np.unique(ids))
    merged = shapely.union_all(polygons)
    digest = hashlib.sha256(np.unique(ids).tobytes()).hexdigest()
    return _cells.split_antimeridian(merged), digest
