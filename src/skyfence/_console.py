"""Terminal output shared by the two command-line front ends (``skyfence`` and ``python -m skyfence.service``):
consoles, strict JSON on stdout, and the one error path -- a :class:`~skyfence.errors.SkyfenceError` (or a missing
or unreadable file) becomes one line on stderr and exit code 1; a traceback means a bug.

Only rich and the standard library are imported here: a help screen must stay fast.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape

from skyfence._json import dumps
from skyfence.errors import SkyfenceError

__all__ = ["console", "err_console", "fail", "json_text", "print_json", "run_app"]

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(code)


def json_text(payload: Any) -> str:
    """``payload`` as indented strict JSON (NaN as null; anything else unknown as its text)."""
    return dumps(payload, indent=2, default=str)


def print_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON on stdout (NaN as null; no colour)."""
    sys.stdout.write(json_text(payload) + "\n")


def _os_error_line(error: OSError) -> str:
    where = error.filename if error.filename is not None else ""
    what = error.strerror or str(error)
    hint = ""
    if isinstance(error, PermissionError) or error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = " (choose a folder you may write to, e.g. with --out)"
    elif isinstance(error, NotADirectoryError):
        hint = " (a part of the path is a file, not a folder)"
    elif error.errno == errno.ENOSPC:
        hint = " (free some disk space)"
    return f"{where}: {what}{hint}" if where else f"{what}{hint}"


def _database_error_line(error: Exception) -> str | None:
    """One line for a SQLAlchemy or driver error, or ``None`` when ``error`` is not one."""
    module = type(error).__module__ or ""
    if not module.startswith(("sqlalchemy", "sqlite3", "psycopg")):
        return None
    original = getattr(error, "orig", None) or error
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return f"database error: {first} (check --db: a writable SQLite file path or a reachable postgresql:// URL)"


def run_app(app: Callable[[], object]) -> None:
    """Run a Typer app; bad input, OS errors (a read-only folder, a full disk) and database errors end in one line on
    stderr and exit code 1, Ctrl-C in exit code 130.  A traceback is left only for what is a bug."""
    try:
        app()
    except SkyfenceError as error:
        fail(escape(str(error)))
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except OSError as error:
        fail(escape(_os_error_line(error)))
    except Exception as error:
        line = _database_error_line(error)
        if line is None:
            raise
        fail(escape(line))
