"""Evaluation of alerts against a labelled fleet: precision, recall, F1, false-positive rate, time to detect.

Each terminal gets one *predicted class* from its alerts, by priority: a ``drone_suspected`` alert makes it a
drone, else a ``diversion_suspected`` alert a black-market dish, else a ``spoofing_suspected`` or
``geofence_probing`` alert a spoofer, else legitimate (:data:`CLASS_KINDS`).  Precision, recall and F1 per misuse
class come from that confusion matrix (``confusion`` in the result); ``recall_any_alert`` says how many of the
class got any misuse alert at all.  The false-positive rate is the share of legitimate terminals (residential, roam,
maritime, aviation) with any alert at all.  Time to detect is counted in the terminal's own fixes: 1 means the
first fix raised the alert.  Spoofers are also reported by the distance between reported and true position
(the largest over their fixes: a spoofer that switches spoofing on and off is counted by the offset it uses), since
geometry cannot see a spoof smaller than a beam cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skyfence.detection.geo import haversine_km
from skyfence.detection.spec import CLASSES, LEGIT_CLASSES, MISUSE_CLASSES
from skyfence.errors import InputError

__all__ = ["CLASS_KINDS", "evaluate", "to_markdown"]

#: Alert kinds that count as detecting each misuse class.
CLASS_KINDS = {
    "black_market": ("diversion_suspected",),
    "drone": ("drone_suspected",),
    "spoofer": ("spoofing_suspected", "geofence_probing"),
}
_PRIORITY = ("drone", "black_market", "spoofer")
_ANY_MISUSE = ("diversion_suspected", "drone_suspected", "spoofing_suspected", "geofence_probing")
#: The columns of the fixes table that evaluation reads (a reader may load only these).
FIXES_COLUMNS = ("terminal_id", "time", "lat_deg", "lon_deg", "true_class", "true_lat_deg", "true_lon_deg")


def _truth(fixes: pd.DataFrame, source: str | None) -> pd.DataFrame:
    missing = [c for c in FIXES_COLUMNS if c not in fixes.columns]
    if missing:
        raise InputError(
            f"missing truth column(s) {', '.join(missing)}",
            source=source,
            field=missing[0],
            hint="evaluate needs a labelled fleet from `skyfence fleet synth`",
        )
    classes = fixes["true_class"].astype(str)
    unknown = ~classes.isin(CLASSES)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(
            f"unknown class {classes.iloc[row]!r}",
            source=source,
            record=row + 1,
            field="true_class",
            hint="known classes: " + ", ".join(CLASSES),
        )
    offset = haversine_km(
        fixes["lat_deg"].to_numpy(),
        fixes["lon_deg"].to_numpy(),
        fixes["true_lat_deg"].to_numpy(),
        fixes["true_lon_deg"].to_numpy(),
    )
    frame = pd.DataFrame(
        {
            "terminal_id": fixes["terminal_id"].to_numpy(),
            "true_class": classes.to_numpy(),
            "offset_km": offset,
            "time": fixes["time"].to_numpy(),
        }
    )
    per = frame.groupby("terminal_id", sort=True).agg(
        true_class=("true_class", "first"),
        offset_km=("offset_km", "median"),
        max_offset_km=("offset_km", "max"),
        first_time=("time", "min"),
        n_fixes=("time", "size"),
    )
    return per


def _fix_index(fixes: pd.DataFrame, alerts: pd.DataFrame) -> np.ndarray:
    """For each alert, how many distinct fix times of its terminal are at or before the alert time."""
    times = fixes[["terminal_id", "time"]].drop_duplicates().sort_values(["terminal_id", "time"])
    term = times["terminal_id"].to_numpy()
    t = times["time"].to_numpy().view(np.int64)
    start = np.searchsorted(term, alerts["terminal_id"].to_numpy(), side="left")
    stop = np.searchsorted(term, alerts["terminal_id"].to_numpy(), side="right")
    at = alerts["time"].to_numpy().astype("datetime64[ns]").view(np.int64)
    out = np.empty(len(alerts), dtype=np.int64)
    for k in range(len(alerts)):
        out[k] = np.searchsorted(t[start[k] : stop[k]], at[k], side="right")
    return out


def evaluate(fixes: pd.DataFrame, alerts: pd.DataFrame, *, source: str | None = None) -> dict:
    """Metrics as a JSON-able dict: ``classes`` (one row per class), ``kinds``, ``legit``, ``spoofer_offsets``."""
    per = _truth(fixes, source)
    for column in ("terminal_id", "kind", "time"):
        if column not in alerts.columns:
            raise InputError(
                f"alerts have no {column} column", field=column, hint="give the alerts written by `skyfence detect`"
            )
    alerts = alerts.copy()
    alerts["fix_index"] = _fix_index(fixes, alerts) if len(alerts) else np.zeros(0, np.int64)
    alerts = alerts[alerts["terminal_id"].isin(per.index)]
    first = alerts.sort_values("time").groupby(["terminal_id", "kind"], sort=False).first().reset_index()
    cls_of = per["true_class"]
    predicted = pd.Series("legit", index=per.index, dtype=object)
    for name in reversed(_PRIORITY):
        hit = first.loc[first["kind"].isin(CLASS_KINDS[name]), "terminal_id"].unique()
        predicted[hit] = name
    rows = []
    for name in CLASSES:
        members = per.index[cls_of == name]
        n = len(members)
        row: dict = {"class": name, "terminals": n}
        any_alert = first[first["terminal_id"].isin(members)]["terminal_id"].nunique()
        if name in MISUSE_CLASSES:
            kinds = CLASS_KINDS[name]
            hits = first[first["kind"].isin(kinds)]
            flagged = set(predicted.index[predicted == name].tolist())
            tp = len(flagged & set(members.tolist()))
            precision = tp / len(flagged) if flagged else float("nan")
            recall = tp / n if n else float("nan")
            f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
            own = hits[hits["terminal_id"].isin(members)].groupby("terminal_id")
            ttd = own["fix_index"].min()
            delay_h = (own["time"].min() - per.loc[ttd.index, "first_time"]).dt.total_seconds() / 3600.0
            any_misuse = first[first["terminal_id"].isin(members) & first["kind"].isin(_ANY_MISUSE)]
            row.update(
                kinds=list(kinds),
                precision=precision,
                recall=recall,
                f1=f1,
                recall_any_alert=any_misuse["terminal_id"].nunique() / n if n else float("nan"),
                median_fixes_to_detect=float(ttd.median()) if len(ttd) else float("nan"),
                median_hours_to_detect=float(delay_h.median()) if len(delay_h) else float("nan"),
            )
        else:
            row.update(alerted=int(any_alert), false_positive_rate=any_alert / n if n else float("nan"))
        rows.append(row)
    kind_rows = []
    spoofed = set(per.index[per["max_offset_km"] > 1.0].tolist())
    targets = {
        "drone_suspected": set(per.index[cls_of == "drone"].tolist()),
        "diversion_suspected": set(per.index[cls_of.isin(["black_market", "drone"])].tolist()),
        "spoofing_suspected": spoofed,
        "geofence_probing": spoofed,
        "roaming_limit": set(),
    }
    for kind, target in targets.items():
        flagged = set(first.loc[first["kind"] == kind, "terminal_id"].tolist())
        tp = len(flagged & target)
        kind_rows.append(
            {
                "kind": kind,
                "alerted": len(flagged),
                "true": tp,
                "precision": tp / len(flagged) if flagged else float("nan"),
                "target": "drone"
                if kind == "drone_suspected"
                else "black_market or drone"
                if kind == "diversion_suspected"
                else "terminals reporting a false position"
                if kind != "roaming_limit"
                else "none in the fleet",
            }
        )
    legit = per.index[cls_of.isin(LEGIT_CLASSES)]
    legit_alerted = first[first["terminal_id"].isin(legit)]["terminal_id"].nunique()
    spoofers = per[cls_of == "spoofer"]
    flagged_spoof = set(first.loc[first["kind"] == "spoofing_suspected", "terminal_id"].tolist())
    buckets = []
    for lo, hi in ((0.0, 25.0), (25.0, 50.0), (50.0, 200.0), (200.0, np.inf)):
        sel = spoofers.index[(spoofers["max_offset_km"] >= lo) & (spoofers["max_offset_km"] < hi)]
        hit = len(set(sel.tolist()) & flagged_spoof)
        buckets.append(
            {
                "offset_km": f"{lo:g}-{hi:g}",
                "terminals": len(sel),
                "detected": hit,
                "recall": hit / len(sel) if len(sel) else float("nan"),
            }
        )
    ge50 = spoofers.index[spoofers["max_offset_km"] >= 50.0]
    confusion = pd.crosstab(cls_of, predicted).reindex(index=list(CLASSES), columns=["legit", *_PRIORITY], fill_value=0)
    return {
        "terminals": len(per),
        "confusion": {c: {p: int(confusion.loc[c, p]) for p in confusion.columns} for c in confusion.index},
        "fixes": len(fixes),
        "classes": rows,
        "kinds": kind_rows,
        "legit": {
            "terminals": len(legit),
            "alerted": int(legit_alerted),
            "false_positive_rate": legit_alerted / len(legit) if len(legit) else float("nan"),
        },
        "spoofer_offsets": buckets,
        "spoofer_recall_ge_50km": len(set(ge50.tolist()) & flagged_spoof) / len(ge50) if len(ge50) else float("nan"),
    }


def _cell(value, pct: bool = False) -> str:
    if value is None or value != value:
        return "–"
    return f"{100 * value:.2f} %" if pct else f"{value:.3f}"


def to_markdown(result: dict) -> str:
    """The result of :func:`evaluate` as Markdown tables (classes, alert kinds, spoofers by offset)."""
    lines = [
        "| class | terminals | precision | recall | F1 | recall (any misuse alert) | median fixes to detect "
        "| median hours to detect | false-positive rate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["classes"]:
        if "precision" in row:
            lines.append(
                f"| {row['class']} | {row['terminals']:,} | {_cell(row['precision'])} | "
                f"{_cell(row['recall'])} | {_cell(row['f1'])} | {_cell(row['recall_any_alert'])} | "
                f"{_cell(row['median_fixes_to_detect'])} | {_cell(row['median_hours_to_detect'])} | |"
            )
        else:
            lines.append(
                f"| {row['class']} | {row['terminals']:,} | | | | | | | "
                f"{_cell(row['false_positive_rate'], pct=True)} ({row['alerted']}) |"
            )
    legit = result["legit"]
    lines.append(
        f"| **legitimate (all four)** | {legit['terminals']:,} | | | | | | | "
        f"**{_cell(legit['false_positive_rate'], pct=True)}** ({legit['alerted']}) |"
    )
    lines += [
        "",
        "| alert kind | terminals alerted | of them true | precision | counted true when |",
        "|---|---|---|---|---|",
    ]
    for row in result["kinds"]:
        lines.append(
            f"| `{row['kind']}` | {row['alerted']:,} | {row['true']:,} | {_cell(row['precision'])} | {row['target']} |"
        )
    lines += [
        "",
        "| spoof offset (largest over the terminal's fixes) [km] | spoofers | detected | recall |",
        "|---|---|---|---|",
    ]
    for row in result["spoofer_offsets"]:
        lines.append(f"| {row['offset_km']} | {row['terminals']} | {row['detected']} | {_cell(row['recall'])} |")
    confusion = result["confusion"]
    predicted = list(next(iter(confusion.values())))
    lines += ["", "| true class \\ predicted | " + " | ".join(predicted) + " |", "|---" * (len(predicted) + 1) + "|"]
    for name, row in confusion.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[p]:,}" for p in predicted) + " |")
    return "\n".join(lines) + "\n"
