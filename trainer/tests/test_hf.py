"""The Hugging Face checkpoint path: a tiny, randomly initialised LLaVA-class model with a
tokenizer trained here (no network) is fine-tuned with OpenVLA-style action tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import read_events, run_trainer, write_spec
from peft import PeftModel
from vlatune_trainer.models.hf_vla import PROMPT
from vlatune_trainer.normalize import ActionTokenizer
from vlatune_trainer.package import Package, read_shard
from vlatune_trainer.predict import load_policy

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")


def build_checkpoint(directory: Path) -> Path:
    """A 2-layer LLaVA (CLIP vision tower + Llama) with a word-level tokenizer over the prompt's
    words, saved with its processor; the vocabulary leaves 256 ids free for action bins."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    words = Tokenizer(models.WordLevel(unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = [PROMPT.format(instruction="pick up the red green blue yellow purple orange block")]
    special = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
    words.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=special))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer) + 256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=32,
        patch_size=8,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
        image_seq_length=16,
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
        ),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        image_token="<image>",
        num_additional_image_tokens=1,
    )
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


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
        image_size=32,
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
    base = transformers.AutoModelForImageTextToText.from_pretrained(checkpoint)
    loaded = PeftModel.from_pretrained(base, str(adapter))
    wrapped = [n for n, m in loaded.named_modules() if hasattr(m, "lora_A") and m.lora_A]
    assert any("vision_tower" in n for n in wrapped) and any("language_model" in n for n in wrapped)
    assert not any(n.endswith("lm_head") for n in wrapped)

    first = Package(package).episodes[0]
    frame = next(read_shard(Package(package).shards(first.split)[0]))
    predicted = load_policy(adapter).predict(
        [frame.images[c] for c in Package(package).cameras], first.instruction, []
    )
    statistics = Package(package).statistics["action"]
    assert predicted.shape == (2, len(statistics["mean"]))
    low, high = np.array(statistics["q01"]), np.array(statistics["q99"])
    mask = np.array(statistics["mask"])
    assert np.all(predicted[:, mask] >= low[mask] - 1e-6)
    assert np.all(predicted[:, mask] <= high[mask] + 1e-6)


def test_action_tokens_are_the_last_vocabulary_ids(checkpoint: Path) -> None:
    config = transformers.AutoConfig.from_pretrained(checkpoint)
    vocab = config.text_config.vocab_size
    tokenizer = transformers.AutoProcessor.from_pretrained(checkpoint).tokenizer
    tokens = ActionTokenizer(vocab).encode(np.array([-1.0, 0.0, 1.0]))
    assert tokens.min() >= len(tokenizer) and tokens.max() < vocab
