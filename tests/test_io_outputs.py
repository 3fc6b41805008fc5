"""Outputs written through :mod:`skyfence._io`: a killed run's hidden staging folder is removed by the next run into
the same folder (a live run's never), and a write error -- a full disk, ``> /dev/full`` -- names the output
(review 2, items 12 and 16)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skyfence import _io
from skyfence._console import _os_error_line

HOLD = textwrap.dedent(
    """
    import sys, time
    from skyfence._io import atomic_outputs
    with atomic_outputs(sys.argv[1]) as staging:
        (staging / "big.bin").write_bytes(b"x" * 100_000)
        print(staging, flush=True)
        time.sleep(120)
    """
)


def _holder(out: Path) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    staging = Path(child.stdout.readline().strip())
    assert staging.is_dir() and staging.parent == out.parent and staging.name.startswith(f".{out.name}.")
    return child, staging


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times are read from /proc")
def test_a_killed_runs_staging_folder_is_removed_and_a_live_runs_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_io, "_CLEANED", set())
    live, running = _holder(tmp_path / "other")  # first: a later holder would clean up the killed one itself
    killed, stale = _holder(tmp_path / "cov")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    killed.stdout.close()  # type: ignore[union-attr]
    older = tmp_path / ".cov.abc123.partial"  # an older skyfence's: no owner recorded, left alone
    older.mkdir()
    try:
        capsys.readouterr()
        with _io.atomic_outputs(tmp_path / "cov") as staging:
            (staging / "report.txt").write_text("done")
        err = capsys.readouterr().err
        assert not stale.exists()
        assert running.is_dir() and (running / "big.bin").is_file() and older.is_dir()
        assert (tmp_path / "cov" / "report.txt").read_text() == "done"
        assert len(err.strip().splitlines()) == 1 and stale.name in err and "killed runs" in err
        assert running.name not in err
    finally:
        live.kill()
        live.wait()
        live.stdout.close()  # type: ignore[union-attr]


def test_a_full_disk_names_the_output_not_the_staging_folder(tmp_path):
    out = tmp_path / "cov"
    # pyarrow's way: no file name, the errno only in the text
    with pytest.raises(OSError) as raised, _io.atomic_outputs(out):
        raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
    line = _os_error_line(raised.value)
    assert line == f"cannot write output {out}: No space left on device (free some disk space)"
    # a file inside the hidden staging folder is named as the file it was to become
    with pytest.raises(OSError) as raised, _io.atomic_outputs(out) as staging:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(staging / "maps" / "a.png"))
    assert _os_error_line(raised.value).startswith(f"cannot write output {out / 'maps' / 'a.png'}: No space left")
    assert ".partial" not in _os_error_line(raised.value)
    # one file (policy export, --out FILE): its hidden temporary file is not named
    target = tmp_path / "snap.toml"
    with pytest.raises(OSError) as raised, _io.atomic_path(target) as tmp:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
    assert (
        _os_error_line(raised.value) == f"cannot write output {target}: No space left on device (free some disk space)"
    )
    assert not list(tmp_path.glob(".*.part")) and not list(tmp_path.glob(".*.partial"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("json_out", [True, False])
def test_stdout_on_a_full_disk_is_one_line_naming_it(json_out):
    args = ["policy", "check", "examples/policies/real_world_2026.toml", "--lat", "25", "--lon", "121.5"]
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [sys.executable, "-m", "skyfence", *args, *(["--json"] if json_out else [])],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[1],
        )
    assert run.returncode == 1
    assert (
        run.stderr.strip() == "error: cannot write to standard output: No space left on device (free some disk space)"
    )
