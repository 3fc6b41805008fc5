"""Walker presets: filed counts, propagated geometry, phasing, errors, and a cross-check with real catalogs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from skyfence.errors import InputError
from skyfence.orbits.constellation import EARTH_EQUATORIAL_RADIUS_KM, mean_altitude_km
from skyfence.orbits.walker import (
    DEFAULT_EPOCH,
    PRESETS,
    Preset,
    Shell,
    get_preset,
    preset,
    preset_names,
    walker,
)

#: Satellites per shell, from the filings cited in each preset's ``source``.
FILED_COUNTS = {
    "starlink-gen1": [1584, 1584, 720, 348, 172],
    "starlink-550": [1584],
    "starlink-gen2a": [3360, 3360, 3360],
    "oneweb": [588],
    "kuiper": [1156, 1296, 784],
    "telesat": [351, 1320],
    "qianfan": [648],
    "guowang": [480, 2000, 3600, 1728, 1728, 1728, 1728],
}
FILED_TOTALS = {
    "starlink-gen1": 4408,
    "starlink-550": 1584,
    "starlink-gen2a": 10080,
    "oneweb": 588,
    "kuiper": 3236,
    "telesat": 1671,
    "qianfan": 648,
    "guowang": 12992,
}


@pytest.fixture(scope="module")
def built() -> dict:
    return {name: preset(name) for name in PRESETS}


def _propagate(constellation, offsets_days):
    sat0 = constellation.satrecs[0]
    jd = np.full(len(offsets_days), sat0.jdsatepoch)
    fr = sat0.jdsatepochF + np.asarray(offsets_days, dtype=float)
    error, r, v = constellation.satrec_array.sgp4(jd, fr)
    assert not error.any()
    return r, v  # (satellite, time, xyz) TEME km, km/s


def _circular_mean_deg(angles_deg: np.ndarray, groups: np.ndarray) -> np.ndarray:
    z = np.exp(1j * np.radians(angles_deg))
    return np.angle(np.bincount(groups, weights=z.real) + 1j * np.bincount(groups, weights=z.imag), deg=True)


# --------------------------------------------------------------------------- registry


def test_every_preset_is_cited_and_counted():
    assert preset_names() == sorted(FILED_COUNTS)
    for name, entry in PRESETS.items():
        assert isinstance(entry, Preset)
        assert entry.name == name
        assert entry.source and entry.operator
        assert [shell.count for shell in entry.shells] == FILED_COUNTS[name]
        assert entry.count == FILED_TOTALS[name]


def test_dockets_are_named():
    assert "SAT-MOD-20200417-00037" in PRESETS["starlink-gen1"].source
    assert "FCC 21-48" in PRESETS["starlink-gen1"].source
    assert "Hypatia" in PRESETS["starlink-550"].source
    assert "FCC 22-91" in PRESETS["starlink-gen2a"].source
    assert "SAT-LOA-20200526-00055" in PRESETS["starlink-gen2a"].source
    assert "SAT-MPL-20200526-00062" in PRESETS["oneweb"].source
    assert "FCC 20-102" in PRESETS["kuiper"].source
    assert "SAT-LOA-20190704-00057" in PRESETS["kuiper"].source
    assert "SAT-MPL-20200526-00053" in PRESETS["telesat"].source
    assert "GW-A59" in PRESETS["guowang"].source and "GW-2" in PRESETS["guowang"].source


def test_starlink_550_is_the_first_gen1_shell():
    assert PRESETS["starlink-550"].shells == PRESETS["starlink-gen1"].shells[:1]
    shell = PRESETS["starlink-550"].shells[0]
    assert (shell.alt_km, shell.inclination_deg, shell.n_planes, shell.sats_per_plane) == (550.0, 53.0, 72, 22)


def test_oneweb_is_a_walker_star():
    shell = PRESETS["oneweb"].shells[0]
    assert shell.raan_spread_deg == 180.0
    assert (shell.alt_km, shell.inclination_deg, shell.n_planes, shell.sats_per_plane) == (1200.0, 87.9, 12, 49)


# --------------------------------------------------------------------------- built constellations


@pytest.mark.parametrize("name", sorted(FILED_COUNTS))
def test_built_counts_and_tables(built, name):
    c = built[name]
    assert len(c) == FILED_TOTALS[name]
    assert c.name == name
    assert c.source == PRESETS[name].source
    sats = c.satellites
    assert sats["norad_id"].tolist() == list(range(1, len(c) + 1))
    assert [s.satnum for s in c.satrecs[:3]] == [1, 2, 3]
    assert sats.groupby("shell").size().tolist() == FILED_COUNTS[name]
    assert c.shells["count"].tolist() == FILED_COUNTS[name]
    for k, shell in enumerate(PRESETS[name].shells):
        row = c.shells.iloc[k]
        assert row["shell"] == k
        assert row["name"] == shell.label
        assert row["n_planes"] == shell.n_planes
        assert row["sats_per_plane"] == shell.sats_per_plane
        assert row["alt_km"] == pytest.approx(shell.alt_km)
        assert row["inclination_deg"] == pytest.approx(shell.inclination_deg)
        members = sats[sats["shell"] == k]
        assert members["plane"].nunique() == shell.n_planes
        assert (members.groupby("plane").size() == shell.sats_per_plane).all()
        # The mean-altitude label round-trips exactly through the Kozai mean motion.
        np.testing.assert_allclose(members["alt_km"], shell.alt_km, atol=1e-6)
        np.testing.assert_allclose(members["inclination_deg"], shell.inclination_deg, atol=1e-9)
    assert (sats["eccentricity"] == 0).all()
    assert (sats["epoch"] == DEFAULT_EPOCH).all()


def test_satellite_names(built):
    names = built["starlink-gen1"].satellites["name"]
    assert names.iloc[3 * 22 + 12] == "STARLINK-GEN1-S0-P03-S12"
    assert names.is_unique
    gen2 = built["starlink-gen2a"].satellites["name"]
    assert gen2.iloc[-1] == "STARLINK-GEN2A-S2-P27-S119"


@pytest.mark.parametrize("name", sorted(FILED_COUNTS))
def test_propagated_inclination_and_plane_spacing(built, name):
    """Every satellite's osculating inclination is within 0.05 deg of its shell's, planes evenly spaced in RAAN."""
    c = built[name]
    sats = c.satellites
    r, v = _propagate(c, [0.0, 0.137, 0.5, 1.0])
    h = np.cross(r, v)
    inclination = np.degrees(np.arccos(h[..., 2] / np.linalg.norm(h, axis=-1)))
    shell_inclination = sats["inclination_deg"].to_numpy()[:, None]
    assert np.abs(inclination - shell_inclination).max() < 0.05
    node = np.degrees(np.arctan2(h[..., 0], -h[..., 1]))
    shell_of = sats["shell"].to_numpy()
    plane_of = sats["plane"].to_numpy()
    for k, shell in enumerate(PRESETS[name].shells):
        members = shell_of == k
        expected = np.arange(shell.n_planes) * shell.raan_spread_deg / shell.n_planes
        for t in range(node.shape[1]):
            mean_node = _circular_mean_deg(node[members, t], plane_of[members])
            relative = np.mod(mean_node - mean_node[0], 360.0)
            deviation = np.abs(np.mod(relative - expected + 180.0, 360.0) - 180.0)
            assert deviation.max() < 0.05, (name, k, t)


@pytest.mark.parametrize("name", sorted(FILED_COUNTS))
def test_mean_altitude_over_an_orbit(built, name):
    c = built[name]
    sats = c.satellites
    for k, shell in enumerate(PRESETS[name].shells):
        index = np.flatnonzero(sats["shell"].to_numpy() == k)[[0, -1]]
        satrec = c.satrecs[index[0]]
        period_days = 2 * np.pi / satrec.no_kozai / 1440.0
        offsets = np.linspace(0.0, period_days, 360, endpoint=False)
        r, _ = _propagate(c.subset(index), offsets)
        radius = np.linalg.norm(r, axis=-1) - EARTH_EQUATORIAL_RADIUS_KM
        assert np.abs(radius.mean(axis=1) - shell.alt_km).max() < 10.0
        # J2 short-periodics: the osculating radius wobbles, but by tens of km at most.
        assert np.ptp(radius, axis=1).max() < 30.0


def test_mean_anomalies_follow_walker_formula(built):
    c = built["kuiper"]
    sats = c.satellites
    shell = PRESETS["kuiper"].shells[1]
    m = sats[sats["shell"] == 1]
    p, s = m["plane"].to_numpy(), m["slot"].to_numpy()
    expected = np.mod(s * 360.0 / shell.sats_per_plane + p * shell.phasing * 360.0 / shell.count, 360.0)
    diff = np.mod(m["mean_anomaly_deg"].to_numpy() - expected + 180.0, 360.0) - 180.0
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)
    np.testing.assert_allclose(m["raan_deg"], p * 360.0 / shell.n_planes, atol=1e-9)


def test_phasing_override_changes_mean_anomalies(built):
    default = built["kuiper"].satellites
    shifted = preset("kuiper", phasing=3).satellites
    assert (shifted["raan_deg"] == default["raan_deg"]).all()
    for k, shell in enumerate(PRESETS["kuiper"].shells):
        a = default[default["shell"] == k]
        b = shifted[shifted["shell"] == k]
        expected = a["plane"].to_numpy() * (3 - shell.phasing) * 360.0 / shell.count
        delta = np.mod(b["mean_anomaly_deg"].to_numpy() - a["mean_anomaly_deg"].to_numpy() - expected + 180.0, 360.0)
        np.testing.assert_allclose(delta - 180.0, 0.0, atol=1e-9)
    zero = preset("starlink-550", phasing=0).satellites
    assert zero.groupby("slot")["mean_anomaly_deg"].nunique().eq(1).all()  # F = 0: planes aligned


def test_hypatia_phase_diff_is_walker_f_half_p():
    """Hypatia's phase_diff=True shifts odd planes by half a slot: the same positions as Walker F = P/2."""
    sats = preset("starlink-550", phasing=36).satellites
    n_orbits, n_per_orbit = 72, 22
    orbit = np.repeat(np.arange(n_orbits), n_per_orbit)
    n_sat = np.tile(np.arange(n_per_orbit), n_orbits)
    hypatia_ma = np.where(orbit % 2 == 1, 360.0 / (n_per_orbit * 2.0), 0.0) + n_sat * 360.0 / n_per_orbit
    hypatia = set(zip(np.round(orbit * 360.0 / n_orbits, 6), np.round(np.mod(hypatia_ma, 360.0), 6), strict=True))
    ours = set(
        zip(
            np.round(sats["raan_deg"].to_numpy(), 6),
            np.round(np.mod(sats["mean_anomaly_deg"].to_numpy(), 360.0), 6),
            strict=True,
        )
    )
    assert ours == hypatia


def test_walker_custom_shell_and_epochs():
    shell = Shell(700.0, 60.0, 4, 5, phasing=2, raan_spread_deg=180.0)
    assert shell.label == "700 km / 60 deg"
    aware = walker(shell, epoch=datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1))), name="demo sat")
    naive = walker([shell], epoch=datetime(2026, 3, 1, 12, 0))
    dt64 = walker([shell], epoch=np.datetime64("2026-03-01T12:00"))
    text = walker([shell], epoch="2026-03-01T12:00Z")
    expected = np.datetime64("2026-03-01T12:00:00", "ns")
    for c in (aware, naive, dt64, text):
        assert (c.satellites["epoch"] == expected).all()
    assert len(aware) == 20
    assert aware.satellites["name"].iloc[0] == "DEMO-SAT-S0-P00-S00"
    np.testing.assert_allclose(sorted(aware.satellites["raan_deg"].unique()), [0.0, 45.0, 90.0, 135.0])
    default = walker(shell)
    assert (default.satellites["epoch"] == DEFAULT_EPOCH).all()
    assert default.satrecs[0].jdsatepoch + default.satrecs[0].jdsatepochF == pytest.approx(2461041.5)


# --------------------------------------------------------------------------- errors


def test_unknown_preset_suggests_closest_match():
    with pytest.raises(InputError) as info:
        get_preset("starlnk-gen1")
    message = str(info.value)
    assert "did you mean 'starlink-gen1'" in message
    for name in preset_names():
        assert name in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(InputError, match="unknown Walker preset"):
        preset("iridium")


def test_preset_names_are_forgiving():
    assert get_preset("Starlink_550") is PRESETS["starlink-550"]
    assert get_preset(" ONEWEB ") is PRESETS["oneweb"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"alt_km": 20.0}, "alt_km"),
        ({"inclination_deg": 181.0}, "inclination_deg"),
        ({"n_planes": 0}, "n_planes"),
        ({"sats_per_plane": 2.5}, "sats_per_plane"),
        ({"phasing": -1}, "phasing"),
        ({"raan_spread_deg": 0.0}, "raan_spread_deg"),
    ],
)
def test_bad_shells_raise_input_error(kwargs, field):
    args = {"alt_km": 550.0, "inclination_deg": 53.0, "n_planes": 4, "sats_per_plane": 4} | kwargs
    with pytest.raises(InputError) as info:
        Shell(**args)
    assert info.value.field == field


def test_bad_walker_arguments():
    with pytest.raises(InputError, match="no shells"):
        walker([])
    with pytest.raises(InputError, match="not a Shell"):
        walker([(550.0, 53.0, 4, 4)])
    with pytest.raises(InputError, match="epoch"):
        walker(Shell(550.0, 53.0, 2, 2), epoch="yesterday-ish")
    with pytest.raises(InputError, match="phasing"):
        preset("oneweb", phasing=-2)


# --------------------------------------------------------------------------- real catalogs


@pytest.mark.parametrize(
    ("group", "name", "shell_index", "alt_window_km"),
    [
        ("qianfan", "qianfan", 0, 15.0),
        ("kuiper", "kuiper", 0, 15.0),
        ("oneweb", "oneweb", 0, 30.0),
        ("guowang", "guowang", 5, 15.0),
    ],
)
def test_preset_matches_the_operational_shell(data_file, group, name, shell_index, alt_window_km):
    """The satellites actually flying a filed shell have its inclination and mean altitude."""
    omm = pd.read_csv(data_file(f"tle/omm_csv_2026/{group}_20260818.csv.gz"))
    alt = mean_altitude_km(omm["MEAN_MOTION"].to_numpy())
    inc = omm["INCLINATION"].to_numpy()
    shell = PRESETS[name].shells[shell_index]
    on_shell = (np.abs(inc - shell.inclination_deg) < 0.3) & (np.abs(alt - shell.alt_km) < alt_window_km)
    assert on_shell.sum() >= 50
    assert np.median(inc[on_shell]) == pytest.approx(shell.inclination_deg, abs=0.1)
    assert np.median(alt[on_shell]) == pytest.approx(shell.alt_km, abs=5.0)
