"""Tiny randomly initialised models of every supported family, built by transformers itself.

Why transformers builds them: the parity tests compare against transformers'
own modelling code, so the config and the safetensors must be exactly what it
writes (both config layouts are read by the converter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sse.artifacts.tiny import CHAT_TEMPLATE, make_tokenizer_json

BASE: dict[str, Any] = {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 3,
                        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256,
                        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}

# family -> (config class, model class, config overrides). Windows are small so that the
# test prompts run past them; RoPE scalings use small original contexts so they bite.
FAMILIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "llama": ("LlamaConfig", "LlamaForCausalLM", {"tie_word_embeddings": False}),
    "llama-linear": ("LlamaConfig", "LlamaForCausalLM",
                     {"rope_scaling": {"rope_type": "linear", "factor": 4.0}, "head_dim": 32}),
    "llama3": ("LlamaConfig", "LlamaForCausalLM",
               {"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
                "rope_theta": 500000.0, "head_dim": 32}),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", {"tie_word_embeddings": True}),
    "qwen2-swa": ("Qwen2Config", "Qwen2ForCausalLM",
                  {"use_sliding_window": True, "sliding_window": 7, "max_window_layers": 1}),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", {"head_dim": 32, "rope_theta": 1000000.0}),
    "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM",
               {"head_dim": 16, "query_pre_attn_scalar": 24, "sliding_window": 8,
                "layer_types": ["sliding_attention", "sliding_attention", "full_attention"],
                "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6},
                                    "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}}),
    "phi3": ("Phi3Config", "Phi3ForCausalLM",
             {"partial_rotary_factor": 0.5, "max_position_embeddings": 128,
              "original_max_position_embeddings": 32, "tie_word_embeddings": False,
              "rope_scaling": {"rope_type": "longrope", "short_factor": [1.0, 1.5, 2.0, 3.0],
                               "long_factor": [2.0, 3.0, 4.0, 5.0]}}),
    "mistral": ("MistralConfig", "MistralForCausalLM", {"sliding_window": 9, "head_dim": 16}),
}


def make_tiny_hf(family: str, folder: Path, *, seed: int = 0, std: float = 0.12, **over: Any) -> Path:
    """Save a random tiny model of `family` (transformers layout) with a byte-level BPE tokenizer."""
    import torch
    import transformers

    cfg_cls, model_cls, extra = FAMILIES[family]
    tok_json = make_tokenizer_json()
    vocab = len(json.loads(tok_json)["model"]["vocab"])
    cfg = getattr(transformers, cfg_cls)(vocab_size=vocab, **{**BASE, **extra, **over})
    torch.manual_seed(seed)
    model = getattr(transformers, model_cls)(cfg).eval()
    gemma = cfg.model_type.startswith("gemma")
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn_like(p) * std
            if "norm" in name:  # Gemma stores w of (1 + w); others the multiplier itself
                p.copy_(noise if gemma else 1 + noise)
            else:
                p.copy_(noise)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    (folder / "tokenizer.json").write_text(tok_json)
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "chat_template": CHAT_TEMPLATE, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
        "add_bos_token": False}))
    return folder


def load_hf(folder: Path) -> Any:
    import torch
    import transformers

    m = transformers.AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32,
                                                          attn_implementation="eager")
    return m.eval()
