"""``python -m skyfence.service serve|audit|keys``: the service commands without the top-level CLI."""

from __future__ import annotations

import typer
from rich.markup import escape

from skyfence.cli._common import fail
from skyfence.cli.service import audit_app, keys_app, serve
from skyfence.errors import SkyfenceError

app = typer.Typer(name="skyfence-service", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.command("serve")(serve)
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")


def main() -> None:
    try:
        app()
    except SkyfenceError as error:
        fail(escape(str(error)))


if __name__ == "__main__":
    main()
