"""One exception tree for skyfence.

Every error a user can trigger is a :class:`SkyfenceError`; each subclass also
inherits the built-in exception it refines, so ``except ValueError`` keeps
working for callers that do not know skyfence (the h3-py habit)::

    SkyfenceError(Exception)
    ├── ElementsError(ValueError)    bad TLE / OMM record: file, line or record, field
    ├── DatasetError(OSError)        dataset unknown, missing offline, hash mismatch, download failed
    ├── RegionError(ValueError)      unknown region name, unreadable or invalid polygon
    ├── InputError(ValueError)       bad argument: time span, step, resolution, elevation mask ...
    ├── PolicyError(ValueError)      policy file or rule that cannot be evaluated
    └── AuditError(ValueError)       the control plane's audit log does not verify

    SkyfenceWarning(UserWarning)     something was served in a degraded way; the run goes on
    ├── DataWarning                  a stale live catalog, a corrupt cache copy re-downloaded
    └── RegionWarning                a region file usable only after a repair (make_valid)

An error carries *where* (``source``: a file, URL or dataset name; ``line`` or
``record``; ``field``), *what* (the message) and *how to fix it* (``hint``).
``str(error)`` renders all of it on one line, which is what the CLI prints and
what the API puts in a problem body.

Per-element failures inside a computation (a decayed satellite, an element set
SGP4 rejects) are data -- NaN plus an error code -- never exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skyfence._validation import Problem

__all__ = [
    "AuditError",
    "DataWarning",
    "DatasetError",
    "ElementsError",
    "InputError",
    "PolicyError",
    "RegionError",
    "RegionWarning",
    "SkyfenceError",
    "SkyfenceWarning",
]


class SkyfenceError(Exception):
    """Base class of every error skyfence raises on purpose.

    Parameters
    ----------
    message
        What is wrong, in one sentence without a trailing period.
    source
        File path, URL or dataset name the problem was found in.
    line, record
        1-based line number (text formats) or record number (CSV rows, JSON
        objects, XML segments) inside ``source``.
    field
        Name of the offending field, key path or argument.
    hint
        How to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.source = None if source is None else str(source)
        self.line = line
        self.record = record
        self.field = field
        self.hint = hint
        #: Every problem found, when there were several (a validator's ``Problem`` list; the message is the first).
        self.problems: list[Problem] = []
        super().__init__(self._render())

    @property
    def location(self) -> str:
        """``file:line`` / ``file record N`` / ``field`` prefix, possibly empty."""
        parts = []
        if self.source:
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
            elif self.record is not None:
                where += f" record {self.record}"
            parts.append(where)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        elif self.record is not None:
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(f"field {self.field}")
        return ": ".join(parts)

    def _render(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __str__(self) -> str:  # keep one line even if a message had newlines
        return " ".join(self._render().split())


class ElementsError(SkyfenceError, ValueError):
    """An orbital element set (TLE line, OMM record) is malformed or out of range."""


class DatasetError(SkyfenceError, OSError):
    """A dataset is unknown, unavailable offline, fails its hash check or cannot be downloaded."""


class RegionError(SkyfenceError, ValueError):
    """A region name is unknown or a polygon file cannot be read or is invalid."""


class InputError(SkyfenceError, ValueError):
    """An argument is out of range or malformed (time span, step, resolution, mask ...)."""


class PolicyError(SkyfenceError, ValueError):
    """A policy file or rule is invalid or cannot be evaluated."""


class AuditError(SkyfenceError, ValueError):
    """The audit log does not verify (a row was edited, deleted or reordered), or cannot be read."""


class SkyfenceWarning(UserWarning):
    """Base class of skyfence's warnings: the result is usable, but something was degraded or repaired."""


class DataWarning(SkyfenceWarning):
    """A dataset was served in a degraded way: a stale live catalog, a corrupt cache copy re-downloaded."""


class RegionWarning(SkyfenceWarning):
    """A region file was usable only after a repair (e.g. an invalid polygon fixed with ``make_valid``)."""
