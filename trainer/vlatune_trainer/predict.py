"""Load base + adapter + statistics and return un-normalized actions for images + instruction.

    python -m vlatune_trainer.predict --adapter jobs/<id>/output/adapter \\
        --image front=frame_front.jpg --image wrist=frame_wrist.jpg \\
        --instruction "pick up the purple block" --state 0.1,0.5,1.0,0,0,0,0.04,0.04
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import torch
from peft import PeftModel
from PIL import Image

from .images import load_images, pixels
from .models.base import adapt_to_dataset, load_tiny_base
from .models.hf_vla import DEFAULT_IMAGE_SIZE, TokenActionModel
from .models.tiny_vla import TinyVLAConfig, tokenize
from .normalize import Normalizer


def load_policy(adapter: Path) -> Policy | TokenPolicy | LeRobotPolicy:
    """The right policy class for an adapter directory (tiny-vla, a Hugging Face base, or a
    LeRobot policy)."""
    described = json.loads((adapter / "model_config.json").read_text())
    kind = described.get("model_type")
    if kind == "lerobot":
        return LeRobotPolicy(adapter)
    return TokenPolicy(adapter) if kind == "hf" else Policy(adapter)


class LeRobotPolicy:
    """A fine-tuned LeRobot policy, loaded the way LeRobot deploys it (``make_policy`` with the
    PEFT adapter, the saved pre/post processors with vlatune's statistics); images arrive in
    the order of the cameras it was trained on."""

    def __init__(self, adapter: Path) -> None:
        from types import SimpleNamespace

        from lerobot.configs.policies import PreTrainedConfig
        from lerobot.policies.factory import make_policy, make_pre_post_processors

        train_config = json.loads((adapter.parent / "train_config.json").read_text())
        statistics = json.loads((adapter / "dataset_statistics.json").read_text())
        ((self.unnorm_key, _),) = statistics.items()
        config = PreTrainedConfig.from_pretrained(str(adapter))
        config.pretrained_path = str(adapter)
        config.device = "cpu"
        described = json.loads((adapter / "model_config.json").read_text())
        features = {}
        shapes: dict[str, tuple[int, int]] = {}
        for key, feature in {**config.input_features, **config.output_features}.items():
            shape = list(feature.shape)
            if key.startswith("observation.images."):
                shapes[key] = (shape[1], shape[2])
                features[key] = {
                    "dtype": "video",
                    "shape": [shape[1], shape[2], shape[0]],
                    "names": ["height", "width", "channels"],
                }
            else:
                features[key] = {"dtype": "float32", "shape": shape, "names": None}
        # Slots in the order of the cameras the images arrive in (model_config's slot → camera).
        self.slots = [(slot, shapes[slot]) for slot in described["image_map"]]
        self.has_state = "observation.state" in config.input_features
        # Families with observation history (diffusion: n_obs_steps 2) see the one observation
        # repeated, as LeRobot's own queues do at an episode's first step.
        self.history = int(getattr(config, "n_obs_steps", 1) or 1)
        # The actions of a chunk LeRobot runs before it predicts again (its deployment horizon).
        self.action_steps = int(getattr(config, "n_action_steps", 0) or 0)
        self.proprio = train_config.get("proprio_dims")
        self.cameras = train_config.get("cameras")
        self.model = make_policy(config, ds_meta=SimpleNamespace(features=features)).eval()
        self.pre, self.post = make_pre_post_processors(config, pretrained_path=str(adapter))

    @torch.no_grad()
    def predict(self, images: list[bytes], instruction: str, state: list[float]) -> np.ndarray:
        """Un-normalized action chunk (chunk × action_dim) for one observation."""
        import io

        from PIL import Image

        if len(images) != len(self.slots):
            raise SystemExit(
                f"the policy takes {len(self.slots)} images (cameras, in order: "
                f"{', '.join(self.cameras or [])}); got {len(images)}"
            )
        observation: dict[str, object] = {"task": instruction}
        for (slot, (height, width)), data in zip(self.slots, images, strict=True):
            frame = Image.open(io.BytesIO(data)).convert("RGB").resize((width, height))
            pixels = torch.from_numpy(np.asarray(frame, dtype=np.float32) / 255)
            observation[slot] = pixels.permute(2, 0, 1)
        if self.has_state:
            dims = self.proprio if self.proprio is not None else list(range(len(state)))
            observation["observation.state"] = torch.tensor(
                [state[i] for i in dims], dtype=torch.float32
            )
        inputs = self.pre(observation)
        if self.history > 1:
            for key in [k for k in inputs if k.startswith("observation.")]:
                value = inputs[key]
                if isinstance(value, torch.Tensor) and not key.startswith("observation.language"):
                    inputs[key] = value.unsqueeze(1).repeat_interleave(self.history, dim=1)
        chunk = self.model.predict_action_chunk(inputs)
        return self.post(chunk).numpy()[0]


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

    def __init__(self, adapter: Path, untrained: bool = False) -> None:
        """``untrained``: the model as the job started it (the base with the dataset's heads
        drawn from the job's seed, LoRA at its zero start), which is what fine-tuning is
        measured against."""
        train_config = json.loads((adapter.parent / "train_config.json").read_text())
        statistics = json.loads((adapter / "dataset_statistics.json").read_text())
        ((self.unnorm_key, stats),) = statistics.items()
        self.config = TinyVLAConfig.load(adapter / "model_config.json")
        base = load_tiny_base()
        hyper = train_config["hyperparameters"]
        adapt_to_dataset(
            base, self.config.action_dim, self.config.state_dim, self.config.chunk, hyper["seed"]
        )
        self.model = (base if untrained else PeftModel.from_pretrained(base, str(adapter))).eval()
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


class PredictError(Exception):
    """A bad request: printed as one line and exited with its status (64 usage, 65 bad data,
    66 missing input), never a traceback."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def describe_adapter(adapter: Path) -> tuple[list[str], list[str], int | None]:
    """The cameras an adapter takes, in its order (a camera can fill two slots: tiny-vla repeats
    a single-camera dataset's camera); every camera of the dataset it was trained on; and the
    length of the state it expects (``None`` when it reads no state)."""
    needed = [adapter / "model_config.json", adapter / "dataset_statistics.json"]
    needed.append(adapter.parent / "train_config.json")
    if not adapter.is_dir() or any(not path.is_file() for path in needed):
        missing = ", ".join(str(p) for p in needed if not p.is_file())
        raise PredictError(
            66,
            f"{adapter} is not a vlatune adapter directory (missing {missing or 'the directory'}); "
            "pass a job's output/adapter (or output/best), or use 'vlatune predict JOB'",
        )
    try:
        described = json.loads((adapter / "model_config.json").read_text())
        train_config = json.loads((adapter.parent / "train_config.json").read_text())
        statistics = json.loads((adapter / "dataset_statistics.json").read_text())
        ((_, stats),) = statistics.items()
    except (ValueError, TypeError) as error:
        raise PredictError(65, f"the adapter files in {adapter} are damaged: {error}") from error
    dataset_cameras = [str(camera) for camera in train_config.get("cameras") or []]
    if described.get("model_type") == "lerobot":
        cameras = [str(camera) for camera in described.get("image_map", {}).values()]
    else:
        cameras = dataset_cameras
    reads_state = described.get("model_type") != "hf" and "proprio" in stats
    state_length = len(stats["proprio"]["mean"]) if reads_state else None
    return cameras, list(dict.fromkeys(cameras + dataset_cameras)), state_length


def read_request(
    adapter: Path, image_arguments: list[str], state_text: str
) -> tuple[list[bytes], list[float]]:
    """The images in the adapter's camera order and the state, checked against the adapter."""
    cameras, known, state_length = describe_adapter(adapter)
    given: dict[str, Path] = {}
    for item in image_arguments:
        name, separator, path = item.partition("=")
        if not separator or not name or not path:
            raise PredictError(64, f"--image takes CAMERA=PATH, got {item!r}")
        if name in given:
            raise PredictError(64, f"--image {name} is given twice")
        given[name] = Path(path)
    trained = ", ".join(dict.fromkeys(cameras)) or "none"
    unknown = [name for name in given if name not in known]
    if unknown:
        raise PredictError(
            64, f"unknown camera {unknown[0]!r}: the adapter was trained on cameras {trained}"
        )
    for name in given:
        if name not in cameras:
            print(f"note: camera {name} is not one this policy reads; ignored", file=sys.stderr)
    missing = list(dict.fromkeys(camera for camera in cameras if camera not in given))
    if missing:
        raise PredictError(
            64,
            f"missing --image {missing[0]}=PATH: the adapter was trained on cameras {trained} "
            "and needs one image of each",
        )
    read: dict[str, bytes] = {}
    for camera in dict.fromkeys(cameras):
        path = given[camera]
        if not path.is_file():
            raise PredictError(66, f"--image {camera}={path}: no such file")
        data = path.read_bytes()
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
        except Exception as error:  # PIL raises many kinds for a file that is not an image
            raise PredictError(
                65, f"--image {camera}={path} is not a readable image ({error})"
            ) from error
        read[camera] = data
    images = [read[camera] for camera in cameras]
    try:
        state = [float(v) for v in state_text.split(",") if v.strip()]
    except ValueError as error:
        raise PredictError(
            64, f"--state takes comma-separated numbers, got {state_text!r}"
        ) from error
    if state_length is not None and len(state) != state_length:
        raise PredictError(
            64,
            f"--state needs {state_length} comma-separated values (the dataset's state), "
            f"got {len(state)}",
        )
    return images, state


def main() -> int:
    parser = argparse.ArgumentParser(prog="vlatune_trainer.predict", description=__doc__)
    parser.add_argument("--adapter", required=True, type=Path)
    parser.add_argument(
        "--image", action="append", default=[], help="CAMERA=PATH, one per trained camera"
    )
    parser.add_argument("--instruction", required=True)
    parser.add_argument("--state", default="", help="comma-separated state values")
    args = parser.parse_args()
    try:
        images, state = read_request(args.adapter, args.image, args.state)
        # stdout carries the one JSON document; what libraries print while loading goes to
        # stderr.
        with contextlib.redirect_stdout(sys.stderr):
            policy = load_policy(args.adapter)
            try:
                actions = policy.predict(images, args.instruction, state)
            except OSError as error:  # PIL cannot read an image
                raise PredictError(65, f"an --image is not a readable image: {error}") from error
    except PredictError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return error.status
    print(json.dumps({"unnorm_key": policy.unnorm_key, "actions": actions.tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
