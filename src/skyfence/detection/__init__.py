"""Misuse detection: labelled fleets, behavioural detectors and their evaluation.

The front door::

    from skyfence.detection import load_fleet_spec, synthesize_fleet, Context, detect, evaluate
    from skyfence.policy import load_policy

    fixes = synthesize_fleet(load_fleet_spec("examples/fleet_ukraine_week.toml"))   # reported + true_* columns
    context = Context(load_policy("examples/policies/real_world_2026.toml"), constellation="celestrak:starlink")
    alerts = detect(fixes, context)                    # terminal_id, kind, time, score, evidence
    metrics = evaluate(fixes, alerts)                  # precision / recall / F1 / FP rate / time to detect

Modules: :mod:`~skyfence.detection.spec` (the fleet TOML), :mod:`~skyfence.detection.synth` (tracks over real
geography and the serving satellite and beam), :mod:`~skyfence.detection.detectors` (context, the per-terminal
scan, :class:`StreamDetector` for batches with state), :mod:`~skyfence.detection.evaluate` and
:mod:`~skyfence.detection.geo` (spherical helpers, the compiled serving-satellite search).
"""

from skyfence.detection.detectors import ALERT_COLUMNS, KINDS, Context, StreamDetector, Thresholds, detect
from skyfence.detection.evaluate import CLASS_KINDS, evaluate
from skyfence.detection.spec import CLASSES, LEGIT_CLASSES, MISUSE_CLASSES, FleetSpec, load_fleet_spec, loads_fleet_spec
from skyfence.detection.synth import REPORTED_COLUMNS, SEA_LANES, TRUTH_COLUMNS, synthesize_fleet

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
