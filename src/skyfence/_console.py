"""Terminal output shared by the two command-line front ends (``skyfence`` and ``python -m skyfence.service``):
consoles, strict JSON on stdout, and the one error path -- a :class:`~skyfence.errors.SkyfenceError` (or a missing
or unreadable file) becomes one line on stderr and exit code 1; a traceback means a bug.

Only rich, typer (inside :func:`run_app`) and the standard library are imported here: a help screen must stay fast.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import sys
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape

from skyfence._json import dumps
from skyfence.errors import SkyfenceError

__all__ = [
    "console",
    "err_console",
    "fail",
    "json_text",
    "option_as_typed",
    "print_json",
    "run_app",
    "write_stdout",
]


class _Stdout:
    """``sys.stdout`` as it is at each call (pytest swaps it), whose write errors name standard output."""

    def write(self, text: str) -> int:
        try:
            return sys.stdout.write(text)
        except OSError as error:
            raise _stdout_error(error) from None

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except OSError as error:
            raise _stdout_error(error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.stdout, name)


console = Console(file=_Stdout())  # type: ignore[arg-type]
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
    write_stdout(json_text(payload) + "\n")


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout and flush; a write error (a full disk, ``> /dev/full``) names standard output."""
    _flush_stdout(text)


def _stdout_error(error: OSError) -> OSError:
    """``error`` (raised writing stdout) naming standard output; what is left in stdout's buffer goes nowhere."""
    error.filename = STDOUT
    error.output = STDOUT  # type: ignore[attr-defined]
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no "Exception ignored" at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return error


def _flush_stdout(text: str = "") -> None:
    try:
        if text:
            sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as error:
        raise _stdout_error(error) from None


#: How a write error on standard output names it (``--json > /dev/full``).
STDOUT = "standard output"


def _os_error_line(error: OSError) -> str:
    where = error.filename if error.filename is not None else ""
    what = error.strerror or str(error)
    if getattr(error, "output", None) is not None:  # skyfence._io.name_output: the output being written
        where = f"cannot write {'to ' if where == STDOUT else 'output '}{where}"
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


_UNIT = re.compile(r"_(deg|km|m|ms|ns|s|ghz|hz|mbps|gbps|pct|percent)$")


def _bare(name: str) -> str:
    """A name reduced for comparison: ``--min-elevation`` and ``min_elevation_deg`` -> ``min_elevation``."""
    return _UNIT.sub("", name.lstrip("-").replace("-", "_").lower())


def option_as_typed(field: str, params: list[Any], argv: list[str]) -> str:
    """The command-line name of the parameter an error's ``field`` is about, as the user typed it (``duration`` ->
    ``--duration``; an argument as its metavar, ``SOURCE``); ``field`` itself when no parameter of the command
    matches (a key path, an environment variable, an option already named).

    ``params`` are the click parameters of the command that ran, ``argv`` its command line.
    """
    if not field or field.startswith("-") or field.isupper():
        return field
    wanted = _bare(field)
    for param in params:
        names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
        if _bare(param.name or "") != wanted and wanted not in {_bare(n) for n in names}:
            continue
        typed = [n for n in names if any(arg == n or arg.startswith(n + "=") for arg in argv)]
        if getattr(param, "hidden", False) and not typed:
            continue  # an old spelling kept for scripts (skyfence.cli._common.renamed_options), not typed
        if getattr(param, "param_type_name", "") == "argument":
            # the metavar (``LAT``); typer's own argument class has no click ``human_readable_name``
            return str(getattr(param, "metavar", None) or (param.name or field).upper())
        long = sorted((n for n in names if n.startswith("--")), key=len, reverse=True)
        return (typed or long or names or [field])[0]
    return field


def _name_options(command: Any, argv: list[str]) -> None:
    """Wrap the callback of ``command`` and of every sub-command so that a :class:`SkyfenceError` without a source
    file names the option it is about as typed (:func:`option_as_typed`): one place for every command, whatever
    field name the library used."""
    for sub in getattr(command, "commands", {}).values():
        _name_options(sub, argv)
    callback = getattr(command, "callback", None)
    if callback is None:
        return

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except SkyfenceError as error:
            if error.source is None and error.field:
                error.field = option_as_typed(error.field, command.params, argv)
            raise

    command.callback = run


def run_app(app: Any) -> None:
    """Run a Typer app; bad input, OS errors (a read-only folder, a full disk) and database errors end in one line on
    stderr and exit code 1, Ctrl-C in exit code 130.  A traceback is left only for what is a bug.

    An error about an option names it as the user typed it (``--duration``, not the library's ``duration``)."""
    import typer.main

    command = typer.main.get_command(app) if isinstance(app, typer.Typer) else app
    _name_options(command, sys.argv[1:])
    try:
        try:
            command()
        finally:
            _flush_stdout()  # in the one error path: a full stdout is one line too, not "Exception ignored"
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
