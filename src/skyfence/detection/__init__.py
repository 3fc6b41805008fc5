"""Misuse detection: labelled fleets, behavioural detectors and their evaluation.

The front door::

    from skyfence.detection import load_fleet_spec, synthesize_fleet, Context, detect, evaluate
    from skyfence.policy import load_policy

    fixes = synthesize_fleet(load_fleet_spec("examples/fleet_ukraine_week.toml"))   # reported + true_* columns
    context = Context(load_policy("examples/policies/real_world_2026.toml"), constellation="starlink_omm_20260818")
    alerts = detect(fixes, context)                    # terminal_id, kind, time, score, evidence
    metrics = evaluate(fixes, alerts)                  # precision / recall / F1 / FP rate / time to detect

Modules: :mod:`~skyfence.detection.spec` (the fleet TOML), :mod:`~skyfence.detection.synth` (tracks over real
geography and the serving satellite and beam), :mod:`~skyfence.detection.detectors` (context, the per-terminal
scan, :class:`StreamDetector` for batches with state), :mod:`~skyfence.detection.evaluate` and
:mod:`~skyfence.detection.geo` (spherical helpers, the compiled serving-satellite search).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "ALERT_COLUMNS": "skyfence.detection.detectors",
    "CLASSES": "skyfence.detection.spec",
    "CLASS_KINDS": "skyfence.detection.evaluate",
    "KINDS": "skyfence.detection.detectors",
    "LEGIT_CLASSES": "skyfence.detection.spec",
    "MISUSE_CLASSES": "skyfence.detection.spec",
    "REPORTED_COLUMNS": "skyfence.detection.synth",
    "SEA_LANES": "skyfence.detection.synth",
    "TRUTH_COLUMNS": "skyfence.detection.synth",
    "Context": "skyfence.detection.detectors",
    "FleetSpec": "skyfence.detection.spec",
    "StreamDetector": "skyfence.detection.detectors",
    "Thresholds": "skyfence.detection.detectors",
    "detect": "skyfence.detection.detectors",
    "evaluate": "skyfence.detection.evaluate",
    "load_fleet_spec": "skyfence.detection.spec",
    "loads_fleet_spec": "skyfence.detection.spec",
    "synthesize_fleet": "skyfence.detection.synth",
}
__all__ = [
    "ALERT_COLUMNS",
    "CLASSES",
    "CLASS_KINDS",
    "KINDS",
    "LEGIT_CLASSES",
    "MISUSE_CLASSES",
    "REPORTED_COLUMNS",
    "SEA_LANES",
    "TRUTH_COLUMNS",
    "Context",
    "FleetSpec",
    "StreamDetector",
    "Thresholds",
    "detect",
    "evaluate",
    "load_fleet_spec",
    "loads_fleet_spec",
    "synthesize_fleet",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:
    from skyfence.detection.detectors import ALERT_COLUMNS, KINDS, Context, StreamDetector, Thresholds, detect
    from skyfence.detection.evaluate import CLASS_KINDS, evaluate
    from skyfence.detection.spec import (
        CLASSES,
        LEGIT_CLASSES,
        MISUSE_CLASSES,
        FleetSpec,
        load_fleet_spec,
        loads_fleet_spec,
    )
    from skyfence.detection.synth import REPORTED_COLUMNS, SEA_LANES, TRUTH_COLUMNS, synthesize_fleet
