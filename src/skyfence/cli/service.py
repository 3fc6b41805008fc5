"""``skyfence serve``, ``skyfence audit``, ``skyfence keys`` and ``skyfence alerts``: the service's own commands
(:mod:`skyfence.service.commands`), which ``python -m skyfence.service`` runs without this CLI."""

import functools
from typing import Any

from skyfence.cli._common import group_with_examples, help_examples
from skyfence.service import commands
from skyfence.service.commands import DEFAULT_DATABASE_URL

__all__ = ["DEFAULT_DATABASE_URL", "alerts_app", "audit_app", "keys_app", "serve"]


@help_examples(
    "SKYFENCE_ENVIRONMENT=development skyfence serve --db sqlite:///out/cp.db",
    "SKYFENCE_ENVIRONMENT=development skyfence serve --reports out --port 0",
)
@functools.wraps(commands.serve)
def serve(*args: Any, **kwargs: Any) -> Any:
    # its own function (the same parameters): the examples name `skyfence serve`, not `python -m skyfence.service`
    return commands.serve(*args, **kwargs)


audit_app = group_with_examples(
    commands.audit_app,
    {
        "verify": (
            "skyfence audit verify --db sqlite:///out/cp.db",
            "skyfence audit verify --db sqlite:///out/cp.db --anchor 42:9f2c... --json",
        )
    },
)
keys_app = group_with_examples(
    commands.keys_app,
    {
        "create": (
            "SKYFENCE_ENVIRONMENT=development skyfence keys create \\\n"
            "  --db sqlite:///out/cp.db --role operator --name 'Starlink NOC' \\\n"
            "  --reason onboarding",
            "skyfence keys create --db sqlite:///out/cp.db --role regulator \\\n"
            "  --jurisdiction TW --name 'MODA Taiwan' --reason review --json",
        )
    },
)
alerts_app = group_with_examples(
    commands.alerts_app,
    {
        "list": (
            "skyfence alerts list --key sfk_... --kind drone_suspected",
            "skyfence alerts list --url http://127.0.0.1:8000 --key sfk_... \\\n"
            "  --since 2026-08-22T10:00Z --status all --json",
        ),
        "ack": (
            "skyfence alerts ack 17 --reason 'survey vessel, not a drone' --key sfk_...",
            "skyfence alerts ack 17 18 19 --url http://127.0.0.1:8000 \\\n  --key sfk_... --reason checked",
        ),
    },
)
