"""``/api/v1/login/access-token``: OAuth2 client credentials → a short-lived bearer token (RFC 6749 §4.4).

``client_id`` is the key id and ``client_secret`` the key's secret -- in the form body, or as HTTP Basic
credentials (RFC 6749 §2.3.1); the whole key as ``client_secret`` works too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from skyfence.service.api.deps import DbDep, SettingsDep, check_key
from skyfence.service.api.routing import JsonRoute
from skyfence.service.core.problems import ProblemError
from skyfence.service.core.security import KEY_PREFIX, issue_token
from skyfence.service.schemas import Token, TokenRequest

router = APIRouter(prefix="/login", tags=["login"], route_class=JsonRoute)

_basic = HTTPBasic(auto_error=False, scheme_name="ClientCredentials", description="client_id:client_secret")


@router.post("/access-token", response_model=Token)
def create_access_token(
    form: Annotated[TokenRequest, Form()],
    db: DbDep,
    settings: SettingsDep,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)] = None,
) -> Token:
    """Exchange an API key for a bearer token (its role and scope are the key's)."""
    client_id, client_secret = form.client_id, form.client_secret
    if basic is not None:
        client_id, client_secret = basic.username, basic.password
    if not client_secret:
        raise ProblemError(
            401,
            "no client credentials (send client_id and client_secret, or HTTP Basic)",
            kind="unauthorised",
            headers={"WWW-Authenticate": 'Basic realm="skyfence"'},
        )
    full = client_secret if client_secret.startswith(KEY_PREFIX) else f"{KEY_PREFIX}{client_id}_{client_secret}"
    with db.read() as session:
        principal = check_key(session, full)
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    token, _ = issue_token(principal.key_id, settings.signing_key, lifetime)
    return Token(access_token=token, expires_in=int(lifetime.total_seconds()))
