"""Big single runs chunked over time: the parts put together equal one unchunked run (counts and per-cell
figures), each part holds at most one chunk of steps, and the run goes through ``skyfence sweep``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from skyfence.sweep.chunked import ChunkedSpec, run_chunked

SPEC = {
    "constellation": "oneweb",
    "region": "TW",
    "res": 4,
    "start": "2026-01-01T00:00:00Z",
    "duration": "48m",
    "step": "120s",
    "chunk": "10m",
}


def test_chunks_put_together_equal_one_run(data_dir, tmp_path):
    from skyfence.coverage.engine import run_coverage
    from skyfence.earth.regions import get_region
    from skyfence.orbits.sources import load_constellation

    spec = ChunkedSpec.model_validate(SPEC)
    result = run_chunked(spec, tmp_path, tmp_path / "out", serial=True)
    assert spec.steps_per_chunk() == 5 and len(result.parts) == 5  # 25 steps (0 to 48 min at 120 s) in chunks of 5
    parts = sorted((tmp_path / "out" / "counts").glob("part-*.nc"))
    with xr.open_mfdataset(parts, combine="nested", concat_dim="time") as counts:
        assert all(size <= 5 for size in counts.chunks["time"])
        chunked = counts["sats_in_view"].to_numpy()
    whole = run_coverage(load_constellation("oneweb"), get_region("TW").cells(4), spec.times(), min_elevation_deg=25.0)
    assert whole.counts is not None
    np.testing.assert_array_equal(chunked, whole.counts["sats_in_view"].to_numpy())
    per_cell = whole.per_cell.set_index("cell")
    got = result.per_cell.set_index("cell")
    pd.testing.assert_series_equal(
        got["sats_in_view_mean"], per_cell.loc[got.index, "sats_in_view_mean"], check_names=False, rtol=1e-12
    )


def test_chunked_file_runs_through_skyfence_sweep(data_dir, skyfence_cli, tmp_path):
    path = tmp_path / "big.toml"
    lines = [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in SPEC.items()]
    path.write_text("[chunked]\n" + "\n".join(line.replace("'", '"') for line in lines) + "\n")
    ran = skyfence_cli("sweep", path, "--out", tmp_path / "out", "--serial")
    assert ran.returncode == 0, ran.stderr
    assert "25 steps" in ran.stdout and "5 chunk(s)" in ran.stdout
    assert len(list((tmp_path / "out" / "counts").glob("part-*.nc"))) == 5
    assert (tmp_path / "out" / "per_cell.parquet").is_file()
