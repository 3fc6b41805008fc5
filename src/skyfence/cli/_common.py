"""Shared pieces of the CLI: the consoles and the error path (:mod:`skyfence._console`), the progress bar.

Only typer, rich and the foundation are imported here: ``skyfence --help`` must stay fast.
"""

from __future__ import annotations

from skyfence._console import console, err_console, fail, json_text, print_json

__all__ = ["console", "err_console", "fail", "json_text", "print_json", "steps_progress"]


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
