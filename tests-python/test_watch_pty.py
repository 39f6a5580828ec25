"""`vlatune job status --watch` in a real pseudo-terminal at 60, 80 and 120 columns: the screen
is captured with a terminal emulator (pyte); no line may be wider than the terminal and no stale
frame may be left on the screen, including after a resize (SIGWINCH)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

ROOT = Path(__file__).resolve().parents[1]
BINARY = Path(os.environ.get("VLATUNE_BINARY", ROOT / ".build" / "debug" / "vlatune"))
pytestmark = pytest.mark.skipif(not BINARY.exists(), reason="vlatune is not built (make build)")
CSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def environment(tmp_path: Path) -> dict[str, str]:
    # A long state directory, so checkpoint paths need shortening at every width.
    home = tmp_path / ("state-directory-with-a-long-name-" + "x" * 40) / "home"
    fake = ROOT / "Tests/Fixtures/fake_trainer.py"
    return dict(
        os.environ,
        VLATUNE_HOME=str(home),
        VLATUNE_TRAINER=f"{sys.executable} {fake} --steps 0 --step-seconds 0.04 --evals",
    )


@pytest.fixture
def job(tmp_path: Path) -> tuple[str, dict[str, str]]:
    env = environment(tmp_path)
    source = tmp_path / "source"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/make_sample_dataset.py"),
            *("--out", str(source), "--episodes", "4", "--steps", "12"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(BINARY), "dataset", "prepare", str(source), "--name", "blocks", "--quiet"],
        check=True,
        capture_output=True,
        env=env,
    )
    started = subprocess.run(
        [
            str(BINARY),
            *("job", "start", "--base-model", "tiny-vla", "--dataset", "blocks", "--max-steps"),
            *("60", "--name", "a-rather-long-experiment-name-for-the-header", "--quiet"),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return started.stdout.strip(), env


def watch(
    job_id: str, env: dict[str, str], columns: int, resize_to: int | None = None
) -> tuple[bytes, bytes, pyte.Screen, int]:
    """Runs the watch in a pty until it exits; returns the output before and after the resize,
    the emulated screen and the exit status."""
    master, slave = pty.openpty()
    set_size(slave, 24, columns)
    process = subprocess.Popen(
        [str(BINARY), "job", "status", job_id, "--watch"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = pyte.Screen(columns, 24)
    stream = pyte.ByteStream(screen)
    before, after = b"", b""
    resized = resize_to is None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # Resize once a frame with progress is on the screen (the job then runs about 2 s more).
        if not resized and b"elapsed" in before:
            set_size(master, 24, resize_to)
            screen.resize(24, resize_to)
            os.kill(process.pid, signal.SIGWINCH)
            resized = True
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the slave side closed: the watch exited
            break
        if not chunk:
            break
        stream.feed(chunk)
        if resized and resize_to is not None:
            after += chunk
        else:
            before += chunk
    os.close(master)
    return before, after, screen, process.wait(timeout=30)


def rows(output: bytes) -> list[str]:
    """The rows the output writes, escape sequences removed."""
    text = CSI.sub(b"", output).replace(b"\r", b"").decode()
    return [row for row in text.split("\n") if row]


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_every_line_fits_and_no_frame_is_left_behind(
    job: tuple[str, dict[str, str]], columns: int
) -> None:
    job_id, env = job
    output, _, screen, status = watch(job_id, env, columns)
    assert status == 0
    assert len(rows(output)) > 10, "the watch drew several frames"
    wide = [row for row in rows(output) if len(row) > columns]
    assert not wide, wide
    display = [line.rstrip() for line in screen.display]
    headers = [line for line in display if line.startswith(job_id)]
    assert len(headers) == 1, display
    assert "succeeded" in headers[0]
    text = "\n".join(display)
    assert "60/60 100%" in text and "elapsed " in text
    assert re.search(r"loss \S+ +min \S+ max \S+", text), text
    assert "best 0.05 @ 10" in text
    checkpoint = next(line for line in display if line.startswith("checkpoint 60"))
    assert "…" in checkpoint and checkpoint.endswith("step-0000060")


def test_a_resize_redraws_at_the_new_width(job: tuple[str, dict[str, str]]) -> None:
    job_id, env = job
    _, after, screen, status = watch(job_id, env, 120, resize_to=60)
    assert status == 0
    assert after, "frames were drawn after the resize"
    assert max(len(row) for row in rows(after)) <= 60
    headers = [line for line in screen.display if line.startswith(job_id)]
    assert len(headers) == 1, screen.display
