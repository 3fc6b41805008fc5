"""Shared pieces of the CLI: the consoles and the error path (:mod:`skyfence._console`), the progress bar.

Only typer, rich and the foundation are imported here: ``skyfence --help`` must stay fast.
"""

from __future__ import annotations

import functools
import inspect
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from skyfence._console import console, err_console, fail, json_text, print_json

#: ``--strict`` of every command that propagates a catalog (``assess`` has the same flag).
STRICT_EPOCHS: Any = typer.Option(
    False,
    "--strict",
    help="Refuse to run when the catalog's element epochs are more than 14 days from the run's times "
    "(without it: a warning on stderr).",
)

__all__ = [
    "STRICT_EPOCHS",
    "check_epochs",
    "check_output",
    "console",
    "err_console",
    "fail",
    "json_text",
    "portable_paths",
    "print_json",
    "print_summary_json",
    "shared_options",
    "steps_progress",
    "summary_text",
]


def check_output(path: Path | None, *, folder: bool, field: str = "--out") -> None:
    """Refuse, before any computation, an output that cannot be written: a folder output naming a file (or a file
    output naming a folder), or a place where nothing can be created (read-only, a file in the way)."""
    from skyfence.errors import InputError

    if path is None:
        return
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise InputError(
            "is an existing file, not a folder",
            source=str(path),
            field=field,
            hint="give a folder (new or existing) for the outputs",
        )
    if not folder and path.is_dir():
        raise InputError("is a folder, not a file", source=str(path), field=field, hint="give a file name")
    parent = path if folder else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot create it: {parent} is a file, not a folder", source=str(path), field=field)
    try:
        probe, name = tempfile.mkstemp(prefix=".skyfence-write-check.", dir=parent)
    except OSError as error:
        raise InputError(
            f"cannot write in {parent}: {error.strerror}",
            source=str(path),
            field=field,
            hint="choose a folder you may write to",
        ) from None
    os.close(probe)
    os.unlink(name)


def check_epochs(constellations: Any, times: Any, *, strict: bool = False) -> list[dict[str, Any]]:
    """The epoch-gap guard of ``skyfence assess`` for a command that propagates ``constellations`` (one or a list)
    at ``times``: a catalog further than 14 days (:data:`~skyfence.orbits.epochs.DEFAULT_MAX_EPOCH_GAP_DAYS`) from
    the run's times gives one ``warning:`` line on stderr, or, with ``strict``, an error before anything is computed.
    Returns the warnings as ``summary.json`` records (``to_dict``), for the command's ``--json`` summary."""
    import numpy as np

    from skyfence.errors import InputError
    from skyfence.orbits.epochs import catalog_epoch_gap

    if not isinstance(constellations, list | tuple):
        constellations = [constellations]
    times = np.asarray(times, dtype="datetime64[ns]").ravel()
    if not times.size:
        return []
    found = []
    for constellation in constellations:
        gap = catalog_epoch_gap(constellation, times.min(), times.max())
        if gap is None or not gap.exceeded:
            continue
        message = gap.message.replace('start = "epoch"', "leave out --start")
        if strict:
            raise InputError(f"refusing to run (--strict): {message}", field="--start")
        err_console.print(f"[bold yellow]warning:[/] {escape(message)}", soft_wrap=True)
        found.append(gap.to_dict())
    return found


def print_summary_json(summary: dict[str, Any], *, out: Path | None, json_out: bool) -> bool:
    """The tail of a command with ``--out`` and ``--json``: record ``out`` in ``summary`` (after the summary.json in
    it was written without it), print the summary as JSON when ``--json`` asked for it, and say whether it did (the
    command then returns without its text lines)::

        if print_summary_json(summary, out=out, json_out=json_out):
            return
    """
    if out is not None:
        summary["out"] = str(out)
    if json_out:
        print_json({**portable_paths(summary), **({"out": str(out)} if out is not None else {})})  # out as given
    return json_out


def portable_paths(payload: Any) -> Any:
    """``payload`` with every absolute path of an existing file or folder written relative to the working folder
    (``../shared/data/tle/...``), in POSIX form: a command's summary names its inputs as ``assess`` does
    (:func:`skyfence.scenario.provenance.relative_name`), never by this machine's absolute paths."""
    if isinstance(payload, dict):
        return {key: portable_paths(value) for key, value in payload.items()}
    if isinstance(payload, list | tuple):
        return [portable_paths(value) for value in payload]
    if isinstance(payload, str | os.PathLike) and os.path.isabs(payload) and os.path.exists(payload):
        try:
            return Path(os.path.relpath(Path(payload).resolve(), Path.cwd().resolve())).as_posix()
        except ValueError:  # pragma: no cover - another drive (Windows): the name only
            return Path(payload).name
    return payload


def summary_text(summary: dict[str, Any]) -> str:
    """A command's ``summary.json``: strict JSON, paths as :func:`portable_paths` writes them."""
    return json_text(portable_paths(summary))


def steps_progress(*, disable: bool = False):
    """Progress counting time steps (``with steps_progress() as bar: ...``): a transient rich bar on a terminal,
    plain lines on stderr otherwise (:class:`skyfence.cli._progress.PlainSteps`), nothing when ``disable``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if not disable and not console.is_terminal:
        import os

        from skyfence.cli._progress import PlainSteps

        return PlainSteps(every_s=float(os.environ.get("SKYFENCE_PROGRESS_EVERY_S", "10")))
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        # only on a terminal: elsewhere (a pipe, a log, CI) a stopped bar left a blank line before an error
        disable=disable,
    )


def shared_options(options: Mapping[str, tuple[Any, Any]], *, into: str) -> Callable[[Callable], Callable]:
    """Declare a set of Typer options once and give them to several commands.

    ``options`` maps a parameter name to ``(type, typer.Option(...))``. The decorated command declares only its own
    parameters plus one parameter named ``into``; Typer sees the shared options appended to the command's own, and the
    command receives their values as one dict in ``into``::

        @app.command()
        @shared_options({"step": (str, typer.Option("15m"))}, into="run")
        def cmd(country: str, run: dict) -> None: ...
    """

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)
        own = [p for name, p in signature.parameters.items() if name != into]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
            for name, (kind, option) in options.items()
        ]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            shared = {name: kwargs.pop(name) for name in options}
            return func(*args, **kwargs, **{into: shared})

        command.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
        annotations = {k: v for k, v in func.__annotations__.items() if k != into}
        command.__annotations__ = {**annotations, **{name: kind for name, (kind, _) in options.items()}}
        return command

    return decorate
