"""Ground segment and link losses: gateways and PoPs destroyed, seized or switched off, fibre and cables cut,
inter-satellite links failed -- fed to the network layer's routing, with "unreachable" as an answer.

A :class:`GroundAttack` removes sites from a :class:`~skyfence.network.ground.GroundSegment` **without re-homing**
the gateways whose PoP is gone (a backhaul ends where it was built; re-homing would model a repair):

``sites``
    Gateways or PoPs by name: destroyed, seized, switched off.
``gateways_in``
    Every gateway in these countries (ISO alpha-2): seized, or switched off by a government.
``licence_revoked``
    With a policy (:mod:`skyfence.policy`): every gateway in a country where the operator's licence is
    ``revoked`` or ``denied`` at the given time -- so revoking a country's licence takes its gateways off the
    network when the scenario says so.
``backhaul_cut``
    Gateways whose fibre to their PoP is cut (they can no longer deliver traffic).
``cables_cut`` / ``cables_cut_in``
    PoPs (by name, or every PoP in these countries) that lose their path to the Internet -- an undersea-cable or
    landing-station cut.  Gateways homed to them go with them.
``isl_failure_fraction`` / ``planes_without_lasers``
    A random share of the inter-satellite links fails (seeded), and/or whole planes (``(shell, plane)`` pairs,
    :func:`~skyfence.threats.attrition.plane_labels`) carry no lasers.

:func:`reachability` routes terminals over the attacked network.  When nothing is left to route to -- no gateway,
no PoP, or no path -- the result says *unreachable* (RTT null, reachable share 0), never an exception.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from skyfence.errors import InputError

__all__ = ["GroundAttack", "licence_revoked_countries", "reachability"]

#: Licence states that take a country's gateways off the network when ``licence_revoked`` is asked for.
REVOKED_STATES = ("revoked", "denied")


def licence_revoked_countries(policy, at: np.datetime64, *, operator: str | None = None) -> list[str]:
    """Countries (ISO alpha-2) where ``operator``'s licence is revoked or denied at ``at`` (policy layer)."""
    from skyfence.policy.clauses import licence_periods

    operator = operator or policy.operator
    t_ns = int(np.asarray(at, dtype="datetime64[ns]").astype("int64"))
    zones = policy.spec.zones if hasattr(policy.spec, "zones") else {}
    out: set[str] = set()
    for licence in policy.spec.licences:
        if licence.operator not in (None, operator):
            continue
        state = next((s for a, b, s in licence_periods(licence) if a <= t_ns < b), "none")
        if state not in REVOKED_STATES:
            continue
        countries = list(licence.countries)
        if licence.zone is not None and licence.zone in zones:
            countries += list(getattr(zones[licence.zone], "countries", []) or [])
        out.update(c.upper() for c in countries)
    return sorted(out)


def _unknown(name: str, known: Sequence[str], key: str, what: str) -> InputError:
    close = difflib.get_close_matches(name, list(known), n=3)
    return InputError(
        f"unknown {what} {name!r}",
        field=key,
        hint=f"did you mean {', '.join(close)}?" if close else "list them with skyfence threat sites",
    )


@dataclass(frozen=True)
class GroundAttack:
    """Losses on the ground and between satellites (see the module docstring for each field)."""

    sites: tuple[str, ...] = ()
    gateways_in: tuple[str, ...] = ()
    licence_revoked: bool = False
    backhaul_cut: tuple[str, ...] = ()
    cables_cut: tuple[str, ...] = ()
    cables_cut_in: tuple[str, ...] = ()
    isl_failure_fraction: float = 0.0
    planes_without_lasers: tuple[tuple[int, int], ...] = ()
    seed: int = 0
    removed: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        f = self.isl_failure_fraction
        if not (isinstance(f, int | float) and np.isfinite(f) and 0.0 <= f <= 1.0):
            raise InputError(f"isl_failure_fraction must be in [0, 1], got {f}", field="isl_failure_fraction")
        for i, pair in enumerate(self.planes_without_lasers):
            if len(pair) != 2:
                raise InputError("each entry needs [shell, plane]", field=f"planes_without_lasers[{i}]")

    def apply(self, segment, *, policy=None, at: np.datetime64 | None = None, operator: str | None = None):
        """The segment after the attack, and what went: ``(segment, {"gateways": [...], "pops": [...]})``."""
        from skyfence.network.ground import GroundSegment

        sites = segment.sites
        names = sites["name"].tolist()
        kind = dict(zip(names, sites["kind"].tolist(), strict=True))
        for key, wanted, need in (
            ("sites", self.sites, None),
            ("backhaul_cut", self.backhaul_cut, "gateway"),
            ("cables_cut", self.cables_cut, "pop"),
        ):
            for name in wanted:
                if name not in kind or (need is not None and kind[name] != need):
                    known = [n for n in names if need is None or kind[n] == need]
                    raise _unknown(name, known, key, need or "site")
        gone = set(self.sites) | set(self.backhaul_cut) | set(self.cables_cut)
        is_gw = (sites["kind"] == "gateway").to_numpy()
        country = sites["country"].astype(str).str.upper().to_numpy()
        codes = {c.strip().upper() for c in self.gateways_in}
        if self.licence_revoked:
            if policy is None:
                raise InputError(
                    "licence_revoked needs a policy",
                    field="licence_revoked",
                    hint="give the scenario (or variant) a [policy] file",
                )
            codes |= set(
                licence_revoked_countries(
                    policy, at if at is not None else np.datetime64("now", "ns"), operator=operator
                )
            )
        gone |= set(np.asarray(names, dtype=object)[is_gw & np.isin(country, list(codes))].tolist())
        cut_in = {c.strip().upper() for c in self.cables_cut_in}
        gone |= set(np.asarray(names, dtype=object)[~is_gw & np.isin(country, list(cut_in))].tolist())
        dead_pops = {n for n in gone if kind[n] == "pop"}
        orphans = sites["name"][is_gw & sites["home_pop"].isin(dead_pops).to_numpy()].tolist()
        gone |= set(orphans)
        kept = sites[~sites["name"].isin(gone)].reset_index(drop=True)
        removed = {
            "gateways": sorted(n for n in gone if kind[n] == "gateway"),
            "pops": sorted(n for n in gone if kind[n] == "pop"),
            "licence_revoked_in": sorted(codes - {c.strip().upper() for c in self.gateways_in}),
        }
        return GroundSegment(kept, segment.source), removed

    def isl_filter(self, constellation, t_ref: np.datetime64 | None = None):
        """A callable for :func:`~skyfence.network.routing.route_pairs` (``None`` when no ISL is lost)."""
        if self.isl_failure_fraction <= 0 and not self.planes_without_lasers:
            return None
        no_laser = np.zeros(len(constellation), dtype=bool)
        if self.planes_without_lasers:
            from skyfence.threats.attrition import plane_labels

            labels = plane_labels(constellation, t_ref)
            shell = constellation.satellites["shell"].to_numpy(np.int64)
            known = set(zip(shell.tolist(), labels.tolist(), strict=True))
            for i, (s, p) in enumerate(self.planes_without_lasers):
                if (int(s), int(p)) not in known:
                    raise InputError(f"no plane {p} in shell {s}", field=f"planes_without_lasers[{i}]")
                no_laser |= (shell == int(s)) & (labels == int(p))
        fraction, seed = float(self.isl_failure_fraction), int(self.seed)

        def keep(pairs: np.ndarray) -> np.ndarray:
            ok = ~(no_laser[pairs[:, 0]] | no_laser[pairs[:, 1]])
            if fraction > 0:
                order = np.random.default_rng(seed).permutation(len(pairs))
                failed = np.zeros(len(pairs), dtype=bool)
                failed[order[: round(fraction * len(pairs))]] = True
                ok &= ~failed
            return ok

        return keep


def _unreachable(sources, destinations, times, segment, settings):
    from skyfence.network.routing import LatencyResult

    n = len(times)
    sites = {
        str(r.name): {"kind": str(r.kind), "country": str(r.country)} for r in segment.sites.itertuples(index=False)
    }
    return [
        LatencyResult(
            src,
            dst,
            times,
            np.full(n, np.nan),
            [() for _ in range(n)],
            np.full(n, "", dtype=object),
            np.full(n, "", dtype=object),
            np.full(n, -1, dtype=np.int64),
            sites,
            settings,
        )
        for src, dst in zip(sources, destinations, strict=True)
    ]


def reachability(
    constellation,
    sources,
    destinations,
    times,
    segment,
    *,
    attack: GroundAttack | None = None,
    removed_satellites: np.ndarray | None = None,
    policy=None,
    operator: str | None = None,
    **options,
) -> tuple[list, dict]:
    """Routes (:class:`~skyfence.network.routing.LatencyResult` per terminal) over the attacked network.

    ``removed_satellites`` (boolean per satellite) drops satellites first.  Returns the results and what the
    attack removed.  No gateway or no PoP left is an answer -- every step unreachable -- not an error.
    """
    from skyfence.network.routing import route_pairs

    times = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    attack = attack or GroundAttack()
    attacked, removed = attack.apply(segment, policy=policy, at=times[0], operator=operator)
    gone = None
    if removed_satellites is not None and np.asarray(removed_satellites, dtype=bool).any():
        gone = np.asarray(removed_satellites, dtype=bool)
    removed["satellites"] = 0 if gone is None else int(gone.sum())
    settings = {
        "isl": options.get("isl", "+grid"),
        "gateways_left": len(attacked.gateways),
        "pops_left": len(attacked.pops),
    }
    if not len(attacked.gateways) or not len(attacked.pops) or removed["satellites"] == len(constellation):
        return _unreachable(list(sources), list(destinations), times, attacked, settings), removed
    # the ISLs of the whole constellation, less those of the lost satellites (no laser re-points to bridge a gap)
    results = route_pairs(
        constellation,
        list(sources),
        list(destinations),
        times,
        attacked,
        isl_filter=attack.isl_filter(constellation, times[0]),
        removed_satellites=gone,
        **options,
    )
    return results, removed
