"""The foundation commands end to end: catalog info, propagate; errors are one line without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _skyfence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skyfence", *args], capture_output=True, text=True)


def test_catalog_info_real_tle_counts_shells_and_epochs(data_file):
    proc = _skyfence("catalog", "info", str(data_file("tle/starlink_20250923.tle")), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["satellites"] == 8325
    assert info["invalid_records"] == []
    assert info["epoch_min"] < info["epoch_max"] and info["epoch_max"].startswith("2025-09-2")
    shells = {(round(s["inclination_deg"]), round(s["alt_km"], -1)) for s in info["shells"] if s["count"] > 500}
    assert (53, 550.0) in shells and (43, 560.0) in shells and (70, 570.0) in shells


def test_catalog_info_preset_and_dated_catalog(data_dir):
    preset = json.loads(_skyfence("catalog", "info", "starlink-gen1", "--json").stdout)
    assert preset["satellites"] == 4408
    assert [s["count"] for s in preset["shells"]] == [1584, 1584, 720, 348, 172]
    dated = _skyfence("catalog", "info", "oneweb_omm_20260818", "--json")
    assert dated.returncode == 0, dated.stderr
    assert json.loads(dated.stdout)["satellites"] == 651


def test_catalog_info_lists_invalid_records(tmp_path, data_file):
    lines = data_file("tle/oneweb_20250923.tle").read_text().splitlines()
    broken = lines[:6]
    broken[2] = broken[2][:-1] + str((int(broken[2][-1]) + 1) % 10)  # wrong checksum on line 3
    path = tmp_path / "two.tle"
    path.write_text("\n".join(broken) + "\n")
    info = json.loads(_skyfence("catalog", "info", str(path), "--json").stdout)
    assert info["satellites"] == 1
    assert len(info["invalid_records"]) == 1 and "two.tle:3" in info["invalid_records"][0]
    assert "checksum" in info["invalid_records"][0]


def test_propagate_writes_netcdf(tmp_path):
    out = tmp_path / "p.nc"
    proc = _skyfence(
        "propagate",
        "oneweb",
        "--start",
        "2026-01-01T00:00Z",
        "--duration",
        "30m",
        "--step",
        "5m",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["satellites"] == 588 and summary["steps"] == 7 and summary["failed_pairs"] == 0
    with xr.open_dataset(out) as ds:
        assert ds["position_itrf"].shape == (588, 7, 3)
        radius = np.linalg.norm(ds["position_itrf"].values, axis=-1)
        assert np.all((radius > 6378 + 1100) & (radius < 6378 + 1300))
        assert ds["lat"].attrs["units"] == "degrees_north"


def test_propagate_names_the_satellites_sgp4_failed_for(data_dir):
    """ "SGP4 failures: 448 pairs (2 satellites)" named neither (issue #27): now NORAD id, name, error and since when.
    In the CelesTrak snapshot of 2026-08-18 two elements sets fail with error 1 (eccentricity out of range, as a
    decaying orbit does): STARLINK-11111 [DTC] from the start, STARLINK-30188 from 16:34."""
    args = ("propagate", "starlink_omm_20260818", "--start", "2026-08-18T16:00Z", "--duration", "1h", "--step", "10m")
    summary = json.loads(_skyfence(*args, "--json").stdout)
    named = {(f["norad_id"], f["name"], f["error"], f["first_failure"]) for f in summary["failed_satellites"]}
    assert named == {
        (59764, "STARLINK-11111 [DTC]", 1, "2026-08-18T16:00:00Z"),
        (57432, "STARLINK-30188", 1, "2026-08-18T16:40:00Z"),
    }
    assert summary["satellites_with_failures"] == 2
    text = _skyfence(*args).stdout
    assert "NORAD 57432 STARLINK-30188: error 1, 3 step(s) from 2026-08-18T16:40Z" in text
    assert "SGP4 error 1: mean eccentricity is outside the range 0.0 to 1.0" in text


def test_errors_are_one_line(tmp_path, skyfence_cli):
    for args, needle in (
        (["propagate", "oneweb", "--out", str(tmp_path / "x.zarr")], "--out"),
        (["propagate", "starlnk-gen1"], "did you mean starlink-gen1"),
        (["propagate", "oneweb", "--step", "fast"], "cannot read duration"),
        (["catalog", "info", str(tmp_path / "missing.tle")], "missing.tle"),
    ):
        proc = skyfence_cli(*args)
        assert proc.returncode != 0
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert needle in lines[0], lines[0]
    assert not (tmp_path / "x.zarr").exists()


def test_errors_name_the_option_the_toml_key_or_the_variable(tmp_path, skyfence_cli):
    """One naming rule: a command-line value by its option as typed (not the library's ``duration``), a TOML value
    by its file and dotted key, an environment value by its variable."""
    coverage = ["coverage", "oneweb", "--region", "TW", "--res", "3"]
    live = ["coverage", "celestrak:oneweb", "--region", "TW", "--res", "3", "--duration", "1h"]  # reads the cache
    scenario = (EXAMPLES / "taiwan.toml").read_text().replace('duration = "24h"', 'duration = "-5h"')
    (tmp_path / "bad.toml").write_text(scenario)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for args, env, needle in (
        (["propagate", "oneweb", "--step", "fast"], {}, "field --step: cannot read duration 'fast'"),
        ([*coverage, "--duration", "5x"], {}, "field --duration: cannot read duration '5x'"),
        # a number without a unit is refused, not read as seconds (24 meant as hours gave one step)
        ([*coverage, "--duration", "24"], {}, "field --duration: '24' has no unit (use e.g. 24h, 24min or 24s)"),
        (["propagate", "oneweb", "--step", "60"], {}, "field --step: '60' has no unit"),
        (
            ["latency", "route", "oneweb", "--from", "Taipei", "--duration", "2"],
            {},
            "field --duration: '2' has no unit",
        ),
        ([*coverage, "--min-elevation", "95"], {}, "field --min-elevation: minimum elevation must be in [0, 90)"),
        ([*coverage, "--min-sats", "0"], {}, "field --min-sats: "),
        ([*coverage, "--end", "2020-01-01"], {}, "field --end: end 2020-01-01T00:00:00Z is before start"),
        (["coverage", "oneweb", "--res", "99"], {}, "field --res: H3 resolution must be an integer from 0 to 15"),
        (["coverage", "TW"], {}, "field SOURCE: 'TW' is not a file"),
        (["region", "lookup", "95", "34"], {}, "field LAT: lat must be within"),  # typer's own argument class
        (["region", "lookup", "abc", "34"], {}, "field LAT: lat must be a number"),
        (["region", "lookup", "34", "200"], {}, "field LON: lon must be within ±180 degrees, got 200"),
        (["assess", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")], {}, "bad.toml: field time.duration: "),
        (live, {"SKYFENCE_OFFLINE": "maybe", "SKYFENCE_CACHE_DIR": str(tmp_path / "c")}, "field SKYFENCE_OFFLINE: "),
        (live, {"SKYFENCE_OFFLINE": "1", "SKYFENCE_CACHE_DIR": str(a_file)}, "field SKYFENCE_CACHE_DIR: "),
        (
            ["serve", "--port", "0"],
            {"SKYFENCE_CACHE_DIR": "", "SKYFENCE_ENVIRONMENT": "development", "SKYFENCE_RATE_LIMIT_BURST": "0"},
            "environment: field SKYFENCE_RATE_LIMIT_BURST: Input should be greater than or equal to 1",
        ),
    ):
        proc = skyfence_cli(*args, env=env)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert needle in lines[0], (args, lines[0])
    assert not (tmp_path / "o").exists()


def test_bad_input_in_a_real_process_is_one_line_without_traceback():
    """The smoke test of the console entry point as a process (the other bad-input tests run in-process)."""
    proc = _skyfence("propagate", "starlnk-gen1")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "did you mean starlink-gen1" in lines[0]


#: Third-party top-level modules a help screen may import: typer and what typer and rich bring (recent typer
#: validates a command's parameters with pydantic).  Everything else (numpy, pandas, xarray, numba, shapely, h3,
#: pyproj, sgp4, skyfield, fastapi ...) loads inside the command.
CLI_STACK = frozenset(
    {
        "typer",
        "click",
        "rich",
        "pygments",
        "markdown_it",
        "mdurl",
        "shellingham",
        "typing_extensions",
        "annotated_doc",
        "colorama",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_inspection",
    }
)
#: skyfence modules a help screen may import: the CLI itself and the foundation of docs/architecture.md.
CLI_SKYFENCE = (
    "skyfence",
    "skyfence._console",
    "skyfence._io",
    "skyfence._json",
    "skyfence._lazy",
    "skyfence._version",
    "skyfence.cli",
    "skyfence.data",
    "skyfence.data.registry",
    "skyfence.errors",
    "skyfence.service",
    "skyfence.service.commands",
)

_IMPORTED = """
import json, sys
sys.argv = ["skyfence", *sys.argv[1:]]
try:
    from skyfence.cli import main
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("args", [["--help"], ["network", "hypatia-state", "--help"]], ids=" ".join)
def test_help_imports_only_the_cli_stack(args):
    proc = subprocess.run([sys.executable, "-c", _IMPORTED, *args], capture_output=True, text=True, check=True)
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    top = {m.split(".")[0] for m in modules}
    third_party = {m for m in top if m not in sys.stdlib_module_names and not m.startswith("_")} - {"skyfence"}
    assert third_party <= CLI_STACK, f"imported at start-up: {sorted(third_party - CLI_STACK)}"
    ours = {m for m in modules if m == "skyfence" or m.startswith("skyfence.")}
    stray = {m for m in ours if m not in CLI_SKYFENCE and not m.startswith("skyfence.cli.")}
    assert not stray, f"skyfence modules imported at start-up: {sorted(stray)}"


def test_readme_tour_finds_the_shared_data_beside_the_checkout_or_says_how(data_dir, tmp_path):
    """The README tour runs after `source .venv/bin/activate`, where SKYFENCE_DATA_DIR is unset (issue 11, item 12)."""
    import os
    import shutil
    from pathlib import Path

    root = Path(__file__).parents[1]
    checkout = tmp_path / "work" / "skyfence"
    checkout.mkdir(parents=True)
    shutil.copyfile(root / "pyproject.toml", checkout / "pyproject.toml")
    (tmp_path / "work" / "shared").mkdir()
    (tmp_path / "work" / "shared" / "data").symlink_to(data_dir)
    env = {k: v for k, v in os.environ.items() if k != "SKYFENCE_DATA_DIR"}
    env.update(SKYFENCE_CACHE_DIR=str(tmp_path / "cache"), SKYFENCE_OFFLINE="1", COLUMNS="200")

    def tour(cwd: Path) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "skyfence", "catalog", "info", "starlink_omm_20260818", "--json"]
        return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)

    found = tour(checkout)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["satellites"] == 10926

    (tmp_path / "lone" / "skyfence").mkdir(parents=True)  # a checkout with no shared data beside it
    shutil.copyfile(root / "pyproject.toml", tmp_path / "lone" / "skyfence" / "pyproject.toml")
    missing = tour(tmp_path / "lone" / "skyfence")
    assert missing.returncode != 0
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in missing.stderr
    assert "no ../shared/data beside the checkout" in lines[0] and "SKYFENCE_DATA_DIR" in lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["coverage", "starlink_omm_20260818", "--region", "TW", "--res", "3", "--duration", "0s"],
        ["propagate", "starlink_omm_20260818", "--duration", "0s"],
        ["latency", "route", "starlink_omm_20260818", "--from", "Taipei", "--duration", "0s"],
    ],
    ids=["coverage", "propagate", "latency-route"],
)
def test_a_run_far_from_the_catalog_epochs_warns_and_strict_refuses(skyfence_cli, command):
    """The epoch-gap rule of ``assess`` (14 days) holds in every command that propagates a catalog."""
    far = [*command, "--start", "2030-01-01T00:00Z"]
    warned = skyfence_cli(*far)
    assert warned.returncode == 0, warned.stderr
    assert "warning: " in warned.stderr and "more than the 14-day limit" in warned.stderr
    assert "leave out --start" in warned.stderr
    refused = skyfence_cli(*far, "--strict")
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 1 and len(lines) == 1 and "field --start: refusing to run (--strict)" in lines[0]
    near = skyfence_cli(*command, "--start", "2026-08-18T12:00Z", "--strict")
    assert near.returncode == 0 and "warning" not in near.stderr, near.stderr


def test_version_and_h_on_every_command():
    """``skyfence --version`` prints the version; ``-h`` is ``--help`` on every command and group."""
    import typer.main
    from typer.testing import CliRunner

    from skyfence import __version__
    from skyfence.cli import app

    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"skyfence {__version__}"

    def paths(command, prefix=()):
        yield prefix
        for name, sub in getattr(command, "commands", {}).items():
            yield from paths(sub, (*prefix, name))

    every = list(paths(typer.main.get_command(app)))
    assert len(every) > 40
    for path in every:
        short = runner.invoke(app, [*path, "-h"], terminal_width=100)
        assert short.exit_code == 0 and "Usage: skyfence" in short.output, (path, short.output)


def test_command_summaries_name_files_relative_to_the_working_folder(data_dir, tmp_path):
    """capacity's summary.json said "source": "/home/.../shared/data/tle/...csv.gz" (issue #27); assess writes paths
    relative to where it ran: so do the other commands now, in summary.json and in --json."""
    out = tmp_path / "cap"
    args = ("capacity", "starlink_omm_20260818", "--region", "TW", "--duration", "10m", "--step", "5m")
    printed = json.loads(_skyfence(*args, "--out", str(out), "--json").stdout)
    written = json.loads((out / "summary.json").read_text())
    mirror = (data_dir / "tle/omm_csv_2026/starlink_20260818.csv.gz").resolve()
    expected = Path(os.path.relpath(mirror, Path.cwd().resolve())).as_posix()
    assert written["settings"]["source"] == printed["settings"]["source"] == expected
    # relative, never the absolute path (which a relative one can contain when it climbs to the root: ../../x/y)
    assert not Path(written["settings"]["source"]).is_absolute()
    assert f'"{mirror}"' not in (out / "summary.json").read_text()
    assert printed["out"] == str(out)  # what the user gave, as given
