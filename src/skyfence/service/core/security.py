"""API keys and bearer tokens.

An API key reads ``sfk_<key id>_<secret>``: a 16-hex-digit id (stored in clear, shown in lists and in the audit
log) and a 256-bit random secret of which only the SHA-256 is stored.  A salted slow hash is for passwords people
choose; a 256-bit random secret cannot be guessed, so one SHA-256 is enough and keeps every request cheap.  The
comparison is constant-time.

Clients send the key as ``X-API-Key: sfk_...`` or ``Authorization: Bearer sfk_...``, or exchange it at
``POST /api/v1/login/access-token`` (OAuth2 client credentials: ``client_id`` = key id, ``client_secret`` = the
secret) for a short-lived JWT (HS256) sent as ``Authorization: Bearer <jwt>``.  A token only names its key: the
key's role and scope are read from the database on every request, so revoking a key ends its tokens at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import jwt

from skyfence.service.models import utcnow

__all__ = [
    "KEY_PREFIX",
    "Principal",
    "hash_secret",
    "issue_token",
    "new_key",
    "parse_key",
    "read_token",
    "secret_matches",
]

KEY_PREFIX: Final = "sfk_"
_KEY_RE: Final = re.compile(r"^sfk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_ALGORITHM: Final = "HS256"
_AUDIENCE: Final = "skyfence-api"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id, its role and its scope (a regulator's jurisdiction, a terminal's id)."""

    key_id: str
    role: str
    jurisdiction: str | None = None
    terminal_id: int | None = None
    lineage: str | None = None

    @property
    def scope(self) -> str:
        """The idempotency-key space of this caller: its key's rotation lineage (survives rotation)."""
        return f"key:{self.lineage or self.key_id}"

    @property
    def label(self) -> str:
        """``key:<id>`` as it appears in the audit log."""
        return f"key:{self.key_id}"


def new_key() -> tuple[str, str, str]:
    """A fresh ``(key_id, secret, full_key)``."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"{KEY_PREFIX}{key_id}_{secret}"


def parse_key(value: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else ``None``."""
    match = _KEY_RE.match(value.strip())
    return None if match is None else (match.group(1), match.group(2))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Constant-time comparison of ``sha256(secret)`` with the stored digest."""
    return hmac.compare_digest(hash_secret(secret).encode("ascii"), stored_sha256.encode("ascii"))


def issue_token(key_id: str, signing_key: str, lifetime: timedelta) -> tuple[str, datetime]:
    """A signed bearer token naming ``key_id``, and when it expires."""
    now = utcnow()
    expires = now + lifetime
    claims = {"sub": key_id, "aud": _AUDIENCE, "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
    return jwt.encode(claims, signing_key, algorithm=_ALGORITHM), expires


def read_token(token: str, signing_key: str) -> str | None:
    """The key id a valid, unexpired token names, else ``None`` (a token without ``exp`` is not valid)."""
    try:
        claims = jwt.decode(
            token, signing_key, algorithms=[_ALGORITHM], audience=_AUDIENCE, options={"require": ["exp", "sub", "aud"]}
        )
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and re.fullmatch(r"[0-9a-f]{16}", subject) else None
