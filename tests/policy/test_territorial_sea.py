"""Under ``--plan maritime`` a coastal state's territorial sea is the state's (trial 2, item 3): ports and bays of
blacklisted or embargoed countries are not "high seas", and no reason there says "international waters"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyfence.cli import app
from skyfence.policy import load_policy

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policies" / "real_world_2026.toml"


@pytest.fixture(scope="module")
def engine():
    return load_policy(POLICY).engine()


@pytest.mark.parametrize(
    ("lat", "lon", "code", "rule"),
    [
        (43.05, 131.85, "RU", "blacklisted"),  # Vladivostok harbour
        (59.95, 29.9, "RU", "blacklisted"),  # Neva Bay
        (27.1, 56.3, "IR", "embargoed-destination"),  # Bandar Abbas roads
        (64.7337, 177.5089, "RU", "blacklisted"),  # Anadyr
        (38.9, 124.9, "KP", "blacklisted"),  # off Nampo (11.8 nmi from the 1:10m coast)
    ],
)
def test_report_points_are_denied_as_the_coastal_state(engine, lat, lon, code, rule):
    explanation = engine.explain(lat, lon, plan="maritime")
    assert (explanation.decision, explanation.rule_id, explanation.country) == ("deny", rule, code)
    assert f"({code} territorial sea, within 12 nmi of the Natural Earth 1:10m coast)" in explanation.reason
    assert "international waters" not in explanation.reason
    assert "high_seas" not in explanation.zones


def test_beyond_every_territorial_sea_is_high_seas(engine):
    explanation = engine.explain(44.5, -30.0, plan="maritime")
    assert (explanation.decision, explanation.rule_id, explanation.country) == ("allow", "high-seas-mobility", "")
    assert "territorial sea" not in explanation.reason.split(" (at ")[-1]


def test_bulk_path_agrees_with_the_exact_one(engine):
    import numpy as np

    rng = np.random.default_rng(3)
    lat = np.concatenate([rng.uniform(42.5, 43.5, 20_000), rng.uniform(59.5, 60.5, 20_000)])
    lon = np.concatenate([rng.uniform(131.0, 133.0, 20_000), rng.uniform(27.0, 30.5, 20_000)])
    plan = np.full(lat.size, "maritime", dtype=object)
    fast = engine.evaluate(lat=lat, lon=lon, plan=plan, method="index")
    exact = engine.evaluate(lat=lat, lon=lon, plan=plan, method="exact")
    assert (fast.decision == exact.decision).all() and (fast.country == exact.country).all()
    assert (fast.waters == exact.waters).all() and fast.waters.any()


def test_policy_check_cli_says_territorial_sea():
    out = CliRunner().invoke(
        app,
        ["policy", "check", str(POLICY), "--lat", "43.05", "--lon", "131.85", "--plan", "maritime"],
        env={"COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    assert "DENY" in out.output and "RU territorial sea" in out.output
    assert "international waters" not in out.output
