"""Atomic file output: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_outputs", "atomic_path"]


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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        yield tmp_path
        os.chmod(tmp_path, mode)  # mkstemp makes 0600 files
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_outputs(target_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh staging folder; on success move every file in it into ``target_dir``.

    On error the staging folder is deleted and ``target_dir`` keeps exactly
    what it had: a failed run never leaves a half set of outputs.
    """
    import shutil

    target = Path(target_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield staging
        target.mkdir(parents=True, exist_ok=True)
        for item in sorted(staging.rglob("*")):
            if item.is_file():
                destination = target / item.relative_to(staging)
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
