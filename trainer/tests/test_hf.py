"""The Hugging Face checkpoint path: a tiny, randomly initialised LLaVA-class model with a
tokenizer trained here (no network; Tests/Fixtures/make_llava_checkpoint.py) is fine-tuned with
OpenVLA-style action tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import read_events, run_trainer, write_spec
from make_llava_checkpoint import PROMPT_WORDS, build_checkpoint
from peft import PeftModel
from vlatune_trainer.models.hf_vla import PROMPT
from vlatune_trainer.normalize import ActionTokenizer
from vlatune_trainer.package import Package, read_shard
from vlatune_trainer.predict import load_policy
from vlatune_trainer.spec import JobSpec

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("tiny-llava"))


def test_tiny_hf_checkpoint_trains_on_action_tokens(
    make_package: Callable[..., Path], checkpoint: Path, tmp_path: Path
) -> None:
    package = make_package()
    spec = write_spec(
        tmp_path,
        package,
        base_model=str(checkpoint),
        max_steps=6,
        batch_size=4,
        action_chunk=2,
        checkpoint_interval=3,
    )
    result = run_trainer(spec)
    assert result.returncode == 0, result.stdout + result.stderr
    events = read_events(tmp_path)
    assert events[0]["type"] == "started" and events[-1]["type"] == "completed"
    started = events[0]
    assert 0 < started["trainable_parameters"] < started["total_parameters"]
    losses = [e["loss"] for e in events if e["type"] == "progress"]
    assert all(np.isfinite(losses))
    final = [e for e in events if e["type"] == "eval"][-1]
    assert 0.0 <= final["val_token_accuracy"] <= 1.0
    assert final["val_l1"] > 0 and final["val_baseline_l1"] > 0
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [3, 6]

    adapter = tmp_path / "output" / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["lora_alpha"] == 16
    described = json.loads((adapter / "model_config.json").read_text())
    assert described["model_type"] == "hf" and described["action_bins"] == 256
    assert described["image_size"] == 32  # the image processor's size: none was given
    base = transformers.AutoModelForImageTextToText.from_pretrained(checkpoint)
    loaded = PeftModel.from_pretrained(base, str(adapter))
    wrapped = [n for n, m in loaded.named_modules() if hasattr(m, "lora_A") and m.lora_A]
    assert any("vision_tower" in n for n in wrapped) and any("language_model" in n for n in wrapped)
    assert not any(n.endswith("lm_head") for n in wrapped)

    first = Package(package).episodes[0]
    frame = next(read_shard(Package(package).shards(first.split)[0]))
    policy = load_policy(adapter)
    assert policy.image_size == 32
    predicted = policy.predict(
        [frame.images[c] for c in Package(package).cameras], first.instruction, []
    )
    statistics = Package(package).statistics["action"]
    assert predicted.shape == (2, len(statistics["mean"]))
    low, high = np.array(statistics["q01"]), np.array(statistics["q99"])
    mask = np.array(statistics["mask"])
    assert np.all(predicted[:, mask] >= low[mask] - 1e-6)
    assert np.all(predicted[:, mask] <= high[mask] + 1e-6)

    # Adapters saved before model_config.json recorded the size were trained at 224.
    del described["image_size"]
    (adapter / "model_config.json").write_text(json.dumps(described))
    assert load_policy(adapter).image_size == 224


def test_the_checkpoint_tokenizer_knows_every_prompt_word() -> None:
    assert PROMPT_WORDS == PROMPT.format(
        instruction="pick up the red green blue yellow purple orange block"
    )


def test_action_tokens_are_the_last_vocabulary_ids(checkpoint: Path) -> None:
    config = transformers.AutoConfig.from_pretrained(checkpoint)
    vocab = config.text_config.vocab_size
    tokenizer = transformers.AutoProcessor.from_pretrained(checkpoint).tokenizer
    tokens = ActionTokenizer(vocab).encode(np.array([-1.0, 0.0, 1.0]))
    assert tokens.min() >= len(tokenizer) and tokens.max() < vocab


def test_workers_prepare_the_model_inputs_the_step_would_compute(
    make_package: Callable[..., Path], checkpoint: Path, tmp_path: Path
) -> None:
    """The training stream's ``model_inputs`` (computed in the data worker that builds the
    batch, which then leaves its frames out) are exactly what the step computes from the same
    batch streamed without them; shuffling instructions drops them."""
    from vlatune_trainer.data import Batcher, BatchSpec, TrainStream
    from vlatune_trainer.models.policy import build
    from vlatune_trainer.train import shuffled_instructions

    package = Package(make_package())
    spec = JobSpec.load(
        write_spec(
            tmp_path, make_package(), base_model=str(checkpoint), image_size=32, action_chunk=2
        )
    )
    proprio = list(range(package.state_dim))
    built = build(spec, package, proprio, torch.device("cpu"))
    assert built.prepare is not None
    batcher = Batcher(
        package,
        BatchSpec(
            image_size=built.image_size,
            cameras=package.cameras[: built.cameras],
            chunk=2,
            proprio=proprio,
            tokenize=built.tokenize,
        ),
    )
    stream = TrainStream(package, batcher, 4, seed=0, workers=2, prepare=built.prepare)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    batch = next(iter(loader))  # made in a worker process
    assert "images" not in batch
    prepared = batch["model_inputs"]
    plain = torch.utils.data.DataLoader(
        TrainStream(package, batcher, 4, seed=0, workers=2), batch_size=None, num_workers=2
    )
    same = next(iter(plain))
    assert torch.equal(same["episode_step"], batch["episode_step"])
    recomputed = built.prepare(same)
    assert prepared.keys() == recomputed.keys() >= {"input_ids", "pixel_values", "labels"}
    for key, value in prepared.items():
        assert torch.equal(value, recomputed[key]), key
    assert "model_inputs" not in shuffled_instructions(batch, np.arange(4)[::-1].copy())


def test_hf_checkpoint_trains_with_data_workers(
    make_package: Callable[..., Path], checkpoint: Path, tmp_path: Path
) -> None:
    package = make_package()
    spec = write_spec(
        tmp_path,
        package,
        base_model=str(checkpoint),
        max_steps=6,
        batch_size=4,
        action_chunk=2,
        checkpoint_interval=6,
        image_size=32,
        data_workers=2,
    )
    result = run_trainer(spec)
    assert result.returncode == 0, result.stdout + result.stderr
    events = read_events(tmp_path)
    assert events[-1]["type"] == "completed" and events[-1]["steps_per_second"] > 0
    assert all(np.isfinite([e["loss"] for e in events if e["type"] == "progress"]))


def sample_batch() -> dict:
    """Three samples whose instructions differ in length, so batched prompts are padded."""
    generator = torch.Generator().manual_seed(0)
    return {
        "images": torch.randint(0, 256, (3, 1, 3, 32, 32), dtype=torch.uint8, generator=generator),
        "instructions": ["pick up the red block", "pick up the block", "pick up the green block"],
        "actions": torch.rand((3, 2, 7), generator=generator) * 2 - 1,
        "mask": torch.tensor([[True, True], [True, False], [True, True]]),
    }


def token_inputs(checkpoint: Path, processor: object | None = None) -> object:
    from vlatune_trainer.models.hf_vla import TokenInputs

    vocab = transformers.AutoConfig.from_pretrained(checkpoint).text_config.vocab_size
    return TokenInputs(processor or transformers.AutoProcessor.from_pretrained(checkpoint), vocab)


def assert_rows_match_samples_alone(inputs: object, batch: dict) -> None:
    together = inputs(batch)
    lengths = together["attention_mask"].sum(1).tolist()
    assert len(set(lengths)) > 1
    for index in range(3):
        alone = inputs({key: value[index : index + 1] for key, value in batch.items()})
        n = lengths[index]
        assert alone["input_ids"].shape[1] == n
        for key in ("input_ids", "labels", "attention_mask"):
            assert torch.equal(together[key][index, :n], alone[key][0]), key
        assert torch.equal(together["pixel_values"][index], alone["pixel_values"][0])
        assert set(together["input_ids"][index, n:].tolist()) <= {inputs.pad}
        assert set(together["labels"][index, n:].tolist()) <= {-100}
    assert (together["labels"][1] != -100).sum() == 7 + 1  # one unpadded step and the EOS


@pytest.mark.parametrize("side", ["right", "left"])
def test_a_sample_encodes_the_same_alone_and_in_a_batch(checkpoint: Path, side: str) -> None:
    """The processor runs once per batch (whichever side its tokenizer pads); every row,
    unpadded, is what the sample gives alone."""
    processor = transformers.AutoProcessor.from_pretrained(checkpoint)
    processor.tokenizer.padding_side = side
    inputs = token_inputs(checkpoint, processor)
    assert_rows_match_samples_alone(inputs, sample_batch())
    assert inputs.batched


class OneSampleProcessor:
    """A processor that, like some remote-code ones, takes one sample per call."""

    def __init__(self, processor: object) -> None:
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.image_token = processor.image_token
        self.calls = 0

    def __call__(self, text: list[str], images: list, **options: object) -> object:
        self.calls += 1
        if len(text) != 1:
            raise ValueError("one sample per call")
        return self.processor(text=text, images=images, **options)


def test_processors_that_take_one_sample_or_cannot_pad_are_called_per_sample(
    checkpoint: Path,
) -> None:
    one = OneSampleProcessor(transformers.AutoProcessor.from_pretrained(checkpoint))
    inputs = token_inputs(checkpoint, one)
    assert_rows_match_samples_alone(inputs, sample_batch())
    assert not inputs.batched
    calls = one.calls
    inputs(sample_batch())
    assert one.calls == calls + 3  # no batched try again

    padless = transformers.AutoProcessor.from_pretrained(checkpoint)
    padless.tokenizer.pad_token = None
    inputs = token_inputs(checkpoint, padless)
    assert not inputs.batched
    assert inputs(sample_batch())["input_ids"].shape[0] == 3


class TokenTypeProcessor(OneSampleProcessor):
    """A processor that returns a per-token input besides the ids (as PaliGemma's does)."""

    def __call__(self, text: list[str], images: list, **options: object) -> object:
        encoded = self.processor(text=text, images=images, **options)
        encoded["token_type_ids"] = torch.zeros_like(encoded["input_ids"])
        return encoded


def test_per_token_processor_inputs_are_refused_by_name(checkpoint: Path) -> None:
    from vlatune_trainer.errors import TrainerError

    processor = TokenTypeProcessor(transformers.AutoProcessor.from_pretrained(checkpoint))
    with pytest.raises(TrainerError, match="token_type_ids") as raised:
        token_inputs(checkpoint, processor)(sample_batch())
    assert raised.value.code == "config_error"


def test_the_step_uses_the_inputs_a_worker_prepared(checkpoint: Path) -> None:
    from vlatune_trainer.models.hf_vla import TokenActionModel

    processor = transformers.AutoProcessor.from_pretrained(checkpoint)
    model = transformers.AutoModelForImageTextToText.from_pretrained(checkpoint)
    tokens = TokenActionModel(processor, model, 2)
    batch = sample_batch()
    batch["model_inputs"] = tokens.inputs(batch)

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the step encoded the batch again")

    tokens.inputs = refuse
    encoded = tokens.encode(batch, torch.device("cpu"))
    assert all(torch.equal(encoded[k], v) for k, v in batch["model_inputs"].items())
    assert torch.isfinite(tokens.loss(batch, torch.device("cpu")))


def test_frames_default_to_the_image_processors_own_size(checkpoint: Path) -> None:
    from types import SimpleNamespace

    from vlatune_trainer.models.hf_vla import DEFAULT_IMAGE_SIZE, native_image_size

    assert native_image_size(transformers.AutoProcessor.from_pretrained(checkpoint)) == 32
    crop = SimpleNamespace(do_center_crop=True, crop_size={"height": 336}, size={"height": 400})
    assert native_image_size(SimpleNamespace(image_processor=crop)) == 336
    fixed = SimpleNamespace(do_center_crop=False, size={"height": 448, "width": 448})
    assert native_image_size(SimpleNamespace(image_processor=fixed)) == 448
    tiled = SimpleNamespace(size={"longest_edge": 1456})
    assert native_image_size(SimpleNamespace(image_processor=tiled)) == DEFAULT_IMAGE_SIZE
    # Qwen-VL's pair is a pixel budget (56 × 56 … 28 × 28 × 16384), not a side.
    budget = SimpleNamespace(size={"shortest_edge": 3136, "longest_edge": 12845056})
    assert native_image_size(SimpleNamespace(image_processor=budget)) == DEFAULT_IMAGE_SIZE
    huge = SimpleNamespace(do_center_crop=False, size={"height": 4096})
    assert native_image_size(SimpleNamespace(image_processor=huge)) == DEFAULT_IMAGE_SIZE
    assert native_image_size(SimpleNamespace()) == DEFAULT_IMAGE_SIZE
