"""Units in option help stay visible: rich markup would swallow an unescaped ``[ms]`` or ``[dBW]``."""

from __future__ import annotations

import re
from typing import Any

import typer

from skyfence.cli import app

UNESCAPED = re.compile(r"(?<!\\)\[[^\]\[]*\]")


def _commands(command: Any, path: str = "skyfence"):
    """Every command.  Typer brings its own copy of click: ``isinstance(command, click.Group)`` was never true, so
    this walk used to stop at the root and check nothing."""
    yield path, command
    if hasattr(command, "list_commands"):
        context = command.context_class(command, info_name=path)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None:
                yield from _commands(sub, f"{path} {name}")


def test_the_walk_reaches_every_command() -> None:
    paths = {path for path, _ in _commands(typer.main.get_command(app))}
    assert {"skyfence policy evaluate", "skyfence threat js", "skyfence keys create"} <= paths, sorted(paths)


def test_every_bracketed_unit_in_option_help_is_escaped() -> None:
    """Option and argument help, and each command's own help (its docstring), keep their brackets."""
    root = typer.main.get_command(app)
    bad = [
        f"{path} {param.name}: {param.help!r}"
        for path, command in _commands(root)
        for param in command.params
        if getattr(param, "help", None) and UNESCAPED.search(param.help)
    ]
    bad += [
        f"{path}: {UNESCAPED.search(command.help)[0]!r} in its help"
        for path, command in _commands(root)
        if command.help and UNESCAPED.search(command.help)
    ]
    assert not bad, "escape as \\[unit]:\n" + "\n".join(bad)


def test_flags_show_no_bool_type(skyfence_cli) -> None:
    ran = skyfence_cli("fleet", "synth", "--help")
    assert ran.returncode == 0 and "--json" in ran.stdout and "<bool>" not in ran.stdout
    assert re.search(r"--out +PATH ", ran.stdout)  # an option that takes a value shows the word for it


def test_an_escaped_unit_is_printed(skyfence_cli) -> None:
    ran = skyfence_cli("threat", "js", "--help")
    assert ran.returncode == 0
    assert "[dBW]" in ran.stdout and "[km]" in ran.stdout


def test_no_default_is_shown_as_a_long_float() -> None:
    """`threat horizon --k` showed [default: 1.3333333333333333] (trial #22): defaults read as typed."""
    for path, command in _commands(typer.main.get_command(app)):
        for param in getattr(command, "params", []):
            default = param.show_default if isinstance(param.show_default, str) else param.default
            if isinstance(default, float):
                assert len(repr(default)) <= 8, (path, param.name, default)
