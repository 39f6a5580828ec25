"""Test-only shrinking of LeRobot 0.6.1's pi0 / pi0.5 (PaliGemma + Gemma action expert).

Both families hard-code Gemma sizes (``get_gemma_config``: 2 B and 300 M parameters) and the
SigLIP / vocabulary sizes of PaliGemma-3B at their two construction points. ``install()``
replaces those two points in ``lerobot.policies.pi0.modeling_pi0`` and
``lerobot.policies.pi05.modeling_pi05`` so that a random-weight checkpoint of a few hundred
thousand parameters can be built, trained by vlatune and loaded by LeRobot's runtime in a test.

It lives with the test fixtures and never in the trainer: a real pi0 / pi0.5 checkpoint is
built by the unpatched code. The ``sitecustomize`` next to this file installs it in every
Python process started with this directory on ``PYTHONPATH`` and ``VLATUNE_TINY_GEMMA=1``
(so the trainer processes a test's ``vlatune job start`` spawns are patched too)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

VOCABULARY = 512
"""Token ids of the test tokenizer stay below this (PaliGemma's is 257 152)."""

WIDTHS = {"gemma_2b": 64, "gemma_300m": 32}
"""Hidden sizes standing in for the two variants (the expert is narrower, as in pi0)."""

MODULES = ("lerobot.policies.pi0.modeling_pi0", "lerobot.policies.pi05.modeling_pi05")


def tiny_gemma_config(module: Any, variant: str) -> Any:
    """A 2-layer Gemma of the variant's stand-in width. The joint attention of pi0 reshapes
    to 8 heads (``1 * 8 * head_dim``), so both experts keep 8 heads of a small ``head_dim``."""
    if variant not in WIDTHS:
        raise ValueError(f"Unknown variant: {variant}")
    width = WIDTHS[variant]
    return module.GemmaConfig(
        width=width, depth=2, mlp_dim=2 * width, num_heads=8, num_kv_heads=1, head_dim=8
    )


def shrink_paligemma(config: Any) -> Any:
    """PaliGemma's config as pi0 sets it, with a one-layer SigLIP and a small vocabulary."""
    config._vocab_size = VOCABULARY
    config.image_token_index = VOCABULARY - 1
    config.text_config.vocab_size = VOCABULARY
    vision = config.vision_config
    vision.hidden_size = 32
    vision.intermediate_size = 64
    vision.num_hidden_layers = 1
    vision.num_attention_heads = 2
    vision.patch_size = 8
    vision.projection_dim = config.text_config.hidden_size
    config.projection_dim = config.text_config.hidden_size
    config.hidden_size = config.text_config.hidden_size
    return config


def patch(module: ModuleType) -> None:
    """Shrinks one modeling module's construction points (idempotent)."""
    if getattr(module, "_vlatune_tiny_gemma", False):
        return
    paligemma = module.PaliGemmaForConditionalGenerationWithPiGemma
    expert = module.PiGemmaForCausalLM

    def make_paligemma(config: Any, _real: Any = paligemma) -> Any:
        return _real(config=shrink_paligemma(config))

    def make_expert(config: Any, _real: Any = expert) -> Any:
        config.vocab_size = VOCABULARY
        return _real(config=config)

    module.get_gemma_config = lambda variant, _m=module: tiny_gemma_config(_m, variant)
    module.PaliGemmaForConditionalGenerationWithPiGemma = make_paligemma
    module.PiGemmaForCausalLM = make_expert
    module._vlatune_tiny_gemma = True


def install() -> None:
    """Patches both families' modeling modules, importing them now."""
    for name in MODULES:
        patch(importlib.import_module(name))


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the two modeling modules with the regular finders and patches each one right
    after it has executed."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install_on_import() -> None:
    """Patches the modeling modules when they are imported (for processes a test starts)."""
    if not any(isinstance(finder, _PatchAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchAfterImport())
