"""Policy: who may be served where -- jurisdictions, licences, statuses, rules → decisions with reasons.

The front door of the policy layer::

    from skyfence.policy import load_policy

    policy = load_policy("examples/policies/real_world_2026.toml")    # validated, versioned (policy.id)
    decisions = policy.evaluate(lat=lats, lon=lons, speed_kmh=speeds, plan=plans, whitelisted=flags)
    decisions.labels, decisions.rule_ids(), decisions.reasons()       # allow / deny / degrade, which rule, why
    policy.explain(50.45, 30.52, whitelisted=True).to_dict()          # every rule considered for one fix

    from skyfence.policy import availability_map, diff_policies, read_feed
    amap = availability_map(policy, res=3)                            # per H3 cell and per country
    write_availability_map(amap, "out/")  # skyfence.report.availability: GeoJSON, GeoParquet, CSV, PNG

Modules: :mod:`~skyfence.policy.model` (the schema), :mod:`~skyfence.policy.files` (TOML, includes, versions),
:mod:`~skyfence.policy.zones` (jurisdictions → geometry), :mod:`~skyfence.policy.index` (the spatial fast path),
:mod:`~skyfence.policy.engine` (precedence, the kernel, explanations), :mod:`~skyfence.policy.feed` (the operator's
availability feed) and :mod:`~skyfence.policy.availability` (maps and diffs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "ACTIONS": "skyfence.policy.model",
    "AVAILABILITY": "skyfence.policy.availability",
    "CONDITIONS": "skyfence.policy.model",
    "DECISIONS": "skyfence.policy.engine",
    "FEED_STATUS_MAP": "skyfence.policy.model",
    "LICENCE_STATES": "skyfence.policy.model",
    "LICENCE_TRANSITIONS": "skyfence.policy.model",
    "PLANS": "skyfence.policy.model",
    "RULE_KINDS": "skyfence.policy.model",
    "STATUSES": "skyfence.policy.model",
    "AvailabilityMap": "skyfence.policy.availability",
    "Decisions": "skyfence.policy.engine",
    "Engine": "skyfence.policy.engine",
    "Explanation": "skyfence.policy.engine",
    "Feed": "skyfence.policy.feed",
    "Policy": "skyfence.policy.files",
    "PolicyDiff": "skyfence.policy.availability",
    "RuleTrace": "skyfence.policy.engine",
    "availability_map": "skyfence.policy.availability",
    "buffer_km": "skyfence.policy.zones",
    "diff_policies": "skyfence.policy.availability",
    "feed_document": "skyfence.policy.feed",
    "load_policy": "skyfence.policy.files",
    "loads_policy": "skyfence.policy.files",
    "read_feed": "skyfence.policy.feed",
    "statuses_toml": "skyfence.policy.feed",
}
__all__ = [
    "ACTIONS",
    "AVAILABILITY",
    "CONDITIONS",
    "DECISIONS",
    "FEED_STATUS_MAP",
    "LICENCE_STATES",
    "LICENCE_TRANSITIONS",
    "PLANS",
    "RULE_KINDS",
    "STATUSES",
    "AvailabilityMap",
    "Decisions",
    "Engine",
    "Explanation",
    "Feed",
    "Policy",
    "PolicyDiff",
    "RuleTrace",
    "availability_map",
    "buffer_km",
    "diff_policies",
    "feed_document",
    "load_policy",
    "loads_policy",
    "read_feed",
    "statuses_toml",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.policy.availability import AVAILABILITY, AvailabilityMap, PolicyDiff, availability_map, diff_policies
    from skyfence.policy.engine import DECISIONS, Decisions, Engine, Explanation, RuleTrace
    from skyfence.policy.feed import Feed, feed_document, read_feed, statuses_toml
    from skyfence.policy.files import Policy, load_policy, loads_policy
    from skyfence.policy.model import (
        ACTIONS,
        CONDITIONS,
        FEED_STATUS_MAP,
        LICENCE_STATES,
        LICENCE_TRANSITIONS,
        PLANS,
        RULE_KINDS,
        STATUSES,
    )
    from skyfence.policy.zones import buffer_km
