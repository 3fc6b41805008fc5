"""Occupation time-travel: the cells that flip between two dates equal an independent count -- the DeepState
GeoJSON files read with json + shapely, H3 cell centres tested with shapely -- and so do the people and the fleet
terminals inside; the example runs end to end through ``skyfence sweep`` and writes its table and animation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from skyfence.sweep.timetravel import TimeTravel, TimeTravelSpec, load_timetravel, run_timetravel

EXAMPLE = Path(__file__).parents[2] / "examples" / "frontline_timetravel.toml"
DAYS = (date(2024, 7, 8), date(2025, 1, 2))
RES = 5


def _polygon(data_dir: Path, day: date):
    path = data_dir / "disputed" / "deepstate_ukraine_occupied" / f"deepstatemap_data_{day:%Y%m%d}.geojson"
    features = json.loads(path.read_text())["features"]
    return shapely.union_all([shape(f["geometry"]) for f in features])


def _centres_inside(polygon, cells: list[str]) -> set[str]:
    lat, lon = np.array([h3.cell_to_latlng(c) for c in cells]).T
    return {c for c, inside in zip(cells, shapely.contains_xy(polygon, lon, lat), strict=True) if inside}


@pytest.fixture(scope="module")
def small_fleet(data_dir):
    from skyfence.detection.spec import FleetSpec

    return FleetSpec.model_validate(
        {
            "fleet": {"seed": 7, "days": 1, "step_s": 3600, "fixed_step_s": 3600},
            "classes": {
                "residential": {"count": 400, "countries": ["UA"]},
                "black_market": {"count": 60, "used_in": ["occupied:ua:2026-08-22"], "used_weights": [1.0]},
            },
        }
    )


def test_flipped_cells_people_and_terminals_match_an_independent_shapely_count(data_dir, small_fleet, tmp_path):
    tt = TimeTravel(TimeTravelSpec(res=RES), small_fleet, list(DAYS), "test")
    result = run_timetravel(tt, serial=True, cache_root=tmp_path)
    row = result.table.iloc[1]

    before, after = (_polygon(data_dir, d) for d in DAYS)
    # candidates: every res-5 cell whose centre lies in the box around both polygons (h3 itself, no skyfence code)
    x0, y0, x1, y1 = shapely.union(before, after).bounds
    box = h3.LatLngPoly([(y0 - 0.1, x0 - 0.1), (y0 - 0.1, x1 + 0.1), (y1 + 0.1, x1 + 0.1), (y1 + 0.1, x0 - 0.1)])
    candidates = list(h3.polygon_to_cells(box, RES))
    inside_before, inside_after = _centres_inside(before, candidates), _centres_inside(after, candidates)
    assert row["cells_newly_inside"] == len(inside_after - inside_before) > 0
    assert row["cells_newly_outside"] == len(inside_before - inside_after)
    assert result.table.iloc[0]["cells_inside"] == len(inside_before)
    flipped = result.cells[result.cells["date"] == DAYS[1].isoformat()]
    assert set(flipped.loc[flipped["change"] == "newly_inside", "cell"]) == inside_after - inside_before

    from skyfence.earth.places import city_table

    cities = city_table()
    lon, lat = cities["lon_deg"].to_numpy(), cities["lat_deg"].to_numpy()
    in_before, in_after = shapely.contains_xy(before, lon, lat), shapely.contains_xy(after, lon, lat)
    assert row["population_newly_inside"] == int(cities.loc[in_after & ~in_before, "population"].sum())
    assert row["population_newly_outside"] == int(cities.loc[in_before & ~in_after, "population"].sum())

    positions = result.positions
    assert positions is not None
    hit_after = shapely.contains_xy(after, positions["lon_deg"].to_numpy(), positions["lat_deg"].to_numpy())
    assert row["terminals_cut_off"] == positions.loc[hit_after, "terminal_id"].nunique() > 0
    # the animation draws one dot per terminal cut off (the caption's count), not one per fix
    from skyfence.sweep.timetravel import cut_off_dots

    dots = cut_off_dots(positions, result.per_date[1]["terminals"], after)
    assert len(dots) == row["terminals_cut_off"] < int(hit_after.sum())

    again = run_timetravel(tt, serial=True, cache_root=tmp_path)
    assert again.dates_computed == 0  # each date is cached under its content key
    pd.testing.assert_frame_equal(again.table, result.table)


def test_example_runs_through_skyfence_sweep(data_dir, skyfence_cli, tmp_path):
    tt = load_timetravel(EXAMPLE)
    assert [d.isoformat() for d in tt.dates][::4] == ["2024-07-08", "2026-08-22"]
    out = tmp_path / "out"
    ran = skyfence_cli("sweep", EXAMPLE, "--out", out, "--serial", env={"SKYFENCE_CACHE_DIR": str(tmp_path / "c")})
    assert ran.returncode == 0, ran.stderr
    table = pd.read_parquet(out / "timetravel.parquet")
    assert list(table["date"]) == [d.isoformat() for d in tt.dates]
    # the line moved west over two years: more cells inside at the end than at the start
    assert table["cells_inside"].iloc[-1] > table["cells_inside"].iloc[0]
    from PIL import Image

    with Image.open(out / "timetravel.gif") as gif:
        assert gif.n_frames == len(tt.dates)
    assert "2024-07-08 -> 2025-01-02" in ran.stdout
    report = (out / "report.html").read_text()
    assert "timetravel.gif" in report
    assert "&lt;NA&gt;" not in report and "<NA>" not in report and "nan" not in report  # a reader sees "–"
    assert "people newly inside" in report and "population_newly_inside" not in report
    # like a scenario report: DeepStateMap's lines with their licence, the assumptions, how to reproduce it; the
    # animation's alt text says what it shows
    assert "Data sources and licences" in report and "GPL-3.0" in report and "<code>deepstate_20240708</code>" in report
    assert "Assumptions" in report and "Reproducing this report" in report
    assert "alt='Animated map of eastern Ukraine, one frame per date from 2024-07-08" in report


def test_unknown_date_is_one_line(data_dir, skyfence_cli, tmp_path):
    bad = tmp_path / "tt.toml"
    bad.write_text("[timetravel]\ndates = [2024-07-08, 2025-02-30]\n".replace("2025-02-30", "2025-03-01"))
    ran = skyfence_cli("sweep", bad, "--out", tmp_path / "out")
    assert ran.returncode != 0 and "Traceback" not in ran.stderr
    assert "timetravel.dates[1]" in ran.stderr and "no occupied-area polygon for 2025-03-01" in ran.stderr
