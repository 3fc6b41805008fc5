"""Policy files: TOML → a validated, versioned :class:`Policy`.

Loading a file does everything a policy needs before it can decide anything, so that ``skyfence policy validate``
catches every mistake:

1. read the TOML (stdlib :mod:`tomllib`; a syntax error names the line);
2. resolve ``include = ["shared/zones.toml", ...]`` (paths relative to the including file; included files hold
   only ``zones`` and further includes; a cycle or a zone defined twice is an error naming the files);
3. validate against the schema of :mod:`skyfence.policy.model` (unknown keys, wrong types, values outside the
   allowed set → an error naming the key path, e.g. ``rules[3].action``, and the allowed values);
4. check references: every zone a rule or licence names exists, every plan and operator is declared, rule ids
   are unique, licence histories follow :data:`~skyfence.policy.model.LICENCE_TRANSITIONS`;
5. resolve the zones to geometry (ISO codes against Natural Earth, regions, strict GeoJSON polygons, cells,
   buffers) and import the status feed;
6. expand the rules into clauses and reject equal-priority rules with conflicting actions that can match the same
   fix (:mod:`skyfence.policy.engine`).

Key paths are 0-based, as in Python: ``rules[0]`` is the first ``[[rules]]`` table.

**Version.**  :attr:`Policy.id` is the sha256 of the *normalised content*: the merged, validated model as canonical
JSON (sorted keys, defaults filled in, includes merged, comments and layout gone), with each polygon file replaced
by the sha256 of its bytes and the status section replaced by the resolved per-country table.  Two files that say
the same thing have the same id; changing a polygon or a feed changes it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from skyfence._validation import first_problem, key_path, loads_toml, problems, read_toml
from skyfence.data.store import note_file
from skyfence.errors import PolicyError
from skyfence.policy import model as m
from skyfence.policy.clauses import Compiled, compile_policy
from skyfence.policy.confine import policy_file
from skyfence.policy.feed import read_feed

__all__ = ["Policy", "load_policy", "loads_policy"]


# --------------------------------------------------------------------------- errors


def _known_keys() -> list[str]:
    keys: set[str] = set()
    for name in dir(m):
        obj = getattr(m, name)
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            keys.update(obj.model_fields)
    return sorted(keys)


def _wording(error: Any, loc: tuple) -> tuple[str, str | None] | None:
    """The policy file's own wording of some schema errors (the rest is :func:`skyfence._validation.describe`)."""
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        # 0.75: a typo (acton -> action) is close; an unrelated key (geojson) must not be "did you mean reason?"
        close = difflib.get_close_matches(key, _known_keys(), n=3, cutoff=0.75)
        hint = ("did you mean " + ", ".join(close) + "?") if close else "see the policy file reference"
        return f"unknown key {key!r}", hint
    if kind == "missing" and key_path(loc).endswith("default"):
        return "required key is missing", "state the decision for fixes no rule covers: allow, deny or degrade"
    if kind == "union_tag_invalid":
        tag = (error.get("ctx") or {}).get("tag")
        return f"unknown rule kind {tag!r}; allowed kinds: {', '.join(m.RULE_KINDS)}", None
    if kind == "union_tag_not_found":
        return f"a rule needs a kind; allowed kinds: {', '.join(m.RULE_KINDS)}", None
    if kind == "string_pattern_mismatch":
        return f"{error.get('input')!r} is not a valid name (letters, digits, _ . -; starting with a letter)", None
    return None


def _validation_error(error: ValidationError, data, source: str) -> PolicyError:
    problem = first_problem(error, data=data, custom=_wording)
    out = PolicyError(problem.message, source=source, field=problem.field or None, hint=problem.hint)
    # every problem, for the API's errors[] (the message is the first one, with how many more there are)
    out.problems = problems(error, data=data, custom=_wording)
    return out


# --------------------------------------------------------------------------- reading


def _read_toml(path: Path) -> dict:
    return read_toml(path, what="policy file", error=PolicyError)


def _parse_toml(text: str, source: str) -> dict:
    return loads_toml(text, source=source, error=PolicyError)


@dataclass
class _Merged:
    zones: dict[str, m.Zone] = field(default_factory=dict)
    zone_dirs: dict[str, Path] = field(default_factory=dict)
    zone_files: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _includes(data: dict, here: Path, stack: list[Path], merged: _Merged) -> None:
    includes = data.get("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise PolicyError("include must be a list of file paths", source=str(here), field="include")
    for i, name in enumerate(includes):
        target = policy_file(name, here.parent, field=f"include[{i}]", source=str(here))
        if target in stack:
            chain = " → ".join(p.name for p in [*stack[stack.index(target) :], target])
            raise PolicyError(
                f"include cycle: {chain}",
                source=str(here),
                field=f"include[{i}]",
                hint="shared files must not include each other in a loop",
            )
        if not target.is_file():
            raise PolicyError(
                f"included file {name!r} not found",
                source=str(here),
                field=f"include[{i}]",
                hint=f"paths are relative to {here.parent}",
            )
        note_file(target, kind="policy_include")
        sub = _read_toml(target)
        try:
            included = m.IncludeFile.model_validate(sub)
        except ValidationError as error:
            problem = _validation_error(error, sub, str(target))
            if problem.field and problem.field.split(".")[0].split("[")[0] not in ("include", "zones"):
                problem = PolicyError(
                    f"key {problem.field.split('.')[0]!r} is not allowed in an included file",
                    source=str(target),
                    field=problem.field,
                    hint="included files hold only [zones.NAME] tables and include lists",
                )
            raise problem from None
        _includes(sub, target, [*stack, target], merged)
        _add_zones(included.zones, target, merged)
        merged.files.append(str(target))


def _add_zones(zones: dict[str, m.Zone], source: Path, merged: _Merged) -> None:
    for name, zone in zones.items():
        if name in merged.zones:
            raise PolicyError(
                f"zone {name!r} is defined twice (also in {merged.zone_files[name]})",
                source=str(source),
                field=f"zones.{name}",
                hint="rename one of them",
            )
        merged.zones[name] = zone
        merged.zone_dirs[name] = source.parent
        merged.zone_files[name] = str(source)


# --------------------------------------------------------------------------- the policy


@dataclass(eq=False)
class Policy:
    """A validated policy: the merged file content, where it came from, its version id and resolved statuses.

    Build with :func:`load_policy`.  ``engine(operator)`` compiles it for evaluation (cached); ``evaluate`` and
    ``explain`` are shortcuts.
    """

    spec: m.PolicyFile
    source: str
    base_dir: Path
    zone_dirs: dict[str, Path]
    zone_files: dict[str, str]
    included: list[str]
    statuses: dict[str, m.StatusEntry]
    status_source: str | None
    admin1: dict[str, dict]
    id: str = ""
    _engines: dict = field(default_factory=dict, repr=False)
    _compiled: Any = field(default=None, repr=False)

    # ----------------------------------------------------------------- convenience

    @property
    def name(self) -> str:
        return self.spec.policy.name

    @property
    def operator(self) -> str:
        return self.spec.policy.operator

    @property
    def default(self) -> str:
        return self.spec.policy.default

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def rules(self) -> list:
        return list(self.spec.rules)

    @property
    def plans(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*m.PLANS, *self.spec.plans]))

    @property
    def compiled(self) -> Compiled:
        """The policy compiled into clauses (:mod:`skyfence.policy.clauses`): geography, clauses, precedence."""
        return self._compiled

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([self.operator, *self.spec.operators]))

    def rule_id(self, index: int) -> str:
        """The ``id`` of rule ``index`` (``rules[index]`` if it has none); ``default`` for -1."""
        if index < 0:
            return "default"
        rule = self.spec.rules[index]
        return rule.id or f"rules[{index}]"

    def as_of(self) -> datetime:
        """The policy's ``as_of`` moment, or now (UTC) when the file gives none."""
        value = self.spec.policy.as_of
        return m.as_utc(value) if value is not None else datetime.now(UTC)

    def engine(self, operator: str | None = None, *, tile_deg: float = 0.05):
        """The compiled :class:`~skyfence.policy.engine.Engine` for ``operator`` (default the policy's), cached."""
        from skyfence.policy.engine import Engine

        key = (operator or self.operator, tile_deg)
        if key not in self._engines:
            self._engines[key] = Engine(self, operator=key[0], tile_deg=tile_deg)
        return self._engines[key]

    def evaluate(self, fixes=None, **columns):
        """Decisions for fixes (a DataFrame or keyword arrays); see :meth:`Engine.evaluate`."""
        return self.engine().evaluate(fixes, **columns)

    def explain(self, lat_deg: float, lon_deg: float, **fix):
        """Every rule considered for one fix; see :meth:`Engine.explain`."""
        return self.engine().explain(lat_deg, lon_deg, **fix)

    def normalised(self) -> dict:
        """The normalised content the :attr:`id` hashes (see the module notes)."""
        from skyfence.policy.zones import _file_digest

        body = self.spec.model_dump(mode="json", exclude={"include", "statuses", "zones"})
        zones = {}
        for name, zone in sorted(self.spec.zones.items()):
            entry = zone.model_dump(mode="json")
            entry["files"] = ["sha256:" + _file_digest((self.zone_dirs[name] / f).resolve()) for f in zone.files]
            zones[name] = entry
        body["zones"] = zones
        body["statuses"] = {
            code: entry.model_dump(mode="json", exclude_none=True) for code, entry in sorted(self.statuses.items())
        }
        return body


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _digest(content: dict) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_policy(path: str | Path) -> Policy:
    """Load, validate and compile-check a policy file (see the module notes); errors are :class:`PolicyError`."""
    path = Path(path).resolve() if not isinstance(path, Path) else path.resolve()
    note_file(path, kind="policy")
    data = _read_toml(path)
    return _build(data, path)


def loads_policy(text: str, *, base_dir: str | Path = ".", name: str = "<policy>") -> Policy:
    """Like :func:`load_policy` for TOML text; relative paths resolve against ``base_dir``."""
    base = Path(base_dir).resolve()
    data = _parse_toml(text, name)
    return _build(data, base / name, source_name=name)


def _build(data: dict, path: Path, *, source_name: str | None = None) -> Policy:
    source = source_name or str(path)
    merged = _Merged()
    _includes(data, path, [path], merged)
    try:
        spec = m.PolicyFile.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error, data, source) from None
    _add_zones(spec.zones, path, merged)
    spec = spec.model_copy(update={"zones": dict(merged.zones)})
    _check_references(spec, source)
    spec = _read_terminal_files(spec, path.parent, source)
    statuses, status_source, admin1 = _resolve_statuses(spec, path.parent, source)
    policy = Policy(
        spec=spec,
        source=source,
        base_dir=path.parent,
        zone_dirs=merged.zone_dirs,
        zone_files=merged.zone_files,
        included=merged.files,
        statuses=statuses,
        status_source=status_source,
        admin1=admin1,
    )
    try:
        policy._compiled = compile_policy(policy)
    except PolicyError as error:
        if error.source is None:
            raise PolicyError(error.message, source=source, field=error.field, hint=error.hint) from None
        raise
    policy.id = _digest(policy.normalised())
    return policy


def _read_terminal_files(spec: m.PolicyFile, base: Path, source: str) -> m.PolicyFile:
    """Whitelist rules' ``terminals_file`` → their ``terminals`` (so the version id covers the membership)."""
    rules = list(spec.rules)
    changed = False
    for i, rule in enumerate(rules):
        if not isinstance(rule, m.WhitelistRule) or rule.terminals_file is None:
            continue
        name = rule.terminals_file
        field = f"rules[{i}].terminals_file"
        path = policy_file(name, base, field=field, source=source)
        note_file(path, kind="policy_terminals")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PolicyError(
                f"cannot read terminal list {name!r}: {type(error).__name__}",
                source=source,
                field=field,
                hint="a UTF-8 text file, one terminal id a line, relative to the policy file",
            ) from None
        listed = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        terminals = sorted({*rule.terminals, *(t for t in listed if t)})
        rules[i] = rule.model_copy(update={"terminals": terminals, "terminals_file": None})
        changed = True
    return spec.model_copy(update={"rules": rules}) if changed else spec


def _close(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _check_references(spec: m.PolicyFile, source: str) -> None:
    zones = sorted(spec.zones)
    listing = ", ".join(zones) or "(none)"
    plans = tuple(dict.fromkeys([*m.PLANS, *spec.plans]))
    operators = tuple(dict.fromkeys([spec.policy.operator, *spec.operators]))

    def zone_ref(name: str, where: str) -> None:
        if name not in spec.zones:
            raise PolicyError(
                f"unknown zone {name!r}; defined zones: {listing}",
                source=source,
                field=where,
                hint=_close(name, zones) + "define it under [zones.NAME] or in an included file",
            )

    def plan_refs(values, where: str) -> None:
        for i, plan in enumerate(values or []):
            if plan not in plans:
                raise PolicyError(
                    f"unknown plan {plan!r}; known plans: {', '.join(plans)}",
                    source=source,
                    field=f"{where}[{i}]",
                    hint=_close(plan, plans) + "declare it under [plans.NAME]",
                )

    def operator_ref(name: str | None, where: str) -> None:
        if name is not None and name not in operators:
            raise PolicyError(
                f"unknown operator {name!r}; declared operators: {', '.join(operators)}",
                source=source,
                field=where,
                hint="declare it under [operators.NAME]",
            )

    seen_ids: dict[str, int] = {}
    for i, rule in enumerate(spec.rules):
        where = f"rules[{i}]"
        if rule.id is not None:
            if rule.id in seen_ids:
                raise PolicyError(
                    f"rule id {rule.id!r} is used twice (also rules[{seen_ids[rule.id]}])",
                    source=source,
                    field=f"{where}.id",
                )
            seen_ids[rule.id] = i
        single = getattr(rule, "zone", None)
        if single:
            zone_ref(single, f"{where}.zone")
        for j, name in enumerate(getattr(rule, "zones", [])):
            zone_ref(name, f"{where}.zones[{j}]")
        for j, name in enumerate(getattr(rule, "destinations", [])):
            zone_ref(name, f"{where}.destinations[{j}]")
        plan_refs(rule.plans, f"{where}.plans")
        for j, name in enumerate(rule.operators or []):
            operator_ref(name, f"{where}.operators[{j}]")
    if spec.policy.licences_from == "registry" and spec.licences:
        raise PolicyError(
            'licences_from = "registry" takes licences from the control plane, but the file lists licences too',
            source=source,
            field="licences[0]",
            hint='drop the [[licences]] tables, or set licences_from = "file"',
        )
    if spec.policy.whitelists_from == "registry":
        for i, rule in enumerate(spec.rules):
            if rule.kind == "whitelist" and (rule.terminals or rule.terminals_file):
                raise PolicyError(
                    'whitelists_from = "registry" takes whitelist membership from the control plane\'s enrolments, '
                    "but this rule lists terminals",
                    source=source,
                    field=f"rules[{i}].terminals",
                    hint='drop terminals, or set whitelists_from = "file"',
                )
    for i, licence in enumerate(spec.licences):
        where = f"licences[{i}]"
        if licence.zone is not None:
            zone_ref(licence.zone, f"{where}.zone")
        plan_refs(licence.plans, f"{where}.plans")
        operator_ref(licence.operator, f"{where}.operator")
        _check_history(licence, where, source)


def _check_history(licence: m.Licence, where: str, source: str) -> None:
    previous = "none"
    last_day = None
    for j, event in enumerate(licence.history):
        allowed = m.LICENCE_TRANSITIONS[previous]
        if event.state not in allowed:
            raise PolicyError(
                f"a licence cannot go from {previous} to {event.state}; allowed next states: {', '.join(allowed)}",
                source=source,
                field=f"{where}.history[{j}].state",
                hint=f"states run {m.LICENCE_LIFECYCLE}",
            )
        if last_day is not None and event.on < last_day:
            raise PolicyError("history dates must not go backwards", source=source, field=f"{where}.history[{j}].on")
        previous, last_day = event.state, event.on
    if licence.history:
        if licence.state != previous:
            raise PolicyError(
                f"state {licence.state!r} disagrees with the last history entry ({previous!r})",
                source=source,
                field=f"{where}.state",
            )
        if licence.since is not None:
            raise PolicyError("give either since or history, not both", source=source, field=f"{where}.since")


def _resolve_statuses(spec: m.PolicyFile, base: Path, source: str):
    statuses: dict[str, m.StatusEntry] = {}
    admin1: dict[str, dict] = {}
    status_source = None
    section = spec.statuses
    if section is None:
        return statuses, status_source, admin1
    if section.source:
        feed = read_feed(section.source, base_dir=base, field="statuses.source", policy_source=source)
        statuses.update(feed.admin0)
        admin1 = feed.admin1
        status_source = feed.source
    for code, entry in section.countries.items():
        statuses[code] = entry if isinstance(entry, m.StatusEntry) else m.StatusEntry(status=entry)
    return statuses, status_source, admin1
