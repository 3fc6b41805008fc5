"""One definition of "the region's cells" in a report: the policy units evaluate the scenario region's cells.

The bug this guards against: the Taiwan demo's coverage counted 156 H3 cells of resolution 5 (the scenario's region,
Natural Earth 1:50m) while its policy diff counted 158 (the policy's own 1:10m layer, German point of view), so one
report gave two numbers for "Taiwan".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def taiwan(data_dir):
    from skyfence.scenario.schema import load_scenario
    from skyfence.scenario.units import Context

    scenario, base = load_scenario(EXAMPLES / "taiwan.toml")
    return scenario, Context(scenario, base)


def test_policy_units_count_the_scenario_regions_cells(taiwan):
    from skyfence.earth.regions import get_region
    from skyfence.scenario.units import availability_unit, policy_diff_unit

    scenario, ctx = taiwan
    (r_spec,) = scenario.regions
    res = scenario.coverage.res
    region_cells = ctx.region(r_spec).cells(res)
    policy = ctx.policy(scenario.policy)
    own = get_region(r_spec.spec, pov=policy.spec.policy.pov, scale=policy.spec.policy.scale).cells(res)
    assert len(own) != len(region_cells)  # the two layers really differ here, so the check below can fail

    served = json.loads(availability_unit(ctx, scenario.policy, r_spec).compute(lambda _: None)["result.json"])
    assert served["cells"] == len(region_cells)
    other = scenario.variants[1].policy
    diff = json.loads(policy_diff_unit(ctx, scenario.policy, other, r_spec).compute(lambda _: None)["result.json"])
    assert diff["cells_total"] == len(region_cells)
    assert diff["cells_changed"] == len(region_cells)  # all of Taiwan goes from "coming soon" to served
