"""The capacity engine before the fused kernel (skyfence main at 144d6a6), kept as the reference it must match.

Visibility first (``iter_visibility`` with ``all_pairs``: every pair in
view as a (time, cell, k) array), then the allocation kernel ``_share`` on
per-cell link tables.  ``reference_arrays`` returns what that code put in a
:class:`~skyfence.capacity.engine.CapacityResult`'s dataset before the
derived variables: offered Mb/s, beam-time, SINR, beam rate and satellite
load per step.  Only the gateway mask is the engine's own (the old one kept
the 64 highest satellites over a gateway and missed the rest; see
``test_gateway_mask_is_every_satellite_in_view``).  Compiled without the
numba cache so that nothing is written beside the tests.

The allocation rules changed once since (issue #14, monotone under attack)
and were changed here in the same way, the geometry left as it was: the
shares are planned on clear-sky rates *without* the jammer (before: with
it, and pairs it silenced dropped from the plan); a cell takes its offers
best *delivered* rate first (before: best clear-sky rate first); offers
that deliver nothing take no beam-time; the beam rate and SINR reported are
the best of the cell's offers (before: those of its best clear-sky offer).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np

from skyfence.capacity.atmosphere import DEFAULT_ELEVATION_NODES_DEG, AttenuationTable, loss_on_grid
from skyfence.capacity.demand import DEFAULT_DEMAND, DemandModel, population_per_cell
from skyfence.capacity.engine import CLEAR_SKY_P_PERCENT, _gateway_mask, assign_generations
from skyfence.capacity.kernel import _GSO_GRID, _GSO_LAT_BIN_DEG, _GSO_RADIUS_KM, _gso_sky_table
from skyfence.capacity.link import c_over_n_from_pfd_db, pfd_limit_db, scan_loss_db
from skyfence.capacity.modcod import frontier_arrays
from skyfence.capacity.resources import GENERATIONS, Generation, get_generation
from skyfence.coverage.visibility import GroundGrid, iter_visibility
from skyfence.earth import cells as h3cells
from skyfence.earth.geodesy import WGS84_A_KM, WGS84_E2, enu_basis, geodetic_to_ecef
from skyfence.orbits.constellation import Constellation

_BIN_DEG = 0.25
_N_BINS = int(90.0 / _BIN_DEG) + 1


def _link_tables(gens: list[Generation], table: AttenuationTable, n_cells: int) -> np.ndarray:
    """C/N [linear] per (generation, cell, elevation bin) with the table's atmosphere."""
    el = np.arange(_N_BINS) * _BIN_DEG
    out = np.zeros((len(gens), n_cells, _N_BINS), dtype=np.float64)
    loss = loss_on_grid(table, el)
    for g, gen in enumerate(gens):
        pfd = pfd_limit_db(el, high_db=gen.pfd_dbw_m2_4khz) + 10.0 * np.log10(gen.channel_mhz * 1e6 / 4e3)
        scan = scan_loss_db(np.clip(90.0 - el - gen.terminal_tilt_deg, 0.0, 90.0), gen.scan_exponent)
        cn = c_over_n_from_pfd_db(
            pfd[None, :], gen.freq_down_ghz, gen.terminal_g_over_t_db_k - scan[None, :], gen.channel_mhz * 1e6, loss
        )
        out[g] = np.where(np.isfinite(cn), 10.0 ** (cn / 10.0), 0.0)
    return out


def _rate_table(cn_lin: np.ndarray, ci_inv: np.ndarray, sym_mhz: np.ndarray, thresholds_db, eff) -> np.ndarray:
    """Beam rate [Mb/s] per (generation, cell, elevation bin) without extra interference."""
    with np.errstate(divide="ignore"):
        sinr = 1.0 / (1.0 / cn_lin + ci_inv[:, None, None])
        sinr_db = 10.0 * np.log10(sinr)
    pos = np.searchsorted(thresholds_db, sinr_db, side="right") - 1
    rate = np.where(pos >= 0, eff[np.maximum(pos, 0)], 0.0) * sym_mhz[:, None, None]
    return np.where(cn_lin > 0, rate, 0.0).astype(np.float32)


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


@numba.njit(parallel=True, nogil=True, cache=False)
def _share(
    pair_sat,
    pair_el,
    pair_count,
    pos,
    cell_xyz,
    cell_enu,
    cell_lat_bin,
    gso_sky,
    gso_el_max,
    sat_gen,
    sat_limit,
    gw_ok,
    g_min_el,
    g_excl_deg,
    g_channels,
    g_beams,
    g_isl,
    g_sym_mhz,
    g_ci_inv,
    cn_clear,
    cn_wx,
    rate_clear,
    rate_wx,
    extra_in,
    has_extra,
    thresholds_lin,
    eff,
    demand,
    offered,
    beam_time_out,
    sinr_out,
    beam_rate_out,
    sat_load,
):  # pragma: no cover - compiled
    n_time, n_cell, k = pair_sat.shape
    n_sat = sat_gen.shape[0]
    half_grid = (gso_sky.shape[1] - 1) / 2.0
    for t in numba.prange(n_time):
        sum_d = np.zeros(n_sat)
        sum_tau = np.zeros(n_sat)
        rc_pair = np.empty((n_cell, k), np.float32)
        # pass 1: clear-sky link budget of every pair in view; each satellite totals the demand it can serve
        for c in range(n_cell):
            d = demand[c]
            n = min(pair_count[t, c], k)
            for j in range(n):
                rc_pair[c, j] = 0.0
                s = pair_sat[t, c, j]
                g = sat_gen[s]
                if g < 0:
                    continue
                el = pair_el[t, c, j]
                if el < g_min_el[g] or not (gw_ok[s, t] or g_isl[g]):
                    continue
                cnc = cn_clear[g, c, int(el * 4.0)]
                if cnc <= 0.0:
                    continue
                if g_excl_deg[g] > 0.0 and el <= gso_el_max[c]:
                    dx = pos[s, t, 0] - cell_xyz[c, 0]
                    dy = pos[s, t, 1] - cell_xyz[c, 1]
                    dz = pos[s, t, 2] - cell_xyz[c, 2]
                    inv = 1.0 / math.sqrt(dx * dx + dy * dy + dz * dz)
                    east = (dx * cell_enu[c, 0, 0] + dy * cell_enu[c, 0, 1] + dz * cell_enu[c, 0, 2]) * inv
                    north = (dx * cell_enu[c, 1, 0] + dy * cell_enu[c, 1, 1] + dz * cell_enu[c, 1, 2]) * inv
                    ia = int((east + 1.0) * half_grid + 0.5)
                    ib = int((north + 1.0) * half_grid + 0.5)
                    if gso_sky[cell_lat_bin[c], ia, ib] < g_excl_deg[g]:
                        continue
                rc = rate_clear[g, c, int(el * 4.0)]  # the plan: clear sky, no jammer
                rc_pair[c, j] = rc
                if rc > 0.0 and d > 0.0:
                    sum_d[s] += d
                    sum_tau[s] += d / rc
        # each satellite shares its capacity and its beam-time in proportion to demand
        lam = np.zeros(n_sat)
        for s in range(n_sat):
            if sum_d[s] > 0.0:
                lam[s] = min(sat_limit[s] / sum_d[s], g_beams[sat_gen[s]] / sum_tau[s])
        # pass 2: each cell fills at most n_channels beams (one per channel) with the beam-time the plan gives it,
        # best delivered rates (weather and jammer) first
        order = np.empty(k, np.int64)
        ra_pair = np.empty(k, np.float32)
        tau_pair = np.empty(k)
        for c in range(n_cell):
            d = demand[c]
            if d <= 0.0:
                continue
            extra = extra_in[t, c] if has_extra else 0.0
            n = min(pair_count[t, c], k)
            m = 0
            total_tau = 0.0
            budget = 0.0
            best_rate = 0.0
            best_sinr = 0.0
            any_pair = False
            for j in range(n):
                rc = rc_pair[c, j]
                if rc <= 0.0:
                    continue
                any_pair = True
                s = pair_sat[t, c, j]
                g = sat_gen[s]
                budget = max(budget, float(g_channels[g]))
                cnw = cn_wx[g, c, int(pair_el[t, c, j] * 4.0)]
                sinr_w = 1.0 / ((1.0 + extra) / cnw + g_ci_inv[g]) if cnw > 0.0 else 0.0
                best_sinr = max(best_sinr, sinr_w)
                ra = (
                    min(_rate(sinr_w, thresholds_lin, eff, g_sym_mhz[g]), rc)
                    if has_extra
                    else min(rate_wx[g, c, int(pair_el[t, c, j] * 4.0)], rc)
                )
                if ra <= 0.0:
                    continue
                best_rate = max(best_rate, ra)
                order[m] = j
                ra_pair[m] = ra
                tau_pair[m] = min(d * lam[s], rc) / rc
                total_tau += tau_pair[m]
                m += 1
            if not any_pair:
                continue
            sinr_out[t, c] = 10.0 * math.log10(best_sinr) if best_sinr > 0.0 else np.nan
            beam_rate_out[t, c] = best_rate
            rank = np.arange(m)
            if total_tau > budget:  # more beam-time than channels: best delivered rates first
                rank = np.argsort(-ra_pair[:m], kind="mergesort")
            got = 0.0
            used = 0.0
            for q in range(m):
                i = rank[q]
                s = pair_sat[t, c, order[i]]
                tau = min(tau_pair[i], budget - used)
                if tau <= 0.0:
                    break
                delivered = tau * ra_pair[i]
                got += delivered
                used += tau
                sat_load[t, s] += delivered
            offered[t, c] = got
            beam_time_out[t, c] = used


def reference_arrays(
    constellation: Constellation,
    cells: np.ndarray,
    times: np.ndarray,
    *,
    generation: str | None = None,
    generation_overrides: dict[str, dict] | None = None,
    rain_p: float | None = 0.1,
    demand: DemandModel = DEFAULT_DEMAND,
    population: np.ndarray | None = None,
    ground=None,
    gateway_min_elevation_deg: float = 25.0,
    k: int = 128,
    extra_interference: Callable[[np.ndarray, slice], np.ndarray] | None = None,
    cell_country: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The old ``run_capacity`` up to its per-step arrays (same parameters, already checked)."""
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    times = np.asarray(times, dtype="datetime64[ns]")
    names = assign_generations(constellation, generation)
    used = sorted({n for n in names.tolist() if n})
    overrides = generation_overrides or {}
    for key in overrides:
        get_generation(key, field=f"generation_overrides.{key}")
    gens = [get_generation(n).with_overrides(**overrides.get(n, {})) for n in used]
    sat_gen = np.array([used.index(n) if n else -1 for n in names.tolist()], dtype=np.int32)
    limit_by_gen = np.array([g.feeder_capacity_mbps() for g in gens])
    sat_limit = (
        np.where(sat_gen >= 0, limit_by_gen[np.maximum(sat_gen, 0)], 0.0) if len(gens) else np.zeros(len(sat_gen))
    )

    lat, lon = h3cells.cell_centers(cells)
    if population is None:
        population = population_per_cell(cells, cell_country=cell_country)
    population = np.asarray(population, dtype=float)
    demand_mbps = demand.demand_mbps(population)

    freq = gens[0].freq_down_ghz if gens else 11.7
    diameter = gens[0].terminal_diameter_m if gens else 0.55
    mask = float(min((g.min_elevation_deg for g in gens), default=25.0))
    nodes = tuple(e for e in DEFAULT_ELEVATION_NODES_DEG if e >= mask) or (mask, 90.0)
    nodes = (mask, *nodes) if nodes[0] > mask else nodes
    clear_tab = AttenuationTable.build(
        lat, lon, freq, CLEAR_SKY_P_PERCENT, diameter_m=diameter, include_rain=False, elevation_nodes_deg=nodes
    )
    cn_clear = _link_tables(gens, clear_tab, len(cells)) if gens else np.zeros((1, len(cells), _N_BINS))
    cn_wx = cn_clear
    if rain_p is not None and gens:
        wx_tab = AttenuationTable.build(
            lat, lon, freq, rain_p, diameter_m=diameter, include_rain=True, elevation_nodes_deg=nodes
        )
        cn_wx = np.minimum(_link_tables(gens, wx_tab, len(cells)), cn_clear)  # weather never beats clear sky

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
    rate_clear = _rate_table(cn_clear, g_ci_inv, g_sym, thresholds_db, eff)
    rate_wx = _rate_table(cn_wx, g_ci_inv, g_sym, thresholds_db, eff) if cn_wx is not cn_clear else rate_clear

    xyz = geodetic_to_ecef(lat, lon, 0.0)
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
    grid = GroundGrid.from_latlon(lat, lon)

    n_t, n_c = len(times), len(cells)
    offered = np.zeros((n_t, n_c), np.float32)
    beam_time = np.zeros((n_t, n_c), np.float32)
    sinr = np.full((n_t, n_c), np.nan, np.float32)
    beam_rate = np.zeros((n_t, n_c), np.float32)
    sat_load = np.zeros((n_t, len(constellation)), np.float32)
    chunk_steps = int(max(1, min(60, 40_000_000 // max(n_c * k, 1))))
    truncated = 0
    for chunk in iter_visibility(
        constellation,
        grid,
        times,
        min_elevation_deg=mask,
        k=k,
        chunk_steps=chunk_steps,
        keep_positions=True,
        all_pairs=True,
    ):
        sl = chunk.time_slice
        pos = np.ascontiguousarray(chunk.position_itrf_km)
        gw_ok = _gateway_mask(ground, pos, gateway_min_elevation_deg)
        nt = len(chunk.times)
        extra = (
            np.zeros((nt, n_c))
            if extra_interference is None
            else np.asarray(extra_interference(chunk.times, sl), dtype=np.float64)
        )
        load = np.zeros((nt, len(constellation)))
        o = np.zeros((nt, n_c))
        b = np.zeros((nt, n_c))
        s_db = np.full((nt, n_c), np.nan)
        br = np.zeros((nt, n_c))
        truncated += int(np.maximum(chunk.count.astype(np.int64) - k, 0).sum())
        _share(
            chunk.best_sat,
            chunk.best_elevation_deg,
            chunk.count,
            pos,
            xyz,
            enu,
            cell_lat_bin,
            gso_sky,
            gso_el_max,
            sat_gen,
            sat_limit,
            gw_ok,
            g_min_el,
            g_excl,
            g_channels,
            g_beams,
            g_isl,
            g_sym,
            g_ci_inv,
            cn_clear,
            cn_wx,
            rate_clear,
            rate_wx,
            extra,
            extra_interference is not None,
            thresholds_lin,
            eff,
            demand_mbps,
            o,
            b,
            s_db,
            br,
            load,
        )
        offered[sl] = o
        beam_time[sl] = b
        sinr[sl] = s_db
        beam_rate[sl] = br
        sat_load[sl] = load

    return {
        "offered_mbps": offered,
        "beams": beam_time,
        "sinr_db": sinr,
        "beam_rate_mbps": beam_rate,
        "satellite_load_mbps": sat_load,
        "pairs_beyond_k": np.array(truncated),
    }
