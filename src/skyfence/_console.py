"""Terminal output shared by the two command-line front ends (``skyfence`` and ``python -m skyfence.service``):
consoles, strict JSON on stdout, and the one error path -- a :class:`~skyfence.errors.SkyfenceError` (or a missing
or unreadable file) becomes one line on stderr and exit code 1; a traceback means a bug.

Only rich and the standard library are imported here: a help screen must stay fast.
"""

from __future__ import annotations

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


def run_app(app: Callable[[], object]) -> None:
    """Run a Typer app; bad input ends in one line on stderr and exit code 1."""
    try:
        app()
    except SkyfenceError as error:
        fail(escape(str(error)))
    except (FileNotFoundError, IsADirectoryError, PermissionError) as error:
        fail(escape(f"{error.filename}: {error.strerror}"))
