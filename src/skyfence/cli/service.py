"""``skyfence serve``, ``skyfence audit``, ``skyfence keys`` and ``skyfence alerts``: the service's own commands
(:mod:`skyfence.service.commands`), which ``python -m skyfence.service`` runs without this CLI."""

import functools
from typing import Any

from skyfence.cli._common import help_examples
from skyfence.service import commands
from skyfence.service.commands import DEFAULT_DATABASE_URL, alerts_app, audit_app, keys_app

__all__ = ["DEFAULT_DATABASE_URL", "alerts_app", "audit_app", "keys_app", "serve"]


@help_examples(
    "SKYFENCE_ENVIRONMENT=development skyfence serve --db sqlite:///out/cp.db",
    "SKYFENCE_ENVIRONMENT=development skyfence serve --reports out --port 0",
)
@functools.wraps(commands.serve)
def serve(*args: Any, **kwargs: Any) -> Any:
    # its own function (the same parameters): the examples name `skyfence serve`, not `python -m skyfence.service`
    return commands.serve(*args, **kwargs)
