"""Scenario: a TOML file (``schema``) of constellations, regions, ground segments, policies and variants, run
as cached units of work (``runner``) into the summary the report draws."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "AssessResult": "skyfence.scenario.runner",
    "Scenario": "skyfence.scenario.schema",
    "load_scenario": "skyfence.scenario.schema",
    "run_scenario": "skyfence.scenario.runner",
}
__all__ = [
    "AssessResult",
    "Scenario",
    "load_scenario",
    "run_scenario",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.scenario.runner import AssessResult, run_scenario
    from skyfence.scenario.schema import Scenario, load_scenario
