"""Tables that read at 80 columns: measure a wide table and fall back to a narrow layout, or print it wide."""

from __future__ import annotations

from rich.console import Console, RenderableType

from skyfence.cli._common import console

__all__ = ["WIDE_HELP", "fits", "print_wide"]

WIDE_HELP = "One wide row per item (for a wide terminal or a file); default: fit the terminal."


def fits(renderable: RenderableType, target: Console | None = None) -> bool:
    """Whether ``renderable`` fits the console's width without squeezing any column."""
    target = target or console
    natural = target.measure(renderable, options=target.options.update_width(100_000)).maximum
    return natural <= target.width


def print_wide(renderable: RenderableType) -> None:
    """Print at the renderable's natural width, however wide (the ``--wide`` option)."""
    width = max(console.measure(renderable, options=console.options.update_width(100_000)).maximum, 20)
    wide = Console(width=width, force_terminal=console.is_terminal, no_color=console.no_color)
    wide.print(renderable)
