"""Results of the engine: :class:`Decisions` for a batch of fixes, :class:`Explanation` (with a
:class:`RuleTrace` per rule) for one fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from skyfence.policy import model as m
from skyfence.policy.fixes import Fixes

if TYPE_CHECKING:
    from skyfence.policy.engine import Engine

__all__ = ["COORDINATE_DECIMALS", "DECISIONS", "Decisions", "Explanation", "RuleTrace", "format_point"]

#: Decimals of the degrees a reason prints: 1e-7° is 1.1 cm of latitude, so a fix on a zone's edge and one a
#: hair outside never print as the same point (review trial 2, item 10: 9.999999 and 10.0 both printed 10.00000).
COORDINATE_DECIMALS = 7


def format_point(lat_deg: float, lon_deg: float) -> str:
    """``"lat, lon"`` in degrees as every decision reason prints a position (:data:`COORDINATE_DECIMALS`)."""
    return f"{lat_deg:.{COORDINATE_DECIMALS}f}, {lon_deg:.{COORDINATE_DECIMALS}f}"


#: Decision labels in code order (``Decisions.decision`` holds these codes).
DECISIONS = m.ACTIONS


@dataclass(eq=False)
class Decisions:
    """Decisions for a batch of fixes.

    Attributes
    ----------
    decision
        ``uint8`` codes into :data:`DECISIONS` (``allow``, ``deny``, ``degrade``).
    rule
        ``int32`` index of the deciding rule in the policy file (``rules[i]``), -1 for the policy default.
    clause
        ``int32`` reason code: index into :attr:`reason_table` minus one (-1 = the default).
    country
        ``int16`` index into :attr:`codes` of the country under each fix (-1: sea / none).
    assumptions
        Defaults used for columns the input did not have.
    waters
        ``bool`` per fix: in a country's territorial sea rather than on its land (:mod:`skyfence.earth.waters`);
        None when not known.
    """

    engine: Engine
    decision: np.ndarray
    rule: np.ndarray
    clause: np.ndarray
    country: np.ndarray
    fixes: Fixes
    assumptions: list[str]
    waters: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.decision)

    @property
    def labels(self) -> np.ndarray:
        """Decision labels (``<U7`` strings)."""
        return np.asarray(DECISIONS)[self.decision]

    @property
    def reason_table(self) -> list[str]:
        """Reason texts by code: entry 0 is the default, entry k+1 clause k."""
        return self.engine.reason_table

    def reasons(self) -> pd.Categorical:
        """A readable reason per fix, as a categorical over :attr:`reason_table` (no per-fix string building)."""
        seen: dict[str, int] = {}
        categories = []
        for text in self.reason_table:  # two clauses of one rule may share a text: keep categories distinct
            seen[text] = seen.get(text, 0) + 1
            categories.append(text if seen[text] == 1 else f"{text} (#{seen[text]})")
        return pd.Categorical.from_codes(self.clause + 1, categories=categories)

    def rule_ids(self) -> pd.Categorical:
        """The deciding rule's id per fix (``default`` for the policy default)."""
        policy = self.engine.policy
        table = ["default", *(policy.rule_id(i) for i in range(len(policy.spec.rules)))]
        return pd.Categorical.from_codes(self.rule + 1, categories=table)

    @property
    def codes(self) -> list[str]:
        """Country codes of this call (:attr:`Engine.codes` first, then registration countries it lacks)."""
        return self.fixes.codes

    def countries(self) -> np.ndarray:
        """ISO alpha-2 code of the country under each fix ("" at sea)."""
        table = np.asarray([*self.codes, ""], dtype="<U2")
        return table[self.country]

    def reason(self, i: int) -> str:
        """The reason for fix ``i`` with the fix's own values (speed, altitude, country ...)."""
        return self.reasons_of([int(i)])[0]

    def reasons_of(self, rows: list[int]) -> list[str]:
        """:meth:`reason` of each of ``rows`` (a batch's worth in one call: the per-clause and per-country parts
        are looked up once, not once a fix)."""
        fixes, table, codes = self.fixes, self.reason_table, self.codes
        clause, country = self.clause.tolist(), self.country.tolist()
        lat, lon = fixes.lat_deg, fixes.lon_deg
        status_note: dict[int, str] = {}  # country code -> "; TW is ... on the map" (default decisions)
        details = [clause_.detail for clause_ in self.engine.clauses]
        waters = self.waters.tolist() if self.waters is not None else [False] * len(clause)
        sea_label = f" territorial sea, within {self.engine.geo.waters_label}"
        out = []
        for i in rows:
            c, code = clause[i], country[i]
            name = codes[code] if code >= 0 else "no country (sea)"
            where = name + sea_label if waters[i] and code >= 0 else name
            text = f"{table[c + 1]} (at {format_point(lat[i], lon[i])} ({where})"
            if c < 0:
                if code >= 0:
                    note = status_note.get(code)
                    if note is None:
                        note = status_note[code] = self._status_note(name)
                    text += note
            else:
                detail = details[c]
                if detail == "speed":
                    text += f"; speed {fixes.speed_kmh[i]:g} km/h"
                elif detail == "altitude":
                    text += f"; altitude {fixes.alt_m[i]:g} m"
                elif detail == "days" and fixes.days_abroad is not None:
                    text += f"; {fixes.days_abroad[i]:g} days abroad"
                elif detail == "end_use":
                    text += f"; end use {fixes.end_uses[fixes.end_use[i]]}"
            out.append(text + ")")
        return out

    def _status_note(self, country: str) -> str:
        entry = self.engine.policy.statuses.get(country)
        if entry is None:
            return ""
        when = f", expected: {entry.expected}" if entry.expected else ""
        when += f", from {entry.since.isoformat()}" if entry.since is not None else ""
        return f"; {country} is {entry.status} on the {self.engine.operator} map{when}"

    def to_frame(self) -> pd.DataFrame:
        """``decision``, ``rule``, ``rule_id``, ``reason`` and ``country`` columns (categoricals where useful)."""
        return pd.DataFrame(
            {
                "decision": pd.Categorical.from_codes(self.decision.astype(np.int8), categories=list(DECISIONS)),
                "rule": self.rule,
                "rule_id": self.rule_ids(),
                "reason": self.reasons(),
                "country": pd.Categorical.from_codes(self.country, categories=list(self.codes))
                if len(self.codes)
                else pd.Categorical([None] * len(self.country)),
            }
        )

    def counts(self) -> dict[str, int]:
        """How many fixes got each decision."""
        numbers = np.bincount(self.decision, minlength=len(DECISIONS))
        return {label: int(numbers[k]) for k, label in enumerate(DECISIONS)}


@dataclass(frozen=True)
class RuleTrace:
    """How one rule fared for one fix."""

    index: int
    id: str
    kind: str
    priority: int
    action: str
    matched: bool
    decided: bool
    why: str

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "id": self.id,
            "kind": self.kind,
            "priority": self.priority,
            "action": self.action,
            "matched": self.matched,
            "decided": self.decided,
            "why": self.why,
        }


@dataclass(frozen=True)
class Explanation:
    """A decision for one fix with every rule considered, in precedence order."""

    decision: str
    rule: int
    rule_id: str
    reason: str
    country: str
    zones: list[str]
    fix: dict
    traces: list[RuleTrace]
    policy_id: str
    #: ids of the rules that matched too but came later in the precedence order
    also_matched: list[str] = field(default_factory=list)
    #: when a rule other than a licence rule allowed the fix: what the operator's licences say there then ("" if a
    #: licence is granted or a licence rule decided)
    licence_note: str = ""

    def to_dict(self) -> dict:
        return {
            "decision": self.decision,
            "rule": self.rule_id,
            "rule_index": self.rule,
            "reason": self.reason,
            "also_matched": self.also_matched,
            "licence_note": self.licence_note,
            "country": self.country,
            "zones": self.zones,
            "fix": self.fix,
            "policy_id": self.policy_id,
            "rules": [t.to_dict() for t in self.traces],
        }
