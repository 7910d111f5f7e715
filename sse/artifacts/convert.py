"""Convert a GGUF file or a Hugging Face safetensors folder into a KL-gated .apr.

Steps: read the source at full precision (dequantising Q4_0/Q4_1/Q8_0/F16/BF16
source tensors to f32), build the tokenizer with the `tokenizers` library and
check it encodes like the source, quantise (f32, f16, q8_0, q4_0), then run the
SPC gate: the converted model's next-token distributions against the source's
on fixed validation prompts. Only when every gate passes is the .apr written
(temp file, re-opened and validated, then renamed): a failed gate leaves no file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sse.artifacts.apr import write_apr_stream
from sse.core.errors import ArtifactError
from sse.core.store import atomic_path
from sse.runtime.chat import ChatTemplate
from sse.runtime.engine import LAYER_TENSORS, LlamaConfig, LlamaModel
from sse.runtime.loader import REF_PREFIX, TOKENIZER_TENSOR
from sse.runtime.quant import BLOCK, dequantize_q4_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0
from sse.runtime.threads import blas_threads, default_threads
from sse.runtime.tokenizer import Tokenizer

CONVERTER_VERSION = "sse-convert/1"
QUANTIZATIONS = ("f32", "f16", "q8_0", "q4_0")
REF_TOPK = 10

# Gate thresholds per quantization: mean and max of KL(source || converted) in nats over
# all validation positions, the mean cosine of logit vectors (the minimum is reported: a
# single position dominates it), top-1 agreement, and top-5 containment (the converted
# argmax inside the source's top 5). Tighter for wider formats.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "f32": {"kl_mean": 1e-5, "kl_max": 1e-3, "cosine_mean": 0.99999, "top1": 0.98, "top5": 0.98},
    "f16": {"kl_mean": 1e-4, "kl_max": 1e-2, "cosine_mean": 0.9999, "top1": 0.95, "top5": 0.95},
    "q8_0": {"kl_mean": 2e-3, "kl_max": 0.1, "cosine_mean": 0.999, "top1": 0.9, "top5": 0.95},
    "q4_0": {"kl_mean": 1e-2, "kl_max": 0.5, "cosine_mean": 0.99, "top1": 0.85, "top5": 0.9},
}
_GATE_DIRECTION = {"kl_mean": "<=", "kl_max": "<=", "cosine_mean": ">=", "cosine_min": ">=", "top1": ">=",
                   "top5": ">="}

# Fixed validation prompts: code in both languages of the job, prose, and a chat turn.
VALIDATION_PROMPTS: tuple[str, ...] = (
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "fn main() {\n    let v: Vec<i64> = (1..=10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    "The quick brown fox jumps over the lazy dog. Translation from Python to Rust requires care with ownership.",
    "Translate this Python function to Rust:\n\ndef add(a: int, b: int) -> int:\n    return a + b\n",
    "import json\nfrom collections import Counter\n\ndef top_words(text: str, k: int) -> list[str]:\n",
    "In 1969, 3 astronauts flew 384,400 km to the Moon; numbers like 42 and 3.14159 also appear.",
    "use std::collections::HashMap;\n\npub fn count(words: &[&str]) -> HashMap<String, usize> {\n",
    "Q: What is the capital of France?\nA: Paris.\nQ: What is 12 times 12?\nA:",
)
MAX_GATE_TOKENS = 64


@dataclass
class SourceModel:
    """A model read at full precision, in the engine's canonical tensor names."""

    config: LlamaConfig
    weights: dict[str, np.ndarray]
    tokenizer_json: str
    tokenizer_meta: dict[str, Any]
    chat_template: str | None
    provenance: dict[str, Any]
    reference_tokenizer: Any = None  # callable text -> ids from the source itself, when available
    extra: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------
# GGUF
# ------------------------------------------------------------------------------------------------

_GGUF_LAYER = {"attn_norm": "attn_norm", "attn_q": "wq", "attn_k": "wk", "attn_v": "wv", "attn_output": "wo",
               "ffn_norm": "ffn_norm", "ffn_gate": "w_gate", "ffn_up": "w_up", "ffn_down": "w_down"}


def _field(reader: Any, key: str, default: Any = ...) -> Any:
    f = reader.fields.get(key)
    if f is None:
        if default is ...:
            raise KeyError(key)
        return default
    return f.contents()


def _unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (interleaved RoPE pairs -> HF rotate-half halves)."""
    out = w.shape[0]
    return w.reshape(n_head, out // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


_PRE_SPLIT_DIGITS = {"smollm", "starcoder", "refact", "codeshell"}
_PRE_PLAIN = {"gpt2", "default", "gpt-2"}


def tokenizer_json_from_gguf(reader: Any, file: str) -> tuple[str, dict[str, Any]]:
    """Rebuild a byte-level BPE tokenizer.json from GGUF metadata (vocab, merges, token types)."""
    from tokenizers import AddedToken, decoders, models, pre_tokenizers, processors
    from tokenizers import Tokenizer as HFTok

    model = _field(reader, "tokenizer.ggml.model", None)
    if model != "gpt2":
        raise ArtifactError(f"tokenizer model {model!r} is not supported (only byte-level BPE 'gpt2')", file=file,
                            field="tokenizer.ggml.model", fix="convert from a Hugging Face folder with tokenizer.json")
    pre = _field(reader, "tokenizer.ggml.pre", "default")
    tokens: list[str] = list(_field(reader, "tokenizer.ggml.tokens"))
    types = list(_field(reader, "tokenizer.ggml.token_type", [1] * len(tokens)))
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    tk = HFTok(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    if pre in _PRE_SPLIT_DIGITS:
        tk.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    elif pre in _PRE_PLAIN:
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        raise ArtifactError(f"BPE pre-tokenizer {pre!r} is not supported", file=file, field="tokenizer.ggml.pre",
                            fix="convert from a Hugging Face folder with tokenizer.json")
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    specials = [AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if t == 3]
    user = [AddedToken(tokens[i], special=False, normalized=False) for i, t in enumerate(types) if t == 4]
    if specials:
        tk.add_special_tokens(specials)
    if user:
        tk.add_tokens(user)

    def tok_str(key: str) -> str | None:
        i = _field(reader, key, None)
        return tokens[int(i)] if i is not None and 0 <= int(i) < len(tokens) else None

    meta = {"bos_token_id": _field(reader, "tokenizer.ggml.bos_token_id", None),
            "eos_token_id": _field(reader, "tokenizer.ggml.eos_token_id", None),
            "bos_token": tok_str("tokenizer.ggml.bos_token_id"), "eos_token": tok_str("tokenizer.ggml.eos_token_id"),
            "add_bos": bool(_field(reader, "tokenizer.ggml.add_bos_token", False)),
            "source": "gguf-metadata", "pre": pre}
    return tk.to_str(), meta


def load_gguf(path: str | os.PathLike[str]) -> SourceModel:
    import gguf
    from gguf.quants import dequantize

    file = str(path)
    try:
        reader = gguf.GGUFReader(file)
    except Exception as e:  # the gguf package raises ValueError/struct errors on bad files
        raise ArtifactError(f"not a readable GGUF file ({type(e).__name__}: {e})", file=file,
                            fix="check the download (sse models validate) or fetch it again") from e
    arch = _field(reader, "general.architecture", None)
    if arch != "llama":
        raise ArtifactError(f"architecture {arch!r} is not supported (the native engine runs 'llama')", file=file,
                            field="general.architecture", fix="choose a Llama-family model (e.g. SmolLM2)")
    try:
        n_head = int(_field(reader, "llama.attention.head_count"))
        n_kv = int(_field(reader, "llama.attention.head_count_kv", n_head))
        hidden = int(_field(reader, "llama.embedding_length"))
        n_layers = int(_field(reader, "llama.block_count"))
        ffn = int(_field(reader, "llama.feed_forward_length"))
        eps = float(_field(reader, "llama.attention.layer_norm_rms_epsilon"))
        theta = float(_field(reader, "llama.rope.freq_base", 10000.0))
        ctx = int(_field(reader, "llama.context_length", 2048))
        rope_dim = int(_field(reader, "llama.rope.dimension_count", hidden // n_head))
    except KeyError as e:
        raise ArtifactError(f"missing metadata key {e.args[0]}", file=file, field=str(e.args[0]),
                            fix="use a GGUF written by a current llama.cpp converter") from e
    if reader.fields.get("llama.rope.scaling.type") is not None:
        raise ArtifactError("RoPE scaling is not supported", file=file, field="llama.rope.scaling.type",
                            fix="use a model without rope scaling")
    if rope_dim != hidden // n_head:
        raise ArtifactError(f"partial rotary ({rope_dim} of {hidden // n_head}) not supported", file=file,
                            field="llama.rope.dimension_count", fix="use a model with full-head RoPE")
    weights: dict[str, np.ndarray] = {}
    for t in reader.tensors:
        try:
            arr = dequantize(t.data, t.tensor_type)
        except NotImplementedError as e:
            raise ArtifactError(f"tensor {t.name}: type {t.tensor_type.name} cannot be dequantised", file=file,
                                field=t.name, fix="use a GGUF with Q4_0/Q4_1/Q8_0/F16/F32 tensors") from e
        arr = np.asarray(arr, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)] if len(t.shape) > 1
                                                       else [int(t.shape[0])])
        name = t.name
        if name == "token_embd.weight":
            weights["tok_embd"] = arr
        elif name == "output_norm.weight":
            weights["norm"] = arr
        elif name == "output.weight":
            weights["lm_head"] = arr
        elif name.startswith("blk."):
            _, idx, kind, _w = name.split(".")
            canon = _GGUF_LAYER.get(kind)
            if canon is None:
                continue  # e.g. rope_freqs: not used by plain Llama
            if canon == "wq":
                arr = _unpermute(arr, n_head)
            elif canon == "wk":
                arr = _unpermute(arr, n_kv)
            weights[f"layers.{idx}.{canon}"] = arr
    vocab = int(weights["tok_embd"].shape[0])
    tok_json, tok_meta = tokenizer_json_from_gguf(reader, file)
    eos = [int(tok_meta["eos_token_id"])] if tok_meta.get("eos_token_id") is not None else []
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, num_layers=n_layers, num_heads=n_head,
                      num_kv_heads=n_kv, intermediate_size=ffn, head_dim=hidden // n_head, rms_norm_eps=eps,
                      rope_theta=theta, tie_word_embeddings="lm_head" not in weights,
                      max_position_embeddings=ctx, bos_token_id=tok_meta.get("bos_token_id"),
                      eos_token_ids=tuple(eos))
    _check_complete(cfg, weights, file)
    kinds = sorted({t.tensor_type.name for t in reader.tensors})
    prov = {"format": "gguf", "files": [{"name": Path(file).name, "sha256": sha256_file(file)}],
            "source_tensor_types": kinds, "general.name": _field(reader, "general.name", None)}
    return SourceModel(cfg, weights, tok_json, tok_meta, _field(reader, "tokenizer.chat_template", None), prov,
                       reference_tokenizer=_llama_cpp_tokenizer(file))


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _llama_cpp_tokenizer(file: str) -> Any:
    """llama.cpp's own tokenizer for this GGUF (vocab only), when llama-cpp-python is installed."""
    try:
        from llama_cpp import Llama
    except Exception:
        return None
    try:
        with _quiet_stderr():  # llama.cpp logs to fd 2 even when verbose=False
            llm = Llama(model_path=file, vocab_only=True, verbose=False)
    except Exception:
        return None
    return lambda text: list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


# ------------------------------------------------------------------------------------------------
# Hugging Face safetensors folder
# ------------------------------------------------------------------------------------------------

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Minimal reader (header JSON + raw bytes) so BF16 works without torch; never unpickles."""
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ArtifactError("truncated safetensors file", file=str(path), fix="download it again")
        (n,) = struct.unpack("<Q", head)
        try:
            meta = json.loads(f.read(n))
        except ValueError as e:
            raise ArtifactError(f"bad safetensors header ({e})", file=str(path), fix="download it again") from e
        base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    for name, info in meta.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = mm[base + a: base + b]
        dt, shape = info["dtype"], info["shape"]
        if dt == "BF16":
            arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dt in _ST_DTYPES:
            arr = raw.view(_ST_DTYPES[dt]).astype(np.float32)
        else:
            raise ArtifactError(f"tensor {name}: dtype {dt} not supported", file=str(path), field=name,
                                fix="save the model in f32, f16 or bf16")
        out[name] = arr.reshape(shape)
    return out


_HF_LAYER = {"input_layernorm": "attn_norm", "self_attn.q_proj": "wq", "self_attn.k_proj": "wk",
             "self_attn.v_proj": "wv", "self_attn.o_proj": "wo", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "w_gate", "mlp.up_proj": "w_up", "mlp.down_proj": "w_down"}


def load_hf_folder(folder: str | os.PathLike[str]) -> SourceModel:
    d = Path(folder)
    cfg_path = d / "config.json"
    if not cfg_path.is_file():
        raise ArtifactError("no config.json", file=str(d), fix="point at a Hugging Face model folder")
    c = json.loads(cfg_path.read_text())
    archs = c.get("architectures") or []
    if c.get("model_type") != "llama" and "LlamaForCausalLM" not in archs:
        raise ArtifactError(f"model_type {c.get('model_type')!r} is not supported", file=str(cfg_path),
                            field="model_type", fix="use a Llama-family model")
    if c.get("rope_scaling"):
        raise ArtifactError("rope_scaling is not supported", file=str(cfg_path), field="rope_scaling",
                            fix="use a model without rope scaling")
    if c.get("attention_bias") or c.get("mlp_bias"):
        raise ArtifactError("attention/MLP biases are not supported", file=str(cfg_path), field="attention_bias",
                            fix="use a plain Llama model")
    tok_path = d / "tokenizer.json"
    if not tok_path.is_file():
        raise ArtifactError("no tokenizer.json", file=str(d), fix="add the model's tokenizer.json")
    tcfg_path = d / "tokenizer_config.json"
    tcfg = json.loads(tcfg_path.read_text()) if tcfg_path.is_file() else {}
    raw: dict[str, np.ndarray] = {}
    files = sorted(d.glob("*.safetensors"))
    if not files:
        raise ArtifactError("no *.safetensors files", file=str(d), fix="download the safetensors weights")
    for p in files:
        raw.update(read_safetensors(p))
    weights: dict[str, np.ndarray] = {}
    for name, arr in raw.items():
        n = name.removeprefix("model.")
        if n == "embed_tokens.weight":
            weights["tok_embd"] = arr
        elif n == "norm.weight":
            weights["norm"] = arr
        elif name == "lm_head.weight":
            weights["lm_head"] = arr
        elif n.startswith("layers."):
            parts = n.split(".")
            key = ".".join(parts[2:-1])
            if key in _HF_LAYER:
                weights[f"layers.{parts[1]}.{_HF_LAYER[key]}"] = arr
    n_head = int(c["num_attention_heads"])
    hidden = int(c["hidden_size"])
    tie = bool(c.get("tie_word_embeddings", False))
    if tie:
        weights.pop("lm_head", None)
    eos = c.get("eos_token_id")
    eos_ids = [int(x) for x in (eos if isinstance(eos, list) else [eos] if eos is not None else [])]
    tok_json = tok_path.read_text(encoding="utf-8")

    def special(name: str) -> str | None:
        v = tcfg.get(name)
        return v.get("content") if isinstance(v, dict) else v

    cfg = LlamaConfig(vocab_size=int(c["vocab_size"]), hidden_size=hidden,
                      num_layers=int(c["num_hidden_layers"]), num_heads=n_head,
                      num_kv_heads=int(c.get("num_key_value_heads") or n_head),
                      intermediate_size=int(c["intermediate_size"]),
                      head_dim=int(c.get("head_dim") or hidden // n_head),
                      rms_norm_eps=float(c.get("rms_norm_eps", 1e-6)), rope_theta=float(c.get("rope_theta", 10000.0)),
                      tie_word_embeddings=tie, max_position_embeddings=int(c.get("max_position_embeddings", 2048)),
                      bos_token_id=c.get("bos_token_id"), eos_token_ids=tuple(eos_ids))
    _check_complete(cfg, weights, str(d))
    tok_meta = {"bos_token_id": c.get("bos_token_id"), "eos_token_id": eos_ids[0] if eos_ids else None,
                "bos_token": special("bos_token"), "eos_token": special("eos_token"),
                "add_bos": bool(tcfg.get("add_bos_token", False)), "source": "tokenizer.json"}
    prov = {"format": "hf-safetensors",
            "files": [{"name": p.name, "sha256": sha256_file(p)} for p in [cfg_path, tok_path, *files]]}
    src_tok = Tokenizer(tok_json)
    return SourceModel(cfg, weights, tok_json, tok_meta, tcfg.get("chat_template"), prov,
                       reference_tokenizer=src_tok.encode)


def _check_complete(cfg: LlamaConfig, w: Mapping[str, np.ndarray], file: str) -> None:
    need = ["tok_embd", "norm"] + [f"layers.{i}.{n}" for i in range(cfg.num_layers) for n in LAYER_TENSORS]
    if not cfg.tie_word_embeddings:
        need.append("lm_head")
    missing = [n for n in need if n not in w]
    if missing:
        raise ArtifactError(f"missing tensors: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}",
                            file=file, field="tensors", fix="the source is incomplete; download it again")
    if w["tok_embd"].shape != (cfg.vocab_size, cfg.hidden_size):
        raise ArtifactError(f"token embedding shape {w['tok_embd'].shape} disagrees with the config", file=file,
                            field="tok_embd", fix="check config.json against the weights")


def load_source(paths: Sequence[str | os.PathLike[str]]) -> SourceModel:
    """A .gguf file, or a folder (or the files of a folder) with config.json + safetensors."""
    ps = [Path(p) for p in paths]
    if not ps:
        raise ArtifactError("no source files given", fix="pass a .gguf file or a model folder")
    ggufs = [p for p in ps if p.suffix == ".gguf"]
    if ggufs:
        return load_gguf(ggufs[0])
    folder = ps[0] if ps[0].is_dir() else ps[0].parent
    return load_hf_folder(folder)


# ------------------------------------------------------------------------------------------------
# Quantisation to stored tensors
# ------------------------------------------------------------------------------------------------

def quantize_tensors(weights: Mapping[str, np.ndarray], quant: str) -> dict[str, np.ndarray]:
    """Canonical f32 weights -> tensors as stored. Norms stay f32. Under q4_0 the token
    embedding (also the tied output head) is stored q8_0, as llama.cpp keeps its output layer wider."""
    if quant not in QUANTIZATIONS:
        raise ArtifactError(f"quantization {quant!r} is not supported", field="quantization",
                            fix=f"use one of {', '.join(QUANTIZATIONS)}")
    out: dict[str, np.ndarray] = {}
    for name, w in weights.items():
        if w.ndim < 2 or quant == "f32":
            out[name] = np.asarray(w, np.float32)
        elif quant == "f16":
            out[name] = w.astype(np.float16)
        elif w.shape[1] % BLOCK:
            out[name] = w.astype(np.float16)
        elif quant == "q8_0" or name in ("tok_embd", "lm_head"):
            q, s = quantize_q8_0(w)
            out[name + ".q8"], out[name + ".scale"] = q, s
        else:
            q, s = quantize_q4_0(w)
            out[name + ".q4"], out[name + ".scale"] = q, s
    return out


def dequantize_tensors(stored: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, t in stored.items():
        if name.endswith(".scale"):
            continue
        if name.endswith(".q8"):
            out[name[:-3]] = dequantize_q8_0(t, stored[name[:-3] + ".scale"])
        elif name.endswith(".q4"):
            out[name[:-3]] = dequantize_q4_0(t, stored[name[:-3] + ".scale"])
        else:
            out[name] = np.asarray(t, np.float32)
    return out


# ------------------------------------------------------------------------------------------------
# SPC gate
# ------------------------------------------------------------------------------------------------

def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def compare_logits(src: np.ndarray, conv: np.ndarray) -> dict[str, float]:
    """Distribution agreement per position between source and converted logits ([N, V] each)."""
    ls, lc = _log_softmax(src), _log_softmax(conv)
    kl = np.maximum((np.exp(ls) * (ls - lc)).sum(axis=-1), 0.0)
    a, b = src.astype(np.float64), conv.astype(np.float64)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-30)
    top1_src = src.argmax(-1)
    top1_conv = conv.argmax(-1)
    top5_src = np.argpartition(-src, 5, axis=-1)[:, :5]
    top5_conv = np.argpartition(-conv, 5, axis=-1)[:, :5]
    overlap = np.mean([len(set(x) & set(y)) / 5 for x, y in zip(top5_src, top5_conv, strict=True)])
    return {"positions": int(len(src)), "kl_mean": float(kl.mean()), "kl_max": float(kl.max()),
            "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
            "top1": float((top1_src == top1_conv).mean()),
            "top5": float((top5_src == top1_conv[:, None]).any(-1).mean()),
            "top5_overlap": float(overlap)}


def check_gates(measured: Mapping[str, float], thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    rows = []
    for gate, limit in thresholds.items():
        op = _GATE_DIRECTION[gate]
        val = float(measured[gate])
        ok = val <= limit if op == "<=" else val >= limit
        rows.append({"gate": gate, "value": val, "op": op, "threshold": float(limit), "passed": bool(ok)})
    return rows


def gate_token_sequences(tok: Tokenizer, chat: ChatTemplate) -> list[list[int]]:
    texts = list(VALIDATION_PROMPTS)
    texts.append(chat.render([{"role": "user", "content": "Write a Rust function that reverses a string."}]))
    seqs = [tok.encode(t)[:MAX_GATE_TOKENS] for t in texts]
    return [s for s in seqs if len(s) >= 2]


def _all_logits(model: LlamaModel, seqs: Sequence[Sequence[int]]) -> np.ndarray:
    with blas_threads(default_threads()):
        return np.concatenate([model.teacher_forced_logits(s) for s in seqs], axis=0)


def check_tokenizer(src: SourceModel, tok: Tokenizer, file: str) -> dict[str, Any]:
    """The rebuilt tokenizer must encode the validation texts exactly as the source does."""
    texts = [*VALIDATION_PROMPTS, "<|im_start|>user\nhi<|im_end|>\n", "  leading spaces\tand\ttabs\n\n end 12345"]
    ref = src.reference_tokenizer
    for t in texts:
        ids = tok.encode(t)
        if ref is not None:
            want = list(ref(t))
            if ids != want:
                raise ArtifactError(f"rebuilt tokenizer encodes {t[:30]!r} as {ids[:8]}... but the source gives "
                                    f"{want[:8]}...", file=file, field="tokenizer",
                                    fix="convert from a folder with the model's tokenizer.json")
        if tok.decode(ids, skip_special_tokens=False) != t:
            raise ArtifactError(f"tokenizer does not round-trip {t[:30]!r}", file=file, field="tokenizer",
                                fix="convert from a folder with the model's tokenizer.json")
    return {"texts": len(texts), "reference": "source" if ref is not None else "round-trip only"}


# ------------------------------------------------------------------------------------------------
# Convert
# ------------------------------------------------------------------------------------------------

def convert(sources: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], quantization: str = "q8_0",
            thresholds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Convert, gate, write atomically. Returns the gate report. Raises ArtifactError when a gate fails."""
    from sse.artifacts.validate import validate_apr

    if quantization not in QUANTIZATIONS:
        raise ArtifactError(f"quantization {quantization!r} is not supported", field="quantization",
                            fix=f"use one of {', '.join(QUANTIZATIONS)}")
    limits = dict(DEFAULT_THRESHOLDS[quantization])
    if thresholds:
        unknown = set(thresholds) - set(_GATE_DIRECTION)
        if unknown:
            raise ArtifactError(f"unknown gate(s) {sorted(unknown)}", field="thresholds",
                                fix=f"use {', '.join(_GATE_DIRECTION)}")
        limits.update({k: float(v) for k, v in thresholds.items()})
    src = load_source(sources)
    label = str(Path(sources[0]))
    tok = Tokenizer(src.tokenizer_json, add_bos=bool(src.tokenizer_meta.get("add_bos")),
                    bos_token_id=src.tokenizer_meta.get("bos_token_id"))
    tok_report = check_tokenizer(src, tok, label)
    chat = ChatTemplate(src.chat_template, bos_token=src.tokenizer_meta.get("bos_token") or "",
                        eos_token=src.tokenizer_meta.get("eos_token") or "")
    seqs = gate_token_sequences(tok, chat)
    ref_model = LlamaModel(src.config, src.weights)
    src_logits = _all_logits(ref_model, seqs)
    del ref_model
    stored = quantize_tensors(src.weights, quantization)
    src.weights.clear()
    conv_model = LlamaModel(src.config, dequantize_tensors(stored))
    conv_logits = _all_logits(conv_model, seqs)
    del conv_model
    measured = compare_logits(src_logits, conv_logits)
    gates = check_gates(measured, limits)
    report = {"quantization": quantization, "measured": measured, "gates": gates,
              "passed": all(g["passed"] for g in gates), "tokenizer_check": tok_report,
              "prompts": len(seqs)}
    failed = [g for g in gates if not g["passed"]]
    if failed:
        g = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise ArtifactError(f"SPC gate {g['gate']} failed for {quantization}: measured {g['value']:.6g}, "
                            f"threshold {g['op']} {g['threshold']:.6g}{more}; no .apr written",
                            file=label, field=f"gate.{g['gate']}",
                            fix="use a wider quantization (q8_0/f16) or set a looser threshold deliberately")
    # Reference for the validator: the source's top-k at every gate position.
    topk_ids = np.argsort(-src_logits, axis=-1, kind="stable")[:, :REF_TOPK].astype(np.int32)
    topk_vals = np.take_along_axis(src_logits, topk_ids, axis=-1).astype(np.float32)
    tensors: dict[str, np.ndarray] = dict(stored)
    tensors[TOKENIZER_TENSOR] = np.frombuffer(src.tokenizer_json.encode("utf-8"), dtype=np.uint8)
    tensors[REF_PREFIX + "tokens"] = np.asarray([t for s in seqs for t in s], np.int32)
    tensors[REF_PREFIX + "lengths"] = np.asarray([len(s) for s in seqs], np.int32)
    tensors[REF_PREFIX + "topk_ids"] = topk_ids
    tensors[REF_PREFIX + "topk_logits"] = topk_vals
    metadata = {
        "architecture": src.config.to_dict(),
        "tokenizer": src.tokenizer_meta,
        "chat_template": src.chat_template,
        "provenance": {**src.provenance, "converter": CONVERTER_VERSION, "quantization": quantization},
        "quantization": quantization,
        "gate": report,
    }
    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, durable=True) as tmp:  # no .apr unless it validates
        with open(tmp, "wb") as f:
            write_apr_stream(f, metadata, tensors)
        del tensors, stored
        report["validation"] = {**validate_apr(tmp), "path": str(dest)}
    return report
