"""``policy export`` of an active policy whose zones name polygon files (review trial 2, item 7): the polygons are
copied next to the snapshot, which then loads from any folder, after the server's policy folder is gone, and
decides as the server does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.service.conftest import auth, operator_key, service_settings

RING = {  # a 10x10 degree square with a 2x2 hole, as the review's p_hole.toml / hole.geojson
    "type": "Polygon",
    "coordinates": [
        [[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]],
        [[14, 14], [16, 14], [16, 16], [14, 16], [14, 14]],
    ],
}
POLICY = """
[policy]
name = "hole"
operator = "op"
default = "allow"

[operators.op]
name = "Operator"

[zones.ring]
files = ["polygons/hole.geojson"]

[zones.ring_again]
regions = ["polygons/hole.geojson"]

[[rules]]
id = "ring"
kind = "jurisdiction"
zone = "ring"
action = "deny"
priority = 10
reason = "inside the ring"
"""
POINTS = [(12.0, 12.0), (15.0, 15.0), (10.0, 15.0), (9.999999, 15.0), (25.0, 25.0)]


def _skyfence(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    src = str(Path(__file__).resolve().parents[2] / "src")
    environ = {**os.environ, **env, "PYTHONPATH": src, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "skyfence", *args], capture_output=True, text=True, timeout=600, cwd=cwd, env=environ
    )


def test_export_copies_polygon_files_and_the_snapshot_decides_anywhere(tmp_path, sqlite_url, service_data):
    from skyfence.service import create_app
    from skyfence.service.decisions import compile_policy

    policies = tmp_path / "policies"
    (policies / "polygons").mkdir(parents=True)
    (policies / "polygons" / "hole.geojson").write_text(json.dumps(RING), encoding="utf-8")
    key = operator_key(sqlite_url)
    app = create_app(service_settings(sqlite_url, policy_dir=policies))
    with TestClient(app, headers=auth(key)) as client:
        made = client.post("/api/v1/policies", json={"source": POLICY, "reason": "test"})
        assert made.status_code == 201, made.text
        version = made.json()["version_id"]
        assert client.post(f"/api/v1/policies/{version}/activate", json={"reason": "test"}).status_code == 200
    app.state.db.dispose()
    server = compile_policy(POLICY, policy_dir=policies).engine()
    expected = [server.explain(lat, lon).decision for lat, lon in POINTS]
    assert expected == ["deny", "allow", "deny", "allow", "allow"]

    out = tmp_path / "exp"
    out.mkdir()
    ran = _skyfence(
        "policy",
        "export",
        "--db",
        sqlite_url,
        "--out",
        "exp/snap.toml",
        cwd=tmp_path,
        env={"SKYFENCE_POLICY_DIR": str(policies)},
    )
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    copies = sorted(p.name for p in out.glob("snap.zone-*.geojson"))
    assert len(copies) == 2 and all("/" not in c for c in copies)
    assert not list(out.glob(".*")), "no staging file left behind"

    shutil.rmtree(policies)  # the server's folder is gone; the snapshot is read from elsewhere
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for (lat, lon), decision in zip(POINTS, expected, strict=True):
        ran = _skyfence(
            "policy",
            "check",
            str(out / "snap.toml"),
            "--lat",
            repr(lat),
            "--lon",
            repr(lon),
            "--json",
            cwd=elsewhere,
            env={},
        )
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["decision"] == decision, (lat, lon)


def test_export_refuses_a_polygon_file_outside_the_policy_folder(tmp_path, sqlite_url, service_data):
    import pytest

    from skyfence.errors import InputError
    from skyfence.service.snapshot import export_snapshot

    policies = tmp_path / "policies"
    (policies / "polygons").mkdir(parents=True)
    (policies / "polygons" / "hole.geojson").write_text(json.dumps(RING), encoding="utf-8")
    key = operator_key(sqlite_url)
    from skyfence.service import create_app

    app = create_app(service_settings(sqlite_url, policy_dir=policies))
    with TestClient(app, headers=auth(key)) as client:
        version = client.post("/api/v1/policies", json={"source": POLICY, "reason": "t"}).json()["version_id"]
        assert client.post(f"/api/v1/policies/{version}/activate", json={"reason": "t"}).status_code == 200
    app.state.db.dispose()
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    with pytest.raises(InputError, match=r"zones\.ring\.files\[0\]"):
        export_snapshot(sqlite_url, tmp_path / "out" / "snap.toml", policy_dir=elsewhere)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir()), "nothing half-written"
