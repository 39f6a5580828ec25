"""A Hugging Face vision-language checkpoint in a local directory, fine-tuned OpenVLA-style.

Actions are normalized with the package's q01/q99 (clipped, per the mask), discretized into 256
uniform bins over [-1, 1] and written as the last ids of the language model's vocabulary; the
model reads the first camera's image and the prompt
``In: What action should the robot take to {instruction}?\\nOut:`` and is trained with the
language-modelling loss on the action tokens (and the end-of-sequence token) only. An action
chunk of H steps is H × action_dim tokens; steps past the episode end are ignored by the loss.

Works with ``AutoModelForImageTextToText`` checkpoints whose processor takes
``text=…, images=…`` (LLaVA, Idefics3/SmolVLM, PaliGemma class), and with checkpoints that need
their own code (OpenVLA) when ``trust_remote_code`` is allowed; nothing is downloaded
(``local_files_only``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import TrainerError
from ..normalize import ActionTokenizer

PROMPT = "In: What action should the robot take to {instruction}?\nOut:"
BINS = 256


def is_checkpoint_directory(base_model: str) -> bool:
    """A base model given as a local directory with a ``config.json``."""
    return (Path(base_model).expanduser() / "config.json").is_file()


def load_checkpoint(
    directory: Path, dtype: torch.dtype, trust_remote_code: bool
) -> tuple[Any, Any]:
    """(processor, model) from a local directory, offline."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(
            directory, local_files_only=True, trust_remote_code=trust_remote_code
        )
        model = AutoModelForImageTextToText.from_pretrained(
            directory, local_files_only=True, dtype=dtype, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError, KeyError) as error:
        raise TrainerError(
            "config_error",
            f"base_model {directory} is not a loadable vision-language checkpoint: {error}",
        ) from error
    return processor, model


DEFAULT_IMAGE_SIZE = 224
"""The frames' size when neither ``image_size`` nor the checkpoint's image processor gives one."""


def native_image_size(processor: Any) -> int:
    """The square size the checkpoint's image processor hands its vision tower: its centre crop
    when it crops, else its fixed height or its shortest edge; ``DEFAULT_IMAGE_SIZE`` when it
    has none of these within [16, 2048] (processors that tile, keep the aspect ratio, or give a
    pixel budget as Qwen-VL's ``shortest_edge``/``longest_edge`` pair does)."""
    images = getattr(processor, "image_processor", None)
    candidates = []
    if getattr(images, "do_center_crop", False):
        candidates.append(getattr(images, "crop_size", None))
    candidates.append(getattr(images, "size", None))

    def field(value: Any, key: str) -> Any:
        # a dict in older transformers, a SizeDict (attributes) in newer ones
        return value.get(key) if isinstance(value, dict) else getattr(value, key, None)

    for value in candidates:
        sides = [value] if isinstance(value, int) else [field(value, "height")]
        if field(value, "longest_edge") is None:
            sides.append(field(value, "shortest_edge"))
        for side in sides:
            if isinstance(side, int) and 16 <= side <= 2048:
                return side
    return DEFAULT_IMAGE_SIZE


class TokenInputs:
    """Batches → the model's CPU input tensors: the processor's prompt ids and pixel values,
    the action tokens and their labels.

    It holds the processor and no model, so a training data worker can run it ahead of the step
    (``TrainStream``'s ``prepare``: the batch's ``model_inputs``); the training process then
    only copies the tensors to its device.
    """

    def __init__(self, processor: Any, vocab_size: int) -> None:
        self.processor = processor
        tokenizer = processor.tokenizer
        if vocab_size < BINS + len(tokenizer.all_special_ids) + 1:
            raise TrainerError(
                "config_error",
                f"vocabulary of {vocab_size} ids is too small for {BINS} action bins",
            )
        self.tokenizer = ActionTokenizer(vocab_size, BINS)
        self.eos = tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.image_token = getattr(processor, "image_token", None)
        # Whether the processor is called once per batch (see ``processed``).
        self.batched = tokenizer.pad_token_id is not None

    def prompt(self, instruction: str) -> str:
        text = PROMPT.format(instruction=instruction.lower().rstrip("."))
        return f"{self.image_token}{text}" if self.image_token else text

    def __call__(self, batch: dict[str, Any], with_actions: bool = True) -> dict[str, torch.Tensor]:
        """input_ids, attention_mask, pixel_values and labels (−100 except action tokens)."""
        frames = [
            Image.fromarray(image) for image in batch["images"][:, 0].permute(0, 2, 3, 1).numpy()
        ]
        prompts = [self.prompt(instruction) for instruction in batch["instructions"]]
        prompt_rows, pixels = self.processed(prompts, frames)
        rows: list[list[int]] = []
        labels: list[list[int]] = []
        actions = batch["actions"].numpy()
        masks = batch["mask"].numpy()
        for index, prompt_ids in enumerate(prompt_rows):
            if not with_actions:
                rows.append(prompt_ids)
                labels.append([-100] * len(prompt_ids))
                continue
            tokens = self.tokenizer.encode(actions[index]).astype(np.int64)
            target = [
                int(t) if masks[index][step] else -100
                for step, row in enumerate(tokens)
                for t in row
            ]
            ids = [int(t) for row in tokens for t in row]
            rows.append(prompt_ids + ids + [self.eos])
            labels.append([-100] * len(prompt_ids) + target + [self.eos])
        length = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), length), self.pad, dtype=torch.long)
        attention = torch.zeros((len(rows), length), dtype=torch.long)
        label_tensor = torch.full((len(rows), length), -100, dtype=torch.long)
        for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
            input_ids[index, : len(row)] = torch.tensor(row)
            attention[index, : len(row)] = 1
            label_tensor[index, : len(label)] = torch.tensor(label)
        return {
            "input_ids": input_ids,
            "attention_mask": attention,
            "labels": label_tensor,
            **pixels,
        }

    def processed(
        self, prompts: list[str], frames: list[Image.Image]
    ) -> tuple[list[list[int]], dict[str, torch.Tensor]]:
        """Each prompt's ids (with the processor's image tokens) and the image inputs, batch
        first.

        One processor call for the whole batch where the processor takes one (one image per
        sample as a nested list, padding to the longest prompt; each row keeps its unpadded
        ids, so a sample's tensors do not depend on its batch): at 16 samples of a 224 px CLIP
        processor that halved its CPU time, the half that was per-call overhead. A processor
        that refuses the batch, answers it with the wrong number of rows, or whose tokenizer
        cannot pad (no pad token) is called once per sample instead, from then on.
        """
        if self.batched:
            try:
                encoded = self.processor(
                    text=prompts,
                    images=[[frame] for frame in frames],
                    return_tensors="pt",
                    padding=True,
                )
            except (ValueError, TypeError):
                encoded = None
            rows = len(prompts)
            if encoded is not None and all(
                value.shape[0] == rows
                for value in encoded.values()
                if isinstance(value, torch.Tensor)
            ):
                unpadded = encoded["attention_mask"].bool()
                ids = [encoded["input_ids"][i][unpadded[i]].tolist() for i in range(rows)]
                return ids, image_inputs(encoded)
            self.batched = False
        ids = []
        parts: dict[str, list[torch.Tensor]] = {}
        for prompt, frame in zip(prompts, frames, strict=True):
            encoded = self.processor(text=[prompt], images=[frame], return_tensors="pt")
            ids.append(encoded["input_ids"][0].tolist())
            for key, value in image_inputs(encoded).items():
                parts.setdefault(key, []).append(value[0])
        return ids, {key: torch.stack(values) for key, values in parts.items()}


def image_inputs(encoded: Any) -> dict[str, torch.Tensor]:
    """A processor's output without its token-level inputs: ``pixel_values`` and any other
    per-sample tensor (image sizes, pixel masks). The trainer builds ``input_ids``,
    ``attention_mask`` and ``labels`` itself; other per-token inputs (PaliGemma's and Gemma 3's
    ``token_type_ids``, Qwen-VL's ``mm_token_type_ids``) mean different things per model
    family for the appended action tokens, so they are refused rather than guessed."""
    width = encoded["input_ids"].shape[1]
    result = {}
    for key, value in encoded.items():
        if key in ("input_ids", "attention_mask", "labels") or not isinstance(value, torch.Tensor):
            continue
        if key != "pixel_values" and value.dim() == 2 and value.shape[1] == width:
            raise TrainerError(
                "config_error",
                f"the checkpoint's processor returns {key!r} for every token, which this "
                "trainer cannot extend over the action tokens; use a LLaVA-class checkpoint "
                "(image tokens in the prompt, no other per-token inputs)",
            )
        result[key] = value
    return result


class TokenActionModel:
    """Batches → prompt + action tokens, loss on the action tokens, and decoded predictions."""

    def __init__(self, processor: Any, model: torch.nn.Module, chunk: int) -> None:
        self.processor = processor
        self.model = model
        self.chunk = chunk
        self.vocab_size = int(model.config.get_text_config().vocab_size)
        self.inputs = TokenInputs(processor, self.vocab_size)
        self.tokenizer = self.inputs.tokenizer

    def encode(
        self, batch: dict[str, Any], device: torch.device, with_actions: bool = True
    ) -> dict[str, torch.Tensor]:
        """The model's inputs on ``device``: those a data worker computed (``model_inputs``),
        else computed here."""
        prepared = batch.get("model_inputs") if with_actions else None
        inputs = prepared if prepared is not None else self.inputs(batch, with_actions)
        return {key: value.to(device, non_blocking=True) for key, value in inputs.items()}

    def loss(
        self, batch: dict[str, Any], device: torch.device, module: torch.nn.Module | None = None
    ) -> torch.Tensor:
        return (module or self.model)(**self.encode(batch, device)).loss

    @torch.no_grad()
    def predict(self, batch: dict[str, Any], device: torch.device) -> tuple[np.ndarray, float]:
        """Teacher-forced predictions of the action tokens → normalized actions
        (B, chunk, action_dim), and the token accuracy on unpadded steps."""
        inputs = self.encode(batch, device)
        labels = inputs.pop("labels")
        logits = self.model(**inputs).logits
        predicted = logits[:, :-1].argmax(-1)
        targets = labels[:, 1:]
        action_dim = batch["actions"].shape[-1]
        count = self.chunk * action_dim
        decoded = np.zeros((len(predicted), count), dtype=np.float32)
        hits, total = 0, 0
        for index in range(len(predicted)):
            positions = (targets[index] != -100).nonzero().flatten()
            # The first chunk × action_dim labelled positions (padded steps skipped) are actions.
            start = int(positions[0]) if len(positions) else 0
            tokens = predicted[index, start : start + count].cpu().numpy()
            decoded[index, : len(tokens)] = self.tokenizer.decode(tokens)
            wanted = targets[index, start : start + count]
            valid = wanted != -100
            hits += int((predicted[index, start : start + count][valid] == wanted[valid]).sum())
            total += int(valid.sum())
        accuracy = hits / total if total else 0.0
        return decoded.reshape(len(predicted), self.chunk, action_dim), accuracy


def describe(directory: Path, image_size: int) -> dict[str, Any]:
    """What an adapter's ``model_config.json`` records for a Hugging Face base, with the size
    its frames were resized to in training (which prediction must use too)."""
    config = json.loads((directory / "config.json").read_text())
    return {
        "model_type": "hf",
        "base_model": str(directory),
        "architecture": (config.get("architectures") or ["?"])[0],
        "action_bins": BINS,
        "prompt": PROMPT,
        "image_size": image_size,
    }
