"""``--help`` reads as a command line (trial item 22): words for values (``--duration DURATION``, ``--res N``), no
Python types (``<list[str]>``, ``<int range> [x>=1]``), 80 columns, and examples that parse -- in the help of the
main commands and in the README's tour."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from skyfence.cli import app

ROOT = Path(__file__).parents[1]
PYTHON_TYPE = re.compile(
    r"<(?:str|int|float|bool|path|text|list\[[^\]]*\]|[a-z]+ range|datetime)>|\bx[<>]=|\{[a-z_]+\}"
)
#: The commands whose help must show examples (the trial's list).
MAIN = [
    "assess",
    "coverage",
    "capacity",
    "latency country",
    "latency world",
    "threat js",
    "threat horizon",
    "threat jam",
    "threat attrition",
    "threat debris",
    "threat reach",
    "threat gateways",
    "policy check",
    "policy export",
    "policy import",
    "detect",
    "fleet synth",
    "sweep",
    "serve",
    "keys create",
    "audit verify",
    "alerts list",
    "alerts ack",
]
#: An example line (with its indent in the help) fits an 80-column terminal inside the help's margins (1 each side).
MAX_EXAMPLE_LINE = 78


def _commands(command: Any, path: tuple[str, ...] = ()):
    yield path, command
    if hasattr(command, "list_commands"):
        context = command.context_class(command, info_name="skyfence")
        for name in command.list_commands(context):
            yield from _commands(command.get_command(context, name), (*path, name))


COMMANDS = {" ".join(path): command for path, command in _commands(typer.main.get_command(app))}


def _examples(help_text: str) -> list[str]:
    """The command lines of a help text's ``Examples:`` block, continuation lines joined."""
    if "Examples:" not in help_text:
        return []
    block = help_text.split("Examples:", 1)[1].strip("\n").split("\n\n", 1)[0]
    return _command_lines(block.splitlines())


def _command_lines(lines: list[str]) -> list[str]:
    joined: list[str] = []
    pending = ""
    for raw in lines:
        line = raw.strip()
        if pending:
            line = pending + " " + line
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        if line:
            joined.append(line)
    return joined


def _parse(line: str) -> tuple[Any, Any]:
    """Resolve ``skyfence ...`` down to its command and parse its arguments as the CLI would (unknown options,
    missing arguments and values of the wrong type raise); returns the command and its parsed context."""
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value before the command
        words.pop(0)
    while words and words[-1] in ("&", "&&", ";"):
        words.pop()
    assert words[0] == "skyfence", line
    command = typer.main.get_command(app)
    context = command.make_context("skyfence", words[1:])
    while hasattr(command, "resolve_command"):
        name, command, rest = command.resolve_command(context, [*context._protected_args, *context.args])
        context = command.make_context(name, rest, parent=context)
    return command, context


def test_every_help_reads_as_a_command_line_at_80_columns(skyfence_cli) -> None:
    bad = []
    for path in COMMANDS:
        ran = skyfence_cli(*path.split(), "--help", env={"COLUMNS": "80"})
        assert ran.returncode == 0, (path, ran.stderr)
        found = sorted(set(PYTHON_TYPE.findall(ran.stdout)))
        if found:
            bad.append(f"skyfence {path} --help: {found}")
        wide = [line for line in ran.stdout.splitlines() if len(line.rstrip()) > 80]
        if wide:
            bad.append(f"skyfence {path} --help: wider than 80 columns: {wide[0]!r}")
    assert not bad, "\n".join(bad)


def test_values_have_words_for_them(skyfence_cli) -> None:
    """The trial's examples: a country list, a range, LAT."""
    ran = skyfence_cli("capacity", "--help", env={"COLUMNS": "120"})
    assert re.search(r"--exclude-gateways-in +CC ", ran.stdout) and re.search(r"--duration +DURATION ", ran.stdout)
    ran = skyfence_cli("sweep", "--help", env={"COLUMNS": "120"})
    assert re.search(r"--workers +N \[>= 1\]", ran.stdout), ran.stdout
    ran = skyfence_cli("region", "lookup", "--help", env={"COLUMNS": "120"})
    assert re.search(r"Usage: .*region lookup \[OPTIONS\] LAT LON\s", ran.stdout), ran.stdout
    ran = skyfence_cli("policy", "check", "--help", env={"COLUMNS": "120"})
    assert re.search(r"--lat +DEG ", ran.stdout) and re.search(r"--alt-m +M ", ran.stdout)


@pytest.mark.parametrize("path", MAIN)
def test_main_commands_show_examples(path, skyfence_cli) -> None:
    ran = skyfence_cli(*path.split(), "--help", env={"COLUMNS": "80"})
    assert ran.returncode == 0 and "Examples:" in ran.stdout
    examples = _examples(COMMANDS[path].help or "")
    assert len(examples) >= 2, examples
    assert all(e.startswith(("skyfence ", "SKYFENCE_")) for e in examples), examples


@pytest.mark.parametrize("path", [p for p, c in COMMANDS.items() if "Examples:" in (c.help or "")])
def test_every_example_in_help_parses(path, capsys) -> None:
    """Each example names a real command, its options exist and take the values given, the files it reads are in
    the repository (outputs go under out/), it uses no deprecated name and fits 80 columns."""
    help_text = COMMANDS[path].help
    raw = help_text.split("Examples:", 1)[1].strip("\n").splitlines()
    too_wide = [line for line in raw if len(line.rstrip()) > MAX_EXAMPLE_LINE]
    assert not too_wide, f"wraps at 80 columns: {too_wide}"
    examples = _examples(help_text)
    assert examples
    for line in examples:
        _, context = _parse(line.replace("\\[", "["))
        assert context.command_path.split()[1:] == path.split(), (line, path)
        for word in shlex.split(line):
            if word.startswith(("examples/", "sqlite:///")) or word.endswith((".toml", ".geojson")):
                file = word.removeprefix("sqlite:///")
                assert file.startswith("out/") or (ROOT / file).exists(), f"{line}: {file} is not in the repository"
    assert "deprecated" not in capsys.readouterr().err


def _readme_tour() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        lines += [line for line in _command_lines(block.splitlines()) if re.match(r"([A-Z_]+=\S+ )*skyfence ", line)]
    return lines


def test_readme_tour_commands_parse_with_current_names(capsys) -> None:
    """Every ``skyfence`` line of the README's shell blocks parses against the CLI and uses no deprecated name (the
    tour must run as written)."""
    lines = _readme_tour()
    assert len(lines) > 30
    for line in lines:
        if "$(" in line or "$DB" in line or "$OP" in line or "$REG" in line:
            line = line.replace("$DB", "sqlite:///out/cp.db")
            if "$(" in line:
                continue
        _parse(line)
    assert "deprecated" not in capsys.readouterr().err
