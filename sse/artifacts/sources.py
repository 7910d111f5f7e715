"""Read a model source (GGUF file or Hugging Face safetensors folder) at full precision.

Why one module: both readers end in the same place -- a `ModelConfig` plus f32
weights under the engine's canonical names (sse/runtime/engine.py) -- and the
per-family differences (tensor names, fused projections, Gemma's 1 + w norms,
llama.cpp's Q/K row order, RoPE scaling) are decided from the family's row in
sse/runtime/arch.py. Anything not understood is one line naming the file and field.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sse.core.errors import ArtifactError
from sse.runtime.arch import ARCHS, GGUF_ARCHS, ArchSpec, ModelConfig, arch_spec, check_rope_scaling
from sse.runtime.engine import check_tensors
from sse.runtime.tokenizer import Tokenizer, tokenizer_json_from_gguf

NORM_TENSORS = ("attn_norm", "ffn_norm", "post_attn_norm", "post_ffn_norm", "q_norm", "k_norm")


@dataclass
class SourceModel:
    """A model read at full precision, in the engine's canonical tensor names."""

    config: ModelConfig
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


def _split_rows(w: np.ndarray, sizes: list[int], name: str, file: str) -> list[np.ndarray]:
    if w.shape[0] != sum(sizes):
        raise ArtifactError(f"fused tensor {name} has {w.shape[0]} rows, expected {sum(sizes)}", file=file,
                            field=name, fix="check the model config against its weights")
    return np.split(w, np.cumsum(sizes)[:-1], axis=0)


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


def hf_arch(c: dict[str, Any], file: str) -> ArchSpec:
    mt = str(c.get("model_type"))
    for a in ARCHS.values():
        if mt in a.hf_model_types:
            return a
    supported = sorted({t for a in ARCHS.values() for t in a.hf_model_types})
    raise ArtifactError(f"model_type {mt!r} is not supported (supported: {', '.join(supported)})", file=file,
                        field="model_type", fix="choose a model of a supported family")


def _hf_rope(c: dict[str, Any], layer_type: str | None, default_theta: float, file: str
             ) -> tuple[float, dict[str, Any] | None, float]:
    """(theta, scaling, partial_rotary_factor) for one layer type, from either config format."""
    rp = c.get("rope_parameters")
    if isinstance(rp, dict) and layer_type and isinstance(rp.get(layer_type), dict):
        rp = rp[layer_type]
    if isinstance(rp, dict) and ("rope_theta" in rp or "rope_type" in rp):
        theta = float(rp.get("rope_theta", default_theta))
        scaling = dict(rp)
        partial = float(rp.get("partial_rotary_factor", c.get("partial_rotary_factor") or 1.0))
    else:
        theta = float(c.get("rope_theta", default_theta))
        scaling = dict(c.get("rope_scaling") or {})
        partial = float(c.get("partial_rotary_factor") or 1.0)
    for k in ("rope_theta", "partial_rotary_factor"):
        scaling.pop(k, None)
    if scaling.get("rope_type", scaling.get("type")) == "longrope":
        scaling.setdefault("original_max_position_embeddings", c.get("original_max_position_embeddings"))
        if scaling.get("factor") is None and scaling.get("original_max_position_embeddings"):
            scaling["factor"] = float(c["max_position_embeddings"]) / float(scaling["original_max_position_embeddings"])
    return theta, check_rope_scaling(scaling, file=file, fld="rope_scaling"), partial


def hf_config(c: dict[str, Any], file: str) -> ModelConfig:
    """ModelConfig from a Hugging Face config.json (transformers 4 or 5 layout)."""
    a = hf_arch(c, file)
    if "text_config" in c and "hidden_size" not in c:
        c = {**c["text_config"], "model_type": c.get("model_type")}
    try:
        n_head = int(c["num_attention_heads"])
        hidden = int(c["hidden_size"])
        n_layers = int(c["num_hidden_layers"])
        head_dim = int(c.get("head_dim") or hidden // n_head)
        ffn = int(c["intermediate_size"])
        vocab = int(c["vocab_size"])
    except KeyError as e:
        raise ArtifactError(f"config has no {e.args[0]}", file=file, field=str(e.args[0]),
                            fix="use the model's original config.json") from e
    act = c.get("hidden_activation") or c.get("hidden_act") or "silu"
    want_act = {"silu": ("silu", "swish"), "gelu_tanh": ("gelu_pytorch_tanh", "gelu_tanh")}[a.activation]
    if act not in want_act:
        raise ArtifactError(f"activation {act!r} is not supported for {a.name} (supported: {', '.join(want_act)})",
                            file=file, field="hidden_act", fix="use the model's original config.json")
    sliding_window = c.get("sliding_window")
    layer_types: list[str] = []
    if c.get("layer_types"):
        layer_types = ["sliding" if t == "sliding_attention" else "full" for t in c["layer_types"]]
        if set(c["layer_types"]) - {"sliding_attention", "full_attention"}:
            raise ArtifactError(f"layer types {sorted(set(c['layer_types']))} are not supported", file=file,
                                field="layer_types", fix="use a model with full/sliding attention layers")
    elif a.name == "gemma3":
        pattern = int(c.get("sliding_window_pattern", 6))
        layer_types = ["sliding" if (i + 1) % pattern else "full" for i in range(n_layers)]
    elif a.name in ("qwen2", "qwen3"):
        if c.get("use_sliding_window") and sliding_window:
            mwl = int(c.get("max_window_layers", n_layers))
            layer_types = ["sliding" if i >= mwl else "full" for i in range(n_layers)]
    elif a.all_layers_sliding and sliding_window:
        layer_types = ["sliding"] * n_layers
    if "sliding" not in layer_types:
        sliding_window, layer_types = None, []
    default_theta = 1_000_000.0 if a.name == "gemma3" else 10000.0
    if a.name == "gemma3":
        theta, scaling, partial = _hf_rope(c, "full_attention", default_theta, file)
        local_theta, local_scaling, _ = _hf_rope({**c, "rope_theta": c.get("rope_local_base_freq", 10000.0),
                                                  "rope_scaling": None}, "sliding_attention", 10000.0, file)
    else:
        theta, scaling, partial = _hf_rope(c, None, default_theta, file)
        local_theta, local_scaling = None, None
    eos = c.get("eos_token_id")
    eos_ids = tuple(int(x) for x in (eos if isinstance(eos, list) else [eos] if eos is not None else []))
    cfg = ModelConfig(
        architecture=a.name, vocab_size=vocab, hidden_size=hidden, num_layers=n_layers, num_heads=n_head,
        num_kv_heads=int(c.get("num_key_value_heads") or n_head), intermediate_size=ffn, head_dim=head_dim,
        rms_norm_eps=float(c.get("rms_norm_eps", 1e-6)), rope_theta=theta, rope_scaling=scaling,
        rope_theta_local=local_theta, rope_scaling_local=local_scaling,
        rotary_dim=int(head_dim * partial) if partial != 1.0 else 0,
        tie_word_embeddings=bool(c.get("tie_word_embeddings", a.name == "gemma3")),
        max_position_embeddings=int(c.get("max_position_embeddings", 2048)),
        bos_token_id=c.get("bos_token_id"), eos_token_ids=eos_ids,
        sliding_window=int(sliding_window) if sliding_window else None, layer_types=tuple(layer_types),
        attn_scale=float(c.get("query_pre_attn_scalar", head_dim)) ** -0.5 if a.name == "gemma3" else None,
        activation=a.activation,
        embed_scale=float(np.float32(math.sqrt(hidden))) if a.embed_scale_sqrt_hidden else 1.0,
        qk_norm=a.qk_norm, post_norms=a.post_norms,
        final_logit_softcap=c.get("final_logit_softcapping") or None)
    cfg.validate(file)
    return cfg


def _hf_layer_map(a: ArchSpec) -> dict[str, str]:
    m = {"input_layernorm": "attn_norm", "self_attn.q_proj.weight": "wq", "self_attn.k_proj.weight": "wk",
         "self_attn.v_proj.weight": "wv", "self_attn.o_proj.weight": "wo", "self_attn.q_proj.bias": "bq",
         "self_attn.k_proj.bias": "bk", "self_attn.v_proj.bias": "bv", "self_attn.q_norm": "q_norm",
         "self_attn.k_norm": "k_norm", "mlp.gate_proj.weight": "w_gate", "mlp.up_proj.weight": "w_up",
         "mlp.down_proj.weight": "w_down", "post_attention_layernorm": "ffn_norm"}
    if a.post_norms:
        m.update({"post_attention_layernorm": "post_attn_norm", "pre_feedforward_layernorm": "ffn_norm",
                  "post_feedforward_layernorm": "post_ffn_norm"})
    return {(k + ".weight" if not k.endswith((".weight", ".bias")) else k): v for k, v in m.items()}


def hf_weights(raw: dict[str, np.ndarray], cfg: ModelConfig, file: str) -> dict[str, np.ndarray]:
    """HF tensor names -> canonical names, splitting fused projections and folding 1 + w norms."""
    a = arch_spec(cfg.architecture)
    lm = _hf_layer_map(a)
    H, K, hd, F = cfg.num_heads, cfg.num_kv_heads, cfg.hd, cfg.intermediate_size
    w: dict[str, np.ndarray] = {}
    for name, arr in raw.items():
        n = name
        for pre in ("model.language_model.", "language_model.model.", "model."):
            if n.startswith(pre):
                n = n[len(pre):]
                break
        if n == "embed_tokens.weight":
            w["tok_embd"] = arr
        elif n == "norm.weight":
            w["norm"] = arr
        elif n in ("lm_head.weight", "language_model.lm_head.weight"):
            w["lm_head"] = arr
        elif n.startswith("layers."):
            _, idx, rest = n.split(".", 2)
            p = f"layers.{idx}."
            if rest in lm:
                w[p + lm[rest]] = arr
            elif rest == "self_attn.qkv_proj.weight" and a.fused_qkv:
                w[p + "wq"], w[p + "wk"], w[p + "wv"] = _split_rows(arr, [H * hd, K * hd, K * hd], name, file)
            elif rest == "mlp.gate_up_proj.weight" and a.fused_gate_up:
                w[p + "w_gate"], w[p + "w_up"] = _split_rows(arr, [F, F], name, file)
            elif rest.endswith(".bias") or rest.endswith(".weight"):
                raise ArtifactError(f"tensor {name} is not understood for {a.name}", file=file, field=name,
                                    fix="this variant of the family is not supported")
    if cfg.tie_word_embeddings:
        w.pop("lm_head", None)
    if a.norm_plus_one:
        for k in list(w):
            if k == "norm" or k.rsplit(".", 1)[-1] in NORM_TENSORS:
                w[k] = w[k].astype(np.float32) + np.float32(1.0)
    return w


def _special(tcfg: dict[str, Any], name: str) -> str | None:
    v = tcfg.get(name)
    return v.get("content") if isinstance(v, dict) else v


def load_hf_folder(folder: str | os.PathLike[str]) -> SourceModel:
    d = Path(folder)
    cfg_path = d / "config.json"
    if not cfg_path.is_file():
        raise ArtifactError("no config.json", file=str(d), fix="point at a Hugging Face model folder")
    c = json.loads(cfg_path.read_text())
    cfg = hf_config(c, str(cfg_path))
    tok_path = d / "tokenizer.json"
    if not tok_path.is_file():
        raise ArtifactError("no tokenizer.json", file=str(d), fix="add the model's tokenizer.json")
    tcfg_path = d / "tokenizer_config.json"
    tcfg = json.loads(tcfg_path.read_text()) if tcfg_path.is_file() else {}
    files = sorted(d.glob("*.safetensors"))
    if not files:
        raise ArtifactError("no *.safetensors files", file=str(d), fix="download the safetensors weights")
    raw: dict[str, np.ndarray] = {}
    for p in files:
        raw.update(read_safetensors(p))
    weights = hf_weights(raw, cfg, str(d))
    if "layers.0.bq" in weights:
        cfg = cfg.with_(attn_bias=True)
    check_tensors(cfg, weights, str(d))
    tok_json = tok_path.read_text(encoding="utf-8")
    bos_tok = _special(tcfg, "bos_token")
    add_bos = bool(tcfg.get("add_bos_token", cfg.architecture == "gemma3"))
    tok_meta = {"bos_token_id": c.get("bos_token_id"),
                "eos_token_id": cfg.eos_token_ids[0] if cfg.eos_token_ids else None,
                "bos_token": bos_tok, "eos_token": _special(tcfg, "eos_token"),
                "add_bos": add_bos, "source": "tokenizer.json"}
    template = tcfg.get("chat_template")
    if template is None and (d / "chat_template.jinja").is_file():
        template = (d / "chat_template.jinja").read_text(encoding="utf-8")
    prov = {"format": "hf-safetensors",
            "files": [{"name": p.name, "sha256": sha256_file(p)} for p in [cfg_path, tok_path, *files]]}
    src_tok = Tokenizer(tok_json)
    return SourceModel(cfg, weights, tok_json, tok_meta, template, prov, reference_tokenizer=src_tok.encode)


# ------------------------------------------------------------------------------------------------
# GGUF
# ------------------------------------------------------------------------------------------------

_GGUF_LAYER = {"attn_norm": "attn_norm", "attn_q": "wq", "attn_k": "wk", "attn_v": "wv", "attn_output": "wo",
               "ffn_norm": "ffn_norm", "ffn_gate": "w_gate", "ffn_up": "w_up", "ffn_down": "w_down",
               "attn_q_norm": "q_norm", "attn_k_norm": "k_norm", "post_attention_norm": "post_attn_norm",
               "post_ffw_norm": "post_ffn_norm"}
_GGUF_BIAS = {"attn_q": "bq", "attn_k": "bk", "attn_v": "bv"}


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (interleaved RoPE pairs -> HF rotate-half halves)."""
    out = w.shape[0]
    return w.reshape(n_head, out // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's Q/K row order (what its HF->GGUF converter writes for rope type NORM)."""
    out = w.shape[0]
    return w.reshape(n_head, 2, out // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


class _Fields:
    def __init__(self, reader: Any) -> None:
        self.reader = reader

    def __call__(self, key: str, default: Any = ...) -> Any:
        f = self.reader.fields.get(key)
        if f is None:
            if default is ...:
                raise KeyError(key)
            return default
        return f.contents()


def _gguf_array(t: Any, file: str) -> np.ndarray:
    from gguf.quants import dequantize

    try:
        arr = dequantize(t.data, t.tensor_type)
    except (NotImplementedError, ValueError, KeyError) as e:
        raise ArtifactError(f"tensor {t.name}: type {t.tensor_type.name} cannot be dequantised ({e})", file=file,
                            field=t.name, fix="use a GGUF whose tensor types the gguf package reads") from e
    shape = [int(x) for x in reversed(t.shape)] if len(t.shape) > 1 else [int(t.shape[0])]
    return np.asarray(arr, dtype=np.float32).reshape(shape)


def gguf_config(f: _Fields, tensors: dict[str, Any], file: str) -> tuple[ModelConfig, ArchSpec]:
    garch = f("general.architecture", None)
    if garch not in GGUF_ARCHS:
        raise ArtifactError(f"architecture {garch!r} is not supported (supported: {', '.join(GGUF_ARCHS)})",
                            file=file, field="general.architecture", fix="choose a model of a supported family")
    a = arch_spec(garch)

    def k(key: str, default: Any = ...) -> Any:
        return f(f"{garch}.{key}", default)

    try:
        n_head = int(k("attention.head_count"))
        hidden = int(k("embedding_length"))
        n_layers = int(k("block_count"))
        ffn = int(k("feed_forward_length"))
        eps = float(k("attention.layer_norm_rms_epsilon"))
    except KeyError as e:
        raise ArtifactError(f"missing metadata key {e.args[0]}", file=file, field=str(e.args[0]),
                            fix="use a GGUF written by a current llama.cpp converter") from e
    n_kv = int(k("attention.head_count_kv", n_head))
    head_dim = int(k("attention.key_length", hidden // n_head))
    rot = int(k("rope.dimension_count", head_dim))
    ctx = int(k("context_length", 2048))
    theta = float(k("rope.freq_base", 1_000_000.0 if garch == "gemma3" else 10000.0))
    stype = str(k("rope.scaling.type", "none") or "none")
    scaling: dict[str, Any] | None = None
    if stype == "linear":
        factor = float(k("rope.scaling.factor", 1.0))
        scaling = {"rope_type": "linear", "factor": factor} if factor != 1.0 else None
    elif stype not in ("none", ""):
        if not ("rope_factors_long.weight" in tensors and stype in ("longrope", "su")):
            raise ArtifactError(f"RoPE scaling type {stype!r} is not supported (supported: none, linear, "
                                "llama3 via rope_freqs, longrope)", file=file, field=f"{garch}.rope.scaling.type",
                                fix="choose a model with a supported RoPE scaling")
    if "rope_freqs.weight" in tensors:  # llama3 scaling: llama.cpp stores the per-frequency divisors
        scaling = {"rope_type": "factors", "factors": _gguf_array(tensors["rope_freqs.weight"], file).tolist()}
    if "rope_factors_long.weight" in tensors:
        orig = int(k("rope.scaling.original_context_length", ctx))
        scaling = {"rope_type": "longrope", "original_max_position_embeddings": orig,
                   "factor": ctx / orig, "attention_factor": k("rope.scaling.attn_factor", None),
                   "long_factor": _gguf_array(tensors["rope_factors_long.weight"], file).tolist(),
                   "short_factor": _gguf_array(tensors["rope_factors_short.weight"], file).tolist()}
    swa = int(k("attention.sliding_window", 0) or 0)
    layer_types: tuple[str, ...] = ()
    if swa and garch == "gemma3":
        layer_types = tuple("full" if i % 6 == 5 else "sliding" for i in range(n_layers))
    elif swa and a.all_layers_sliding:
        layer_types = ("sliding",) * n_layers
    else:
        swa = 0
    attn_scale = None
    if garch == "gemma3":  # llama.cpp: 1/sqrt(head_dim), except the 62-layer 27B (hidden / heads)
        attn_scale = (hidden / n_head) ** -0.5 if n_layers == 62 else head_dim ** -0.5
    cfg = ModelConfig(
        architecture=a.name, vocab_size=0, hidden_size=hidden, num_layers=n_layers, num_heads=n_head,
        num_kv_heads=n_kv, intermediate_size=ffn, head_dim=head_dim, rms_norm_eps=eps, rope_theta=theta,
        rope_scaling=check_rope_scaling(scaling, file=file, fld=f"{garch}.rope.scaling.type"),
        rope_theta_local=float(k("rope.freq_base_swa", 10000.0)) if garch == "gemma3" else None,
        rotary_dim=rot if rot != head_dim else 0, tie_word_embeddings="output.weight" not in tensors,
        max_position_embeddings=ctx, sliding_window=swa or None, layer_types=layer_types, attn_scale=attn_scale,
        activation=a.activation, embed_scale=float(np.float32(math.sqrt(hidden))) if a.embed_scale_sqrt_hidden
        else 1.0, qk_norm=a.qk_norm, post_norms=a.post_norms,
        final_logit_softcap=float(k("final_logit_softcapping", 0.0) or 0.0) or None,
        attn_bias="blk.0.attn_q.bias" in tensors)
    return cfg, a


def load_gguf(path: str | os.PathLike[str]) -> SourceModel:
    import gguf

    file = str(path)
    try:
        reader = gguf.GGUFReader(file)
    except Exception as e:  # the gguf package raises ValueError/struct errors on bad files
        raise ArtifactError(f"not a readable GGUF file ({type(e).__name__}: {e})", file=file,
                            fix="check the download (sse models validate) or fetch it again") from e
    f = _Fields(reader)
    tensors = {t.name: t for t in reader.tensors}
    cfg, a = gguf_config(f, tensors, file)
    H, K, hd, F = cfg.num_heads, cfg.num_kv_heads, cfg.hd, cfg.intermediate_size
    weights: dict[str, np.ndarray] = {}
    for name, t in tensors.items():
        if name in ("rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight"):
            continue
        if name == "token_embd.weight":
            weights["tok_embd"] = _gguf_array(t, file)
        elif name == "output_norm.weight":
            weights["norm"] = _gguf_array(t, file)
        elif name == "output.weight":
            weights["lm_head"] = _gguf_array(t, file)
        elif name.startswith("blk."):
            _, idx, kind, wb = name.split(".", 3)
            p = f"layers.{idx}."
            if wb == "bias" and kind in _GGUF_BIAS:
                arr = _gguf_array(t, file)
                if a.gguf_permuted_qk and kind in ("attn_q", "attn_k"):
                    arr = unpermute_qk(arr[:, None], H if kind == "attn_q" else K)[:, 0]
                weights[p + _GGUF_BIAS[kind]] = arr
            elif wb != "weight":
                raise ArtifactError(f"tensor {name} is not understood", file=file, field=name,
                                    fix="this variant of the family is not supported")
            elif kind == "attn_qkv" and a.fused_qkv:
                weights[p + "wq"], weights[p + "wk"], weights[p + "wv"] = _split_rows(
                    _gguf_array(t, file), [H * hd, K * hd, K * hd], name, file)
            elif kind == "ffn_up" and a.fused_gate_up and int(t.shape[-1]) == 2 * F:
                weights[p + "w_gate"], weights[p + "w_up"] = _split_rows(_gguf_array(t, file), [F, F], name, file)
            elif kind in _GGUF_LAYER:
                arr = _gguf_array(t, file)
                if a.gguf_permuted_qk and kind == "attn_q":
                    arr = unpermute_qk(arr, H)
                elif a.gguf_permuted_qk and kind == "attn_k":
                    arr = unpermute_qk(arr, K)
                weights[p + _GGUF_LAYER[kind]] = arr
            else:
                raise ArtifactError(f"tensor {name} is not understood", file=file, field=name,
                                    fix="this variant of the family is not supported")
    if "tok_embd" not in weights:
        raise ArtifactError("missing tensor token_embd.weight", file=file, field="token_embd.weight",
                            fix="the GGUF is incomplete; download it again")
    try:
        tok_json, tok_meta = tokenizer_json_from_gguf(f, file)
    except KeyError as e:
        raise ArtifactError(f"missing metadata key {e.args[0]}", file=file, field=str(e.args[0]),
                            fix="use a GGUF written by a current llama.cpp converter") from e
    eos = [int(tok_meta["eos_token_id"])] if tok_meta.get("eos_token_id") is not None else []
    eos += [e for e in tok_meta.pop("extra_eos", []) if e not in eos]
    cfg = cfg.with_(vocab_size=int(weights["tok_embd"].shape[0]), bos_token_id=tok_meta.get("bos_token_id"),
                    eos_token_ids=tuple(eos))
    cfg.validate(file)
    check_tensors(cfg, weights, file)
    kinds = sorted({t.tensor_type.name for t in reader.tensors})
    prov = {"format": "gguf", "files": [{"name": Path(file).name, "sha256": sha256_file(file)}],
            "source_tensor_types": kinds, "general.name": f("general.name", None),
            "general.license": f("general.license", None)}
    return SourceModel(cfg, weights, tok_json, tok_meta, f("tokenizer.chat_template", None), prov,
                       reference_tokenizer=llama_cpp_tokenizer(file))


def llama_cpp_tokenizer(file: str) -> Any:
    """llama.cpp's own tokenizer for this GGUF (vocab only), when llama-cpp-python is installed."""
    from sse.runtime.llamacpp_peer import open_llama

    llm = open_llama(file, vocab_only=True)
    if llm is None:
        return None
    return lambda text: list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))
