"""One way to name a constellation: a file, a preset or a CelesTrak group."""

from __future__ import annotations

import difflib
from pathlib import Path

from skyfence.errors import InputError
from skyfence.orbits.constellation import Constellation

__all__ = ["load_constellation"]


def load_constellation(source: str | Path, *, skip_invalid: bool = False) -> Constellation:
    """Load ``source``: a TLE/OMM file path, a preset name (``starlink-gen1``) or ``celestrak:GROUP``.

    ``celestrak:GROUP`` resolves through the data registry
    (:func:`skyfence.data.path`): the ``SKYFENCE_DATA_DIR`` mirror's dated
    snapshot, the user cache (re-fetched when older than the dataset's
    ``max_age``) or a download.
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
    close = difflib.get_close_matches(text, list(PRESETS), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else (
        "give a TLE/OMM file, a preset (" + ", ".join(sorted(PRESETS)) + ") or celestrak:GROUP"
    )
    raise InputError(f"{text!r} is not a file, a preset or celestrak:GROUP", field="SOURCE", hint=hint)
