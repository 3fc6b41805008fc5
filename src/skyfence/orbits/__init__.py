"""Orbits: element sets, constellations, filed presets, time grids and SGP4 positions.

``tle``, ``omm``   read and write TLE and OMM (CSV, JSON, XML); ``elements`` detects the format of a file
``constellation``  :class:`Constellation`: satrecs in a fixed order and a table of their satellites and shells
``walker``         Walker constellations and the filed presets (cited)
``sources``        :func:`load_constellation`: a file, a preset or a CelesTrak group
``time``           UTC time grids, ISO text, skyfield's timescale
``propagate``      SGP4 → ITRF positions, streamed over time chunks (the next layer up: import from there)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "PRESETS": "skyfence.orbits.walker",
    "Constellation": "skyfence.orbits.constellation",
    "Shell": "skyfence.orbits.walker",
    "default_start": "skyfence.orbits.time",
    "iso_utc": "skyfence.orbits.time",
    "load_constellation": "skyfence.orbits.sources",
    "parse_duration": "skyfence.orbits.time",
    "parse_time": "skyfence.orbits.time",
    "preset": "skyfence.orbits.walker",
    "read_elements": "skyfence.orbits.elements",
    "read_omm_records": "skyfence.orbits.omm",
    "read_tle_text": "skyfence.orbits.tle",
    "time_grid": "skyfence.orbits.time",
    "walker": "skyfence.orbits.walker",
    "write_omm": "skyfence.orbits.omm",
    "write_tle": "skyfence.orbits.tle",
}
__all__ = [
    "PRESETS",
    "Constellation",
    "Shell",
    "default_start",
    "iso_utc",
    "load_constellation",
    "parse_duration",
    "parse_time",
    "preset",
    "read_elements",
    "read_omm_records",
    "read_tle_text",
    "time_grid",
    "walker",
    "write_omm",
    "write_tle",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.orbits.constellation import Constellation
    from skyfence.orbits.elements import read_elements
    from skyfence.orbits.omm import read_omm_records, write_omm
    from skyfence.orbits.sources import load_constellation
    from skyfence.orbits.time import default_start, iso_utc, parse_duration, parse_time, time_grid
    from skyfence.orbits.tle import read_tle_text, write_tle
    from skyfence.orbits.walker import PRESETS, Shell, preset, walker
