"""The access model: what a Starlink user sees on top of propagation -- an RTT distribution, not one number.

Model (one-way delays, RTT = 2 x one way + scheduling)
------------------------------------------------------
* **15 s reconfiguration.**  Starlink's global controller re-assigns every
  terminal to a satellite at fixed 15 s boundaries (seconds 12, 27, 42, 57 of
  each minute) and holds the assignment for the interval (Tanveer et al.
  2023; Pan et al. 2024).  At the start of each interval the terminal takes,
  among the satellites above its elevation mask that can reach its PoP, the one
  chosen by ``policy``: ``"max_elevation"`` (default; the scheduler favours
  high satellites, Tanveer et al. 2023), ``"longest_visibility"`` (the longest
  remaining time above the mask, looked ahead at 15 s steps up to
  :data:`LOOKAHEAD_S`) or ``"min_delay"`` (the satellite giving the least
  delay to the PoP).  The held satellite's user link is evaluated at the start
  and at the end of the interval (the rest of the path at the start).
* **Per-node processing.**  Every node a packet traverses -- dish, each
  satellite, gateway, PoP (and, for a measurement to a server, the server's
  edge) -- adds ``processing_ms`` one way.  So delay grows with the number of
  laser hops, as measured residuals do.
* **Scheduling.**  Uplink request/grant and frame alignment on the user link
  (1/750 s frames, Humphreys et al. 2023) add a random delay per packet:
  a Gamma distribution with ``scheduling_shape`` and
  ``scheduling_scale_ms``.
* **Reconfiguration spike.**  Packets in the first ``spike_s`` seconds after a
  boundary see ``spike_ms`` more (handover; visible as higher latency right
  after each boundary in dish data, Mohan et al. 2024).

Free parameters and where they come from (:func:`skyfence.network.validation.calibrate_access`)
----------------------------------------------------------------------------------------------
The scheduling shape/scale and the spike are fitted on the TUM Garching dish
series (1 s ``pop_ping_latency_ms`` samples, 2023-08-15: its spread and its
phase relative to the 15 s boundaries); ``processing_ms`` is fitted on the
calibration half of the RIPE Atlas probes plus the TUM median.  The defaults
below are those fitted values (a test re-fits them); the held-back half of the
RIPE probes is the report (``docs/validation_latency.md``).

Samples
-------
Each (terminal, time step) stands for one 15 s interval starting at that time
and is represented by ``samples_per_interval`` packets spread evenly over the
interval, each with one quantile of the scheduling distribution
(deterministic; no random numbers), so p5/p50/p95 over a day of steps are
reproducible.

References
----------
Tanveer, H. B., Puchol, M., Singh, R., Bianchi, A., Nithyanand, R. (2023).
Making sense of constellations: methodologies for understanding Starlink's
scheduling algorithms. ACM CoNEXT 2023 companion.
Pan, J., Zhao, J., Cai, L. (2024). Measuring the satellite links of a LEO
network. IEEE ICC 2024 (15 s reconfiguration at seconds 12/27/42/57).
Humphreys, T. E. et al. (2023). Signal structure of the Starlink Ku-band
downlink. IEEE Trans. Aerospace and Electronic Systems (1/750 s frames).
Mohan, N. et al. (2024). A multifaceted look at Starlink performance. ACM WWW 2024.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from skyfence.errors import InputError
from skyfence.network.lasers import HOP_COST_KM, LaserModel, laser_capable
from skyfence.network.links import DEFAULT_MIN_ELEVATION_DEG, GroundPoints, isl_pairs
from skyfence.network.routing import C_KM_S, DEFAULT_FIBRE_FACTOR, fibre_km, in_service

__all__ = [
    "POLICIES",
    "AccessModel",
    "AccessRoutes",
    "access_routes",
    "realistic_ground",
    "weighted_percentiles",
]

POLICIES = ("max_elevation", "longest_visibility", "min_delay")
#: Look-ahead of the longest-visibility policy [s]: longer than any pass above a 25 deg mask at 540 km.
LOOKAHEAD_S = 300.0

# Fitted by skyfence.network.validation.calibrate_access (see the module docstring); a test re-fits them.
FITTED_PROCESSING_MS = 1.09
FITTED_SCHEDULING_SHAPE = 4.5
FITTED_SCHEDULING_SCALE_MS = 4.25
FITTED_SPIKE_MS = 2.4
FITTED_SPIKE_S = 2.0


def _check_nonnegative(value: float, name: str) -> None:
    if not (np.isfinite(value) and value >= 0):
        raise InputError(f"{name} {value} must be a finite number >= 0", field=name, hint="delays cannot be negative")


@dataclass(frozen=True)
class AccessModel:
    """Access-delay parameters (see the module docstring); all delays in ms."""

    policy: str = "max_elevation"
    reconfiguration_s: float = 15.0
    processing_ms: float = FITTED_PROCESSING_MS
    scheduling_shape: float = FITTED_SCHEDULING_SHAPE
    scheduling_scale_ms: float = FITTED_SCHEDULING_SCALE_MS
    spike_ms: float = FITTED_SPIKE_MS
    spike_s: float = FITTED_SPIKE_S
    samples_per_interval: int = 30

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise InputError(
                f"selection policy {self.policy!r} is not one of {POLICIES}",
                field="policy",
                hint="use max_elevation, longest_visibility or min_delay",
            )
        for name in ("processing_ms", "scheduling_scale_ms", "spike_ms", "spike_s"):
            _check_nonnegative(getattr(self, name), name)
        if not (np.isfinite(self.scheduling_shape) and self.scheduling_shape > 0):
            raise InputError(f"scheduling shape {self.scheduling_shape} must be > 0", field="scheduling_shape")
        if not (np.isfinite(self.reconfiguration_s) and self.reconfiguration_s > 0):
            raise InputError(
                f"reconfiguration interval {self.reconfiguration_s} s must be > 0", field="reconfiguration_s"
            )
        if self.samples_per_interval < 1:
            raise InputError("samples_per_interval must be >= 1", field="samples_per_interval")

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "policy",
                "reconfiguration_s",
                "processing_ms",
                "scheduling_shape",
                "scheduling_scale_ms",
                "spike_ms",
                "spike_s",
                "samples_per_interval",
            )
        }

    def offsets_ms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per packet of an interval: ``(fraction of the interval elapsed, scheduling + spike delay [ms])``."""
        from scipy.stats import gamma

        n = self.samples_per_interval
        fraction = (np.arange(n) + 0.5) / n
        quantile = (np.arange(n) + 0.5) / n
        # Decorrelate the packet's time in the interval from its scheduling quantile (7 is coprime to most n).
        step = next(s for s in (7, 11, 13, 17, 1) if np.gcd(s, n) == 1)
        quantile = quantile[(np.arange(n) * step) % n]
        sched = gamma.ppf(quantile, self.scheduling_shape, scale=self.scheduling_scale_ms)
        spike = np.where(fraction * self.reconfiguration_s < self.spike_s, self.spike_ms, 0.0)
        return fraction, sched + spike


def weighted_percentiles(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> list[float | None]:
    """Weighted percentiles (``q`` in 0-100) of the finite values; ``None`` when there are none."""
    values, weights = np.asarray(values, dtype=float).ravel(), np.asarray(weights, dtype=float).ravel()
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return [None for _ in q]
    order = np.argsort(values[ok], kind="stable")  # equal values keep their order on every CPU (SIMD sorts differ)
    v, w = values[ok][order], weights[ok][order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return [float(np.interp(p / 100.0, cum, v)) for p in q]


@dataclass(frozen=True)
class AccessRoutes:
    """Routes of terminal rows (a terminal and its target PoP) over time under an access model.

    Per row and time step: ``rtt_start_ms``/``rtt_end_ms`` (propagation + processing with the held satellite
    at the start/end of the 15 s interval, NaN when unreachable), ``gateway``/``pop`` (site names),
    ``satellite`` (NORAD id of the held satellite, -1), ``laser_hops``.
    """

    terminals: list
    targets: list
    times: np.ndarray
    rtt_start_ms: np.ndarray
    rtt_end_ms: np.ndarray
    gateway: np.ndarray
    pop: np.ndarray
    satellite: np.ndarray
    laser_hops: np.ndarray
    access: AccessModel
    sites: dict = field(default_factory=dict, repr=False)
    settings: dict = field(default_factory=dict)

    def samples_ms(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """RTT samples ``(row, time, packet)`` [ms]: held-path delay over the interval + scheduling + spike."""
        fraction, extra = self.access.offsets_ms()
        start = self.rtt_start_ms if rows is None else self.rtt_start_ms[rows]
        end = self.rtt_end_ms if rows is None else self.rtt_end_ms[rows]
        return start[..., None] + (end - start)[..., None] * fraction + extra

    def _usage(self, names: np.ndarray) -> list[dict]:
        counts = Counter(n for n in names.ravel().tolist() if n)
        total = names.size
        return [
            {"name": n, "country": self.sites.get(n, {}).get("country", ""), "share": round(c / total, 4)}
            for n, c in counts.most_common()
        ]

    def summary(self, row: int) -> dict:
        """p5/p50/p95 RTT [ms] of one row, reachability, gateways/PoPs used, reconfigurations, laser hops."""
        samples = self.samples_ms(np.array([row]))[0]
        ok = np.isfinite(self.rtt_start_ms[row])
        p5, p50, p95 = weighted_percentiles(samples, np.ones_like(samples), [5, 50, 95])
        held = self.satellite[row]
        changes = int(np.sum((held[1:] != held[:-1]) & (held[1:] >= 0)))
        return {
            "source": self.terminals[row].to_dict(),
            "target_pop": self.targets[row],
            "steps": len(self.times),
            "reachable_share": round(float(ok.mean()), 4) if len(ok) else 0.0,
            "p5_rtt_ms": None if p5 is None else round(p5, 2),
            "median_rtt_ms": None if p50 is None else round(p50, 2),
            "p95_rtt_ms": None if p95 is None else round(p95, 2),
            "min_path_rtt_ms": round(float(np.nanmin(self.rtt_start_ms[row])), 2) if ok.any() else None,
            "gateways": self._usage(self.gateway[row]),
            "pops": self._usage(self.pop[row]),
            "satellite_changes": changes,
            "median_laser_hops": float(np.median(self.laser_hops[row][ok])) if ok.any() else None,
        }


def realistic_ground(ground, *, pop_assignment: str = "operator", assignment=None, infer: bool = True):
    """The ground segment the realistic model routes over: assigned PoPs merged in (operator mode) and
    gateways inferred at PoPs without one (:mod:`skyfence.network.pops`).  Returns
    ``(segment, {pop_code: site name}, [PoPs with an inferred gateway])``."""
    from skyfence.network.pops import POP_ASSIGNMENTS, infer_gateways, merge_pops

    if pop_assignment not in POP_ASSIGNMENTS:
        raise InputError(
            f"PoP assignment {pop_assignment!r} is not one of {POP_ASSIGNMENTS}",
            field="--pop-assignment",
            hint="use nearest or operator",
        )
    names: dict[str, str] = {}
    if pop_assignment == "operator" and assignment is not None:
        ground, names = merge_pops(ground, assignment)
    inferred: list[str] = []
    if infer:
        ground, inferred = infer_gateways(ground)
    return ground, names, inferred


def _time_groups(times: np.ndarray, offsets_s: np.ndarray) -> np.ndarray:
    return (times[:, None] + (offsets_s * 1e9).astype("timedelta64[ns]")[None, :]).ravel()


def access_routes(
    constellation,
    terminals: Sequence,
    targets: Sequence[str | None],
    times: np.ndarray,
    ground,
    *,
    access: AccessModel | None = None,
    lasers: LaserModel | None = None,
    weights: Sequence[float] | None = None,
    min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
    gateway_min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
    fibre_factor: float = DEFAULT_FIBRE_FACTOR,
    isl: str = "+grid",
    extra_nodes: int = 0,
) -> AccessRoutes:
    """Routes from terminals to target PoPs under the access and laser models.

    Parameters
    ----------
    terminals
        :class:`~skyfence.earth.places.Place` per row.
    targets
        Per row the name of a PoP of ``ground`` or ``None`` (the nearest PoP by delay).
    times
        UTC ``datetime64`` interval starts (each stands for a 15 s interval).
    ground
        :class:`~skyfence.network.ground.GroundSegment` (see :func:`realistic_ground`).
    weights
        Demand per row (only used by the ``"load"`` objective); default equal.
    extra_nodes
        Nodes beyond the PoP (e.g. 1 for a server at the PoP's exchange): each adds processing.

    The search runs backwards from each distinct target (one Dijkstra per target PoP per step, not per
    terminal): the distance of every satellite to the target, from which each terminal's held satellite
    and its path follow.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from skyfence.network.ground import great_circle_km
    from skyfence.orbits.propagate import iter_positions

    access = access or AccessModel()
    lasers = lasers or LaserModel()
    if len(terminals) != len(targets):
        raise InputError("need one target per terminal", field="targets")
    if fibre_factor < 1.0:
        raise InputError(f"fibre factor {fibre_factor} is below 1", field="fibre_factor")
    times = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    gateways, pops = ground.gateways, ground.pops
    if not len(gateways) or not len(pops):
        raise InputError(
            f"the ground segment has {len(gateways)} gateways and {len(pops)} PoPs",
            hint="routes need at least one of each",
        )
    pop_names = pops["name"].tolist()
    pop_of = {n: i for i, n in enumerate(pop_names)}
    for t in targets:
        if t is not None and t not in pop_of:
            raise InputError(f"target PoP {t!r} is not in the ground segment", field="targets")

    service = in_service(constellation)
    capable = laser_capable(constellation, lasers.availability) if isl != "none" else np.zeros(len(service), bool)
    sat_index = np.flatnonzero(service)
    norad = constellation.satellites["norad_id"].to_numpy(np.int64)[sat_index]
    remap = np.full(len(constellation), -1, dtype=np.int64)
    remap[sat_index] = np.arange(len(sat_index))
    isls = remap[isl_pairs(constellation, isl, t_ref=times[0], in_service=service & capable)]

    n_sat, n_gw, n_pop, n_row = len(sat_index), len(gateways), len(pops), len(terminals)
    gw0, pop0, sink = n_sat, n_sat + n_gw, n_sat + n_gw + n_pop
    n_nodes = sink + 1
    proc_km = access.processing_ms * 1e-3 * C_KM_S
    hop_km = lasers.hop_delay_ms * 1e-3 * C_KM_S

    # Fixed edges (forward direction): gateway -> home PoP, PoP <-> PoP backbone, PoP -> sink (nearest mode).
    home = np.array([pop_of[h] for h in gateways["home_pop"]], dtype=np.int64)
    plat, plon = pops["lat_deg"].to_numpy(float), pops["lon_deg"].to_numpy(float)
    backhaul = fibre_km(
        great_circle_km(gateways["lat_deg"].to_numpy(), gateways["lon_deg"].to_numpy(), plat[home], plon[home]),
        fibre_factor,
    )
    pa, pb = np.meshgrid(np.arange(n_pop), np.arange(n_pop), indexing="ij")
    off = pa != pb
    backbone = fibre_km(great_circle_km(plat[pa[off]], plon[pa[off]], plat[pb[off]], plon[pb[off]]), fibre_factor)
    fixed_rows = np.concatenate([gw0 + np.arange(n_gw), pop0 + pa[off], pop0 + np.arange(n_pop)])
    fixed_cols = np.concatenate([pop0 + home, pop0 + pb[off], np.full(n_pop, sink)])
    fixed_w = np.concatenate([backhaul + proc_km, backbone + proc_km, np.zeros(n_pop)])

    target_nodes = sorted({sink if t is None else pop0 + pop_of[t] for t in targets})
    tree_of = {node: i for i, node in enumerate(target_nodes)}
    row_tree = np.array([tree_of[sink if t is None else pop0 + pop_of[t]] for t in targets], dtype=np.int64)
    demand = np.ones(n_row) if weights is None else np.asarray(weights, dtype=float)

    term = GroundPoints([s.lat_deg for s in terminals], [s.lon_deg for s in terminals], 0.0, min_elevation_deg)
    gw_points = GroundPoints(
        gateways["lat_deg"].to_numpy(),
        gateways["lon_deg"].to_numpy(),
        gateways["alt_km"].to_numpy(),
        gateway_min_elevation_deg,
    )
    gw_names = np.array([*gateways["name"].tolist(), ""], dtype=object)
    pop_name_arr = np.array([*pop_names, ""], dtype=object)

    n_look = int(LOOKAHEAD_S // access.reconfiguration_s) if access.policy == "longest_visibility" else 0
    offsets = np.arange(n_look + 2, dtype=float) * access.reconfiguration_s
    offsets[1] = access.reconfiguration_s  # [start, end of interval, look-ahead ...]
    group = len(offsets)
    flat_times = _time_groups(times, offsets)
    n_t = len(times)
    rtt_start = np.full((n_row, n_t), np.nan)
    rtt_end = np.full((n_row, n_t), np.nan)
    gw_used = np.full((n_row, n_t), "", dtype=object)
    pop_used = np.full((n_row, n_t), "", dtype=object)
    held = np.full((n_row, n_t), -1, dtype=np.int64)
    laser_hops = np.full((n_row, n_t), -1, dtype=np.int64)
    rng = np.random.default_rng(lasers.seed)

    subset = constellation.subset(sat_index) if n_sat != len(constellation) else constellation
    from skyfence.orbits.propagate import DEFAULT_CHUNK_PAIRS

    chunk_steps = group * max(1, DEFAULT_CHUNK_PAIRS // max(n_sat * group, 1))
    for chunk in iter_positions(subset, flat_times, chunk_steps=chunk_steps):
        for j0 in range(0, len(chunk.times), group):
            step = (chunk.time_slice.start + j0) // group
            pos = chunk.position_itrf_km[:, j0 : j0 + group]
            sat = pos[:, 0]
            isl_keep = np.ones(len(isls), dtype=bool)
            if lasers.dropout > 0 and len(isls):
                isl_keep = rng.random(len(isls)) >= lasers.dropout
            length = np.linalg.norm(sat[isls[:, 0]] - sat[isls[:, 1]], axis=1) if len(isls) else np.empty(0)
            isl_keep &= np.isfinite(length)
            a, b, isl_w = isls[isl_keep, 0], isls[isl_keep, 1], length[isl_keep] + proc_km + hop_km
            if lasers.objective == "hops":
                isl_w = isl_w + HOP_COST_KM
            gi, gs, gr = gw_points.links(sat)
            ti, ts, tr = term.links(sat)

            ground_edges = (gs, gw0 + gi, gr + proc_km)

            def search(isl_weight: np.ndarray, a=a, b=b, ground_edges=ground_edges):
                rows = np.concatenate([fixed_rows, a, b, ground_edges[0]])
                cols = np.concatenate([fixed_cols, b, a, ground_edges[1]])
                w = np.concatenate([fixed_w, isl_weight, isl_weight, ground_edges[2]])
                reverse = csr_matrix((w, (cols, rows)), shape=(n_nodes, n_nodes))
                return dijkstra(reverse, directed=True, indices=target_nodes, return_predecessors=True)

            dist, pred = search(isl_w)
            if lasers.objective == "load" and len(a):
                usage = np.zeros(n_sat)
                choice = _select(access.policy, term, pos, ti, ts, tr, dist, row_tree, proc_km, n_look, n_row)
                for k in np.flatnonzero(choice >= 0):
                    node = int(choice[k])
                    prev = pred[row_tree[k]]
                    while 0 <= node < n_sat:
                        usage[node] += demand[k]
                        node = int(prev[node])
                if usage.max() > 0:
                    load = (usage[a] + usage[b]) / (2 * usage.max())
                    dist, pred = search(isl_w * (1.0 + lasers.load_weight * load))
            choice = _select(access.policy, term, pos, ti, ts, tr, dist, row_tree, proc_km, n_look, n_row)
            up_start = np.full(n_row, np.nan)
            up_end = np.full(n_row, np.nan)
            ok = np.flatnonzero(choice >= 0)
            if not len(ok):
                continue
            xyz = term.xyz_km[ok]
            up_start[ok] = np.linalg.norm(pos[choice[ok], 0] - xyz, axis=1)
            up_end[ok] = np.linalg.norm(pos[choice[ok], 1] - xyz, axis=1)
            for k in ok:
                tree = row_tree[k]
                prev = pred[tree]
                node = int(choice[k])
                sats, gw_node, pop_node = 1, -1, -1
                while True:
                    nxt = int(prev[node])
                    if nxt < 0:
                        break
                    if nxt < n_sat:
                        sats += 1
                    elif nxt < pop0:
                        gw_node = nxt
                    elif nxt < sink and pop_node < 0 and gw_node >= 0:
                        pop_node = nxt
                    node = nxt
                end = target_nodes[tree]
                if end != sink:
                    pop_node = end
                cost = dist[tree, choice[k]]
                if lasers.objective == "hops":
                    cost -= (sats - 1) * HOP_COST_KM
                one_way = up_start[k] + 2 * proc_km + cost + extra_nodes * proc_km  # dish + held satellite
                rtt_start[k, step] = 2.0 * one_way / C_KM_S * 1e3
                rtt_end[k, step] = rtt_start[k, step] + 2.0 * (up_end[k] - up_start[k]) / C_KM_S * 1e3
                gw_used[k, step] = gw_names[gw_node - gw0] if gw_node >= 0 else ""
                pop_used[k, step] = pop_name_arr[pop_node - pop0] if pop_node >= 0 else ""
                held[k, step] = norad[choice[k]]
                laser_hops[k, step] = sats - 1
    sites = {str(r.name): {"kind": str(r.kind), "country": str(r.country)} for r in ground.sites.itertuples()}
    settings = {
        "isl": isl,
        "lasers": lasers.to_dict(),
        "access": access.to_dict(),
        "min_elevation_deg": min_elevation_deg,
        "fibre_factor": fibre_factor,
        "satellites_in_service": int(n_sat),
        "laser_capable_in_service": int((capable & service).sum()),
        "isls": len(isls),
    }
    return AccessRoutes(
        list(terminals),
        list(targets),
        times,
        rtt_start,
        rtt_end,
        gw_used,
        pop_used,
        held,
        laser_hops,
        access,
        sites,
        settings,
    )


def _select(
    policy: str,
    term: GroundPoints,
    pos: np.ndarray,
    ti: np.ndarray,
    ts: np.ndarray,
    tr: np.ndarray,
    dist: np.ndarray,
    row_tree: np.ndarray,
    proc_km: float,
    n_look: int,
    n_row: int,
) -> np.ndarray:
    """Satellite index held by each row this interval (-1: none can reach the row's PoP)."""
    reach = dist[row_tree[ti], ts]
    ok = np.isfinite(reach)
    ti, ts, tr, reach = ti[ok], ts[ok], tr[ok], reach[ok]
    if not len(ti):
        return np.full(n_row, -1, dtype=np.int64)
    sin_el = (np.einsum("ij,ij->i", term.up[ti], pos[ts, 0]) - term.up_offset[ti, 0]) / tr
    if policy == "min_delay":
        score = -(tr + reach)
    elif policy == "max_elevation":
        score = sin_el
    else:  # longest remaining visibility; elevation breaks ties
        visible = np.ones(len(ti), dtype=bool)
        steps = np.zeros(len(ti))
        for k in range(2, 2 + n_look):
            p = pos[ts, k]
            rng = np.linalg.norm(p - term.xyz_km[ti], axis=1)
            height = np.einsum("ij,ij->i", term.up[ti], p) - term.up_offset[ti, 0]
            visible &= height >= term.sin_min[ti] * rng
            steps += visible
        score = steps + 0.5 * sin_el
    order = np.lexsort((-score, ti))
    first = np.unique(ti[order], return_index=True)
    choice = np.full(n_row, -1, dtype=np.int64)
    choice[first[0]] = ts[order][first[1]]
    return choice
