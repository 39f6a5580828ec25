"""LeRobot policy checkpoints (ACT, diffusion, SmolVLA, pi0, pi0.5, GR00T N1.7) fine-tuned by
vlatune's trainer, loaded back by LeRobot 0.6.1's own runtime. Runs in the LeRobot environment
(``make venv-lerobot``; ``make test`` runs this file there, and CI sets VLATUNE_REQUIRE_LEROBOT=1
so it never skips)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("VLATUNE_REQUIRE_LEROBOT") != "1":
    pytest.importorskip("lerobot", reason="the LeRobot environment is not installed")

import numpy as np
import torch
from conftest import (
    ROOT,
    read_events,
    run_trainer,
    sigterm_once_started,
    vlatune_binary,
    write_spec,
)
from lerobot_checkpoints import make_checkpoint

os.environ.setdefault("HF_HUB_OFFLINE", "1")
FAMILIES = ["act", "diffusion", "smolvla", "pi0", "pi05", "groot"]
PI = ("pi0", "pi05")
TINY_GEMMA = ROOT / "Tests" / "Fixtures" / "tiny_gemma"


@pytest.fixture(scope="module", autouse=True)
def tiny_gemma_everywhere() -> Iterator[None]:
    """pi0 / pi0.5 shrunk by the test-only patch in this process and in every Python process
    the tests start (trainer, predict, and the binary's jobs, which pass on only the variables
    ``VLATUNE_TRAINER_ENV`` names): its ``sitecustomize``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VLATUNE_TINY_GEMMA", "1")
        patch.setenv("VLATUNE_TRAINER_ENV", "PYTHONPATH,VLATUNE_TINY_GEMMA")
        patch.setenv(
            "PYTHONPATH",
            os.pathsep.join(filter(None, [str(TINY_GEMMA), os.environ.get("PYTHONPATH")])),
        )
        yield


def tokenizer_options(family: str, base: Path) -> dict[str, str]:
    """pi0 / pi0.5 read PaliGemma's tokenizer from the local stand-in the fixture wrote."""
    return {"tokenizer": str(base / "tokenizer")} if family in PI else {}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    cache: dict[tuple, Path] = {}

    def make(family: str, slots: tuple[str, ...] = ("front", "wrist")) -> Path:
        key = (family, slots)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"base-{family}")
            cache[key] = make_checkpoint(family, out, state_dim=8, action_dim=7, slots=slots)
        return cache[key]

    return make


def lerobot_runtime(adapter: Path) -> tuple[torch.nn.Module, object, object]:
    """The adapter directory loaded the way LeRobot 0.6.1 deploys a policy: ``make_policy``
    (PEFT branch: the base from adapter_config.json, then the adapter) and the processors
    from the directory."""
    from types import SimpleNamespace

    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import make_policy, make_pre_post_processors

    config = PreTrainedConfig.from_pretrained(str(adapter))
    config.pretrained_path = str(adapter)
    features = {
        key: {
            "dtype": "video" if key.startswith("observation.images.") else "float32",
            "shape": (
                [feature.shape[1], feature.shape[2], feature.shape[0]]
                if key.startswith("observation.images.")
                else list(feature.shape)
            ),
            "names": (
                ["height", "width", "channels"] if key.startswith("observation.images.") else None
            ),
        }
        for key, feature in {**config.input_features, **config.output_features}.items()
    }
    policy = make_policy(config, ds_meta=SimpleNamespace(features=features))
    preprocessor, postprocessor = make_pre_post_processors(config, pretrained_path=str(adapter))
    return policy, preprocessor, postprocessor


def runtime_action(policy: Any, preprocessor: Any, postprocessor: Any) -> torch.Tensor:
    """One ``select_action`` through LeRobot's runtime on a two-camera observation, un-normalized
    by the loaded postprocessor."""
    observation = {
        "observation.images.front": torch.rand(3, 64, 64),
        "observation.images.wrist": torch.rand(3, 64, 64),
        "observation.state": torch.zeros(8),
        "task": "pick up the red block",
    }
    with torch.no_grad():
        return postprocessor(policy.eval().select_action(preprocessor(observation)))


@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_and_lerobot_runtime_loads_the_adapter(
    family: str,
    make_package: Callable[..., Path],
    checkpoints: Callable[..., Path],
    tmp_path: Path,
) -> None:
    package = make_package()
    base = checkpoints(family)
    spec = write_spec(
        tmp_path,
        package,
        base_model=str(base),
        max_steps=6,
        checkpoint_interval=3,
        batch_size=4,
        **tokenizer_options(family, base),
    )
    result = run_trainer(spec)
    assert result.returncode == 0, result.stdout + result.stderr
    events = read_events(tmp_path)
    assert events[0]["type"] == "started" and events[-1]["type"] == "completed"
    assert events[0]["trainable_parameters"] < events[0]["total_parameters"]
    # job start's estimate counts exactly the parameters the trainer trains and holds.
    tokenizer = ["--tokenizer", str(base / "tokenizer")] if family in PI else []
    dry, document = dry_run(package, base, "--lora-rank", "8", *tokenizer)
    assert dry.returncode == 0, dry.stderr
    estimate = document["spec"]["memory_estimate"]
    assert estimate["trainable_parameters"] == events[0]["trainable_parameters"]
    # The files hold the buffers too (BatchNorm statistics of ACT's and diffusion's ResNet).
    frozen = events[0]["total_parameters"] - events[0]["trainable_parameters"]
    assert frozen <= estimate["parameters"] <= frozen * 1.01
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [3, 6]
    adapter = tmp_path / "output" / "adapter"
    saved = json.loads((adapter / "config.json").read_text())
    assert saved["type"] == family and saved["use_peft"] is True
    assert saved["output_features"]["action"]["shape"] == [7]
    assert json.loads((adapter / "adapter_config.json").read_text())[
        "base_model_name_or_path"
    ] == str(base)

    policy, preprocessor, postprocessor = lerobot_runtime(adapter)
    action = runtime_action(policy, preprocessor, postprocessor)
    assert tuple(action.shape) == (1, 7)
    assert torch.isfinite(action).all()

    # vlatune's own predict loads the same directory (images in the trained cameras' order).
    from PIL import Image

    paths = []
    for index, camera in enumerate(["front", "wrist"]):
        path = tmp_path / f"{camera}.png"
        Image.fromarray(np.full((48, 48, 3), 40 * index, dtype=np.uint8)).save(path)
        paths += ["--image", f"{camera}={path}"]
    paths += ["--instruction", "pick up the red block", "--state", ",".join(["0.1"] * 8)]
    predicted = subprocess.run(
        [sys.executable, "-m", "vlatune_trainer.predict", "--adapter", str(adapter), *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr
    chunk = np.asarray(json.loads(predicted.stdout)["actions"])
    assert chunk.ndim == 2 and chunk.shape[1] == 7 and np.isfinite(chunk).all()

    # Un-normalized in the family's own mode, with the package's exact statistics.
    from lerobot.configs.types import FeatureType, NormalizationMode

    statistics = json.loads((package / "dataset_statistics.json").read_text())["sample"]
    if family == "groot":
        assert_groot_normalizes_with(statistics, preprocessor, postprocessor)
        return
    unnormalizer = postprocessor.steps[0]
    mode = unnormalizer.norm_map[FeatureType.ACTION]
    expected = {"pi05": NormalizationMode.QUANTILES, "diffusion": NormalizationMode.MIN_MAX}
    assert mode == expected.get(family, NormalizationMode.MEAN_STD)
    used = {
        NormalizationMode.MEAN_STD: ("mean", "std"),
        NormalizationMode.MIN_MAX: ("min", "max"),
        NormalizationMode.QUANTILES: ("q01", "q99"),
    }[mode]
    for key in ("mean", "std", *used):
        assert np.allclose(
            np.asarray(unnormalizer.stats["action"][key]), statistics["action"][key], atol=1e-6
        ), key


def assert_groot_normalizes_with(
    statistics: dict, preprocessor: object, postprocessor: object
) -> None:
    """GR00T N1.7 maps state and action to [-1, 1] with min/max in its own pack step (before
    padding) and inverts it in its unpack step: both carry the package's exact min and max, and
    the saved VLM step names the local backbone directory, not the hub id."""
    pack = next(s for s in preprocessor.steps if type(s).__name__ == "GrootN17PackInputsStep")
    unpack = postprocessor.steps[0]
    assert type(unpack).__name__ == "GrootActionUnpackUnnormalizeStep"
    for key in ("min", "max"):
        for stats in (pack.stats, unpack.stats):
            assert np.allclose(
                np.asarray(stats["action"][key]), statistics["action"][key], atol=1e-6
            ), key
        assert np.allclose(
            np.asarray(pack.stats["observation.state"][key]), statistics["proprio"][key], atol=1e-6
        ), key
    vlm = next(s for s in preprocessor.steps if type(s).__name__ == "GrootN17VLMEncodeStep")
    assert Path(vlm.model_name).name == "backbone"


def test_policy_image_slots_must_match_a_camera_or_be_mapped(
    make_package: Callable[..., Path], checkpoints: Callable[..., Path], tmp_path: Path
) -> None:
    package = make_package()
    base = checkpoints("act", slots=("top",))
    refused = run_trainer(write_spec(tmp_path / "refused", package, base_model=str(base)))
    assert refused.returncode == 2
    failure = read_events(tmp_path / "refused")[-1]
    assert failure["type"] == "failed" and failure["code"] == "config_error"
    assert "image slot 'top'" in failure["message"]
    assert "cameras: front, wrist" in failure["message"]
    assert "--image-map" in failure["message"]

    mapped = write_spec(
        tmp_path / "mapped", package, base_model=str(base), max_steps=2, image_map={"top": "wrist"}
    )
    assert run_trainer(mapped).returncode == 0
    train_config = json.loads((tmp_path / "mapped" / "output" / "train_config.json").read_text())
    assert train_config["cameras"] == ["wrist"]


def test_smolvla_sigterm_checkpoints_and_resume_matches_an_uninterrupted_run(
    make_package: Callable[..., Path], checkpoints: Callable[..., Path], tmp_path: Path
) -> None:
    package = make_package()
    base = str(checkpoints("smolvla"))
    options = {"max_steps": 12, "checkpoint_interval": 100, "batch_size": 4, "data_workers": 0}
    whole = write_spec(tmp_path / "whole", package, base_model=base, **options)
    assert run_trainer(whole).returncode == 0
    reference = [e for e in read_events(tmp_path / "whole") if e["type"] == "progress"][-1]

    split = write_spec(tmp_path / "split", package, base_model=base, **options)
    events = sigterm_once_started(split)
    assert events[-1]["type"] == "cancelled"
    stopped = events[-1]["step"]
    assert 0 < stopped < 12
    assert any(e["type"] == "checkpoint" and e["step"] == stopped for e in events)
    resumed = run_trainer(split, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    final = [e for e in read_events(tmp_path / "split") if e["type"] == "progress"][-1]
    assert final["step"] == reference["step"] == 12
    assert final["loss"] == pytest.approx(reference["loss"], rel=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_job_start_runs_a_lerobot_checkpoint_in_the_lerobot_environment(
    family: str, make_package: Callable[..., Path], checkpoints: Callable[..., Path]
) -> None:
    """The real binary, for each family: the kind is recognised (dry run), the trainer runs in
    .venv-lerobot without VLATUNE_PYTHON, and the job succeeds."""
    package = make_package()
    home = package.parents[1]
    base = str(checkpoints(family))
    env = {k: v for k, v in os.environ.items() if k not in ("VLATUNE_PYTHON", "VLATUNE_TRAINER")}
    env["VLATUNE_HOME"] = str(home)
    binary = str(vlatune_binary())
    common = ["job", "start", "--base-model", base, "--dataset", "sample", "--max-steps", "3"]
    if family in PI:
        common += ["--tokenizer", str(Path(base) / "tokenizer")]
    dry = subprocess.run(
        [binary, *common, "--dry-run", "--json"], capture_output=True, text=True, env=env
    )
    assert dry.returncode == 0, dry.stderr
    spec = json.loads(dry.stdout)["spec"]
    assert spec["base_model_kind"] == f"lerobot/{family}"
    assert spec["trainer"]["argv"][0] == str(ROOT / ".venv-lerobot" / "bin" / "python")
    started = subprocess.run(
        [binary, *common, "--batch-size", "4", "--wait", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert started.returncode == 0, started.stderr
    job = json.loads(started.stdout)
    assert job["state"] == "succeeded"
    # The estimate's activation term (fp32 on the CPU) against what the trainer's first step
    # really kept for backward at batch 4 (LeRobotActivations; GR00T has no term).
    directory = home / "jobs" / job["id"]
    estimate = json.loads((directory / "spec.json").read_text())["memory_estimate"]
    completed = read_events(directory)[-1]
    saved = completed["saved_activation_bytes"]
    if family == "groot":
        assert estimate["activation_bytes"] == 0 and saved > 0
    else:
        assert 0.75 < estimate["activation_bytes"] / saved < 1.3, (estimate, saved)


@pytest.mark.parametrize("family", ["diffusion", "pi0"])
def test_gradient_checkpointing_where_the_family_has_it(
    family: str, make_package: Callable[..., Path], checkpoints: Callable[..., Path], tmp_path: Path
) -> None:
    """LeRobot's own gradient checkpointing (diffusion's U-Net blocks, pi0's Gemma layers)
    recomputes without changing a loss, so the LoRA weights get the same gradients; a family
    without it is refused (64) before a job exists, and by the trainer for a spec written
    without the binary."""
    package = make_package()
    base = str(checkpoints(family))
    tokenizer = tokenizer_options(family, Path(base))
    losses = {}
    for flag in (False, True):
        directory = tmp_path / f"checkpointing-{flag}"
        options = {"max_steps": 4, "batch_size": 4, "gradient_checkpointing": flag, **tokenizer}
        spec = write_spec(directory, package, base_model=base, **options)
        assert run_trainer(spec).returncode == 0
        losses[flag] = [e["loss"] for e in read_events(directory) if e["type"] == "progress"]
        saved = json.loads((directory / "output" / "adapter" / "config.json").read_text())
        assert saved["gradient_checkpointing"] is flag
    assert losses[True] and losses[True] == pytest.approx(losses[False], rel=1e-5)
    flags = ["--tokenizer", tokenizer["tokenizer"]] if tokenizer else []
    assert dry_run(package, base, "--gradient-checkpointing", *flags)[0].returncode == 0
    if family != "diffusion":
        return

    act = checkpoints("act")
    refused, document = dry_run(package, act, "--gradient-checkpointing")
    assert refused.returncode == 64
    message = problems(document)["gradient_checkpointing"]
    assert "act policy has no gradient checkpointing" in message and "train without it" in message
    spec = write_spec(tmp_path / "act", package, base_model=str(act), gradient_checkpointing=True)
    assert run_trainer(spec).returncode == 2
    failure = read_events(tmp_path / "act")[-1]
    assert failure["code"] == "config_error" and "gradient_checkpointing" in failure["message"]


@pytest.mark.parametrize("family", ["act", "smolvla"])
def test_two_training_processes_train_a_lerobot_policy_under_torchrun(
    family: str, make_package: Callable[..., Path], checkpoints: Callable[..., Path]
) -> None:
    """``--processes 2`` on CPU: torchrun with gloo, DistributedDataParallel over the
    PEFT-wrapped policy; the job succeeds and rank 0's adapter loads in LeRobot's runtime."""
    package = make_package()
    env = {k: v for k, v in os.environ.items() if k not in ("VLATUNE_PYTHON", "VLATUNE_TRAINER")}
    env["VLATUNE_HOME"] = str(package.parents[1])
    binary = str(vlatune_binary())
    command = ["job", "start", "--base-model", str(checkpoints(family)), "--dataset", "sample"]
    options = ["--max-steps", "3", "--batch-size", "4", "--processes", "2", "--wait", "--json"]
    started = subprocess.run(
        [binary, *command, *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    done = json.loads(started.stdout)
    logs = subprocess.run(
        [binary, "job", "logs", done["id"]], capture_output=True, text=True, env=env, timeout=60
    ).stdout
    assert started.returncode == 0 and done["state"] == "succeeded", logs[-3000:]
    assert "distributed: 2 processes (gloo)" in logs
    adapter = Path(done["job_dir"]) / "output" / "adapter"
    action = runtime_action(*lerobot_runtime(adapter))
    assert tuple(action.shape) == (1, 7)


def dry_run(
    package: Path, base: Path | str, *extra: str, hf_home: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], dict]:
    """``vlatune job start --dry-run --json`` for ``base`` on the package's dataset."""
    env = {k: v for k, v in os.environ.items() if k not in ("VLATUNE_PYTHON", "VLATUNE_TRAINER")}
    env["VLATUNE_HOME"] = str(package.parents[1])
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)
        env.pop("HF_HUB_CACHE", None)
    result = subprocess.run(
        [
            str(vlatune_binary()),
            "job",
            "start",
            "--base-model",
            str(base),
            "--dataset",
            "sample",
            "--dry-run",
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    return result, json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}


def cache_snapshot(hf_home: Path, hub_id: str, source: Path) -> Path:
    """A copy of ``source`` as hub id ``hub_id``'s default revision in the Hugging Face cache
    under ``hf_home`` (``refs/main`` naming the snapshot, as an offline load reads it)."""
    repository = hf_home / "hub" / f"models--{hub_id.replace('/', '--')}"
    revision = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repository / "snapshots" / revision
    snapshot.parent.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(source), str(snapshot)], check=True)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(revision)
    return snapshot


def problems(document: dict) -> dict[str, str]:
    """param → message of a 64 refusal's problems."""
    error = document.get("error", document)
    return {p["param"]: p["message"] for p in error.get("problems", [])}


def test_job_start_refuses_with_64_what_the_policy_cannot_take(
    make_package: Callable[..., Path],
    checkpoints: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """Camera slots, state and action sizes and LoRA targets are checked against the
    checkpoint before anything starts: 64 naming the parameter, the values and the fix."""
    package = make_package()
    top = checkpoints("act", slots=("top",))
    refused, document = dry_run(package, top)
    assert refused.returncode == 64, refused.stderr
    message = problems(document)["image_map"]
    assert "image slot 'top'" in message and "cameras: front, wrist" in message
    assert "--image-map top=CAMERA" in message
    mapped, document = dry_run(package, top, "--image-map", "top=wrist")
    assert mapped.returncode == 0, mapped.stderr
    assert document["spec"]["hyperparameters"]["image_map"] == {"top": "wrist"}
    wrong_camera, document = dry_run(package, top, "--image-map", "top=side")
    assert wrong_camera.returncode == 64
    assert "camera 'side'" in problems(document)["image_map"]
    wrong_slot, document = dry_run(package, top, "--image-map", "top=wrist,left=front")
    assert wrong_slot.returncode == 64
    assert "slot 'left'" in problems(document)["image_map"]

    act = checkpoints("act")
    nothing, document = dry_run(package, act, "--target-modules", "linear1,no_such_module")
    assert nothing.returncode == 64
    message = problems(document)["target_modules"]
    assert "no_such_module" in message and "linear1," not in message
    assert dry_run(package, act, "--target-modules", "linear1,action_head")[0].returncode == 0

    # ACT takes exactly the state it was made for; --proprio selects it.
    six = make_checkpoint("act", tmp_path / "act6", state_dim=6, action_dim=7, slots=("front",))
    refused, document = dry_run(package, six)
    assert refused.returncode == 64
    assert "state of 6 dimensions" in problems(document)["proprio"]
    assert "feed 8" in problems(document)["proprio"]
    assert dry_run(package, six, "--proprio", "0,1,2,3,4,5")[0].returncode == 0

    # SmolVLA pads up to max_state_dim / max_action_dim and refuses more.
    small = tmp_path / "smolvla-small"
    subprocess.run(["cp", "-r", str(checkpoints("smolvla")), str(small)], check=True)
    config = json.loads((small / "config.json").read_text())
    config.update(max_state_dim=4, max_action_dim=6)
    (small / "config.json").write_text(json.dumps(config))
    refused, document = dry_run(package, small)
    assert refused.returncode == 64
    found = problems(document)
    assert "at most 4 dimensions" in found["proprio"]
    assert "at most 6 action dimensions" in found["dataset"]


def test_pi_tokenizer_comes_from_a_local_directory_or_the_cache_or_is_named(
    make_package: Callable[..., Path],
    checkpoints: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pi0's and pi0.5's processors name PaliGemma's tokenizer on the hub: without it on disk
    the start is refused (64) naming the id, the cache and --tokenizer; a directory without a
    tokenizer is refused; the Hugging Face cache is used offline; pi0.5 needs a state."""
    package = make_package()
    base = checkpoints("pi0")
    hub_id = "google/paligemma-3b-pt-224"
    empty = tmp_path / "empty-hf"
    refused, document = dry_run(package, base, hf_home=empty)
    assert refused.returncode == 64, refused.stdout
    message = problems(document)["tokenizer"]
    assert hub_id in message and str(empty / "hub") in message and "--tokenizer DIR" in message
    wrong, document = dry_run(package, base, "--tokenizer", str(tmp_path), hf_home=empty)
    assert wrong.returncode == 64 and "tokenizer_config.json" in problems(document)["tokenizer"]

    # The tokenizer in the Hugging Face cache's layout: accepted, and the trainer loads it
    # from there with the hub offline.
    hf_home = tmp_path / "hf"
    snapshot = cache_snapshot(hf_home, hub_id, base / "tokenizer")
    # transformers' AutoTokenizer reads a hub id's config.json too (the repository has one).
    incomplete, document = dry_run(package, base, hf_home=hf_home)
    assert incomplete.returncode == 64 and hub_id in problems(document)["tokenizer"]
    (snapshot / "config.json").write_text(json.dumps({"model_type": "paligemma"}))
    accepted, _ = dry_run(package, base, hf_home=hf_home)
    assert accepted.returncode == 0, accepted.stdout
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    spec = write_spec(tmp_path / "job", package, base_model=str(base), max_steps=2, batch_size=2)
    result = run_trainer(spec)
    assert result.returncode == 0, result.stderr
    saved = json.loads(
        (tmp_path / "job" / "output" / "adapter" / "policy_preprocessor.json").read_text()
    )
    names = [step.get("config", {}).get("tokenizer_name") for step in saved["steps"]]
    assert hub_id in names

    # pi0.5 writes the discretized state into its prompt: no state, no job.
    pi05 = checkpoints("pi05")
    stateless, document = dry_run(
        package, pi05, "--proprio", "none", "--tokenizer", str(pi05 / "tokenizer")
    )
    assert stateless.returncode == 64
    assert "needs a state" in problems(document)["proprio"]


def groot_variant(tmp_path: Path, groot: Path, tokenizer: bool, weights: bool) -> Path:
    """A copy of the tiny groot checkpoint whose base (``base``) and backbone (``backbone``)
    are copies too: without the backbone's tokenizer files (LeRobot then loads its hard-coded
    Qwen3-VL processor id) and/or without the policy's ``model.safetensors`` (a config-only
    checkpoint: the weights are the base's)."""
    tmp_path.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(groot / "backbone"), str(tmp_path / "backbone")], check=True)
    subprocess.run(["cp", "-r", str(groot / "base"), str(tmp_path / "base")], check=True)
    if not tokenizer:
        for name in ("tokenizer_config.json", "tokenizer.json", "chat_template.jinja"):
            (tmp_path / "backbone" / name).unlink(missing_ok=True)
    raw = json.loads((tmp_path / "base" / "config.json").read_text())
    raw["model_name"] = str(tmp_path / "backbone")
    (tmp_path / "base" / "config.json").write_text(json.dumps(raw))
    policy = tmp_path / "policy"
    policy.mkdir()
    config = json.loads((groot / "config.json").read_text())
    config["base_model_path"] = "../base"  # read from the checkpoint's directory
    (policy / "config.json").write_text(json.dumps(config))
    if weights:
        subprocess.run(["cp", str(groot / "model.safetensors"), str(policy)], check=True)
    return policy


def test_groot_base_and_processor_come_from_local_directories_or_are_named(
    make_package: Callable[..., Path],
    checkpoints: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GR00T N1.7 is built from its raw base (``base_model_path``) and tokenizes with a Qwen3-VL
    processor: a base that is nowhere on disk, or a processor neither local nor in the cache,
    is refused (64) naming it and the fix; a config-only checkpoint takes the base's weights
    (the estimate counts them); the cache is used offline; GR00T needs a state."""
    package = make_package()
    groot = checkpoints("groot")
    empty = tmp_path / "empty"
    missing = tmp_path / "missing"
    missing.mkdir()
    config = json.loads((groot / "config.json").read_text())
    config["base_model_path"] = "example/GR00T-N1.7-nowhere"
    (missing / "config.json").write_text(json.dumps(config))
    refused, document = dry_run(package, missing, hf_home=empty)
    assert refused.returncode == 64, refused.stdout
    message = problems(document)["base_model"]
    assert "example/GR00T-N1.7-nowhere" in message and str(empty / "hub") in message

    stateless, document = dry_run(package, groot, "--proprio", "none")
    assert stateless.returncode == 64
    assert "needs a state" in problems(document)["proprio"]

    # Without the backbone's tokenizer LeRobot loads nvidia/Cosmos-Reason2-2B's processor.
    hub_id = "nvidia/Cosmos-Reason2-2B"
    variant = groot_variant(tmp_path / "variant", groot, tokenizer=False, weights=False)
    refused, document = dry_run(package, variant, hf_home=empty)
    assert refused.returncode == 64, refused.stdout
    message = problems(document)["tokenizer"]
    assert hub_id in message and "--tokenizer DIR" in message and str(empty / "hub") in message
    wrong, document = dry_run(package, variant, "--tokenizer", str(tmp_path), hf_home=empty)
    assert wrong.returncode == 64 and "preprocessor_config.json" in problems(document)["tokenizer"]
    accepted, document = dry_run(
        package, variant, "--tokenizer", str(groot / "backbone"), hf_home=empty
    )
    assert accepted.returncode == 0, accepted.stdout
    # The config-only checkpoint's estimate counts the base's weights under the policy's names.
    full, reference = dry_run(package, groot)
    assert full.returncode == 0, full.stdout
    estimate, expected = (d["spec"]["memory_estimate"] for d in (document, reference))
    assert estimate["trainable_parameters"] == expected["trainable_parameters"] > 0
    assert expected["parameters"] * 0.99 <= estimate["parameters"] <= expected["parameters"]

    # The processor in the Hugging Face cache's layout: accepted; the trainer loads it offline
    # (from the config-only checkpoint) and the saved preprocessor names the hub id.
    hf_home = tmp_path / "hf"
    cache_snapshot(hf_home, hub_id, groot / "backbone")
    accepted, _ = dry_run(package, variant, hf_home=hf_home)
    assert accepted.returncode == 0, accepted.stdout
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    spec = write_spec(tmp_path / "job", package, base_model=str(variant), max_steps=2, batch_size=2)
    result = run_trainer(spec)
    assert result.returncode == 0, result.stderr
    saved = json.loads(
        (tmp_path / "job" / "output" / "adapter" / "policy_preprocessor.json").read_text()
    )
    assert hub_id in [step.get("config", {}).get("model_name") for step in saved["steps"]]
    saved = json.loads((tmp_path / "job" / "output" / "adapter" / "config.json").read_text())
    assert saved["base_model_path"] == str((tmp_path / "variant" / "base").resolve())


def test_smolvla_backbone_comes_from_a_local_directory_or_is_named(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    """A checkpoint naming its SmolVLM backbone by hub id: refused (64) naming the id and
    --tokenizer while the files are nowhere local; with --tokenizer DIR the job trains offline
    and the saved policy names the directory."""
    package = make_package()
    hub_id = "HuggingFaceTB/SmolVLM2-500M-Video-Instruct"
    base = make_checkpoint(
        "smolvla",
        tmp_path / "base",
        state_dim=8,
        action_dim=7,
        slots=("front", "wrist"),
        smolvlm_name=hub_id,
    )
    empty_cache = tmp_path / "hf"
    refused, document = dry_run(package, base, hf_home=empty_cache)
    assert refused.returncode == 64, refused.stdout
    message = problems(document)["tokenizer"]
    assert hub_id in message and "--tokenizer DIR" in message and str(empty_cache) in message
    wrong, document = dry_run(package, base, "--tokenizer", str(tmp_path), hf_home=empty_cache)
    assert wrong.returncode == 64 and "config.json" in problems(document)["tokenizer"]
    vlm = tmp_path / "base" / "vlm"
    accepted, document = dry_run(package, base, "--tokenizer", str(vlm), hf_home=empty_cache)
    assert accepted.returncode == 0, accepted.stdout
    assert document["spec"]["hyperparameters"]["tokenizer"] == str(vlm)

    spec = write_spec(
        tmp_path / "job",
        package,
        base_model=str(base),
        max_steps=2,
        batch_size=2,
        tokenizer=str(vlm),
    )
    result = run_trainer(spec)
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "job" / "output" / "adapter" / "config.json").read_text())
    assert saved["vlm_model_name"] == str(vlm.resolve())


def test_a_lerobot_adapter_is_evaluated_closed_loop_in_metaworld(
    checkpoints: Callable[..., Path], tmp_path: Path
) -> None:
    """``job eval`` of an ACT adapter: demonstrations from the simulator, a short fine-tune in
    the LeRobot environment, an evaluation job that loads the adapter the way LeRobot deploys
    it and rolls it out (the machinery, not a success rate)."""
    demos = tmp_path / "demos"
    made = subprocess.run(
        [sys.executable, "-m", "vlatune_trainer.sim", "demos", "--task", "button-press-topdown-v3",
         "--episodes", "2", "--image-size", "64", "--cameras", "topview", "--out", str(demos)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("VLATUNE_PYTHON", "VLATUNE_TRAINER")}
    env["VLATUNE_HOME"] = str(tmp_path / "home")
    binary = str(vlatune_binary())

    def vlatune(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, *arguments], capture_output=True, text=True, env=env, timeout=900, check=False
        )

    assert vlatune("dataset", "prepare", str(demos), "--name", "sim", "--quiet").returncode == 0
    out = tmp_path / "act-base"
    out.mkdir()
    base = make_checkpoint("act", out, state_dim=4, action_dim=4, slots=("topview",))
    start = ["--dataset", "sim", "--max-steps", "2", "--batch-size", "4", "--gpus", "0"]
    trained = vlatune("job", "start", "--base-model", str(base), *start, "--wait", "--json")
    assert trained.returncode == 0, trained.stderr
    job = json.loads(trained.stdout)["id"]
    rollout = ["--episodes", "1", "--max-steps", "6", "--image-size", "64", "--videos", "0"]
    task = ["--task", "button-press-topdown-v3"]
    evaluated = vlatune("job", "eval", job, *task, *rollout, "--wait", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    document = json.loads(evaluated.stdout)
    assert document["kind"] == "eval" and document["state"] == "succeeded", document["error"]
    assert document["evaluation"]["episodes_done"] == 1
    assert document["evaluation"]["mean_episode_length"] >= 1
