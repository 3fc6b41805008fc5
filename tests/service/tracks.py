"""Terminal tracks for the service's detection tests: a drone, a position jumper, a car and a resident.

Deterministic for a seed.  Under the demo policy (``examples/policies/control_plane_demo.toml``) the drone raises
``drone_suspected`` (ground speed from consecutive fixes 150-200 km/h, above any ground vehicle), the jumper
``spoofing_suspected`` (reported position jumps Kyiv -> Taipei -> Kyiv within minutes, faster than any plan), and
the car and the resident raise nothing.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

START = datetime(2026, 8, 22, 6, 0, tzinfo=UTC)
STEP_S = 60
KYIV = (50.45, 30.52)
TAIPEI = (25.03, 121.57)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _fix(terminal: int, moment: datetime, lat: float, lon: float, alt_m: float, speed_kmh: float) -> dict[str, Any]:
    return {
        "terminal_id": terminal,
        "time": _iso(moment),
        "lat_deg": round(lat, 6),
        "lon_deg": round(lon, 6),
        "alt_m": round(alt_m, 1),
        "speed_kmh": round(speed_kmh, 1),
    }


def track(
    kind: str, terminal: int, n: int, *, seed: int | str = 0, start: datetime = START, onset: int = 0
) -> list[dict[str, Any]]:
    """``n`` fixes every 60 s of one terminal of ``kind`` (drone, jumper, car, resident); ``seed`` picks the path.

    Before fix ``onset`` the terminal sits still where it starts (so its alert comes later in a stream); movers
    turn back every 100 fixes, so a long track stays within a few hundred km.
    """
    rng = random.Random(f"{kind}-{seed}")
    out = []
    lat, lon = 49.9 + rng.uniform(-0.3, 0.3), 36.0 + rng.uniform(-0.3, 0.3)  # east of Kharkiv
    speed = rng.uniform(150.0, 200.0) if kind == "drone" else rng.uniform(80.0, 110.0)
    heading = math.radians(rng.uniform(250.0, 290.0))  # westwards
    for k in range(n):
        moment = start + timedelta(seconds=k * STEP_S)
        if kind in ("drone", "car"):
            if k > onset:
                if (k - onset) % 100 == 0:
                    heading += math.pi
                d_km = speed * STEP_S / 3600.0
                lat += d_km * math.cos(heading) / 111.2
                lon += d_km * math.sin(heading) / (111.2 * math.cos(math.radians(lat)))
            alt = 800.0 + rng.uniform(-50, 50) if kind == "drone" else 150.0
            reported = rng.uniform(0.0, 60.0) if kind == "drone" else speed
            out.append(_fix(terminal, moment, lat, lon, alt, reported if k > onset else 0.0))
        elif kind == "jumper":
            where = TAIPEI if k >= onset and k % 10 == 5 else KYIV
            out.append(_fix(terminal, moment, where[0] + rng.gauss(0, 1e-4), where[1] + rng.gauss(0, 1e-4), 180.0, 0.0))
        elif kind == "resident":
            out.append(_fix(terminal, moment, KYIV[0] + rng.gauss(0, 1e-4), KYIV[1] + rng.gauss(0, 1e-4), 180.0, 0.0))
        else:
            raise ValueError(kind)
    return out


def stream(
    kinds: dict[int, str], n: int, *, seed: int = 0, onsets: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """The tracks of several terminals (terminal id -> kind) merged in time order (ties by terminal)."""
    onsets = onsets or {}
    fixes = [
        f
        for k, (terminal, kind) in enumerate(kinds.items())
        for f in track(kind, terminal, n, seed=f"{seed}-{k}", onset=onsets.get(terminal, 0))
    ]
    return sorted(fixes, key=lambda f: (f["time"], f["terminal_id"]))


def frame(fixes: list[dict[str, Any]], account: dict[int, int], registered: dict[int, str]) -> pd.DataFrame:
    """Fixes as the offline detectors take them, with each terminal's account and registration country."""
    df = pd.DataFrame(fixes)
    df["time"] = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None).astype("datetime64[ns]")
    df["account_id"] = df["terminal_id"].map(account)
    df["registered_in"] = df["terminal_id"].map(registered)
    return df
