"""Scenario: a TOML file (``schema``) of constellations, regions, ground segments, policies and variants, run
as cached units of work (``units``; ``runner`` plans, runs and assembles) into the typed summary (``summary``)
with its key findings (``findings``) that the report draws."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "AssessResult": "skyfence.scenario.runner",
    "Scenario": "skyfence.scenario.schema",
    "Summary": "skyfence.scenario.summary",
    "key_findings": "skyfence.scenario.findings",
    "load_scenario": "skyfence.scenario.schema",
    "plan": "skyfence.scenario.runner",
    "run_scenario": "skyfence.scenario.runner",
}
__all__ = [
    "AssessResult",
    "Scenario",
    "Summary",
    "key_findings",
    "load_scenario",
    "plan",
    "run_scenario",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.scenario.findings import key_findings
    from skyfence.scenario.runner import AssessResult, plan, run_scenario
    from skyfence.scenario.schema import Scenario, load_scenario
    from skyfence.scenario.summary import Summary
