"""`vlatune mcp` driven by a real MCP client: the Python SDK's stdio client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[1]
BINARY = Path(os.environ.get("VLATUNE_BINARY", ROOT / ".build" / "debug" / "vlatune"))
pytestmark = pytest.mark.skipif(not BINARY.exists(), reason="vlatune is not built (make build)")

POLICY = """version: 1
tools:
  start_finetune_job:
    rules:
      - action: allow
        rate_limit: {max: 10, window: 60}
        validate: {required_args: true}
limits: {max_running_jobs: 20, max_queued_jobs: 20}
"""


def make_source(tmp_path: Path) -> Path:
    """A small `episodes` dataset from the example generator."""
    source = tmp_path / "source"
    generator = ROOT / "examples/make_sample_dataset.py"
    subprocess.run(
        [sys.executable, str(generator), "--out", str(source), "--episodes", "4", "--steps", "12"],
        check=True,
        capture_output=True,
    )
    return source


def structured(result: object) -> dict:
    content = result.structured_content  # type: ignore[attr-defined]
    assert content is not None
    assert json.loads(result.content[-1].text) == content  # type: ignore[attr-defined]
    return content


async def session_run(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    (tmp_path / "policy.yaml").write_text(POLICY)
    fake = ROOT / "Tests/Fixtures/fake_trainer.py"
    env = dict(
        os.environ,
        VLATUNE_HOME=str(tmp_path / "home"),
        VLATUNE_POLICY=str(tmp_path / "policy.yaml"),
        VLATUNE_TRAINER=f"{sys.executable} {fake} --steps 3 --step-seconds 0.01",
    )
    server = StdioServerParameters(command=str(BINARY), args=["mcp"], env=env)
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        info = await session.initialize()
        assert info.server_info.name == "vlatune"
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {
            "prepare_dataset",
            "start_finetune_job",
            "get_finetune_job",
            "list_finetune_jobs",
            "cancel_finetune_job",
            "list_datasets",
            "resume_finetune_job",
            "evaluate_policy",
        }
        for tool in tools.values():
            jsonschema.Draft202012Validator.check_schema(tool.input_schema)
            assert tool.output_schema is not None
        validator = jsonschema.Draft202012Validator(tools["start_finetune_job"].input_schema)
        assert not list(
            validator.iter_errors({"base_model": "tiny-vla", "dataset": "d", "lora_rank": 8})
        )
        # Without `from`, base_model and dataset are required (anyOf); with it, neither.
        assert list(validator.iter_errors({"lora_rank": 8}))
        assert not list(validator.iter_errors({"from": "job_x", "max_steps": 10}))
        assert list(
            validator.iter_errors({"base_model": "tiny-vla", "dataset": "d", "lora_rank": 0})
        )

        prepared = await session.call_tool(
            "prepare_dataset", {"source": str(source), "name": "blocks"}
        )
        assert not prepared.is_error
        assert structured(prepared)["episodes"] == 4

        missing = await session.call_tool("start_finetune_job", {"dataset": "blocks"})
        assert missing.is_error
        assert "base_model" in structured(missing)["error"]["message"]

        first = await session.call_tool(
            "start_finetune_job",
            {"base_model": "tiny-vla", "dataset": "blocks", "idempotency_key": "k-1"},
        )
        job = structured(first)["id"]
        replay = await session.call_tool(
            "start_finetune_job",
            {"base_model": "tiny-vla", "dataset": "blocks", "idempotency_key": "k-1"},
        )
        assert structured(replay)["id"] == job and structured(replay)["replayed"] is True

        deadline = time.time() + 60
        state = ""
        while time.time() < deadline and state not in ("succeeded", "failed"):
            state = structured(await session.call_tool("get_finetune_job", {"job": job}))["state"]
            time.sleep(0.05)
        assert state == "succeeded"

        env_long = {"base_model": "tiny-vla", "dataset": "blocks", "max_steps": 100000}
        second = structured(await session.call_tool("start_finetune_job", env_long))["id"]
        cancelled = structured(
            await session.call_tool("cancel_finetune_job", {"job": second, "grace_seconds": 5})
        )
        assert cancelled["state"] in ("cancelling", "cancelled")

        results = []
        for _ in range(9):
            results.append(
                await session.call_tool(
                    "start_finetune_job", {"base_model": "tiny-vla", "dataset": "blocks"}
                )
            )
        # 1 (first) + 1 (second) + 8 admitted = 10; the 11th admission attempt is refused.
        admitted = [r for r in results if not r.is_error]
        refused = [r for r in results if r.is_error]
        assert len(admitted) == 8 and len(refused) == 1
        error = structured(refused[0])["error"]
        assert error["code"] == "rate_limited" and 0 < error["retry_after_seconds"] <= 60


def test_real_mcp_client_over_stdio(tmp_path: Path) -> None:
    import anyio

    anyio.run(session_run, tmp_path)


def test_calls_in_flight_are_answered_when_stdin_closes(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    env = dict(os.environ, VLATUNE_HOME=str(tmp_path / "home"))
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "closing-client", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": "prepare_dataset",
                "arguments": {"source": str(source), "name": "late"},
            },
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "list_datasets", "arguments": {}},
        },
    ]
    payload = "".join(json.dumps(m) + "\n" for m in messages)
    result = subprocess.run(
        [str(BINARY), "mcp"],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    replies = {m.get("id"): m for m in map(json.loads, result.stdout.splitlines())}
    assert set(replies) >= {1, 2, 3}, result.stderr
    assert replies[2]["result"]["structuredContent"]["name"] == "late"
    assert all(line.startswith("{") for line in result.stdout.splitlines())
