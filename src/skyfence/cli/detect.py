"""``skyfence fleet synth`` and ``skyfence detect``: labelled fleets, misuse detectors, their evaluation."""

from __future__ import annotations

import json
import sys
import time as _time
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from skyfence._io import atomic_path, write_parquet
from skyfence.cli._common import console, help_examples, print_json, renamed_options
from skyfence.errors import InputError

fleet_app = typer.Typer(help="Synthetic terminal fleets with ground-truth labels.", no_args_is_help=True)


def _read_table(path: Path, what: str, columns: list[str] | None = None):
    from skyfence._io import read_table

    return read_table(path, what=what, formats=(".parquet",), columns=columns)


def _present(path: Path, what: str, wanted: tuple[str, ...]) -> list[str]:
    """The ``wanted`` columns the table has (reading only those; the reader names any missing one)."""
    import pyarrow.parquet as pq

    from skyfence._io import check_table_file

    check_table_file(path, what=what, formats=(".parquet",))
    try:
        names = set(pq.read_schema(path).names)
    except (OSError, ValueError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(f"cannot read Parquet: {first}", source=str(path)) from None
    return [c for c in wanted if c in names]


class _Pieces:
    """A Parquet table's rows in consecutive pieces of at most ``rows`` (counting rows and distinct terminals)."""

    def __init__(self, path: Path, rows: int = 1 << 20) -> None:
        import pyarrow.parquet as pq

        from skyfence._io import check_table_file

        check_table_file(path, what="fixes", formats=(".parquet",))
        self.path = path
        try:
            self.file = pq.ParquetFile(path)
        except (OSError, ValueError) as error:
            self._fail(error)
        self.rows_per_piece = rows
        self.rows = 0
        self.terminals: set[int] = set()

    def _fail(self, error: Exception) -> NoReturn:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(f"cannot read Parquet: {first}", source=str(self.path)) from None

    @property
    def attrs(self) -> dict[str, Any]:
        stored = (self.file.schema_arrow.metadata or {}).get(b"PANDAS_ATTRS")
        return json.loads(stored) if stored else {}

    def __iter__(self):
        import numpy as np

        try:
            for batch in self.file.iter_batches(batch_size=self.rows_per_piece):
                piece = batch.to_pandas()
                self.rows += len(piece)
                if "terminal_id" in piece.columns:
                    self.terminals.update(np.unique(piece["terminal_id"].to_numpy()).tolist())
                yield piece
        except (OSError, ValueError) as error:
            self._fail(error)


@help_examples(
    ("skyfence fleet synth examples/fleet_ukraine_week.toml \\\n    --out out/fleet.parquet"),
    ("skyfence fleet synth examples/fleet_ukraine_week.toml \\\n    --out out/fleet.parquet --json"),
)
@fleet_app.command("synth")
def synth(
    spec: Path = typer.Argument(..., help="Fleet spec (TOML), e.g. examples/fleet_ukraine_week.toml."),
    out: Path = typer.Option(..., "--out", help="Fixes table to write (.parquet), atomically."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Synthesise a labelled fleet: reported columns (what terminals send) and true_* columns (ground truth)."""
    from skyfence.cli._common import steps_progress
    from skyfence.detection import load_fleet_spec, synthesize_fleet

    if out.suffix.lower() != ".parquet":
        raise InputError("the fixes file must be .parquet", field="--out")
    fleet_spec = load_fleet_spec(spec)
    started = _time.perf_counter()
    with steps_progress(disable=json_out) as bar:
        head = fleet_spec.fleet
        steps = -(-round(head.days * 86_400) // head.step_s)  # the time grid of the mobile classes
        task = bar.add_task("fleet synth (tracks, then serving satellites per time step)", total=steps)
        try:
            frame = synthesize_fleet(fleet_spec, progress=lambda n: bar.advance(task, n))
        except InputError as error:  # a key of the spec found wrong while synthesising: name the file too
            if error.source is None and error.field and not error.field.startswith("-"):
                raise InputError(error.message, source=str(spec), field=error.field, hint=error.hint) from None
            raise
    with atomic_path(out) as tmp:
        write_parquet(frame, tmp)
    counts = frame.groupby("true_class", observed=True)["terminal_id"].agg(["nunique", "size"])
    summary: dict[str, Any] = {
        "out": str(out),
        "fixes": len(frame),
        "terminals": int(frame["terminal_id"].nunique()),
        "classes": {str(k): {"terminals": int(r["nunique"]), "fixes": int(r["size"])} for k, r in counts.iterrows()},
        "start": str(frame["time"].min()),
        "end": str(frame["time"].max()),
        "seconds": round(_time.perf_counter() - started, 1),
    }
    if json_out:
        print_json(summary)
        return
    table = Table("class", "terminals", "fixes")
    for name, entry in summary["classes"].items():
        table.add_row(name, f"{entry['terminals']:,}", f"{entry['fixes']:,}")
    console.print(table)
    console.print(
        f"wrote {escape(str(out))}: {summary['fixes']:,} fixes from {summary['terminals']:,} terminals "
        f"({summary['start']} to {summary['end']}) in {summary['seconds']} s"
    )


@help_examples(
    (
        "skyfence detect out/fleet.parquet \\\n"
        "    --policy examples/policies/real_world_2026.toml --out out/alerts.parquet"
    ),
    "skyfence detect evaluate out/fleet.parquet out/alerts.parquet",
    "skyfence detect evaluate out/fleet.parquet out/alerts.parquet --markdown",
)
@renamed_options(source="--constellation")
def detect(
    args: list[str] = typer.Argument(
        ...,
        metavar="FIXES | evaluate FIXES ALERTS",
        help="A fixes table to run the detectors on, or `evaluate FIXES ALERTS`.",
    ),
    policy: Path = typer.Option(None, "--policy", help="Policy file (TOML): high-risk places, geofences, limits."),
    out: Path = typer.Option(None, "--out", help="Alerts table to write (.parquet), atomically."),
    source: str = typer.Option(
        None,
        "--source",
        help="TLE/OMM file, dataset or preset of the serving satellites (default: the fleet's, else "
        "starlink_omm_20260818).",
    ),
    gnss_jammers: Path = typer.Option(
        None,
        "--gnss-jammers",
        help="Jammer sites (TOML [\\[jammers]], as `skyfence threat jam`); band gnss_l1 ones mark where GNSS is "
        "jammed, and positions reported there are not spoofing evidence.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    markdown: bool = typer.Option(False, "--markdown", help="evaluate: print Markdown tables."),
) -> None:
    """Run the misuse detectors on fixes (with --policy and --out), or evaluate alerts against labels."""
    if args and args[0] == "evaluate":
        if len(args) != 3:
            raise InputError("evaluate needs two files", field="evaluate", hint="skyfence detect evaluate FIXES ALERTS")
        _evaluate(Path(args[1]), Path(args[2]), json_out, markdown)
        return
    if len(args) != 1:
        raise InputError("give one fixes file", field="FIXES", hint="skyfence detect FIXES --policy P --out A")
    if policy is None or out is None:
        raise InputError(
            "detect needs --policy and --out",
            field="--policy" if policy is None else "--out",
            hint="skyfence detect FIXES --policy examples/policies/real_world_2026.toml --out a.parquet",
        )
    if out.suffix.lower() != ".parquet":
        raise InputError("the alerts file must be .parquet", field="--out")
    from skyfence.detection import Context
    from skyfence.detection import detect as run
    from skyfence.detection.detectors import detect_time_sorted
    from skyfence.policy import load_policy

    fixes_path = Path(args[0])
    pieces = _Pieces(fixes_path)
    constellation = source
    if constellation is None:
        stored = pieces.attrs.get("fleet_spec")
        constellation = json.loads(stored)["fleet"]["constellation"] if stored else "starlink_omm_20260818"
    started = _time.perf_counter()
    jammers: tuple[Any, ...] = ()
    if gnss_jammers is not None:
        from skyfence.cli.threat import _read_jammers

        jammers = tuple(_read_jammers(gnss_jammers))
        if not any(j.band == "gnss_l1" for j in jammers):
            raise InputError(
                "no gnss_l1 jammer in the file", source=str(gnss_jammers), field="band", hint='band = "gnss_l1"'
            )
    context = Context(load_policy(policy), constellation=constellation, gnss_jammers=jammers)
    # a table sorted by time (as `fleet synth` writes it) is scanned a row group at a time; any other in one piece
    alerts = detect_time_sorted(pieces, context, source=str(fixes_path))
    if alerts is not None:
        n_fixes, n_terminals = pieces.rows, len(pieces.terminals)
    else:
        fixes = _read_table(fixes_path, "fixes")
        alerts = run(fixes, context, source=str(fixes_path))
        n_fixes, n_terminals = len(fixes), int(fixes["terminal_id"].nunique())
        del fixes
    seconds = _time.perf_counter() - started
    with atomic_path(out) as tmp:
        alerts.to_parquet(tmp, index=False)
    counts = alerts["kind"].value_counts().to_dict()
    summary: dict[str, Any] = {
        "out": str(out),
        "fixes": n_fixes,
        "terminals": n_terminals,
        "alerts": len(alerts),
        "by_kind": {k: int(v) for k, v in sorted(counts.items())},
        "seconds": round(seconds, 2),
        "fixes_per_s": round(n_fixes / seconds) if seconds else None,
    }
    if json_out:
        print_json(summary)
        return
    table = Table("kind", "alerts")
    for kind, n in summary["by_kind"].items():
        table.add_row(kind, f"{n:,}")
    console.print(table)
    console.print(
        f"wrote {escape(str(out))}: {summary['alerts']:,} alerts from {summary['fixes']:,} fixes of "
        f"{summary['terminals']:,} terminals in {summary['seconds']} s"
    )


def _fmt(value, pct: bool = False, digits: int = 3) -> str:
    if value is None or value != value:
        return "-"
    return f"{100 * value:.2f} %" if pct else f"{value:.{digits}f}"


def _count(value) -> str:
    """A median count: ``3``, ``2.5``."""
    return "-" if value is None or value != value else f"{value:g}"


def _evaluate(fixes_path: Path, alerts_path: Path, json_out: bool, markdown: bool) -> None:
    from skyfence.detection.evaluate import FIXES_COLUMNS, evaluate, to_markdown

    fixes = _read_table(fixes_path, "fixes", columns=_present(fixes_path, "fixes", FIXES_COLUMNS))
    alerts = _read_table(alerts_path, "alerts")
    result = evaluate(fixes, alerts, source=str(fixes_path))
    if json_out:
        print_json(result)
        return
    if markdown:
        sys.stdout.write(to_markdown(result))
        return
    # Abbreviated headers so the tables fit 80 columns (legend below); rich would cut "terminals", "precision".
    table = Table(title="Detection by class", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("class", no_wrap=True)
    for head in ("term.", "prec.", "recall", "F1", "rec.\nany", "TTD\nfixes", "TTD\nh", "FP\nrate"):
        table.add_column(head, no_wrap=True, justify="right")
    for row in result["classes"]:
        if "precision" in row:
            table.add_row(
                row["class"],
                f"{row['terminals']:,}",
                _fmt(row["precision"]),
                _fmt(row["recall"]),
                _fmt(row["f1"]),
                _fmt(row["recall_any_alert"]),
                _count(row["median_fixes_to_detect"]),
                _fmt(row["median_hours_to_detect"], digits=2),
                "",
            )
        else:
            blank = [""] * 7
            table.add_row(row["class"], f"{row['terminals']:,}", *blank, _fmt(row["false_positive_rate"], pct=True))
    console.print(table)
    console.print(
        "term. terminals; prec. precision; rec. any: recall counting any alert kind; TTD fixes, TTD h: median "
        "time to detect, in the terminal's own fixes (1 = its first fix) and in hours from its first fix; FP rate: "
        "false-positive rate (legitimate classes)",
        highlight=False,
    )
    kinds = Table("kind", "alerted", "true", "prec.", "counted true when", title="Alert kinds", box=box.SIMPLE_HEAD)
    for row in result["kinds"]:
        kinds.add_row(row["kind"], f"{row['alerted']:,}", f"{row['true']:,}", _fmt(row["precision"]), row["target"])
    console.print(kinds)
    console.print(
        "alerted: terminals with an alert of the kind; true: those of a class the kind targets", highlight=False
    )
    spoof = Table("spoof offset \\[km]", "spoofers", "detected", "recall", title="Spoofers by offset")
    for row in result["spoofer_offsets"]:
        spoof.add_row(row["offset_km"], str(row["terminals"]), str(row["detected"]), _fmt(row["recall"]))
    console.print(spoof)
    legit = result["legit"]
    console.print(
        f"legitimate terminals with any alert: {legit['alerted']:,} of {legit['terminals']:,} "
        f"({_fmt(legit['false_positive_rate'], pct=True)})"
    )
