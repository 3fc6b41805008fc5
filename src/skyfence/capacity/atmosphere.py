"""Atmospheric attenuation on slant paths (ITU-R P.618 / P.676 / P.840 through ``itur``), tabulated.

Calling ``itur`` per satellite-ground pair and time step is far too slow
(about 0.3 ms per point).  :class:`AttenuationTable` calls it once per
location node and elevation node and interpolates:

- locations: cell centres snapped to a ``grid_deg`` latitude/longitude grid
  (default 0.5 deg, finer than the 1.125-1.5 deg P.839 / P.836 / P.840 maps
  ``itur`` interpolates in; the P.837 rain-rate map is 0.125 deg, and the
  Taipei test bounds what the snapping costs);
- elevations: nodes from the mask to 90 deg, interpolated linearly in
  ``1 / sin(elevation)`` -- every term scales close to the path length through
  the layer, which is proportional to the cosecant above about 10 deg.

Tables are cached on disk under ``SKYFENCE_CACHE_DIR`` keyed by every input,
so a second run with the same cells, frequency and *p* reads them back.

``total_db`` is the P.618 sec. 2.5 combination ``A_gas + sqrt((A_rain + A_cloud)^2 + A_scint^2)``
that ``itur.atmospheric_attenuation_slant_path`` returns, exceeded for *p* % of an average year.

References
----------
- ITU-R P.618-13 (2017), P.676-12 (2019), P.840-8 (2019), P.837-7, P.838-3, P.839-4.
- del Pino, J. M. *ITU-Rpy* (the ``itur`` package), https://itur.readthedocs.io.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skyfence.errors import InputError

__all__ = [
    "FREQ_RANGE_GHZ",
    "P_RANGE_PERCENT",
    "AttenuationTable",
    "direct_attenuation_db",
    "loss_on_grid",
    "validate_frequency_ghz",
    "validate_p_percent",
]

#: Frequencies [GHz] the P.618 rain-attenuation method is stated valid for (P.618-13 sec. 2.2.1.1: up to 55 GHz).
FREQ_RANGE_GHZ = (1.0, 55.0)
#: Exceedance probabilities [% of an average year] P.618 predicts (sec. 2.2.1.1: 0.001 % to 5 %).
P_RANGE_PERCENT = (0.001, 5.0)
#: Default elevation nodes [deg] (interpolated in 1/sin(elevation)).
DEFAULT_ELEVATION_NODES_DEG = (10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 55.0, 90.0)


def validate_frequency_ghz(freq_ghz: float, *, field: str = "freq_ghz") -> float:
    """``freq_ghz`` as float, or :class:`InputError` outside :data:`FREQ_RANGE_GHZ`."""
    value = float(freq_ghz)
    lo, hi = FREQ_RANGE_GHZ
    if not (lo <= value <= hi):
        raise InputError(
            f"frequency {freq_ghz} GHz is outside the ITU-R P.618 validity range {lo:g}-{hi:g} GHz",
            field=field,
            hint="Ku user links are 10.7-14.5 GHz, Ka feeder links 17.8-30 GHz",
        )
    return value


def validate_p_percent(p_percent: float, *, field: str = "rain_p") -> float:
    """``p_percent`` as float, or :class:`InputError` outside :data:`P_RANGE_PERCENT`."""
    value = float(p_percent)
    lo, hi = P_RANGE_PERCENT
    if not (lo <= value <= hi):
        raise InputError(
            f"exceedance probability {p_percent} % is outside the ITU-R P.618 range {lo:g}-{hi:g} %",
            field=field,
            hint="e.g. 0.1 (exceeded 0.1 % of the year, 99.9 % availability) or 0.5",
        )
    return value


def direct_attenuation_db(
    lat_deg, lon_deg, freq_ghz: float, elevation_deg, p_percent: float, diameter_m: float, *, include_rain: bool = True
):
    """``itur.atmospheric_attenuation_slant_path`` total [dB] (no cache, no interpolation)."""
    import itur

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # itur warns about its own extrapolations; ranges are checked above
        value = itur.atmospheric_attenuation_slant_path(
            np.atleast_1d(np.asarray(lat_deg, float)),
            np.atleast_1d(np.asarray(lon_deg, float)),
            float(freq_ghz),
            np.atleast_1d(np.asarray(elevation_deg, float)),
            float(p_percent),
            float(diameter_m),
            include_rain=include_rain,
        )
    return np.atleast_1d(np.asarray(getattr(value, "value", value), dtype=float))


def _cache_dir() -> Path | None:
    root = os.environ.get("SKYFENCE_CACHE_DIR")
    return Path(root) / "itur" if root else None


@dataclass(frozen=True, eq=False)
class AttenuationTable:
    """Total atmospheric attenuation [dB] per location node and elevation node.

    ``node_of_point[i]`` is the row of ``loss_db`` for the caller's point ``i``;
    ``loss_db`` has shape ``(node, elevation_node)``; ``cosec_nodes`` are
    ``1/sin`` of the elevation nodes (descending).  Use :meth:`lookup`.
    """

    freq_ghz: float
    p_percent: float
    diameter_m: float
    grid_deg: float
    node_of_point: np.ndarray
    node_lat_deg: np.ndarray
    node_lon_deg: np.ndarray
    elevation_nodes_deg: np.ndarray
    loss_db: np.ndarray

    @property
    def cosec_nodes(self) -> np.ndarray:
        return 1.0 / np.sin(np.radians(self.elevation_nodes_deg))

    @classmethod
    def build(
        cls,
        lat_deg,
        lon_deg,
        freq_ghz: float,
        p_percent: float,
        *,
        diameter_m: float = 0.6,
        grid_deg: float = 0.5,
        elevation_nodes_deg=DEFAULT_ELEVATION_NODES_DEG,
        include_rain: bool = True,
        use_cache: bool = True,
    ) -> AttenuationTable:
        """Tabulate for ground points at ``lat_deg``, ``lon_deg`` [deg] (``include_rain=False``: clear sky)."""
        freq = validate_frequency_ghz(freq_ghz)
        p = validate_p_percent(p_percent)
        if not diameter_m > 0:
            raise InputError(f"antenna diameter must be positive, got {diameter_m} m", field="diameter_m")
        lat = np.atleast_1d(np.asarray(lat_deg, float))
        lon = np.atleast_1d(np.asarray(lon_deg, float))
        el = np.sort(np.asarray(elevation_nodes_deg, float))
        if grid_deg > 0:
            key_lat = np.round(lat / grid_deg) * grid_deg
            key_lon = np.round(lon / grid_deg) * grid_deg
        else:
            key_lat, key_lon = lat, lon
        nodes, node_of_point = np.unique(np.stack([key_lat, key_lon], axis=1), axis=0, return_inverse=True)
        node_of_point = node_of_point.reshape(-1)
        loss = None
        cache = _cache_dir() if use_cache else None
        digest = hashlib.sha256(
            np.concatenate([nodes.ravel(), el, [freq, p, diameter_m, float(include_rain)]]).astype(np.float64).tobytes()
        ).hexdigest()[:24]
        path = cache / f"attenuation_{digest}.npy" if cache is not None else None
        if path is not None and path.exists():
            try:
                loss = np.load(path)
            except (OSError, ValueError):
                loss = None
            if loss is not None and loss.shape != (len(nodes), len(el)):
                loss = None
        if loss is None:
            node_lat = np.repeat(nodes[:, 0], len(el))
            node_lon = np.repeat(nodes[:, 1], len(el))
            node_el = np.tile(el, len(nodes))
            loss = direct_attenuation_db(
                node_lat, node_lon, freq, node_el, p, diameter_m, include_rain=include_rain
            ).reshape(len(nodes), len(el))
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npy")
                np.save(tmp, loss)
                os.replace(tmp, path)
        # descending cosec = ascending elevation reversed, so np.interp gets increasing x
        return cls(freq, p, float(diameter_m), float(grid_deg), node_of_point, nodes[:, 0], nodes[:, 1], el, loss)

    def lookup(self, point_index, elevation_deg) -> np.ndarray:
        """Attenuation [dB] for caller's points ``point_index`` seen at ``elevation_deg`` (broadcast)."""
        idx, e = np.broadcast_arrays(np.asarray(point_index), np.asarray(elevation_deg, dtype=float))
        return interpolate_loss(self.loss_db, self.elevation_nodes_deg, self.node_of_point[idx], e)


def loss_on_grid(table: AttenuationTable, elevation_deg) -> np.ndarray:
    """Attenuation [dB] of every caller's point at each of ``elevation_deg``: shape ``(point, elevation)``."""
    x_nodes = 1.0 / np.sin(np.radians(table.elevation_nodes_deg))
    e = np.clip(np.asarray(elevation_deg, dtype=float), table.elevation_nodes_deg[0], 90.0)
    x = 1.0 / np.sin(np.radians(e))
    j = np.clip(np.searchsorted(-x_nodes, -x, side="right") - 1, 0, len(x_nodes) - 2)
    x0, x1 = x_nodes[j], x_nodes[j + 1]
    w = np.where(x0 != x1, (x0 - x) / (x0 - x1), 0.0)
    per_node = table.loss_db[:, j] * (1.0 - w) + table.loss_db[:, j + 1] * w  # (node, elevation)
    return per_node[table.node_of_point]


def interpolate_loss(loss_db: np.ndarray, elevation_nodes_deg: np.ndarray, node, elevation_deg) -> np.ndarray:
    """Linear interpolation of ``loss_db[node, :]`` in cosec(elevation); clamped at the end nodes."""
    x_nodes = 1.0 / np.sin(np.radians(elevation_nodes_deg))  # descending
    x = 1.0 / np.sin(np.radians(np.clip(elevation_deg, elevation_nodes_deg[0], 90.0)))
    # position in ascending-elevation node array: find j with x_nodes[j] >= x >= x_nodes[j+1]
    j = np.clip(np.searchsorted(-x_nodes, -x, side="right") - 1, 0, len(x_nodes) - 2)
    x0, x1 = x_nodes[j], x_nodes[j + 1]
    w = np.where(x0 != x1, (x0 - x) / (x0 - x1), 0.0)
    return (1.0 - w) * loss_db[node, j] + w * loss_db[node, j + 1]
