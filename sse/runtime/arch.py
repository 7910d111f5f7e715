"""Per-architecture differences as data: one config record and one table of families.

Why: the engine runs a single block function for every decoder family it
supports; what differs between Llama, Qwen2/3, Gemma 3, Phi-3 and Mistral is a
handful of flags (biases, q/k norms, extra norms, activation, embedding scale,
attention scale, sliding windows, RoPE frequencies). They live here, in the
config the converter writes into the .apr, so a family is a row, not a copy of
the forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from sse.core.errors import ArtifactError

ACTIVATIONS = ("silu", "gelu_tanh")
ROPE_TYPES = ("default", "linear", "llama3", "longrope", "factors")
LAYER_TYPES = ("full", "sliding")


@dataclass(frozen=True)
class ArchSpec:
    """What a family needs beyond the shared decoder: read by the converters and the engine."""

    name: str
    hf_model_types: tuple[str, ...]
    gguf_arch: str
    activation: str = "silu"
    qk_norm: bool = False            # per-head RMSNorm on q and k before RoPE (qwen3, gemma3)
    post_norms: bool = False         # RMSNorm on the attention and FFN outputs before the residual (gemma3)
    embed_scale_sqrt_hidden: bool = False
    norm_plus_one: bool = False      # HF stores w for (1 + w) RMSNorm; folded to 1 + w at conversion
    gguf_permuted_qk: bool = False   # llama.cpp's converter interleaves Q/K rows (rope type NORM)
    fused_qkv: bool = False          # HF/GGUF store one qkv projection (phi3), split at conversion
    fused_gate_up: bool = False      # HF/GGUF store gate and up stacked (phi3), split at conversion
    all_layers_sliding: bool = False  # a configured sliding_window applies to every layer (mistral, phi3)


ARCHS: dict[str, ArchSpec] = {a.name: a for a in (
    ArchSpec("llama", ("llama",), "llama", gguf_permuted_qk=True),
    ArchSpec("mistral", ("mistral",), "llama", gguf_permuted_qk=True, all_layers_sliding=True),
    ArchSpec("qwen2", ("qwen2",), "qwen2"),
    ArchSpec("qwen3", ("qwen3",), "qwen3", qk_norm=True),
    ArchSpec("gemma3", ("gemma3_text", "gemma3"), "gemma3", activation="gelu_tanh", qk_norm=True, post_norms=True,
             embed_scale_sqrt_hidden=True, norm_plus_one=True),
    ArchSpec("phi3", ("phi3",), "phi3", fused_qkv=True, fused_gate_up=True, all_layers_sliding=True),
)}
GGUF_ARCHS = sorted({a.gguf_arch for a in ARCHS.values()})


def arch_spec(name: str | None, *, file: str | None = None, fld: str = "architecture") -> ArchSpec:
    """The family's row, or one line naming what is supported."""
    spec = ARCHS.get(str(name))
    if spec is None:
        raise ArtifactError(f"architecture {name!r} is not supported (supported: {', '.join(sorted(ARCHS))})",
                            file=file, field=fld, fix="choose a model of a supported family")
    return spec


def check_rope_scaling(rs: Mapping[str, Any] | None, *, file: str | None = None,
                       fld: str = "rope_scaling") -> dict[str, Any] | None:
    """Normalise a RoPE scaling record to {"rope_type": ..., params}; one line for an unknown type."""
    if not rs:
        return None
    d = dict(rs)
    rtype = str(d.pop("rope_type", None) or d.pop("type", None) or "default")
    d.pop("type", None)
    if rtype not in ROPE_TYPES:
        raise ArtifactError(f"RoPE scaling type {rtype!r} is not supported (supported: {', '.join(ROPE_TYPES)})",
                            file=file, field=fld, fix="choose a model with a supported RoPE scaling")
    need = {"linear": ("factor",), "llama3": ("factor", "low_freq_factor", "high_freq_factor",
                                              "original_max_position_embeddings"),
            "longrope": ("short_factor", "long_factor", "original_max_position_embeddings"),
            "factors": ("factors",)}.get(rtype, ())
    missing = [k for k in need if d.get(k) is None]
    if missing:
        raise ArtifactError(f"RoPE scaling {rtype!r} lacks {', '.join(missing)}", file=file, field=fld,
                            fix="complete the rope scaling parameters in the model config")
    if rtype == "default":
        return None
    return {"rope_type": rtype, **d}


@dataclass(frozen=True)
class ModelConfig:
    """Everything the engine needs to run a decoder; serialised into the .apr metadata."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    head_dim: int = 0
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True
    max_position_embeddings: int = 2048
    bos_token_id: int | None = None
    eos_token_ids: tuple[int, ...] = ()
    architecture: str = "llama"
    rope_scaling: dict[str, Any] | None = None      # applies to full-attention layers
    rope_theta_local: float | None = None            # base of sliding layers (gemma3); None: rope_theta
    rope_scaling_local: dict[str, Any] | None = None
    rotary_dim: int = 0                              # 0: the whole head (partial rotary otherwise)
    sliding_window: int | None = None
    layer_types: tuple[str, ...] = ()                # "full"/"sliding" per layer; () = all full
    attn_scale: float | None = None                  # None: head_dim ** -0.5
    activation: str = "silu"
    embed_scale: float = 1.0
    qk_norm: bool = False
    post_norms: bool = False
    attn_bias: bool = False
    final_logit_softcap: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden_size // self.num_heads

    @property
    def rot(self) -> int:
        return self.rotary_dim or self.hd

    def layer_type(self, i: int) -> str:
        return self.layer_types[i] if self.layer_types else "full"

    def window(self, i: int) -> int | None:
        """Sliding window of layer i (keys with pos_q - pos_k < window are visible), or None."""
        return self.sliding_window if self.layer_type(i) == "sliding" and self.sliding_window else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            v = getattr(self, f.name)
            d[f.name] = list(v) if isinstance(v, tuple) else v
        d["head_dim"] = self.hd
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, file: str | None = None) -> ModelConfig:
        arch_spec(d.get("architecture", "llama"), file=file, fld="metadata.architecture.architecture")
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known and k != "extra"}
        kw["eos_token_ids"] = tuple(int(x) for x in kw.get("eos_token_ids", ()) or ())
        kw["layer_types"] = tuple(kw.get("layer_types", ()) or ())
        kw["head_dim"] = int(kw.get("head_dim") or 0)
        kw["rope_scaling"] = check_rope_scaling(kw.get("rope_scaling"), file=file,
                                                fld="metadata.architecture.rope_scaling")
        kw["rope_scaling_local"] = check_rope_scaling(kw.get("rope_scaling_local"), file=file,
                                                      fld="metadata.architecture.rope_scaling_local")
        cfg = cls(**kw)
        cfg.validate(file)
        return cfg

    def validate(self, file: str | None = None) -> None:
        def bad(fld: str, msg: str, fix: str) -> ArtifactError:
            return ArtifactError(msg, file=file, field=f"architecture.{fld}", fix=fix)

        arch_spec(self.architecture, file=file)
        if self.activation not in ACTIVATIONS:
            raise bad("activation", f"activation {self.activation!r} is not supported",
                      f"use one of {', '.join(ACTIVATIONS)}")
        if self.num_heads % self.num_kv_heads:
            raise bad("num_kv_heads", f"num_heads {self.num_heads} is not a multiple of num_kv_heads "
                      f"{self.num_kv_heads}", "check the model config")
        if self.rot % 2 or self.rot > self.hd:
            raise bad("rotary_dim", f"rotary dimension {self.rot} does not fit head_dim {self.hd}",
                      "check partial_rotary_factor")
        if self.layer_types and (len(self.layer_types) != self.num_layers
                                 or set(self.layer_types) - set(LAYER_TYPES)):
            raise bad("layer_types", f"layer_types must list {self.num_layers} of {LAYER_TYPES}",
                      "check the model config")
        if "sliding" in self.layer_types and not self.sliding_window:
            raise bad("sliding_window", "sliding layers without a sliding_window", "set sliding_window")

    def with_(self, **kw: Any) -> ModelConfig:
        return replace(self, **kw)


def rope_inv_freq(dim: int, base: float, scaling: Mapping[str, Any] | None,
                  context: int = 0) -> tuple[np.ndarray, float]:
    """Inverse frequencies (dim/2) and the cos/sin multiplier for one RoPE flavour.

    `context` is the longest sequence the caller will run: longrope switches to its
    long factors beyond the original training context, as Phi-3 does.
    """
    inv = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    if not scaling:
        return inv, 1.0
    t = scaling["rope_type"]
    if t == "linear":
        return inv / float(scaling["factor"]), 1.0
    if t == "llama3":
        factor = float(scaling["factor"])
        lo, hi = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
        old = float(scaling["original_max_position_embeddings"])
        wavelen = 2 * math.pi / inv
        scaled = np.where(wavelen > old / lo, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
        return np.where(medium, smoothed, scaled), 1.0
    if t == "factors":  # llama.cpp's rope_freqs tensor: per-frequency divisors (its llama3 scaling)
        f = np.asarray(scaling["factors"], np.float64)
        if f.shape != inv.shape:
            raise ArtifactError(f"rope frequency factors have {f.size} entries, expected {inv.size}",
                                field="rope_freqs", fix="check the model's rope dimension")
        return inv / f, 1.0
    if t == "longrope":
        orig = int(scaling["original_max_position_embeddings"])
        factor = scaling.get("factor") or float(scaling.get("max_position_embeddings", orig)) / orig
        att = scaling.get("attention_factor")
        if att is None:
            att = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
        ext = np.asarray(scaling["long_factor"] if context > orig else scaling["short_factor"], np.float64)
        if ext.shape != inv.shape:
            raise ArtifactError(f"longrope factors have {ext.size} entries, expected {inv.size}",
                                field="rope_scaling.short_factor", fix="check the model config")
        return inv / ext, float(att)
    raise ArtifactError(f"RoPE scaling type {t!r} is not supported (supported: {', '.join(ROPE_TYPES)})",
                        field="rope_scaling", fix="choose a model with a supported RoPE scaling")
