"""Policy: who may be served where -- jurisdictions, licences, statuses, rules → decisions with reasons.

The front door of the policy layer::

    from skyfence.policy import load_policy

    policy = load_policy("examples/policies/real_world_2026.toml")    # validated, versioned (policy.id)
    decisions = policy.evaluate(lat=lats, lon=lons, speed_kmh=speeds, plan=plans, whitelisted=flags)
    decisions.labels, decisions.rule_ids(), decisions.reasons()       # allow / deny / degrade, which rule, why
    policy.explain(50.45, 30.52, whitelisted=True).to_dict()          # every rule considered for one fix

    from skyfence.policy import availability_map, diff_policies, read_feed
    amap = availability_map(policy, res=3)                            # per H3 cell and per country
    amap.write("out/")                                                # GeoJSON, GeoParquet, CSV, PNG

Modules: :mod:`~skyfence.policy.model` (the schema), :mod:`~skyfence.policy.files` (TOML, includes, versions),
:mod:`~skyfence.policy.zones` (jurisdictions → geometry), :mod:`~skyfence.policy.index` (the spatial fast path),
:mod:`~skyfence.policy.engine` (precedence, the kernel, explanations), :mod:`~skyfence.policy.feed` (the operator's
availability feed) and :mod:`~skyfence.policy.availability` (maps and diffs).
"""

from skyfence.policy.availability import (
    AVAILABILITY,
    AvailabilityMap,
    PolicyDiff,
    availability_map,
    diff_policies,
)
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
