"""tiny-vla: a small vision-language-action transformer that trains in minutes on a CPU.

Every camera image, with two coordinate channels added (CoordConv), goes through a small
convolutional patch encoder to a 4×4 grid of tokens; the instruction's words are embedded from a
fixed vocabulary (words hashed into buckets); the proprioceptive state is one token. Pre-LN
transformer blocks mix them, and an OFT-style head predicts a chunk of continuous, normalized
actions trained with an L1 loss. The transformer's projections are ``nn.Linear`` so
LoRA can wrap them; the head is trained fully and saved with the adapter.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class TinyVLAConfig:
    """Architecture of a tiny-vla model; stored as ``config.json`` next to its weights."""

    image_size: int = 64
    patch_size: int = 16
    cameras: int = 2
    width: int = 128
    depth: int = 4
    heads: int = 4
    vocabulary: int = 512
    max_words: int = 12
    state_dim: int = 8
    action_dim: int = 7
    chunk: int = 4

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def stem_layers(self) -> int:
        return int(math.log2(self.patch_size))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"model_type": "tiny-vla", **asdict(self)}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TinyVLAConfig:
        data = json.loads(path.read_text())
        data.pop("model_type", None)
        return cls(**data)


def tokenize(instruction: str, config: TinyVLAConfig) -> list[int]:
    """Word ids in [1, vocabulary): a stable hash of each lower-cased word; 0 pads."""
    ids = []
    for word in instruction.lower().replace(",", " ").replace(".", " ").split()[: config.max_words]:
        digest = hashlib.sha256(word.encode()).digest()
        ids.append(1 + int.from_bytes(digest[:4], "little") % (config.vocabulary - 1))
    return ids + [0] * (config.max_words - len(ids))


class Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.o_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        shape = (batch, length, self.heads, width // self.heads)
        q = self.q_proj(x).view(shape).transpose(1, 2)
        k = self.k_proj(x).view(shape).transpose(1, 2)
        v = self.v_proj(x).view(shape).transpose(1, 2)
        mask = (~padding)[:, None, None, :]
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), padding)
        return x + self.fc2(nn.functional.gelu(self.fc1(self.norm2(x))))


class ActionHead(nn.Module):
    """OFT-style continuous head: ``chunk`` learned queries read the sequence, then a linear map."""

    def __init__(self, config: TinyVLAConfig) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(config.chunk, config.width) * 0.02)
        self.attention = nn.MultiheadAttention(config.width, config.heads, batch_first=True)
        self.norm = nn.LayerNorm(config.width)
        self.out = nn.Linear(config.width, config.action_dim)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        queries = self.queries.unsqueeze(0).expand(x.shape[0], -1, -1)
        read, _ = self.attention(queries, x, x, key_padding_mask=padding, need_weights=False)
        return self.out(self.norm(read + queries))


class PatchEncoder(nn.Module):
    """Strided 3×3 convolutions (plus x/y coordinate channels) down to one token per patch."""

    def __init__(self, config: TinyVLAConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 5
        for index in range(config.stem_layers):
            out = (
                config.width
                if index == config.stem_layers - 1
                else min(32 * 2**index, config.width)
            )
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.GELU()]
            channels = out
        self.layers = nn.Sequential(*layers[:-1])
        self.proj = nn.Linear(config.width, config.width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch, height, width = images.shape[0], images.shape[-2], images.shape[-1]
        ys = (
            torch.linspace(-1, 1, height, device=images.device)
            .view(1, 1, height, 1)
            .expand(batch, 1, height, width)
        )
        xs = (
            torch.linspace(-1, 1, width, device=images.device)
            .view(1, 1, 1, width)
            .expand(batch, 1, height, width)
        )
        features = self.layers(torch.cat([images * 2 - 1, xs, ys], dim=1))
        return self.proj(features.flatten(2).transpose(1, 2))


class TinyVLA(nn.Module):
    """Images (B, cameras, 3, H, W) in [0, 1], word ids (B, words), state (B, state_dim) →
    normalized actions (B, chunk, action_dim)."""

    def __init__(self, config: TinyVLAConfig) -> None:
        super().__init__()
        self.config = config
        self.patch_embed = PatchEncoder(config)
        self.word_embed = nn.Embedding(config.vocabulary, config.width)
        self.state_embed = nn.Linear(config.state_dim, config.width)
        tokens = config.cameras * config.patches + config.max_words + 1
        self.position = nn.Parameter(torch.randn(tokens, config.width) * 0.02)
        self.blocks = nn.ModuleList(Block(config.width, config.heads) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.width)
        self.action_head = ActionHead(config)

    def forward(
        self, images: torch.Tensor, words: torch.Tensor, state: torch.Tensor
    ) -> torch.Tensor:
        batch = images.shape[0]
        patches = self.patch_embed(images.flatten(0, 1)).reshape(batch, -1, self.config.width)
        text = self.word_embed(words)
        proprio = self.state_embed(state).unsqueeze(1)
        x = torch.cat([patches, text, proprio], dim=1) + self.position
        padding = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        padding[:, patches.shape[1] : patches.shape[1] + words.shape[1]] = words == 0
        for block in self.blocks:
            x = block(x, padding)
        return self.action_head(self.norm(x), padding)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


def linear_module_names(model: nn.Module) -> list[str]:
    """Names of the backbone's linear layers (what ``all-linear`` LoRA wraps; not the head)."""
    return sorted(
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and not name.startswith("action_head")
    )


def init_weights(model: TinyVLA) -> None:
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
