"""Link-budget physics: geometry, path loss, noise, antenna patterns, C/(N+I).

Pure functions on arrays (scalars broadcast); decibels everywhere a name says
``_db``/``_dbw``/``_dbi``.  Noise and interference add as powers
(:func:`combine_ratios_db`), so a jammer is one more ratio in the same call.

References
----------
- ITU-R P.525-4 (2019): free-space attenuation, ``L = 92.45 + 20 log10(f GHz) + 20 log10(d km)``.
- ITU-R S.1528 (2001), recommends 1.2: satellite antenna pattern for non-GSO systems below 30 GHz.
- ITU Radio Regulations, Article 21, Table 21-4: PFD limits on the ground for NGSO FSS space stations.
- Maral, Bousquet & Sun (2020), *Satellite Communications Systems*, 6th ed., ch. 5 (C/N0, G/T, Eb/N0).
- Mailloux (2018), *Phased Array Antenna Handbook*, 3rd ed., ch. 1 (projected-aperture scan loss).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BOLTZMANN_DBW_PER_K_HZ",
    "SPEED_OF_LIGHT_M_S",
    "c_over_n_from_eirp_db",
    "c_over_n_from_pfd_db",
    "combine_ratios_db",
    "ebn0_db",
    "fspl_db",
    "noise_dbw",
    "pfd_limit_db",
    "s1528_gain_db",
    "scan_loss_db",
    "slant_range_km",
    "watts_to_dbw",
]

#: Boltzmann's constant 1.380649e-23 J/K (SI 2019) in dB(W/(K·Hz)).
BOLTZMANN_DBW_PER_K_HZ = 10.0 * np.log10(1.380649e-23)
#: Speed of light in vacuum [m/s] (SI).
SPEED_OF_LIGHT_M_S = 299_792_458.0
#: Mean Earth radius [km] (IUGG R1, Moritz 2000), the sphere used for slant ranges.
EARTH_MEAN_RADIUS_KM = 6371.0088


def slant_range_km(elevation_deg, alt_km, earth_radius_km: float = EARTH_MEAN_RADIUS_KM) -> np.ndarray:
    """Distance [km] from a ground point to a satellite at ``alt_km`` seen at ``elevation_deg`` (spherical Earth).

    ``d = sqrt((R + h)^2 - R^2 cos^2 e) - R sin e`` (Maral et al. 2020, eq. 2.44 form).
    """
    e = np.radians(np.asarray(elevation_deg, dtype=float))
    r = earth_radius_km + np.asarray(alt_km, dtype=float)
    return np.sqrt(r * r - (earth_radius_km * np.cos(e)) ** 2) - earth_radius_km * np.sin(e)


def fspl_db(range_km, freq_ghz) -> np.ndarray:
    """Free-space path loss [dB]: ``20 log10(4 pi d f / c)`` (ITU-R P.525)."""
    d_m = np.asarray(range_km, dtype=float) * 1e3
    f_hz = np.asarray(freq_ghz, dtype=float) * 1e9
    return 20.0 * np.log10(4.0 * np.pi * d_m * f_hz / SPEED_OF_LIGHT_M_S)


def noise_dbw(system_temp_k, bandwidth_hz) -> np.ndarray:
    """Thermal noise power ``k T B`` [dBW]."""
    return BOLTZMANN_DBW_PER_K_HZ + 10.0 * np.log10(np.asarray(system_temp_k, float) * np.asarray(bandwidth_hz, float))


def c_over_n_from_eirp_db(eirp_dbw, loss_db, g_over_t_db_k, bandwidth_hz) -> np.ndarray:
    """C/N [dB] = EIRP - losses + G/T - k - 10 log10(B) (Maral et al. 2020, sec. 5.5)."""
    return (
        np.asarray(eirp_dbw, float)
        - np.asarray(loss_db, float)
        + np.asarray(g_over_t_db_k, float)
        - BOLTZMANN_DBW_PER_K_HZ
        - 10.0 * np.log10(np.asarray(bandwidth_hz, float))
    )


def c_over_n_from_pfd_db(pfd_dbw_m2, freq_ghz, g_over_t_db_k, bandwidth_hz, loss_db=0.0) -> np.ndarray:
    """C/N [dB] of a carrier arriving with flux density ``pfd_dbw_m2`` [dB(W/m²) in ``bandwidth_hz``].

    The received power is PFD times the isotropic effective area
    ``lambda^2 / (4 pi)`` times the receive gain, so with G/T:
    ``C/N = PFD + 10 log10(lambda^2 / 4 pi) + G/T - k - 10 log10(B) - losses``.
    ``loss_db`` is what the atmosphere takes below the PFD (the limits apply in clear sky).
    """
    lam = SPEED_OF_LIGHT_M_S / (np.asarray(freq_ghz, float) * 1e9)
    return (
        np.asarray(pfd_dbw_m2, float)
        + 10.0 * np.log10(lam * lam / (4.0 * np.pi))
        + np.asarray(g_over_t_db_k, float)
        - BOLTZMANN_DBW_PER_K_HZ
        - 10.0 * np.log10(np.asarray(bandwidth_hz, float))
        - np.asarray(loss_db, float)
    )


def pfd_limit_db(elevation_deg, *, low_db: float = -150.0, high_db: float = -140.0, ref_bw_hz: float = 4e3):
    """Article 21 (Table 21-4) PFD mask [dB(W/m²) in ``ref_bw_hz``] for NGSO FSS in 10.7-11.7 GHz.

    ``low_db`` for elevations 0-5 deg, rising by ``(e - 5)/2`` dB to ``high_db`` at 25 deg and above.
    """
    e = np.clip(np.asarray(elevation_deg, dtype=float), 0.0, 90.0)
    return np.clip(low_db + (e - 5.0) / 2.0, low_db, high_db)


def combine_ratios_db(*ratios_db) -> np.ndarray:
    """Carrier to the power sum of noise and every interferer [dB]: ``-10 log10(sum 10^(-x/10))``.

    Each argument is one C/N or C/I ratio [dB] (arrays broadcast); ``+inf`` means "absent".
    """
    total = np.zeros(np.broadcast(*[np.asarray(r) for r in ratios_db]).shape) if ratios_db else np.zeros(())
    for ratio in ratios_db:
        total = total + 10.0 ** (-np.asarray(ratio, dtype=float) / 10.0)
    with np.errstate(divide="ignore"):
        return -10.0 * np.log10(total)


def ebn0_db(c_over_n_db, bitrate_bps, bandwidth_hz) -> np.ndarray:
    """Eb/(N0+I0) [dB] from C/(N+I) over ``bandwidth_hz`` at ``bitrate_bps``: ``C/N - 10 log10(Rb/B)``."""
    return np.asarray(c_over_n_db, float) - 10.0 * np.log10(np.asarray(bitrate_bps, float) / np.asarray(bandwidth_hz))


def scan_loss_db(scan_deg, exponent: float = 1.2) -> np.ndarray:
    """Gain loss [dB, >= 0] of a flat phased array steered ``scan_deg`` off its boresight.

    ``-10 n log10(cos theta)``: ``n = 1`` is the projected aperture alone
    (Mailloux 2018, ch. 1); element patterns add a little, ``n`` of 1.2-1.5 is
    the usual planning value.  Beyond 89.9 deg the array cannot receive (inf).
    """
    theta = np.radians(np.abs(np.asarray(scan_deg, dtype=float)))
    cos = np.cos(theta)
    with np.errstate(divide="ignore"):
        return np.where(cos > np.cos(np.radians(89.9)), -10.0 * exponent * np.log10(np.maximum(cos, 1e-12)), np.inf)


def s1528_gain_db(
    off_axis_deg,
    peak_gain_dbi: float,
    half_beamwidth_deg: float,
    *,
    sidelobe_db: float = -20.0,
    far_sidelobe_dbi: float = 0.0,
) -> np.ndarray:
    """ITU-R S.1528 recommends 1.2 satellite antenna pattern [dBi] (non-GSO, circular beam, z = 1).

    ``psi_b`` is the one-half 3 dB beamwidth; ``Ls`` (``sidelobe_db``) is the
    near-in side-lobe level relative to the peak, one of -20, -25, -30 dB with
    ``alpha = 2``, ``b = 6.32`` and ``a = sqrt(-Ls/3)`` (2.58, 2.88, 3.16 as
    tabulated).  Main lobe ``Gm - 3 (psi/psi_b)^2`` to ``a psi_b``; flat
    ``Gm + Ls`` to ``b psi_b``; ``X - 25 log10(psi)`` down to the far side-lobe
    level ``LF`` (``far_sidelobe_dbi``, 0 dBi) beyond ``Y``.
    """
    if sidelobe_db not in (-20.0, -25.0, -30.0):
        raise ValueError("sidelobe_db must be -20, -25 or -30 (ITU-R S.1528 recommends 1.2)")
    psi = np.abs(np.asarray(off_axis_deg, dtype=float))
    psi_b = float(half_beamwidth_deg)
    a = np.sqrt(-sidelobe_db / 3.0)
    b = 6.32
    gm = float(peak_gain_dbi)
    x = gm + sidelobe_db + 25.0 * np.log10(b * psi_b)
    y = b * psi_b * 10.0 ** (0.04 * (gm + sidelobe_db - far_sidelobe_dbi))
    with np.errstate(divide="ignore"):
        far = x - 25.0 * np.log10(np.maximum(psi, 1e-9))
    gain = np.where(
        psi <= a * psi_b,
        gm - 3.0 * (psi / psi_b) ** 2,
        np.where(psi <= b * psi_b, gm + sidelobe_db, np.where(psi <= y, far, far_sidelobe_dbi)),
    )
    return gain


def watts_to_dbw(power_w, *, field: str = "power_w") -> np.ndarray:
    """Power [W] to dBW; :class:`~skyfence.errors.InputError` for negative or non-finite power."""
    from skyfence.errors import InputError

    p = np.asarray(power_w, dtype=float)
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise InputError(f"power must be a finite number of watts >= 0, got {power_w}", field=field)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(p)
