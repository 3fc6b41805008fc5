"""Jamming through the capacity layer: J/N into C/(N+I+J), MODCOD fall-back, degraded or zero rate per cell and time.

Downlink (``ku_downlink`` jammers)
    The jammer's power at each terminal (:func:`~skyfence.threats.jamming.jamming_map`: line of sight on a 4/3
    Earth, free-space loss, the terminal's off-axis gain toward the jammer while it points at its highest
    satellite, the share of the jammer's bandwidth inside the channel) over the terminal's noise ``k T B`` --
    with ``T`` from the generation's G/T and the terminal's peak gain -- is one more interference-to-noise ratio.
    :func:`~skyfence.capacity.engine.run_capacity` adds it to C/(N+I) (its ``extra_interference``), picks the best
    DVB-S2X MODCOD that still closes, and the rate falls back -- to zero when none does.
Uplink (``ku_uplink`` jammers)
    A satellite serves a cell with a receive beam pointed at the cell.  A jammer anywhere in that beam's pattern
    (ITU-R S.1528, the generation's peak gain, half-beamwidth and side-lobe level) competes with the terminal's
    uplink at the satellite, so *every cell that beam serves* is degraded.  The uplink J/S per (time, cell) is
    ``EIRP_j + G_sat(theta_j) - FSPL_j - (EIRP_ut + G_sat(0) - FSPL_ut)`` and the uplink C/(N+J) combines it with
    the clear-sky uplink C/N (an assumption: 10 dB, the order of del Portillo et al. 2019's user uplinks); a cell
    whose uplink no MODCOD closes gets no service (a terminal that cannot send cannot use the downlink either).
    The terminal's uplink EIRP (default 38 dBW) is an ASSUMPTION (docs/threats.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skyfence.threats.jamming import BAND_FREQ_GHZ, JammerSite, TerminalAntenna, fspl_db

__all__ = [
    "DEFAULT_UPLINK_CN_DB",
    "DEFAULT_UT_EIRP_DBW",
    "downlink_jn_db",
    "jamming_terms",
    "run_jammed_capacity",
    "uplink_js_db",
]

#: Terminal uplink EIRP [dBW] (ASSUMPTION; see docs/threats.md).
DEFAULT_UT_EIRP_DBW = 38.0
#: Clear-sky user-uplink C/N [dB] (ASSUMPTION, the order of del Portillo et al. 2019 Table 5's user uplinks).
DEFAULT_UPLINK_CN_DB = 10.0


def downlink_jn_db(jammer_dbw: np.ndarray, generation, antenna: TerminalAntenna) -> np.ndarray:
    """J/N [dB] at the terminal from the received jammer power [dBW] (time, cell); -inf where no jammer reaches.

    ``N = k T B`` with ``T = G_max / (G/T)`` of the generation's terminal and ``B`` its channel bandwidth.
    """
    from skyfence.capacity.link import BOLTZMANN_DBW_PER_K_HZ

    t_sys_db = antenna.g_max_dbi - generation.terminal_g_over_t_db_k
    n_dbw = BOLTZMANN_DBW_PER_K_HZ + t_sys_db + 10.0 * np.log10(generation.channel_mhz * 1e6)
    return np.asarray(jammer_dbw, dtype=float) - n_dbw


def uplink_js_db(
    constellation,
    cells: np.ndarray,
    times: np.ndarray,
    jammers: Sequence[JammerSite],
    generation,
    *,
    ut_eirp_dbw: float = DEFAULT_UT_EIRP_DBW,
    min_elevation_deg: float = 25.0,
) -> np.ndarray:
    """Uplink J/S [dB] per (time, cell) at the satellite serving the cell (its highest), -inf without jammers."""
    from skyfence.capacity.link import s1528_gain_db
    from skyfence.coverage.visibility import GroundGrid, iter_visibility
    from skyfence.earth import cells as h3cells
    from skyfence.earth.geodesy import enu_basis, geodetic_to_ecef

    up = [j for j in jammers if j.band == "ku_uplink"]
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    times = np.asarray(times, dtype="datetime64[ns]")
    out = np.full((len(times), len(cells)), -np.inf)
    if not up:
        return out
    lat, lon = h3cells.cell_centers(cells)
    ground = geodetic_to_ecef(lat, lon, 0.0)
    freq = BAND_FREQ_GHZ["ku_uplink"]
    jam_xyz = np.stack([geodetic_to_ecef(j.lat_deg, j.lon_deg, j.height_m / 1000.0) for j in up])
    jam_up = np.stack([enu_basis(j.lat_deg, j.lon_deg)[2] for j in up])
    on = np.stack([j.active(times) for j in up], axis=1)
    grid = GroundGrid.from_latlon(lat, lon)
    for chunk in iter_visibility(
        constellation, grid, times, min_elevation_deg=min_elevation_deg, k=1, keep_positions=True
    ):
        assert chunk.best_sat is not None and chunk.position_itrf_km is not None
        best = chunk.best_sat[:, :, 0]
        served = best >= 0
        sat = chunk.position_itrf_km[np.maximum(best, 0), np.arange(len(chunk.times))[:, None]]  # (t, c, 3)
        to_cell = ground[None] - sat
        d_cell = np.linalg.norm(to_cell, axis=2)
        s_dbw = ut_eirp_dbw + generation.sat_peak_gain_dbi - fspl_db(d_cell, freq)
        total = np.zeros(best.shape)
        for j, site in enumerate(up):
            to_jam = jam_xyz[j][None, None, :] - sat
            d_jam = np.linalg.norm(to_jam, axis=2)
            visible = np.einsum("tcx,x->tc", -to_jam, jam_up[j]) >= 0.0  # satellite above the jammer's horizon
            cos_t = np.einsum("tcx,tcx->tc", to_cell, to_jam) / (d_cell * d_jam)
            theta = np.degrees(np.arccos(np.clip(cos_t, -1.0, 1.0)))
            gain = s1528_gain_db(
                theta,
                generation.sat_peak_gain_dbi,
                generation.sat_half_beamwidth_deg,
                sidelobe_db=generation.sat_sidelobe_db,
            )
            in_band = -10.0 * np.log10(max(site.bandwidth_mhz / generation.channel_mhz, 1.0))
            j_dbw = site.eirp_dbw + in_band + gain - fspl_db(d_jam, freq)
            total += np.where(visible & on[chunk.time_slice, j][:, None], 10.0 ** (j_dbw / 10.0), 0.0)
        with np.errstate(divide="ignore"):
            js = 10.0 * np.log10(total) - s_dbw
        out[chunk.time_slice] = np.where(served, js, -np.inf)
    return out


def jamming_terms(
    constellation,
    cells: np.ndarray,
    times: np.ndarray,
    jammers: Sequence[JammerSite],
    *,
    antenna: TerminalAntenna | None = None,
    generation: str | None = None,
    uplink_cn_db: float = DEFAULT_UPLINK_CN_DB,
    ut_eirp_dbw: float = DEFAULT_UT_EIRP_DBW,
    min_elevation_deg: float = 25.0,
):
    """What jammers do to the capacity layer: ``(extra_interference, no_service, jn_db, uplink_js_db)``.

    ``extra_interference`` and ``no_service`` are the callables of a
    :class:`~skyfence.capacity.engine.CapacityCase` (downlink J/N [linear] per (time, cell); cells whose uplink
    no MODCOD closes); ``jn_db`` and ``uplink_js_db`` the arrays behind them (module docstring).
    """
    from skyfence.capacity.engine import assign_generations
    from skyfence.capacity.modcod import frontier_arrays
    from skyfence.capacity.resources import get_generation
    from skyfence.threats.jamming import jamming_map

    antenna = antenna or TerminalAntenna()
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    names = assign_generations(constellation, generation)
    used = sorted({n for n in names.tolist() if n})
    gen = get_generation(used[0]) if used else get_generation("starlink-v1.5")
    jam = jamming_map(
        constellation,
        cells,
        times,
        jammers,
        antenna=antenna,
        signal_bandwidth_mhz=gen.channel_mhz,
        min_elevation_deg=min_elevation_deg,
    )
    jn_db = downlink_jn_db(jam.jammer_dbw, gen, antenna)
    jn_lin = np.where(np.isfinite(jn_db), 10.0 ** (jn_db / 10.0), 0.0)
    up_js = uplink_js_db(
        constellation, cells, times, jammers, gen, ut_eirp_dbw=ut_eirp_dbw, min_elevation_deg=min_elevation_deg
    )
    thresholds_db, _ = frontier_arrays(linear=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        up_cnj = -10.0 * np.log10(10.0 ** (-uplink_cn_db / 10.0) + 10.0 ** (up_js / 10.0))
    dead = np.isfinite(up_js) & (up_cnj < float(np.min(thresholds_db)))

    def extra(_times: np.ndarray, sl: slice) -> np.ndarray:
        return jn_lin[sl]

    def no_service(_times: np.ndarray, sl: slice) -> np.ndarray:
        return dead[sl]

    return extra, (no_service if dead.any() else None), jn_db, up_js


def run_jammed_capacity(
    constellation,
    cells: np.ndarray,
    times: np.ndarray,
    jammers: Sequence[JammerSite],
    *,
    antenna: TerminalAntenna | None = None,
    uplink_cn_db: float = DEFAULT_UPLINK_CN_DB,
    ut_eirp_dbw: float = DEFAULT_UT_EIRP_DBW,
    min_elevation_deg: float = 25.0,
    **capacity_options,
):
    """:func:`~skyfence.capacity.engine.run_capacity` with the jammers as one more C/(N+I+J) term.

    Returns ``(result, jn_db, uplink_js_db)``: the capacity result (downlink jamming inside its MODCOD choice;
    cells whose uplink no MODCOD closes set to zero), the downlink J/N and the uplink J/S per (time, cell).
    """
    from skyfence.capacity.engine import CapacityCase, run_capacity_cases

    extra, no_service, jn_db, up_js = jamming_terms(
        constellation,
        cells,
        times,
        jammers,
        antenna=antenna,
        generation=capacity_options.get("generation"),
        uplink_cn_db=uplink_cn_db,
        ut_eirp_dbw=ut_eirp_dbw,
        min_elevation_deg=min_elevation_deg,
    )
    ground = capacity_options.pop("ground", None)
    case = CapacityCase("jammed", ground=ground, extra_interference=extra, no_service=no_service)
    (result,) = run_capacity_cases(constellation, cells, times, [case], **capacity_options)
    return result, jn_db, up_js
