"""One name per concept across the commands (trial item 21), and the old spellings still working.

The registry is :data:`skyfence.cli._common.OPTION_NAMES`; the old spellings are hidden options that
:func:`skyfence.cli._common.renamed_options` adds. These tests walk the Typer app, so a new command that spells a
concept its own way -- or gives an old spelling a new meaning -- fails here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
import typer

from skyfence.cli import app, capacity, detect, export, network, policy, threat
from skyfence.cli._common import OPTION_NAMES

ROOT = "examples/policies/real_world_2026.toml"


def _commands(command: Any, path: tuple[str, ...] = ()):
    if hasattr(command, "list_commands"):
        context = command.context_class(command, info_name="skyfence")
        for name in command.list_commands(context):
            yield from _commands(command.get_command(context, name), (*path, name))
    else:
        yield path, command


def _options(hidden: bool):
    root = typer.main.get_command(app)
    for path, command in _commands(root):
        for param in command.params:
            if param.param_type_name == "option" and bool(param.hidden) == hidden:
                long = [o for o in param.opts if o.startswith("--")]
                yield " ".join(path), param, long[0] if long else param.opts[0]


#: Every old spelling still accepted: (command, old, new). Found by walking the app, so an alias added later is
#: tested too (and needs a line in BASE below).
ALIASES = sorted(
    {(path, name, param.help.removeprefix("Deprecated: use ").rstrip(".")) for path, param, name in _options(True)}
)

#: The least a command needs to parse, and the function that :func:`renamed_options` wrapped.
BASE: dict[str, tuple[list[str], Any]] = {
    "capacity": (["capacity", "starlink_omm_20260818"], capacity.capacity),
    "detect": (["detect", "fixes.parquet"], detect.detect),
    "latency country": (["latency", "country", "DE"], network.latency_country),
    "latency world": (["latency", "world", "--out", "out"], network.latency_world),
    "policy check": (["policy", "check", ROOT, "--lat", "50", "--lon", "30"], policy.check),
    "threat js": (["threat", "js", "--jammer-eirp-dbw", "40", "--jammer-km", "10", "--sat-km", "700"], threat.js),
    "threat debris": (["threat", "debris"], threat.debris),
    "threat horizon": (["threat", "horizon", "--h1-m", "10"], threat.horizon),
    "threat jam": (["threat", "jam", "starlink_omm_20260818", "--jammers", "j.toml"], threat.jam),
    "threat reach": (["threat", "reach", "starlink_omm_20260818", "--from", "Taipei"], threat.reach),
    "export czml": (["export", "czml", "starlink_omm_20260818", "--out", "x.czml"], export.czml),
}


def test_the_aliases_are_found() -> None:
    found = {(path, old) for path, old, _ in ALIASES}
    assert {("capacity", "--gateways"), ("export czml", "--sites"), ("latency world", "--policy")} <= found
    assert {path for path, _, _ in ALIASES} <= set(BASE), "add the new command to BASE"


def test_each_concept_has_its_one_name() -> None:
    """A parameter of a registered concept is spelled as the registry says, and a registered name means only its
    concept (``--policy`` is a policy file; the satellite selection is ``--selection``)."""
    names = {name: concept for concept, name in OPTION_NAMES.items()}
    bad = []
    for path, param, name in _options(False):
        if param.name in OPTION_NAMES and name != OPTION_NAMES[param.name]:
            bad.append(f"{path}: {name} should be {OPTION_NAMES[param.name]}")
        if name in names and param.name != names[name]:
            bad.append(f"{path}: {name} names {param.name!r}, but {name} is the option of {names[name]!r}")
    assert not bad, "\n".join(bad)


def test_one_parameter_one_option_name_across_commands() -> None:
    """The same parameter is spelled the same way in every command (the drift the trial found: ``ground`` was
    --ground, --gateways and --sites)."""
    spellings: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for path, param, name in _options(False):
        spellings[param.name].add(name)
        where.setdefault((param.name, name), path)
    bad = {k: {n: where[(k, n)] for n in v} for k, v in spellings.items() if len(v) > 1}
    assert not bad, bad


def test_old_spellings_are_hidden_and_help_shows_the_new(skyfence_cli) -> None:
    by_command: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, old, new in ALIASES:
        by_command[path].append((old, new))
    for path, pairs in by_command.items():
        ran = skyfence_cli(*path.split(), "--help", env={"COLUMNS": "200"})
        assert ran.returncode == 0, ran.stderr
        for old, new in pairs:
            assert not re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", ran.stdout), f"{path} --help shows {old}"
            assert new in ran.stdout


@pytest.mark.parametrize(("path", "old", "new"), ALIASES)
def test_an_old_spelling_works_and_warns_once(path, old, new, skyfence_cli, monkeypatch) -> None:
    """The command receives exactly what the new name gives it, and stderr has one warning line."""
    base, function = BASE[path]
    if new in base:  # a required option of the base line: given by its old name instead
        at = base.index(new)
        base = base[:at] + base[at + 2 :]
    received: list[dict[str, Any]] = []
    monkeypatch.setattr(function, "implementation", lambda *args, **kwargs: received.append(kwargs))
    value = "7"  # a number parses as every option's type
    ran_new = skyfence_cli(*base, new, value)
    ran_old = skyfence_cli(*base, old, value)
    assert ran_new.returncode == ran_old.returncode == 0, (ran_new.stderr, ran_old.stderr)
    assert len(received) == 2 and received[0] == received[1], received
    assert ran_new.stderr == ""
    assert ran_old.stderr.strip().splitlines() == [f"warning: {old} is deprecated; use {new}"]


def test_both_spellings_at_once_is_one_error_line(skyfence_cli) -> None:
    ran = skyfence_cli("capacity", "oneweb", "--ground", "none", "--gateways", "none")
    assert ran.returncode == 1
    assert ran.stderr.strip().splitlines() == [
        "error: field --ground: give --ground or --gateways, not both (--gateways is the old name of --ground)"
    ]


def test_czml_ground_without_a_value_is_the_old_link_flag(skyfence_cli, monkeypatch) -> None:
    """In ``export czml`` --ground was the flag that drew gateway links; it is now the dataset (as everywhere), the
    flag is --gsl, and a bare --ground (last, or before another option) still reads as --gsl with a warning."""
    base, function = BASE["export czml"]
    received: list[dict[str, Any]] = []
    monkeypatch.setattr(function, "implementation", lambda *args, **kwargs: received.append(kwargs))
    runs = {
        "bare, last": (["--ground"], True, "operator"),
        "bare, before --isl": (["--ground", "--isl"], True, "operator"),
        "new flag": (["--gsl", "--isl"], True, "operator"),
        "dataset": (["--ground", "starlink_ground_stations"], False, "starlink_ground_stations"),
        "old dataset name": (["--sites", "starlink_ground_stations"], False, "starlink_ground_stations"),
    }
    for label, (args, gsl, ground) in runs.items():
        received.clear()
        ran = skyfence_cli(*base, *args)
        assert ran.returncode == 0 and len(received) == 1, (label, ran.stderr)
        assert received[0]["gsl"] is gsl and received[0]["ground"] == ground, (label, received[0])
        warned = ran.stderr.strip().splitlines()
        assert len(warned) == (0 if label in ("new flag", "dataset") else 1), (label, warned)
    ran = skyfence_cli(*base, "--ground")
    assert ran.stderr.strip() == "warning: --ground without a value is deprecated; use --gsl"


JS = ["threat", "js", "--jammer-km", "10", "--sat-km", "700", "--json"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            [*JS, "--jammer-eirp", "40", "--rejection", "30,40"],
            [*JS, "--jammer-eirp-dbw", "40", "--sidelobe-db", "30,40"],
            '"js_db": 13.9',
        ),
        (
            ["threat", "horizon", "--h1", "10", "--h2", "10"],
            ["threat", "horizon", "--h1-m", "10", "--h2-m", "10"],
            "26.1 km",
        ),
    ],
)
def test_an_old_spelling_gives_the_same_answer_end_to_end(old, new, expected, skyfence_cli) -> None:
    """Through the real commands, required options given by their old names included."""
    ran_old, ran_new = skyfence_cli(*old), skyfence_cli(*new)
    assert ran_old.returncode == ran_new.returncode == 0, ran_old.stderr
    assert ran_old.stdout == ran_new.stdout and expected in ran_new.stdout, ran_new.stdout
    assert ran_new.stderr == "" and len(ran_old.stderr.strip().splitlines()) == 2  # one line per old name


def test_policy_check_old_terminal_option_end_to_end(skyfence_cli) -> None:
    base = ["policy", "check", ROOT, "--lat", "50.45", "--lon", "30.52", "--json"]
    ran_old = skyfence_cli(*base, "--terminal", "T-1")
    ran_new = skyfence_cli(*base, "--terminal-id", "T-1")
    assert ran_old.returncode == ran_new.returncode == 0, ran_old.stderr
    assert ran_old.stdout == ran_new.stdout
    assert "--terminal is deprecated; use --terminal-id" in ran_old.stderr
