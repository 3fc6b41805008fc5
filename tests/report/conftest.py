"""The two example scenarios, run once per session into a temporary cache, for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="session")
def example_reports(data_dir, tmp_path_factory) -> dict[str, dict]:
    """``{"taiwan": {"dir": Path, "result": AssessResult}, "ukraine": ...}``: each example run and its report."""
    from skyfence._io import atomic_outputs
    from skyfence.report.html import write_report
    from skyfence.scenario.runner import run_scenario
    from skyfence.scenario.schema import load_scenario

    root = tmp_path_factory.mktemp("examples")
    out = {}
    for name in ("taiwan", "ukraine"):
        file = EXAMPLES / f"{name}.toml"
        scenario, base = load_scenario(file)
        result = run_scenario(scenario, base, cache_root=root / "cache" / "results", file_name=file.name)
        folder = root / name
        with atomic_outputs(folder) as staging:
            write_report(staging, result, figure_cache=root / "cache" / "figures")
        out[name] = {"dir": folder, "result": result}
    return out
