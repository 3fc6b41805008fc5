"""What a caller may read: the one confinement of every read route (docs/registry.md, "Who reads what").

A **regulator** reads only what belongs to its jurisdiction ``CC``; operators and analysts read everything
(analysts without personal data, see ``routes/accounts.py``); a terminal key reads its own terminal only.  For a
regulator of ``CC``:

==================  ==============================================================================================
resource            in scope when
==================  ==============================================================================================
account             ``accounts.country = CC`` (the country the account was opened in)
terminal            ``terminals.registration_country = CC``
fix, decision       ``fixes.country = CC``: the fix lies in CC (its country as the policy draws borders; a fix
                    at sea belongs to no regulator)
alert               ``alerts.country = CC``: the fix it was raised on lies in CC (the fix's country, copied
                    when the alert is raised)
licence             ``licences.jurisdiction = CC``
audit entry         ``audit_log.jurisdiction = CC``: the entry is about a resource of CC (set when it is written,
                    from the resource: a licence's, ownership record's, whitelist's or regulator key's
                    jurisdiction, an account's country, a terminal's registration country, a ground site's country,
                    an acknowledged alert's fix country)
==================  ==============================================================================================

So a terminal registered in TW and used in UA is seen by the regulator of TW as a terminal (its registration) and
by the regulator of UA through its fixes, decisions and alerts in UA, never the other way round: positions outside
a jurisdiction never reach its regulator.

Every rule is a column comparison that an index answers (``ix_fixes_country (country, id, terminal_id)``,
``ix_terminals_registration_country``, ``ix_accounts_country``, ``ix_alerts_country``, ``ix_licences_jurisdiction``,
``ix_audit_log_jurisdiction``), applied by :meth:`Scope.where` to list
queries and by :func:`get_in_scope` to single items.  An item outside the caller's scope is a **404**, worded
exactly like a missing one, so ids cannot be probed for existence (a 403 would confirm that the record exists).
Routes that name a jurisdiction in the path (``/jurisdictions/{cc}/service``, ``/whitelists/{cc}/...``,
``/operators/{op}/ownership/{cc}``) answer a foreign regulator 403 instead: a country code is no secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from skyfence.service.api.common import not_found
from skyfence.service.api.deps import authenticate
from skyfence.service.core.problems import ProblemError
from skyfence.service.core.security import Principal
from skyfence.service.models import Account, Alert, AuditRow, Decision, Fix, Licence, Terminal

__all__ = ["CallerScope", "Scope", "get_in_scope", "require_own_jurisdiction", "scope_of"]


def _jurisdiction_rule(model: Any, jurisdiction: str) -> ColumnElement[bool] | None:
    """The condition "``model``'s row belongs to ``jurisdiction``"; ``None`` for a model no regulator may list."""
    if model is Account:
        return Account.country == jurisdiction
    if model is Terminal:
        return Terminal.registration_country == jurisdiction
    if model is Fix:
        return Fix.country == jurisdiction
    if model is Decision:
        return Decision.country == jurisdiction
    if model is Alert:
        return Alert.country == jurisdiction
    if model is Licence:
        return Licence.jurisdiction == jurisdiction
    if model is AuditRow:
        return AuditRow.jurisdiction == jurisdiction
    return None


def _terminal_rule(model: Any, terminal_id: int) -> ColumnElement[bool] | None:
    if model is Terminal:
        return Terminal.id == terminal_id
    if model in (Fix, Decision, Alert):
        return model.terminal_id == terminal_id
    return None


@dataclass(frozen=True)
class Scope:
    """The caller's read scope: ``jurisdiction`` for a regulator, ``terminal_id`` for a terminal key, neither for
    operators and analysts (everything)."""

    principal: Principal
    jurisdiction: str | None = None
    terminal_id: int | None = None

    @property
    def confined(self) -> bool:
        return self.jurisdiction is not None or self.terminal_id is not None

    def where(self, model: Any) -> list[ColumnElement[bool]]:
        """The conditions that keep a query on ``model`` inside the scope (none for an unconfined caller)."""
        if not self.confined:
            return []
        if self.jurisdiction is not None:
            rule = _jurisdiction_rule(model, self.jurisdiction)
        else:
            assert self.terminal_id is not None
            rule = _terminal_rule(model, self.terminal_id)
        if rule is None:  # a resource with no rule for this kind of caller: it sees none of it
            raise TypeError(f"no read scope defined for {model.__name__} and role {self.principal.role}")
        return [rule]


def scope_of(principal: Principal) -> Scope:
    """The read scope of ``principal``."""
    if principal.role == "regulator":
        return Scope(principal, jurisdiction=principal.jurisdiction or "")
    if principal.role == "terminal":
        return Scope(principal, terminal_id=principal.terminal_id or 0)
    return Scope(principal)


async def _caller_scope(principal: Annotated[Principal, Depends(authenticate)]) -> Scope:
    return scope_of(principal)


#: The caller's read scope (routes still declare who may call with :func:`skyfence.service.api.deps.allow`).
CallerScope = Annotated[Scope, Depends(_caller_scope)]


def get_in_scope(session: Session, model: type[Any], key: Any, kind: str, scope: Scope) -> Any:
    """The row of ``model`` with primary key ``key`` if it exists *and* is in ``scope``; a 404 otherwise, the same
    404 either way (no existence oracle)."""
    conditions = scope.where(model)
    if not conditions:
        row = session.get(model, key)
    else:
        (pk,) = model.__mapper__.primary_key
        row = session.scalar(select(model).where(pk == key, *conditions))
    if row is None:
        raise not_found(kind, key)
    return row


def require_own_jurisdiction(principal: Principal, jurisdiction: str, what: str) -> None:
    """403 when a regulator asks for ``what`` of another jurisdiction named in the path (codes are public)."""
    if principal.role == "regulator" and principal.jurisdiction != jurisdiction:
        raise ProblemError(403, f"regulator of {principal.jurisdiction} may not view {what} of {jurisdiction}")
