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
from datetime import UTC, datetime, timedelta
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
    def build(cls, fixes: Sequence[Any], terminals: dict[int, Any]) -> FixColumns:
        """From validated fixes (``terminal_id``, ``time`` aware UTC, ``lat_deg`` ...) and their terminals."""
        attributes = {
            t.id: (t.serial, t.registration_country, t.plan, t.whitelisted, t.status, t.account_id)
            for t in terminals.values()
        }
        rows = [attributes[f.terminal_id] for f in fixes]
        micros = [(f.time - _EPOCH) // _MICROSECOND for f in fixes]
        return cls(
            serial=[r[0] for r in rows],
            time=np.array(micros, dtype="datetime64[us]").astype("datetime64[ns]"),
            lat_deg=np.array([f.lat_deg for f in fixes], dtype=float),
            lon_deg=np.array([f.lon_deg for f in fixes], dtype=float),
            alt_m=np.array([f.alt_m for f in fixes], dtype=float),
            speed_kmh=np.array([f.speed_kmh for f in fixes], dtype=float),
            registered_in=[r[1] for r in rows],
            plan=[r[2] for r in rows],
            whitelisted=np.array([r[3] for r in rows], dtype=bool),
            status=[r[4] for r in rows],
            terminal_id=np.array([f.terminal_id for f in fixes], dtype=np.int64),
            account_id=np.array([r[5] for r in rows], dtype=np.int64),
        )

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
        from skyfence.detection.detectors import prepare

        with self._lock:  # the per-fix context evaluates the policy at the fixes: same engine, same lock
            return prepare(self._detection_context(), fixes.frame(), source="request body")

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
        n = len(fixes.serial)
        registry = registry if registry is not None else RegistryView()
        lists = None
        if self.whitelists_from_registry:
            # membership is the enrolment, not the terminal's flag (a copy: the caller's columns stay as they were)
            fixes = dataclasses.replace(fixes, whitelisted=np.zeros(n, dtype=bool))
            lists = list(self.engine.compiled.terminal_lists)
            for k, codes in self.registry_lists.items():
                lists[k] = frozenset(s for s, where in registry.enrolled.items() if any(c in where for c in codes))
        with self._lock:
            result = self._evaluate(fixes, lists)
            return self._verdicts(fixes, result, n, registry)

    def _evaluate(self, fixes: FixColumns, lists: list[frozenset[str]] | None = None) -> Any:
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
        )

    def _verdicts(self, fixes: FixColumns, result: Any, n: int, registry: RegistryView) -> Verdicts:
        labels = result.labels.tolist()
        rule_ids = [str(r) for r in result.rule_ids()]
        kinds = [self._kinds[int(r) + 1] for r in result.rule]
        # filled by the rules the service applies over the engine's decision, then the engine's for the rest (a
        # reason quotes the fix's own values: built only where it is the one given)
        reasons: list[str | None] = [None] * n
        countries = result.countries().tolist()
        licence_ids: list[int | None] = [None] * n
        enrolment_ids: list[int | None] = [None] * n
        if self.whitelist_codes and registry.enrolled:
            for i, code in enumerate(countries):
                if code in self.whitelist_codes:
                    where = registry.enrolled.get(fixes.serial[i])
                    if where and code in where:
                        enrolment_ids[i] = where[code]
        if self._licence_rules and registry.licences:
            self._apply_licences(fixes, result, registry, countries, labels, rule_ids, kinds, reasons, licence_ids)
        for i, status in enumerate(fixes.status):
            if status != "active":
                labels[i], rule_ids[i], kinds[i] = "deny", STATUS_RULE, "terminal_status"
                reasons[i] = f"deny by the operator: terminal {fixes.serial[i]} is {status}"
        engine_rows = [i for i, text in enumerate(reasons) if text is None]
        for i, text in zip(engine_rows, result.reasons_of(engine_rows), strict=True):
            reasons[i] = text
        return Verdicts(labels, rule_ids, kinds, reasons, countries, licence_ids, enrolment_ids)  # type: ignore[arg-type]

    def _apply_licences(self, fixes, result, registry, countries, labels, rule_ids, kinds, reasons, licence_ids):
        """Registry licence rules, each in its place in the precedence order (see the module notes)."""
        from skyfence.policy.model import as_utc, until_utc

        decided = result.rule
        micros = fixes.time.astype("datetime64[us]").astype(np.int64).tolist()
        never = len(self._position) + 1
        outcomes: dict[tuple[int, int, str | None], tuple[str, ...]] = {}
        for i, code in enumerate(countries):
            status = registry.licences.get(code) if code else None
            if status is None:
                continue
            engine_rule = int(decided[i])
            engine_position = self._position.get(engine_rule, never) if engine_rule >= 0 else never
            at: datetime | None = None
            for position, rule_index, rule in self._licence_rules:
                if position >= engine_position:
                    break
                if rule.plans is not None and fixes.plan[i] not in rule.plans:
                    continue
                if rule.registered_in is not None and fixes.registered_in[i] not in rule.registered_in:
                    continue
                if at is None:
                    at = _EPOCH + timedelta(microseconds=micros[i])
                if rule.valid_from is not None and at < as_utc(rule.valid_from):
                    continue
                if rule.valid_until is not None and at >= until_utc(rule.valid_until):
                    continue
                why = status.why_not(at)
                key = (rule_index, status.id, why)
                outcome = outcomes.get(key)
                if outcome is None:
                    outcome = outcomes[key] = self._licence_outcome(rule_index, rule, status, why)
                if not outcome:
                    continue
                labels[i], rule_ids[i], kinds[i] = outcome[0], outcome[1], "licence"
                reasons[i] = outcome[2]
                licence_ids[i] = status.id
                break

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
