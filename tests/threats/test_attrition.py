"""Attrition: target selection (ids, shells, planes, generations), seeded fractions, and bad input naming the key."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.errors import InputError
from skyfence.threats.attrition import SatelliteAttack, draw_fraction, plane_labels, raan_at_deg


def test_preset_planes_are_the_filed_planes(oneweb_preset):
    labels = plane_labels(oneweb_preset)
    assert np.array_equal(labels, oneweb_preset.satellites["plane"].to_numpy())
    hit = SatelliteAttack(planes=(3,)).targets(oneweb_preset)
    assert hit.sum() == 49  # OneWeb as filed: 12 planes x 49


def test_real_catalog_planes_are_raan_bins_within_a_shell(starlink):
    t_ref = np.datetime64("2025-09-23T12:00:00", "ns")
    shell = starlink.satellites["shell"].to_numpy()
    labels = plane_labels(starlink, t_ref)
    assert np.all(labels[shell < 0] == -1)
    raan = raan_at_deg(starlink, t_ref)
    big = int(starlink.shells.sort_values("count").iloc[-1]["shell"])  # the most populated shell
    members = shell == big
    assert np.array_equal(labels[members], np.floor(raan[members] / 5.0).astype(int))
    # the J2 drift brings a shell's planes together: satellites of one bin share a RAAN within the bin width
    for plane in np.unique(labels[members])[:5]:
        in_plane = members & (labels == plane)
        assert np.ptp(raan[in_plane]) < 5.0


def test_j2_node_drift_matches_the_textbook_rate(starlink):
    # Vallado eq. 9-41 at 550 km / 53 deg: about -4.5 deg/day
    t0 = starlink.satellites["epoch"].max()
    a = raan_at_deg(starlink, t0)
    b = raan_at_deg(starlink, t0 + np.timedelta64(1, "D"))
    row = int(
        np.argmin(np.abs(starlink.satellites["alt_km"] - 550) + np.abs(starlink.satellites["inclination_deg"] - 53))
    )
    assert ((b[row] - a[row] + 180) % 360 - 180) == pytest.approx(-4.5, abs=0.3)


def test_selectors_intersect_and_fraction_applies_to_targets(starlink):
    shell = int(starlink.shells.sort_values("count").iloc[-1]["shell"])
    attack = SatelliteAttack(shells=(shell,), generations=("starlink-v2-mini", "starlink-v1.5"), fraction=0.1, seed=3)
    targets = attack.targets(starlink)
    in_shell = starlink.satellites["shell"].to_numpy() == shell
    assert targets.sum() <= in_shell.sum() and np.all(in_shell[targets])
    removed = attack.removed(starlink)
    assert removed.sum() == round(0.1 * targets.sum()) and np.all(targets[removed])
    assert np.array_equal(removed, attack.removed(starlink))  # seeded
    assert not np.array_equal(removed, attack.removed(starlink, seed=4))


def test_norad_ids_select_exactly(starlink):
    ids = starlink.satellites["norad_id"].to_numpy()[[0, 10, 20]]
    assert SatelliteAttack(norad_ids=tuple(int(i) for i in ids)).targets(starlink).sum() == 3


def test_generations_from_launches(starlink):
    from skyfence.threats.attrition import satellite_generations

    gens = satellite_generations(starlink)
    table = starlink.satellites
    assert set(gens[table["intl_designator"].str.startswith("2019-074")]) == {"starlink-v1.0"}
    assert set(gens[table["intl_designator"].str.startswith("2021-082")]) == {"starlink-v1.5"}
    assert {"starlink-v1.0", "starlink-v1.5", "starlink-v2-mini"} <= set(gens)


def test_larger_fraction_removes_a_superset():
    targets = np.zeros(1000, dtype=bool)
    targets[::3] = True
    previous = np.zeros(1000, dtype=bool)
    for f in (0.0, 0.1, 0.25, 0.5, 0.9, 1.0):
        now = draw_fraction(targets, f, seed=7)
        assert np.all(now[previous]) and np.all(targets[now])
        previous = now
    assert previous.sum() == targets.sum()


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"norad_ids": (999_999_999,)}, "norad_ids"),
        ({"shells": (99,)}, "shells"),
        ({"shells": (0,), "planes": (500,)}, "planes"),
        ({"generations": ("starlink-v9",)}, "generations"),
    ],
)
def test_unknown_targets_name_the_key(oneweb_preset, kwargs, key):
    with pytest.raises(InputError) as info:
        SatelliteAttack(**kwargs).targets(oneweb_preset)
    assert info.value.field == key


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_fraction_outside_0_1_names_the_key(fraction):
    with pytest.raises(InputError) as info:
        SatelliteAttack(fraction=fraction)
    assert info.value.field == "fraction"
