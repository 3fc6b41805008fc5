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

__all__ = [
    "RIPE_DIR",
    "access_markdown",
    "access_validation",
    "calibrate_access",
    "fit_scheduling",
    "markdown_table",
    "measured_medians",
    "probe_split",
    "ripe_validation",
    "tum_series",
]

RIPE_DIR = "measurements/ripe_atlas_msm52764390"
TLE_2023 = "tle/starlink_20230529_idp.tle.gz"
GROUND_2023 = "ground_stations/Gateways_PoPs_n_Backbone_2023-10-10_points_DERIVED.csv"


def _data_dir(data_dir: str | Path | None) -> Path:
    from skyfence.data import data_dir as mirror
    from skyfence.errors import DatasetError

    root = data_dir or mirror()
    if not root or not Path(root).is_dir():
        raise DatasetError(
            "the RIPE validation needs the shared data folder", hint="set SKYFENCE_DATA_DIR to it (../shared/data)"
        )
    return Path(root)


def measured_medians(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Per probe: ``prb_id``, ``place``, ``lat_deg``, ``lon_deg``, ``pings``, ``measured_median_rtt_ms``."""
    root = _data_dir(data_dir) / RIPE_DIR
    probes = pd.read_csv(root / "probe_locations_from_map_py.csv")
    pings = pd.read_csv(root / "ping_flat.csv")
    pings = pings[(pings["rcvd"] > 0) & np.isfinite(pings["min_ms"])]
    stats = pings.groupby("prb_id")["min_ms"].agg(["median", "size"]).reset_index()
    table = probes.merge(stats, on="prb_id", how="inner")
    return pd.DataFrame(
        {
            "prb_id": table["prb_id"].astype(int),
            "place": table["place"],
            "lat_deg": table["lat"].astype(float),
            "lon_deg": table["lon"].astype(float),
            "pings": table["size"].astype(int),
            "measured_median_rtt_ms": table["median"].astype(float),
        }
    )


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
    header = (
        "| probe | place | measured median [ms] | simulated median [ms] | difference [ms] | gateway (most used) "
        "| PoP | reachable |"
    )
    lines = [header, "|---:|---|---:|---:|---:|---|---|---:|"]
    for r in table.itertuples():
        gateway = r.gateway.replace("|", "/")
        lines.append(
            f"| {r.prb_id} | {r.place} | {r.measured_median_rtt_ms:.1f} | {r.simulated_median_rtt_ms:.1f} | "
            f"{r.difference_ms:.1f} | {gateway} | {r.pop} ({r.pop_country}) | {r.reachable_share:.0%} |"
        )
    return "\n".join(lines)


# --- the access model: calibration on half of the probes (+ the TUM dish), report on the other half -------------

TUM_DIR = "measurements/tum_garching_dish_2023"
#: The TUM dish (Garching; from the study's README, probable, not confirmed): PROVENANCE.md 4c.
TUM_LAT_DEG, TUM_LON_DEG = 48.2489, 11.6532
#: Seconds of each minute at which Starlink reconfigures (Pan et al. 2024): the 15 s phase origin.
RECONFIGURATION_PHASE_S = 12


def probe_split(measured: pd.DataFrame) -> pd.Series:
    """``"calibration"`` or ``"held-back"`` per probe: probes sorted by RIPE probe id, alternately (fixed before
    any fitting; no probe is moved to make the numbers come out)."""
    rank = measured["prb_id"].rank(method="first").astype(int) - 1
    return pd.Series(np.where(rank % 2 == 0, "calibration", "held-back"), index=measured.index)


def tum_series(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The TUM dish's PoP pings: ``time`` (UTC), ``pop_ping_ms``, ``series`` (``1s-20230815`` / ``10s-20230918``)."""
    root = _data_dir(data_dir) / TUM_DIR
    fast = pd.read_csv(root / "pop_ping_bandwidth_20230815.csv")
    slow = pd.read_csv(root / "history.csv")
    frames = [
        pd.DataFrame(
            {
                "time": pd.to_datetime(fast["timestamp"], unit="s"),
                "pop_ping_ms": fast["pop_ping_latency_ms"],
                "series": "1s-20230815",
            }
        ),
        pd.DataFrame(
            {
                "time": pd.to_datetime(slow["timestamp"]),
                "pop_ping_ms": slow["pop_ping_latency_ms"],
                "series": "10s-20230918",
            }
        ),
    ]
    table = pd.concat(frames, ignore_index=True)
    return table[np.isfinite(table["pop_ping_ms"]) & (table["pop_ping_ms"] > 0)].reset_index(drop=True)


def fit_scheduling(series: pd.DataFrame, *, spike_s: float = 2.0) -> dict:
    """Scheduling Gamma (shape, scale) and reconfiguration spike from the TUM 1 s series.

    The spike is the median ping in the first ``spike_s`` seconds after a 15 s boundary minus the median of the
    rest; the Gamma is matched to the spread of the remaining pings (ratio and size of p95-p5 and p50-p5),
    taking the geometry as constant over the 17-minute series.
    """
    from scipy.optimize import brentq
    from scipy.stats import gamma

    fast = series[series["series"] == "1s-20230815"]
    phase = (fast["time"].dt.second.to_numpy() - RECONFIGURATION_PHASE_S) % 15
    ping = fast["pop_ping_ms"].to_numpy(float)
    early = phase < spike_s
    spike_ms = max(0.0, float(np.median(ping[early]) - np.median(ping[~early])))
    p5, p50, p95 = np.percentile(ping[~early], [5, 50, 95])
    target = (p95 - p5) / (p50 - p5)

    def ratio(shape: float) -> float:
        q5, q50, q95 = gamma.ppf([0.05, 0.5, 0.95], shape)
        return (q95 - q5) / (q50 - q5) - target

    shape = float(brentq(ratio, 0.3, 200.0)) if ratio(0.3) * ratio(200.0) < 0 else 1.0
    q5, q95 = gamma.ppf([0.05, 0.95], shape)
    scale = float((p95 - p5) / (q95 - q5))
    return {
        "scheduling_shape": round(shape, 2),
        "scheduling_scale_ms": round(scale, 2),
        "spike_ms": round(spike_ms, 1),
        "spike_s": spike_s,
    }


def _validation_inputs(root: Path):
    from skyfence.network.access import realistic_ground
    from skyfence.network.ground import read_ground_segment
    from skyfence.orbits.elements import read_elements
    from skyfence.orbits.time import time_grid

    constellation = read_elements(root / TLE_2023)
    ground, _, _ = realistic_ground(read_ground_segment(root / GROUND_2023), pop_assignment="nearest")
    epochs = constellation.epoch_range
    assert epochs is not None, "empty TLE snapshot"
    newest = epochs[1].astype("datetime64[h]").astype("datetime64[ns]")
    return constellation, ground, time_grid(newest - np.timedelta64(12, "h"), "24h", "15m")


def _simulate(constellation, ground, times, measured: pd.DataFrame, access, lasers) -> tuple:
    """Per probe and for the TUM dish: routes with the access model (server edge = one node for RIPE)."""
    from skyfence.earth.places import Place
    from skyfence.network.access import access_routes

    probes = [Place(str(r.place), float(r.lat_deg), float(r.lon_deg)) for r in measured.itertuples()]
    ripe = access_routes(
        constellation, probes, [None] * len(probes), times, ground, access=access, lasers=lasers, extra_nodes=1
    )
    tum = access_routes(
        constellation,
        [Place("TUM Garching dish", TUM_LAT_DEG, TUM_LON_DEG)],
        [None],
        times,
        ground,
        access=access,
        lasers=lasers,
    )
    return ripe, tum


def _medians_at(routes, processing_ms: float, extra_nodes: int) -> np.ndarray:
    """Median simulated RTT per row if the per-node processing were ``processing_ms`` (paths held fixed)."""
    nodes = routes.laser_hops + 4 + extra_nodes  # dish, satellites, gateway, PoP (+ server edge)
    shift = 2.0 * (processing_ms - routes.access.processing_ms) * nodes
    fraction, extra = routes.access.offsets_ms()
    start, end = routes.rtt_start_ms + shift, routes.rtt_end_ms + shift
    samples = start[..., None] + (end - start)[..., None] * fraction + extra
    return np.nanmedian(samples.reshape(len(start), -1), axis=1)


def calibrate_access(data_dir: str | Path | None = None, *, policy: str = "max_elevation", lasers=None) -> dict:
    """Fit the access model's free parameters: scheduling and spike on the TUM 1 s series, per-node processing
    on the calibration half of the RIPE probes plus the TUM median (least absolute error, two passes so the
    routes follow the fitted processing).  Returns the parameters and the per-probe table
    (:func:`access_validation` reports on the held-back half)."""
    from scipy.optimize import minimize_scalar

    from skyfence.network.access import AccessModel
    from skyfence.network.lasers import LaserModel

    root = _data_dir(data_dir)
    lasers = lasers or LaserModel()
    measured = measured_medians(root)
    split = probe_split(measured)
    tum = tum_series(root)
    params = fit_scheduling(tum)
    constellation, ground, times = _validation_inputs(root)
    train = (split == "calibration").to_numpy()
    tum_median = float(np.median(tum["pop_ping_ms"]))
    processing = 2.0
    for _ in range(2):
        access = AccessModel(policy=policy, processing_ms=processing, **params)
        ripe, dish = _simulate(constellation, ground, times, measured, access, lasers)
        target = measured["measured_median_rtt_ms"].to_numpy(float)[train]

        def loss(p: float, ripe=ripe, dish=dish, target=target) -> float:
            errors = np.r_[_medians_at(ripe, p, 1)[train] - target, _medians_at(dish, p, 0) - tum_median]
            return float(np.sum(np.abs(errors)))

        processing = round(float(minimize_scalar(loss, bounds=(0.0, 20.0), method="bounded").x), 2)
    return {
        "processing_ms": processing,
        **params,
        "tum_median_ms": round(tum_median, 1),
        "calibration_probes": int(train.sum()),
        "held_back_probes": int((~train).sum()),
    }


def _simulated(summary: dict) -> dict:
    """The simulated columns of an access-validation row, from a latency summary of one terminal."""
    return {
        "simulated_p5_rtt_ms": summary["p5_rtt_ms"],
        "simulated_median_rtt_ms": summary["median_rtt_ms"],
        "simulated_p95_rtt_ms": summary["p95_rtt_ms"],
        "gateway": summary["gateways"][0]["name"] if summary["gateways"] else "",
        "pop": summary["pops"][0]["name"] if summary["pops"] else "",
        "laser_hops": summary["median_laser_hops"],
    }


def access_validation(data_dir: str | Path | None = None, *, access=None, lasers=None) -> pd.DataFrame:
    """Per probe: measured median, simulated p5/p50/p95 with the access model, error, split; plus a TUM row."""
    from skyfence.network.access import AccessModel
    from skyfence.network.lasers import LaserModel

    root = _data_dir(data_dir)
    access = access or AccessModel()
    lasers = lasers or LaserModel()
    measured = measured_medians(root)
    constellation, ground, times = _validation_inputs(root)
    ripe, dish = _simulate(constellation, ground, times, measured, access, lasers)
    rows = []
    for k, r in enumerate(measured.itertuples()):
        rows.append(
            {
                "prb_id": int(r.prb_id),
                "place": str(r.place),
                "measured_median_rtt_ms": r.measured_median_rtt_ms,
                **_simulated(ripe.summary(k)),
            }
        )
    table = pd.DataFrame(rows)
    table["split"] = probe_split(measured).to_numpy()
    table["error_ms"] = (table["simulated_median_rtt_ms"] - table["measured_median_rtt_ms"]).round(1)
    tum = tum_series(root)
    tum_row = {
        "prb_id": 0,
        "place": "TUM Garching dish (PoP ping)",
        "measured_median_rtt_ms": round(float(np.median(tum["pop_ping_ms"])), 1),
        **_simulated(dish.summary(0)),
        "split": "calibration (TUM)",
    }
    tum_row["error_ms"] = round(tum_row["simulated_median_rtt_ms"] - tum_row["measured_median_rtt_ms"], 1)
    table = pd.concat([table, pd.DataFrame([tum_row])], ignore_index=True)
    table["measured_median_rtt_ms"] = table["measured_median_rtt_ms"].round(1)
    return table


def access_markdown(table: pd.DataFrame) -> str:
    """The access-model validation as Markdown: per split, then the summary lines."""
    lines = []
    for split in ("held-back", "calibration", "calibration (TUM)"):
        part = table[table["split"] == split].sort_values("error_ms")
        if not len(part):
            continue
        lines += [
            f"**{split}**",
            "",
            "| probe | place | measured median [ms] | simulated p5 / p50 / p95 [ms] | "
            "error [ms] | gateway (most used) | PoP | laser hops |",
            "|---:|---|---:|---|---:|---|---|---:|",
        ]
        for r in part.itertuples():
            lines.append(
                f"| {r.prb_id} | {r.place} | {r.measured_median_rtt_ms:.1f} | {r.simulated_p5_rtt_ms:.1f} / "
                f"{r.simulated_median_rtt_ms:.1f} / {r.simulated_p95_rtt_ms:.1f} | {r.error_ms:+.1f} | "
                f"{r.gateway.replace('|', '/')} | {r.pop} | {r.laser_hops:.0f} |"
            )
        errors = part["error_ms"].abs()
        lines += [
            "",
            f"{split}: {len(part)} rows, median absolute error {errors.median():.1f} ms, "
            f"largest {errors.max():.1f} ms, mean signed error {part['error_ms'].mean():+.1f} ms.",
            "",
        ]
    return "\n".join(lines)
