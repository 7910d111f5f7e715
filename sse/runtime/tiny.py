"""A tiny random Llama in Hugging Face layout (config.json, tokenizer.json, safetensors).

Why it lives in the package: tests, the benchmark's smoke mode and the docs all
need a model that converts and runs in a second without any download.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CORPUS = [
    "def add(a: int, b: int) -> int:\n    return a + b\n",
    "fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n",
    "The quick brown fox jumps over the lazy dog. 0123456789",
    "for i in range(10):\n    print(i * i)\n",
    "let v: Vec<String> = Vec::new();\n",
    "Translate this Python function to Rust. Write a function that returns the sum.",
] * 20


def make_tokenizer_json(vocab_size: int = 384) -> str:
    """Byte-level BPE trained on a small code/prose corpus, with ChatML special tokens at 0..2."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_CORPUS, trainer=trainer)
    return tok.to_str()


def tiny_config(vocab_size: int, **over: Any) -> dict[str, Any]:
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab_size,
           "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "max_position_embeddings": 256, "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2,
           "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "rope_scaling": None,
           "torch_dtype": "float32"}
    cfg.update(over)
    return cfg


def make_tiny_llama(folder: str | Path, *, seed: int = 0, std: float = 0.15, **config: Any) -> Path:
    """Write a random tiny Llama model folder; returns the folder."""
    from safetensors.numpy import save_file

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    tok_json = make_tokenizer_json()
    vocab = len(json.loads(tok_json)["model"]["vocab"])
    cfg = tiny_config(vocab, **config)
    rng = np.random.default_rng(seed)
    D, F, hd = cfg["hidden_size"], cfg["intermediate_size"], cfg["head_dim"]
    H, K = cfg["num_attention_heads"], cfg["num_key_value_heads"]

    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    t: dict[str, np.ndarray] = {"model.embed_tokens.weight": r(vocab, D),
                                "model.norm.weight": (1 + r(D)).astype(np.float32)}
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = r(vocab, D)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = (1 + r(D)).astype(np.float32)
        t[p + "post_attention_layernorm.weight"] = (1 + r(D)).astype(np.float32)
        t[p + "self_attn.q_proj.weight"] = r(H * hd, D)
        t[p + "self_attn.k_proj.weight"] = r(K * hd, D)
        t[p + "self_attn.v_proj.weight"] = r(K * hd, D)
        t[p + "self_attn.o_proj.weight"] = r(D, H * hd)
        t[p + "mlp.gate_proj.weight"] = r(F, D)
        t[p + "mlp.up_proj.weight"] = r(F, D)
        t[p + "mlp.down_proj.weight"] = r(D, F)
    save_file(t, str(d / "model.safetensors"))
    (d / "config.json").write_text(json.dumps(cfg, indent=1))
    (d / "tokenizer.json").write_text(tok_json)
    (d / "tokenizer_config.json").write_text(json.dumps({
        "chat_template": CHAT_TEMPLATE, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
        "add_bos_token": False}))
    return d


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's Q/K row order (what its HF->GGUF converter writes)."""
    out = w.shape[0]
    return w.reshape(n_head, 2, out // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def make_tiny_gguf(hf_folder: str | Path, path: str | Path, *, arch: str = "llama", qtype: str = "F32") -> Path:
    """Write the tiny HF model as a GGUF the way llama.cpp's converter does (permuted Q/K,
    tokenizer in metadata). qtype: F32, F16 or Q8_0 for the 2-D weights."""
    import gguf
    from gguf.quants import quantize

    from sse.artifacts.convert import read_safetensors

    d = Path(hf_folder)
    cfg = json.loads((d / "config.json").read_text())
    tj = json.loads((d / "tokenizer.json").read_text())
    tcfg = json.loads((d / "tokenizer_config.json").read_text())
    t = read_safetensors(d / "model.safetensors")
    H, K = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(H)
    w.add_head_count_kv(K)
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_dimension_count(cfg["head_dim"])
    vocab = tj["model"]["vocab"]
    added = {a["content"]: a["id"] for a in tj.get("added_tokens", [])}
    tokens = [""] * (max(list(vocab.values()) + list(added.values())) + 1)
    for s, i in {**vocab, **added}.items():
        tokens[i] = s
    types = [3 if s in added else 1 for s in tokens]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(added[tcfg["bos_token"]])
    w.add_eos_token_id(added[tcfg["eos_token"]])
    w.add_add_bos_token(False)
    w.add_chat_template(tcfg["chat_template"])
    q = {"F32": gguf.GGMLQuantizationType.F32, "F16": gguf.GGMLQuantizationType.F16,
         "Q8_0": gguf.GGMLQuantizationType.Q8_0}[qtype]

    def add(name: str, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr.ndim == 2 and q != gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, quantize(arr, q), raw_dtype=q)
        else:
            w.add_tensor(name, arr)

    add("token_embd.weight", t["model.embed_tokens.weight"])
    add("output_norm.weight", t["model.norm.weight"])
    if "lm_head.weight" in t and not cfg["tie_word_embeddings"]:
        add("output.weight", t["lm_head.weight"])
    hf = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
          "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
          "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for i in range(cfg["num_hidden_layers"]):
        for k, g in hf.items():
            arr = t[f"model.layers.{i}.{k}.weight"]
            if g == "attn_q":
                arr = _permute(arr, H)
            elif g == "attn_k":
                arr = _permute(arr, K)
            add(f"blk.{i}.{g}.weight", arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return Path(path)
