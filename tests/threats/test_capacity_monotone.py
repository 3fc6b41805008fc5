"""Property (issue #14): more attack never improves any capacity figure -- jamming, rain, ground-segment loss and
attrition together, nested attacks drawn at random by Hypothesis, on the real Starlink catalog over Taiwan.

"More attack" (attack B contains attack A), each part drawn independently:

* satellites: B removes a superset of A's (random fractions of one seeded uniform draw per satellite);
* ground segment: B loses a superset of A's gateways (the first ``k`` of the nearest-first order);
* jamming: B has a superset of A's Fujian-coast jammers, each at an EIRP at least A's, on a schedule containing
  A's, and the uplink jammers only if A has them too;
* weather: B's rain fade is exceeded at most as often as A's (a deeper percentile; clear sky is the shallowest).

"Never improves": every (time, cell) sample of offered and served Mb/s, served fraction, Mb/s per user, uplink
offered and per user, and C/(N+I+J) is at most A's (no link: -inf), and so is every figure of
:func:`~skyfence.capacity.engine.region_figures` -- over the whole island and over its west coast, east coast,
north and south -- and the share of samples with service.  The satellite peak load is not a service figure and is
left out (a satellite whose neighbour is lost may carry more of a cell's traffic).  No exception is allowed: the
allocation plans beam-time on clear-sky rates and never moves it between cells (docs/validation_capacity.md).

The same property fails on the allocation it replaced (shares re-planned on jammed rates, offers ranked by their
clear-sky rate): Hypothesis finds a counterexample within a few draws.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from skyfence.capacity.demand import DemandModel
from skyfence.orbits.time import time_grid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: 5 steps of 5 min: enough satellites move for the cells to change hands; small enough for CI.
STEPS = 5
START = np.datetime64("2026-08-18T12:00:00", "ns")
#: Rain exceedance [%], shallowest first (None: clear sky).
RAIN = (None, 1.0, 0.3, 0.1)
#: Enough demand that satellites and channels run out over the cities, so the allocation matters.
HEAVY = DemandModel(take_rate=0.03, busy_hour_mbps=5.0)
#: Tolerance on float32 outputs.
RTOL, ATOL = 1e-5, 1e-3
PER_SAMPLE = (
    "offered_mbps",
    "served_mbps",
    "served_fraction",
    "mbps_per_user",
    "offered_up_mbps",
    "mbps_per_user_up",
    "sinr_db",
)
NOT_SERVICE = ("population", "demand_gbps", "satellite_peak_load_mbps")


@pytest.fixture(scope="module")
def system(data_file):
    from skyfence.earth import cells as h3cells
    from skyfence.earth.regions import get_region
    from skyfence.network.ground import load_ground_segment
    from skyfence.orbits.sources import load_constellation
    from skyfence.threats.capacity_impact import gateways_by_distance
    from skyfence.threats.jamming import jammers_from_records

    starlink = load_constellation(data_file("tle/omm_csv_2026/starlink_20260818.csv.gz"))
    cells = np.unique(get_region("TW").cells(5))
    segment = load_ground_segment("starlink_ground_stations")
    lat, lon = h3cells.cell_centers(cells)
    jammers = jammers_from_records(tomllib.loads((EXAMPLES / "jammers" / "fujian_coast.toml").read_text())["jammers"])
    regions = {
        "west": (lon > 120.0) & (lon < 120.75),
        "east": (lon > 121.45) & (lat < 24.9),
        "north": lat >= 24.0,
        "south": lat < 24.0,
    }
    return _Fixture(
        starlink=starlink,
        cells=cells,
        times=time_grid(START, f"{5 * (STEPS - 1)}m", "300s"),
        segment=segment,
        order=gateways_by_distance(segment, lat, lon),
        jammers=jammers,
        regions=regions,
        u=np.random.default_rng(14).random(len(starlink)),
    )


class _Fixture(dict):
    """The fixtures' values with a short repr (Hypothesis prints the test's arguments on failure)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {', '.join(self)}>"


@dataclasses.dataclass(frozen=True)
class Attack:
    fraction: float
    gateways: int
    jammers: int
    eirp_dbw: tuple[float, ...]
    window: tuple[int, int]
    uplink: bool
    rain: int  # index into RAIN


@st.composite
def nested_attacks(draw, n_jammers: int = 6, n_gateways: int = 200) -> tuple[Attack, Attack]:
    """(A, B) with B containing A (module docstring)."""
    f = sorted(draw(st.lists(st.floats(0.0, 0.8), min_size=2, max_size=2)))
    k = sorted(draw(st.lists(st.integers(0, n_gateways), min_size=2, max_size=2)))
    j = sorted(draw(st.lists(st.integers(0, n_jammers), min_size=2, max_size=2)))
    eirp_a = tuple(draw(st.lists(st.floats(40.0, 85.0), min_size=n_jammers, max_size=n_jammers)))
    more = draw(st.lists(st.floats(0.0, 20.0), min_size=n_jammers, max_size=n_jammers))
    a0, a1 = sorted(draw(st.lists(st.integers(0, STEPS - 1), min_size=2, max_size=2)))
    b0, b1 = draw(st.integers(0, a0)), draw(st.integers(a1, STEPS - 1))
    up_a = draw(st.booleans())
    up_b = up_a or draw(st.booleans())
    r = sorted(draw(st.lists(st.integers(0, len(RAIN) - 1), min_size=2, max_size=2)))
    weak = Attack(f[0], k[0], j[0], eirp_a, (a0, a1), up_a, r[0])
    strong = Attack(f[1], k[1], j[1], tuple(e + m for e, m in zip(eirp_a, more, strict=True)), (b0, b1), up_b, r[1])
    return weak, strong


def _case(system, attack: Attack, name: str):
    from skyfence.capacity.engine import CapacityCase
    from skyfence.threats.ground import GroundAttack
    from skyfence.threats.jamming_capacity import jamming_terms

    times = system["times"]
    ground = GroundAttack(sites=tuple(system["order"][: attack.gateways])).apply(system["segment"])[0]
    extra = no_service = None
    if attack.jammers:
        window = ((times[attack.window[0]], times[attack.window[1]]),)
        sites = []
        for site, eirp in zip(system["jammers"][: attack.jammers], attack.eirp_dbw, strict=False):
            sites.append(dataclasses.replace(site, eirp_dbw=eirp, schedule=window))
            if attack.uplink:
                sites.append(
                    dataclasses.replace(site, name=f"{site.name} up", eirp_dbw=eirp, schedule=window, band="ku_uplink")
                )
        extra, no_service, _, _ = jamming_terms(system["starlink"], system["cells"], times, sites)
    return CapacityCase(
        name,
        removed_satellites=system["u"] < attack.fraction,
        ground=ground,
        extra_interference=extra,
        no_service=no_service,
    )


def _run(system, attacks: list[Attack]) -> list:
    """One capacity pass per rain level (the cases of one level share it)."""
    from skyfence.capacity.engine import run_capacity_cases

    out: list = [None] * len(attacks)
    for r in sorted({a.rain for a in attacks}):
        idx = [i for i, a in enumerate(attacks) if a.rain == r]
        cases = [_case(system, attacks[i], f"attack {i}") for i in idx]
        results = run_capacity_cases(
            system["starlink"], system["cells"], system["times"], cases, rain_p=RAIN[r], demand=HEAVY
        )
        for i, result in zip(idx, results, strict=True):
            out[i] = result
    return out


def _figures(result, regions) -> dict[str, float]:
    from skyfence.capacity.engine import region_figures

    figures = {key: value for key, value in result.statistics.items() if key not in NOT_SERVICE}
    offered = result.dataset["offered_mbps"].to_numpy()
    figures["service_coverage"] = float((offered > 0).mean())
    for name, mask in regions.items():
        for key, value in region_figures(result.dataset, mask).items():
            if key not in NOT_SERVICE:
                figures[f"{name}.{key}"] = value
    return figures


def assert_no_better(weak, strong, regions) -> None:
    """Every sample and every figure of ``strong`` at most that of ``weak`` (NaN = no service = -inf)."""
    for name in PER_SAMPLE:
        a = np.nan_to_num(weak.dataset[name].to_numpy().astype(np.float64), nan=-np.inf)
        b = np.nan_to_num(strong.dataset[name].to_numpy().astype(np.float64), nan=-np.inf)
        better = b > a + ATOL + RTOL * np.abs(np.where(np.isfinite(a), a, 0.0))
        assert not better.any(), f"{name}: {int(better.sum())} samples improved, e.g. {a[better][0]} -> {b[better][0]}"
    fa, fb = _figures(weak, regions), _figures(strong, regions)
    for key, a in fa.items():
        a = -np.inf if np.isnan(a) else a
        b = -np.inf if np.isnan(fb[key]) else fb[key]
        assert b <= a + 1e-9 + RTOL * abs(a if np.isfinite(a) else 0.0), (key, a, b)


@pytest.fixture(scope="module")
def intact(system):
    """The system with no attack, clear sky: the upper bound of every draw."""
    return _Fixture(result=_run(system, [Attack(0.0, 0, 0, (), (0, 0), False, 0)])[0])


@settings(max_examples=20, deadline=None)
@given(pair=nested_attacks())
def test_more_attack_never_improves_any_capacity_figure(system, intact, pair):
    weak, strong = pair
    note(f"A = {weak}\nB = {strong}")
    a, b = _run(system, [weak, strong])
    assert_no_better(intact["result"], a, system["regions"])
    assert_no_better(a, b, system["regions"])
