"""Progress of long runs: a bar per unit of work on a terminal, plain lines on stderr otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from skyfence.cli._common import err_console

__all__ = ["UnitProgress", "unit_progress"]


class UnitProgress:
    """Shows each unit of a scenario run (see :class:`skyfence.scenario.runner.RunProgress`).

    On a terminal: one rich progress bar per unit, labelled ``[i/n] what``.  When stdout is not a terminal
    (a pipe, a file, CI): one plain line per unit start and end on stderr, so stdout stays clean.
    """

    def __init__(self, *, plain: bool) -> None:
        self.plain = plain
        self.count = 0
        self._bar: Any = None
        self._task: Any = None
        self._index = 0
        self._cached = False

    def _line(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def planned(self, units: list) -> None:
        self.count = len(units)
        if self.plain:
            self._line(f"skyfence: {self.count} unit(s) to run")
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Column

        self._bar = Progress(
            TextColumn("{task.description}", table_column=Column(ratio=3, no_wrap=True, overflow="ellipsis")),
            BarColumn(bar_width=None, table_column=Column(ratio=1)),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            expand=True,
        )
        self._bar.start()

    def started(self, unit, index: int, cached: bool) -> None:
        self._index, self._cached = index, cached
        label = f"[{index + 1}/{self.count}] {unit.label}"
        if self.plain:
            if not cached:
                self._line(f"{label} ...")
            return
        if self._bar is not None:
            self._task = self._bar.add_task(label + (" (cached)" if cached else ""), total=unit.steps)

    def advance(self, steps: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, steps)

    def finished(self, unit, seconds: float) -> None:
        label = f"[{self._index + 1}/{self.count}] {unit.label}"
        if self.plain:
            self._line(f"{label}: " + ("from the cache" if self._cached else f"done in {seconds:.1f} s"))
            return
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=unit.steps)

    def note(self, text: str) -> None:
        """A step outside the units (e.g. drawing the report)."""
        if self.plain:
            self._line(f"skyfence: {text}")
        elif self._bar is not None:
            self._bar.add_task(text, total=None)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@contextlib.contextmanager
def unit_progress(*, plain: bool | None = None) -> Iterator[UnitProgress]:
    """A :class:`UnitProgress`, plain when stdout is not a terminal (unless ``plain`` says otherwise)."""
    progress = UnitProgress(plain=not sys.stdout.isatty() if plain is None else plain)
    try:
        yield progress
    finally:
        progress.close()  # no "finished in" line: the command prints one total and says what it covers
