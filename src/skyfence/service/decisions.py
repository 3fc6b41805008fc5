"""The one place the service talks to the policy engine (:mod:`skyfence.policy`).

* :func:`validate_policy` -- TOML text → :class:`PolicyInfo` (version id = the engine's hash of the normalised
  content), or a :class:`~skyfence.errors.PolicyError` naming the key path (the API answers 422 with it).
* :func:`evaluator` -- a compiled, cached :class:`Evaluator` for a stored version.
* :meth:`Evaluator.evaluate` -- fix columns → one :class:`Verdicts` row per fix: decision, deciding rule id, rule
  kind, a readable reason and the country under the fix.
* :meth:`Evaluator.prepare_detection` -- the stateless half of the behavioural detectors
  (:func:`skyfence.detection.detectors.prepare`) under the same policy; the stateful scan runs in the ingestion
  transaction (:mod:`skyfence.service.detect`).

Uploaded policies cannot read the server's files: every file reference, at every include depth (``include``, zone
``files``, path-like zone ``regions``, ``statuses.source`` when it is not a registry dataset), must be a relative
path that resolves inside ``SKYFENCE_POLICY_DIR`` (unset: every file is refused), never through ``..``, an absolute
path or a symlink leading out (:mod:`skyfence.policy.confine`).  Error texts never contain server paths.

One service rule comes before the policy: a terminal whose status is ``suspended`` or ``deactivated`` is denied
(rule ``service:terminal-status``), whatever the policy says -- the operator switched it off.

**Registry-driven rules.**  A policy with ``whitelists_from = "registry"`` reads whitelist membership from the
enrolments (:mod:`skyfence.service.registry`): each whitelist rule's terminal list is filled, per batch, with the
batch's terminals enrolled in the whitelist of the rule zone's countries (the terminal's ``whitelisted`` flag is
not used).  A policy with ``licences_from = "registry"`` reads licences: a licence rule matches a fix in a country
where the policy's operator holds a registry licence, in the rule's place in the precedence order --

* the licence is in force (granted, every condition met, not expired) and ``granted`` is in the rule's states:
  the rule's action;
* the licence is in another state listed in ``states``: the rule's action;
* otherwise, for a rule that allows ``granted`` licences: **deny**, naming why (``licence applied, not granted``,
  ``condition unmet: no operational gateway in TW``): a licence that is not in force serves nobody.

Countries without a registry licence are not matched (lower rules or the default decide).  Each decision
records the licence (``licence_id``) or enrolment (``enrolment_id``) it used.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np

from skyfence.errors import PolicyError
from skyfence.service.core.problems import scrub_paths
from skyfence.service.registry import RegistryView

__all__ = [
    "STATUS_RULE",
    "Evaluator",
    "FixColumns",
    "PolicyInfo",
    "RegistryView",
    "Verdicts",
    "compile_policy",
    "evaluator",
    "validate_policy",
]

#: The rule id of the service's own rule (terminal switched off by the operator).
STATUS_RULE: Final = "service:terminal-status"
_UPLOAD_NAME: Final = "uploaded.toml"
_CACHE_SIZE: Final = 4


@dataclass(frozen=True)
class PolicyInfo:
    """What the service stores about a validated policy."""

    version_id: str
    name: str
    operator: str
    n_rules: int


@dataclass
class FixColumns:
    """Fixes of one request as columns, with the terminal attributes the engine needs."""

    serial: list[str]
    time: np.ndarray  # datetime64[ns], UTC
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    speed_kmh: np.ndarray
    registered_in: list[str]
    plan: list[str]
    whitelisted: np.ndarray
    status: list[str]
    terminal_id: np.ndarray
    account_id: np.ndarray

    @classmethod
    def build(cls, fixes: Sequence[Any], terminals: dict[int, tuple]) -> FixColumns:
        """From validated fixes (``terminal_id``, ``time`` aware UTC, ``lat_deg`` ...) and their terminals' rows
        ``(id, serial, registration_country, plan, whitelisted, status, account_id)`` by id."""
        rows = [terminals[f.terminal_id] for f in fixes]
        ids, serial, registered_in, plan, whitelisted, status, account = zip(*rows, strict=True) if rows else [()] * 7
        micros = [(f.time - _EPOCH) // _MICROSECOND for f in fixes]
        return cls(
            serial=list(serial),
            time=np.array(micros, dtype="datetime64[us]").astype("datetime64[ns]"),
            lat_deg=np.array([f.lat_deg for f in fixes], dtype=float),
            lon_deg=np.array([f.lon_deg for f in fixes], dtype=float),
            alt_m=np.array([f.alt_m for f in fixes], dtype=float),
            speed_kmh=np.array([f.speed_kmh for f in fixes], dtype=float),
            registered_in=list(registered_in),
            plan=list(plan),
            whitelisted=np.array(whitelisted, dtype=bool),
            status=list(status),
            terminal_id=np.array(ids, dtype=np.int64),
            account_id=np.array(account, dtype=np.int64),
        )

    def detection_columns(self) -> dict[str, np.ndarray]:
        """The fixes as the detectors' checked columns: what :func:`skyfence.detection.detectors.prepare` makes of
        :meth:`frame`, without pandas (every value was validated at the API)."""
        n = len(self.serial)
        return {
            "terminal_id": self.terminal_id,
            "lat_deg": self.lat_deg,
            "lon_deg": self.lon_deg,
            "time": self.time,
            "account_id": self.account_id,
            "registered_in": np.array(self.registered_in, dtype="<U2"),
            "alt_m": self.alt_m,
            "speed_kmh": self.speed_kmh,
            "serving_sat": np.full(n, -1),
            "serving_cell": np.full(n, 0),
        }

    def frame(self) -> Any:
        """The fixes as the detectors take them (:data:`skyfence.detection.detectors.REQUIRED_COLUMNS` and more)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "terminal_id": self.terminal_id,
                "time": self.time,
                "lat_deg": self.lat_deg,
                "lon_deg": self.lon_deg,
                "alt_m": self.alt_m,
                "speed_kmh": self.speed_kmh,
                "account_id": self.account_id,
                "registered_in": self.registered_in,
            }
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass
class Verdicts:
    """One entry per fix, in input order."""

    decision: list[str]
    rule: list[str]
    rule_kind: list[str]
    reason: list[str]
    country: list[str]
    licence_id: list[int | None]
    enrolment_id: list[int | None]


def _micros(moment: datetime) -> int:
    """Microseconds since 1970 of an aware datetime (exact: datetimes carry microseconds at most)."""
    return (moment - _EPOCH) // _MICROSECOND


def _whys(status: Any, rows: np.ndarray, t_us: np.ndarray) -> list[tuple[np.ndarray, str | None]]:
    """``rows`` grouped by :meth:`LicenceStatus.why_not` at their fixes' times: only expiry depends on the time."""
    if not rows.size:
        return []
    if status.state != "granted" or status.unmet or status.expires_on is None:
        return [(rows, status.why_not(_EPOCH))]
    end = datetime.combine(status.expires_on, time(0), UTC) + timedelta(days=1)  # in force through that day
    expired = t_us[rows] >= _micros(end)
    return [(group, why) for group, why in ((rows[~expired], None), (rows[expired], status.why_not(end))) if group.size]


def _load(source: str, base: Path | None) -> Any:
    """Compile uploaded TOML confined to ``base`` (see :mod:`skyfence.policy.confine`); errors show no server path."""
    from skyfence.policy import loads_policy
    from skyfence.policy.confine import confined

    with confined(base):
        try:
            return loads_policy(source, base_dir=base or _NOWHERE, name=_UPLOAD_NAME)
        except PolicyError as error:
            shown = PolicyError(
                scrub_paths(error.message, base, _NOWHERE),
                source=None if error.source is None else _shown_source(error.source, base),
                line=error.line,
                field=error.field,
                hint=None if error.hint is None else scrub_paths(error.hint, base, _NOWHERE),
            )
            shown.problems = [
                dataclasses.replace(
                    p,
                    message=scrub_paths(p.message, base, _NOWHERE),
                    hint=None if p.hint is None else scrub_paths(p.hint, base, _NOWHERE),
                )
                for p in error.problems
            ]
            raise shown from None


#: Base of relative references when no policy directory is set (every file reference is refused before use).
_NOWHERE: Final = Path("/nonexistent-policy-dir")


def _shown_source(source: str, base: Path | None) -> str:
    path = Path(source)
    if not path.is_absolute():
        return source
    if base is not None and path.is_relative_to(base.resolve()):
        return path.relative_to(base.resolve()).as_posix()
    return path.name


def compile_policy(source: str, *, policy_dir: Path | None = None) -> Any:
    """A :class:`~skyfence.policy.files.Policy` compiled from uploaded TOML, confined like ingestion's (the
    dashboard's maps use their own copy, so they never wait on ingestion's lock)."""
    return _load(source, policy_dir)


def validate_policy(source: str, *, policy_dir: Path | None = None) -> PolicyInfo:
    """Validate TOML text with the policy engine; :class:`PolicyError` names the key path when it is invalid."""
    policy = _load(source, policy_dir)
    return PolicyInfo(version_id=policy.id, name=policy.name, operator=policy.operator, n_rules=len(policy.rules))


class Evaluator:
    """A compiled policy version.

    The engine keeps no per-call state of its own, but the geometry libraries under it (GEOS through shapely,
    the lazily built STR-tree) are not safe to call from several threads at once: without this lock the durability
    test's server died with heap corruption under concurrent batches.  Evaluation holds the GIL for most of its
    time anyway, so the lock costs little.
    """

    def __init__(self, version_id: str, policy: Any) -> None:
        self.version_id = version_id
        self.policy = policy
        self.engine = policy.engine()
        self._kinds = ["default", *(rule.kind for rule in policy.rules)]
        from skyfence.policy.results import DECISIONS

        #: decision labels by the engine's code; rule id and kind by ``Decisions.rule + 1`` (entry 0: the policy
        #: default): arrays to index per batch
        self._label_table = np.array(DECISIONS, dtype=object)
        self._kind_table = np.array(self._kinds, dtype=object)
        self._rule_id_table = np.array(
            ["default", *(policy.rule_id(i) for i in range(len(policy.spec.rules)))], dtype=object
        )
        self._lock = threading.Lock()
        self._detection: Any = None
        self._heap_frozen = False
        header = policy.spec.policy
        compiled = policy.compiled
        self.operator: str = policy.operator
        self.whitelists_from_registry = header.whitelists_from == "registry"
        self.licences_from_registry = header.licences_from == "registry"
        self.registry_lists: dict[int, tuple[str, ...]] = dict(compiled.registry_lists)
        #: ISO codes whose enrolments the whitelist rules read.
        self.whitelist_codes: tuple[str, ...] = tuple(
            sorted({c for codes in self.registry_lists.values() for c in codes})
        )
        self._position = {rule: k for k, rule in enumerate(compiled.order)}
        #: precedence position by ``Decisions.rule + 1`` (the default, and any rule outside the order: after all)
        never = len(self._position) + 1
        self._position_table = np.array(
            [never, *(self._position.get(r, never) for r in range(len(policy.spec.rules)))], dtype=np.int64
        )
        self._licence_rules = []
        if self.licences_from_registry:
            for rule_index in compiled.order:
                rule = policy.spec.rules[rule_index]
                if rule.kind == "licence" and (not rule.operators or self.operator in rule.operators):
                    self._licence_rules.append((self._position[rule_index], rule_index, rule))

    def detection_context(self) -> Any:
        """The detectors' view of this policy (:class:`skyfence.detection.detectors.Context`), built once."""
        with self._lock:
            return self._detection_context()

    def _detection_context(self) -> Any:
        if self._detection is None:
            from skyfence.detection.detectors import Context

            self._detection = Context(self.policy)
        return self._detection

    def warm_detection(self) -> None:
        """Build the detectors' context and load (or compile) their scan, so the first batch is not the slow one."""
        import pandas as pd

        from skyfence.detection.detectors import StreamDetector, prepare

        one = pd.DataFrame(
            {"terminal_id": [1], "time": np.array(["2026-01-01"], dtype="datetime64[ns]"), "lat_deg": [0.0]}
        ).assign(lon_deg=0.0)
        with self._lock:
            context = self._detection_context()
            StreamDetector(context).advance(prepare(context, one))

    def prepare_detection(self, fixes: FixColumns) -> Any:
        """Checked columns and per-fix context of a batch (:class:`skyfence.detection.detectors.Prepared`)."""
        with self._lock:  # the per-fix context evaluates the policy at the fixes: same engine, same lock
            return self._prepare_detection(fixes, None)

    def _prepare_detection(self, fixes: FixColumns, located: tuple[np.ndarray, np.ndarray] | None) -> Any:
        from skyfence.detection.detectors import prepare_checked

        context = self._detection_context()
        if context.engine is not self.engine:  # a location is only valid for the engine that made it
            located = None
        return prepare_checked(context, fixes.detection_columns(), located=located)

    def freeze_heap(self) -> None:
        """After this policy's first batch: move everything alive (the compiled geometry, the detectors' context
        and the libraries the first batch imported) out of the cyclic garbage collector's reach.

        ``skyfence serve`` freezes the heap at start-up, but a policy activated later is compiled, and the
        detection stack imported, afterwards; every full collection then walked those millions of objects, a
        300 ms stall of whichever request triggered it (it set the ingestion benchmark's p99).  Once per compiled
        policy; a policy evicted from the cache stays in memory (at most a few are ever compiled in a process).
        """
        if self._heap_frozen:
            return
        with self._lock:
            if self._heap_frozen:
                return
            gc.collect()
            gc.freeze()
            self._heap_frozen = True

    @property
    def needs_registry(self) -> bool:
        """Whether decisions read the registry (licences or whitelists)."""
        return self.licences_from_registry or self.whitelists_from_registry

    def evaluate(self, fixes: FixColumns, registry: RegistryView | None = None) -> Verdicts:
        return self.decide(fixes, registry)[0]

    def decide(
        self, fixes: FixColumns, registry: RegistryView | None = None, *, detection: bool = False
    ) -> tuple[Verdicts, Any]:
        """The fixes' verdicts and, with ``detection``, the detectors' prepared batch (as :meth:`prepare_detection`):
        the fixes are located once for both."""
        n = len(fixes.serial)
        registry = registry if registry is not None else RegistryView()
        decided = fixes
        lists = None
        if self.whitelists_from_registry:
            # membership is the enrolment, not the terminal's flag (a copy: the caller's columns stay as they were)
            decided = dataclasses.replace(fixes, whitelisted=np.zeros(n, dtype=bool))
            lists = list(self.engine.compiled.terminal_lists)
            for k, codes in self.registry_lists.items():
                lists[k] = frozenset(s for s, where in registry.enrolled.items() if not where.keys().isdisjoint(codes))
        with self._lock:
            located = self.engine.locate(fixes.lat_deg, fixes.lon_deg)
            result = self._evaluate(decided, lists, located)
            verdicts = self._verdicts(decided, result, n, registry)
            prepared = self._prepare_detection(fixes, located) if detection else None
        return verdicts, prepared

    def _evaluate(
        self,
        fixes: FixColumns,
        lists: list[frozenset[str]] | None = None,
        located: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Any:
        return self.engine.evaluate(
            lat=fixes.lat_deg,
            lon=fixes.lon_deg,
            alt_m=fixes.alt_m,
            speed_kmh=fixes.speed_kmh,
            time=fixes.time,
            terminal=np.asarray(fixes.serial, dtype=object),
            registered_in=np.asarray(fixes.registered_in, dtype=object),
            plan=np.asarray(fixes.plan, dtype=object),
            whitelisted=fixes.whitelisted,
            source="request body",
            terminal_lists=lists,
            located=located,
        )

    def _verdicts(self, fixes: FixColumns, result: Any, n: int, registry: RegistryView) -> Verdicts:
        """Column-wise (object arrays indexed per rule or per group of fixes, not a Python loop over the fixes)."""
        rule = result.rule.astype(np.int64) + 1  # 0: the policy default
        labels = self._label_table[result.decision]
        rule_ids = self._rule_id_table[rule]
        kinds = self._kind_table[rule]
        # filled by the rules the service applies over the engine's decision, then the engine's for the rest (a
        # reason quotes the fix's own values: built only where it is the one given)
        reasons = np.full(n, None, dtype=object)
        country_codes = result.countries()
        licence_ids = np.full(n, None, dtype=object)
        enrolment_ids: list[int | None] = [None] * n
        if self.whitelist_codes and registry.enrolled:
            enrolled, serial = registry.enrolled, fixes.serial
            for i in np.flatnonzero(np.isin(country_codes, self.whitelist_codes)).tolist():
                where = enrolled.get(serial[i])
                if where:
                    enrolment_ids[i] = where.get(str(country_codes[i]))
        if self._licence_rules and registry.licences:
            self._apply_licences(fixes, rule, registry, country_codes, labels, rule_ids, kinds, reasons, licence_ids)
        off = [i for i, status in enumerate(fixes.status) if status != "active"]
        if off:
            labels[off], rule_ids[off], kinds[off] = "deny", STATUS_RULE, "terminal_status"
            for i in off:
                reasons[i] = f"deny by the operator: terminal {fixes.serial[i]} is {fixes.status[i]}"
        engine_rows = [i for i, text in enumerate(reasons.tolist()) if text is None]
        if engine_rows:
            reasons[engine_rows] = result.reasons_of(engine_rows)
        return Verdicts(
            labels.tolist(),
            rule_ids.tolist(),
            kinds.tolist(),
            reasons.tolist(),
            country_codes.tolist(),
            licence_ids.tolist(),
            enrolment_ids,
        )

    def _apply_licences(self, fixes, rule, registry, country_codes, labels, rule_ids, kinds, reasons, licence_ids):
        """Registry licence rules, each in its place in the precedence order (see the module notes): per licence
        and rule, on the fixes still undecided in that licence's country, whose engine rule comes later."""
        from skyfence.policy.model import as_utc, until_utc

        engine_position = self._position_table[rule]
        t_us = fixes.time.astype("datetime64[us]").astype(np.int64)
        plan = registered_in = None
        for code, status in registry.licences.items():
            if not code:
                continue
            pending = np.flatnonzero(country_codes == code)
            outcomes: dict[tuple[int, str | None], tuple[str, ...]] = {}
            for position, rule_index, licence_rule in self._licence_rules:
                if not pending.size:
                    break
                match = engine_position[pending] > position
                if licence_rule.plans is not None:
                    plan = np.asarray(fixes.plan, dtype=object) if plan is None else plan
                    match &= np.isin(plan[pending], list(licence_rule.plans))
                if licence_rule.registered_in is not None:
                    if registered_in is None:
                        registered_in = np.asarray(fixes.registered_in, dtype=object)
                    match &= np.isin(registered_in[pending], list(licence_rule.registered_in))
                if licence_rule.valid_from is not None:
                    match &= t_us[pending] >= _micros(as_utc(licence_rule.valid_from))
                if licence_rule.valid_until is not None:
                    match &= t_us[pending] < _micros(until_utc(licence_rule.valid_until))
                candidates = pending[match]
                decided = np.zeros(len(pending), dtype=bool)
                for rows, why in _whys(status, candidates, t_us):
                    key = (rule_index, why)
                    outcome = outcomes.get(key)
                    if outcome is None:
                        outcome = outcomes[key] = self._licence_outcome(rule_index, licence_rule, status, why)
                    if not outcome:
                        continue
                    labels[rows], rule_ids[rows], kinds[rows] = outcome[0], outcome[1], "licence"
                    reasons[rows] = outcome[2]
                    licence_ids[rows] = status.id
                    decided[np.isin(pending, rows)] = True
                pending = pending[~decided]

    def _licence_outcome(self, rule_index: int, rule: Any, status: Any, why: str | None) -> tuple[str, ...]:
        """``(action, rule id, reason)`` of a licence rule for a licence status (``()``: the rule does not match);
        the same for every fix it decides, so built once per batch."""
        rid = self.policy.rule_id(rule_index)
        head = f"by rule '{rid}' (licence, priority {rule.priority}): "
        if why is None and "granted" in rule.states:
            action = rule.action
            text = f"{self.operator} holds {status.describe()}"
        elif status.state != "granted" and status.state in rule.states:
            action = rule.action
            text = f"{self.operator} holds {status.describe()}"
        elif rule.action == "allow" and "granted" in rule.states:
            action = "deny"
            text = f"{why} ({self.operator}, {status.describe()})"
        else:
            return ()
        return action, rid, f"{action} {head}{text}" + (f" — {rule.reason}" if rule.reason else "")


_cache: OrderedDict[str, Evaluator] = OrderedDict()
_cache_lock = threading.Lock()
_build_lock = threading.Lock()


def evaluator(version_id: str, source: str, *, policy_dir: Path | None = None) -> Evaluator:
    """The compiled policy for a stored version (the last few are kept in memory)."""
    with _cache_lock:
        found = _cache.get(version_id)
        if found is not None:
            _cache.move_to_end(version_id)
            return found
    with _build_lock:  # compile once even when many requests arrive after a restart
        with _cache_lock:
            if version_id in _cache:
                return _cache[version_id]
        policy = _load(source, policy_dir)
        if policy.id != version_id:
            raise PolicyError(
                f"stored policy {version_id[:12]} now compiles to {policy.id[:12]}",
                hint="a referenced file or dataset changed; upload the policy again and activate the new version",
            )
        built = Evaluator(version_id, policy)
        with _cache_lock:
            _cache[version_id] = built
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return built
