"""Progress of long runs: a bar per unit of work on a terminal, plain lines on stderr otherwise."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

from skyfence.cli._common import err_console

__all__ = ["PlainSteps", "UnitProgress", "unit_progress"]


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


class PlainSteps:
    """The progress of :func:`skyfence.cli._common.steps_progress` when stdout is not a terminal (a pipe, a file,
    CI): plain lines on stderr, so stdout stays clean and a long run is not silent.

    A line at most every ``every_s`` seconds while a task advances (steps done, of how many, seconds so far) and,
    if any was printed, one when it ends: a run of a few seconds prints nothing, and an error found early stays the
    only line on stderr. The same calls as the rich ``Progress`` it stands in for.
    """

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._tasks: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> PlainSteps:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            for task in self._tasks.values():
                self._finish(task)

    @staticmethod
    def _line(text: str) -> None:
        sys.stderr.write(f"skyfence: {text}\n")
        sys.stderr.flush()

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        for task in self._tasks.values():  # one task at a time: a new one ends the one before
            self._finish(task)
        task_id = len(self._tasks)
        now = time.monotonic()
        self._tasks[task_id] = {"what": description, "total": total, "done": 0.0, "start": now, "last": now}
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, completed=self._tasks[task_id]["done"] + advance)

    def update(self, task_id: int, *, completed: float | None = None, **fields: Any) -> None:
        task = self._tasks[task_id]
        if completed is None or task.get("ended"):
            return
        task["done"] = completed
        now = time.monotonic()
        if now - task["last"] >= self.every_s:
            task["last"], task["printed"] = now, True
            total = task["total"]
            done = f"{int(completed):,}/{int(total):,} steps" if total else f"{int(completed):,} steps"
            self._line(f"{task['what']}: {done}, {now - task['start']:.0f} s")

    def _finish(self, task: dict[str, Any]) -> None:
        if not task.get("ended"):
            task["ended"] = True
            if task.get("printed"):
                self._line(f"{task['what']}: done in {time.monotonic() - task['start']:.1f} s")
