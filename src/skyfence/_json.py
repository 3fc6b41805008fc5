"""Strict JSON for outputs: numpy scalars and arrays made plain, NaN/inf made null (RFC 8259 has no NaN), dates as
ISO 8601.  The one JSON cleaner: reports, CLI output, cache files and the audit log's canonical form use it.

>>> import numpy as np
>>> dumps({"n": np.int64(3), "share": float("nan"), "t": np.datetime64("2026-08-18T12:00")})
'{"n": 3, "share": null, "t": "2026-08-18T12:00"}'
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date
from typing import Any

__all__ = ["dumps", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays made plain, NaN/inf made ``None`` and dates ISO 8601, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date):  # also datetime and pandas.Timestamp
        return value.isoformat()
    np = sys.modules.get("numpy")  # a numpy value implies numpy is imported; never import it here
    if np is not None:
        if isinstance(value, np.ndarray):
            return [jsonable(v) for v in value.tolist()]
        if isinstance(value, np.datetime64):
            return str(value)
        if isinstance(value, np.generic):
            value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` of :func:`jsonable` ``(value)``, refusing anything that is still not strict JSON."""
    return json.dumps(jsonable(value), allow_nan=False, **options)
