"""The registry as files, and back: ``skyfence policy export`` / ``skyfence policy import``.

**Export** writes what the control plane does right now as files the offline tools read:

* ``snapshot.toml`` -- the active policy with ``licences_from`` / ``whitelists_from`` resolved: the operator's
  registry licences as ``[[licences]]`` (state, conditions), what the conditions are checked against as
  ``[operators.NAME]`` (``gateways_in``: countries with an operational gateway, ``lawful_intercept_in``: with an
  operational PoP, ``local_ownership_in``: where the ownership record meets that licence's bounds), and each
  registry-driven whitelist rule pointing at a terminal list (``terminals_file``);
* ``snapshot.ground.json`` -- the operator's gateways and PoPs (operational and planned; offline sites left out)
  in the starlink-viz layout that ``[ground] sites`` in a scenario and ``skyfence latency --ground`` read;
* ``snapshot.whitelist-<CC>.txt`` -- one enrolled terminal serial a line;
* ``snapshot.zone-<zone>-<files|regions><k>-<sha256[:12]>.geojson`` -- a copy of each polygon file the active
  policy's zones name (``files``, path-like ``regions``), read from ``SKYFENCE_POLICY_DIR`` under the server's own
  confinement, with the snapshot pointing at the copy: the snapshot loads from any folder (review trial 2, item 7).
  The names carry only ``[A-Za-z0-9_-]`` from the zone name, so a copy never lands outside the snapshot's folder
  and two zones' copies never share a name unless their bytes are the same.

A granted licence's ownership bounds become the file model's ``local_ownership`` condition, met where the
operator's record meets them, so ``assess`` reproduces each country's availability.  Files are written atomically.

**Import** reads such a policy file (and optionally a ground file) into the registry: licences of the policy's
operator (created, or their state and conditions updated), ground sites (by name), and whitelist terminals of file
whitelist rules as enrolments -- in one transaction, each change audited with the importer's name.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from skyfence.errors import InputError
from skyfence.service import registry
from skyfence.service.core.db import Database, open_database
from skyfence.service.models import Enrolment, GroundSite, Licence, Operator, Ownership, Policy, Terminal, utcnow

__all__ = [
    "ExportResult",
    "enrolled_serials",
    "export_snapshot",
    "import_snapshot",
    "resolve_licences",
    "resolve_policy_file",
    "with_registry_licences",
]


@dataclass(frozen=True)
class ExportResult:
    policy: Path
    ground: Path
    whitelists: dict[str, Path]
    licences: int
    sites: int
    enrolled: int
    polygons: tuple[Path, ...] = ()


def _database(db_url: str, *, write: bool) -> Database:
    """The database at ``db_url``: an import (``write``) creates and migrates it, as ``serve`` and ``keys create``
    do; an export only reads, so a missing SQLite file is refused (nothing is created) and an old schema named."""
    from skyfence.service.core.migrate import current_revision, head_revision, upgrade

    database = open_database(db_url, must_exist=not write)
    if write:
        upgrade(database)
        return database
    with database.writer.connect() as connection:
        revision = current_revision(connection)
    if revision != head_revision():
        database.dispose()
        raise InputError(
            f"the database is at schema revision {revision or 'none'}, not {head_revision()}",
            field="--db",
            hint="start `skyfence serve --db URL` once to migrate it",
        )
    return database


def _ownership_ok(row: Licence, owner: Ownership | None) -> bool:
    if row.local_ownership_min_pct is None and row.foreign_ownership_max_pct is None:
        return True
    if owner is None:
        return False
    low = row.local_ownership_min_pct
    high = row.foreign_ownership_max_pct
    return (low is None or owner.local_pct >= low) and (high is None or owner.foreign_pct <= high)


def _polygon_copies(data: dict[str, Any], policy_dir: Path | None, out: Path) -> list[tuple[Path, bytes]]:
    """The polygon files the policy's zones name, read as the server reads them (confined to ``policy_dir``), each
    with the path of its copy next to ``out``; the zones in ``data`` are pointed at the copies."""
    import hashlib
    import re

    from skyfence.earth.regions import names_a_file
    from skyfence.errors import PolicyError
    from skyfence.policy.confine import confined, policy_file

    copies = []
    zones = data.get("zones") or {}
    for zone_name, zone in zones.items() if isinstance(zones, dict) else ():
        for key in ("files", "regions"):
            entries = zone.get(key) if isinstance(zone, dict) else None
            if not isinstance(entries, list):
                continue
            for k, name in enumerate(entries):
                if not isinstance(name, str) or (key == "regions" and not names_a_file(name)):
                    continue
                where = f"zones.{zone_name}.{key}[{k}]"
                hint = "set SKYFENCE_POLICY_DIR to the folder the server reads uploaded policies' files from"
                try:
                    with confined(policy_dir):
                        source = policy_file(name, policy_dir or Path("."), field=where)
                    content = source.read_bytes()
                except PolicyError as error:
                    raise InputError(error.message, field=where, hint=hint) from None
                except OSError:
                    raise InputError(f"polygon file {name!r} cannot be read", field=where, hint=hint) from None
                stem = re.sub(r"[^A-Za-z0-9_-]", "_", str(zone_name))[:40]
                digest = hashlib.sha256(content).hexdigest()[:12]
                target = out.with_name(f"{out.stem}.zone-{stem}-{key}{k}-{digest}.geojson")
                entries[k] = target.name
                copies.append((target, content))
    return copies


def export_snapshot(db_url: str, out: Path, *, policy_dir: Path | None = None) -> ExportResult:
    """Write the registry's state as a policy, a ground-segment file, whitelist files and copies of the polygon
    files its zones name (see the module notes); ``policy_dir`` is where the server reads those polygon files
    (``SKYFENCE_POLICY_DIR``)."""
    from skyfence._io import atomic_path

    out = Path(out)
    if out.suffix != ".toml":
        raise InputError(f"{out.name}: the snapshot is a policy file and must end in .toml", field="--out")
    database = _database(db_url, write=False)
    try:
        with database.read() as session:
            active = session.scalar(select(Policy).where(Policy.active.is_(True)))
            if active is None:
                raise InputError(
                    "no policy is active in this database",
                    field="--db",
                    hint="upload a policy and activate it (dashboard, or POST /api/v1/policies then "
                    "POST /api/v1/policies/{id}/activate); `policy import` fills the registry only",
                )
            data = tomllib.loads(active.source)
            header = data["policy"]
            operator = header["operator"]
            from_registry = header.get("licences_from", "file") == "registry"
            whitelists_from_registry = header.pop("whitelists_from", "file") == "registry"
            version = registry.current_version(session)
            moment = utcnow().replace(microsecond=0)
            stamp = moment.isoformat().replace("+00:00", "Z")
            header["as_of"] = moment  # the moment the snapshot describes (maps and checks default to it)
            header["description"] = (
                header.get("description", "") + f" [registry snapshot {stamp}, registry version {version}]"
            ).strip()
            polygons = _polygon_copies(data, policy_dir, out)  # read before anything is written
            sites = list(session.scalars(select(GroundSite).where(GroundSite.operator_id == operator)))
            licences = resolve_licences(session, data)
            whitelists: dict[str, Path] = {}
            enrolled = 0
            if whitelists_from_registry:
                enrolled = _whitelists(session, data, out, whitelists)
            ground = out.with_suffix(".ground.json")
            stations = [
                {"name": s.name, "type": s.kind, "status": s.status, "lat": s.lat_deg, "lon": s.lon_deg}
                for s in sorted(sites, key=lambda s: s.name)
                if s.status in ("operational", "planned")
            ]
        import tomli_w

        for target, content in polygons:
            with atomic_path(target) as tmp:
                tmp.write_bytes(content)
        with atomic_path(ground) as tmp:
            tmp.write_text(json.dumps({"stations": stations}, indent=1) + "\n", encoding="utf-8")
        comment = f"# skyfence policy export: the control plane's registry at {stamp} (version {version}).\n"
        with atomic_path(out) as tmp:
            tmp.write_text(comment + tomli_w.dumps(data), encoding="utf-8")
        return ExportResult(
            out,
            ground,
            whitelists,
            licences if from_registry else 0,
            len(stations),
            enrolled,
            tuple(dict.fromkeys(target for target, _ in polygons)),
        )
    finally:
        database.dispose()


def resolve_licences(session: Any, data: dict[str, Any]) -> int:
    """Put the registry's licences into a parsed policy that says ``licences_from = "registry"`` (in place).

    The one mechanism that turns registry state into a policy file's terms: ``policy export`` writes its result,
    the dashboard's availability map and policy diff compile it (at the registry's current version), and
    ``policy check --db`` decides with it.  ``[[licences]]`` get each registry licence of the policy's operator
    (state, conditions) and ``[operators.NAME]`` what the conditions are checked against (see the module notes);
    each licence rule that allows granted licences gets ``not_in_force = "deny"`` (where a licence is not in
    force, the live decision denies naming its state or unmet condition, and so does the resolved policy);
    ``licences_from`` is dropped.  Returns the number of licences (0, and ``data`` untouched, for a policy that
    reads its licences from the file).
    """
    header = data["policy"]
    if header.get("licences_from", "file") != "registry":
        return 0
    del header["licences_from"]
    operator = header["operator"]
    for rule in data.get("rules", []):  # a licence that is not in force serves nobody: the live decisions deny
        if (
            rule.get("kind") == "licence"
            and rule.get("action") == "allow"
            and "granted" in rule.get("states", ["granted"])
            and (not rule.get("operators") or operator in rule["operators"])
        ):
            rule["not_in_force"] = "deny"
    sites = list(session.scalars(select(GroundSite).where(GroundSite.operator_id == operator)))
    licences = list(session.scalars(select(Licence).where(Licence.operator_id == operator)))
    owners = {o.jurisdiction: o for o in session.scalars(select(Ownership).where(Ownership.operator_id == operator))}
    _licences(data, operator, licences, sites, owners)
    return len(licences)


def with_registry_licences(session: Any, source: str) -> str:
    """Policy TOML text with the registry's licences put in (:func:`resolve_licences`); ``source`` itself when the
    policy reads its licences from the file.  Whitelists stay as they are (``whitelists_from`` is kept)."""
    import tomli_w

    data = tomllib.loads(source)
    if data.get("policy", {}).get("licences_from", "file") != "registry":
        return source
    resolve_licences(session, data)
    return tomli_w.dumps(data)


def resolve_policy_file(db_url: str, path: Path) -> tuple[str, int]:
    """A policy file's TOML text with what it takes from the registry at ``db_url`` put in, and the registry
    version read (``policy check --db``): the licences (:func:`resolve_licences`) and, for each whitelist rule of
    a ``whitelists_from = "registry"`` policy, the terminals enrolled in its zone's countries as ``terminals``.
    The database is only read (a missing SQLite file is refused, an old schema named)."""
    text = Path(path).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    header = data.get("policy", {})
    database = _database(db_url, write=False)
    try:
        with database.read() as session:
            version = registry.current_version(session)
            resolve_licences(session, data)
            if header.pop("whitelists_from", "file") == "registry":
                for i, rule in enumerate(data.get("rules", [])):
                    if rule.get("kind") == "whitelist":
                        rule["terminals"] = enrolled_serials(session, _whitelist_codes(data, i, rule))
    finally:
        database.dispose()
    import tomli_w

    return tomli_w.dumps(data), version


def _whitelist_codes(data: dict[str, Any], i: int, rule: dict[str, Any]) -> list[str]:
    """ISO codes of a registry whitelist rule's zones (whose enrolments count)."""
    zones = data.get("zones", {})
    names = ([rule["zone"]] if rule.get("zone") else []) + list(rule.get("zones", []))
    codes = sorted({c.upper() for n in names for c in zones.get(n, {}).get("countries", [])})
    if not codes:
        raise InputError(
            f"rules[{i}]: a registry whitelist's zone must list its countries in this file (enrolment is per country)",
            field=f"rules[{i}].zone",
        )
    return codes


def enrolled_serials(session: Any, codes: list[str]) -> list[str]:
    """Serials of the terminals enrolled (not revoked) in the whitelists of these jurisdictions, sorted."""
    return sorted(
        set(
            session.scalars(
                select(Terminal.serial)
                .join(Enrolment, Enrolment.terminal_id == Terminal.id)
                .where(Enrolment.jurisdiction.in_(codes), Enrolment.revoked_at.is_(None))
            )
        )
    )


def _licences(
    data: dict[str, Any],
    operator: str,
    licences: list[Licence],
    sites: list[GroundSite],
    owners: dict[str, Ownership],
) -> None:
    operational = [s for s in sites if s.status == "operational"]
    entries = []
    owned = []
    for row in sorted(licences, key=lambda r: r.jurisdiction):
        conditions: dict[str, Any] = {}
        if row.local_gateway:
            conditions["local_gateway"] = True
        if row.local_ownership_min_pct is not None or row.foreign_ownership_max_pct is not None:
            conditions["local_ownership"] = True
            if _ownership_ok(row, owners.get(row.jurisdiction)):
                owned.append(row.jurisdiction)
        if row.lawful_intercept:
            conditions["lawful_intercept"] = True
        if row.expires_on is not None:
            conditions["expires"] = row.expires_on
        entry: dict[str, Any] = {"countries": [row.jurisdiction], "state": row.state}
        if conditions:
            entry["conditions"] = conditions
        entry["authority"] = row.authority
        entry["note"] = f"registry licence {row.id}" + (f": {row.note}" if row.note else "")
        entries.append(entry)
    data["licences"] = entries
    capability = data.setdefault("operators", {}).setdefault(operator, {})
    capability["gateways_in"] = sorted({s.country for s in operational if s.kind == "gateway"})
    capability["lawful_intercept_in"] = sorted({s.country for s in operational if s.kind == "pop"})
    capability["local_ownership_in"] = sorted(set(owned))


def _whitelists(session: Any, data: dict[str, Any], out: Path, written: dict[str, Path]) -> int:
    from skyfence._io import atomic_path

    total = 0
    for i, rule in enumerate(data.get("rules", [])):
        if rule.get("kind") != "whitelist":
            continue
        codes = _whitelist_codes(data, i, rule)
        serials = enrolled_serials(session, codes)
        label = "-".join(codes)
        path = out.with_name(f"{out.stem}.whitelist-{label}.txt")
        with atomic_path(path) as tmp:
            tmp.write_text(
                f"# terminals enrolled in the {label} whitelist (skyfence policy export)\n"
                + "".join(f"{s}\n" for s in serials),
                encoding="utf-8",
            )
        rule["terminals_file"] = path.name
        written[label] = path
        total += len(serials)
    return total


def _storable_text(value: str, *, field: str, source: str | None = None) -> None:
    """The check every stored text passes through the API (``schemas._storable``), for what the CLI stores."""
    from skyfence._validation import bidi_problem

    problem = bidi_problem(value) if "\x00" not in value else "contains a NUL character"
    if problem is not None:
        raise InputError(f"the text {problem}", source=source, field=field)


def import_snapshot(
    db_url: str, policy_path: Path, *, ground_path: Path | None, actor: str, reason: str
) -> dict[str, int]:
    """Read a policy file's licences, whitelists and a ground file into the registry (audited, all or nothing)."""
    from skyfence.network.ground import read_ground_segment
    from skyfence.policy import load_policy
    from skyfence.service.api.common import record_change, snapshot

    for option, value in (("--reason", reason), ("--actor", actor)):
        _storable_text(value, field=option)
    policy = load_policy(policy_path)
    segment = read_ground_segment(ground_path, status=None) if ground_path is not None else None
    if segment is not None:
        for number, name in enumerate(segment.sites["name"].astype(str)):
            _storable_text(name, field=f"sites[{number}].name", source=str(ground_path))
    operator = policy.operator
    counts = {"licences": 0, "sites": 0, "enrolled": 0}
    database = _database(db_url, write=True)

    def audit(session: Any, action: str, kind: str, key: Any, before: Any, after: Any) -> None:
        record_change(
            session,
            None,
            action=action,
            resource_type=kind,
            resource_id=key,
            before=before,
            after=after,
            reason=reason,
            actor=actor,
        )

    try:
        with database.write() as session:
            if session.get(Operator, operator) is None:
                company = Operator(id=operator, name=operator)
                session.add(company)
                session.flush()
                audit(session, "operator.create", "operator", operator, None, snapshot(company))
            for number, spec in enumerate(policy.spec.licences):
                if (spec.operator or operator) != operator:
                    continue
                if spec.zone is not None or not spec.countries:
                    raise InputError(
                        "the registry keeps licences per country, not per zone",
                        source=str(policy_path),
                        field=f"licences[{number}].zone",
                        hint="give countries = [codes] instead of a zone",
                    )
                # the registry keeps one licence per country: a licence for several countries becomes one per
                # country, each with the same state, conditions and dates (each audited)
                counts["licences"] += _import_licence(session, operator, spec, audit)
            if segment is not None:
                from skyfence.service.api.routes.ground import country_of

                for site in segment.sites.itertuples():
                    country = str(site.country) or country_of(float(site.lat_deg), float(site.lon_deg))
                    if not country:
                        raise InputError(
                            f"site {site.name!r} is outside every country", source=str(ground_path), field="lat"
                        )
                    values = {
                        "kind": str(site.kind),
                        "status": str(site.status),
                        "lat_deg": float(site.lat_deg),
                        "lon_deg": float(site.lon_deg),
                        "country": country,
                    }
                    existing = session.scalar(
                        select(GroundSite).where(GroundSite.operator_id == operator, GroundSite.name == site.name)
                    )
                    keys = {"operator_id": operator, "name": str(site.name)}
                    _upsert_audited(session, audit, GroundSite, existing, keys, values, "ground_site")
                    counts["sites"] += 1
            counts["enrolled"] = _import_whitelists(session, policy, policy_path, audit)
            registry.bump(session)
    finally:
        database.dispose()
    return counts


def _upsert_audited(
    session: Any, audit: Any, model: Any, found: Any, keys: dict[str, Any], values: dict[str, Any], kind: str
) -> None:
    """Create a ``model`` row from ``keys`` and ``values``, or update ``found`` with ``values`` (and its
    ``updated_at``); either way audited as ``{kind}.import`` with the row before and after."""
    from skyfence.service.api.common import snapshot

    if found is None:
        row = model(**keys, **values)
        session.add(row)
        session.flush()
        audit(session, f"{kind}.import", kind, row.id, None, snapshot(row))
        return
    before = snapshot(found)
    for key, value in values.items():
        setattr(found, key, value)
    found.updated_at = utcnow()
    session.flush()
    audit(session, f"{kind}.import", kind, found.id, before, snapshot(found))


def _import_licence(session: Any, operator: str, spec: Any, audit: Any) -> int:
    """Upsert one registry licence per country of a policy licence; returns how many."""

    for code in spec.countries:
        values: dict[str, Any] = {
            "state": spec.state if spec.state != "none" else "applied",
            "local_gateway": spec.conditions.local_gateway,
            "lawful_intercept": spec.conditions.lawful_intercept,
            "local_ownership_min_pct": 50.0 if spec.conditions.local_ownership else None,
            "foreign_ownership_max_pct": None,
            "expires_on": spec.conditions.expires,
            "authority": spec.authority[:200],
            "note": spec.note[:2000],
        }
        found = session.scalar(select(Licence).where(Licence.operator_id == operator, Licence.jurisdiction == code))
        _upsert_audited(
            session, audit, Licence, found, {"operator_id": operator, "jurisdiction": code}, values, "licence"
        )
    return len(spec.countries)


def _import_whitelists(session: Any, policy: Any, policy_path: Path, audit: Any) -> int:
    total = 0
    for i, rule in enumerate(policy.spec.rules):
        if rule.kind != "whitelist" or not rule.terminals:
            continue
        codes = sorted({c for n in rule.zone_names() for c in policy.spec.zones[n].countries})
        if len(codes) != 1:
            raise InputError(
                "a whitelist is imported into one jurisdiction: its zone must be one country",
                source=str(policy_path),
                field=f"rules[{i}].zone",
            )
        code = codes[0]
        found: dict[str, int] = {}
        for start in range(0, len(rule.terminals), 5000):
            part = rule.terminals[start : start + 5000]
            found.update(session.execute(select(Terminal.serial, Terminal.id).where(Terminal.serial.in_(part))).all())
        missing = [s for s in rule.terminals if s not in found]
        if missing:
            raise InputError(
                f"{len(missing)} whitelisted terminals are not registered (first: {missing[0]!r})",
                source=str(policy_path),
                field=f"rules[{i}].terminals",
                hint="register the terminals first",
            )
        existing = {
            e.terminal_id: e
            for e in session.scalars(select(Enrolment).where(Enrolment.jurisdiction == code))
            if e.terminal_id in set(found.values())
        }
        now = utcnow()
        added = []
        for serial in rule.terminals:
            terminal_id = found[serial]
            row = existing.get(terminal_id)
            if row is None:
                session.add(
                    Enrolment(
                        jurisdiction=code,
                        terminal_id=terminal_id,
                        evidence_ref=f"imported from {policy_path.name}",
                        enrolled_at=now,
                        enrolled_by="import",
                    )
                )
                added.append(terminal_id)
            elif row.revoked_at is not None:
                row.revoked_at, row.revoked_by = None, None
                added.append(terminal_id)
        session.flush()
        audit(session, "whitelist.import", "whitelist", code, None, {"jurisdiction": code, "terminal_ids": added})
        total += len(added)
    return total
