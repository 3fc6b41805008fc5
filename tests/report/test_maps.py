"""Maps that inform: the plotted field varies, the caption says why it was chosen, colours follow direction."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from skyfence.report.figures import COVERAGE_METRICS, coverage_maps, coverage_metric


def _tables(example: dict, region_spec: str) -> list[tuple[str, pd.DataFrame]]:
    summary = example["result"].summary
    data = example["result"].data
    seen: dict[str, str] = {}
    for variant in summary.variants:
        for unit in variant.coverage:
            if unit.region_spec == region_spec:
                seen.setdefault(unit.unit, unit.label)
    return [(label, pd.read_parquet(data[key] / "per_cell.parquet")) for key, label in seen.items()]


def test_taiwan_coverage_maps_plot_a_field_that_varies(example_reports):
    tables = _tables(example_reports["taiwan"], "TW")
    assert [label for label, _ in tables] == ["Starlink (real, 2026)", "Starlink Gen1 (as filed)", "OneWeb"]
    # Taiwan is covered all of the time by every constellation: a coverage-fraction map would be blank.
    assert all(t["coverage_fraction"].min() == 1.0 for _, t in tables)
    metric, why = coverage_metric([t for _, t in tables])
    assert metric.column != "coverage_fraction" and "flat" in why
    values = np.concatenate([t[metric.column].to_numpy(float) for _, t in tables])
    assert np.var(values) > 0
    figures = coverage_maps(tables, region="Taiwan", name="TW", min_elevation_deg=25.0)
    assert figures[0].name == f"coverage__TW__{metric.column}.png" and why in figures[0].caption
    # The drawn image is not one flat colour inside the map: many distinct colours where cells are.
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(figures[0].png), format="png")[..., :3]
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200


def test_coverage_metric_prefers_coverage_when_it_varies():
    varying = pd.DataFrame(
        {
            "coverage_fraction": [0.5, 1.0],
            "sats_in_view_min": [0, 3],
            "fraction_at_least_4": [0.1, 0.9],
            "sats_in_view_mean": [1.0, 5.0],
        }
    )
    assert coverage_metric([varying]) == (COVERAGE_METRICS[0], "")
    flat = varying.assign(coverage_fraction=1.0, sats_in_view_min=2)
    metric, why = coverage_metric([flat])
    assert metric.column == "fraction_at_least_4" and why


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("diff.0.delta_median_rtt_ms", -13.0, "better"),
        ("diff.0.delta_median_rtt_ms", 4.0, "worse"),
        ("diff.0.delta_coverage_fraction", 0.02, "better"),
        ("diff.0.delta_coverage_fraction", -0.02, "worse"),
        ("diff.0.delta_max_gap_s", 60.0, "worse"),
        ("diff.0.delta_sats_in_view_mean", 1.5, "better"),
    ],
)
def test_differences_are_green_when_better_and_red_when_worse(key, value, expected):
    from skyfence.report.html import _cell

    assert f'class="{expected}"' in str(_cell(key, value, "df1"))


@pytest.mark.parametrize("panels", [1, 2])
def test_legend_and_colour_bar_stay_clear_of_the_axis_labels(data_dir, panels):
    """The policy-change map's legend once sat on its "longitude [°E]" label (a figure legend placed by hand)."""
    import matplotlib.pyplot as plt

    from skyfence.earth.regions import get_region
    from skyfence.report.maps import Panel, cells_figure

    taiwan = get_region("TW")
    cells = taiwan.cells(4)
    codes = np.arange(len(cells)) % 2
    maps = [Panel(f"panel {i}", cells, codes) for i in range(panels)]
    categories = {0: ("served", "#2ca25f"), 1: ("not served: coming soon", "#6baed6")}
    for options in ({"categories": categories}, {"colourbar_label": "satellites in view"}):
        fig = cells_figure(maps, title="What changes in Taiwan", outline=taiwan.geometry, **options)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        keys = [fig.legends[0]] if fig.legends else [a for a in fig.axes if a.get_label() == "<colorbar>"]
        assert len(keys) == 1
        key = keys[0].get_window_extent(renderer)
        for ax in fig.axes[:panels]:
            for label in (ax.xaxis.label, ax.yaxis.label):
                assert not key.overlaps(label.get_window_extent(renderer)), (options.keys(), label.get_text())
            assert not key.overlaps(ax.get_window_extent(renderer))
        plt.close(fig)
