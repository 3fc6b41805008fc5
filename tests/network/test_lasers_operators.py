"""Which satellites carry lasers: Starlink's launch record, and another operator's generation (OneWeb: none)."""

from __future__ import annotations

import numpy as np

from skyfence.capacity.resources import get_generation
from skyfence.network.lasers import laser_capable
from skyfence.orbits.sources import load_constellation


def test_oneweb_catalog_has_no_lasers_and_starlink_keeps_its_launch_rule(data_dir) -> None:
    oneweb = load_constellation("oneweb_omm_20260818")
    assert get_generation("oneweb-gen1").has_isl is False
    assert not laser_capable(oneweb).any()
    assert laser_capable(oneweb, "all").all()  # the explicit sensitivity option still overrides
    starlink = load_constellation("starlink_tle_20250923")
    capable = laser_capable(starlink)
    table = starlink.satellites
    year = table["intl_designator"].astype(str).str[:4].astype(int)
    legacy = ((year < 2022) & (table["inclination_deg"] < 53.15)).to_numpy()
    np.testing.assert_array_equal(capable, ~legacy)  # Starlink is untouched by the operator rule


def test_presets_follow_their_operator() -> None:
    assert not laser_capable(load_constellation("oneweb")).any()
    assert laser_capable(load_constellation("starlink-550")).all()  # a design: lasers everywhere (Hypatia's W1)
