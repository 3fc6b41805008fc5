"""``skyfence serve`` with a port in use or a host that does not resolve: one line naming the option."""

from __future__ import annotations

import socket


def test_a_port_in_use_is_one_line(skyfence_cli, tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ran = skyfence_cli(
            "serve",
            "--db",
            f"sqlite:///{tmp_path / 's.db'}",
            "--port",
            port,
            env={"SKYFENCE_ENVIRONMENT": "development"},
        )
    assert ran.returncode != 0
    assert f"--port: 127.0.0.1:{port} is already in use" in ran.stderr and "Traceback" not in ran.stderr
    assert not (tmp_path / "s.db").exists()  # refused before the database is opened


def test_a_host_that_does_not_resolve_is_one_line(skyfence_cli, tmp_path) -> None:
    ran = skyfence_cli(
        "serve",
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
        "--host",
        "999.1.1.1",
        env={"SKYFENCE_ENVIRONMENT": "development"},
    )
    assert ran.returncode != 0
    assert "--host: cannot resolve host '999.1.1.1'" in ran.stderr and "Traceback" not in ran.stderr
