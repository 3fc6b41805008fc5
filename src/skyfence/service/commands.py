"""``skyfence serve``, ``skyfence audit verify`` and ``skyfence keys create`` (also ``python -m skyfence.service
serve|audit|keys``, without the top-level CLI): run and check the control plane.

``serve`` opens (and migrates) the database and runs the API under uvicorn with one worker.  ``audit verify``
walks the audit log's hash chain and exits non-zero naming the first bad row.  ``keys create`` makes the first
operator key (or any key) straight in the database, printing it once.
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

__all__ = ["DEFAULT_DATABASE_URL", "app", "audit_app", "keys_app", "serve"]

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
) -> None:
    """Run the control-plane API (migrations are applied at start-up)."""
    _require_service()
    from skyfence.service.serve import run_server

    run_server(db, host=host, port=port, log_level=log_level, workers=workers)


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
    from skyfence.service import audit
    from skyfence.service.core.db import open_database

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


#: ``python -m skyfence.service``: the same commands without the top-level CLI.
app = typer.Typer(name="skyfence-service", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.command("serve")(serve)
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
