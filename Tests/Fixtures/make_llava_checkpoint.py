#!/usr/bin/env python3
"""A randomly initialised LLaVA-class checkpoint (CLIP vision tower + Llama) with a word-level
tokenizer trained here, saved with its processor: a local Hugging Face base model that needs no
network. The vocabulary leaves 256 ids free for OpenVLA-style action bins.

``tiny`` (~0.2 M parameters) is what the trainer's tests fine-tune on CPU; ``large`` (~0.55 B,
a 224 px ViT-B/14-like tower and a 1.5 k-wide, 16-layer language model, stored in bf16) is the
GPU benchmark's larger configuration (bench/trainer_memory.py).

    python Tests/Fixtures/make_llava_checkpoint.py --out DIR [--size tiny|large]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

PROMPT_WORDS = (
    "In: What action should the robot take to pick up the red green blue yellow purple orange "
    "block?\nOut:"
)
"""Every word of the trainer's prompt (vlatune_trainer.models.hf_vla.PROMPT) with the sample
datasets' instructions, so the word-level tokenizer knows them all."""


@dataclass(frozen=True)
class Size:
    """The widths and depths of the two towers."""

    text_hidden: int
    text_intermediate: int
    text_layers: int
    text_heads: int
    vision_hidden: int
    vision_intermediate: int
    vision_layers: int
    vision_heads: int
    image_size: int
    patch_size: int
    dtype: torch.dtype

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2


SIZES = {
    "tiny": Size(64, 128, 2, 4, 32, 64, 2, 4, 32, 8, torch.float32),
    "large": Size(1536, 4096, 16, 12, 768, 3072, 12, 12, 224, 14, torch.bfloat16),
}


def build_checkpoint(directory: Path, size: Size = SIZES["tiny"], seed: int = 0) -> Path:
    """Writes the checkpoint (config, safetensors weights, processor files) to ``directory``."""
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
    special = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
    words.train_from_iterator([PROMPT_WORDS], trainers.WordLevelTrainer(special_tokens=special))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer) + 256,
        hidden_size=size.text_hidden,
        intermediate_size=size.text_intermediate,
        num_hidden_layers=size.text_layers,
        num_attention_heads=size.text_heads,
        num_key_value_heads=size.text_heads,
        # image tokens, the prompt and up to 256 action tokens
        max_position_embeddings=max(128, size.image_tokens + 320),
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    vision = CLIPVisionConfig(
        hidden_size=size.vision_hidden,
        intermediate_size=size.vision_intermediate,
        num_hidden_layers=size.vision_layers,
        num_attention_heads=size.vision_heads,
        image_size=size.image_size,
        patch_size=size.patch_size,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
        image_seq_length=size.image_tokens,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).to(size.dtype)
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": size.image_size},
            crop_size={"height": size.image_size, "width": size.image_size},
        ),
        tokenizer=tokenizer,
        patch_size=size.patch_size,
        vision_feature_select_strategy="default",
        image_token="<image>",
        num_additional_image_tokens=1,
    )
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    build_checkpoint(args.out, SIZES[args.size], args.seed)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
