"""``skyfence data``: list the registered datasets, show where one resolves, fetch them into the cache.

Licences travel with the data: ``list`` shows each dataset's licence, and datasets flagged
``redistribute=False`` (SpaceX's availability feeds, files without a stated licence) are marked so that
nobody re-publishes them by accident.  See :mod:`skyfence.data` for the resolution order
(``SKYFENCE_DATA_DIR`` mirror → user cache → download).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn
from rich.table import Table

from skyfence.cli._common import console, err_console, help_examples, print_json
from skyfence.cli._layout import WIDE_HELP, fits, print_wide
from skyfence.data.registry import KINDS
from skyfence.errors import DatasetError, InputError

if TYPE_CHECKING:
    from skyfence.data.registry import Dataset

__all__ = ["app"]

app = typer.Typer(
    help="Datasets (boundaries, occupied areas, gateways, availability maps, orbital elements): "
    "list them, see where they resolve, fetch them into the cache.",
    no_args_is_help=True,
)

_JSON = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _availability(info: dict[str, Any]) -> str:
    """Short text for the ``available`` column: mirror / cache / missing, with hash and freshness flags."""
    text = str(info["tier"])
    if info["sha256"] == "mismatch":
        text += " (BAD HASH)"
    elif info["tier"] == "cache" and info["live"] and info.get("stale"):
        text += " (stale)"
    return text


def _data_date(ds: Dataset, info: dict[str, Any]) -> str:
    """The data date; for a live catalog, when the cached copy was fetched."""
    if not ds.live:
        return ds.date_text
    if info["tier"] == "cache" and "fetched_at" in info:
        return f"live, fetched {info['fetched_at'][:16].replace('T', ' ')}Z"
    return "live"


def _row(ds: Dataset, info: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    """name, kind, data date, licence, availability and upstream URL of one dataset."""
    licence = ds.licence if ds.redistribute else f"{ds.licence} (no redistribution)"
    return ds.name, ds.kind, _data_date(ds, info), licence, _availability(info), ds.url


@help_examples(
    "skyfence data list",
    "skyfence data list --kind elements --wide",
)
@app.command("list")
def list_(
    as_json: _JSON = False,
    wide: Annotated[bool, typer.Option("--wide", help=WIDE_HELP)] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"Only datasets of this kind ({', '.join(KINDS)}).")
    ] = None,
) -> None:
    """List the registered datasets: kind, data date, licence, where they are available and the upstream URL."""
    from skyfence import data

    datasets = data.list_datasets(kind)
    infos = [data.where(ds.name) for ds in datasets]
    if as_json:
        print_json(
            [
                {**ds.to_dict(), "available": info["tier"], "path": info["path"], "sha256_status": info["sha256"]}
                for ds, info in zip(datasets, infos, strict=True)
            ]
        )
        return
    table = Table(title="skyfence datasets", show_lines=False)
    for column in ("name", "kind", "data date", "licence", "available", "upstream"):
        table.add_column(column, no_wrap=True, style="bold" if column == "name" else None)
    for ds, info in zip(datasets, infos, strict=True):
        table.add_row(*(escape(cell) for cell in _row(ds, info)))
    if wide:
        print_wide(table)
    elif fits(table):
        console.print(table)
    else:
        # Two columns that fold at the terminal's width: name and kind, then date, availability, licence and URL.
        table = Table(title="skyfence datasets", show_lines=True, box=box.SIMPLE_HEAD, expand=False)
        table.add_column("dataset", overflow="fold", max_width=32)
        table.add_column("data date, where it is, licence; upstream", overflow="fold")
        for ds, info in zip(datasets, infos, strict=True):
            name, kind, date, licence, available, url = _row(ds, info)
            table.add_row(
                f"[bold]{escape(name)}[/]\n{escape(kind)}",
                f"{escape(date)}; {escape(available)}; {escape(licence)}\n[dim]{escape(url)}[/]",
            )
        console.print(table)
    root = data.data_dir()
    mirror = f"{root if root is not None else '-'} [{data.mirror_origin()}]"
    for label, where_from in (("mirror", mirror), ("cache", data.cache_dir())):
        console.print(f"{label}: {where_from}", markup=False, highlight=False, overflow="fold")


@help_examples(
    "skyfence data where ne_admin0_50m",
    "skyfence data where starlink_omm_20260818 --json",
)
@app.command()
def where(
    name: Annotated[str, typer.Argument(help="Dataset name (see `skyfence data list`).")],
    as_json: _JSON = False,
) -> None:
    """Show where NAME resolves (mirror, cache or missing) without downloading anything."""
    from skyfence import data

    info = data.where(name)
    if as_json:
        print_json(info)
        return

    def plain(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    plain(info["path"] if info["path"] is not None else "(missing)")
    rows = [
        ("name", info["name"]),
        ("title", info["title"]),
        ("tier", info["tier"]),
        ("sha256", f"{info['sha256'] or '-'} (expected {info['expected_sha256'] or 'none: live data'})"),
        ("data date", "live" if info["live"] else info["data_date"]),
    ]
    if info.get("note"):
        rows.append(("note", info["note"]))
    if "fetched_at" in info:
        rows.append(("fetched", f"{info['fetched_at']} ({info.get('age_hours', '?')} h ago)"))
    if info["live"] and info["tier"] == "cache":
        rows.append(("stale", "yes" if info.get("stale") else "no"))
    rows += [
        ("licence", info["licence"] + ("" if info["redistribute"] else " (do not redistribute)")),
        ("source", info["source"]),
        ("upstream", info["url"]),
    ]
    if info.get("original"):
        rows.append(
            ("copy", f"upstream is a third party's copy ({info['copy_host']}); first published by {info['original']}")
        )
    rows.append(("mirror", info["mirror"]))
    if info["tier"] == "missing":
        rows.append(("would use", info["mirror_candidate"] or info["cache_candidate"]))
    for key, value in rows:
        plain(f"  {key:>10}: {value}")


class _ProgressBar:
    """Adapter from pooch's progress-bar protocol (``total``, ``update``, ``reset``, ``close``) to a rich task."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task
        self._total: int | None = None

    @property
    def total(self) -> int | None:
        return self._total

    @total.setter
    def total(self, value: int) -> None:
        self._total = value or None
        self._progress.update(self._task, total=self._total)

    def update(self, amount: int) -> None:
        self._progress.advance(self._task, amount)

    def reset(self) -> None:
        self._progress.update(self._task, completed=0)

    def close(self) -> None:
        self._progress.update(self._task, completed=self._total or 0)


@app.command()
def fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Dataset names (see `skyfence data list`).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download even over a valid cached copy.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Fetch every registered dataset.")] = False,
) -> None:
    """Download datasets into the user cache (hash-checked); a valid cached copy is kept unless --force."""
    from skyfence import data

    if all_ and names:
        raise InputError("give dataset names or --all, not both", field="NAMES")
    if not all_ and not names:
        raise InputError(
            "give one or more dataset names, or --all", field="NAMES", hint="`skyfence data list` shows the names"
        )
    selected = [ds.name for ds in data.list_datasets()] if all_ else [data.get(n).name for n in names or []]
    failures: list[tuple[str, DatasetError]] = []
    fetched: list[tuple[str, str]] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        for name in selected:
            task = progress.add_task(escape(name), total=None)
            try:
                target = data.fetch(name, force=force, progressbar=_ProgressBar(progress, task))
            except DatasetError as error:
                failures.append((name, error))
                progress.update(task, description=f"{escape(name)} [red]failed[/]")
                continue
            progress.update(task, total=1, completed=1)
            fetched.append((name, str(target)))
    for name, where_to in fetched:
        console.print(f"{name} -> {where_to}", markup=False, highlight=False, soft_wrap=True)
    if len(failures) == 1 and len(selected) == 1:
        raise failures[0][1]
    if failures:
        for name, failure in failures:
            err_console.print(f"{name}: {failure}", markup=False, highlight=False, soft_wrap=True)
        raise DatasetError(
            f"{len(failures)} of {len(selected)} datasets could not be fetched: {', '.join(n for n, _ in failures)}"
        )
