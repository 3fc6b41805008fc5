"""Fix columns: terminal fixes (a DataFrame, a dict of columns or keyword arrays) → validated arrays.

**Fixes** are columns: ``lat_deg``, ``lon_deg`` [deg] (required; ``lat``, ``lon`` also work), ``alt_m`` [m],
``speed_kmh`` [km/h], ``time`` (UTC), ``terminal``, ``registered_in`` (ISO alpha-2), ``plan``, ``whitelisted``,
``end_use``, ``days_abroad``.  Errors name a column as the input spelled it.  Missing
columns take documented defaults, listed in :attr:`Decisions.assumptions`: a fixed terminal (0 km/h, 0 m) on the
``residential`` plan, not whitelisted, registration and end use unknown, at the policy's ``as_of`` (else now), and
days abroad derived from ``terminal`` + ``time`` when both are given (else 0).  NaN or out-of-range coordinates,
speeds or altitudes, unknown plans and missing times are a :class:`~skyfence.errors.PolicyError` naming the row.

Text columns become integer codes into tables of the call (:class:`Fixes`), never of the engine, so one
:class:`~skyfence.policy.engine.Engine` serves concurrent calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from skyfence._validation import FIX_ALT_M, FIX_SPEED_KMH
from skyfence.errors import PolicyError
from skyfence.policy.clauses import _ns

if TYPE_CHECKING:
    from skyfence.policy.engine import Engine

__all__ = ["Fixes", "prepare_fixes", "read_fixes"]

_MIN_ALT_M, _MAX_ALT_M = FIX_ALT_M  # the API's range too (see there why)
_MIN_SPEED_KMH, _MAX_SPEED_KMH = FIX_SPEED_KMH


_ALIASES = {
    "lat_deg": ("lat_deg", "lat", "latitude"),
    "lon_deg": ("lon_deg", "lon", "lng", "longitude"),
    "alt_m": ("alt_m", "altitude_m", "alt"),
    "speed_kmh": ("speed_kmh", "speed"),
    "time": ("time", "timestamp", "t"),
    "terminal": ("terminal", "terminal_id"),
    "registered_in": ("registered_in", "registration", "registration_country"),
    "plan": ("plan",),
    "whitelisted": ("whitelisted", "registered"),
    "end_use": ("end_use",),
    "days_abroad": ("days_abroad",),
}


_CANONICAL = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}


def _columns(fixes, columns: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Fix columns by canonical name, and the name each was given under (errors name the user's column)."""
    found: dict[str, Any] = {}
    given: dict[str, str] = {}
    if fixes is not None:
        if not isinstance(fixes, pd.DataFrame | dict):
            fixes = pd.DataFrame(fixes)
        lowered = {str(c).lower(): c for c in (fixes.columns if isinstance(fixes, pd.DataFrame) else fixes)}
        for key, names in _ALIASES.items():
            for name in names:
                if name in lowered:
                    found[key] = fixes[lowered[name]]
                    given[key] = str(lowered[name])
                    break
    for name, value in columns.items():
        canonical = _CANONICAL.get(name)
        if canonical is None:
            raise PolicyError(f"unknown fix column {name!r}", field=name, hint="columns: " + ", ".join(_ALIASES))
        if value is not None:
            found[canonical] = value
            given[canonical] = name
    return found, given


def _is_csv(source: str | None) -> bool:
    return source is not None and source.lower().endswith(".csv")


def _where(rows: np.ndarray, source: str | None) -> str:
    """Rows (0-based positions) as a user finds them: lines of a CSV file (1-based, the header is line 1), records
    of another file (1-based), rows of an in-memory table (0-based positions, as pandas' ``iloc``)."""
    if _is_csv(source):
        return "lines " + ", ".join(str(int(r) + 2) for r in rows)
    if source is not None:
        return "records " + ", ".join(str(int(r) + 1) for r in rows)
    return "rows " + ", ".join(str(int(r)) for r in rows)


def _row_error(
    message: str, row: int, field: str, source: str | None, hint: str | None = None, *, n: int | None = None
) -> PolicyError:
    """An error about one row: a CSV file's line (1-based, counting the header), another file's record (1-based),
    an in-memory table's row (0-based); no row at all for a single value (``policy check --lat``)."""
    if n == 1 and source is None:
        return PolicyError(message, field=field, hint=hint)
    if _is_csv(source):
        return PolicyError(message, source=source, line=row + 2, field=field, hint=hint)
    if source is not None:
        return PolicyError(message, source=source, record=row + 1, field=field, hint=hint)
    return PolicyError(f"row {row}: {message}", field=field, hint=hint)


def _bad_rows_hint(bad: np.ndarray, source: str | None, shown: int = 5) -> str | None:
    """``3 bad rows in all: lines 2, 5, 9`` (the first few), or None for one."""
    rows = np.flatnonzero(bad)
    if rows.size <= 1:
        return None
    more = f" and {rows.size - shown} more" if rows.size > shown else ""
    return f"{rows.size} bad rows in all: {_where(rows[:shown], source)}{more}"


def _floats(value, n: int, field: str, source, lo: float, hi: float, unit: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        texts = np.atleast_1d(np.asarray(value, dtype=object))
        numbers = pd.to_numeric(pd.Series(texts), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(numbers) & pd.notna(texts) & (pd.Series(texts).astype(str).str.strip() != "").to_numpy()
        if not bad.any():
            raise PolicyError(f"{field} must be numbers", source=source, field=field) from None
        row = int(np.flatnonzero(bad)[0])
        raise _row_error(
            f"{field} is {texts[row]!r}, not a number",
            row,
            field,
            source,
            hint=_bad_rows_hint(bad, source) or f"give {field} in {unit}",
            n=n,
        ) from None
    array = array if array.shape == (n,) else np.broadcast_to(array, (n,)).copy()
    bad = ~(np.isfinite(array) & (array >= lo) & (array <= hi))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = array[row]
        what = ("NaN" if source is None else "empty or NaN") if np.isnan(value) else f"{value:g} {unit}"
        single = n == 1 and source is None  # one value of an option: the option names it
        raise _row_error(
            f"{f'{what} is' if single else f'{field} is {what},'} outside the valid range [{lo:g}, {hi:g}] {unit}",
            row,
            field,
            source,
            hint=_bad_rows_hint(bad, source),
            n=n,
        )
    return array


def _codes(value, n: int) -> tuple[np.ndarray, list[str]]:
    """Strings → (int32 codes, categories); None/NaN/'' → category ''.  Categoricals keep their codes (fast)."""
    if isinstance(value, str) or value is None or np.ndim(value) == 0:
        return np.zeros(n, dtype=np.int32), ["" if value is None else str(value)]
    if isinstance(value, pd.Series) and isinstance(value.dtype, pd.CategoricalDtype):
        value = value.array
    if isinstance(value, pd.Categorical):
        categories = ["" if pd.isna(c) else str(c) for c in value.categories]
        codes = np.asarray(value.codes, dtype=np.int32)
    else:
        codes, uniques = pd.factorize(
            np.asarray(value, dtype=object) if not isinstance(value, pd.Series) else value, use_na_sentinel=True
        )
        missing = pd.isna(uniques).tolist()  # one pass over the array, not one call per value
        categories = ["" if gone else str(u) for u, gone in zip(uniques, missing, strict=True)]
        codes = np.asarray(codes, dtype=np.int32)
    if (codes < 0).any():
        categories.append("")
        codes = np.where(codes < 0, len(categories) - 1, codes).astype(np.int32)
    if len(codes) != n:
        raise PolicyError(f"a column has {len(codes)} values, expected {n}")
    return codes, categories


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _booleans(value, n: int, source) -> np.ndarray:
    if isinstance(value, bool | np.bool_) or np.ndim(value) == 0:
        return np.full(n, bool(value))
    array = np.asarray(value)
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iuf":
        ok = np.isin(array, (0, 1))
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise _row_error(f"whitelisted is {array[row]!r}; use true/false or 1/0", row, "whitelisted", source, n=n)
        return array.astype(bool)
    codes, categories = _codes(value, n)
    table = np.zeros(len(categories), dtype=bool)
    for k, text in enumerate(categories):
        low = text.strip().lower()
        if low in _TRUE:
            table[k] = True
        elif low not in _FALSE:
            row = int(np.flatnonzero(codes == k)[0])
            raise _row_error(f"whitelisted is {text!r}; use true/false or 1/0", row, "whitelisted", source, n=n)
    return table[codes]


def _times(value, n: int, source) -> np.ndarray:
    """UTC times → int64 ns; naive times are UTC; a missing time is an error naming the row."""
    if isinstance(value, datetime | np.datetime64 | str | pd.Timestamp):
        value = [value] * n
    if isinstance(value, np.ndarray) and value.dtype.kind == "M":
        values = value.astype("datetime64[ns]")
    else:
        series = value if isinstance(value, pd.Series) else pd.Series(value)
        try:
            if series.dtype.kind == "M" and not isinstance(series.dtype, pd.DatetimeTZDtype):
                converted = series
            elif isinstance(series.dtype, pd.DatetimeTZDtype):
                converted = series.dt.tz_convert("UTC").dt.tz_localize(None)
            else:
                converted = pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_localize(None)
        except (ValueError, TypeError) as error:
            first = str(error).split(". ")[0].rstrip(".")  # pandas adds several sentences of advice
            raise PolicyError(
                f"time: {first}", source=source, field="time", hint="use ISO 8601 UTC times, e.g. 2026-08-22T12:00:00Z"
            ) from None
        values = converted.to_numpy(dtype="datetime64[ns]")
    if len(values) != n:
        raise PolicyError(f"time has {len(values)} values, expected {n}", source=source, field="time")
    missing = np.isnat(values)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise _row_error("time is missing", row, "time", source, hint="give every fix a UTC time", n=n)
    return np.ascontiguousarray(values.view(np.int64))


@dataclass(eq=False)
class Fixes:
    """Validated fix columns as arrays (see the module notes)."""

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    speed_kmh: np.ndarray
    time_ns: np.ndarray
    plan: np.ndarray  # uint8 code into Engine.plans
    whitelisted: np.ndarray
    registered_in: np.ndarray  # int16 code into codes (-1 unknown)
    codes: list[str]  # country codes of this call: Engine.codes, then registration countries the engine lacks
    end_use: np.ndarray  # int16 code into end_uses (-1 none)
    end_uses: list[str]
    terminal: tuple[np.ndarray, list[str]] | None
    days_abroad: np.ndarray | None
    assumptions: list[str]

    def __len__(self) -> int:
        return len(self.lat_deg)


def prepare_fixes(engine: Engine, fixes=None, *, source: str | None = None, **columns) -> Fixes:
    """Validate fix columns (see the module notes) into :class:`Fixes` for ``engine``.

    Registration countries and end uses the engine does not know get codes in this call's own tables
    (:attr:`Fixes.codes`, :attr:`Fixes.end_uses`), so the engine itself never changes.
    """
    cols, given = _columns(fixes, columns)
    if "lat_deg" not in cols or "lon_deg" not in cols:
        raise PolicyError("fixes need lat and lon columns", source=source, field="lat/lon")
    n = int(np.size(cols["lat_deg"]))
    lat = _floats(cols["lat_deg"], n, given["lat_deg"], source, -90.0, 90.0, "deg")
    lon = _floats(cols["lon_deg"], n, given["lon_deg"], source, -180.0, 180.0, "deg")
    assumptions: list[str] = []
    if "alt_m" in cols:
        alt = _floats(cols["alt_m"], n, "alt_m", source, _MIN_ALT_M, _MAX_ALT_M, "m")
    else:
        alt = np.zeros(n)
        assumptions.append("alt_m = 0 (no altitude given)")
    if "speed_kmh" in cols:
        speed = _floats(cols["speed_kmh"], n, "speed_kmh", source, _MIN_SPEED_KMH, _MAX_SPEED_KMH, "km/h")
    else:
        speed = np.zeros(n)
        assumptions.append("speed_kmh = 0 (no speed given: fixed terminals)")
    if "time" in cols:
        time_ns = _times(cols["time"], n, source)
    else:
        moment = engine.policy.as_of()
        time_ns = np.full(n, _ns(moment), dtype=np.int64)
        origin = "the policy's as_of" if engine.policy.spec.policy.as_of is not None else "now"
        assumptions.append(f"time = {moment.isoformat()} ({origin}; no time given)")
    if "plan" in cols:
        codes, categories = _codes(cols["plan"], n)
        table = np.zeros(len(categories), dtype=np.uint8)
        for k, name in enumerate(categories):
            if name not in engine.plan_code:
                row = int(np.flatnonzero(codes == k)[0])
                raise _row_error(
                    f"unknown plan {name!r}", row, "plan", source, hint="known plans: " + ", ".join(engine.plans), n=n
                )
            table[k] = engine.plan_code[name]
        plan = table[codes]
    else:
        plan = np.full(n, engine.plan_code["residential"], dtype=np.uint8)
        assumptions.append("plan = residential (no plan given)")
    if "whitelisted" in cols:
        whitelisted = _booleans(cols["whitelisted"], n, source)
    else:
        whitelisted = np.zeros(n, dtype=bool)
        assumptions.append("whitelisted = false (no whitelist flag given)")
    country_codes = list(engine.codes)
    code_index = dict(engine.code_index)
    if "registered_in" in cols:
        codes, categories = _codes(cols["registered_in"], n)
        table16 = np.full(len(categories), -1, dtype=np.int16)
        for k, name in enumerate(categories):
            code = name.strip().upper()
            if code:
                if code not in code_index:
                    country_codes.append(code)
                    code_index[code] = len(country_codes) - 1
                table16[k] = code_index[code]
        registered = table16[codes]
    else:
        registered = np.full(n, -1, dtype=np.int16)
    end_uses = list(engine.end_uses)
    if "end_use" in cols:
        codes, categories = _codes(cols["end_use"], n)
        lookup = {u: k for k, u in enumerate(end_uses)}
        table16 = np.full(len(categories), -1, dtype=np.int16)
        for k, name in enumerate(categories):
            if name.strip():
                if name.strip() not in lookup:
                    end_uses.append(name.strip())
                    lookup[name.strip()] = len(end_uses) - 1
                table16[k] = lookup[name.strip()]
        end_use = table16[codes]
    else:
        end_use = np.full(n, -1, dtype=np.int16)
    terminal = _codes(cols["terminal"], n) if "terminal" in cols else None
    days = None
    if "days_abroad" in cols:
        days = _floats(cols["days_abroad"], n, "days_abroad", source, 0.0, 1e6, "days")
    return Fixes(
        lat,
        lon,
        alt,
        speed,
        time_ns,
        plan,
        whitelisted,
        registered,
        country_codes,
        end_use,
        end_uses,
        terminal,
        days,
        assumptions,
    )


def read_fixes(path: str | Path) -> pd.DataFrame:
    """A fixes table from a ``.parquet`` or ``.csv`` file (CSV text columns stay text; empty cells stay empty)."""
    from skyfence._io import read_table

    text_columns = {"terminal": str, "registered_in": str, "plan": str, "end_use": str, "time": str}
    return read_table(
        path,
        what="fixes",
        csv_options={"dtype": text_columns, "keep_default_na": False, "na_values": {"lat": [""], "lon": [""]}},
    )
