"""Units in option help stay visible: rich markup would swallow an unescaped ``[ms]`` or ``[dBW]``."""

from __future__ import annotations

import re

import click
import typer

from skyfence.cli import app

UNESCAPED = re.compile(r"(?<!\\)\[[^\]\[]*\]")


def _commands(command: click.Command, path: str = "skyfence"):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_every_bracketed_unit_in_option_help_is_escaped() -> None:
    root = typer.main.get_command(app)
    bad = [
        f"{path} {param.name}: {param.help!r}"
        for path, command in _commands(root)
        for param in command.params
        if getattr(param, "help", None) and UNESCAPED.search(param.help)
    ]
    assert not bad, "escape as \\[unit]:\n" + "\n".join(bad)


def test_an_escaped_unit_is_printed(skyfence_cli) -> None:
    ran = skyfence_cli("threat", "js", "--help")
    assert ran.returncode == 0
    assert "[dBW]" in ran.stdout and "[km]" in ran.stdout
