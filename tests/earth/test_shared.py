"""Geometries shared between threads (skyfence.earth.shared): concurrent point-in-polygon queries on freshly prepared
polygons do not crash the process, and every GEOS predicate in ``src/`` holds the lock or works on a geometry its
own function made.

With ``Region.contains``'s lock made a no-op, the subprocess below died (SIGABRT on glibc heap corruption, or
SIGSEGV) in 20 of 20 runs, each before its 16th round, on shapely 2.2 / GEOS 3.14.1; with the lock it runs its 30
rounds in about 3 s (see the module notes of skyfence.earth.shared).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

#: shapely's binary predicates: each uses the first geometry's prepared state when it has one.
PREDICATES = {
    "contains",
    "contains_properly",
    "contains_xy",
    "covered_by",
    "covers",
    "crosses",
    "disjoint",
    "dwithin",
    "intersects",
    "intersects_xy",
    "overlaps",
    "relate",
    "relate_pattern",
    "touches",
    "within",
}

#: Predicate calls without the lock: (module, function) -> why no other thread can reach the geometry prepared.
PRIVATE = {
    ("skyfence.earth.regions", "_shapefile_geometry"): "shells it builds from one shapefile record",
    ("skyfence.earth.cells", "_tiles"): "parts it cut itself (shapely.get_parts copies)",
    ("skyfence.earth.waters", "_tiles"): "parts it cut itself (shapely.get_parts copies)",
    ("skyfence.report.maps", "_basemap"): "an unprepared window box it made (the first geometry decides)",
    ("skyfence.detection.detectors", "_Raster.__init__"): "the band polygon the detectors' context computed for it",
    ("skyfence.sweep.timetravel", "inside_on"): "a region read from its file for this call",
    ("skyfence.sweep.timetravel", "cut_off_dots"): "the line the animation read for this frame, on its one thread",
    ("skyfence.detection.synth", "_free_cities"): "dataset synthesis: one thread (CLI, benchmarks), never the service",
    ("skyfence.detection.synth", "_points_in"): "dataset synthesis: one thread (CLI, benchmarks), never the service",
    ("skyfence.detection.synth", "_crosses_forbidden"): "dataset synthesis: one thread, never the service",
    ("skyfence.detection.synth", "_leg_inside"): "dataset synthesis: one thread, never the service",
    ("skyfence.detection.synth", "_near_inside"): "dataset synthesis: one thread, never the service",
    ("skyfence.detection.synth", "_fence_spoof.offset"): "dataset synthesis: one thread, never the service",
}


def _is_lock(item: ast.withitem) -> bool:
    node = item.context_expr
    return (isinstance(node, ast.Name) and node.id == "GEOS_LOCK") or (
        isinstance(node, ast.Attribute) and node.attr == "GEOS_LOCK"
    )


def predicate_calls() -> list[tuple[str, str, int, bool]]:
    """(module, function qualname, line, under the lock) of every ``shapely.<predicate>(...)`` call in src/."""
    found: list[tuple[str, str, int, bool]] = []
    for path in sorted((SRC / "skyfence").rglob("*.py")):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")

        def visit(node: ast.AST, scope: tuple[str, ...], locked: bool, module: str = module) -> None:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                scope = (*scope, node.name)
            if isinstance(node, ast.With | ast.AsyncWith) and any(_is_lock(i) for i in node.items):
                locked = True
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "shapely"
                and node.func.attr in PREDICATES
            ):
                found.append((module, ".".join(scope), node.lineno, locked))
            for child in ast.iter_child_nodes(node):
                visit(child, scope, locked)

        visit(ast.parse(path.read_text(encoding="utf-8")), (), False)
    return found


def test_every_predicate_holds_the_lock_or_works_on_its_own_geometry():
    calls = predicate_calls()
    assert len(calls) > 20  # the scan sees the calls (engine, regions, zones, cells, availability, ...)
    unguarded = sorted({(m, f) for m, f, _, locked in calls if not locked})
    missing = [f"{m}.{f}" for m, f in unguarded if (m, f) not in PRIVATE]
    assert not missing, f"run these predicates inside `with GEOS_LOCK:` (skyfence.earth.shared): {missing}"
    stale = [f"{m}.{f}" for m, f in PRIVATE if (m, f) not in unguarded]
    assert not stale, f"no unguarded predicate left here; drop them from PRIVATE: {stale}"
    guarded = {(m, f) for m, f, _, locked in calls if locked}
    for site in [
        ("skyfence.policy.engine", "Engine._exact"),
        ("skyfence.earth.regions", "lookup_country"),
        ("skyfence.earth.regions", "Region.contains"),
        ("skyfence.policy.zones", "Geography.zones_may_overlap"),
    ]:
        assert site in guarded


_CONCURRENT = """
import sys, threading
import numpy as np
import shapely
from skyfence.earth.regions import Region

rng = np.random.default_rng(7)
n_vertices, n_threads = 20_000, 4
angles = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
lat, lon = rng.uniform(-12.0, 12.0, 2000), rng.uniform(-12.0, 12.0, 2000)
for round_ in range(int(sys.argv[1])):
    radius = 10.0 + rng.random(n_vertices)
    star = shapely.Polygon(np.column_stack((radius * np.cos(angles), radius * np.sin(angles))))
    region = Region("star", "XX", "custom", star, source="test")  # never queried: its indexes are not built yet
    barrier = threading.Barrier(n_threads)
    results = [None] * n_threads

    def ask(k):
        barrier.wait()
        results[k] = region.contains(lat, lon)

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = shapely.contains_xy(shapely.Polygon(star.exterior), lon, lat)
    assert all(np.array_equal(r, expected) for r in results), round_
print("ok")
"""


def test_threads_querying_a_fresh_shared_polygon_do_not_crash_the_process():
    ran = subprocess.run(
        [sys.executable, "-c", _CONCURRENT, "30"], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0 and ran.stdout.strip() == "ok", (ran.returncode, ran.stderr[-2000:])
