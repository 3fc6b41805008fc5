"""Laser (ISL) realism: which satellites carry lasers, per-hop delay, dropout, routing objective.

What the public record supports
-------------------------------
* **v0.9 and v1.0 satellites carry no lasers.**  The 2019-2021 launches into
  the 53.0 deg shell (COSPAR 2019-029 to the last v1.0 launch in May 2021) were
  bent pipe only; SpaceX's 2021 statements say only the polar satellites
  launched that year carried "space lasers" and that every satellite from the
  second-generation shells on (Group 2 at 70 deg from September 2021, Group 4
  at 53.2 deg from November 2021, then v1.5 and v2 mini) does (SpaceX,
  Starlink updates and FCC progress reports 2021-2024; Chaudhry &
  Yanikomeroglu 2021 summarise the 2021 statements).  :func:`laser_capable`
  therefore marks a satellite of a real catalog as laser-less when it was
  launched before 2022 into an inclination below 53.15 deg (the 53.0 deg
  shell), and laser-capable otherwise (polar, 70 deg, 53.2 deg and 43 deg
  shells; all launches from 2022 on).  Walker presets are designs and keep
  lasers on every satellite.
* **Other operators.**  The launch rule above is Starlink's record.  A
  satellite of another operator whose generation skyfence knows
  (:mod:`skyfence.capacity.resources`: OneWeb Gen1 has no inter-satellite
  links, per OneWeb) carries lasers only if that generation does; so does
  every satellite of such an operator's Walker preset (``oneweb``).
* **Per-hop delay.**  Every satellite on a path costs the access model's
  per-node processing (:mod:`skyfence.network.access`), so the residual grows
  with the number of laser hops; ``hop_delay_ms`` adds an optional extra delay
  per laser hop (default 0: the public record gives no per-hop figure).
* **Dropout.**  Lasers are not always on (pointing, acquisition, sun
  blinding): ``dropout`` is the probability that a laser is down at a time
  step, drawn independently per link and step from a seeded generator (default
  0, an option for sensitivity studies).
* **Routing objective.**  ``"delay"`` (minimum delay including processing),
  ``"hops"`` (fewest laser hops, delay breaks ties) or ``"load"``
  (minimum delay with each laser's cost raised by the share of population
  demand already routed over its end satellites in a first min-delay pass).
  Starlink's real objective is not published; min delay is the default.

References
----------
Chaudhry, A. U., Yanikomeroglu, H. (2021). Laser intersatellite links in a
Starlink constellation: a classification and analysis. IEEE Vehicular
Technology Magazine 16(2), 48-56.
Bhattacherjee, D., Singla, A. (2019). Network topology design at 27,000 km/hour. CoNEXT 2019.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyfence.errors import InputError

__all__ = ["AVAILABILITY", "OBJECTIVES", "LaserModel", "laser_capable"]

AVAILABILITY = ("generation", "all", "none")
OBJECTIVES = ("delay", "hops", "load")
#: Satellites launched before this year into an inclination below :data:`V1_MAX_INCLINATION_DEG` have no lasers.
FIRST_ALL_LASER_YEAR = 2022
#: Upper inclination bound [deg] of the v0.9/v1.0 53.0 deg shell (Group 4 and later sit at 53.2 deg).
V1_MAX_INCLINATION_DEG = 53.15
#: Cost of one laser hop under ``objective="hops"`` [light-travel km]: larger than any path length.
HOP_COST_KM = 1.0e5


@dataclass(frozen=True)
class LaserModel:
    """Which lasers exist and how routes use them (see the module docstring).

    ``availability``: ``"generation"`` (default, :func:`laser_capable`), ``"all"`` or ``"none"`` (bent pipe);
    ``hop_delay_ms``: extra one-way delay per laser hop [ms]; ``dropout``: probability a laser is down per step;
    ``objective``: ``"delay"``, ``"hops"`` or ``"load"``; ``load_weight``: how much a fully loaded laser's cost
    grows under ``"load"`` (1.0 doubles it); ``seed``: dropout draws.
    """

    availability: str = "generation"
    hop_delay_ms: float = 0.0
    dropout: float = 0.0
    objective: str = "delay"
    load_weight: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.availability not in AVAILABILITY:
            raise InputError(
                f"laser availability {self.availability!r} is not one of {AVAILABILITY}",
                field="lasers",
                hint="use generation, all or none",
            )
        if self.objective not in OBJECTIVES:
            raise InputError(
                f"routing objective {self.objective!r} is not one of {OBJECTIVES}",
                field="objective",
                hint="use delay, hops or load",
            )
        if not (np.isfinite(self.hop_delay_ms) and self.hop_delay_ms >= 0):
            raise InputError(f"laser hop delay {self.hop_delay_ms} ms must be >= 0", field="hop_delay_ms")
        if not (0.0 <= self.dropout < 1.0):
            raise InputError(f"laser dropout {self.dropout} must be in [0, 1)", field="dropout")
        if not (np.isfinite(self.load_weight) and self.load_weight >= 0):
            raise InputError(f"load weight {self.load_weight} must be >= 0", field="load_weight")

    def to_dict(self) -> dict:
        return {
            "availability": self.availability,
            "hop_delay_ms": self.hop_delay_ms,
            "dropout": self.dropout,
            "objective": self.objective,
            "load_weight": self.load_weight,
            "seed": self.seed,
        }


def laser_capable(constellation, availability: str = "generation") -> np.ndarray:
    """Boolean mask: which satellites carry lasers under ``availability`` (see the module docstring)."""
    n = len(constellation)
    if availability == "all":
        return np.ones(n, dtype=bool)
    if availability == "none":
        return np.zeros(n, dtype=bool)
    if availability not in AVAILABILITY:
        raise InputError(f"laser availability {availability!r} is not one of {AVAILABILITY}", field="lasers")
    from skyfence.capacity.resources import PRESET_GENERATIONS, generation_for_launch, get_generation

    table = constellation.satellites
    year = np.array([_launch_year(d) for d in table["intl_designator"].astype(str).tolist()], dtype=np.int64)
    if (year < 0).all():  # a design (Walker preset): lasers everywhere, unless the operator's generation has none
        preset = PRESET_GENERATIONS.get(constellation.source) or PRESET_GENERATIONS.get(constellation.name)
        if preset is not None and not preset.startswith("starlink"):
            return np.full(n, get_generation(preset).has_isl, dtype=bool)
        return np.ones(n, dtype=bool)
    inclination = table["inclination_deg"].to_numpy(float)
    legacy = (year >= 0) & (year < FIRST_ALL_LASER_YEAR) & (inclination < V1_MAX_INCLINATION_DEG)
    capable = ~legacy
    generation = generation_for_launch(table["name"].to_numpy(), table["intl_designator"].to_numpy()).astype(str)
    other = (generation != "") & ~np.char.startswith(generation, "starlink")
    for name in np.unique(generation[other]):
        capable[generation == name] = get_generation(str(name)).has_isl
    return capable


def _launch_year(designator: str) -> int:
    """Launch year of a COSPAR designator (``"2019-074B"`` or the TLE form ``"19074B"``); -1 when absent."""
    text = designator.strip()
    if len(text) >= 4 and text[:4].isdigit() and text[4:5] == "-":
        return int(text[:4])
    if len(text) >= 2 and text[:2].isdigit():
        two = int(text[:2])
        return 2000 + two if two < 57 else 1900 + two
    return -1
