"""Shared pieces of the CLI: consoles, the one-line error path, small parsers."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import numpy as np
from rich.console import Console

from skyfence._json import jsonable

__all__ = ["console", "default_start", "err_console", "fail", "jsonable", "print_json", "steps_progress"]

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(code)


def print_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON on stdout (NaN as null; no colour)."""
    sys.stdout.write(json.dumps(jsonable(payload), indent=2, default=str, allow_nan=False) + "\n")


def default_start(epochs: tuple[np.datetime64, np.datetime64] | None) -> np.datetime64:
    """The newest element epoch rounded down to the minute, so a catalog is used near its epochs."""
    from skyfence.errors import InputError

    if epochs is None:
        raise InputError("the constellation is empty", field="SOURCE")
    return epochs[1].astype("datetime64[m]").astype("datetime64[ns]")


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
