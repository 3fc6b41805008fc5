"""The fleet spec: a TOML file saying how many terminals of each class to synthesise, where and for how long.

Every key is checked (pydantic, unknown keys refused); a bad value gives one line naming the key path, e.g.
``fleet.toml: field classes.drone.speed_kmh: ...``.  See ``examples/fleet_ukraine_week.toml``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skyfence._validation import key_path, loads_toml
from skyfence.errors import InputError

__all__ = ["CLASSES", "LEGIT_CLASSES", "MISUSE_CLASSES", "FleetSpec", "load_fleet_spec", "loads_fleet_spec"]

#: Terminal classes, legitimate first.
LEGIT_CLASSES = ("residential", "roam", "maritime", "aviation")
MISUSE_CLASSES = ("black_market", "drone", "spoofer")
CLASSES = LEGIT_CLASSES + MISUSE_CLASSES

Span = Annotated[list[float], Field(min_length=2, max_length=2)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ordered(value: list[float], lo: float, hi: float) -> list[float]:
    if not (lo <= value[0] <= value[1] <= hi):
        raise ValueError(f"needs [low, high] with {lo:g} <= low <= high <= {hi:g}, got {value}")
    return value


class FleetHeader(_Strict):
    """``[fleet]``: time span, cadence, seed and the constellation that serves the fleet."""

    name: str = "fleet"
    seed: int = Field(default=0, ge=0)
    start: datetime = datetime(2026, 8, 22, tzinfo=UTC)
    days: float = Field(default=7.0, gt=0.0, le=62.0)
    step_s: int = Field(default=60, ge=1, le=3600, description="fix interval of mobile classes [s]")
    fixed_step_s: int = Field(default=900, ge=1, le=86400, description="fix interval of fixed terminals [s]")
    constellation: str = "starlink_omm_20260818"
    min_elevation_deg: float = Field(default=25.0, ge=0.0, lt=90.0)
    beam_res: int = Field(default=5, ge=3, le=7, description="H3 resolution of a beam cell")
    beam_spill: float = Field(
        default=0.1, ge=0.0, le=0.5, description="share of fixes served by a neighbouring beam cell"
    )
    gps_noise_m: float = Field(default=5.0, ge=0.0, le=100.0)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Residential(_Strict):
    count: int = Field(default=0, ge=0)
    countries: list[Code] = ["UA", "PL", "DE", "FR", "GB", "IT", "ES", "RO", "LT", "US", "CA"]


class Roam(_Strict):
    count: int = Field(default=0, ge=0)
    countries: list[Code] = ["UA", "PL", "DE", "FR", "IT", "ES", "RO", "CZ", "AT", "US"]
    speed_kmh: Span = [60.0, 130.0]
    leg_km: Span = [80.0, 500.0]
    stop_min: Span = [20.0, 180.0]

    @field_validator("speed_kmh")
    @classmethod
    def _speed(cls, v: list[float]) -> list[float]:
        return _ordered(v, 1.0, 200.0)

    @field_validator("leg_km")
    @classmethod
    def _leg(cls, v: list[float]) -> list[float]:
        return _ordered(v, 10.0, 3000.0)

    @field_validator("stop_min")
    @classmethod
    def _stop(cls, v: list[float]) -> list[float]:
        return _ordered(v, 0.0, 1440.0)


class Maritime(_Strict):
    count: int = Field(default=0, ge=0)
    speed_kmh: Span = [20.0, 45.0]

    @field_validator("speed_kmh")
    @classmethod
    def _speed(cls, v: list[float]) -> list[float]:
        return _ordered(v, 1.0, 100.0)


class Aviation(_Strict):
    count: int = Field(default=0, ge=0)
    cruise_kmh: Span = [800.0, 900.0]
    cruise_alt_m: Span = [10000.0, 12000.0]
    countries: list[Code] = ["US", "CA", "GB", "FR", "DE", "ES", "IT", "NL", "PL", "SE", "NO", "JP", "AU", "QA"]

    @field_validator("cruise_kmh")
    @classmethod
    def _speed(cls, v: list[float]) -> list[float]:
        return _ordered(v, 300.0, 1200.0)

    @field_validator("cruise_alt_m")
    @classmethod
    def _alt(cls, v: list[float]) -> list[float]:
        return _ordered(v, 1000.0, 15000.0)


class BlackMarket(_Strict):
    count: int = Field(default=0, ge=0)
    registered_in: list[Code] = ["KZ", "KG", "AE", "GE", "AM", "AZ", "TR", "PL", "LT"]
    used_in: list[str] = ["occupied:ua:2026-08-22", "RU", "BY"]
    used_weights: list[float] = [0.7, 0.25, 0.05]
    mobile_fraction: float = Field(default=0.2, ge=0.0, le=1.0)
    mobile_speed_kmh: Span = [20.0, 80.0]
    spoof_fraction: float = Field(default=0.25, ge=0.0, le=1.0)
    spoof_offset_km: Span = [5.0, 80.0]
    account_size: Annotated[list[int], Field(min_length=2, max_length=2)] = [1, 6]

    @model_validator(mode="after")
    def _weights(self) -> BlackMarket:
        if len(self.used_weights) != len(self.used_in):
            raise ValueError("used_weights needs one weight per used_in entry")
        if any(w < 0 for w in self.used_weights) or sum(self.used_weights) <= 0:
            raise ValueError("used_weights must be >= 0 with a positive sum")
        if not 1 <= self.account_size[0] <= self.account_size[1] <= 100:
            raise ValueError("account_size needs [low, high] with 1 <= low <= high <= 100")
        return self


class Drone(_Strict):
    count: int = Field(default=0, ge=0)
    speed_kmh: Span = [100.0, 250.0]
    alt_m: Span = [100.0, 3000.0]
    climb_m_s: Span = [2.0, 10.0]
    false_speed_fraction: float = Field(default=0.7, ge=0.0, le=1.0)
    registered_in: list[Code] = ["KZ", "AE", "GE", "UA", "PL"]
    launch_from: list[str] = ["occupied:ua:2026-08-22", "RU"]
    targets: list[str] = [
        "Kyiv",
        "Kharkiv",
        "Dnipro",
        "Odesa",
        "Zaporizhzhia",
        "Sumy",
        "Poltava",
        "Kryvyi Rih",
        "Mykolaiv",
        "Chernihiv",
        "Kremenchuk",
        "Vinnytsia",
        "Lviv",
    ]
    max_range_km: float = Field(default=1500.0, gt=0.0)

    @field_validator("speed_kmh")
    @classmethod
    def _speed(cls, v: list[float]) -> list[float]:
        return _ordered(v, 20.0, 400.0)

    @field_validator("alt_m")
    @classmethod
    def _alt(cls, v: list[float]) -> list[float]:
        return _ordered(v, 0.0, 6000.0)

    @field_validator("climb_m_s")
    @classmethod
    def _climb(cls, v: list[float]) -> list[float]:
        return _ordered(v, 0.1, 30.0)


class Spoofer(_Strict):
    count: int = Field(default=0, ge=0)
    offset_km: Span = [5.0, 1000.0]
    mobile_fraction: float = Field(default=0.3, ge=0.0, le=1.0)
    toggle_fraction: float = Field(default=0.3, ge=0.0, le=1.0, description="share that switch the spoofing on and off")
    countries: list[Code] = ["UA", "PL", "DE", "RO", "LT", "FR"]

    @field_validator("offset_km")
    @classmethod
    def _offset(cls, v: list[float]) -> list[float]:
        return _ordered(v, 0.0, 5000.0)


class Classes(_Strict):
    residential: Residential = Residential()
    roam: Roam = Roam()
    maritime: Maritime = Maritime()
    aviation: Aviation = Aviation()
    black_market: BlackMarket = BlackMarket()
    drone: Drone = Drone()
    spoofer: Spoofer = Spoofer()


class FleetSpec(_Strict):
    """A whole fleet spec."""

    fleet: FleetHeader = FleetHeader()
    classes: Classes

    def counts(self) -> dict[str, int]:
        return {name: int(getattr(self.classes, name).count) for name in CLASSES}

    @model_validator(mode="after")
    def _some(self) -> FleetSpec:
        if sum(self.counts().values()) == 0:
            raise ValueError("no terminals: give classes.<class>.count > 0 for at least one class")
        return self


def _error(error: ValidationError, source: str) -> InputError:
    first = error.errors()[0]
    loc = [str(p) if not isinstance(p, int) else p for p in first["loc"]]
    where = key_path(loc) or "(top level)"
    message = first["msg"]
    hint = None
    if first["type"] == "extra_forbidden":
        if len(loc) == 2 and loc[0] == "classes":
            message = f"unknown class {loc[1]!r}"
            hint = "known classes: " + ", ".join(CLASSES)
        else:
            message = f"unknown key {loc[-1]!r}"
    return InputError(message, source=source, field=where, hint=hint)


def loads_fleet_spec(text: str, *, source: str = "<spec>") -> FleetSpec:
    """Parse and validate a fleet spec from TOML text."""
    data: Any = loads_toml(text, source=source)
    if "classes" not in data:
        raise InputError(
            "missing [classes] table", source=source, field="classes", hint="add e.g. [classes.residential] count = 100"
        )
    try:
        return FleetSpec.model_validate(data)
    except ValidationError as error:
        raise _error(error, source) from None


def load_fleet_spec(path: str | Path) -> FleetSpec:
    """Read and validate a fleet spec file."""
    path = Path(path)
    return loads_fleet_spec(path.read_text(encoding="utf-8"), source=str(path))
