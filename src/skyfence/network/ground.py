"""The ground segment: gateways (satellite ground stations) and PoPs (where traffic meets the Internet).

One table, one row per site: ``name``, ``kind`` (``"gateway"`` or ``"pop"``),
``status`` (``"operational"`` or ``"planned"``), ``lat_deg``, ``lon_deg``,
``alt_km`` (WGS-84), ``country`` (ISO 3166 alpha-2 from
:func:`skyfence.earth.regions.lookup_country`, ``""`` at sea) and ``home_pop``
(for a gateway: the PoP its traffic is backhauled to; ``""`` for a PoP).

Which list
----------
The default is ``starlink_ground_stations``
(``ground_stations/starlink_gateways_pops_starlink-viz_20260320.json``, MIT,
357 sites with an operational/planned status per site; it reconciles the
community lists of starlinkinsider.com and starlink.sx): the newest list that
carries a status.  The other files in that folder are older alternatives:
the 2023-10-10 and undated KML scrapes of the community "Unofficial Starlink
Global Gateways & PoPs" map (readable here with :func:`read_ground_segment` for
dated studies such as the 2023 RIPE Atlas validation; their free-text status
is mapped to operational/planned by :data:`STATUS_2023`), a PoP-only list
(clarkzjw/starlink-geoip) and the Horizon gateway list (lon/lat swapped).

Only Starlink's ground segment is public, so the commands' default (``--ground operator``)
is the list of the constellation's operator, read from its satellites' catalog names (:func:`operator_ground`):
Starlink's list for a Starlink catalog or preset; for OneWeb, Kuiper and the others an error that asks for their
gateways rather than Starlink's in silence.

Which PoP a gateway feeds is not published; :func:`read_ground_segment`
homes each gateway to the nearest PoP by great-circle distance (after status
filters), which is what the community maps draw as backhaul for most sites.
``with_home_pop`` overrides it.

Sites change: :meth:`GroundSegment.add_site` (a hypothetical gateway in
Taiwan), :meth:`GroundSegment.remove_sites` (a licence revoked, a gateway
destroyed), :meth:`GroundSegment.exclude_gateways_in` (no gateways in these
countries).  Every method returns a new segment.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skyfence.data.store import note_file
from skyfence.errors import InputError

__all__ = [
    "DEFAULT_GROUND_DATASET",
    "KINDS",
    "OPERATOR",
    "OPERATOR_GROUND",
    "STATUSES",
    "STATUS_2023",
    "GroundSegment",
    "great_circle_km",
    "load_ground_segment",
    "operator_ground",
    "operator_of",
    "read_ground_segment",
    "site_countries",
]

#: Dataset name of the default list (see the module docstring).
DEFAULT_GROUND_DATASET = "starlink_ground_stations"
#: The default of the commands' ``--ground``: the ground segment of the constellation's operator.
OPERATOR = "operator"
#: The ground segments in the data, by operator (the first word of its satellites' catalog names).  Only Starlink's
#: gateways and PoPs are public (community lists); OneWeb's, Kuiper's and the others' are not in the data.
OPERATOR_GROUND = {"STARLINK": DEFAULT_GROUND_DATASET}
_OPERATOR_LABELS = {
    "STARLINK": "Starlink",
    "ONEWEB": "OneWeb",
    "KUIPER": "Kuiper",
    "TELESAT": "Telesat",
    "QIANFAN": "Qianfan",
    "GUOWANG": "Guowang",
    "HULIANWANG": "Guowang",
}
KINDS = ("gateway", "pop")
STATUSES = ("operational", "planned")
#: Statuses of the 2023 community map counted as operational; all others (grants, construction, "not built as
#: of ...", unknown, blank) count as planned.  PoPs carry no status there and are operational.
STATUS_2023 = ("Live", "Presumed Live", "Built", "Built | STA", "Built | Ka Grant")
#: Mean Earth radius [km] for great-circle distances (IUGG R1).
EARTH_MEAN_RADIUS_KM = 6371.0088

_COLUMNS = ["name", "kind", "status", "lat_deg", "lon_deg", "alt_km", "country", "home_pop"]


def great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """Great-circle distance [km] on the mean-radius sphere (haversine), broadcasting."""
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2_deg, dtype=float) - np.asarray(lon1_deg, dtype=float))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def site_countries(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Country under each site; a coastal site that falls just outside the polygons takes the nearest
    country found on rings of 0.05, 0.15 and 0.3 deg around it (coastlines are generalised)."""
    from skyfence.earth.regions import lookup_country

    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if len(lat) == 0:
        return np.array([], dtype=object)
    codes = np.asarray(lookup_country(lat, lon), dtype=object)
    missing = np.flatnonzero(codes == "")
    if len(missing):
        angles = np.radians(np.arange(0, 360, 45))
        radii = np.array([0.05, 0.15, 0.3])
        d_lat = (radii[:, None] * np.sin(angles)[None, :]).ravel()
        d_lon = (radii[:, None] * np.cos(angles)[None, :]).ravel()
        ring = np.asarray(
            lookup_country(np.clip(lat[missing, None] + d_lat, -90, 90), lon[missing, None] + d_lon), dtype=object
        )
        found = ring != ""
        first = np.argmax(found, axis=1)
        codes[missing] = np.where(found.any(axis=1), ring[np.arange(len(missing)), first], "")
    return codes


_countries = site_countries  # the name network.pops imports


@dataclass(frozen=True, eq=False)
class GroundSegment:
    """Gateways and PoPs (see the module docstring for the columns of :attr:`sites`)."""

    sites: pd.DataFrame
    source: str = ""

    def __post_init__(self) -> None:
        missing = [c for c in _COLUMNS if c not in self.sites.columns]
        if missing:
            raise InputError(f"ground segment lacks columns {missing}", field="sites")

    def __len__(self) -> int:
        return len(self.sites)

    def __repr__(self) -> str:
        n_gw = int((self.sites["kind"] == "gateway").sum())
        return f"<GroundSegment {n_gw} gateways, {len(self) - n_gw} PoPs from {self.source or 'memory'}>"

    @property
    def gateways(self) -> pd.DataFrame:
        """Gateway rows (index reset)."""
        return self.sites[self.sites["kind"] == "gateway"].reset_index(drop=True)

    @property
    def pops(self) -> pd.DataFrame:
        """PoP rows (index reset)."""
        return self.sites[self.sites["kind"] == "pop"].reset_index(drop=True)

    def _replace(self, sites: pd.DataFrame, rehome: bool = True) -> GroundSegment:
        sites = sites.reset_index(drop=True)
        return GroundSegment(_home(sites) if rehome else sites, self.source)

    def filter(self, status: Iterable[str] = ("operational",)) -> GroundSegment:
        """Keep sites whose status is in ``status`` (``"operational"``, ``"planned"``); gateways are re-homed."""
        wanted = _check_statuses(status)
        return self._replace(self.sites[self.sites["status"].isin(wanted)])

    def add_site(
        self,
        name: str,
        lat_deg: float,
        lon_deg: float,
        *,
        kind: str = "gateway",
        status: str = "operational",
        alt_km: float = 0.0,
        country: str | None = None,
    ) -> GroundSegment:
        """A segment with one more site (e.g. a hypothetical gateway); its country is looked up unless given."""
        if kind not in KINDS:
            raise InputError(f"site kind {kind!r} is not one of {KINDS}", field="kind")
        _check_statuses([status])
        _check_lat_lon(lat_deg, lon_deg, name)
        if country is None:
            country = str(site_countries(np.array([lat_deg]), np.array([lon_deg]))[0])
        row = pd.DataFrame(
            [
                {
                    "name": name,
                    "kind": kind,
                    "status": status,
                    "lat_deg": float(lat_deg),
                    "lon_deg": float(lon_deg),
                    "alt_km": float(alt_km),
                    "country": country,
                    "home_pop": "",
                }
            ]
        )
        return self._replace(pd.concat([self.sites, row], ignore_index=True))

    def remove_sites(self, names: Iterable[str]) -> GroundSegment:
        """A segment without the named sites (a licence revoked, a gateway destroyed); unknown names are an error."""
        names = list(names)
        unknown = sorted(set(names) - set(self.sites["name"]))
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], self.sites["name"].tolist(), n=3)
            raise InputError(
                f"no site named {unknown[0]!r}",
                field="names",
                hint=f"did you mean {', '.join(close)}?" if close else "see GroundSegment.sites",
            )
        return self._replace(self.sites[~self.sites["name"].isin(names)])

    def exclude_gateways_in(self, countries: Iterable[str], *, field: str = "exclude_gateways_in") -> GroundSegment:
        """A segment without gateways in these countries (ISO alpha-2, e.g. ``["TW"]``); their PoPs stay.

        A code that names no country (Natural Earth, or a site of this segment) is an :class:`InputError`: a typo
        would otherwise drop nothing and look like an answer.
        """
        import difflib

        from skyfence.earth.regions import countries as country_table

        codes = {c.strip().upper() for c in countries if c.strip()}
        known = set(country_table()["iso_a2"]) | set(self.sites["country"])
        for code in sorted(codes - known):
            close = difflib.get_close_matches(code, sorted(c for c in known if isinstance(c, str)), n=3)
            raise InputError(
                f"unknown country code {code!r}",
                field=field,
                hint=f"use an ISO 3166 alpha-2 code{', e.g. ' + ', '.join(close) if close else ' (TW, JP)'}",
            )
        drop = (self.sites["kind"] == "gateway") & self.sites["country"].isin(codes)
        return self._replace(self.sites[~drop])

    def with_home_pop(self, gateway: str, pop: str) -> GroundSegment:
        """A segment where ``gateway`` is backhauled to ``pop`` (both by name)."""
        sites = self.sites.copy()
        is_gw = (sites["name"] == gateway) & (sites["kind"] == "gateway")
        if not is_gw.any() or not ((sites["name"] == pop) & (sites["kind"] == "pop")).any():
            raise InputError(f"need a gateway {gateway!r} and a PoP {pop!r}", field="home_pop")
        sites.loc[is_gw, "home_pop"] = pop
        return GroundSegment(sites, self.source)


def _check_statuses(status: Iterable[str]) -> list[str]:
    wanted = [s.strip().lower() for s in ([status] if isinstance(status, str) else status)]
    bad = [s for s in wanted if s not in STATUSES]
    if bad:
        raise InputError(f"status {bad[0]!r} is not one of {STATUSES}", field="status")
    return wanted


def _check_lat_lon(lat: float, lon: float, where: str) -> None:
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 360):
        raise InputError(f"{where}: latitude {lat} / longitude {lon} out of range", field="lat_deg,lon_deg")


def _home(sites: pd.DataFrame) -> pd.DataFrame:
    """Home every gateway to its nearest PoP (great circle); keep PoPs' ``home_pop`` empty."""
    sites = sites.copy()
    is_gw = (sites["kind"] == "gateway").to_numpy()
    pops = sites[~is_gw]
    sites["home_pop"] = ""
    if len(pops) and is_gw.any():
        d = great_circle_km(
            sites.loc[is_gw, "lat_deg"].to_numpy()[:, None],
            sites.loc[is_gw, "lon_deg"].to_numpy()[:, None],
            pops["lat_deg"].to_numpy()[None, :],
            pops["lon_deg"].to_numpy()[None, :],
        )
        sites.loc[is_gw, "home_pop"] = pops["name"].to_numpy()[np.argmin(d, axis=1)]
    return sites


def _frame(rows: list[dict], source: str) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=[c for c in _COLUMNS if c not in ("country", "home_pop")])
    table["country"] = site_countries(table["lat_deg"].to_numpy(float), table["lon_deg"].to_numpy(float))
    table["home_pop"] = ""
    return table


def _read_viz_json(text: str, source: str) -> pd.DataFrame:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"not JSON: {error.msg}", source=source, line=error.lineno) from None
    stations = doc.get("stations") if isinstance(doc, dict) else doc
    if not isinstance(stations, list):
        raise InputError("expected a list of stations (or {'stations': [...]})", source=source)
    rows = []
    for number, item in enumerate(stations, start=1):
        try:
            kind = str(item.get("type", "gateway")).lower()
            status = str(item.get("status", "operational")).lower()
            lat, lon = float(item["lat"]), float(item["lon"])
            name = str(item["name"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError("station needs name, lat, lon", source=source, record=number) from None
        if kind not in KINDS or status not in STATUSES:
            raise InputError(
                f"type {kind!r} / status {status!r} not understood",
                source=source,
                record=number,
                hint=f"type in {KINDS}, status in {STATUSES}",
            )
        _check_lat_lon(lat, lon, f"{source} record {number}")
        rows.append({"name": name, "kind": kind, "status": status, "lat_deg": lat, "lon_deg": lon, "alt_km": 0.0})
    return _frame(rows, source)


def _read_map_csv(text: str, source: str) -> pd.DataFrame:
    """The flattened 2023 community-map scrape (folder, name, lat, lon, status, ...)."""
    reader = csv.DictReader(io.StringIO(text))
    need = {"folder", "name", "lat", "lon", "status"}
    if not need <= set(reader.fieldnames or []):
        raise InputError(f"CSV needs columns {sorted(need)}", source=source, line=1)
    rows = []
    for number, item in enumerate(reader, start=2):
        name = " ".join(item["name"].split())
        if "TT&C" in name:  # telemetry, tracking & command sites carry no user traffic
            continue
        is_pop = item["folder"].strip().lower().startswith("pops")
        try:
            lat, lon = float(item["lat"]), float(item["lon"])
        except ValueError:
            raise InputError("lat/lon is not a number", source=source, line=number) from None
        _check_lat_lon(lat, lon, f"{source}:{number}")
        status = "operational" if is_pop or item["status"].strip() in STATUS_2023 else "planned"
        rows.append(
            {
                "name": name,
                "kind": "pop" if is_pop else "gateway",
                "status": status,
                "lat_deg": lat,
                "lon_deg": lon,
                "alt_km": 0.0,
            }
        )
    return _frame(rows, source)


def read_ground_segment(
    path: str | os.PathLike[str], *, status: Iterable[str] | None = ("operational",)
) -> GroundSegment:
    """Read a gateway/PoP file: the starlink-viz JSON or the 2023 community-map CSV (``*_points_DERIVED.csv``).

    ``status`` keeps only sites with these statuses (``None`` keeps all).
    Every site gets its country and every gateway its home PoP.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    note_file(path, kind="ground")  # a dataset's file is named by the dataset instead
    source = str(path)
    sites = _read_map_csv(text, source) if path.suffix.lower() == ".csv" else _read_viz_json(text, source)
    segment = GroundSegment(sites, source)
    return segment.filter(status) if status is not None else GroundSegment(_home(sites), source)


def operator_of(constellation) -> tuple[str, str]:
    """``(key, label)`` of the operator of most of ``constellation``'s satellites, read from the first word of their
    catalog names (``STARLINK-1234``, ``ONEWEB-0012``, ``HULIANWANG DIGUI-01``; presets are named the same way):
    ``("STARLINK", "Starlink")``; ``("", constellation name)`` when there are no names."""
    import re
    from collections import Counter

    words = Counter(
        re.split(r"[-\s_]", str(n).strip().upper(), maxsplit=1)[0] for n in constellation.satellites["name"]
    )
    if not words:
        return "", str(constellation.name)
    key = words.most_common(1)[0][0]
    return key, _OPERATOR_LABELS.get(key, key.title())


def operator_ground(constellation, *, field: str = "--ground", required: bool = True) -> str | None:
    """The ground-segment dataset of ``constellation``'s operator (:data:`OPERATOR_GROUND`).

    When the data has none for that operator: ``None`` if not ``required``, else an :class:`InputError` naming
    ``field`` that says so and asks for that operator's gateways -- never another operator's list in silence.
    """
    key, label = operator_of(constellation)
    if key in OPERATOR_GROUND:
        return OPERATOR_GROUND[key]
    if not required:
        return None
    raise InputError(
        f"no ground segment is known for {label}: the data has gateways and PoPs for Starlink only",
        field=field,
        hint=f"give {label}'s gateways and PoPs as a file with {field} FILE, or {field} {DEFAULT_GROUND_DATASET} to "
        "use Starlink's on purpose",
    )


def load_ground_segment(
    source: str | os.PathLike[str] = DEFAULT_GROUND_DATASET, *, status: Iterable[str] | None = ("operational",)
) -> GroundSegment:
    """A ground segment from a registry dataset name (default :data:`DEFAULT_GROUND_DATASET`) or a file path."""
    text = str(source)
    if Path(text).expanduser().exists():
        return read_ground_segment(Path(text).expanduser(), status=status)
    from skyfence import data

    segment = read_ground_segment(data.path(text), status=status)
    return GroundSegment(segment.sites, text)
