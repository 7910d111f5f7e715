"""A Llama-family decoder in numpy: RMSNorm, RoPE (rotate-half), GQA, SwiGLU, tied/untied head.

Why this shape: every matmul is one BLAS call over the whole batch (q/k/v and
gate/up are fused at load time, weights kept transposed and contiguous in
f32), attention is one batched matmul over all heads, and the only Python loop
per decoded token is over layers. Batched decoding uses a left-padded KV cache
(each sequence's prompt is right-aligned to a shared slot) with a validity mask,
so sequences of different lengths decode in the same step.

Tensor names (canonical, HF orientation [out, in]):
  tok_embd, norm, lm_head (optional), and for each layer i:
  layers.{i}.attn_norm, .wq, .wk, .wv, .wo, .ffn_norm, .w_gate, .w_up, .w_down
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LAYER_TENSORS = ("attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w_gate", "w_up", "w_down")


@dataclass(frozen=True)
class LlamaConfig:
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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden_size // self.num_heads

    def to_dict(self) -> dict[str, Any]:
        return {"architecture": self.architecture, "vocab_size": self.vocab_size,
                "hidden_size": self.hidden_size, "num_layers": self.num_layers, "num_heads": self.num_heads,
                "num_kv_heads": self.num_kv_heads, "intermediate_size": self.intermediate_size,
                "head_dim": self.hd, "rms_norm_eps": self.rms_norm_eps, "rope_theta": self.rope_theta,
                "tie_word_embeddings": self.tie_word_embeddings,
                "max_position_embeddings": self.max_position_embeddings,
                "bos_token_id": self.bos_token_id, "eos_token_ids": list(self.eos_token_ids)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LlamaConfig:
        return cls(vocab_size=int(d["vocab_size"]), hidden_size=int(d["hidden_size"]),
                   num_layers=int(d["num_layers"]), num_heads=int(d["num_heads"]),
                   num_kv_heads=int(d["num_kv_heads"]), intermediate_size=int(d["intermediate_size"]),
                   head_dim=int(d.get("head_dim") or 0), rms_norm_eps=float(d["rms_norm_eps"]),
                   rope_theta=float(d["rope_theta"]), tie_word_embeddings=bool(d["tie_word_embeddings"]),
                   max_position_embeddings=int(d.get("max_position_embeddings") or 2048),
                   bos_token_id=d.get("bos_token_id"), eos_token_ids=tuple(int(x) for x in d.get("eos_token_ids", ())),
                   architecture=str(d.get("architecture", "llama")))


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


class KVCache:
    """Per-layer K/V for a batch, left-padded: slot s of sequence b is valid iff valid[b, s]."""

    def __init__(self, cfg: LlamaConfig, batch: int, max_slots: int) -> None:
        shape = (cfg.num_layers, batch, cfg.num_kv_heads, max_slots, cfg.hd)
        self.k = np.zeros(shape, np.float32)
        self.v = np.zeros(shape, np.float32)
        self.valid = np.zeros((batch, max_slots), bool)
        self.used = 0  # slots [0, used) are filled (or padding)

    @property
    def batch(self) -> int:
        return int(self.k.shape[1])

    def keep(self, rows: np.ndarray) -> None:
        """Drop finished sequences (compaction): later steps do no work for them."""
        self.k = np.ascontiguousarray(self.k[:, rows])
        self.v = np.ascontiguousarray(self.v[:, rows])
        self.valid = self.valid[rows]


class LlamaModel:
    """Inference-only Llama decoder over f32 weights held in RAM."""

    def __init__(self, cfg: LlamaConfig, weights: Mapping[str, np.ndarray]) -> None:
        self.cfg = cfg
        H, K, hd = cfg.num_heads, cfg.num_kv_heads, cfg.hd
        if H % K:
            raise ValueError(f"num_heads {H} is not a multiple of num_kv_heads {K}")
        self.emb = _f32(weights["tok_embd"])
        self.norm = _f32(weights["norm"])
        # logits = x @ head.T; a tied head shares the embedding array (no copy).
        self.head = self.emb if cfg.tie_word_embeddings or "lm_head" not in weights else _f32(weights["lm_head"])
        self.layers: list[dict[str, np.ndarray]] = []
        for i in range(cfg.num_layers):
            w = {n: weights[f"layers.{i}.{n}"] for n in LAYER_TENSORS}
            self.layers.append({
                "attn_norm": _f32(w["attn_norm"]), "ffn_norm": _f32(w["ffn_norm"]),
                "wqkv": _f32(np.concatenate([w["wq"], w["wk"], w["wv"]], axis=0).T),
                "wo": _f32(np.asarray(w["wo"]).T),
                "w13": _f32(np.concatenate([w["w_gate"], w["w_up"]], axis=0).T),
                "w2": _f32(np.asarray(w["w_down"]).T),
            })
        self.q_dim, self.kv_dim = H * hd, K * hd
        inv = 1.0 / (cfg.rope_theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
        self._inv_freq = inv
        self._cos = np.zeros((0, hd), np.float32)
        self._sin = np.zeros((0, hd), np.float32)

    # -- pieces ---------------------------------------------------------------------------------
    def _rope_tables(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cos.shape[0] < n:
            n2 = max(n, 2 * self._cos.shape[0], 256)
            ang = np.outer(np.arange(n2, dtype=np.float64), self._inv_freq)
            ang = np.concatenate([ang, ang], axis=1)
            self._cos, self._sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
        return self._cos, self._sin

    def _rmsnorm(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        var = np.mean(x * x, axis=-1, keepdims=True)
        return x * (1.0 / np.sqrt(var + self.cfg.rms_norm_eps)) * w

    @staticmethod
    def _rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        half = x.shape[-1] // 2
        rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
        return x * cos + rot * sin

    def _mlp(self, h: np.ndarray, L: dict[str, np.ndarray]) -> np.ndarray:
        gu = h @ L["w13"]
        F = self.cfg.intermediate_size
        g = gu[..., :F]
        act = g / (1.0 + np.exp(-g)) * gu[..., F:]
        return act @ L["w2"]

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self._rmsnorm(x, self.norm) @ self.head.T

    # -- prefill: one sequence, all positions -----------------------------------------------------
    def prefill(self, tokens: np.ndarray, cache: KVCache | None = None, row: int = 0, slot0: int = 0,
                all_logits: bool = False) -> np.ndarray:
        """Run a prompt; write its K/V into cache[row, slot0:slot0+T]. Returns logits of the last
        position ([V]) or of all positions ([T, V]) when all_logits."""
        cfg = self.cfg
        T = int(len(tokens))
        H, K, hd = cfg.num_heads, cfg.num_kv_heads, cfg.hd
        G = H // K
        cos, sin = self._rope_tables(T)
        cos, sin = cos[:T], sin[:T]
        x = self.emb[np.asarray(tokens, dtype=np.int64)]
        scale = np.float32(1.0 / np.sqrt(hd))
        causal = np.triu(np.full((T, T), -np.inf, np.float32), k=1)
        for li, L in enumerate(self.layers):
            h = self._rmsnorm(x, L["attn_norm"])
            qkv = h @ L["wqkv"]
            q = qkv[:, : self.q_dim].reshape(T, H, hd).transpose(1, 0, 2)
            k = qkv[:, self.q_dim: self.q_dim + self.kv_dim].reshape(T, K, hd).transpose(1, 0, 2)
            v = qkv[:, self.q_dim + self.kv_dim:].reshape(T, K, hd).transpose(1, 0, 2)
            q = self._rope(q, cos, sin)
            k = self._rope(k, cos, sin)
            if cache is not None:
                cache.k[li, row, :, slot0: slot0 + T] = k
                cache.v[li, row, :, slot0: slot0 + T] = v
            s = (q.reshape(K, G, T, hd) * scale) @ k[:, None].transpose(0, 1, 3, 2)  # [K,G,T,T]
            s += causal
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            o = (s @ v[:, None]).reshape(H, T, hd).transpose(1, 0, 2).reshape(T, self.q_dim)
            x = x + o @ L["wo"]
            x = x + self._mlp(self._rmsnorm(x, L["ffn_norm"]), L)
        if cache is not None:
            cache.valid[row, slot0: slot0 + T] = True
        return self.logits(x) if all_logits else self.logits(x[-1:])[0]

    # -- decode: one new token for every row of the batch -----------------------------------------
    def decode_step(self, tokens: np.ndarray, positions: np.ndarray, cache: KVCache) -> np.ndarray:
        """tokens/positions: [B]. Writes K/V at slot cache.used, attends over valid slots. Returns [B, V]."""
        cfg = self.cfg
        B = int(len(tokens))
        H, K, hd = cfg.num_heads, cfg.num_kv_heads, cfg.hd
        G = H // K
        s_idx = cache.used
        cos_t, sin_t = self._rope_tables(int(positions.max()) + 1)
        cos, sin = cos_t[positions][:, None, :], sin_t[positions][:, None, :]  # [B,1,hd]
        cache.valid[:, s_idx] = True
        n = s_idx + 1
        bias = np.where(cache.valid[:, :n], np.float32(0), np.float32(-np.inf))[:, None, None, :]  # [B,1,1,n]
        x = self.emb[np.asarray(tokens, dtype=np.int64)]
        scale = np.float32(1.0 / np.sqrt(hd))
        for li, L in enumerate(self.layers):
            h = self._rmsnorm(x, L["attn_norm"])
            qkv = h @ L["wqkv"]
            q = self._rope(qkv[:, : self.q_dim].reshape(B, H, hd), cos, sin)
            k = self._rope(qkv[:, self.q_dim: self.q_dim + self.kv_dim].reshape(B, K, hd), cos, sin)
            cache.k[li, :, :, s_idx] = k
            cache.v[li, :, :, s_idx] = qkv[:, self.q_dim + self.kv_dim:].reshape(B, K, hd)
            kk = cache.k[li, :, :, :n]  # [B,K,n,hd]
            vv = cache.v[li, :, :, :n]
            s = (q.reshape(B, K, G, hd) * scale) @ kk.transpose(0, 1, 3, 2)  # [B,K,G,n]
            s += bias
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            o = (s @ vv).reshape(B, self.q_dim)
            x = x + o @ L["wo"]
            x = x + self._mlp(self._rmsnorm(x, L["ffn_norm"]), L)
        cache.used = n
        return self.logits(x)

    def teacher_forced_logits(self, tokens: list[int] | np.ndarray) -> np.ndarray:
        """Logits at every position of `tokens` ([T, V]): what the gate and validator compare."""
        return self.prefill(np.asarray(tokens, dtype=np.int64), all_logits=True)
