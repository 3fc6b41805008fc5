"""Run the service as a real process on 127.0.0.1 for tests: start, wait until healthy, SIGKILL, restart, stop."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m skyfence.service serve`` in a subprocess; the same port across restarts."""

    def __init__(self, db_url: str, log_path: Path, *, workers: int = 1, **settings: str) -> None:
        self.db_url = db_url
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "SKYFENCE_ENVIRONMENT": "test",
            "SKYFENCE_SECRET_KEY": secrets.token_urlsafe(48),
            "SKYFENCE_RATE_LIMIT_PER_SECOND": "100000",
            "SKYFENCE_RATE_LIMIT_BURST": "100000",
            **{f"SKYFENCE_{k.upper()}": v for k, v in settings.items()},
        }
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout_s: float = 90.0) -> None:
        assert self.process is None, "already running"
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "skyfence.service",
                    "serve",
                    "--db",
                    self.db_url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not healthy within {timeout_s} s: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing -- what a crash or the OOM killer does."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None
