"""Every MCP tool through the core gate, and envelopes an agent or a proxy cannot slip past.

The official Python client drives the tools; a raw stdio peer sends what no client library
would (wrong JSON types, duplicated keys, batches, calls before ``initialize``).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[1]
BINARY = Path(os.environ.get("VLATUNE_BINARY", ROOT / ".build" / "debug" / "vlatune"))
CATALOGUE_SEED = ROOT / "Tests/Fixtures/policies/catalogue-seed.yaml"
FAKE_TRAINER = ROOT / "Tests/Fixtures/fake_trainer.py"
pytestmark = pytest.mark.skipif(not BINARY.exists(), reason="vlatune is not built (make build)")

TOOLS = [
    "prepare_dataset",
    "start_finetune_job",
    "get_finetune_job",
    "list_finetune_jobs",
    "cancel_finetune_job",
    "list_datasets",
    "resume_finetune_job",
]
# Every tool the server lists: evaluate_policy's admitted calls need a simulator and a trained
# adapter, so its allow/deny/limit cases are in Tests/VlatuneCLITests/EvaluationCLITests.swift.
SERVED = [*TOOLS, "evaluate_policy"]


def make_home(tmp_path: Path) -> tuple[dict[str, str], str, str]:
    """A state directory with a dataset `blocks` and one finished job; the environment, the
    source path and the job id."""
    source = tmp_path / "source"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/make_sample_dataset.py"),
            "--out",
            str(source),
            "--episodes",
            "4",
            "--steps",
            "12",
        ],
        check=True,
        capture_output=True,
    )
    env = dict(
        os.environ,
        VLATUNE_HOME=str(tmp_path / "home"),
        VLATUNE_TRAINER=f"{sys.executable} {FAKE_TRAINER} --steps 1 --step-seconds 0",
    )
    env.pop("VLATUNE_POLICY", None)
    run = [str(BINARY)]
    subprocess.run(
        [*run, "dataset", "prepare", str(source), "--name", "blocks", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
    )
    job = subprocess.run(
        [*run, "job", "start", "--base-model", "tiny-vla", "--dataset", "blocks", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run([*run, "job", "wait", job, "--timeout", "60"], env=env, check=True)
    return env, str(source), job


def arguments_for(tool: str, source: str, job: str) -> dict[str, Any]:
    """Arguments an admitted call of each tool succeeds with."""
    return {
        "prepare_dataset": {"source": source, "name": "again", "overwrite": True},
        "start_finetune_job": {"base_model": "tiny-vla", "dataset": "blocks"},
        "get_finetune_job": {"job": job},
        "list_finetune_jobs": {"limit": 5},
        "cancel_finetune_job": {"job": job, "grace_seconds": 1},
        "list_datasets": {},
        # From the finished job's step-1 checkpoint to step 2, as often as it has ended again.
        "resume_finetune_job": {"job": job, "checkpoint": "1", "max_steps": 2},
    }[tool]


def audit_entries(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["VLATUNE_HOME"]) / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def calls(env: dict[str, str], policy: str, plan: list[tuple[str, dict[str, Any]]]) -> list:
    """Runs `plan` (tool, arguments) in one MCP session under `policy`."""
    path = Path(env["VLATUNE_HOME"]).parent / f"policy-{time.monotonic_ns()}.yaml"
    path.write_text(policy)
    server = StdioServerParameters(
        command=str(BINARY), args=["mcp"], env=dict(env, VLATUNE_POLICY=str(path))
    )
    results = []
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = {tool.name for tool in (await session.list_tools()).tools}
        results.append(listed)
        for tool, arguments in plan:
            results.append(await session.call_tool(tool, arguments))
    return results


def error_of(result: Any) -> dict[str, Any]:
    assert result.is_error, result
    return result.structured_content["error"]


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_is_allowed_denied_limited_and_defaulted(tmp_path: Path, tool: str) -> None:
    env, source, job = make_home(tmp_path)
    args = arguments_for(tool, source, job)

    def run(policy: str, count: int = 1) -> list:
        if tool == "resume_finetune_job":  # an attempt the last run admitted has ended
            wait = [str(BINARY), "job", "wait", job, "--timeout", "60"]
            subprocess.run(wait, env=env, check=True, capture_output=True)
        return anyio.run(calls, env, policy, [(tool, args)] * count)

    # A resume is also a start: under default deny both must be listed.
    also = "  start_finetune_job: {rules: []}\n" if tool == "resume_finetune_job" else ""
    listed, allowed = run(f"default: deny\ntools:\n  {tool}: {{rules: []}}\n{also}")
    assert tool in listed
    assert not allowed.is_error, allowed.content

    deny = (
        f'tools:\n  {tool}:\n    rules: [{{name: closed, action: deny, on_deny: "ask the lab"}}]\n'
    )
    error = error_of(run(deny)[1])
    assert error["code"] == "policy_denied"
    assert f"{tool} is denied by the policy" in error["message"]
    assert "rule 'closed': ask the lab" in error["message"]

    _, first, second = run(f"tools:\n  {tool}:\n    rules: [{{rate_limit: 1/minute}}]\n", 2)
    assert not first.is_error, first.content
    error = error_of(second)
    assert error["code"] == "rate_limited"
    assert 0 < error["retry_after_seconds"] <= 60

    unlisted = 'default: deny\ntools:\n  "*":\n    rules: [{rate_limit: 100/minute}]\n'
    error = error_of(run(unlisted)[1])
    assert error["code"] == "policy_denied" and "default: deny" in error["message"]

    listed, hidden = run(f"hide: [{tool}]\n")
    assert tool not in listed and len(listed) == len(SERVED) - 1
    assert "hidden" in error_of(hidden)["message"]

    decisions = [e["decision"] for e in audit_entries(env) if e["tool"] == tool]
    # The setup's own calls (prepare, start, wait) come first; these are this test's five
    # policies: allowed, refused, allowed, refused, refused, refused.
    assert decisions[-6:] == ["allowed", "refused", "allowed", "refused", "refused", "refused"]


def test_the_catalogue_seed_is_the_policy_of_an_mcp_session(tmp_path: Path) -> None:
    env, _, _ = make_home(tmp_path)
    seed = CATALOGUE_SEED.read_text()
    assert "version" not in seed
    start = {"base_model": "tiny-vla", "dataset": "blocks"}
    results = anyio.run(calls, env, seed, [("start_finetune_job", start)] * 10)
    listed, *starts = results
    assert set(listed) == set(SERVED)
    admitted = [r for r in starts if not r.is_error]
    # The setup's start was the CLI's (another actor): all ten of this client's are admitted.
    assert len(admitted) == 10, [r.content for r in starts if r.is_error]


class RawPeer:
    """`vlatune mcp` on raw stdio: send lines, read replies with a deadline."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(BINARY), "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def send(self, message: Any) -> None:
        raw = message if isinstance(message, bytes) else json.dumps(message).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(raw + b"\n")
        self.process.stdin.flush()

    def reply(self, timeout: float = 30) -> dict[str, Any]:
        return json.loads(self.lines.get(timeout=timeout))

    def initialize(self, version: str = "2025-06-18") -> dict[str, Any]:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "raw-peer", "version": "1"},
                },
            }
        )
        answer = self.reply()
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def call(id_: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": id_,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def jobs_in(env: dict[str, str]) -> int:
    listed = subprocess.run(
        [str(BINARY), "job", "list", "--json"], env=env, capture_output=True, text=True, check=True
    )
    return len(json.loads(listed.stdout)["jobs"])


def test_malformed_envelopes_get_exact_errors_and_start_nothing(tmp_path: Path) -> None:
    env, _, _ = make_home(tmp_path)
    before = jobs_in(env)
    start = {"base_model": "tiny-vla", "dataset": "blocks"}
    peer = RawPeer(env)
    try:
        # Before initialize: refused, never served as mcp:unknown.
        peer.send(call(1, "start_finetune_job", start))
        early = peer.reply()
        assert early["id"] == 1 and early["error"]["code"] == -32600
        assert "before initialize" in early["error"]["message"]
        # A batch before initialize.
        peer.send([call(2, "list_datasets", {})])
        assert peer.reply()["error"]["code"] == -32600

        assert peer.initialize()["result"]["protocolVersion"] == "2025-06-18"

        cases: list[tuple[Any, int, str]] = [
            (
                call(10, "start_finetune_job", "base_model=tiny-vla"),
                -32602,
                "params.arguments must be an object, got 'base_model=tiny-vla' (a string)",
            ),
            (
                call(11, "start_finetune_job", [start]),
                -32602,
                "params.arguments must be an object, got",
            ),
            (call(12, 5, start), -32602, "params.name must be a string, got 5 (a number)"),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 14,
                    "method": "tools/call",
                    "params": {"name": "list_datasets", "arguments": {}, "_meta": "x"},
                },
                -32602,
                "params._meta must be an object, got 'x' (a string)",
            ),
            (
                {"jsonrpc": "2.0", "id": 13, "method": "tools/call", "params": "start"},
                -32602,
                "params must be an object, got 'start' (a string)",
            ),
        ]
        for message, code, text in cases:
            peer.send(message)
            answer = peer.reply()
            assert answer["id"] == message["id"]
            assert answer["error"]["code"] == code, answer
            assert text in answer["error"]["message"], answer

        # Duplicated keys: exact, and in another letter case (a proxy may read the other one).
        exact = (
            b'{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"list_datasets",'
            b'"name":"start_finetune_job","arguments":{"base_model":"tiny-vla","dataset":"blocks"}}}'
        )
        folded = (
            b'{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"NAME":"list_datasets",'
            b'"name":"start_finetune_job","arguments":{"base_model":"tiny-vla","dataset":"blocks"}}}'
        )
        for raw, shown in ((exact, "duplicate key 'name'"), (folded, "(also 'NAME')")):
            peer.send(raw)
            answer = peer.reply()
            assert answer["id"] is None and answer["error"]["code"] == -32600, answer
            assert shown in answer["error"]["message"]

        # Batches are gone in 2025-06-18.
        peer.send([call(30, "list_datasets", {}), call(31, "list_datasets", {})])
        answer = peer.reply()
        assert answer["id"] is None and answer["error"]["code"] == -32600
        assert "batches are not accepted under protocol 2025-06-18" in answer["error"]["message"]

        # Not JSON, and ids that are neither strings nor integers.
        peer.send(b"{not json")
        answer = peer.reply()
        assert answer["id"] is None and answer["error"]["code"] == -32700
        for bad_id in ({"a": 1}, 1.5, [1]):
            peer.send(call(bad_id, "list_datasets", {}))
            answer = peer.reply()
            assert answer["id"] is None and answer["error"]["code"] == -32600
            assert "id must be a string or an integer" in answer["error"]["message"]

        # Typed arguments: a string where a number goes, a dry_run that is not a boolean.
        for number, (arguments, field, shown) in enumerate(
            [
                ({**start, "max_steps": "100"}, "max_steps", "got '100'"),
                ({**start, "dry_run": "true"}, "dry_run", "got 'true' (a string)"),
                ({**start, "dry_run": 1}, "dry_run", "got 1 (a number)"),
            ]
        ):
            peer.send(call(40 + number, "start_finetune_job", arguments))
            answer = peer.reply()
            assert answer["id"] == 40 + number
            result = answer["result"]
            assert result["isError"] is True
            error = result["structuredContent"]["error"]
            assert error["code"] == "invalid_argument" and error["param"] == field
            assert shown in error["message"], error

        # A well-formed call still works on the same session.
        peer.send(call(50, "list_datasets", {}))
        assert peer.reply()["result"]["isError"] is False
    finally:
        peer.close()
    assert jobs_in(env) == before
    entries = audit_entries(env)
    refused = [e for e in entries if e["actor"] == "mcp:raw-peer" and e["decision"] == "refused"]
    # arguments a string, a list; the folded duplicate; max_steps "100"; dry_run "true" and 1.
    assert sum(e["tool"] == "start_finetune_job" for e in refused) == 6, refused
    assert any(e["tool"] == "list_datasets" and "_meta" in e["message"] for e in refused)
    assert sum(e["tool"] == "(none)" for e in refused) == 2
    early = [e for e in entries if e["actor"] == "mcp:unknown"]
    assert [(e["tool"], e["decision"]) for e in early] == [("start_finetune_job", "refused")]


def test_batches_still_work_under_the_protocol_that_had_them(tmp_path: Path) -> None:
    env, _, _ = make_home(tmp_path)
    peer = RawPeer(env)
    try:
        assert peer.initialize("2025-03-26")["result"]["protocolVersion"] == "2025-03-26"
        peer.send([call(1, "list_datasets", {}), call(2, "list_finetune_jobs", {"limit": 1})])
        answer = peer.reply()
        assert isinstance(answer, list) and {item["id"] for item in answer} == {1, 2}
        peer.send([call(3, "list_datasets", {}), call(4, "start_finetune_job", "x")])
        answer = peer.reply()
        assert answer["error"]["code"] == -32600 and "batch item 1" in answer["error"]["message"]
    finally:
        peer.close()


def test_requests_pipelined_behind_initialize_wait_for_it(tmp_path: Path) -> None:
    env, _, job = make_home(tmp_path)
    peer = RawPeer(env)
    try:
        peer.send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "pipeliner", "version": "1"},
                },
            }
        )
        for number in range(1, 6):
            peer.send(call(number, "get_finetune_job", {"job": job}))
        replies = {}
        for _ in range(6):
            answer = peer.reply()
            replies[answer["id"]] = answer
        assert "result" in replies[0]
        assert all(replies[n]["result"]["isError"] is False for n in range(1, 6))
    finally:
        peer.close()
    actors = {e["actor"] for e in audit_entries(env) if e["tool"] == "get_finetune_job"}
    assert "mcp:pipeliner" in actors and "mcp:unknown" not in actors


def test_an_initialize_that_is_a_response_does_not_hold_the_session(tmp_path: Path) -> None:
    env, _, _ = make_home(tmp_path)
    peer = RawPeer(env)
    try:
        # `result` makes it a response to the SDK, which answers nothing: it must not count as
        # the initialize the session waits for.
        peer.send({"jsonrpc": "2.0", "id": 9, "method": "initialize", "result": {}})
        peer.send({"jsonrpc": "2.0", "id": 10, "method": "ping"})
        assert peer.reply()["id"] == 10
        assert peer.initialize()["result"]["protocolVersion"] == "2025-06-18"
    finally:
        peer.close()


def test_a_hidden_tool_says_so_before_it_reads_its_arguments(tmp_path: Path) -> None:
    env, _, _ = make_home(tmp_path)
    policy = tmp_path / "hide.yaml"
    policy.write_text("hide: [get_finetune_job]\n")
    peer = RawPeer(dict(env, VLATUNE_POLICY=str(policy)))
    try:
        peer.initialize()
        peer.send(call(1, "get_finetune_job", {"job": 5, "extra": True}))
        error = peer.reply()["result"]["structuredContent"]["error"]
        assert error["code"] == "policy_denied" and "hidden" in error["message"]
    finally:
        peer.close()
