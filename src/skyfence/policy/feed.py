"""The operator's availability feed: read it into statuses, and write statuses back as a feed or TOML.

**The feed.**  starlink.com/map reads ``availability.json``: ``{"admin0": {ISO2: {"status": ..., "expected":
...}}, "admin1": {mapbox-boundary-id: {...}}}``.  :func:`read_feed` imports it (a registry dataset such as
``starlink_availability_20260723`` or a file) into :class:`~skyfence.policy.model.StatusEntry` per country,
mapping raw values with :data:`~skyfence.policy.model.FEED_STATUS_MAP` and keeping the raw value and the
``expected`` text (even an empty one) so that :func:`feed_document` gives the feed's ``admin0`` back exactly.
``admin1`` entries (Mapbox boundary ids of sub-national regions in Ukraine, Georgia, Cyprus ...) are kept and
written back but not mapped: skyfence has no Mapbox boundaries.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from skyfence.data.store import note_file
from skyfence.errors import DatasetError, PolicyError
from skyfence.policy import model as m
from skyfence.policy.confine import confinement, policy_file

__all__ = ["Feed", "feed_document", "read_feed", "statuses_toml"]


@dataclass(frozen=True)
class Feed:
    """An imported availability feed."""

    source: str
    path: str
    admin0: dict[str, m.StatusEntry]
    admin1: dict[str, dict]

    def counts(self) -> dict[str, int]:
        """Countries per canonical status."""
        return dict(Counter(e.status for e in self.admin0.values()).most_common())

    def raw_counts(self) -> dict[str, int]:
        """Countries per raw feed status."""
        return dict(Counter(e.feed_status or e.status for e in self.admin0.values()).most_common())


def read_feed(
    spec: str | Path, *, base_dir: str | Path | None = None, field: str | None = None, policy_source: str | None = None
) -> Feed:
    """Import an availability feed: a registry dataset name or a JSON file (relative to ``base_dir``)."""
    from skyfence import data

    text = str(spec)
    if text in data.REGISTRY:
        if data.get(text).kind != "availability":
            raise PolicyError(f"dataset {text!r} is not an availability feed", source=policy_source, field=field)
        try:
            path = data.path(text)
        except DatasetError as error:
            raise PolicyError(str(error), source=policy_source, field=field) from None
        label = text
    else:
        path = Path(text)
        if confinement()[0]:
            path = policy_file(text, Path(base_dir or "."), field=field, source=policy_source)
        elif not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            feeds = sorted(k for k, v in data.REGISTRY.items() if v.kind == "availability")
            raise PolicyError(
                f"availability feed {text!r} not found",
                source=policy_source,
                field=field,
                hint="give a JSON file or a dataset: " + ", ".join(feeds),
            )
        label = str(path)
    source = str(path)
    note_file(path, kind="policy_statuses")  # a dataset's file is named by the dataset instead
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PolicyError(f"not valid JSON: {error.msg}", source=source, line=error.lineno) from None
    except UnicodeDecodeError:
        raise PolicyError("not a UTF-8 JSON file", source=source) from None
    if not isinstance(document, dict) or not isinstance(document.get("admin0"), dict):
        raise PolicyError(
            "not an availability feed: no 'admin0' object",
            source=source,
            hint='expected {"admin0": {"TW": {"status": ...}}}',
        )
    admin0: dict[str, m.StatusEntry] = {}
    allowed = ", ".join(m.FEED_STATUS_MAP)
    for code, record in document["admin0"].items():
        where = f"admin0.{code}"
        if not isinstance(record, dict) or "status" not in record:
            raise PolicyError("entry without a status", source=source, field=where)
        raw = record["status"]
        if raw not in m.FEED_STATUS_MAP:
            raise PolicyError(
                f"unknown status {raw!r}; known feed statuses: {allowed}", source=source, field=f"{where}.status"
            )
        extra = set(record) - {"status", "expected"}
        if extra:
            raise PolicyError(f"unexpected keys {sorted(extra)}", source=source, field=where)
        canonical = m.FEED_STATUS_MAP[raw]
        expected = record.get("expected")
        admin0[code] = m.StatusEntry.model_validate(
            {
                "status": canonical,
                "expected": None if expected is None else str(expected),
                "feed_status": None if raw == canonical else raw,
            }
        )
    admin1 = document.get("admin1") or {}
    if not isinstance(admin1, dict):
        raise PolicyError("'admin1' is not an object", source=source, field="admin1")
    return Feed(label, source, admin0, dict(admin1))


def feed_document(statuses: dict[str, m.StatusEntry], admin1: dict | None = None) -> dict:
    """Statuses back in the feed's format (raw status values, ``expected`` where the feed had one)."""
    admin0 = {}
    for code, entry in statuses.items():
        record = {"status": entry.feed_status or entry.status}
        if entry.expected is not None:
            record["expected"] = entry.expected
        admin0[code] = record
    return {"admin0": admin0, "admin1": dict(admin1 or {})}


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def statuses_toml(statuses: dict[str, m.StatusEntry], *, comment: str = "") -> str:
    """A ``[statuses.countries]`` TOML table listing every country (loads back to the same statuses)."""
    lines = [f"# {line}" for line in comment.splitlines()] if comment else []
    lines.append("[statuses.countries]")
    for code, entry in sorted(statuses.items()):
        fields = [f"status = {_toml_string(entry.status)}"]
        if entry.expected is not None:
            fields.append(f"expected = {_toml_string(entry.expected)}")
        if entry.feed_status is not None:
            fields.append(f"feed_status = {_toml_string(entry.feed_status)}")
        lines.append(f"{code} = {{ {', '.join(fields)} }}")
    return "\n".join(lines) + "\n"
