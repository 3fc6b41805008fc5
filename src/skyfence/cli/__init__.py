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


def _no_type_for_flags() -> None:
    """Typer 0.29's help shows a ``<bool>`` type beside every flag (``--json <bool>``), which reads as if the flag
    took a value; a flag takes none, so its type column stays empty (the plain-text help already does this)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag and not self.count else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_no_type_for_flags()

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
