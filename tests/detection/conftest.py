"""A small labelled fleet (real geography and satellites), built once per session."""

from __future__ import annotations

import pytest

SMALL_SPEC = """
[fleet]
name = "test"
seed = 7
start = 2026-08-22T00:00:00Z
days = 0.5
[classes.residential]
count = 120
[classes.roam]
count = 40
[classes.maritime]
count = 16
[classes.aviation]
count = 16
[classes.black_market]
count = 60
[classes.drone]
count = 40
[classes.spoofer]
count = 40
"""


@pytest.fixture(scope="session")
def small_fleet(data_dir):
    from skyfence.detection import loads_fleet_spec, synthesize_fleet

    return synthesize_fleet(loads_fleet_spec(SMALL_SPEC, source="small.toml"))


@pytest.fixture(scope="session")
def context(data_dir):
    from pathlib import Path

    from skyfence.detection import Context
    from skyfence.policy import load_policy

    root = Path(__file__).resolve().parents[2]
    return Context(load_policy(root / "examples/policies/real_world_2026.toml"), constellation="starlink_omm_20260818")


@pytest.fixture(scope="session")
def small_alerts(small_fleet, context):
    from skyfence.detection import detect

    return detect(small_fleet, context)
