"""Service settings: environment variables ``SKYFENCE_*`` (pydantic-settings), overridable by ``skyfence serve``.

The service fails closed: ``SKYFENCE_ENVIRONMENT`` unset means ``production``, and outside ``development`` it
refuses to start with a missing, well-known or low-entropy signing secret (``changethis`` is a placeholder, 40 × ``a``
is not a secret; the habit of the full-stack FastAPI template, made stricter).  Development is opt-in
(``SKYFENCE_ENVIRONMENT=development``): there a missing secret is replaced by a random one per process, so bearer
tokens simply stop working after a restart.

``/metrics`` is ``authenticated`` by default (any operator, regulator or analyst key), ``public`` on request (a
scraper on a private network) or ``off``.
"""

from __future__ import annotations

import math
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from skyfence._validation import first_problem
from skyfence.errors import InputError

__all__ = ["DEFAULT_DATABASE_URL", "WEAK_SECRETS", "Settings", "estimated_bits", "load_settings"]

#: Zero set-up: a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///skyfence.db"
#: Placeholders that must never sign a token outside development.
WEAK_SECRETS = frozenset({"changethis", "secret", "changeme", "password", "skyfence"})
_MIN_SECRET_CHARS = 32
#: A secret must take at least this many guesses, in bits, by zxcvbn's estimate (Wheeler, "zxcvbn: Low-Budget
#: Password Strength Estimation", USENIX Security 2016): repeats, sequences, keyboard walks and dictionary words count
#: for little.  zxcvbn credits a random character with log2(10) = 3.3 bits whatever its alphabet, so a 32-character
#: hex secret (128 bits) scores 94-106 and ``secrets.token_urlsafe(32)`` about 140; 80 keeps a wide margin below
#: real random secrets while ``"password" * 4 + "x"`` (13 bits) or a four-word phrase (72 bits) are refused.
_MIN_SECRET_BITS = 80.0
#: zxcvbn refuses longer inputs; a secret's first 72 characters bound its strength from below.
_ESTIMATED_CHARS = 72


def estimated_bits(value: str) -> float:
    """log2 of the guesses zxcvbn estimates an attacker needs for ``value`` (its first 72 characters)."""
    if not value:
        return 0.0
    from zxcvbn import zxcvbn  # imported here: 20 ms the CLI's start-up does not need

    return float(zxcvbn(value[:_ESTIMATED_CHARS])["guesses_log10"]) * math.log2(10.0)


PositiveFloat = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    """Everything the service reads from its environment (prefix ``SKYFENCE_``)."""

    model_config = SettingsConfigDict(env_prefix="SKYFENCE_", extra="ignore", frozen=True)

    #: Unset means production (fail closed); development must be asked for.
    environment: Literal["development", "test", "production"] = "production"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr | None = None
    access_token_expire_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    #: Token bucket per API key: sustained requests per second and burst size.
    rate_limit_per_second: PositiveFloat = 50.0
    rate_limit_burst: int = Field(100, ge=1)
    #: Request bodies above this are refused with 413 before they are parsed.
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    #: Telemetry limits by work (see core/budget.py): fixes per batch, a fix budget per key lineage shared by every
    #: worker through the database, requests in flight per key and worker -- operators, and terminals far below.
    max_batch_fixes: int = Field(10_000, ge=1, le=100_000)
    operator_fixes_per_second: PositiveFloat = 100_000.0
    operator_fix_burst: int = Field(1_000_000, ge=1)
    operator_max_in_flight: int = Field(8, ge=1)
    terminal_max_batch_fixes: int = Field(1_000, ge=1, le=100_000)
    terminal_fixes_per_second: PositiveFloat = 20.0
    terminal_fix_burst: int = Field(2_000, ge=1)
    terminal_max_in_flight: int = Field(1, ge=1)
    #: Request bodies above this many bytes queue for one of ``large_requests_in_flight`` slots per worker before
    #: they are read, so big batches cannot crowd out small posts (nor fill the memory).
    large_body_bytes: int = Field(256 * 1024, ge=1024)
    large_requests_in_flight: int = Field(2, ge=1)
    #: A terminal with this many denials within the window raises a ``repeated_denial`` alert.
    repeated_denial_threshold: int = Field(3, ge=2)
    repeated_denial_window_hours: PositiveFloat = 24.0
    #: Rule kinds whose hits are suspicious on their own (a dish on a drone, a black-market dish in a whitelist zone).
    suspicious_rule_kinds: tuple[str, ...] = ("whitelist", "motion", "export_control", "geofence")
    #: Run the behavioural detectors (drone, diversion, spoofing, roaming, geofence probing) on every ingested fix.
    detection: bool = True
    #: Directory uploaded policies may include files from (``include``, zone ``files``); unset: none.
    policy_dir: Path | None = None
    #: Seconds an SQLite writer waits for the file lock held by another process before giving up with 503.
    sqlite_busy_timeout_s: PositiveFloat = 30.0
    #: Who may read ``/metrics``: ``authenticated`` (operator, regulator or analyst keys), ``public`` or ``off``.
    metrics_access: Literal["authenticated", "public", "off"] = "authenticated"
    #: The dashboard: assess output folders it lists (``skyfence serve --reports DIR``; unset: none), the elements
    #: catalog of its satellites and coverage layers, and the gateway/PoP dataset of its ground layer.
    reports_dir: Path | None = None
    dashboard_constellation: str = "starlink_omm_20260818"
    dashboard_ground: str = "starlink_ground_stations"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "development":
            return self
        value = None if self.secret_key is None else self.secret_key.get_secret_value()
        fix = (
            f"set it to at least {_MIN_SECRET_CHARS} random characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, or run with "
            "SKYFENCE_ENVIRONMENT=development on your own machine"
        )
        if value is not None and value.lower() not in WEAK_SECRETS and len(value) < _MIN_SECRET_CHARS:
            raise ValueError(
                f"SKYFENCE_SECRET_KEY is too short in environment {self.environment!r}: {len(value)} characters, "
                f"need at least {_MIN_SECRET_CHARS} ({fix})"
            )
        if value is None or value.lower() in WEAK_SECRETS:
            raise ValueError(
                f"SKYFENCE_SECRET_KEY is missing or a placeholder in environment {self.environment!r} ({fix})"
            )
        if estimated_bits(value) < _MIN_SECRET_BITS:
            raise ValueError(
                f"SKYFENCE_SECRET_KEY is too predictable in environment {self.environment!r}: guessable in about "
                f"2^{estimated_bits(value):.0f} tries (zxcvbn), at least 2^{_MIN_SECRET_BITS:.0f} needed ({fix})"
            )
        return self

    @cached_property
    def signing_key(self) -> str:
        """The key that signs bearer tokens (random per process in development when unset)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return secrets.token_urlsafe(48)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with ``overrides`` on top; a bad value is one :class:`InputError` line."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as error:
        problem = first_problem(error, echo_input=False)  # settings hold secrets: never repeat a value
        key = problem.field.split(".")[0].split("[")[0]
        if key and key not in clean:  # from the environment: name the variable the user set
            prefix = str(Settings.model_config.get("env_prefix", ""))
            raise InputError(
                problem.message, source="environment", field=f"{prefix}{key}".upper(), hint=problem.hint
            ) from None
        raise InputError(problem.message, field=problem.field or None, hint=problem.hint) from None
