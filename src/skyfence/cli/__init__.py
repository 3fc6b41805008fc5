"""The ``skyfence`` command line: one sub-command group per layer.

Every command turns a :class:`~skyfence.errors.SkyfenceError` (and a missing
or unreadable file) into one line on stderr and a non-zero exit code; a
traceback means a bug.
"""

from __future__ import annotations

from typing import Any

import typer

from skyfence._console import run_app
from skyfence.cli import (
    assess,
    capacity,
    catalog,
    coverage,
    data,
    detect,
    export,
    network,
    policy,
    propagate,
    region,
    service,
    sweep,
    threat,
)

__all__ = ["app", "main"]


def _readable_help() -> None:
    """Help that reads as a command line, not as Python: Typer 0.29 shows a value's Python type (``--ground <str>``,
    ``--kind <list[str]>``, ``<int range> [x>=1]``) and arguments in braces (``{source}``). Here an option shows
    the word for its value (``--ground DATASET``, ``--duration DURATION``, ``--res N``; ``readable_metavar`` in
    :mod:`skyfence.cli._common`), a range as ``>= 1``, an argument its name (``SOURCE``, ``[NAME]``), and a flag no
    type at all (``--json``, not ``--json <bool>``, which read as if the flag took a value)."""
    from typer import rich_utils
    from typer.core import TyperArgument, TyperOption

    from skyfence.cli._common import readable_metavar, readable_range

    def option_type(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        word = readable_metavar(self)
        return f"{word}..." if self.nargs != 1 else word

    def argument_name(self: TyperArgument) -> str:
        return readable_metavar(self)

    def argument_usage(self: TyperArgument) -> str:
        name = readable_metavar(self)
        name = name if self.required else f"[{name}]"
        return f"{name}..." if self.nargs != 1 and not name.endswith("...") else name

    def number_range(self: Any) -> str | None:
        if getattr(self, "count", False) and self.min == 0 and self.max is None:
            return None
        return readable_range(self.min, self.max)

    def fix_linebreaks(paragraphs: list[str], markup_mode: Any) -> str:
        # Typer 0.29 kept a docstring's single line breaks in a command's later paragraphs ("the first draws (at most
        # 3), the" / "capacity layer ..."): join them, as it does for the first paragraph; a paragraph that starts
        # with \b (an example block) keeps its lines -- and their indent: the leading newline keeps the dedent
        # Typer applies next (inspect.cleandoc) from taking it off when the block comes first
        return "\n" + "\n\n".join(
            text.removeprefix("\b").strip("\n") if text.startswith("\b") else " ".join(text.split("\n"))
            for text in paragraphs
        )

    rich_utils._fix_linebreaks = fix_linebreaks
    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]  # the name says it
    TyperArgument.display_name_raw = property(argument_name)  # type: ignore[assignment,method-assign]
    TyperArgument._usage_display_name = argument_usage  # type: ignore[method-assign]
    TyperOption._get_number_range_help_str = number_range  # type: ignore[method-assign]
    TyperArgument._get_number_range_help_str = number_range  # type: ignore[method-assign]


_readable_help()

app = typer.Typer(
    name="skyfence",
    help="Digital twin of a LEO satellite-internet system and of the political control of its service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # -h beside --help on every command: click passes help_option_names down to every sub-command's context
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from skyfence._version import __version__

        typer.echo(f"skyfence {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print skyfence's version and exit."
    ),
) -> None:
    """Digital twin of a LEO satellite-internet system and of the political control of its service."""


app.add_typer(data.app, name="data")
app.add_typer(catalog.app, name="catalog")
app.add_typer(region.app, name="region")
app.command("propagate")(propagate.propagate)
app.command("coverage")(coverage.coverage)
app.command("capacity")(capacity.capacity)
app.add_typer(network.app, name="network")
app.add_typer(network.latency_app, name="latency")
app.command("assess")(assess.assess)
app.add_typer(policy.app, name="policy")
app.add_typer(detect.fleet_app, name="fleet")
app.command("detect")(detect.detect)
app.command("serve")(service.serve)
app.add_typer(service.audit_app, name="audit")
app.add_typer(service.keys_app, name="keys")
app.add_typer(service.alerts_app, name="alerts")
app.add_typer(threat.app, name="threat")
app.command("sweep")(sweep.sweep)
app.add_typer(export.app, name="export")


def main() -> None:
    """Console-script entry point."""
    run_app(app)
