"""Path traversal through policy uploads: the full matrix (issue 11, item 1).

An uploaded policy may reference only registry dataset names and files inside ``SKYFENCE_POLICY_DIR``, at every
include depth.  For every file-referencing key (``include``, ``zones.*.files``, ``zones.*.regions``,
``statuses.source``), at every include depth (the uploaded file, a file it includes, a file that one includes),
with an absolute path, a relative path that exists only in the server's working directory, a ``../`` path, a
``..`` hidden inside a path and a symlink inside the policy directory leading out, the upload is refused with 422
-- and no response contains a server path.  The same references to files inside the policy directory are accepted
(the control row), so the refusals are not an accident of a broken fixture.

``statuses`` may appear only in the uploaded file (included files hold zones and includes only), so its rows exist
at depth 0 only; deeper, the key itself is refused.  Each backend (SQLite, PostgreSQL) runs the whole matrix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import POLICY_TOML, auth, fresh_postgres_database, operator_key, service_settings

KEYS = ("include", "files", "regions", "source")
DEPTHS = (0, 1, 2)
KINDS = ("absolute", "absolute-system", "relative-cwd", "dotdot", "hidden-dotdot", "symlink")

SQUARE = {  # a small valid polygon in Taiwan
    "type": "Polygon",
    "coordinates": [[[121.0, 24.0], [121.2, 24.0], [121.2, 24.2], [121.0, 24.2], [121.0, 24.0]]],
}
FEED = {"admin0": {"TW": {"status": "available"}}}
ZONES_TOML = '[zones.extra]\ncountries = ["TW"]\n'
TARGETS = {"include": "zones.toml", "files": "area.geojson", "regions": "area.geojson", "source": "feed.json"}


def _write_targets(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zones.toml").write_text(ZONES_TOML)
    (folder / "area.geojson").write_text(json.dumps(SQUARE))
    (folder / "feed.json").write_text(json.dumps(FEED))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory, service_data) -> Iterator[tuple[TestClient, Path, Path]]:
    """(client, policy_dir, root): an app whose policy directory is ``root/policies``; the working directory
    holds valid target files too (``root/secret``), as does ``root/secret`` reached by absolute paths."""
    from skyfence.service import create_app

    root = tmp_path_factory.mktemp("srv").resolve()
    policy_dir = root / "policies"
    secret = root / "secret"
    _write_targets(policy_dir)
    _write_targets(secret)
    cwd = os.getcwd()
    os.chdir(secret)
    with contextlib.ExitStack() as stack:
        stack.callback(os.chdir, cwd)
        if request.param == "sqlite":
            url = f"sqlite:///{root / 'skyfence.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database(request.getfixturevalue("postgres_admin_url")))
        key = operator_key(url)
        app = create_app(service_settings(url, policy_dir=str(policy_dir)))
        with TestClient(app, headers=auth(key)) as client:
            yield client, policy_dir, root


def _reference(kind: str, key: str, here: Path, root: Path) -> str:
    """The string a file in ``here`` writes to reach ``kind``'s target for ``key``."""
    target = root / "secret" / TARGETS[key]
    if kind == "absolute":
        return str(target)
    if kind == "absolute-system":
        return "/etc/passwd"
    if kind == "relative-cwd":  # exists in the server's working directory, not in the policy directory
        return TARGETS[key] if key != "include" else "zones.toml"
    if kind == "dotdot":
        return os.path.relpath(target, here)
    if kind == "hidden-dotdot":
        return "x/../" + os.path.relpath(target, here)
    if kind == "symlink":
        link = here / f"link-{key}{Path(TARGETS[key]).suffix}"
        if not link.is_symlink():
            link.symlink_to(target)
        return link.name
    if kind == "inside":
        return TARGETS[key]
    raise AssertionError(kind)


def _fragment(key: str, reference: str) -> str:
    if key == "include":
        return f"include = [{json.dumps(reference)}]\n"
    if key == "files":
        return f"[zones.probe]\nfiles = [{json.dumps(reference)}]\n"
    if key == "regions":
        return f"[zones.probe]\nregions = [{json.dumps(reference)}]\n"
    return f"[statuses]\nsource = {json.dumps(reference)}\n"


def _upload_text(client, case: str, key: str, depth: int, kind: str, policy_dir: Path, root: Path) -> str:
    """The TOML uploaded for one cell of the matrix (included files are written into the policy directory)."""
    if depth == 0:
        if kind == "relative-cwd" and key == "include":
            # "zones.toml" exists in the policy directory too; name one that exists only in the cwd
            (root / "secret" / "only-in-cwd.toml").write_text(ZONES_TOML)
            reference = "only-in-cwd.toml"
        else:
            if kind == "relative-cwd" and key in ("files", "regions", "source"):
                name = f"only-in-cwd-{key}{Path(TARGETS[key]).suffix}"
                (root / "secret" / name).write_text((root / "secret" / TARGETS[key]).read_text())
                reference = name
            else:
                reference = _reference(kind, key, policy_dir, root)
        return (
            _fragment(key, reference) + POLICY_TOML
            if key == "include"
            else POLICY_TOML + "\n" + _fragment(key, reference)
        )
    case_dir = policy_dir / case
    levels = [case_dir / "d1", case_dir / "d1" / "d2"][:depth]
    for level in levels:
        _write_targets(level)
    deepest = levels[-1]
    if kind == "relative-cwd":
        name = f"only-in-cwd-{key}{Path(TARGETS[key]).suffix}"
        (root / "secret" / name).write_text((root / "secret" / TARGETS[key]).read_text())
        reference = name
    else:
        reference = _reference(kind, key, deepest, root)
    (deepest / "leaf.toml").write_text(_fragment(key, reference))
    if depth == 2:
        (levels[0] / "middle.toml").write_text('include = ["d2/leaf.toml"]\n')
        top = f"{case}/d1/middle.toml"
    else:
        top = f"{case}/d1/leaf.toml"
    return f"include = [{json.dumps(top)}]\n" + POLICY_TOML


FORBIDDEN = re.compile(r"/etc/|/tmp/|/work/|/home/|/root/|/var/|/usr/|/nonexistent|pytest-of")


def _assert_no_server_path(response, root: Path) -> None:
    text = response.text
    for secret in (str(root), os.getcwd(), str(Path.cwd().resolve())):
        assert secret not in text, text
    assert not FORBIDDEN.search(text), text


def _matrix():
    for key in KEYS:
        for depth in DEPTHS:
            if key == "source" and depth > 0:
                continue
            for kind in (*KINDS, "inside"):
                yield pytest.param(key, depth, kind, id=f"{key}-d{depth}-{kind}")


@pytest.mark.parametrize(("key", "depth", "kind"), list(_matrix()))
def test_upload_path_matrix(server, key, depth, kind):
    client, policy_dir, root = server
    case = f"case-{key}-{depth}-{kind}"
    text = _upload_text(client, case, key, depth, kind, policy_dir, root)
    response = client.post("/api/v1/policies", json={"source": text, "reason": "probe"})
    _assert_no_server_path(response, root)
    if kind == "inside":
        assert response.status_code in (200, 201), response.text
        return
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    if kind == "relative-cwd":  # resolved against the policy directory, where it does not exist
        assert "not found" in detail or "no such file" in detail, detail
    else:
        assert "outside the policy directory" in detail, detail


def test_statuses_in_an_included_file_are_refused(server):
    client, policy_dir, root = server
    (policy_dir / "with-statuses.toml").write_text('[statuses]\nsource = "/etc/passwd"\n')
    text = 'include = ["with-statuses.toml"]\n' + POLICY_TOML
    response = client.post("/api/v1/policies", json={"source": text, "reason": "probe"})
    assert response.status_code == 422, response.text
    assert "not allowed in an included file" in response.json()["detail"]
    _assert_no_server_path(response, root)


@pytest.mark.parametrize("key", KEYS)
def test_refusal_is_no_file_existence_oracle(server, key):
    """A file that exists and one that does not get the same answer (apart from the name echoed)."""
    client, _, root = server
    answers = []
    for name in ("/etc/passwd", "/etc/no-such-file-here"):
        text = POLICY_TOML + "\n" + _fragment(key, name) if key != "include" else _fragment(key, name) + POLICY_TOML
        response = client.post("/api/v1/policies", json={"source": text, "reason": "probe"})
        assert response.status_code == 422, response.text
        _assert_no_server_path(response, root)
        body = response.json()
        answers.append((body["type"], body["detail"].replace(Path(name).name, "NAME")))
    assert answers[0] == answers[1]


def test_without_a_policy_dir_no_file_is_read(tmp_path, service_data):
    """No SKYFENCE_POLICY_DIR: every file reference is refused, even a plain name in the working directory."""
    from skyfence.service import create_app

    (tmp_path / "area.geojson").write_text(json.dumps(SQUARE))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
        key = operator_key(url)
        with TestClient(create_app(service_settings(url)), headers=auth(key)) as client:
            for k in ("files", "regions", "source"):
                text = POLICY_TOML + "\n" + _fragment(k, TARGETS[k])
                response = client.post("/api/v1/policies", json={"source": text, "reason": "probe"})
                assert response.status_code == 422, response.text
                _assert_no_server_path(response, tmp_path)
            response = client.post("/api/v1/policies", json={"source": POLICY_TOML, "reason": "ok"})
            assert response.status_code == 201, response.text
    finally:
        os.chdir(cwd)


def test_problem_details_never_carry_the_working_directory(server):
    """An error deep in the engine (a bad polygon inside the policy directory) names the file relative to it."""
    client, policy_dir, root = server
    (policy_dir / "broken.geojson").write_text("{not json")
    text = POLICY_TOML + '\n[zones.probe]\nfiles = ["broken.geojson"]\n'
    response = client.post("/api/v1/policies", json={"source": text, "reason": "probe"})
    assert response.status_code == 422, response.text
    assert "broken.geojson" in response.text
    _assert_no_server_path(response, root)
