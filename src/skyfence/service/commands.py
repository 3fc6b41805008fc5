"""``skyfence serve``, ``skyfence audit verify``, ``skyfence keys create`` and ``skyfence alerts list|ack`` (also
``python -m skyfence.service serve|audit|keys|alerts``, without the top-level CLI): run and check the control plane.

``serve`` opens (and migrates) the database and runs the API under uvicorn with one worker.  ``audit verify``
walks the audit log's hash chain and exits non-zero naming the first bad row.  ``keys create`` makes the first
operator key (or any key) straight in the database, printing it once.  ``alerts list`` and ``alerts ack`` talk to a
running service over HTTP with an API key (``--url``/``SKYFENCE_URL``, ``--key``/``SKYFENCE_API_KEY``), so the
service's roles and audit log apply: readers list, operators acknowledge.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from typing import Annotated

import typer

from skyfence._console import console, print_json
from skyfence.errors import InputError

__all__ = ["DEFAULT_DATABASE_URL", "alerts_app", "app", "audit_app", "keys_app", "serve"]

#: Same as :data:`skyfence.service.core.config.DEFAULT_DATABASE_URL` (kept here so ``skyfence --help`` does not
#: import the service stack; a test checks they agree).
DEFAULT_DATABASE_URL = "sqlite:///skyfence.db"
_SERVICE_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "pydantic_settings", "jwt", "multipart", "tomli_w")


def _require_service() -> None:
    """Fail politely (one line, the fix) when the service's packages are not installed."""
    import importlib.util

    missing = [name for name in _SERVICE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(
            f"the control-plane service needs packages that are not installed ({', '.join(missing)})",
            hint="pip install 'skyfence[service]'",
        )


_DB = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="SKYFENCE_DATABASE_URL",
        help="Database: a SQLite file path, sqlite:///path or postgresql://user:password@host/db.",
    ),
]


def serve(
    db: _DB = DEFAULT_DATABASE_URL,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free port).")] = 8000,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level: critical, error, warning, info, debug.")
    ] = "info",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes (rate limits and fix budgets are shared through the database).",
        ),
    ] = 1,
    reports: Annotated[
        str | None,
        typer.Option(
            "--reports",
            envvar="SKYFENCE_REPORTS_DIR",
            help="A folder of `skyfence assess` outputs: the dashboard at / lists them and opens their maps.",
        ),
    ] = None,
) -> None:
    """Run the control-plane API and the map dashboard at / (migrations are applied at start-up)."""
    _require_service()
    from skyfence.service.serve import run_server

    run_server(db, host=host, port=port, log_level=log_level, workers=workers, reports_dir=reports)


audit_app = typer.Typer(help="The tamper-evident audit log of the control plane.", no_args_is_help=True)


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", value.strip())
    if match is None:
        raise InputError(f"anchor {value!r} is not SEQ:HASH", field="--anchor", hint="e.g. 42:9f86d0...(64 hex)")
    return int(match.group(1)), match.group(2)


@audit_app.command("verify")
def verify(
    db: _DB = DEFAULT_DATABASE_URL,
    anchor: Annotated[
        str | None,
        typer.Option("--anchor", help="SEQ:HASH recorded earlier outside the database; that row must still match."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the audit log's hash chain; exit 1 naming the first row that was edited, deleted or reordered."""
    _require_service()
    from pathlib import Path

    from skyfence.service import audit
    from skyfence.service.core.db import normalise_url, open_database

    parsed = normalise_url(db)
    if parsed.get_backend_name() == "sqlite" and Path(parsed.database or "").expanduser().is_dir():
        raise InputError(
            "is a directory, not a database file",
            source=parsed.database,
            field="--db",
            hint="give the SQLite file, e.g. DIR/skyfence.db",
        )
    database = open_database(db, must_exist=True)
    try:
        with database.read() as session:
            result = audit.verify(session, anchor=_anchor(anchor))
    finally:
        database.dispose()
    if as_json:
        print_json(result.__dict__)
        if not result.ok:
            sys.exit(1)
        return
    result.raise_if_bad()
    stored = "none"
    if result.stored_head_seq is not None:
        stored = f"seq {result.stored_head_seq} hash {result.stored_head_hash}"
    trust = (
        f"anchored at {anchor}"
        if result.anchored
        else f"NOT anchored: keep {result.head_seq}:{result.head_hash} outside the database and check it later with "
        "--anchor SEQ:HASH (a log rewritten together with its head looks the same as the original)"
    )
    console.print(
        f"audit log ok: {result.rows} rows; stored head {stored} ({trust})",
        highlight=False,
        soft_wrap=True,
    )


keys_app = typer.Typer(help="API keys of the control plane.", no_args_is_help=True)


@keys_app.command("create")
def create_key(
    role: Annotated[str, typer.Option("--role", help="operator, regulator, analyst or terminal.")],
    name: Annotated[str, typer.Option("--name", help="Who the key is for.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded in the audit log.")],
    db: _DB = DEFAULT_DATABASE_URL,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="ISO alpha-2 code (regulators only).")
    ] = None,
    terminal_id: Annotated[int | None, typer.Option("--terminal-id", help="Terminal id (terminals only).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key as JSON.")] = False,
) -> None:
    """Create an API key directly in the database (e.g. the first operator key) and print it once."""
    _require_service()
    from pydantic import ValidationError

    from skyfence._validation import first_problem
    from skyfence.service import bootstrap
    from skyfence.service.schemas import KeyCreate

    try:
        spec = KeyCreate.model_validate(
            {"role": role, "name": name, "jurisdiction": jurisdiction, "terminal_id": terminal_id, "reason": reason}
        )
    except ValidationError as error:
        problem = first_problem(error)
        option = "--" + problem.field.replace("_", "-") if problem.field else None
        raise InputError(problem.message, field=option, hint=problem.hint) from None
    key_id, key = bootstrap.create_key(db, spec, actor=f"cli:{getpass.getuser()}")
    if as_json:
        sys.stdout.write(json.dumps({"id": key_id, "key": key}) + "\n")
        return
    console.print(f"key {key_id} ({spec.role}) created; it is shown only now:", highlight=False)
    sys.stdout.write(key + "\n")


alerts_app = typer.Typer(
    help="Alerts of a running control plane (policy and misuse detection): list, acknowledge.", no_args_is_help=True
)

_URL = Annotated[
    str, typer.Option("--url", envvar="SKYFENCE_URL", help="The service's base URL (as `skyfence serve` prints it).")
]
_KEY = Annotated[
    str,
    typer.Option(
        "--key",
        envvar="SKYFENCE_API_KEY",
        help="API key sfk_... (readers list; operators acknowledge).",
        show_default=False,
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"
_KINDS = (
    "denial",
    "repeated_denial",
    "suspicious_rule",
    "drone_suspected",
    "diversion_suspected",
    "spoofing_suspected",
    "roaming_limit",
    "geofence_probing",
)


def _api(url: str, key: str, method: str, path: str, **kwargs) -> dict:
    """One request to the service; a problem+json answer or an unreachable service becomes one line (exit 1)."""
    import importlib.util

    if importlib.util.find_spec("httpx") is None:
        raise InputError(
            "talking to the service needs httpx, which is not installed", hint="pip install 'skyfence[service]'"
        )
    import httpx

    try:
        response = httpx.request(method, url.rstrip("/") + path, headers={"X-API-Key": key}, timeout=30.0, **kwargs)
    except httpx.HTTPError as error:
        raise InputError(
            f"cannot reach the service at {url} ({type(error).__name__})",
            field="--url",
            hint="is `skyfence serve` running there? set --url or SKYFENCE_URL",
        ) from None
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = body.get("detail") or response.text[:200] or response.reason_phrase
        if response.status_code == 401:  # name what the user passed: the key, not a token they never gave
            raise InputError(
                f"the service refused the API key: {detail}",
                field="--key",
                hint="check --key or SKYFENCE_API_KEY (skyfence keys create prints a key sfk_...)",
            )
        hint = {403: "this needs another role (acknowledging: operator)"}
        raise InputError(f"{method} {path}: {response.status_code} {detail}", hint=hint.get(response.status_code))
    return response.json()


def alert_lines(items: list[dict], width: int) -> list[str]:
    """Alerts as text for a terminal ``width`` columns wide (80 is enough).

    One line per alert with the short fields in aligned columns (id, time, kind, terminal, score), then the reason
    and, once acknowledged, who acknowledged it and when, indented below and wrapped at words: a reason is a
    sentence, and a column squeezed beside the others broke its words at any width below ~150 columns.
    """
    import textwrap

    head = ("id", "time (UTC)", "kind", "terminal", "score")
    rows = [
        (
            str(a["id"]),
            a["time"][:19].replace("T", " "),
            a["kind"],
            str(a["terminal_id"]),
            "" if a["score"] is None else f"{a['score']:.2f}",
        )
        for a in items
    ]
    widths = [max(len(r[k]) for r in [head, *rows]) for k in range(len(head))]
    right = (True, False, False, True, True)

    def line(cells: tuple[str, ...]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    indent = " " * (widths[0] + 2)
    wrap = textwrap.TextWrapper(
        width=max(width - 1, len(indent) + 20),
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
    )
    out = [line(head)]
    for a, cells in zip(items, rows, strict=True):
        out.append(line(cells))
        out += wrap.wrap(a["reason"] or "")
        if a.get("acknowledged_at"):
            out += wrap.wrap(f"acknowledged {a['acknowledged_at'][:19]}Z by {a['acknowledged_by']}")
    return out


@alerts_app.command("list")
def list_alerts(
    key: _KEY,
    url: _URL = DEFAULT_URL,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help=f"Only this kind (repeat for several): {', '.join(_KINDS)}.")
    ] = None,
    terminal_id: Annotated[int | None, typer.Option("--terminal-id", min=1, help="Only this terminal.")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only alerts about fixes at or after this UTC time (2026-08-22T10:00Z)."),
    ] = None,
    status: Annotated[str, typer.Option("--status", help="open, acknowledged or all.")] = "open",
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most this many alerts.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON (one array).")] = False,
) -> None:
    """List alerts, oldest first, with their kind, score and evidence."""
    unknown = [k for k in kind or [] if k not in _KINDS]
    if unknown:
        raise InputError(f"unknown alert kind {unknown[0]!r}", field="--kind", hint="one of " + ", ".join(_KINDS))
    if status not in ("open", "acknowledged", "all"):
        raise InputError(f"unknown status {status!r}", field="--status", hint="open, acknowledged or all")
    params: dict = {"limit": min(limit, 1000)}
    if kind:
        params["kind"] = kind
    if terminal_id is not None:
        params["terminal_id"] = terminal_id
    if since is not None:
        params["since"] = since if re.search(r"(Z|[+-]\d\d:?\d\d)$", since) else since + "Z"
    if status != "all":
        params["acknowledged"] = "true" if status == "acknowledged" else "false"
    items: list[dict] = []
    after: int | None = 0
    while after is not None and len(items) < limit:
        page = _api(url, key, "GET", "/api/v1/alerts", params={**params, "after": after})
        items += page["items"]
        after = page["next_after"]
    items = items[:limit]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("no alerts", highlight=False)
        return
    for line in alert_lines(items, console.width):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    more = " (more with --limit)" if after is not None else ""
    console.print(f"{len(items)} alert(s){more}", highlight=False)


@alerts_app.command("ack")
def acknowledge(
    alert_ids: Annotated[list[int], typer.Argument(help="Alert id(s).", min=1, show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded in the audit log.")],
    key: _KEY,
    url: _URL = DEFAULT_URL,
) -> None:
    """Acknowledge alerts (operators; each acknowledgement is recorded in the audit log with the reason)."""
    for alert_id in alert_ids:
        alert = _api(url, key, "POST", f"/api/v1/alerts/{alert_id}/acknowledge", json={"reason": reason})
        console.print(
            f"alert {alert['id']} ({alert['kind']}, terminal {alert['terminal_id']}) acknowledged at "
            f"{alert['acknowledged_at']} by {alert['acknowledged_by']}",
            highlight=False,
        )


#: ``python -m skyfence.service``: the same commands without the top-level CLI.
app = typer.Typer(name="skyfence-service", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.command("serve")(serve)
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(alerts_app, name="alerts")
