"""Atomic file output (a reader never sees a half-written file; large tables written a row group at a time) and the
one reader of a user's table files."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "atomic_outputs",
    "atomic_path",
    "check_table_file",
    "clean_stale_staging",
    "name_output",
    "read_table",
    "write_parquet",
]

_PARQUET_MAGIC = b"PAR1"


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for row in status:
                if row.startswith("Umask:"):
                    return int(row.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no portable read-only way; restore at once
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------------------------
# Staging names carry their owner, so a later run can tell a killed run's leftovers from a live run's work
# ---------------------------------------------------------------------------------------------------------------

#: ``.<name>.owner-<pid>-<boot>-<start>-<random>.partial`` (folders) or ``.part`` (files): the process id, the
#: first 8 hex digits of the kernel's boot id (another boot or machine: never judged) and the process's start time
#: in clock ticks since boot (a reused process id is not the owner).
_OWNED = re.compile(r"^\.(?P<name>.+)\.owner-(?P<pid>\d+)-(?P<boot>[0-9a-z]+)-(?P<start>\d+)-[^.]+\.(?:partial|part)$")
_CLEANED: set[str] = set()


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:8] or "noboot"
    except OSError:
        return "noboot"


def _start_ticks(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot, ``/proc/PID/stat`` field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (ValueError, IndexError):
        return None


def _owner_prefix(name: str) -> str:
    return f".{name}.owner-{os.getpid()}-{_boot_id()}-{_start_ticks(os.getpid()) or 0}-"


def _alive(pid: int, start: int) -> bool:
    """Whether process ``pid``, started at ``start`` ticks (0: unknown), still runs on this boot."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    now = _start_ticks(pid)
    return not (start and now is not None and now != start)  # a reused pid is another process


def clean_stale_staging(parent: Path) -> list[Path]:
    """Remove the staging folders and files (``.<name>.owner-...partial`` / ``.part``) in ``parent`` whose owning
    process is gone -- a run killed with ``kill -9`` or by the OOM killer -- and say so on stderr in one line.

    One owned by a live process, or made on another boot or machine (its owner cannot be judged), or without an
    owner in its name (written by an older skyfence) is left alone.  Each folder is looked at once per process.
    """
    import shutil
    import sys

    key = str(parent.resolve()) if parent.exists() else str(parent)
    if key in _CLEANED:
        return []
    _CLEANED.add(key)
    boot = _boot_id()
    removed: list[Path] = []
    size = 0
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(".") and e.name.endswith((".partial", ".part"))]
    except OSError:
        return []
    for entry in entries:
        match = _OWNED.match(entry.name)
        if match is None or match["boot"] != boot or boot == "noboot":
            continue
        if _alive(int(match["pid"]), int(match["start"])):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                size += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                shutil.rmtree(path)
            else:
                size += entry.stat(follow_symlinks=False).st_size
                path.unlink()
        except OSError:
            continue  # not ours to remove after all (permissions): leave it
        removed.append(path)
    if removed:
        names = ", ".join(p.name for p in removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
        sys.stderr.write(
            f"note: removed {len(removed)} staging folder(s)/file(s) of killed runs in {parent} ({names}; "
            f"{size / 1e6:.1f} MB)\n"
        )
    return removed


# ---------------------------------------------------------------------------------------------------------------
# A write error names the output it was writing
# ---------------------------------------------------------------------------------------------------------------

_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)


def name_output(error: OSError, target: str | os.PathLike[str], *, staging: Path | None = None) -> OSError:
    """Make ``error`` (raised while writing the output ``target``) name it: an error without a file name (a full
    disk seen by pyarrow, a failed ``write``) gets ``target``; one naming a file inside the hidden ``staging``
    folder gets the file it was to become in ``target``.  ``error.output`` marks it for the CLI's one line
    (:func:`skyfence._console.run_app`); ``errno``/``strerror`` are filled from a library's "[errno 28]" text."""
    if getattr(error, "output", None) is not None:
        return error
    where = Path(target)
    if error.filename is not None and staging is not None:
        try:
            where = where / Path(os.fsdecode(error.filename)).relative_to(staging)
        except ValueError:
            where = Path(os.fsdecode(error.filename))  # another file: the error already names it
    elif error.filename is not None:
        where = Path(os.fsdecode(error.filename))
    if error.errno is None:
        found = _ERRNO_IN_TEXT.search(str(error))
        if found is not None:
            error.errno = int(found.group(1))
            error.strerror = os.strerror(error.errno)
    error.filename = str(where)
    error.output = str(where)  # type: ignore[attr-defined]
    return error


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it over ``target`` only if the block succeeds.

    The temporary file lives in the same directory so the final
    ``os.replace`` is atomic on POSIX; it is fsynced first, so after a crash
    ``target`` holds either the old or the new content.  On error it is
    removed and ``target`` is left as it was.  The new file keeps the old
    file's permissions, or gets the usual ones (0666 less the umask).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=_owner_prefix(target.name), suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        yield tmp_path
        os.chmod(tmp_path, mode)  # mkstemp makes 0600 files
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(error, OSError):
            if error.filename is not None and Path(os.fsdecode(error.filename)) == tmp_path:
                error.filename = None  # the hidden temporary file: name the output it was to become
            name_output(error, target)
        raise


@contextlib.contextmanager
def atomic_outputs(target_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh staging folder; on success move every file in it into ``target_dir``.

    On error the staging folder is deleted and ``target_dir`` keeps exactly
    what it had: a failed run never leaves a half set of outputs.  The staging folder's name records its owner
    (:func:`clean_stale_staging` removes a killed run's); an ``OSError`` names ``target_dir``, or the file in it
    being written, never the hidden staging folder (:func:`name_output`).
    """
    import shutil

    target = Path(target_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=_owner_prefix(target.name), suffix=".partial", dir=target.parent))
    try:
        yield staging
        target.mkdir(parents=True, exist_ok=True)
        for item in sorted(staging.rglob("*")):
            if item.is_file():
                destination = target / item.relative_to(staging)
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, destination)
    except OSError as error:
        name_output(error, target, staging=staging)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _parquet_problem(path: Path) -> str | None:
    """What makes ``path`` not a Parquet file (empty, no ``PAR1`` magic bytes at both ends), or None."""
    size = path.stat().st_size
    if size == 0:
        return "is empty (0 bytes), not a Parquet file"
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    if size < 12 or head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
        return "is not a Parquet file (its PAR1 magic bytes are missing)"
    return None


def check_table_file(path: Path, *, what: str, formats: tuple[str, ...] = (".parquet", ".csv")) -> None:
    """The checks of :func:`read_table` before reading (exists, a file, a known suffix, Parquet magic bytes)."""
    from skyfence.errors import InputError

    allowed = " or ".join(formats)
    if path.is_dir():
        raise InputError(f"is a folder, not a {what} file", source=str(path), hint=f"give a {allowed} file")
    if not path.is_file():
        raise InputError(f"no such {what} file", source=str(path), hint=f"give a {allowed} file")
    suffix = path.suffix.lower()
    if suffix not in formats:
        raise InputError(f"unknown {what} format {suffix!r}", source=str(path), hint=f"use {allowed}")
    if suffix == ".parquet":
        problem = _parquet_problem(path)
        if problem is not None:
            hint = "write it again, e.g. with DataFrame.to_parquet"
            if ".csv" in formats and path.stat().st_size:
                hint = "if it holds CSV text, name it .csv"
            raise InputError(problem, source=str(path), hint=hint)


def read_table(
    path: str | os.PathLike[str],
    *,
    what: str,
    formats: tuple[str, ...] = (".parquet", ".csv"),
    csv_options: dict[str, Any] | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """A user's table file (``.parquet`` or ``.csv``, as ``formats`` allows) as a DataFrame.

    Every way it can fail -- missing, a folder, an unknown suffix, an empty file, a CSV (or anything else) named
    ``.parquet``, a truncated Parquet file, an unparsable CSV -- is one :class:`~skyfence.errors.InputError` naming
    the file and how to fix it, never a traceback.  ``what`` names the table in messages (``fixes``, ``alerts``).
    ``columns``: read only these (Parquet).
    """
    import pandas as pd

    from skyfence.errors import InputError

    path = Path(path)
    check_table_file(path, what=what, formats=formats)
    if path.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(path, columns=columns)
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise InputError(f"cannot read Parquet: {first}", source=str(path)) from None
    if path.stat().st_size == 0:
        raise InputError("is empty (0 bytes)", source=str(path), hint="a CSV file needs a header line")
    try:
        return pd.read_csv(path, **(csv_options or {}))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(f"cannot read CSV: {first}", source=str(path)) from None


#: Rows per Parquet row group: Arrow's own default, so a table written here is the same file as ``to_parquet``'s.
ROWS_PER_GROUP = 1 << 20


def write_parquet(frame: Any, path: str | os.PathLike[str], *, rows_per_group: int = ROWS_PER_GROUP) -> None:
    """``frame.to_parquet(path, index=False)``, converted to Arrow one row group at a time.

    ``to_parquet`` converts the whole DataFrame to one Arrow table first: a second copy of the data. Here only one
    row group is converted at a time, and the file holds the same row groups, schema and metadata (pandas'
    ``PANDAS_ATTRS`` included). Write to an :func:`atomic_path`.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for lo in range(0, max(len(frame), 1), rows_per_group):
            table = pa.Table.from_pandas(frame.iloc[lo : lo + rows_per_group], preserve_index=False)
            if frame.attrs:
                metadata = {**(table.schema.metadata or {}), b"PANDAS_ATTRS": json.dumps(frame.attrs).encode()}
                table = table.replace_schema_metadata(metadata)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="snappy")
            writer.write_table(table, row_group_size=rows_per_group)
    finally:
        if writer is not None:
            writer.close()
