"""Shared pieces of the CLI: consoles, the one-line error path, JSON output, the progress bar.

Only typer, rich and the standard library are imported here: ``skyfence --help`` must stay fast.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from rich.console import Console

from skyfence._json import dumps

__all__ = ["console", "err_console", "fail", "json_text", "print_json", "steps_progress"]

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


def steps_progress(*, disable: bool = False):
    """A transient rich progress bar counting time steps (``with steps_progress() as bar: ...``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=disable,
    )
