"""Tiny random-weight LeRobot policy checkpoints (SmolVLA, pi0, pi0.5, GR00T N1.7, ACT, diffusion)
for tests and benchmarks, built offline from small local configs with LeRobot 0.6.1's own classes.

    python Tests/Fixtures/lerobot_checkpoints.py --family act --out DIR [--state-dim 8 ...]

SmolVLA's backbone is a tiny SmolVLM (2 text layers of width 64, one vision layer) with a
word-level tokenizer, written next to the checkpoint (``DIR/vlm``) and named by the config's
``vlm_model_name``; ``--smolvlm-name ID`` records a hub id instead (the directory is then what
``--tokenizer`` must be given).

pi0 and pi0.5 hard-code PaliGemma-3B's sizes; they are built shrunk by the test-only patch in
``tiny_gemma/`` (installed here, and in trainer processes through its ``sitecustomize`` with
``VLATUNE_TINY_GEMMA=1``). Their processors name PaliGemma's tokenizer on the hub; a word-level
stand-in is written to ``DIR/tokenizer``, the directory a job's ``--tokenizer`` names.

GR00T N1.7 is two checkpoints, as LeRobot builds it: a raw GR00T N1.7 model (``DIR/base``: GR00T's
``config.json`` without a LeRobot ``type``, ``model.safetensors``, ``processor_config.json``) whose
backbone is a tiny Qwen3-VL (``DIR/backbone``: its config, a word-level tokenizer with Qwen's
special tokens and chat template, the image and video processors), and the LeRobot ``groot``
checkpoint in ``DIR`` whose ``base_model_path`` names ``DIR/base``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

WORDS = (
    "pick place put stack push open close move grasp lift the a an up down on in to of "
    "red green blue yellow purple orange block blocks cube cubes drawer cup bowl table"
).split()
SPECIAL = [
    "<unk>",
    "<pad>",
    "<|im_start|>",
    "<end_of_utterance>",
    "<image>",
    "<fake_token_around_image>",
    "<global-img>",
]


def word_level_tokenizer(tokens: list[str], **special: object) -> Any:
    """A fast tokenizer over exactly ``tokens`` (ids in order, split on whitespace, ``<unk>``
    for anything else) with the special tokens ``special`` names."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate(tokens)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", **special)


def make_paligemma_tokenizer(out: Path) -> Path:
    """A word-level tokenizer in PaliGemma's shape (``<bos>``/``<eos>``/``<pad>``) whose words
    cover the tasks of the test datasets and pi0.5's ``Task: …, State: 0 … 255;`` prompt; ids
    stay below the tiny Gemma's vocabulary."""
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>", *WORDS, "Task:", "State:", "Action:"]
    tokens += [str(value) for value in range(256)]
    special = {"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>"}
    tokenizer = word_level_tokenizer(tokens, **special)
    tokenizer.save_pretrained(out)
    return out


QWEN_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<unk>",
]
QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }} "
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'text' %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|> {% endfor %}"
)
"""Qwen's chat layout, reduced to what GR00T N1.7's processor renders (one user turn of
images and text)."""


def make_qwen3vl(out: Path, image: int = 64) -> Path:
    """A tiny Qwen3-VL (2 text layers of width 32, 2 vision blocks, 16 px patches) in ``out``:
    config, word-level tokenizer with Qwen's special tokens and chat template, and the
    Qwen2-VL image / Qwen3-VL video processors GR00T N1.7's processor loads from it."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLConfig
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    tokens = QWEN_SPECIAL + WORDS + ["user"]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = word_level_tokenizer(
        tokens,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        additional_special_tokens=QWEN_SPECIAL[1:7],
    )
    tokenizer.chat_template = QWEN_TEMPLATE
    tokenizer.save_pretrained(out)
    patches = dict(patch_size=16, merge_size=2, temporal_patch_size=2)
    Qwen2VLImageProcessor(min_pixels=32 * 32, max_pixels=image * image, **patches).save_pretrained(
        out
    )
    Qwen3VLVideoProcessor(**patches).save_pretrained(out)
    Qwen3VLConfig(
        image_token_id=vocab["<|image_pad|>"],
        video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"],
        vision_end_token_id=vocab["<|vision_end|>"],
        tie_word_embeddings=True,
        text_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
            vocab_size=len(vocab),
            max_position_embeddings=512,
            rope_scaling={
                "mrope_interleaved": True,
                "mrope_section": [2, 3, 3],
                "rope_type": "default",
            },
            tie_word_embeddings=True,
        ),
        vision_config=dict(
            depth=2,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            out_hidden_size=32,
            patch_size=16,
            spatial_merge_size=2,
            temporal_patch_size=2,
            num_position_embeddings=16,
            deepstack_visual_indexes=[0],
        ),
    ).save_pretrained(out)
    return out


def make_groot_base(out: Path, image: int = 64) -> Path:
    """A raw GR00T N1.7 checkpoint (Isaac-GR00T's layout) in ``out`` on a tiny Qwen3-VL backbone
    (``out/../backbone``): the action head's DiT has 2 blocks of width 16, state and action are
    padded to 16, the action horizon is 8; ``processor_config.json`` sizes the images."""
    import torch
    from lerobot.policies.groot.groot_n1_7 import GR00TN17, GR00TN17Config

    backbone = make_qwen3vl(out.parent / "backbone", image)
    config = GR00TN17Config(
        model_name=str(backbone),
        backbone_embedding_dim=32,
        select_layer=2,
        max_state_dim=16,
        max_action_dim=16,
        action_horizon=8,
        hidden_size=16,
        input_embedding_dim=16,
        max_seq_len=64,
        diffusion_model_cfg=dict(
            positional_embeddings=None,
            num_layers=2,
            num_attention_heads=2,
            attention_head_dim=8,
            norm_type="ada_norm",
            dropout=0.0,
            final_dropout=True,
            output_dim=16,
            interleave_self_attention=True,
        ),
        vl_self_attention_cfg=dict(
            positional_embeddings=None,
            num_layers=1,
            num_attention_heads=2,
            attention_head_dim=16,
            dropout=0.0,
            final_dropout=True,
        ),
        num_inference_timesteps=2,
    )
    torch.manual_seed(0)
    GR00TN17(config, load_backbone_weights=False).save_pretrained(out)
    sizes = {"image_target_size": [image, image], "image_crop_size": [image - 6, image - 6]}
    (out / "processor_config.json").write_text(json.dumps({"processor_kwargs": sizes}))
    return out


SMOLVLM_SHAPES = {
    # 2 text layers of width 64, one vision layer: the tests' backbone.
    "tiny": {
        "text": dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
            max_position_embeddings=512,
        ),
        "vision": dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=64,
            patch_size=16,
        ),
        "scale_factor": 2,
        "vocab_size": None,  # the word-level tokenizer's
    },
    # SmolVLM2-500M's shape (SmolLM2-360M text model, SigLIP B/16 at 512 px, pixel shuffle 4),
    # SmolVLA's backbone: for benchmarks (random weights; SmolVLA keeps 16 of the 32 layers).
    "smolvlm2-500m": {
        "text": dict(
            hidden_size=960,
            intermediate_size=2560,
            num_hidden_layers=32,
            num_attention_heads=15,
            num_key_value_heads=5,
            head_dim=64,
            max_position_embeddings=8192,
        ),
        "vision": dict(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            image_size=512,
            patch_size=16,
        ),
        "scale_factor": 4,
        "vocab_size": 49280,
    },
}


def make_smolvlm(out: Path, shape: str = "tiny") -> Path:
    """A SmolVLM config of ``shape`` (``SMOLVLM_SHAPES``) and processor (word-level tokenizer
    with SmolVLM's special tokens) in ``out``."""
    from transformers import (
        SmolVLMConfig,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )

    rows = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    tokens = SPECIAL + rows + WORDS + ["\n", ":", "User", "Assistant"]
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = word_level_tokenizer(
        tokens,
        pad_token="<pad>",
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        additional_special_tokens=SPECIAL[2:] + rows,
        extra_special_tokens={
            "fake_image_token": "<fake_token_around_image>",
            "image_token": "<image>",
            "global_image_token": "<global-img>",
            "end_of_utterance_token": "<end_of_utterance>",
        },
    )
    sizes = SMOLVLM_SHAPES[shape]
    edge = sizes["vision"]["image_size"]
    patches = edge // sizes["vision"]["patch_size"]
    images = SmolVLMImageProcessor(
        do_resize=True,
        size={"longest_edge": edge},
        max_image_size={"longest_edge": edge},
        do_image_splitting=False,
    )
    processor = SmolVLMProcessor(
        image_processor=images,
        tokenizer=tokenizer,
        video_processor=SmolVLMVideoProcessor(),
        image_seq_len=patches * patches // sizes["scale_factor"] ** 2,
    )
    processor.save_pretrained(out)
    SmolVLMConfig(
        text_config={
            "model_type": "llama",
            **sizes["text"],
            "vocab_size": sizes["vocab_size"] or len(vocab),
        },
        vision_config=sizes["vision"],
        scale_factor=sizes["scale_factor"],
        image_token_id=vocab["<image>"],
    ).save_pretrained(out)
    return out


def make_checkpoint(
    family: str,
    out: Path,
    state_dim: int = 8,
    action_dim: int = 7,
    slots: tuple[str, ...] = ("front",),
    image: int = 64,
    smolvlm_name: str | None = None,
    shape: str = "tiny",
    processors: bool = False,
) -> Path:
    """Builds a random-weight policy of ``family`` and saves it as a LeRobot checkpoint
    (config.json + model.safetensors) in ``out``. ``shape`` ``smolvlm2-500m`` builds SmolVLA
    as LeRobot's ``smolvla_base`` is shaped (its defaults, SmolVLM2-500M's backbone);
    ``lerobot-default`` builds ACT or diffusion with LeRobot's default sizes (random weights).
    ``processors`` also saves the policy's pre/post processors (without statistics), as a hub
    checkpoint has them and ``lerobot-train --policy.path`` needs them."""
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.factory import get_policy_class, make_policy_config

    torch.manual_seed(0)
    inputs = {
        f"observation.images.{slot}": PolicyFeature(
            type=FeatureType.VISUAL, shape=(3, image, image)
        )
        for slot in slots
    }
    inputs["observation.state"] = PolicyFeature(type=FeatureType.STATE, shape=(state_dim,))
    outputs = {"action": PolicyFeature(type=FeatureType.ACTION, shape=(action_dim,))}
    common = {"input_features": inputs, "output_features": outputs, "device": "cpu"}
    if family in ("act", "diffusion") and shape == "lerobot-default":
        options = dict(pretrained_backbone_weights=None)
    elif family == "act":
        options = dict(
            chunk_size=8,
            n_action_steps=8,
            dim_model=64,
            n_heads=2,
            dim_feedforward=128,
            n_encoder_layers=1,
            n_decoder_layers=1,
            n_vae_encoder_layers=1,
            latent_dim=8,
            pretrained_backbone_weights=None,
        )
    elif family == "diffusion":
        options = dict(
            n_obs_steps=2,
            horizon=8,
            n_action_steps=4,
            down_dims=(32, 64),
            crop_shape=(56, 56),
            pretrained_backbone_weights=None,
            use_group_norm=True,
            diffusion_step_embed_dim=32,
            num_train_timesteps=10,
            spatial_softmax_num_keypoints=8,
        )
    elif family == "smolvla" and shape != "tiny":
        vlm = make_smolvlm(out / "vlm", shape)
        options = dict(vlm_model_name=str(vlm), load_vlm_weights=False)
    elif family == "smolvla":
        vlm = make_smolvlm(out / "vlm")
        options = dict(
            vlm_model_name=str(vlm),
            load_vlm_weights=False,
            chunk_size=8,
            n_action_steps=8,
            max_state_dim=16,
            max_action_dim=16,
            resize_imgs_with_padding=(image, image),
            num_vlm_layers=2,
            num_steps=2,
            tokenizer_max_length=16,
        )
    elif family in ("pi0", "pi05"):
        sys.path.insert(0, str(Path(__file__).parent / "tiny_gemma"))
        import tiny_gemma

        tiny_gemma.install()
        make_paligemma_tokenizer(out / "tokenizer")
        options = dict(
            paligemma_variant="gemma_2b",
            action_expert_variant="gemma_300m",
            chunk_size=8,
            n_action_steps=8,
            max_state_dim=16,
            max_action_dim=16,
            image_resolution=(image, image),
            tokenizer_max_length=48 if family == "pi05" else 16,
            num_inference_steps=2,
        )
    elif family == "groot":
        base = make_groot_base(out / "base", image)
        options = dict(
            base_model_path=str(base),
            chunk_size=8,
            n_action_steps=8,
            max_state_dim=16,
            max_action_dim=16,
            use_bf16=False,
        )
    else:
        raise ValueError(f"no tiny builder for {family!r}")
    config = make_policy_config(family, **common, **options)
    policy = get_policy_class(family)(config)
    policy.save_pretrained(out)
    if processors:
        from lerobot.policies.factory import make_pre_post_processors

        for pipeline in make_pre_post_processors(config):
            pipeline.save_pretrained(out)
    if smolvlm_name and family == "smolvla":
        saved = json.loads((out / "config.json").read_text())
        saved["vlm_model_name"] = smolvlm_name
        (out / "config.json").write_text(json.dumps(saved, indent=4))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--family", required=True, choices=["smolvla", "pi0", "pi05", "groot", "act", "diffusion"]
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--state-dim", type=int, default=8)
    parser.add_argument("--action-dim", type=int, default=7)
    parser.add_argument("--slots", default="front")
    parser.add_argument("--smolvlm-name")
    parser.add_argument("--image", type=int, default=64, help="the image slots' size (square)")
    parser.add_argument(
        "--shape", choices=[*sorted(SMOLVLM_SHAPES), "lerobot-default"], default="tiny"
    )
    parser.add_argument("--processors", action="store_true", help="save pre/post processors")
    args = parser.parse_args()
    make_checkpoint(
        args.family,
        args.out,
        args.state_dim,
        args.action_dim,
        tuple(args.slots.split(",")),
        image=args.image,
        smolvlm_name=args.smolvlm_name,
        shape=args.shape,
        processors=args.processors,
    )
    print(args.out)


if __name__ == "__main__":
    main()
