"""Validation of simulated RTT against measurements: RIPE Atlas Starlink probes (msm 52764390).

Data (``$SKYFENCE_DATA_DIR``, see PROVENANCE.md section 4b): 2,425 one-packet
ICMP pings from 25 Starlink-connected RIPE Atlas probes (AS14593) to
13.107.21.200 (Bing, anycast) every 15 min from 2023-04-28 23:30 to 2023-04-29
23:36 UTC, and city-level probe coordinates (``probe_locations_from_map_py.csv``,
from the study's map script, not RIPE's own coordinates).

Simulation: the 2023-05-29 Starlink TLE snapshot (the closest snapshot we
have; its epochs are one month after the pings, so the simulation runs over
the 24 h around the snapshot's newest epoch at the same 15-minute step rather
than on the ping dates -- the median over a day depends on the geometry's
statistics, not on the date), the 2023-10-10 community gateway/PoP map
(operational sites, :data:`skyfence.network.ground.STATUS_2023`), the terminal
at the probe's coordinates, route to the PoP (the point where traffic leaves
Starlink), ``+grid`` ISLs by default.

Simulated RTT is propagation only and ends at the PoP; the measured RTT also
contains the PoP -> Bing leg, Starlink's scheduling and queueing (the 15 s
frame structure) and processing in the dish, satellites, gateway and PoP.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["RIPE_DIR", "markdown_table", "measured_medians", "ripe_validation"]

RIPE_DIR = "measurements/ripe_atlas_msm52764390"
TLE_2023 = "tle/starlink_20230529_idp.tle.gz"
GROUND_2023 = "ground_stations/Gateways_PoPs_n_Backbone_2023-10-10_points_DERIVED.csv"


def _data_dir(data_dir: str | Path | None) -> Path:
    import os

    from skyfence.errors import DatasetError

    root = data_dir or os.environ.get("SKYFENCE_DATA_DIR")
    if not root or not Path(root).is_dir():
        raise DatasetError("the RIPE validation needs the shared data folder",
                           hint="set SKYFENCE_DATA_DIR to it (../shared/data)")
    return Path(root)


def measured_medians(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Per probe: ``prb_id``, ``place``, ``lat_deg``, ``lon_deg``, ``pings``, ``measured_median_rtt_ms``."""
    root = _data_dir(data_dir) / RIPE_DIR
    probes = pd.read_csv(root / "probe_locations_from_map_py.csv")
    pings = pd.read_csv(root / "ping_flat.csv")
    pings = pings[(pings["rcvd"] > 0) & np.isfinite(pings["min_ms"])]
    stats = pings.groupby("prb_id")["min_ms"].agg(["median", "size"]).reset_index()
    table = probes.merge(stats, on="prb_id", how="inner")
    return pd.DataFrame({
        "prb_id": table["prb_id"].astype(int),
        "place": table["place"],
        "lat_deg": table["lat"].astype(float),
        "lon_deg": table["lon"].astype(float),
        "pings": table["size"].astype(int),
        "measured_median_rtt_ms": table["median"].astype(float),
    })


def ripe_validation(data_dir: str | Path | None = None, *, isl: str = "+grid", step: str = "15m") -> pd.DataFrame:
    """Simulated against measured median RTT per probe (see the module docstring), sorted by difference.

    Columns: the :func:`measured_medians` columns, ``simulated_median_rtt_ms``,
    ``difference_ms`` (measured - simulated), ``gateway``, ``pop`` (most used),
    ``pop_country``, ``reachable_share``.
    """
    from skyfence.earth.places import Place
    from skyfence.network.ground import read_ground_segment
    from skyfence.network.routing import route_pairs
    from skyfence.orbits.elements import read_elements
    from skyfence.orbits.time import time_grid

    root = _data_dir(data_dir)
    measured = measured_medians(root)
    constellation = read_elements(root / TLE_2023)
    ground = read_ground_segment(root / GROUND_2023)
    epochs = constellation.epoch_range
    assert epochs is not None, "empty TLE snapshot"
    newest = epochs[1].astype("datetime64[h]").astype("datetime64[ns]")
    times = time_grid(newest - np.timedelta64(12, "h"), "24h", step)
    sources = [Place(str(r.place), float(r.lat_deg), float(r.lon_deg)) for r in measured.itertuples()]
    results = route_pairs(constellation, sources, [None] * len(sources), times, ground, isl=isl)
    simulated, gateway, pop, pop_country, reachable = [], [], [], [], []
    for result in results:
        summary = result.summary()
        simulated.append(np.nan if summary["median_rtt_ms"] is None else summary["median_rtt_ms"])
        gateway.append(summary["gateways"][0]["name"] if summary["gateways"] else "")
        pop.append(summary["pops"][0]["name"] if summary["pops"] else "")
        pop_country.append(summary["pops"][0]["country"] if summary["pops"] else "")
        reachable.append(summary["reachable_share"])
    table = measured.assign(
        simulated_median_rtt_ms=np.round(simulated, 1),
        difference_ms=np.round(measured["measured_median_rtt_ms"].to_numpy() - np.array(simulated), 1),
        gateway=gateway,
        pop=pop,
        pop_country=pop_country,
        reachable_share=reachable,
    )
    table["measured_median_rtt_ms"] = table["measured_median_rtt_ms"].round(1)
    return table.sort_values("difference_ms", ascending=False).reset_index(drop=True)


def markdown_table(table: pd.DataFrame) -> str:
    """The validation table as Markdown (for ``docs/validation_latency.md``)."""
    header = ("| probe | place | measured median [ms] | simulated median [ms] | difference [ms] | gateway (most used) "
              "| PoP | reachable |")
    lines = [header, "|---:|---|---:|---:|---:|---|---|---:|"]
    for r in table.itertuples():
        gateway = r.gateway.replace("|", "/")
        lines.append(
            f"| {r.prb_id} | {r.place} | {r.measured_median_rtt_ms:.1f} | {r.simulated_median_rtt_ms:.1f} | "
            f"{r.difference_ms:.1f} | {gateway} | {r.pop} ({r.pop_country}) | {r.reachable_share:.0%} |"
        )
    return "\n".join(lines)
