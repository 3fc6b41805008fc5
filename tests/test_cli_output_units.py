"""Small output defects stay fixed: units rich would eat as markup, empty titles, unknown columns, missing figures."""

from __future__ import annotations


def test_catalog_info_names_the_dataset_and_omits_unknown_plane_columns(data_dir, skyfence_cli):
    done = skyfence_cli("catalog", "info", "starlink_omm_20260818")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("starlink_omm_20260818 — CelesTrak") and "?" not in done.stdout
    assert "per plane" not in done.stdout.split("shells")[1].split("\n\n")[0] or "not known" in done.stdout
    preset = skyfence_cli("catalog", "info", "starlink-gen1")
    assert preset.returncode == 0, preset.stderr
    assert "per plane" in preset.stdout and "?" not in preset.stdout


def test_coverage_gap_rows_keep_their_unit(data_dir, skyfence_cli):
    done = skyfence_cli(
        "coverage", "starlink-550", "--region", "TW", "--res", "3", "--duration", "10m", "--compare", "oneweb"
    )
    assert done.returncode == 0, done.stderr
    assert "longest gap [s]" in done.stdout and "mean gap [s]" in done.stdout  # "[s]" was eaten as rich markup


def test_capacity_prints_the_served_rate(data_dir, skyfence_cli):
    done = skyfence_cli(
        "capacity", "starlink-550", "--region", "TW", "--res", "3", "--start", "2026-08-18T12:00Z",
        "--duration", "1m", "--step", "60s",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "demand served, mean [Gb/s]" in done.stdout or "served Gb/s" in done.stdout
