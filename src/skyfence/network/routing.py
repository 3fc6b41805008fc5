"""Routing and latency: terminal -> satellites -> gateway -> PoP (-> destination), per time step.

At every time step one directed graph is built and searched with
``scipy.sparse.csgraph.dijkstra`` from every terminal at once::

    terminal --uplink--> satellite <--ISL--> satellite --downlink--> gateway --fibre--> home PoP --fibre--> destination

* satellites: the constellation's in-service satellites (in a shell; for a real
  catalog also above :data:`MIN_SERVICE_ALT_KM`, which leaves out satellites
  raising or lowering their orbits);
* ISLs: :func:`skyfence.network.links.isl_pairs` (``+grid`` or ``none``), fixed
  over the run, optionally dropped while longer than ``max_isl_km``;
* up- and downlinks: :func:`skyfence.network.links.ground_links` (minimum
  elevation, optional maximum slant range); gateways never relay;
* fibre: great-circle distance x ``fibre_factor`` (route length over great
  circle, default :data:`DEFAULT_FIBRE_FACTOR` = 1.5) at the speed of light in
  fibre (c / :data:`FIBRE_GROUP_INDEX`).  Measured terrestrial paths are 2.1x
  the line-of-sight distance in fibre and the best existing conduits 1.3x
  (Bozkurt et al. 2018); a gateway's backhaul to its PoP is a dedicated path,
  hence 1.5.  The same rule carries traffic from the PoP to a destination.

Edge weights are light-travel distances [km] (fibre lengths scaled by the
group index), so the minimum-weight path is the minimum-propagation-delay path
and RTT = 2 x weight / c (the return path is taken to be the same).  Queueing,
processing and Starlink's scheduling (the 15 s reconfiguration interval,
:data:`DEFAULT_STEP`) are not modelled; measured RTTs are larger (see
``docs/validation_latency.md``).

References
----------
Bozkurt, I. N., Aqeel, W., Bhattacherjee, D., Chandrasekaran, B., Godfrey,
P. B., Laughlin, G., Maggs, B. M., Singla, A. (2018). Dissecting latency in
the Internet's fiber infrastructure. arXiv:1811.10737; and (2017) Why is the
Internet so slow?! PAM 2017, LNCS 10176, 173-187.
Tanveer, H. B., Puchol, M., Singh, R., Bianchi, A., Nithyanand, R. (2023).
Making sense of constellations: methodologies for understanding Starlink's
scheduling algorithms. ACM CoNEXT 2023 companion (15 s reallocation).
ITU-T G.652 (single-mode fibre; group index about 1.468 at 1550 nm).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skyfence.errors import InputError
from skyfence.network.links import DEFAULT_MIN_ELEVATION_DEG, GroundPoints, isl_pairs
from skyfence.orbits.time import iso_utc

__all__ = [
    "C_KM_S",
    "DEFAULT_FIBRE_FACTOR",
    "DEFAULT_STEP",
    "FIBRE_GROUP_INDEX",
    "MIN_SERVICE_ALT_KM",
    "LatencyResult",
    "fibre_km",
    "in_service",
    "latency",
    "route_pairs",
]

#: Speed of light in vacuum [km/s].
C_KM_S = 299_792.458
#: Default time step for latency studies: Starlink reassigns satellites every 15 s (Tanveer et al. 2023).
DEFAULT_STEP = "15s"
#: Terrestrial route length over great-circle distance (see the module docstring).
DEFAULT_FIBRE_FACTOR = 1.5
#: Group index of single-mode fibre (ITU-T G.652, 1550 nm): light travels at c / 1.468 = 0.68 c.
FIBRE_GROUP_INDEX = 1.468
#: Satellites of a real catalog below this mean altitude [km] are raising or lowering orbit, not in service.
MIN_SERVICE_ALT_KM = 450.0


def fibre_km(great_circle_km, fibre_factor: float = DEFAULT_FIBRE_FACTOR) -> np.ndarray:
    """Light-travel-equivalent length [km] of a fibre route: great circle x route factor x group index."""
    return np.asarray(great_circle_km, dtype=float) * fibre_factor * FIBRE_GROUP_INDEX


def in_service(constellation) -> np.ndarray:
    """Boolean mask of satellites that carry traffic (see the module docstring)."""
    table = constellation.satellites
    ok = table["shell"].to_numpy(np.int64) >= 0
    known_planes = bool((table["plane"].to_numpy(np.int64) >= 0).all()) if len(table) else True
    if not known_planes:  # a real catalog
        ok &= table["alt_km"].to_numpy(float) >= MIN_SERVICE_ALT_KM
    return ok


@dataclass(frozen=True)
class LatencyResult:
    """Routes from one terminal to one destination (a PoP when ``destination`` is None) over time.

    Per time step: ``rtt_ms`` [ms] (NaN when unreachable), ``satellites`` (NORAD
    ids on the path, terminal side first), ``gateway``/``pop`` (site names, ""
    when unreachable), ``hops`` (links from terminal to PoP or destination,
    -1 when unreachable).
    """

    source: Any
    destination: Any
    times: np.ndarray
    rtt_ms: np.ndarray
    satellites: list[tuple[int, ...]]
    gateway: np.ndarray
    pop: np.ndarray
    hops: np.ndarray
    sites: dict = field(default_factory=dict, repr=False)  # name -> {"kind", "country"}
    settings: dict = field(default_factory=dict)

    @property
    def path_changes(self) -> int:
        """Number of steps whose path (satellites, gateway, PoP) differs from the previous step's."""
        keys = [(s, g, p) for s, g, p in zip(self.satellites, self.gateway.tolist(), self.pop.tolist(), strict=True)]
        return sum(a != b for a, b in itertools.pairwise(keys))

    def _usage(self, names: np.ndarray) -> list[dict]:
        counts = Counter(n for n in names.tolist() if n)
        total = len(names)
        return [
            {"name": n, "country": self.sites.get(n, {}).get("country", ""), "share": round(c / total, 4)}
            for n, c in counts.most_common()
        ]

    def summary(self) -> dict:
        """min / median / p95 RTT [ms], reachability, gateways and PoPs used (with countries), path changes."""
        ok = np.isfinite(self.rtt_ms)
        stats: dict[str, float | None] = {k: None for k in ("min_rtt_ms", "median_rtt_ms", "p95_rtt_ms")}
        if ok.any():
            stats = {
                "min_rtt_ms": round(float(np.min(self.rtt_ms[ok])), 3),
                "median_rtt_ms": round(float(np.median(self.rtt_ms[ok])), 3),
                "p95_rtt_ms": round(float(np.percentile(self.rtt_ms[ok], 95)), 3),
            }
        return {
            "source": self.source.to_dict(),
            "destination": "pop" if self.destination is None else self.destination.to_dict(),
            "steps": len(self.times),
            "reachable_share": round(float(ok.mean()), 4) if len(ok) else 0.0,
            **stats,
            "gateways": self._usage(self.gateway),
            "pops": self._usage(self.pop),
            "path_changes": self.path_changes,
            "median_hops": int(np.median(self.hops[ok])) if ok.any() else None,
            **self.settings,
        }

    def to_dict(self) -> dict:
        """Summary plus per-step series; unreachable steps are ``null`` (never NaN or infinity)."""
        return {
            "summary": self.summary(),
            "steps": [
                {
                    "time": iso_utc(t, unit="ms"),
                    "rtt_ms": round(float(r), 3) if np.isfinite(r) else None,
                    "satellites": list(s),
                    "gateway": g or None,
                    "pop": p or None,
                    "hops": int(h) if h >= 0 else None,
                }
                for t, r, s, g, p, h in zip(
                    self.times,
                    self.rtt_ms,
                    self.satellites,
                    self.gateway.tolist(),
                    self.pop.tolist(),
                    self.hops.tolist(),
                    strict=True,
                )
            ],
        }


def route_pairs(
    constellation,
    sources: Sequence,
    destinations: Sequence,
    times: np.ndarray,
    ground,
    *,
    isl: str = "+grid",
    min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
    gateway_min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
    max_range_km: float | None = None,
    max_isl_km: float | None = None,
    fibre_factor: float = DEFAULT_FIBRE_FACTOR,
    isl_filter=None,
    removed_satellites: np.ndarray | None = None,
) -> list[LatencyResult]:
    """Minimum-delay routes for terminal/destination pairs at every time.

    Parameters
    ----------
    constellation
        :class:`~skyfence.orbits.constellation.Constellation`.
    sources
        :class:`~skyfence.earth.places.Place` per pair (the user terminal, at ground level).
    destinations
        Per pair a :class:`~skyfence.earth.places.Place` or ``None`` (= the best PoP: the route ends where
        traffic leaves Starlink's network).
    times
        UTC ``datetime64`` time steps.
    ground
        :class:`~skyfence.network.ground.GroundSegment` (gateways and PoPs).
    isl
        ``"+grid"`` or ``"none"`` (bent pipe).
    min_elevation_deg, gateway_min_elevation_deg
        Elevation masks of terminals and gateways [deg].
    max_range_km, max_isl_km
        Optional slant-range limit of ground links and length limit of ISLs [km].
    fibre_factor
        Terrestrial route length over great circle (see the module docstring).
    isl_filter
        Optional callable: ISL pairs ``(E, 2)`` (constellation row indices) -> boolean mask of the links that work
        (failed lasers, planes without lasers; see :mod:`skyfence.threats.ground`).
    removed_satellites
        Optional boolean per satellite: lost (destroyed, debris).  They carry nothing, and the ISLs are those of
        the whole constellation less the links of the lost satellites -- the survivors' lasers do not re-point to
        bridge a gap (as a lost gateway is not re-homed), so losing satellites never shortens a route.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from skyfence.network.ground import great_circle_km
    from skyfence.orbits.propagate import iter_positions

    if len(sources) != len(destinations):
        raise InputError("need one destination per source", field="destinations")
    if fibre_factor < 1.0:
        raise InputError(
            f"fibre factor {fibre_factor} is below 1 (a route cannot be shorter than the great circle)",
            field="fibre_factor",
        )
    times = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    gateways, pops = ground.gateways, ground.pops
    if not len(gateways) or not len(pops):
        raise InputError(
            f"the ground segment has {len(gateways)} gateways and {len(pops)} PoPs",
            hint="routes need at least one of each; check --status and removed sites",
        )
    service = in_service(constellation)
    pairs_all = isl_pairs(constellation, isl, t_ref=times[0], in_service=service)
    if isl_filter is not None and len(pairs_all):
        pairs_all = pairs_all[np.asarray(isl_filter(pairs_all), dtype=bool)]
    if removed_satellites is not None:
        gone = np.asarray(removed_satellites, dtype=bool)
        if gone.shape != service.shape:
            raise InputError(
                f"removed_satellites must have one value per satellite ({len(service)}), got {gone.shape}",
                field="removed_satellites",
            )
        if len(pairs_all):
            pairs_all = pairs_all[~(gone[pairs_all[:, 0]] | gone[pairs_all[:, 1]])]
        service = service & ~gone
    sat_index = np.flatnonzero(service)
    norad = constellation.satellites["norad_id"].to_numpy(np.int64)[sat_index]
    remap = np.full(len(constellation), -1, dtype=np.int64)
    remap[sat_index] = np.arange(len(sat_index))
    isls = remap[pairs_all]

    n_sat, n_gw, n_pop, n_src = len(sat_index), len(gateways), len(pops), len(sources)
    unique_dest = sorted({(d.lat_deg, d.lon_deg) for d in destinations if d is not None})
    dest_node = {key: n_sat + n_gw + n_pop + n_src + i for i, key in enumerate(unique_dest)}
    n_nodes = n_sat + n_gw + n_pop + n_src + len(unique_dest)
    gw0, pop0, src0 = n_sat, n_sat + n_gw, n_sat + n_gw + n_pop

    # Fixed edges: gateway -> home PoP, PoP -> destinations.
    pop_names = pops["name"].tolist()
    pop_of = {n: i for i, n in enumerate(pop_names)}
    home = np.array([pop_of[h] for h in gateways["home_pop"]], dtype=np.int64)
    backhaul = fibre_km(
        great_circle_km(
            gateways["lat_deg"].to_numpy(),
            gateways["lon_deg"].to_numpy(),
            pops["lat_deg"].to_numpy()[home],
            pops["lon_deg"].to_numpy()[home],
        ),
        fibre_factor,
    )
    fixed_rows = [gw0 + np.arange(n_gw)]
    fixed_cols = [pop0 + home]
    fixed_w = [backhaul]
    for (lat, lon), node in dest_node.items():
        fixed_rows.append(pop0 + np.arange(n_pop))
        fixed_cols.append(np.full(n_pop, node))
        fixed_w.append(
            fibre_km(great_circle_km(pops["lat_deg"].to_numpy(), pops["lon_deg"].to_numpy(), lat, lon), fibre_factor)
        )
    fixed = (np.concatenate(fixed_rows), np.concatenate(fixed_cols), np.concatenate(fixed_w))

    terminals = GroundPoints([s.lat_deg for s in sources], [s.lon_deg for s in sources], 0.0, min_elevation_deg)
    gateway_points = GroundPoints(
        gateways["lat_deg"].to_numpy(),
        gateways["lon_deg"].to_numpy(),
        gateways["alt_km"].to_numpy(),
        gateway_min_elevation_deg,
    )
    target = [None if d is None else dest_node[(d.lat_deg, d.lon_deg)] for d in destinations]
    gw_names = gateways["name"].tolist()

    n_t = len(times)
    rtt = np.full((n_src, n_t), np.nan)
    hops = np.full((n_src, n_t), -1, dtype=np.int64)
    gw_used = np.full((n_src, n_t), "", dtype=object)
    pop_used = np.full((n_src, n_t), "", dtype=object)
    sats_used: list[list[tuple[int, ...]]] = [[() for _ in range(n_t)] for _ in range(n_src)]
    subset = constellation.subset(sat_index) if n_sat != len(constellation) else constellation
    for chunk in iter_positions(subset, times):
        for j in range(len(chunk.times)):
            step = chunk.time_slice.start + j
            sat = chunk.position_itrf_km[:, j]
            rows, cols, weights = [fixed[0]], [fixed[1]], [fixed[2]]
            if len(isls):
                length = np.linalg.norm(sat[isls[:, 0]] - sat[isls[:, 1]], axis=1)
                keep = np.isfinite(length) & (length <= (np.inf if max_isl_km is None else max_isl_km))
                a, b = isls[keep, 0], isls[keep, 1]
                rows += [a, b]
                cols += [b, a]
                weights += [length[keep], length[keep]]
            ti, ts, tr = terminals.links(sat, max_range_km=max_range_km)
            rows.append(src0 + ti)
            cols.append(ts)
            weights.append(tr)
            gi, gs, gr = gateway_points.links(sat, max_range_km=max_range_km)
            rows.append(gs)
            cols.append(gw0 + gi)
            weights.append(gr)
            graph = csr_matrix(
                (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n_nodes, n_nodes)
            )
            dist, pred = dijkstra(graph, directed=True, indices=src0 + np.arange(n_src), return_predecessors=True)
            for k in range(n_src):
                end = target[k]
                if end is None:
                    end = pop0 + int(np.argmin(dist[k, pop0 : pop0 + n_pop]))
                if not np.isfinite(dist[k, end]):
                    continue
                rtt[k, step] = 2.0 * dist[k, end] / C_KM_S * 1e3
                path = [end]
                while path[-1] != src0 + k:
                    path.append(int(pred[k, path[-1]]))
                path.reverse()
                hops[k, step] = len(path) - 1
                sats_used[k][step] = tuple(int(norad[n]) for n in path if n < n_sat)
                gw_used[k][step] = next((gw_names[n - gw0] for n in path if gw0 <= n < pop0), "")
                pop_used[k][step] = next((pop_names[n - pop0] for n in path if pop0 <= n < src0), "")
    sites = {
        str(r.name): {"kind": str(r.kind), "country": str(r.country)} for r in ground.sites.itertuples(index=False)
    }
    settings = {
        "isl": isl,
        "min_elevation_deg": min_elevation_deg,
        "gateway_min_elevation_deg": gateway_min_elevation_deg,
        "max_range_km": max_range_km,
        "max_isl_km": max_isl_km,
        "fibre_factor": fibre_factor,
        "satellites_in_service": int(n_sat),
        "isls": len(isls),
    }
    return [
        LatencyResult(
            sources[k], destinations[k], times, rtt[k], sats_used[k], gw_used[k], pop_used[k], hops[k], sites, settings
        )
        for k in range(n_src)
    ]


def latency(constellation, source, destination, times, ground=None, **options) -> LatencyResult:
    """Routes from one terminal (a :class:`~skyfence.earth.places.Place`) to ``destination`` (a Place or
    ``None`` = the best PoP) at every time; ``ground`` defaults to the operational sites of
    :func:`~skyfence.network.ground.load_ground_segment`.  Options as :func:`route_pairs`."""
    if ground is None:
        from skyfence.network.ground import load_ground_segment

        ground = load_ground_segment()
    return route_pairs(constellation, [source], [destination], times, ground, **options)[0]
