"""Capacity runs: link budgets for the satellites in view, beams allocated to cells by demand, Mb/s per user.

For each time step (SGP4 positions streamed in chunks; one compiled kernel,
:func:`_capacity_steps`, finds the pairs in view with the visibility
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
   at most one full beam.  Each cell then fills at most ``n_channels`` beams
   at once (one per channel: two co-frequency beams never land on one cell)
   with its best offers first.
3. **Delivered rate**: the shares are planned on clear-sky rates (so weather
   never changes who gets which beam-time); each beam-time then carries the
   rate of the MODCOD that closes under the chosen weather.
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
construction: a cell's offered capacity never falls when a satellite is
added or when rain goes away, and no satellite gives out more than its
limit.  Pairs beyond the first ``k`` (128) satellites in view of a cell are
ignored and counted in ``settings["pairs_beyond_k"]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr

from skyfence.capacity.atmosphere import (
    DEFAULT_ELEVATION_NODES_DEG,
    AttenuationTable,
    loss_on_grid,
    validate_p_percent,
)
from skyfence.capacity.demand import DEFAULT_DEMAND, DemandModel, population_per_cell
from skyfence.capacity.link import (
    c_over_n_from_eirp_db,
    c_over_n_from_pfd_db,
    fspl_db,
    pfd_limit_db,
    scan_loss_db,
    slant_range_km,
)
from skyfence.capacity.modcod import frontier_arrays
from skyfence.capacity.resources import (
    GENERATIONS,
    PRESET_GENERATIONS,
    Generation,
    generation_for_launch,
    get_generation,
)
from skyfence.coverage.visibility import (
    _NORMAL_TILT_MARGIN_DEG,
    GroundGrid,
    _up_and_range2,
    footprint_window,
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
#: Elevation bins of the per-cell link tables [deg].
_BIN_DEG = 0.25
_N_BINS = int(90.0 / _BIN_DEG) + 1
#: GSO radius [km] (Vallado 2013) and the latitude step of the GSO sky tables [deg].
_GSO_RADIUS_KM = 42164.17
_GSO_LAT_BIN_DEG = 0.5


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
#: Grid of the GSO sky tables: east and north components of the unit direction, each over [-1, 1].
_GSO_GRID = 201


@numba.njit(parallel=True, cache=True)
def _gso_sky_table(lat_bins_deg, earth_a_km, earth_e2, gso_radius_km):  # pragma: no cover - compiled
    """Smallest angle [deg] from each upper-hemisphere direction to the GSO arc, per geodetic latitude.

    Directions are indexed by the east and north components of the unit
    vector, each quantised to 0.01 (about 0.6 deg); the arc seen from a
    latitude is the same from any longitude (WGS-84 point at longitude 0).
    """
    n_lat = lat_bins_deg.shape[0]
    m = _GSO_GRID
    out = np.full((n_lat, m, m), 180.0, np.float32)
    d2r = np.pi / 180.0
    for i in numba.prange(n_lat):
        phi = lat_bins_deg[i] * d2r
        n_rad = earth_a_km / math.sqrt(1.0 - earth_e2 * math.sin(phi) ** 2)
        px = n_rad * math.cos(phi)
        pz = n_rad * (1.0 - earth_e2) * math.sin(phi)
        arc = np.empty((720, 3))
        n_arc = 0
        for q in range(720):
            lam = (q * 0.5 - 180.0) * d2r
            dx = gso_radius_km * math.cos(lam) - px
            dy = gso_radius_km * math.sin(lam)
            dz = -pz
            norm = math.sqrt(dx * dx + dy * dy + dz * dz)
            u = (math.cos(phi) * dx + math.sin(phi) * dz) / norm
            if u > -0.6:  # within 37 deg below the horizon: enough for exclusion angles up to 30 deg
                arc[n_arc, 0] = dy / norm
                arc[n_arc, 1] = (-math.sin(phi) * dx + math.cos(phi) * dz) / norm
                arc[n_arc, 2] = u
                n_arc += 1
        for a in range(m):
            ve = -1.0 + 2.0 * a / (m - 1)
            for b in range(m):
                vn = -1.0 + 2.0 * b / (m - 1)
                h2 = ve * ve + vn * vn
                if h2 > 1.0:
                    continue
                vu = math.sqrt(1.0 - h2)
                best = -1.0
                for q in range(n_arc):
                    dot = ve * arc[q, 0] + vn * arc[q, 1] + vu * arc[q, 2]
                    if dot > best:
                        best = dot
                out[i, a, b] = math.acos(min(best, 1.0)) / d2r
    return out


def _link_tables(gens: list[Generation], table: AttenuationTable) -> np.ndarray:
    """C/N [linear] per (generation, attenuation node, elevation bin) with the table's atmosphere.

    Every cell of one node (``table.node_of_point``) sees the same atmosphere, so
    the tables are kept per node, not per cell.
    """
    el = np.arange(_N_BINS) * _BIN_DEG
    n_nodes = len(table.node_lat_deg)
    out = np.zeros((len(gens), n_nodes, _N_BINS), dtype=np.float64)
    first = np.zeros(n_nodes, np.int64)  # one point of each node
    first[table.node_of_point[::-1]] = np.arange(len(table.node_of_point))[::-1]
    loss = loss_on_grid(table, el)[first]
    for g, gen in enumerate(gens):
        pfd = pfd_limit_db(el, high_db=gen.pfd_dbw_m2_4khz) + 10.0 * np.log10(gen.channel_mhz * 1e6 / 4e3)
        scan = scan_loss_db(np.clip(90.0 - el - gen.terminal_tilt_deg, 0.0, 90.0), gen.scan_exponent)
        cn = c_over_n_from_pfd_db(
            pfd[None, :], gen.freq_down_ghz, gen.terminal_g_over_t_db_k - scan[None, :], gen.channel_mhz * 1e6, loss
        )
        out[g] = np.where(np.isfinite(cn), 10.0 ** (cn / 10.0), 0.0)
    return out


def _uplink_tables(gens: list[Generation], table: AttenuationTable) -> np.ndarray:
    """Uplink C/N [linear] per (generation, attenuation node, elevation bin): terminal EIRP less scan loss, free space
    over the slant range to the generation's nominal altitude, the table's atmosphere, the receive beam's G/T."""
    el = np.arange(_N_BINS) * _BIN_DEG
    n_nodes = len(table.node_lat_deg)
    out = np.zeros((len(gens), n_nodes, _N_BINS), dtype=np.float64)
    first = np.zeros(n_nodes, np.int64)
    first[table.node_of_point[::-1]] = np.arange(len(table.node_of_point))[::-1]
    atmosphere = loss_on_grid(table, el)[first]
    for g, gen in enumerate(gens):
        scan = scan_loss_db(np.clip(90.0 - el - gen.terminal_tilt_deg, 0.0, 90.0), gen.scan_exponent)
        path = fspl_db(slant_range_km(np.maximum(el, 0.01), gen.sat_alt_km), gen.freq_up_ghz)
        with np.errstate(invalid="ignore"):
            cn = c_over_n_from_eirp_db(
                gen.terminal_eirp_dbw - scan[None, :],
                path[None, :] + atmosphere,
                gen.sat_g_over_t_up_db_k(),
                gen.up_channel_mhz * 1e6,
            )
        out[g] = np.where(np.isfinite(cn), 10.0 ** (cn / 10.0), 0.0)
    return out


def _rate_index_table(cn_lin: np.ndarray, ci_inv: np.ndarray, thresholds_db) -> np.ndarray:
    """1 + index of the best MODCOD that closes (0: none) per (generation, node, elevation bin), no extra I."""
    with np.errstate(divide="ignore"):
        sinr = 1.0 / (1.0 / cn_lin + ci_inv[:, None, None])
        sinr_db = 10.0 * np.log10(sinr)
    pos = np.searchsorted(thresholds_db, sinr_db, side="right")
    return np.where(cn_lin > 0, pos, 0).astype(np.uint8)


@numba.njit(inline="always")
def _rate(sinr_lin, thresholds_lin, eff, sym_mhz):  # pragma: no cover - compiled
    lo, hi = 0, len(thresholds_lin)
    while lo < hi:  # first threshold above sinr
        mid = (lo + hi) // 2
        if thresholds_lin[mid] <= sinr_lin:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return 0.0
    return eff[lo - 1] * sym_mhz


#: Pairs are kept as ``satellite * _BIN_SLOTS + elevation bin`` in one int32.
_BIN_SLOTS = 512
#: Cells of the coarse look-up from the sine of the elevation to its bin.
_SIN_COARSE = 16384


@numba.njit(inline="always")
def _elevation_f32(x):  # pragma: no cover - compiled
    """Elevation [deg] as float32 from its sine: how the link tables are indexed."""
    return np.float32(math.asin(min(x, 1.0)) * (180.0 / np.pi))


@numba.njit(cache=True)
def _sine_thresholds(values_deg, strict):  # pragma: no cover - compiled
    """Smallest ``x`` in [0, 1] with ``_elevation_f32(x) >= v`` (``> v`` if ``strict``), 2.0 if none, per ``v``.

    ``_elevation_f32`` is monotone, so ``el >= v`` iff ``x >= threshold``: the
    kernel compares sines with these instead of taking an arcsine per pair,
    with exactly the outcome of the comparison in degrees.  Bisection on the
    bit patterns of positive doubles (ordered like the values).
    """
    out = np.empty(values_deg.shape[0])
    one = np.array([1.0]).view(np.int64)[0]
    probe = np.empty(1)
    bits = probe.view(np.int64)
    for i in range(values_deg.shape[0]):
        v = values_deg[i]
        if (_elevation_f32(1.0) > v) if strict else (_elevation_f32(1.0) >= v):
            lo, hi = np.int64(-1), one  # pred(hi) holds; pred(lo) does not (lo = -1: below 0.0)
            while hi - lo > 1:
                mid = lo + (hi - lo) // 2
                bits[0] = mid
                e = _elevation_f32(probe[0])
                if (e > v) if strict else (e >= v):
                    hi = mid
                else:
                    lo = mid
            bits[0] = hi
            out[i] = probe[0]
        else:
            out[i] = 2.0
    return out


def _bin_lookup() -> tuple[np.ndarray, np.ndarray]:
    """Sine thresholds of the elevation bins (``x_bin[b]``: lowest sine in bin ``b``) and a coarse start table."""
    x_bin = _sine_thresholds(np.arange(_N_BINS + 1) * _BIN_DEG, False)
    x_bin[-1] = 2.0  # sentinel above every sine
    grid = np.arange(_SIN_COARSE) / _SIN_COARSE
    coarse = (np.searchsorted(x_bin, grid, side="right") - 1).clip(0, _N_BINS - 1).astype(np.int16)
    return x_bin, coarse


@numba.njit(parallel=True, nogil=True, cache=True)
def _capacity_steps(
    pos,
    pts,
    lon_index,
    band_deg,
    lon_step,
    mask_rad,
    earth_radius_km,
    cap_margin_deg,
    k,
    x_bin,
    x_coarse,
    x_min_el,
    cell_enu,
    cell_node,
    cell_lat_bin,
    gso_bits,
    x_gso_max,
    order,
    sat_gen,
    sat_limit,
    gw_ok,
    g_excl_deg,
    g_channels,
    g_beams,
    g_isl,
    g_sym_mhz,
    g_ci_inv,
    cn_clear,
    cn_wx,
    mc_clear,
    mc_wx,
    rate_of,
    extra_in,
    has_extra,
    thresholds_lin,
    eff,
    demand,
    mc_up_clear,
    mc_up_wx,
    rate_up_of,
    g_channels_up,
    demand_up,
    scratch_cnt,
    scratch_use,
    scratch_pair,
    scratch_lam,
    scratch_lam_up,
    offered,
    beam_time_out,
    sinr_out,
    beam_rate_out,
    sat_load,
    truncated,
    offered_up,
    beam_rate_up_out,
):  # pragma: no cover - compiled
    """Link budgets, beam shares and delivered rates for every time step of a chunk (module docstring).

    The visibility scan and the allocation are one kernel, so no (time,
    point, k) pair arrays exist: each worker thread takes one time step at a
    time through its own scratch rows.  Pass 1 walks satellite by satellite
    over the grid points under its footprint (the visibility kernel's window,
    the same exact horizon test) and keeps, among each point's first ``k``
    pairs in view (satellite order), those that can carry traffic, packed as
    satellite and elevation bin; each satellite totals the demand it can
    serve on the way.  Pass 2 walks the points.  Points are in the grid's
    sorted order (``pts``, ``cell_*``, ``demand``, ``extra_in``); outputs go
    to the caller's cell ``order[m]``.  Link tables are per attenuation node
    (``cell_node``): C/N [linear] and 1 + MODCOD index (``rate_of`` gives the
    beam rate).
    """
    n_sat, n_time = pos.shape[0], pos.shape[1]
    n_cell = pts.shape[0]
    n_band, n_lon = lon_index.shape
    last = n_lon - 1
    sin_mask = math.sin(mask_rad)
    sin2 = sin_mask * sin_mask
    half_grid = (gso_bits.shape[1] - 1) / 2.0
    for t in numba.prange(n_time):
        w = numba.get_thread_id()
        cnt = scratch_cnt[w]
        n_use = scratch_use[w]
        pairs = scratch_pair[w]
        lam = scratch_lam[w]
        lam_up = scratch_lam_up[w]
        cnt[:] = 0
        n_use[:] = 0
        # pass 1: every pair in view, satellite by satellite; each satellite totals the demand it can serve
        for s in range(n_sat):
            lam[s] = 0.0
            lam_up[s] = 0.0
            px, py, pz = pos[s, t, 0], pos[s, t, 1], pos[s, t, 2]
            i0, i1, j_lo, j_hi, wrap_lo, wrap_hi = footprint_window(
                px, py, pz, n_band, last, band_deg, lon_step, mask_rad, earth_radius_km, cap_margin_deg
            )
            g = sat_gen[s]
            live = g >= 0
            if live:
                live = gw_ok[s, t] or g_isl[g]
            gbit = 1 << max(g, 0)
            sd = 0.0
            st = 0.0
            sdu = 0.0
            stu = 0.0
            for i in range(i0, i1 + 1):
                for run in range(2):
                    if run == 0:
                        lo, hi = lon_index[i, j_lo], lon_index[i, j_hi]
                    elif wrap_lo >= 0:
                        lo, hi = lon_index[i, wrap_lo], lon_index[i, wrap_hi]
                    else:
                        break
                    for m in range(lo, hi):
                        up, d2 = _up_and_range2(m, px, py, pz, pts)
                        if up < 0.0 or up * up < sin2 * d2:
                            continue
                        slot = cnt[m]
                        cnt[m] = slot + 1
                        if not live or slot >= k:
                            continue
                        rng = math.sqrt(d2)
                        x = up / rng  # sine of the elevation
                        if x < x_min_el[g]:  # el < g_min_el[g]
                            continue
                        b = x_coarse[int(min(x, 1.0) * _SIN_COARSE - 0.5)]  # bin int(el * 4), el in float32
                        while x >= x_bin[b + 1]:
                            b += 1
                        node = cell_node[m]
                        if has_extra:
                            if cn_clear[g, node, b] <= 0.0:
                                continue
                        elif mc_clear[g, node, b] == 0:  # no MODCOD closes (or no carrier at all)
                            continue
                        if g_excl_deg[g] > 0.0 and x < x_gso_max[m]:  # el <= gso_el_max[m]
                            inv = 1.0 / rng
                            dx = px - pts[m, 0]
                            dy = py - pts[m, 1]
                            dz = pz - pts[m, 2]
                            east = (dx * cell_enu[m, 0, 0] + dy * cell_enu[m, 0, 1] + dz * cell_enu[m, 0, 2]) * inv
                            north = (dx * cell_enu[m, 1, 0] + dy * cell_enu[m, 1, 1] + dz * cell_enu[m, 1, 2]) * inv
                            ia = int((east + 1.0) * half_grid + 0.5)
                            ib = int((north + 1.0) * half_grid + 0.5)
                            if gso_bits[cell_lat_bin[m], ia, ib] & gbit:
                                continue
                        if has_extra:
                            rc = _rate(
                                1.0 / ((1.0 + extra_in[t, m]) / cn_clear[g, node, b] + g_ci_inv[g]),
                                thresholds_lin,
                                eff,
                                g_sym_mhz[g],
                            )
                            if rc <= 0.0:
                                continue
                        else:
                            rc = rate_of[g, mc_clear[g, node, b]]
                        q = n_use[m]
                        pairs[m, q] = s * _BIN_SLOTS + b
                        n_use[m] = q + 1
                        d = demand[m]
                        if d > 0.0:
                            sd += d
                            st += d / rc
                        du = demand_up[m]
                        if du > 0.0:
                            ru = rate_up_of[g, mc_up_clear[g, node, b]]
                            if ru > 0.0:
                                sdu += du
                                stu += du / ru
            # the satellite shares its capacity and its beam-time in proportion to demand
            if sd > 0.0:
                lam[s] = min(sat_limit[s] / sd, g_beams[g] / st)
            if sdu > 0.0:
                lam_up[s] = min(sat_limit[s] / sdu, g_beams[g] / stu)
        # pass 2: each cell fills at most n_channels beams (one per channel) with its best offers
        beyond = 0
        order_q = np.empty(k, np.int64)
        rcs = np.empty(k, np.float32)
        for m in range(n_cell):
            beyond += max(cnt[m] - k, 0)
            d = demand[m]
            n = n_use[m]
            if d <= 0.0 or n == 0:
                continue
            c = order[m]
            node = cell_node[m]
            extra = extra_in[t, m] if has_extra else 0.0
            total_tau = 0.0
            budget = 0.0
            best_j = 0
            for j in range(n):
                s = pairs[m, j] // _BIN_SLOTS
                b = pairs[m, j] % _BIN_SLOTS
                g = sat_gen[s]
                if has_extra:
                    rc = np.float32(
                        _rate(
                            1.0 / ((1.0 + extra) / cn_clear[g, node, b] + g_ci_inv[g]),
                            thresholds_lin,
                            eff,
                            g_sym_mhz[g],
                        )
                    )
                else:
                    rc = rate_of[g, mc_clear[g, node, b]]
                rcs[j] = rc
                order_q[j] = j
                total_tau += min(d * lam[s], rc) / rc
                budget = max(budget, float(g_channels[g]))
                if rc > rcs[best_j]:
                    best_j = j
            if total_tau > budget:  # more offers than channels: best rates first
                for q in range(1, n):
                    j = order_q[q]
                    p = q
                    while p > 0 and rcs[order_q[p - 1]] < rcs[j]:
                        order_q[p] = order_q[p - 1]
                        p -= 1
                    order_q[p] = j
            got = 0.0
            used = 0.0
            sinr_w = 0.0
            for q in range(n):
                j = order_q[q]
                s = pairs[m, j] // _BIN_SLOTS
                b = pairs[m, j] % _BIN_SLOTS
                g = sat_gen[s]
                rc = rcs[j]
                tau = min(min(d * lam[s], rc) / rc, budget - used)
                if tau <= 0.0:
                    break
                if has_extra or j == best_j:  # the weather C/(N+I) is needed for the rate or the output
                    cnw = cn_wx[g, node, b]
                    sinr_w = 1.0 / ((1.0 + extra) / cnw + g_ci_inv[g]) if cnw > 0.0 else 0.0
                if has_extra:
                    rw = min(_rate(sinr_w, thresholds_lin, eff, g_sym_mhz[g]), rc)
                else:
                    rw = min(rate_of[g, mc_wx[g, node, b]], rc)
                delivered = tau * rw
                got += delivered
                used += tau
                sat_load[t, s] += delivered
                if j == best_j:
                    sinr_out[t, c] = 10.0 * math.log10(sinr_w) if sinr_w > 0.0 else np.nan
                    beam_rate_out[t, c] = rw
            offered[t, c] = got
            beam_time_out[t, c] = used
            # the uplink: the same pairs, shared the same way with the uplink rates (no extra interference)
            du = demand_up[m]
            if du <= 0.0:
                continue
            nu = 0
            total_tau = 0.0
            budget = 0.0
            for j in range(n):
                s = pairs[m, j] // _BIN_SLOTS
                g = sat_gen[s]
                ru = rate_up_of[g, mc_up_clear[g, node, pairs[m, j] % _BIN_SLOTS]]
                if ru <= 0.0:
                    continue
                rcs[nu] = ru
                order_q[nu] = j
                nu += 1
                total_tau += min(du * lam_up[s], ru) / ru
                budget = max(budget, float(g_channels_up[g]))
            best = 0.0
            for q in range(nu):
                best = max(best, rcs[q])
            if total_tau > budget:  # best rates first (stable)
                for q in range(1, nu):
                    j = order_q[q]
                    ru = rcs[q]
                    p = q
                    while p > 0 and rcs[p - 1] < ru:
                        order_q[p] = order_q[p - 1]
                        rcs[p] = rcs[p - 1]
                        p -= 1
                    order_q[p] = j
                    rcs[p] = ru
            got = 0.0
            used = 0.0
            for q in range(nu):
                j = order_q[q]
                s = pairs[m, j] // _BIN_SLOTS
                g = sat_gen[s]
                ru = rcs[q]
                tau = min(min(du * lam_up[s], ru) / ru, budget - used)
                if tau <= 0.0:
                    break
                rwu = min(rate_up_of[g, mc_up_wx[g, node, pairs[m, j] % _BIN_SLOTS]], ru)
                got += tau * rwu
                used += tau
                if ru == best:
                    beam_rate_up_out[t, c] = max(beam_rate_up_out[t, c], rwu)
            offered_up[t, c] = got
        truncated[t] = beyond


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
    limit_by_gen = np.array([g.feeder_capacity_mbps() for g in gens])
    sat_limit = (
        np.where(sat_gen >= 0, limit_by_gen[np.maximum(sat_gen, 0)], 0.0) if len(gens) else np.zeros(len(sat_gen))
    )

    lat, lon = h3cells.cell_centers(cells)
    if population is None:
        population = population_per_cell(cells, cell_country=cell_country)
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
                cn_clear,
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
                scratch["scratch_cnt"],
                scratch["scratch_use"],
                scratch["scratch_pair"],
                scratch["scratch_lam"],
                scratch["scratch_lam_up"],
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

    # SGP4 of the next chunk (on this thread) overlaps the compiled kernel (which releases the GIL) on this one
    chunk_steps = int(max(1, min(_CHUNK_STEPS, _CHUNK_PAIRS // max(len(constellation), 1))))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="skyfence-capacity") as pool:
        pending: Future | None = None
        for chunk in iter_positions(constellation, times, chunk_steps=chunk_steps):
            future = pool.submit(evaluate, chunk)
            if pending is not None:
                collect(pending)
            pending = future
        if pending is not None:
            collect(pending)

    res = int((cells[0] >> np.uint64(52)) & np.uint64(0xF))
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


def _assemble(cells, times, lat, lon, population, demand, demand_mbps, active, res, settings, sat_limit, out):
    """A :class:`CapacityResult` from one case's arrays."""
    offered, beam_rate = out.offered, out.beam_rate
    served = np.minimum(offered, demand_mbps[None, :].astype(np.float32))
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(demand_mbps[None, :] > 0, served / demand_mbps[None, :], np.nan).astype(np.float32)
        per_user = np.where(
            active[None, :] > 0,
            np.minimum(np.minimum(offered / active[None, :], beam_rate), demand.plan_peak_mbps),
            np.nan,
        )
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
            "sinr_db": (("time", "cell"), out.sinr, {"units": "dB", "long_name": "C/(N+I) of the first beam"}),
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
