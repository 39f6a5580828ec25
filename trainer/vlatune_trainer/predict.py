"""Load base + adapter + statistics and return un-normalized actions for images + instruction.

    python -m vlatune_trainer.predict --adapter jobs/<id>/output/adapter \\
        --image front=frame_front.jpg --image wrist=frame_wrist.jpg \\
        --instruction "pick up the purple block" --state 0.1,0.5,1.0,0,0,0,0.04,0.04
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from peft import PeftModel

from .data import load_images, pixels
from .models.base import adapt_to_dataset, load_tiny_base
from .models.hf_vla import DEFAULT_IMAGE_SIZE, TokenActionModel
from .models.tiny_vla import TinyVLAConfig, tokenize
from .normalize import Normalizer


def load_policy(adapter: Path) -> Policy | TokenPolicy:
    """The right policy class for an adapter directory (tiny-vla or a Hugging Face base)."""
    described = json.loads((adapter / "model_config.json").read_text())
    return TokenPolicy(adapter) if described.get("model_type") == "hf" else Policy(adapter)


class TokenPolicy:
    """A fine-tuned Hugging Face checkpoint: greedy decoding of chunk × action_dim action
    tokens after the OpenVLA prompt, mapped back through the bins and the statistics."""

    def __init__(self, adapter: Path) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        train_config = json.loads((adapter.parent / "train_config.json").read_text())
        statistics = json.loads((adapter / "dataset_statistics.json").read_text())
        ((self.unnorm_key, stats),) = statistics.items()
        described = json.loads((adapter / "model_config.json").read_text())
        hyper = train_config["hyperparameters"]
        remote = bool(hyper.get("trust_remote_code", False))
        processor = AutoProcessor.from_pretrained(
            described["base_model"], local_files_only=True, trust_remote_code=remote
        )
        base = AutoModelForImageTextToText.from_pretrained(
            described["base_model"], local_files_only=True, trust_remote_code=remote
        )
        model = PeftModel.from_pretrained(base, str(adapter)).eval()
        self.tokens = TokenActionModel(processor, model, int(hyper["action_chunk"]))
        self.actions = Normalizer(stats["action"])
        self.action_dim = len(stats["action"]["mean"])
        # Adapters saved before model_config.json recorded the size were trained at
        # image_size, else 224.
        self.image_size = int(
            described.get("image_size") or hyper.get("image_size") or DEFAULT_IMAGE_SIZE
        )

    @torch.no_grad()
    def predict(self, images: list[bytes], instruction: str, state: list[float]) -> np.ndarray:
        """Un-normalized action chunk (chunk × action_dim) for one observation."""
        del state  # the token model reads image and words only, as OpenVLA does
        frames = load_images(images[:1], self.image_size, None)
        count = self.tokens.chunk * self.action_dim
        batch = {
            "images": frames[None],
            "instructions": [instruction],
            "actions": torch.zeros((1, self.tokens.chunk, self.action_dim)),
            "mask": torch.ones((1, self.tokens.chunk), dtype=torch.bool),
        }
        inputs = self.tokens.encode(batch, torch.device("cpu"), with_actions=False)
        inputs.pop("labels")
        generated = self.tokens.model.generate(
            **inputs, max_new_tokens=count, min_new_tokens=count, do_sample=False
        )
        tokens = generated[0, -count:].numpy()
        normalized = self.tokens.tokenizer.decode(tokens).reshape(self.tokens.chunk, -1)
        return self.actions.unnormalize(normalized.astype(np.float32))


class Policy:
    """A fine-tuned tiny-vla: base + LoRA adapter + the dataset statistics saved next to it."""

    def __init__(self, adapter: Path) -> None:
        train_config = json.loads((adapter.parent / "train_config.json").read_text())
        statistics = json.loads((adapter / "dataset_statistics.json").read_text())
        ((self.unnorm_key, stats),) = statistics.items()
        self.config = TinyVLAConfig.load(adapter / "model_config.json")
        base = load_tiny_base()
        hyper = train_config["hyperparameters"]
        adapt_to_dataset(
            base, self.config.action_dim, self.config.state_dim, self.config.chunk, hyper["seed"]
        )
        self.model = PeftModel.from_pretrained(base, str(adapter)).eval()
        self.actions = Normalizer(stats["action"])
        self.states = Normalizer(stats["proprio"], use_mask=False)
        self.proprio = train_config.get("proprio_dims")
        self.cameras = train_config.get("cameras")

    @torch.no_grad()
    def predict_normalized(
        self, images: torch.Tensor, words: torch.Tensor, state: torch.Tensor
    ) -> np.ndarray:
        return self.model(images, words, state).numpy()

    def predict(self, images: list[bytes], instruction: str, state: list[float]) -> np.ndarray:
        """Un-normalized action chunk (chunk × action_dim) for one observation."""
        frames = load_images(images, self.config.image_size, None)
        tensor = pixels(frames, torch.device("cpu")).unsqueeze(0)
        words = torch.tensor([tokenize(instruction, self.config)])
        normalized_state = self.states.normalize(np.asarray(state, dtype=np.float32))
        dims = self.proprio if self.proprio is not None else list(range(len(normalized_state)))
        selected = [normalized_state[i] for i in dims] if dims else [0.0]
        chunk = self.predict_normalized(
            tensor, words, torch.tensor([selected], dtype=torch.float32)
        )[0]
        return self.actions.unnormalize(chunk)


def main() -> int:
    parser = argparse.ArgumentParser(prog="vlatune_trainer.predict", description=__doc__)
    parser.add_argument("--adapter", required=True, type=Path)
    parser.add_argument(
        "--image", action="append", required=True, help="CAMERA=PATH, in camera order"
    )
    parser.add_argument("--instruction", required=True)
    parser.add_argument("--state", default="", help="comma-separated state values")
    args = parser.parse_args()
    policy = load_policy(args.adapter)
    images = [Path(item.split("=", 1)[-1]).read_bytes() for item in args.image]
    state = [float(v) for v in args.state.split(",") if v.strip()]
    actions = policy.predict(images, args.instruction, state)
    print(json.dumps({"unnorm_key": policy.unnorm_key, "actions": actions.tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
