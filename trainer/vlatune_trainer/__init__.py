"""vlatune's reference trainer: LoRA fine-tuning of VLA models from a prepared dataset package.

Started by vlatune's job watcher as ``python -m vlatune_trainer --spec jobs/<id>/spec.json``; it
speaks the protocol in vlatune's CONTRACT §7 (events, SIGTERM checkpoints, resume, PEFT output).
"""

__version__ = "0.1.0"
