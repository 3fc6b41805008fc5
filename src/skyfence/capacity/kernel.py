"""The compiled core of a capacity run: per-time-step visibility, link budgets and allocation in one pass.

:func:`_capacity_steps` is the kernel :mod:`skyfence.capacity.engine` drives (its module docstring says what the
four steps compute and cites the sources); the rest are the tables it reads -- link tables per ITU-R
attenuation node with MODCOD indices (:func:`_link_tables`, :func:`_uplink_tables`, :func:`_rate_index_table`),
the GSO-arc exclusion table (:func:`_gso_sky_table`) and the exact elevation-bin thresholds on the sine
(:func:`_sine_thresholds`, :func:`_bin_lookup`).  Kept apart so the engine reads as orchestration: what to
propagate, which cases to run, how to assemble the dataset.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from skyfence.capacity.atmosphere import (
    AttenuationTable,
    loss_on_grid,
)
from skyfence.capacity.link import (
    c_over_n_from_eirp_db,
    c_over_n_from_pfd_db,
    fspl_db,
    pfd_limit_db,
    scan_loss_db,
    slant_range_km,
)
from skyfence.capacity.resources import (
    Generation,
)
from skyfence.coverage.visibility import (
    _up_and_range2,
    footprint_window,
)

#: Elevation bins of the per-cell link tables [deg].
_BIN_DEG = 0.25
_N_BINS = int(90.0 / _BIN_DEG) + 1
#: GSO radius [km] (Vallado 2013) and the latitude step of the GSO sky tables [deg].
_GSO_RADIUS_KM = 42164.17
_GSO_LAT_BIN_DEG = 0.5

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


@numba.njit(inline="always")
def _sort_by_rate(order_q, ras, taus, n):  # pragma: no cover - compiled
    """Sort the first ``n`` offers by delivered rate, highest first, in place (insertion sort, stable)."""
    for q in range(1, n):
        j, r, tau = order_q[q], ras[q], taus[q]
        p = q
        while p > 0 and ras[p - 1] < r:
            order_q[p] = order_q[p - 1]
            ras[p] = ras[p - 1]
            taus[p] = taus[p - 1]
            p -= 1
        order_q[p] = j
        ras[p] = r
        taus[p] = tau


@numba.njit(inline="always")
def _fill_channels(order_q, ras, taus, nu, total_tau, budget, pairs_row, load_row, add_load):  # pragma: no cover
    """Fill at most ``budget`` beam-time with the first ``nu`` offers, best delivered rate first (sorted only when
    they do not all fit); returns (delivered Mb/s, beam-time used).  With ``add_load`` each satellite's delivered
    Mb/s is added to ``load_row``."""
    if total_tau > budget:
        _sort_by_rate(order_q, ras, taus, nu)
    got = 0.0
    used = 0.0
    for q in range(nu):
        tau = min(taus[q], budget - used)
        if tau <= 0.0:
            break
        delivered = tau * ras[q]
        got += delivered
        used += tau
        if add_load:
            load_row[pairs_row[order_q[q]] // _BIN_SLOTS] += delivered
    return got, used


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
    group_start,
    group_cells,
    scratch_cnt,
    scratch_use,
    scratch_pair,
    scratch_lam,
    scratch_lam_up,
    scratch_plan,
    scratch_plan_up,
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

    Pass 2 walks the beam footprints: ``group_cells[group_start[f]:group_start[f + 1]]`` are the (sorted) points
    inside footprint ``f``.  The footprint, not the point, is where the beam constraints hold, so that the answer
    does not depend on the grid: a satellite gives one footprint at most one beam (its points' planned beam-times
    are scaled down together when they add up to more), and the footprint's ``n_channels`` beams are shared by its
    points in proportion to their demand.  Both come from the plan (demand, clear-sky rates, which satellites are
    alive), never from the weather or a jammer, so no point's figure rises under more attack.  A point that is its
    own footprint gets exactly what it got before footprints were introduced.
    """
    n_sat, n_time = pos.shape[0], pos.shape[1]
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
                        if mc_clear[g, node, b] == 0:  # no MODCOD closes in clear sky (or no carrier at all)
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
                        rc = rate_of[g, mc_clear[g, node, b]]  # the plan: clear sky, no jammer
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
        # pass 2, footprint by footprint: each satellite gives a footprint at most one beam (planned beam-times of
        # its points scaled down together), and the footprint's n_channels beams are shared by its points in
        # proportion to demand; each point then fills its share with the beam-time the plan gives it, best
        # delivered rates first (a fractional knapsack: its optimum never rises when an offer goes or a rate falls)
        plan = scratch_plan[w]
        plan_up = scratch_plan_up[w]
        beyond = 0
        order_q = np.empty(k, np.int64)
        ras = np.empty(k, np.float32)
        taus = np.empty(k, np.float64)
        for f in range(group_start.shape[0] - 1):
            # the plan of the footprint: per satellite the beam-time its points ask for, the footprint's demand (a
            # point that is its own footprint needs none: it caps each offer at one beam and keeps every channel)
            single = group_start[f + 1] - group_start[f] == 1
            f_demand = 0.0
            f_demand_up = 0.0
            f_budget = 0.0
            f_budget_up = 0.0
            for p in range(group_start[f], group_start[f + 1]):
                m = group_cells[p]
                beyond += max(cnt[m] - k, 0)
                if single:
                    continue
                d = demand[m]
                du = demand_up[m]
                n = n_use[m]
                if n == 0:
                    continue
                node = cell_node[m]
                if d > 0.0:
                    f_demand += d
                if du > 0.0:
                    f_demand_up += du
                for j in range(n):
                    s = pairs[m, j] // _BIN_SLOTS
                    b = pairs[m, j] % _BIN_SLOTS
                    g = sat_gen[s]
                    if d > 0.0:
                        f_budget = max(f_budget, float(g_channels[g]))
                        plan[s] += d * lam[s] / rate_of[g, mc_clear[g, node, b]]
                    if du > 0.0:
                        ru = rate_up_of[g, mc_up_clear[g, node, b]]
                        if ru > 0.0:
                            f_budget_up = max(f_budget_up, float(g_channels_up[g]))
                            plan_up[s] += du * lam_up[s] / ru
            for p in range(group_start[f], group_start[f + 1]):
                m = group_cells[p]
                d = demand[m]
                n = n_use[m]
                if d <= 0.0 or n == 0:
                    continue
                c = order[m]
                node = cell_node[m]
                extra = extra_in[t, m] if has_extra else 0.0
                total_tau = 0.0
                best_rate = 0.0
                best_sinr = 0.0
                own_budget = 0.0
                nu = 0
                for j in range(n):
                    s = pairs[m, j] // _BIN_SLOTS
                    b = pairs[m, j] % _BIN_SLOTS
                    g = sat_gen[s]
                    own_budget = max(own_budget, float(g_channels[g]))
                    rc = rate_of[g, mc_clear[g, node, b]]  # the rate the beam-time was planned on
                    cnw = cn_wx[g, node, b]
                    sinr_w = 1.0 / ((1.0 + extra) / cnw + g_ci_inv[g]) if cnw > 0.0 else 0.0
                    best_sinr = max(best_sinr, sinr_w)
                    if has_extra:
                        ra = min(np.float32(_rate(sinr_w, thresholds_lin, eff, g_sym_mhz[g])), rc)
                    else:
                        ra = min(rate_of[g, mc_wx[g, node, b]], rc)
                    if ra <= 0.0:  # the beam-time stays with this cell and carries nothing
                        continue
                    best_rate = max(best_rate, ra)
                    if single:
                        tau = min(d * lam[s], rc) / rc
                    else:
                        tau = d * lam[s] / rc
                        if plan[s] > 1.0:  # at most one beam of this satellite on the footprint
                            tau = tau / plan[s]
                    ras[nu] = ra
                    taus[nu] = tau
                    order_q[nu] = j
                    nu += 1
                    total_tau += tau
                sinr_out[t, c] = 10.0 * math.log10(best_sinr) if best_sinr > 0.0 else np.nan
                beam_rate_out[t, c] = best_rate
                budget = own_budget if single else f_budget * (d / f_demand)  # its share of the footprint's channels
                got, used = _fill_channels(order_q, ras, taus, nu, total_tau, budget, pairs[m], sat_load[t], True)
                offered[t, c] = got
                beam_time_out[t, c] = used
                # the uplink: the same pairs, shared the same way with the uplink rates (no extra interference)
                du = demand_up[m]
                if du <= 0.0:
                    continue
                nu = 0
                total_tau = 0.0
                best_rate = 0.0
                own_budget = 0.0
                for j in range(n):
                    s = pairs[m, j] // _BIN_SLOTS
                    b = pairs[m, j] % _BIN_SLOTS
                    g = sat_gen[s]
                    ru = rate_up_of[g, mc_up_clear[g, node, b]]
                    if ru <= 0.0:
                        continue
                    own_budget = max(own_budget, float(g_channels_up[g]))
                    rwu = min(rate_up_of[g, mc_up_wx[g, node, b]], ru)
                    if rwu <= 0.0:
                        continue
                    best_rate = max(best_rate, rwu)
                    if single:
                        tau = min(du * lam_up[s], ru) / ru
                    else:
                        tau = du * lam_up[s] / ru
                        if plan_up[s] > 1.0:
                            tau = tau / plan_up[s]
                    ras[nu] = rwu
                    taus[nu] = tau
                    order_q[nu] = j
                    nu += 1
                    total_tau += tau
                beam_rate_up_out[t, c] = best_rate
                budget = own_budget if single else f_budget_up * (du / f_demand_up)
                got, _ = _fill_channels(order_q, ras, taus, nu, total_tau, budget, pairs[m], sat_load[t], False)
                offered_up[t, c] = got
            # clear the footprint's plan for the next one
            if single:
                continue
            for p in range(group_start[f], group_start[f + 1]):
                m = group_cells[p]
                for j in range(n_use[m]):
                    s = pairs[m, j] // _BIN_SLOTS
                    plan[s] = 0.0
                    plan_up[s] = 0.0
        truncated[t] = beyond
