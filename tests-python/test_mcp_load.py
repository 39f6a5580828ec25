"""`vlatune mcp` under load on raw stdio: pipelined requests, a client that reads slowly, huge
messages, odd ids. Every reply must arrive whole and parse."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINARY = Path(os.environ.get("VLATUNE_BINARY", ROOT / ".build" / "debug" / "vlatune"))
pytestmark = pytest.mark.skipif(not BINARY.exists(), reason="vlatune is not built (make build)")

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "load-client", "version": "1"},
    },
}


def server(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, VLATUNE_HOME=str(tmp_path / "home"))
    env.pop("VLATUNE_POLICY", None)
    return subprocess.Popen(
        [str(BINARY), "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def call(id_: Any, name: str, arguments: dict[str, Any]) -> bytes:
    message = {"jsonrpc": "2.0", "id": id_, "method": "tools/call"}
    message["params"] = {"name": name, "arguments": arguments}
    return json.dumps(message).encode() + b"\n"


class Lines:
    """Reads stdout line by line with a deadline, as slowly as asked."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.fd = process.stdout.fileno()
        self.buffer = b""

    def next(self, deadline: float, chunk: int = 65536, pause: float = 0.0) -> bytes:
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no reply before the deadline"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                data = os.read(self.fd, chunk)
                assert data, "the server closed stdout"
                self.buffer += data
                if pause:
                    time.sleep(pause)
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


def start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Lines]:
    process = server(tmp_path)
    assert process.stdin is not None
    process.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
    process.stdin.flush()
    lines = Lines(process)
    assert json.loads(lines.next(time.monotonic() + 30))["id"] == 0
    process.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    process.stdin.flush()
    return process, lines


def finish(process: subprocess.Popen[bytes]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=120)


def test_a_thousand_pipelined_requests_to_a_slow_reader_all_arrive_whole(tmp_path: Path) -> None:
    process, lines = start(tmp_path)
    assert process.stdin is not None
    # Sent in one go, read back in small pieces with pauses: the server's writes block and
    # resume many times, and no reply may start inside another.
    payload = b"".join(call(n, "list_finetune_jobs", {"limit": 50}) for n in range(1, 1001))
    payload += b"".join(call(n, "list_datasets", {}) for n in range(1001, 1201))
    process.stdin.write(payload)
    process.stdin.flush()
    deadline = time.monotonic() + 300
    seen = set()
    for index in range(1200):
        raw = lines.next(
            deadline, chunk=512 if index < 200 else 65536, pause=0.001 if index < 200 else 0
        )
        reply = json.loads(raw)  # every line parses
        assert reply["result"]["isError"] is False, reply
        seen.add(reply["id"])
    assert seen == set(range(1, 1201))
    finish(process)


def test_an_oversized_message_is_refused_as_it_streams_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    process, lines = start(tmp_path)
    assert process.stdin is not None
    huge = call(1, "list_datasets", {"pad": "x" * (5 << 20)})
    process.stdin.write(huge)
    process.stdin.flush()
    reply = json.loads(lines.next(time.monotonic() + 60))
    assert reply["id"] is None and reply["error"]["code"] == -32600
    assert "exceeds the limit of 4 MiB" in reply["error"]["message"]

    # Just under the limit: read whole and answered (an unknown argument), on the same session.
    large = call(2, "list_datasets", {"pad": "y" * (3 << 20)})
    process.stdin.write(large + call(3, "list_datasets", {}))
    process.stdin.flush()
    deadline = time.monotonic() + 120
    replies = {r["id"]: r for r in (json.loads(lines.next(deadline)) for _ in range(2))}
    second, third = replies[2], replies[3]
    assert second["result"]["isError"] is True
    assert "unknown argument 'pad'" in second["result"]["content"][0]["text"]
    assert third["result"]["isError"] is False
    finish(process)


def test_odd_ids_and_numbers_get_replies(tmp_path: Path) -> None:
    process, lines = start(tmp_path)
    assert process.stdin is not None
    deadline = time.monotonic() + 60
    for raw_id in (b'{"a":1}', b"1.5", b"123456789012345678901234567890", b"[1]"):
        process.stdin.write(
            b'{"jsonrpc":"2.0","id":' + raw_id + b',"method":"tools/call",'
            b'"params":{"name":"list_datasets","arguments":{}}}\n'
        )
        process.stdin.flush()
        reply = json.loads(lines.next(deadline))
        assert reply["id"] is None and reply["error"]["code"] == -32600, reply
    process.stdin.write(b"not json at all\n")
    process.stdin.flush()
    reply = json.loads(lines.next(deadline))
    assert reply["id"] is None and reply["error"]["code"] == -32700
    process.stdin.write(
        b'{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"cancel_finetune_job",'
        b'"arguments":{"job":"job_x","grace_seconds":NaN}}}\n'
    )
    process.stdin.flush()
    reply = json.loads(lines.next(deadline))
    assert reply["id"] is None and reply["error"]["code"] == -32700
    assert "NaN and Infinity" in reply["error"]["message"]
    for grace in ('"NaN"', '"30"', "-1", "1e9"):
        process.stdin.write(
            b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"cancel_finetune_job",'
            b'"arguments":{"job":"job_x","grace_seconds":' + grace.encode() + b"}}}\n"
        )
        process.stdin.flush()
        reply = json.loads(lines.next(deadline))
        error = reply["result"]["structuredContent"]["error"]
        assert error["code"] == "invalid_argument" and error["param"] == "grace_seconds", reply
    finish(process)
