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


def make_tiny_gguf(hf_folder: str | Path, path: str | Path, *, arch: str | None = None, qtype: str = "F32",
                   drop: tuple[str, ...] = (), rope_scaling_type: str | None = None) -> Path:
    """Write a (tiny) HF model folder of any supported family as a GGUF the way llama.cpp's
    converter does: its tensor names, Q/K rows permuted for rope type NORM, phi3's fused
    projections, RoPE scaling as metadata or factor tensors, the byte-level BPE tokenizer
    in metadata. `arch` overrides general.architecture, `drop` leaves tensors out and
    `rope_scaling_type` writes that scaling type (all three to test refusals).
    qtype: F32, F16 or Q8_0 for the 2-D weights."""
    import gguf
    from gguf.quants import quantize

    from sse.artifacts.sources import load_hf_folder, permute_qk
    from sse.runtime.arch import arch_spec, rope_inv_freq

    d = Path(hf_folder)
    src = load_hf_folder(d)
    cfg, t = src.config, src.weights
    spec = arch_spec(cfg.architecture)
    ga = arch or spec.gguf_arch
    tj = json.loads(src.tokenizer_json)
    H, K = cfg.num_heads, cfg.num_kv_heads
    w = gguf.GGUFWriter(str(path), ga)
    w.add_block_count(cfg.num_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(H)
    w.add_head_count_kv(K)
    w.add_key_length(cfg.hd)
    w.add_value_length(cfg.hd)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_dimension_count(cfg.rot)
    if cfg.sliding_window and ga == "gemma3":
        w.add_sliding_window(cfg.sliding_window)
    if cfg.rope_theta_local is not None:
        w.add_rope_freq_base_swa(cfg.rope_theta_local)
    rs = cfg.rope_scaling
    if rope_scaling_type:
        w.add_string(f"{ga}.rope.scaling.type", rope_scaling_type)
    extra: dict[str, np.ndarray] = {}
    if rs and rs["rope_type"] == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(rs["factor"]))
    elif rs and rs["rope_type"] == "llama3":
        base, _ = rope_inv_freq(cfg.rot, cfg.rope_theta, None)
        scaled, _ = rope_inv_freq(cfg.rot, cfg.rope_theta, rs)
        extra["rope_freqs.weight"] = (base / scaled).astype(np.float32)
    elif rs and rs["rope_type"] == "longrope":
        w.add_rope_scaling_attn_factors(float(rope_inv_freq(cfg.rot, cfg.rope_theta, rs)[1]))
        w.add_rope_scaling_orig_ctx_len(int(rs["original_max_position_embeddings"]))
        extra["rope_factors_long.weight"] = np.asarray(rs["long_factor"], np.float32)
        extra["rope_factors_short.weight"] = np.asarray(rs["short_factor"], np.float32)
    vocab = tj["model"]["vocab"]
    added = {a["content"]: a["id"] for a in tj.get("added_tokens", [])}
    tokens = [""] * (max(list(vocab.values()) + list(added.values())) + 1)
    for s, i in {**vocab, **added}.items():
        tokens[i] = s
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types([3 if s in added else 1 for s in tokens])
    w.add_token_merges(merges)
    meta = src.tokenizer_meta
    w.add_bos_token_id(added[meta["bos_token"]])
    w.add_eos_token_id(added[meta["eos_token"]])
    w.add_add_bos_token(False)
    if src.chat_template:
        w.add_chat_template(src.chat_template)
    q = {"F32": gguf.GGMLQuantizationType.F32, "F16": gguf.GGMLQuantizationType.F16,
         "Q8_0": gguf.GGMLQuantizationType.Q8_0}[qtype]

    def add(name: str, arr: np.ndarray) -> None:
        if name in drop:
            return
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr.ndim == 2 and q != gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, quantize(arr, q), raw_dtype=q)
        else:
            w.add_tensor(name, arr)

    add("token_embd.weight", t["tok_embd"])
    add("output_norm.weight", t["norm"])
    if "lm_head" in t:
        add("output.weight", t["lm_head"])
    for name, arr in extra.items():
        add(name, arr)
    names = {"attn_norm": "attn_norm", "wo": "attn_output", "ffn_norm": "ffn_norm", "w_down": "ffn_down",
             "q_norm": "attn_q_norm", "k_norm": "attn_k_norm", "post_attn_norm": "post_attention_norm",
             "post_ffn_norm": "post_ffw_norm", "bq": "attn_q.bias", "bk": "attn_k.bias", "bv": "attn_v.bias"}
    for i in range(cfg.num_layers):
        lw = {n.split(".", 2)[2]: a for n, a in t.items() if n.startswith(f"layers.{i}.")}
        if spec.gguf_permuted_qk:
            lw["wq"], lw["wk"] = permute_qk(lw["wq"], H), permute_qk(lw["wk"], K)
            if "bq" in lw:
                lw["bq"], lw["bk"] = permute_qk(lw["bq"][:, None], H)[:, 0], permute_qk(lw["bk"][:, None], K)[:, 0]
        if spec.fused_qkv:
            add(f"blk.{i}.attn_qkv.weight", np.concatenate([lw.pop("wq"), lw.pop("wk"), lw.pop("wv")]))
        else:
            for n, g in (("wq", "attn_q"), ("wk", "attn_k"), ("wv", "attn_v")):
                add(f"blk.{i}.{g}.weight", lw.pop(n))
        if spec.fused_gate_up:
            add(f"blk.{i}.ffn_up.weight", np.concatenate([lw.pop("w_gate"), lw.pop("w_up")]))
        else:
            add(f"blk.{i}.ffn_gate.weight", lw.pop("w_gate"))
            add(f"blk.{i}.ffn_up.weight", lw.pop("w_up"))
        for n, arr in lw.items():
            g = names[n]
            add(f"blk.{i}.{g}" + ("" if g.endswith(".bias") else ".weight"), arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return Path(path)
