"""The versioned API router: every resource under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from skyfence.service.api.common import ERROR_RESPONSES
from skyfence.service.api.routes import (
    accounts,
    alerts,
    audit,
    decisions,
    ground,
    jurisdictions,
    keys,
    licences,
    login,
    operators,
    policies,
    telemetry,
    terminals,
    whitelists,
)

__all__ = ["api_router"]

api_router = APIRouter(responses=ERROR_RESPONSES)
for module in (
    login,
    keys,
    operators,
    accounts,
    terminals,
    licences,
    ground,
    whitelists,
    jurisdictions,
    policies,
    telemetry,
    decisions,
    alerts,
    audit,
):
    api_router.include_router(module.router)
