"""One way to name a constellation: a file, a preset, a catalog dataset of the registry or a live CelesTrak group."""

from __future__ import annotations

import difflib
from pathlib import Path

from skyfence.errors import InputError
from skyfence.orbits.constellation import Constellation

__all__ = ["load_constellation"]


def load_constellation(source: str | Path, *, skip_invalid: bool = False) -> Constellation:
    """Load ``source``: a TLE/OMM file path, a preset name (``starlink-gen1``), an elements dataset of the registry
    (``starlink_omm_20260818``, a dated catalog pinned by sha256) or ``celestrak:GROUP`` (the live catalog).

    Datasets resolve through :func:`skyfence.data.path`: the ``SKYFENCE_DATA_DIR`` mirror, the user cache or a
    download.  ``celestrak:GROUP`` is always the live catalog (the cache, re-fetched when older than a day), never
    a mirror snapshot: name the dated dataset for reproducible answers.
    """
    from skyfence import data
    from skyfence.orbits.elements import read_elements
    from skyfence.orbits.walker import PRESETS, preset

    text = str(source)
    if text.lower().startswith("celestrak:"):
        path = data.path(text.lower())
        return read_elements(path, name=text.split(":", 1)[1], skip_invalid=skip_invalid)
    if text in PRESETS:
        return preset(text)
    path = Path(text).expanduser()
    if path.exists():
        return read_elements(path, skip_invalid=skip_invalid)
    catalogs = [ds.name for ds in data.list_datasets("elements") if not ds.live]
    if text in catalogs:
        return read_elements(data.path(text), name=text, skip_invalid=skip_invalid)
    close = difflib.get_close_matches(text, [*PRESETS, *catalogs], n=3)
    hint = (
        f"did you mean {', '.join(close)}?"
        if close
        else (
            "give a TLE/OMM file, a preset (" + ", ".join(sorted(PRESETS)) + "), a dated catalog (`skyfence data list "
            "--kind elements`) or celestrak:GROUP"
        )
    )
    raise InputError(
        f"{text!r} is not a file, a preset, a catalog dataset or celestrak:GROUP", field="SOURCE", hint=hint
    )
