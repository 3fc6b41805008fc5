"""Shared pieces of the CLI: the consoles and the error path (:mod:`skyfence._console`), the progress bar.

Only typer, rich and the foundation are imported here: ``skyfence --help`` must stay fast.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
import tempfile
import typing
from collections.abc import Callable, Mapping, Sequence
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
    "ARGUMENT_METAVARS",
    "METAVARS",
    "OPTION_NAMES",
    "STRICT_EPOCHS",
    "bare_flag_renamed",
    "check_epochs",
    "check_output",
    "console",
    "err_console",
    "fail",
    "help_examples",
    "json_text",
    "portable_paths",
    "print_json",
    "print_summary_json",
    "readable_metavar",
    "readable_range",
    "renamed_options",
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


#: One name per concept across the commands: a parameter name -> its option name. tests/test_cli_names.py checks
#: that every command spelling the concept uses this name (and that this name means only this concept), so the
#: drift the new-user trial found (--ground / --gateways / --sites for one dataset) cannot come back. Old spellings
#: stay accepted, hidden, through :func:`renamed_options` (table in docs/cli.md).
OPTION_NAMES: dict[str, str] = {
    "ground": "--ground",  # the gateway/PoP dataset (name or file)
    "exclude_gateways_in": "--exclude-gateways-in",  # countries whose gateways are left out (ISO2, repeatable)
    "remove_site": "--remove-site",  # one gateway/PoP left out by name (repeatable)
    "selection": "--selection",  # satellite selection of the access model (max_elevation, ...)
    "policy": "--policy",  # a policy file (TOML)
    "alt_km": "--alt-km",  # an altitude in km
    "alt_m": "--alt-m",  # an altitude in m
    "terminal_id": "--terminal-id",  # a terminal's id
    "sidelobe_db": "--sidelobe-db",  # a terminal's side-lobe rejection [dB]
    "sat_eirp_dbw": "--sat-eirp-dbw",  # the satellite's EIRP [dBW]
    "mass_kg": "--mass-kg",  # a mass in kg
    "gsl": "--gsl",  # draw the gateway (GSL) links (export czml)
    "source": "--source",  # a satellite catalog given as an option: TLE/OMM file, dataset or preset
}


def _long_name(name: str, info: Any) -> str:
    decls = [d for d in (getattr(info, "param_decls", None) or ()) if d.startswith("--")]
    return decls[0].split("/")[0] if decls else "--" + name.replace("_", "-")


def _deprecated(old: str, new: str) -> None:
    err_console.print(f"[bold yellow]warning:[/] {old} is deprecated; use {new}", highlight=False)


_GIVEN = {"COMMANDLINE", "ENVIRONMENT"}
_CONTEXT = "_skyfence_context"


def _hand_over(name: str) -> Callable[..., Any]:
    def callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if getattr(ctx.get_parameter_source(param.name or ""), "name", None) in _GIVEN:
            ctx.default_map = {**(ctx.default_map or {}), name: value}
        return value

    return callback


def renamed_options(**old_names: str | tuple[str, ...]) -> Callable[[Callable], Callable]:
    """Keep a renamed option's old spellings working: ``@renamed_options(ground="--gateways")`` adds a hidden
    ``--gateways`` that parses exactly as the command's ``ground`` option (a copy of its declaration), prints one
    line on stderr (``warning: --gateways is deprecated; use --ground``) and hands its value to ``ground``. Giving
    both spellings is an error. Put it above :func:`shared_options` when both are used::

        @app.command()
        @renamed_options(ground="--gateways", exclude_gateways_in="--no-gateway-in")
        def capacity(..., ground: str = typer.Option("operator", "--ground"), ...) -> None: ...
    """

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)
        hints = typing.get_type_hints(func)
        added: list[inspect.Parameter] = []
        aliases: dict[str, tuple[str, str, str]] = {}  # hidden parameter -> (parameter, old name, new name)
        for name, olds in old_names.items():
            info = signature.parameters[name].default
            new = _long_name(name, info)
            for old in (olds,) if isinstance(olds, str) else olds:
                hidden = copy.copy(info)
                hidden.param_decls = (old,)
                hidden.hidden = True
                hidden.help = f"Deprecated: use {new}."
                hidden.envvar = None
                if hidden.default is ...:
                    hidden.default = None
                # parsed first, it hands its value to the new option as a default, so a required option given by
                # its old name is given (the new option then converts and checks it as its own)
                hidden.is_eager = True
                hidden.callback = _hand_over(name)
                alias = f"_{name}__{old.lstrip('-').replace('-', '_')}"
                aliases[alias] = (name, old, new)
                added.append(
                    inspect.Parameter(alias, inspect.Parameter.KEYWORD_ONLY, default=hidden, annotation=hints[name])
                )
        added.append(inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            from skyfence.errors import InputError

            context = kwargs.pop(_CONTEXT)
            for alias, (name, old, new) in aliases.items():
                value = kwargs.pop(alias)
                if getattr(context.get_parameter_source(alias), "name", None) not in _GIVEN:
                    continue
                if getattr(context.get_parameter_source(name), "name", None) in _GIVEN:
                    raise InputError(
                        f"give {new} or {old}, not both", field=new, hint=f"{old} is the old name of {new}"
                    )
                _deprecated(old, new)
                kwargs[name] = value
            # looked up at each call: a test swaps it to see what the command receives
            return command.implementation(*args, **kwargs)  # type: ignore[attr-defined]

        command.implementation = func  # type: ignore[attr-defined]

        keep = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        command.__signature__ = signature.replace(parameters=[*keep, *added])  # type: ignore[attr-defined]
        command.__annotations__ = {**func.__annotations__, **{p.name: p.annotation for p in added}}
        return command

    return decorate


def bare_flag_renamed(old: str, new: str) -> type:
    """The command class (``@app.command(cls=bare_flag_renamed("--ground", "--gsl"))``) for a command where ``old``
    was a flag and now takes a value (the one name of another concept): ``old`` given without a value -- last on
    the line or before another option -- is read as the flag ``new``, with the one-line deprecation warning of
    :func:`renamed_options`; ``old VALUE`` is the new option."""
    from typer.core import TyperCommand

    class Command(TyperCommand):
        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            args = list(args)
            for i, arg in enumerate(args):
                if arg == "--":
                    break
                if arg == old and (i + 1 == len(args) or args[i + 1].startswith("-")):
                    args[i] = new
                    _deprecated(f"{old} without a value", new)
            return super().parse_args(ctx, args)

    return Command


#: What an option's value is, as its help shows it (``--duration DURATION``), by parameter name. An option not
#: named here shows its unit when its name ends in one (``--alt-km KM``), else N (an integer), NUMBER, PATH, or its
#: own name in capitals (``--status STATUS``); an explicit ``metavar=`` wins. Never a Python type (``<list[str]>``).
METAVARS: dict[str, str] = {
    **dict.fromkeys(("start", "end", "time", "since"), "TIME"),
    **dict.fromkeys(("duration", "step"), "DURATION"),
    **dict.fromkeys(("from", "to"), "PLACE"),
    **dict.fromkeys(("exclude_gateways_in", "cables_cut_in", "registered_in", "jurisdiction"), "CC"),
    "countries": "CC,CC,...",
    **dict.fromkeys(("add_gateway", "add_pop"), "NAME=PLACE"),
    "remove_site": "NAME",
    "terminal_id": "ID",
    **dict.fromkeys(("lat", "lon", "min_elevation"), "DEG"),
    **dict.fromkeys(("source", "compare"), "SOURCE"),
    "ground": "DATASET",
    **dict.fromkeys(("url", "scheduler"), "URL"),
    "occupied": "DATE",
    "log_level": "LEVEL",
    "actor": "WHO",
    "reason": "TEXT",
    "anchor": "SEQ:HASH",
    "eirp_sweep_dbw": "DBW,...",
    "fraction": "SHARE,...",
    **dict.fromkeys(("take_rate", "isl_failure", "dropout"), "SHARE"),
    "rain_p": "PCT",
    **dict.fromkeys(("oversubscription", "fibre_factor", "k_factor"), "FACTOR"),
    "days_abroad": "DAYS",
    **dict.fromkeys(("rtol", "atol"), "TOL"),
    "norad": "NORAD_ID",
    "pop_assignment": "MODE",
    "isl": "TOPOLOGY",
    "port": "PORT",
    "db": "DB",
}
#: An argument shows its name in capitals (SOURCE, LAT) unless named here or given a metavar.
ARGUMENT_METAVARS: dict[str, str] = {
    "country": "CC",
    "file": "POLICY",
    "a": "POLICY_A",
    "b": "POLICY_B",
    "scenario_file": "SCENARIO",
    "sweep_file": "SWEEP",
    "input_dir": "DIR",
    "alert_ids": "ID...",
    "names": "NAME...",
}
_UNIT_METAVARS = (
    ("-kmh", "KMH"),
    ("-km", "KM"),
    ("-ms", "MS"),
    ("-m2", "M2"),
    ("-m", "M"),
    ("-deg", "DEG"),
    ("-dbw", "DBW"),
    ("-db", "DB"),
    ("-mhz", "MHZ"),
    ("-kg", "KG"),
    ("-days", "DAYS"),
    ("-mbps", "MBPS"),
    ("-ghz", "GHZ"),
)


def readable_metavar(param: Any) -> str:
    """The word an option's or argument's help shows for its value (see :data:`METAVARS`)."""
    if param.metavar is not None:
        return str(param.metavar)
    name = (param.name or "").strip("_")
    if getattr(param, "param_type_name", "") == "argument":
        return ARGUMENT_METAVARS.get(name, name.upper())
    if name in METAVARS:
        return METAVARS[name]
    long = [o for o in param.opts if o.startswith("--")]
    for suffix, unit in _UNIT_METAVARS:
        if long and long[0].endswith(suffix):
            return unit
    descriptor = getattr(param, "type_descriptor", None)
    annotation: Any = getattr(descriptor, "annotation", str)
    if descriptor is not None and descriptor.is_path:
        return "PATH"
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    if annotation is int:
        return "N"
    if annotation is float:
        return "NUMBER"
    return name.upper()


def readable_range(low: float | None, high: float | None) -> str | None:
    """A number range as help shows it: ``>= 1``, ``<= 5``, ``0 to 15`` (not ``0<=x<=15``)."""
    if low is None and high is None:
        return None
    if high is None:
        return f">= {low:g}"
    if low is None:
        return f"<= {high:g}"
    return f"{low:g} to {high:g}"


def help_examples(*examples: str) -> Callable[[Callable], Callable]:
    """Add an ``Examples:`` block to a command's help (its docstring), one runnable command line per entry
    (continue a long one with ``\\`` and a newline). They use files in examples/ and dataset names, and
    tests/test_cli_help.py checks that each parses. Put it above every other decorator of the command::

        @app.command("capacity")
        @help_examples("skyfence capacity starlink_omm_20260818 --region TW --duration 1h")
        def capacity(...): ...
    """

    def decorate(func: Callable) -> Callable:
        func.__doc__ = _with_examples(func.__doc__, examples)
        return func

    return decorate


def _with_examples(doc: str | None, examples: Sequence[str]) -> str:
    """``doc`` followed by the ``Examples:`` block of :func:`help_examples`."""
    # only "[" is markup to rich; its escape() would also double a line's closing backslash
    lines = ["  " + line.replace("[", "\\[") for example in examples for line in example.splitlines()]
    return inspect.cleandoc(doc or "") + "\n\n\b\nExamples:\n" + "\n".join(lines)


def group_with_examples(group: typer.Typer, examples: Mapping[str, Sequence[str]]) -> typer.Typer:
    """A copy of a command group whose commands' help ends with ``examples[command name]`` (as
    :func:`help_examples` adds them), leaving ``group`` itself as it is. For groups defined below the CLI layer
    (the service's ``keys``, ``audit`` and ``alerts``, which also run as ``python -m skyfence.service``), whose
    examples name ``skyfence``."""
    copied = typer.Typer()
    copied.info = copy.copy(group.info)
    copied.registered_callback = group.registered_callback
    copied.registered_groups = list(group.registered_groups)
    missing = {str(info.name) for info in group.registered_commands} - set(examples)
    if missing:
        raise ValueError(f"no examples for {sorted(missing)}")
    for info in group.registered_commands:
        info = copy.copy(info)
        info.help = _with_examples(info.help or inspect.getdoc(info.callback), examples[str(info.name)])
        copied.registered_commands.append(info)
    return copied
