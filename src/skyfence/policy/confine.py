"""Confinement of policy files: which files a policy may read, at every include depth.

A policy file on the user's own disk may name any file (``include``, zone ``files``, path-like zone ``regions``,
``statuses.source``).  A policy uploaded to the service must not read the server's files: inside
:func:`confined` every file reference the engine follows goes through :func:`policy_file`, which accepts only a
relative path, without ``..``, that resolves (symlinks followed) inside the confinement root; with no root at all
every file reference is refused.  The check runs before anything is opened and its message does not depend on
whether the file exists, so the refusal is no file-existence oracle.  Registry dataset names and region names
(``TW``, ``disputed:Crimea``, ``occupied:ua:2026-08-22``) are not files and stay allowed.

The confinement is a :class:`~contextvars.ContextVar`, so it holds for the engine's whole call tree (includes of
includes, zone files of included files, status feeds) without threading a flag through every function, and
concurrent requests in other threads are unaffected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from skyfence._validation import quoted
from skyfence.errors import PolicyError

__all__ = ["confined", "confinement", "policy_file", "shown"]


@dataclass(frozen=True)
class _Confinement:
    root: Path | None  # resolved; None: no file may be read


_current: ContextVar[_Confinement | None] = ContextVar("skyfence_policy_confinement", default=None)


@contextlib.contextmanager
def confined(root: str | Path | None) -> Iterator[None]:
    """Within the block, policy files may only be read from inside ``root`` (``None``: from nowhere)."""
    token = _current.set(_Confinement(None if root is None else Path(root).resolve()))
    try:
        yield
    finally:
        _current.reset(token)


def confinement() -> tuple[bool, Path | None]:
    """``(active, root)`` of the confinement in force."""
    state = _current.get()
    return (False, None) if state is None else (True, state.root)


def policy_file(name: str | Path, base_dir: Path, *, field: str | None, source: str | None = None) -> Path:
    """``name`` resolved against ``base_dir``; inside :func:`confined`, refused unless it stays in the root."""
    state = _current.get()
    candidate = Path(name)
    if state is None:
        return (base_dir / candidate).resolve()
    if state.root is None:
        raise PolicyError(
            f"file {quoted(shown(str(name)))} cannot be read: uploaded policies read no files on the server",
            source=source,
            field=field,
            hint="inline the zone (countries, regions, cells), name a registry dataset, "
            "or have the operator set SKYFENCE_POLICY_DIR",
        )
    resolved = (base_dir / candidate).resolve()
    if candidate.is_absolute() or ".." in candidate.parts or not resolved.is_relative_to(state.root):
        raise PolicyError(
            f"file {quoted(shown(str(name)))} is outside the policy directory",
            source=source,
            field=field,
            hint="name a file inside the policy directory by a relative path without '..' (symlinks must stay "
            "inside too), or a registry dataset",
        )
    return resolved


def shown(path: str | Path) -> str:
    """How a path appears in messages: relative to the confinement root inside :func:`confined`, else as is.

    Under confinement a path outside the root is shown by its file name only, so no server path leaks.
    """
    state = _current.get()
    text = str(path)
    if state is None:
        return text
    candidate = Path(text)
    if not candidate.is_absolute():
        return text
    if state.root is not None and candidate.is_relative_to(state.root):
        return candidate.relative_to(state.root).as_posix()
    return candidate.name
