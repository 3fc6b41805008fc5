"""Shared pieces of the CLI: consoles, the one-line error path, small parsers."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from rich.console import Console

__all__ = ["console", "err_console", "fail", "print_json"]

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(code)


def print_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (plain, machine-readable; no colour)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
