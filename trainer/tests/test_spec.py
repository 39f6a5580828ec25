"""The trainer's typed spec (vlatune_trainer/spec.py) against what the real binary writes and
against the parameter table: a field added, renamed or retyped on one side fails here."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import typing
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import read_events, run_trainer, vlatune_binary, write_spec
from vlatune_trainer.errors import TrainerError
from vlatune_trainer.spec import Hyperparameters, JobSpec

TABLE_TYPES: dict[str, object] = {
    "integer": int,
    "number": float,
    "boolean": bool,
    "string": str,
    "string (enum)": str,
    "array of strings": list[str],
    "object of strings": dict[str, str],
}


def table() -> dict[str, dict]:
    """The job start parameter table, from the binary."""
    result = subprocess.run(
        [str(vlatune_binary()), "__docs", "parameters-json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {entry["name"]: entry for entry in json.loads(result.stdout)}


def dry_run_spec(package: Path, *flags: str) -> dict:
    env = dict(os.environ, VLATUNE_HOME=str(package.parents[1]))
    command = ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--dry-run"]
    result = subprocess.run(
        [str(vlatune_binary()), *command, "--json", *flags],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["spec"]


def test_hyperparameters_have_the_tables_names_types_and_optionality(
    make_package: Callable[..., Path],
) -> None:
    make_package()  # the binary is built
    parameters = table()
    hints = typing.get_type_hints(Hyperparameters)
    for field in dataclasses.fields(Hyperparameters):
        optional = field.default is None
        entry = parameters.get(field.name)
        if entry is None:  # derived by the resolver (effective_batch_size): always written
            assert not optional, field.name
            continue
        expected = TABLE_TYPES[entry["type"]]
        hint = hints[field.name]
        assert hint == (expected | None if optional else expected), field.name
        # A parameter with a default is always written: Python gives it none of its own.
        if "default" in entry:
            assert not optional, field.name


def test_the_binarys_spec_reads_whole_and_strictly(make_package: Callable[..., Path]) -> None:
    package = make_package()
    written = dry_run_spec(
        package,
        "--seed",
        "5",
        "--data-workers",
        "0",
        "--lr-schedule",
        "constant",
        "--name",
        "typed",
    )
    spec = JobSpec.from_json(written)
    hyper = spec.hyperparameters
    assert (hyper.seed, hyper.data_workers, hyper.lr_schedule) == (5, 0, "constant")
    assert spec.name == "typed" and spec.dataset.path == str(package)
    # Every field the binary writes has a place here, and every field without a default is
    # written: from_json refuses either way, so these hold by construction; the defaults of
    # the table reach the trainer through the spec, not through Python.
    assert set(written["hyperparameters"]) <= {f.name for f in dataclasses.fields(Hyperparameters)}
    defaults = dry_run_spec(package)["hyperparameters"]
    for name, entry in table().items():
        if "default" in entry and name in defaults:
            assert defaults[name] == entry["default"], name


def test_an_unknown_missing_or_mistyped_field_is_named(make_package: Callable[..., Path]) -> None:
    written = dry_run_spec(make_package())
    written["hyperparameters"]["lora_ranks"] = 4
    del written["hyperparameters"]["batch_size"]
    written["hyperparameters"]["max_steps"] = "many"
    written["surprise"] = True
    with pytest.raises(TrainerError) as raised:
        JobSpec.from_json(written)
    assert raised.value.code == "config_error"
    message = raised.value.message
    for part in (
        "spec.surprise is not a field",
        "spec.hyperparameters.lora_ranks is not a field",
        "spec.hyperparameters.batch_size is missing",
        "spec.hyperparameters.max_steps must be int",
    ):
        assert part in message, message


def test_a_spec_the_trainer_cannot_read_fails_the_job_with_config_error(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_spec(tmp_path, make_package())
    spec = json.loads(path.read_text())
    del spec["hyperparameters"]["data_workers"]
    path.write_text(json.dumps(spec))
    result = run_trainer(path)
    assert result.returncode == 2, result.stdout + result.stderr
    failed = [e for e in read_events(tmp_path) if e["type"] == "failed"]
    assert failed and failed[0]["code"] == "config_error"
    assert "hyperparameters.data_workers is missing" in failed[0]["message"]
