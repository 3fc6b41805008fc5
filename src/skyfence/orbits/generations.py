"""Satellite generations from catalog metadata: launch date (international designator) and name.

A real catalog does not say which hardware a satellite is.  What it does say is the launch (the international
designator ``YYYY-NNNP`` carries the launch year and number) and the name, and the public launch record fixes the
hardware per launch:

* ``starlink-v0.9``: the 60 test satellites of launch 2019-029 (24 May 2019);
* ``starlink-v1.0``: launches from 2019-074 (11 Nov 2019) up to the first v1.5 launch;
* ``starlink-v1.5``: from Group 2-1 (2021-082, 14 Sep 2021), the first satellites with laser links;
* ``starlink-v2-mini``: from Group 6-1 (2023-026, 27 Feb 2023).

This is first-order: a few v1.5 batches flew after February 2023, and direct-to-cell satellites (names with
``DTC``) are told apart only by name.  OneWeb satellites are ``oneweb-gen1``; any other satellite of a real catalog
is ``unknown``; a Walker preset's satellites carry the preset's name (``preset:starlink-gen1``).

References
----------
McDowell, J. C. (2020). The low Earth orbit satellite population and impacts of the SpaceX Starlink
constellation. *ApJ Letters* 892, L36 (launch list and versions); SpaceX launch press kits for Group 2-1 (2021)
and Group 6-1 (2023).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GENERATIONS", "STARLINK_GENERATION_STARTS", "satellite_generations"]

#: First launch (international designator prefix ``YYYY-NNN``) of each Starlink generation, oldest first.
STARLINK_GENERATION_STARTS = (
    ("2019-029", "starlink-v0.9"),
    ("2019-074", "starlink-v1.0"),
    ("2021-082", "starlink-v1.5"),
    ("2023-026", "starlink-v2-mini"),
)
#: Generation labels a real catalog can carry (presets add ``preset:NAME``).
GENERATIONS = (
    "starlink-v0.9",
    "starlink-v1.0",
    "starlink-v1.5",
    "starlink-v2-mini",
    "starlink-dtc",
    "oneweb-gen1",
    "unknown",
)


def _launch_key(designator: str) -> str:
    """``"2021-082A"`` -> ``"2021-082"`` (sortable); ``""`` when malformed."""
    text = str(designator).strip()
    return text[:8] if len(text) >= 8 and text[4] == "-" and text[:4].isdigit() and text[5:8].isdigit() else ""


def satellite_generations(constellation) -> np.ndarray:
    """Generation label per satellite of a :class:`~skyfence.orbits.constellation.Constellation` (object array).

    See the module docstring for the rule.  A constellation whose satellites all carry known planes and slots
    (a Walker preset) gets ``preset:<constellation name>``.
    """
    table = constellation.satellites
    n = len(table)
    if n and bool(((table["plane"].to_numpy(np.int64) >= 0) & (table["slot"].to_numpy(np.int64) >= 0)).all()):
        return np.full(n, f"preset:{constellation.name}", dtype=object)
    names = table["name"].astype(str).str.upper().to_numpy()
    keys = np.array([_launch_key(d) for d in table["intl_designator"].tolist()], dtype=object)
    out = np.full(n, "unknown", dtype=object)
    is_starlink = np.char.startswith(names.astype(str), "STARLINK")
    starts = [k for k, _ in STARLINK_GENERATION_STARTS]
    labels = [g for _, g in STARLINK_GENERATION_STARTS]
    for i in np.flatnonzero(is_starlink):
        key = keys[i]
        if not key:
            continue
        k = int(np.searchsorted(starts, key, side="right")) - 1
        out[i] = labels[k] if k >= 0 else "unknown"
    out[is_starlink & np.char.find(names.astype(str), "DTC").__ge__(0)] = "starlink-dtc"
    out[np.char.startswith(names.astype(str), "ONEWEB")] = "oneweb-gen1"
    return out
