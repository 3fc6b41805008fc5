"""Capacity runs: link budgets for the satellites in view, beams allocated to cells by demand, Mb/s per user.

For each time step (SGP4 positions streamed in chunks; one compiled kernel,
:func:`skyfence.capacity.kernel._capacity_steps`, finds the pairs in view with the visibility
kernel's footprint window and does steps 1 to 3, time steps in parallel):

1. **Link budget per (satellite, cell)** for the first ``k`` satellites in
   view of each cell (satellite order): C/N from the generation's PFD on the ground, the
   terminal's G/T less its scan loss (the array faces up; the scan angle is
   90 deg minus the elevation) and the ITU-R atmosphere at that elevation:
   clear sky (gases, clouds and scintillation exceeded 1 % of the year, no
   rain) and the P.618 total with rain exceeded *p* % of the year (never less
   than clear sky); C/(N+I) adds the
   intra-system interference (:meth:`Generation.c_over_i_db`) and any extra
   interference the caller gives as I/N per (time, cell) -- a jammer is that
   one more term.  The MODCOD is the best DVB-S2X one that closes; a beam
   carries ``efficiency x B / (1 + roll-off)``.
2. **Allocation** (beam hopping, shared in proportion to demand): each
   satellite looks at the cells it can serve -- above its generation's
   minimum elevation, outside its GSO-arc exclusion angle, and, for a
   bent-pipe satellite, only with a gateway in view -- and gives each cell a
   share of its forward capacity (the feeder limit) and of its beam-time
   (``beams_per_sat`` beams) in proportion to the cell's busy-hour demand:
   ``share = demand x min(capacity / sum(demand), beams / sum(demand / rate))``,
   at most one full beam.  The plan uses the clear-sky rates without any
   extra interference: the beam-time a cell is offered depends on demand and
   geometry only, never on the weather or a jammer.
3. **Delivered rate**: each offered beam-time carries the rate of the MODCOD
   that closes under the chosen weather and the extra interference (ACM),
   never more than the planned clear-sky rate.  Beams are allocated on beam
   footprints (:func:`footprint_resolution`: the nadir 3 dB spot, H3 res 5
   for Starlink), not on the map's cells: a footprint takes at most
   ``n_channels`` beams at once (one per channel: two co-frequency beams
   never overlap on one spot, Nco = 1) and at most one beam of each
   satellite; cells finer than a footprint share these in proportion to
   demand, cells coarser are computed on the footprints inside them and
   summed, so the answer does not depend on the map's resolution.  Each cell
   fills its share with its offers of best *delivered* rate first;
   an offer that delivers nothing keeps its beam-time (it is not given to
   another cell) and carries nothing.  The beam rate and the SINR reported
   for a cell are the best of its offers.
4. **Uplink** (terminal to satellite, Ku 14.25 GHz): C/N from the terminal's
   EIRP less the same scan loss, free space over the slant range to the
   generation's nominal altitude, the ITU-R atmosphere at the uplink
   frequency (its own tables) and the receive beam's G/T; the same C/I terms
   and MODCODs.  Steps 2 and 3 run again on the same pairs with the uplink
   rates, the uplink demand (``DemandModel.uplink_ratio`` of the downlink's),
   ``up_n_channels`` per cell and the same per-satellite limit.  Extra
   (downlink) interference does not touch it.

What the allocation optimises, and why this one: every satellite decides
from its own footprint alone, the way a beam-hopping scheduler fed with
demand would, and within it the capacity goes where the demand is
(proportional fairness between cells).  It does not coordinate satellites,
so where several satellites over-serve one cell the surplus is lost rather
than moved elsewhere; a global optimum (a max-flow or an LP per step) would
serve more.  In exchange it has the properties a planner relies on, by
construction: no satellite gives out more than its limit, and **no cell's
figure ever improves under more attack** -- satellites or gateways lost
(the other satellites' plans do not depend on them), a deeper rain fade, a
stronger or longer jammer (they lower rates, never move beam-time).  Per
cell, the delivered capacity is the optimum of a fractional knapsack (beam-
times capped by the plan, ``n_channels`` of budget, value = delivered rate),
which cannot rise when an offer goes or a rate falls.  Why the beam-time is
held fixed under fading and jamming: a beam-hopping illumination plan is
computed ahead from the traffic demand (ETSI EN 302 307-2 Annex E
superframes; Anzalchi et al. 2010) and adaptive coding and modulation
changes the MODCOD frame by frame within it (ETSI TR 102 376-1, ACM); and
under proportional fairness (Kelly 1997) a user's share of a time-shared
link does not depend on its rate -- maximising ``sum(w log x)`` subject to
``sum(x / r) <= T`` gives each user the time ``T w / sum(w)`` -- so a fade
or a jammer changes what a cell's beam-time carries, not how much it gets.  An
operator who re-plans around jammed cells would give their beam-time to
others; that response is not credited (docs/threats.md).  Pairs beyond the
first ``k`` (128) satellites in view of a cell are ignored and counted in
``settings["pairs_beyond_k"]``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr
from scipy import sparse

from skyfence._threads import overlap_pool
from skyfence.capacity.atmosphere import (
    DEFAULT_ELEVATION_NODES_DEG,
    AttenuationTable,
    validate_p_percent,
)
from skyfence.capacity.demand import DEFAULT_DEMAND, DemandModel, population_per_cell
from skyfence.capacity.kernel import (
    _GSO_GRID,
    _GSO_LAT_BIN_DEG,
    _GSO_RADIUS_KM,
    _N_BINS,
    _bin_lookup,
    _capacity_steps,
    _gso_sky_table,
    _link_tables,
    _rate_index_table,
    _sine_thresholds,
    _uplink_tables,
)
from skyfence.capacity.modcod import frontier_arrays
from skyfence.capacity.resources import (
    GENERATIONS,
    PRESET_GENERATIONS,
    generation_for_launch,
    get_generation,
)
from skyfence.coverage.visibility import (
    _NORMAL_TILT_MARGIN_DEG,
    GroundGrid,
    visibility_from_positions,
)
from skyfence.earth import cells as h3cells
from skyfence.earth.geodesy import WGS84_A_KM, WGS84_B_KM, WGS84_E2, enu_basis, geodetic_to_ecef
from skyfence.errors import InputError
from skyfence.orbits.constellation import Constellation
from skyfence.orbits.propagate import iter_positions

__all__ = ["CapacityCase", "CapacityResult", "assign_generations", "run_capacity", "run_capacity_cases"]

#: Exceedance probability [%] of the clear-sky gases, clouds and scintillation the beam plan is made for.
CLEAR_SKY_P_PERCENT = 1.0


@dataclass(frozen=True, eq=False)
class CapacityResult:
    """What a capacity run produced.

    ``dataset`` has dims ``(time, cell)``: ``offered_mbps``, ``served_mbps``,
    ``served_fraction``, ``mbps_per_user``, ``beams``, ``sinr_db``; and per
    cell ``population``, ``demand_mbps``, ``subscribers``.  ``per_cell`` is a
    table of time means; ``statistics`` the region figures of merit
    (population-weighted over cells and time steps).
    """

    cells: np.ndarray
    times: np.ndarray
    dataset: xr.Dataset
    per_cell: pd.DataFrame
    statistics: dict[str, float]
    satellite_limits_mbps: np.ndarray
    settings: dict[str, object] = field(default_factory=dict)
    satellite_load_mbps: np.ndarray | None = None


def assign_generations(constellation: Constellation, generation: str | None = None) -> np.ndarray:
    """Generation name per satellite: ``generation`` for all, the preset's, or from the catalog (launch)."""
    if generation is not None:
        get_generation(generation, field="generation")
        return np.full(len(constellation), str(generation).lower(), dtype=object)
    preset = PRESET_GENERATIONS.get(constellation.source) or PRESET_GENERATIONS.get(constellation.name)
    if preset is not None:
        return np.full(len(constellation), preset, dtype=object)
    table = constellation.satellites
    names = generation_for_launch(table["name"].to_numpy(), table["intl_designator"].to_numpy())
    if len(names) and not np.any(names != ""):
        raise InputError(
            f"cannot tell the satellite generation of {constellation.name!r} from its catalog",
            field="generation",
            hint="give one: " + ", ".join(GENERATIONS),
        )
    return names


#: Time steps per chunk of positions, and the satellite x step pairs a chunk holds at most.
_CHUNK_STEPS = 32
_CHUNK_PAIRS = 1_000_000
#: Satellites in view of one gateway found by the visibility kernel at once (more are tested directly).
_GATEWAY_SLOTS = 128


def _gateway_sites(cases) -> tuple[pd.DataFrame, list[np.ndarray | None]]:
    """The gateways of every case's ground segment, once each, and per case the rows of its gateways (None: the
    case has no ground segment, every satellite fed)."""
    frames: list[tuple[str, float, float, float]] = []
    keys: dict[tuple[str, float, float, float], int] = {}
    rows: list[np.ndarray | None] = []
    for case in cases:
        if case.ground is None:
            rows.append(None)
            continue
        gw = case.ground.gateways
        idx = []
        for name, lat, lon, alt in zip(gw["name"], gw["lat_deg"], gw["lon_deg"], gw["alt_km"], strict=True):
            key = (str(name), float(lat), float(lon), float(alt))
            if key not in keys:
                keys[key] = len(keys)
                frames.append(key)
            idx.append(keys[key])
        rows.append(np.asarray(idx, dtype=np.int64))
    return pd.DataFrame(frames, columns=["name", "lat_deg", "lon_deg", "alt_km"]), rows


def _gateway_views(sites: pd.DataFrame, positions: np.ndarray, min_elevation_deg: float):
    """Every satellite each gateway of ``sites`` sees per time step: ``(count, sats)`` of the all-pairs kernel,
    or None without gateways (one pass for the gateways of every case)."""
    if not len(sites):
        return None
    grid = GroundGrid.from_latlon(sites["lat_deg"].to_numpy(), sites["lon_deg"].to_numpy(), sites["alt_km"].to_numpy())
    count, sats, _ = visibility_from_positions(
        grid, positions, min_elevation_deg=min_elevation_deg, k=_GATEWAY_SLOTS, all_pairs=True
    )
    assert sats is not None
    return count, sats


def _gateway_mask(ground, positions: np.ndarray, min_elevation_deg: float) -> np.ndarray:
    """(satellite, time) True where a gateway of ``ground`` sees the satellite above ``min_elevation_deg`` (every
    one); None feeds every satellite."""
    sites, rows = _gateway_sites([CapacityCase(ground=ground)])
    views = _gateway_views(sites, positions, min_elevation_deg)
    return _case_gateway_mask(views, rows[0], sites, positions, min_elevation_deg)


def _case_gateway_mask(
    views, rows: np.ndarray | None, sites: pd.DataFrame, positions: np.ndarray, min_elevation_deg: float
) -> np.ndarray:
    """(satellite, time) True where one of the gateways ``rows`` of ``sites`` sees the satellite above
    ``min_elevation_deg`` (every one: more satellites over a gateway than the kernel's slots are tested directly)."""
    n_sat, n_time = positions.shape[0], positions.shape[1]
    if rows is None:
        return np.ones((n_sat, n_time), dtype=np.bool_)
    out = np.zeros((n_sat, n_time), dtype=np.bool_)
    if views is None or not len(rows):
        return out
    count, sats = views[0][:, rows], views[1][:, rows]
    slots = np.arange(_GATEWAY_SLOTS)[None, None, :] < count[:, :, None]
    t_idx = np.broadcast_to(np.arange(n_time)[:, None, None], sats.shape)
    out[sats[slots], t_idx[slots]] = True
    crowded = np.argwhere(count > _GATEWAY_SLOTS)  # more satellites over one gateway than slots: test them all
    if len(crowded):
        gw = sites.iloc[rows]
        gw_xyz = geodetic_to_ecef(gw["lat_deg"].to_numpy(), gw["lon_deg"].to_numpy(), gw["alt_km"].to_numpy())
        gw_up = enu_basis(gw["lat_deg"].to_numpy(), gw["lon_deg"].to_numpy())[:, 2, :]
        sin_mask = math.sin(math.radians(min_elevation_deg))
        for t, p in crowded:
            d = positions[:, t, :] - gw_xyz[p]
            seen = d @ gw_up[p] >= sin_mask * np.linalg.norm(d, axis=1)
            out[seen, t] = True
    return out


def _quantiles_weighted(values: np.ndarray, weights: np.ndarray, qs) -> list[float]:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return [math.nan for _ in qs]
    v, w = values[ok], weights[ok]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    cum /= cum[-1]
    return [float(v[order][min(np.searchsorted(cum, q), len(v) - 1)]) for q in qs]


@dataclass(frozen=True, eq=False)
class CapacityCase:
    """One state of the system for :func:`run_capacity_cases` -- the one mechanism by which an attack reaches the
    capacity layer.

    ``removed_satellites``
        Boolean per satellite: these carry nothing (destroyed, or lost to debris).
    ``ground``
        The :class:`~skyfence.network.ground.GroundSegment` after the attack (None: every satellite fed).  A
        bent-pipe satellite is fed only with one of its gateways in view; a satellite with lasers is fed through
        the mesh -- as long as the segment keeps at least one gateway and one PoP.  With none left nothing is
        delivered at all.
    ``extra_interference``
        ``f(times_chunk, time_slice) -> I/N`` [linear, (time, cell)]: a jammer's J/N into C/(N+I+J).
    ``no_service``
        ``f(times_chunk, time_slice) -> bool (time, cell)``: cells that get nothing (e.g. no MODCOD closes on the
        uplink under a jammer: a terminal that cannot send cannot use the downlink either).
    """

    name: str = "as is"
    removed_satellites: np.ndarray | None = None
    ground: Any = None
    extra_interference: Callable[[np.ndarray, slice], np.ndarray] | None = None
    no_service: Callable[[np.ndarray, slice], np.ndarray] | None = None


def run_capacity(
    constellation: Constellation,
    cells: np.ndarray,
    times: np.ndarray,
    *,
    ground=None,
    extra_interference: Callable[[np.ndarray, slice], np.ndarray] | None = None,
    removed_satellites: np.ndarray | None = None,
    **options,
) -> CapacityResult:
    """Offered and served capacity per ``(time, cell)`` and Mb/s per user (module docstring).

    Parameters
    ----------
    constellation
        The satellites; generations from ``generation``, the preset, or the catalog.
    cells
        H3 cells, one resolution.
    times
        UTC time grid.
    rain_p
        Exceedance probability [%] of the rain fade applied everywhere at once
        (a pessimistic bound); None for clear sky only.
    demand
        Take rate, busy-hour rate, oversubscription.
    population
        Inhabitants per cell; default :func:`population_per_cell`.
    ground
        A :class:`~skyfence.network.ground.GroundSegment` whose gateways feed
        bent-pipe satellites; None treats every satellite as fed.
    extra_interference
        ``f(times_chunk, time_slice) -> I/N`` [linear, shape (time, cell)]:
        interference beyond the system's own, relative to the terminal's noise.
        A jammer's J/N in dB is
        ``link.c_over_n_from_eirp_db(jammer_eirp_dbw, fspl_db(range_km, f) + discrimination_db,
        gen.terminal_g_over_t_db_k, gen.channel_mhz * 1e6)`` -- the same budget as a carrier.
    removed_satellites
        Boolean per satellite that carry nothing (see :class:`CapacityCase`).

    Other options as :func:`run_capacity_cases`.
    """
    case = CapacityCase(removed_satellites=removed_satellites, ground=ground, extra_interference=extra_interference)
    return run_capacity_cases(constellation, cells, times, [case], **options)[0]


def run_capacity_cases(
    constellation: Constellation,
    cells: np.ndarray,
    times: np.ndarray,
    cases: list[CapacityCase],
    *,
    generation: str | None = None,
    generation_overrides: dict[str, dict] | None = None,
    rain_p: float | None = 0.1,
    demand: DemandModel = DEFAULT_DEMAND,
    population: np.ndarray | None = None,
    gateway_min_elevation_deg: float = 25.0,
    k: int = 128,
    cell_country: np.ndarray | None = None,
    keep_satellite_load: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[CapacityResult]:
    """:func:`run_capacity` for several states of the system (:class:`CapacityCase`) in one pass.

    The positions (SGP4), the link tables and the gateways' view are computed once; each case masks its removed
    satellites, feeds the satellites its ground segment feeds, adds its interference and re-runs the fused kernel
    -- so the capacity of a case is the capacity of a run on the surviving system
    (``tests/threats/test_capacity_impact.py`` checks it against a run with the satellites removed from the input).
    """
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    if cells.size == 0:
        raise InputError("no cells to evaluate", field="region", hint="use a finer --res or a larger region")
    if rain_p is not None:
        rain_p = validate_p_percent(rain_p, field="rain_p")
    if not 1 <= int(k) <= 128:
        raise InputError(f"k must be in 1..128, got {k}", field="k")
    if not cases:
        return []
    times = np.asarray(times, dtype="datetime64[ns]")
    names = assign_generations(constellation, generation)
    used = sorted({n for n in names.tolist() if n})
    overrides = generation_overrides or {}
    for key in overrides:
        get_generation(key, field=f"generation_overrides.{key}")
    gens = [get_generation(n).with_overrides(**overrides.get(n, {})) for n in used]
    sat_gen = np.array([used.index(n) if n else -1 for n in names.tolist()], dtype=np.int32)
    case_gen = []
    for i, case in enumerate(cases):
        if case.removed_satellites is None:
            case_gen.append(sat_gen)
            continue
        removed = np.asarray(case.removed_satellites, dtype=bool)
        if removed.shape != sat_gen.shape:
            raise InputError(
                f"removed_satellites must have one value per satellite ({len(sat_gen)}), got {removed.shape}",
                field=f"cases[{i}].removed_satellites",
            )
        case_gen.append(np.ascontiguousarray(np.where(removed, np.int32(-1), sat_gen).astype(np.int32)))
    res = int((cells[0] >> np.uint64(52)) & np.uint64(0xF))
    fp_res = footprint_resolution(gens)
    fp_res = res if fp_res is None else fp_res
    if res < fp_res:  # cells larger than a beam footprint: computed on the footprints inside, summed back
        return _run_on_footprints(
            constellation,
            cells,
            times,
            cases,
            fp_res,
            footprint_note(gens, res, fp_res),
            generation=generation,
            generation_overrides=generation_overrides,
            rain_p=rain_p,
            demand=demand,
            population=population,
            gateway_min_elevation_deg=gateway_min_elevation_deg,
            k=k,
            cell_country=cell_country,
            keep_satellite_load=keep_satellite_load,
            progress=progress,
        )
    limit_by_gen = np.array([g.feeder_capacity_mbps() for g in gens])
    sat_limit = (
        np.where(sat_gen >= 0, limit_by_gen[np.maximum(sat_gen, 0)], 0.0) if len(gens) else np.zeros(len(sat_gen))
    )

    lat, lon = h3cells.cell_centers(cells)
    if population is None:
        population = _footprint_population(cells, res, fp_res, cell_country)
    population = np.asarray(population, dtype=float)
    if population.shape != cells.shape:
        raise InputError("population must have one value per cell", field="population")
    demand_mbps = demand.demand_mbps(population)
    demand_up_mbps = demand.demand_up_mbps(population)
    active = demand.active_users(population)

    freq = gens[0].freq_down_ghz if gens else 11.7
    diameter = gens[0].terminal_diameter_m if gens else 0.55
    mask = float(min((g.min_elevation_deg for g in gens), default=25.0))
    nodes = tuple(e for e in DEFAULT_ELEVATION_NODES_DEG if e >= mask) or (mask, 90.0)
    nodes = (mask, *nodes) if nodes[0] > mask else nodes
    clear_tab = AttenuationTable.build(
        lat, lon, freq, CLEAR_SKY_P_PERCENT, diameter_m=diameter, include_rain=False, elevation_nodes_deg=nodes
    )
    cell_node = clear_tab.node_of_point.astype(np.int64)
    cn_clear = _link_tables(gens, clear_tab) if gens else np.zeros((1, 1, _N_BINS))
    if not gens:
        cell_node = np.zeros(len(cells), np.int64)
    cn_wx = cn_clear
    if rain_p is not None and gens:
        wx_tab = AttenuationTable.build(
            lat, lon, freq, rain_p, diameter_m=diameter, include_rain=True, elevation_nodes_deg=nodes
        )
        if not np.array_equal(wx_tab.node_of_point, clear_tab.node_of_point):  # pragma: no cover - same inputs
            raise AssertionError("the clear-sky and weather tables must share their nodes")
        cn_wx = np.minimum(_link_tables(gens, wx_tab), cn_clear)  # weather never beats clear sky
    # the user uplink: its own frequency, so its own atmosphere tables (the same nodes)
    freq_up = gens[0].freq_up_ghz if gens else 14.25
    cn_up_clear = np.zeros((1, 1, _N_BINS))
    cn_up_wx = cn_up_clear
    if gens:
        up_tab = AttenuationTable.build(
            lat, lon, freq_up, CLEAR_SKY_P_PERCENT, diameter_m=diameter, include_rain=False, elevation_nodes_deg=nodes
        )
        cn_up_clear = cn_up_wx = _uplink_tables(gens, up_tab)
        if rain_p is not None:
            up_tab = AttenuationTable.build(
                lat, lon, freq_up, rain_p, diameter_m=diameter, include_rain=True, elevation_nodes_deg=nodes
            )
            cn_up_wx = np.minimum(_uplink_tables(gens, up_tab), cn_up_clear)
        if not np.array_equal(up_tab.node_of_point, clear_tab.node_of_point):  # pragma: no cover - same inputs
            raise AssertionError("the uplink and downlink tables must share their nodes")

    thresholds_db, eff = frontier_arrays(linear=True)
    thresholds_lin = 10.0 ** (thresholds_db / 10.0)
    g_arr = gens or [GENERATIONS["starlink-v1.5"]]
    g_min_el = np.array([g.min_elevation_deg for g in g_arr])
    g_excl = np.array([g.gso_exclusion_deg for g in g_arr])
    g_channels = np.array([g.n_channels for g in g_arr], dtype=np.int64)
    g_beams = np.array([g.beams_per_sat for g in g_arr], dtype=np.int64)
    g_isl = np.array([g.has_isl for g in g_arr], dtype=np.bool_)
    g_sym = np.array([g.channel_mhz / (1.0 + g.rolloff) for g in g_arr])
    g_ci_inv = np.array([10.0 ** (-g.c_over_i_db() / 10.0) for g in g_arr])
    mc_clear = _rate_index_table(cn_clear, g_ci_inv, thresholds_db)
    mc_wx = _rate_index_table(cn_wx, g_ci_inv, thresholds_db) if cn_wx is not cn_clear else mc_clear
    # beam rate [Mb/s] per (generation, 1 + MODCOD index); 0: none closes
    rate_of = np.concatenate([np.zeros((len(g_arr), 1)), eff[None, :] * g_sym[:, None]], axis=1).astype(np.float32)
    # lasers feed a satellite through the mesh only while the ground segment has somewhere to land the traffic
    case_isl = [np.ascontiguousarray(g_isl & _network_fed(case.ground)) for case in cases]
    gw_sites, gw_rows = _gateway_sites(cases)
    g_sym_up = np.array([g.up_channel_mhz / (1.0 + g.rolloff) for g in g_arr])
    g_channels_up = np.array([g.up_n_channels for g in g_arr], dtype=np.int64)
    mc_up_clear = _rate_index_table(cn_up_clear, g_ci_inv, thresholds_db)
    mc_up_wx = _rate_index_table(cn_up_wx, g_ci_inv, thresholds_db) if cn_up_wx is not cn_up_clear else mc_up_clear
    rate_up_of = np.concatenate([np.zeros((len(g_arr), 1)), eff[None, :] * g_sym_up[:, None]], axis=1).astype(
        np.float32
    )

    enu = np.ascontiguousarray(enu_basis(lat, lon))
    lat_bin = np.round(lat / _GSO_LAT_BIN_DEG).astype(np.int64)
    bins = np.unique(lat_bin)
    gso_sky = _gso_sky_table(bins * _GSO_LAT_BIN_DEG, WGS84_A_KM, WGS84_E2, _GSO_RADIUS_KM)
    cell_lat_bin = np.searchsorted(bins, lat_bin).astype(np.int64)
    # highest elevation [deg] at which any generation's exclusion zone reaches, per latitude bin
    near = gso_sky < max(float(g_excl.max(initial=0.0)), 0.0) + 1.0
    comp = np.linspace(-1.0, 1.0, _GSO_GRID)
    horizontal = np.minimum(np.hypot(comp[:, None], comp[None, :]), 1.0)
    el_grid = np.broadcast_to(np.degrees(np.arccos(horizontal))[None, :, :], near.shape)
    gso_el_max = np.where(near, el_grid, -1.0).max(axis=(1, 2))[cell_lat_bin] + 1.0
    # bit g set where generation g may not point (closer to the GSO arc than its exclusion angle)
    gso_bits = np.zeros(gso_sky.shape, np.uint8 if len(g_arr) <= 8 else np.uint64)
    for g, excl in enumerate(g_excl):
        gso_bits |= np.where(gso_sky < excl, 1 << g, 0).astype(gso_bits.dtype)
    del gso_sky, near, el_grid
    grid = GroundGrid.from_latlon(lat, lon)
    srt = grid.order  # the kernel walks the cells in the grid's order
    sorted_cells = {
        "cell_enu": np.ascontiguousarray(enu[srt]),
        "cell_node": np.ascontiguousarray(cell_node[srt]),
        "cell_lat_bin": np.ascontiguousarray(cell_lat_bin[srt]),
        "x_gso_max": _sine_thresholds(np.ascontiguousarray(gso_el_max[srt]), True),
        "order": np.ascontiguousarray(srt),
    }
    demand_sorted = np.ascontiguousarray(demand_mbps[srt])
    demand_up_sorted = np.ascontiguousarray(demand_up_mbps[srt])
    # the beam footprints: the points of each (sorted) in a row, footprint after footprint
    footprint_of = np.unique(h3cells.cell_parents(cells, min(fp_res, res)), return_inverse=True)[1].ravel()[srt]
    # footprints numbered in the grid's order (cells of one footprint are neighbours in it), so the kernel walks its
    # per-point rows in memory order (a point that is its own footprint: exactly the grid's order)
    _, first, label = np.unique(footprint_of, return_index=True, return_inverse=True)
    footprint_of = np.argsort(np.argsort(first, kind="stable"), kind="stable")[label.ravel()]
    group_cells = np.argsort(footprint_of, kind="stable").astype(np.int64)
    group_start = np.searchsorted(footprint_of[group_cells], np.arange(int(footprint_of.max(initial=-1)) + 2))
    group_start = group_start.astype(np.int64)
    x_bin, x_coarse = _bin_lookup()
    x_min_el = _sine_thresholds(g_min_el.astype(np.float64), False)

    n_t, n_c = len(times), len(cells)
    acc = [_CaseArrays(n_t, n_c, len(constellation), keep_satellite_load) for _ in cases]
    n_workers = numba.get_num_threads()
    scratch = {
        "scratch_cnt": np.zeros((n_workers, n_c), np.int32),
        "scratch_use": np.zeros((n_workers, n_c), np.int32),
        "scratch_pair": np.zeros((n_workers, n_c, k), np.int32),
        "scratch_lam": np.zeros((n_workers, len(constellation))),
        "scratch_lam_up": np.zeros((n_workers, len(constellation))),
        "scratch_plan": np.zeros((n_workers, len(constellation))),
        "scratch_plan_up": np.zeros((n_workers, len(constellation))),
    }

    def evaluate(chunk) -> tuple[slice, int, list[np.ndarray]]:
        """The fused kernel on one chunk of positions, once per case; returns (time slice, steps, loads)."""
        # time steps handed out one at a time (dynamic scheduling): SGP4 of the next chunk holds one core for part
        # of the time, and a static split would leave the other kernel thread waiting at the end of every chunk
        numba.set_parallel_chunksize(1)
        sl = chunk.time_slice
        pos = np.ascontiguousarray(chunk.position_itrf_km)
        nt = len(chunk.times)
        views = _gateway_views(gw_sites, pos, gateway_min_elevation_deg)
        gw_cache: dict[tuple | None, np.ndarray] = {}
        loads = []
        for ci, (case, out) in enumerate(zip(cases, acc, strict=True)):
            rows = gw_rows[ci]
            gw_key = None if rows is None else tuple(rows.tolist())
            if gw_key not in gw_cache:
                gw_cache[gw_key] = _case_gateway_mask(views, rows, gw_sites, pos, gateway_min_elevation_deg)
            if case.extra_interference is None:
                extra = np.zeros((nt, 1))
            else:
                extra = np.asarray(case.extra_interference(chunk.times, sl), dtype=np.float64)
                if extra.shape != (nt, n_c):
                    raise InputError(
                        f"extra interference must have shape {(nt, n_c)}, got {extra.shape}", field="extra"
                    )
                extra = np.ascontiguousarray(extra[:, srt])
            load = np.zeros((nt, len(constellation)))
            _capacity_steps(
                pos,
                grid.sorted_xyz_normal,
                grid.lon_index,
                grid.band_deg,
                grid.lon_step_deg,
                math.radians(mask),
                WGS84_B_KM,
                _NORMAL_TILT_MARGIN_DEG,
                int(k),
                x_bin,
                x_coarse,
                x_min_el,
                sorted_cells["cell_enu"],
                sorted_cells["cell_node"],
                sorted_cells["cell_lat_bin"],
                gso_bits,
                sorted_cells["x_gso_max"],
                sorted_cells["order"],
                case_gen[ci],
                sat_limit,
                gw_cache[gw_key],
                g_excl,
                g_channels,
                g_beams,
                case_isl[ci],
                g_sym,
                g_ci_inv,
                cn_wx,
                mc_clear,
                mc_wx,
                rate_of,
                extra,
                case.extra_interference is not None,
                thresholds_lin,
                eff,
                demand_sorted,
                mc_up_clear,
                mc_up_wx,
                rate_up_of,
                g_channels_up,
                demand_up_sorted,
                group_start,
                group_cells,
                scratch["scratch_cnt"],
                scratch["scratch_use"],
                scratch["scratch_pair"],
                scratch["scratch_lam"],
                scratch["scratch_lam_up"],
                scratch["scratch_plan"],
                scratch["scratch_plan_up"],
                out.offered[sl],
                out.beam_time[sl],
                out.sinr[sl],
                out.beam_rate[sl],
                load,
                out.truncated[sl],
                out.offered_up[sl],
                out.beam_rate_up[sl],
            )
            if case.no_service is not None:
                dead = np.asarray(case.no_service(chunk.times, sl), dtype=bool)
                out.offered[sl][dead] = 0.0
                out.beam_rate[sl][dead] = 0.0
                out.offered_up[sl][dead] = 0.0
                out.beam_rate_up[sl][dead] = 0.0
            loads.append(load)
        return sl, nt, loads

    def collect(future: Future) -> None:
        sl, nt, loads = future.result()
        for out, load in zip(acc, loads, strict=True):
            out.add_load(sl, load)
        if progress is not None:
            progress(nt)

    # SGP4 of the next chunk (on this thread) overlaps the compiled kernel (which releases the GIL) on this one;
    # under a one-core thread budget (skyfence._threads) the kernel runs here too, after SGP4
    chunk_steps = int(max(1, min(_CHUNK_STEPS, _CHUNK_PAIRS // max(len(constellation), 1))))
    with overlap_pool("skyfence-capacity") as pool:
        pending: Future | None = None
        for chunk in iter_positions(constellation, times, chunk_steps=chunk_steps):
            future = pool.submit(evaluate, chunk)
            if pending is not None:
                collect(pending)
            pending = future
        if pending is not None:
            collect(pending)

    results = []
    for case, out in zip(cases, acc, strict=True):
        settings = {
            "constellation": constellation.name,
            "source": constellation.source,
            "satellites": len(constellation),
            "generations": ",".join(used),
            "rain_p": "none" if rain_p is None else rain_p,
            "take_rate": demand.take_rate,
            "busy_hour_mbps": demand.busy_hour_mbps,
            "oversubscription": demand.oversubscription,
            "plan_peak_mbps": demand.plan_peak_mbps,
            "gateways": "all satellites fed" if case.ground is None else f"{len(case.ground.gateways)} gateways",
            "k": int(k),
            "pairs_beyond_k": int(out.truncated.sum()),
            "res": res,
            "footprint_res": fp_res,
            "footprint": footprint_note(gens, res, fp_res),
            "start": str(times[0]),
            "end": str(times[-1]),
            "steps": n_t,
        }
        if len(cases) > 1 or case.removed_satellites is not None:
            settings["case"] = case.name
            settings["satellites_removed"] = (
                0 if case.removed_satellites is None else int(np.asarray(case.removed_satellites, bool).sum())
            )
        results.append(
            _assemble(cells, times, lat, lon, population, demand, demand_mbps, active, res, settings, sat_limit, out)
        )
    return results


def footprint_resolution(gens) -> int | None:
    """The H3 resolution whose mean cell area is nearest (in ratio) to the smallest nadir beam footprint of ``gens``
    (:meth:`Generation.beam_footprint_km2`): the grid on which beams are allocated.  Starlink (550 km, 1.0 deg
    half beamwidth, 290 km²): res 5 (253 km²); Starlink as filed at 1,150 km: res 4; OneWeb: res 3.  None without
    generations."""
    import h3

    if not gens:
        return None
    area = min(g.beam_footprint_km2() for g in gens)
    return min(range(16), key=lambda r: abs(math.log(h3.average_hexagon_area(r, unit="km^2") / area)))


def footprint_note(gens, res: int, fp_res: int) -> str:
    """One line on how the grid of ``res`` cells relates to the beam footprints (CLI output, reports)."""
    if not gens:
        return "no satellite generation: no beams"
    area = min(g.beam_footprint_km2() for g in gens)
    beams = max(g.beams_per_footprint() for g in gens)
    head = f"beams allocated per beam footprint (~{area:,.0f} km², H3 res {fp_res}; at most {beams} beams each)"
    if res < fp_res:
        return f"{head}: res-{res} cells are larger, so computed on the res-{fp_res} cells inside and summed"
    if res > fp_res:
        return f"{head}: res-{res} cells share their footprint's beams in proportion to demand"
    return head


def _shares(group: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Each member's share of its group (``group``: index per member) in proportion to ``weight``; equal shares in a
    group whose weights add up to 0."""
    total = np.bincount(group, weights=weight)
    count = np.bincount(group).astype(float)
    ok = total[group] > 0
    return np.where(ok, weight / np.where(ok, total[group], 1.0), 1.0 / count[group])


def _footprint_population(cells: np.ndarray, res: int, fp_res: int, cell_country) -> np.ndarray:
    """Inhabitants per cell for cells finer than a beam footprint: each footprint (res ``fp_res``) holds what the
    population model gives it at its own resolution, split over its cells as the model spreads it at ``res``, and
    the region's total is the model's at ``res``.  So a footprint asks for the same demand at every resolution
    (the model places cities on discs of whole cells, which covers a different area at each resolution).  Cells of
    ``fp_res`` or coarser: the model as is."""
    model = population_per_cell(cells, cell_country=cell_country)
    if res <= fp_res or not len(cells):
        return model
    footprints, group = np.unique(h3cells.cell_parents(cells, fp_res), return_inverse=True)
    group = group.ravel()
    population = population_per_cell(footprints)[group] * _shares(group, model)
    if population.sum() <= 0:
        return model
    return population * (model.sum() / population.sum())


def _with_edge_footprints(cells, fine, parent, fp_res: int, cell_country) -> tuple[np.ndarray, np.ndarray]:
    """The children of ``cells`` and the footprint cells the coarse outline cuts off: a footprint cell next to a
    child, outside every one of ``cells``, in the same country as the coarse cell of that child, joins that cell.
    Coarse cells keep the cells whose centre is in a region, so along a coast or a border they drop land the region
    has at the footprints' resolution (Taiwan at res 4: 19 of its 156 res-5 cells) and would pile its people on
    fewer footprints."""
    import h3

    from skyfence.earth.regions import lookup_country

    coarse_country = (
        np.asarray(cell_country).astype(str)
        if cell_country is not None
        else lookup_country(*h3cells.cell_centers(cells))
    )
    known = set(fine.tolist())
    extra: dict[int, int] = {}
    for child, p in zip(fine.tolist(), parent.tolist(), strict=True):
        for ring in h3.grid_disk(h3.int_to_str(child), 1):
            cell = h3.str_to_int(ring)
            if cell not in known and cell not in extra:
                extra[cell] = p
    if not extra:
        return fine, parent
    edge = np.fromiter(extra, dtype=np.uint64, count=len(extra))
    edge_parent = np.fromiter(extra.values(), dtype=np.intp, count=len(extra))
    keep = (lookup_country(*h3cells.cell_centers(edge)) == coarse_country[edge_parent]) & (
        coarse_country[edge_parent] != ""
    )
    return np.concatenate([fine, edge[keep]]), np.concatenate([parent, edge_parent[keep]])


def _run_on_footprints(
    constellation, cells, times, cases, fp_res: int, note: str, *, population, cell_country, **options
):
    """:func:`run_capacity_cases` for cells larger than a beam footprint: computed on their children at ``fp_res``
    (each coarse cell's population split over its children in proportion to the population model at ``fp_res``,
    evenly where that has nobody; interference and dead cells as their parent's), summed back into ``cells``.  The
    region figures (``statistics``) are those of the footprint cells, so that they do not depend on the grid."""
    fine, parent = h3cells.cell_children(cells, fp_res)
    if population is None:
        fine, parent = _with_edge_footprints(cells, fine, parent, fp_res, cell_country)
    order = np.argsort(fine, kind="stable")  # the engine works on sorted cells: keep the children sorted
    fine, parent = fine[order], parent[order]
    fine_country = None if cell_country is None else np.asarray(cell_country)[parent]
    if population is None:  # the population model at the footprints' resolution, the region's total kept
        model = population_per_cell(cells, cell_country=cell_country)
        fine_population = population_per_cell(fine, cell_country=fine_country)
        if fine_population.sum() > 0:
            fine_population *= model.sum() / fine_population.sum()
        population = np.bincount(parent, weights=fine_population, minlength=len(cells))
    else:  # the caller's population per cell, split over its children as the model spreads it
        population = np.asarray(population, dtype=float)
        if population.shape != cells.shape:
            raise InputError("population must have one value per cell", field="population")
        fine_population = population[parent] * _shares(parent, population_per_cell(fine, cell_country=fine_country))

    def widen(func):
        if func is None:
            return None
        return lambda chunk_times, sl: np.asarray(func(chunk_times, sl))[:, parent]

    fine_cases = [
        dataclasses.replace(case, extra_interference=widen(case.extra_interference), no_service=widen(case.no_service))
        for case in cases
    ]
    results = run_capacity_cases(constellation, fine, times, fine_cases, population=fine_population, **options)
    return [_coarsen(r, cells, parent, population, options.get("demand", DEFAULT_DEMAND), note) for r in results]


def _coarsen(fine: CapacityResult, cells: np.ndarray, parent: np.ndarray, population, demand, note) -> CapacityResult:
    """A result on ``cells`` from one on their children (``parent``: each child's cell): Mb/s summed, the best SINR
    and beam rate, Mb/s per user the population-weighted mean of the children's; region figures the children's."""
    ds = fine.dataset
    n_c = len(cells)
    onehot = sparse.csr_matrix((np.ones(len(parent)), (np.arange(len(parent)), parent)), shape=(len(parent), n_c))

    def total(values: np.ndarray) -> np.ndarray:  # (time, child) -> (time, cell)
        return np.asarray(onehot.T @ values.astype(np.float64).T).T

    def summed(name: str) -> np.ndarray:
        return total(ds[name].to_numpy()).astype(np.float32)

    def best(name: str) -> np.ndarray:
        values = ds[name].to_numpy()
        out = np.full((values.shape[0], n_c), np.nan, np.float32)
        np.fmax.at(out.T, parent, values.T)
        return out

    pop_f = ds["population"].to_numpy()

    def per_user(name: str) -> np.ndarray:
        values = ds[name].to_numpy().astype(np.float64)
        ok = np.isfinite(values)
        w = np.where(ok, pop_f[None, :], 0.0)
        num = total(np.where(ok, values, 0.0) * w)
        den = total(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan).astype(np.float32)

    out = _CaseArrays(len(fine.times), n_c, 0, False)
    out.offered = summed("offered_mbps")
    out.beam_time = summed("beams")
    out.sinr = best("sinr_db")
    out.beam_rate = np.zeros((len(fine.times), n_c), np.float32)  # only for Mb/s per user, given below
    out.offered_up = summed("offered_up_mbps")
    out.sat_load = fine.satellite_load_mbps
    out.peak_load = float(fine.statistics.get("satellite_peak_load_mbps", 0.0))
    lat, lon = h3cells.cell_centers(cells)
    demand_mbps = demand.demand_mbps(population)
    active = demand.active_users(population)
    settings = dict(fine.settings)
    settings["res"] = int((cells[0] >> np.uint64(52)) & np.uint64(0xF))
    settings["footprint"] = note
    coarse = _assemble(
        cells,
        fine.times,
        lat,
        lon,
        population,
        demand,
        demand_mbps,
        active,
        settings["res"],
        settings,
        fine.satellite_limits_mbps,
        out,
        served=summed("served_mbps"),
        per_user=per_user("mbps_per_user"),
        per_user_up=per_user("mbps_per_user_up"),
    )
    return dataclasses.replace(coarse, statistics=dict(fine.statistics))


def _network_fed(ground) -> bool:
    """Whether satellites with lasers can land traffic: no segment given, or at least one gateway and one PoP."""
    return ground is None or (len(ground.gateways) > 0 and len(ground.pops) > 0)


class _CaseArrays:
    """The per-(time, cell) outputs of one case, filled chunk by chunk."""

    def __init__(self, n_t: int, n_c: int, n_sat: int, keep_load: bool) -> None:
        self.offered = np.zeros((n_t, n_c), np.float32)
        self.beam_time = np.zeros((n_t, n_c), np.float32)
        self.sinr = np.full((n_t, n_c), np.nan, np.float32)
        self.beam_rate = np.zeros((n_t, n_c), np.float32)
        self.truncated = np.zeros(n_t, np.int64)
        self.offered_up = np.zeros((n_t, n_c), np.float32)
        self.beam_rate_up = np.zeros((n_t, n_c), np.float32)
        self.sat_load = np.zeros((n_t, n_sat), np.float32) if keep_load else None
        self.peak_load = 0.0

    def add_load(self, sl: slice, load: np.ndarray) -> None:
        if self.sat_load is not None:
            self.sat_load[sl] = load
        self.peak_load = max(self.peak_load, float(load.max(initial=0.0)))


def _assemble(
    cells,
    times,
    lat,
    lon,
    population,
    demand,
    demand_mbps,
    active,
    res,
    settings,
    sat_limit,
    out,
    *,
    served=None,
    per_user=None,
    per_user_up=None,
):
    """A :class:`CapacityResult` from one case's arrays (``served`` and Mb/s per user given when summed from
    finer cells)."""
    offered, beam_rate = out.offered, out.beam_rate
    if served is None:
        served = np.minimum(offered, demand_mbps[None, :].astype(np.float32))
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(demand_mbps[None, :] > 0, served / demand_mbps[None, :], np.nan).astype(np.float32)
        if per_user is None:
            per_user = np.where(
                active[None, :] > 0,
                np.minimum(np.minimum(offered / active[None, :], beam_rate), demand.plan_peak_mbps),
                np.nan,
            )
        if per_user_up is None:
            per_user_up = np.where(
                active[None, :] > 0,
                np.minimum(np.minimum(out.offered_up / active[None, :], out.beam_rate_up), demand.plan_peak_up_mbps),
                np.nan,
            ).astype(np.float32)
    per_user = per_user.astype(np.float32)
    dataset = xr.Dataset(
        {
            "offered_mbps": (("time", "cell"), offered, {"units": "Mb/s", "long_name": "capacity offered to the cell"}),
            "served_mbps": (("time", "cell"), served, {"units": "Mb/s"}),
            "served_fraction": (("time", "cell"), fraction, {"units": "1"}),
            "mbps_per_user": (
                ("time", "cell"),
                per_user,
                {"units": "Mb/s", "long_name": "busy-hour rate per active user"},
            ),
            "beams": (
                ("time", "cell"),
                out.beam_time,
                {"units": "1", "long_name": "beams (beam-time, one per channel)"},
            ),
            "sinr_db": (
                ("time", "cell"),
                out.sinr,
                {"units": "dB", "long_name": "best C/(N+I+J) of the cell's offers"},
            ),
            "offered_up_mbps": (
                ("time", "cell"),
                out.offered_up,
                {"units": "Mb/s", "long_name": "uplink capacity offered to the cell"},
            ),
            "mbps_per_user_up": (
                ("time", "cell"),
                per_user_up,
                {"units": "Mb/s", "long_name": "busy-hour uplink rate per active user"},
            ),
            "demand_up_mbps": ("cell", demand.demand_up_mbps(population), {"units": "Mb/s"}),
            "population": ("cell", population, {"units": "inhabitants"}),
            "demand_mbps": ("cell", demand_mbps, {"units": "Mb/s"}),
            "subscribers": ("cell", demand.subscribers(population), {"units": "1"}),
        },
        coords={
            "time": times,
            "cell": xr.Variable("cell", cells, {"grid_name": "h3", "level": res}),
            "lat": ("cell", lat, {"units": "degrees_north"}),
            "lon": ("cell", lon, {"units": "degrees_east"}),
        },
        attrs={key: str(v) for key, v in settings.items()},
    )
    per_cell = pd.DataFrame(
        {
            "cell": [f"{c:x}" for c in cells.tolist()],
            "lat": lat,
            "lon": lon,
            "population": population,
            "demand_mbps": demand_mbps,
            "offered_mbps_mean": offered.mean(axis=0),
            "served_fraction_mean": _column_stat(fraction, np.mean),
            "mbps_per_user_median": _column_stat(per_user, np.median),
        }
    )
    statistics = region_figures(dataset)
    statistics["satellite_peak_load_mbps"] = out.peak_load
    return CapacityResult(cells, times, dataset, per_cell, statistics, sat_limit, settings, out.sat_load)


def _column_stat(values: np.ndarray, func) -> np.ndarray:
    """``func`` over time per cell where the cell has finite values; NaN elsewhere (no warnings)."""
    out = np.full(values.shape[1], np.nan)
    ok = np.isfinite(values).all(axis=0) & (values.shape[0] > 0)
    if ok.any():
        out[ok] = func(values[:, ok], axis=0)
    return out


def region_figures(dataset: xr.Dataset, cell_mask: np.ndarray | None = None) -> dict[str, float]:
    """Population-weighted figures over cells and time: median / p10 Mb/s per user, share above 25 / 100 Mb/s."""
    pop = dataset["population"].to_numpy()
    per_user = dataset["mbps_per_user"].to_numpy()
    served = dataset["served_mbps"].to_numpy()
    offered = dataset["offered_mbps"].to_numpy()
    if cell_mask is not None:
        pop, per_user, served, offered = (
            pop[cell_mask],
            per_user[:, cell_mask],
            served[:, cell_mask],
            offered[:, cell_mask],
        )
    weights = np.broadcast_to(pop[None, :], per_user.shape)
    median, p10 = _quantiles_weighted(per_user.ravel(), weights.ravel(), (0.5, 0.1))
    total_w = float(weights[np.isfinite(per_user)].sum())
    above = {}
    for threshold in (25.0, 100.0):
        hit = np.isfinite(per_user) & (per_user >= threshold)
        above[threshold] = float(weights[hit].sum() / total_w) if total_w > 0 else math.nan
    demand = dataset["demand_mbps"].to_numpy() if cell_mask is None else dataset["demand_mbps"].to_numpy()[cell_mask]
    total_demand = float(demand.sum())
    return {
        "population": float(pop.sum()),
        "demand_gbps": total_demand / 1e3,
        "offered_gbps_mean": float(offered.sum(axis=1).mean() / 1e3) if offered.size else 0.0,
        "served_gbps_mean": float(served.sum(axis=1).mean() / 1e3) if served.size else 0.0,
        "served_fraction": float(served.sum(axis=1).mean() / total_demand)
        if total_demand > 0 and served.size
        else math.nan,
        "mbps_per_user_median": median,
        "mbps_per_user_p10": p10,
        "share_above_25_mbps": above[25.0],
        "share_above_100_mbps": above[100.0],
        **_uplink_figures(dataset, cell_mask, pop),
    }


def _uplink_figures(dataset: xr.Dataset, cell_mask: np.ndarray | None, pop: np.ndarray) -> dict[str, float]:
    """Uplink Gb/s offered (mean over time) and population-weighted median / p10 Mb/s per user, if computed."""
    if "mbps_per_user_up" not in dataset:
        return {}
    per_user = dataset["mbps_per_user_up"].to_numpy()
    offered = dataset["offered_up_mbps"].to_numpy()
    if cell_mask is not None:
        per_user, offered = per_user[:, cell_mask], offered[:, cell_mask]
    weights = np.broadcast_to(pop[None, :], per_user.shape)
    median, p10 = _quantiles_weighted(per_user.ravel(), weights.ravel(), (0.5, 0.1))
    return {
        "offered_up_gbps_mean": float(offered.sum(axis=1).mean() / 1e3) if offered.size else 0.0,
        "mbps_per_user_up_median": median,
        "mbps_per_user_up_p10": p10,
    }
