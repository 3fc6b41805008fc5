"""``skyfence serve``, ``skyfence audit``, ``skyfence keys`` and ``skyfence alerts``: the service's own commands
(:mod:`skyfence.service.commands`), which ``python -m skyfence.service`` runs without this CLI."""

from skyfence.service.commands import DEFAULT_DATABASE_URL, alerts_app, audit_app, keys_app, serve

__all__ = ["DEFAULT_DATABASE_URL", "alerts_app", "audit_app", "keys_app", "serve"]
