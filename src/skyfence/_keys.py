"""Key paths for messages about nested files (TOML policies, scenarios, API bodies)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["key_path"]


def key_path(loc: Iterable[object]) -> str:
    """``('rules', 3, 'zone')`` -> ``rules[3].zone`` (pydantic's ``loc`` as a user writes it)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
