"""One decoder in numpy for every supported family, over a slot-based KV cache.

Why this shape: a single block function serves prefill and decode (the only
per-family differences are flags in `ModelConfig`, see sse/runtime/arch.py).
`forward` takes a ragged batch -- a flat list of tokens, each with its cache
slot and position -- so a continuous-batching scheduler can mix new prompts and
decoding sequences in one call. Every matmul is one BLAS call over all tokens
(q/k/v and gate/up fused at load time, weights transposed and contiguous in
f32); attention is one batched matmul per group of slots that bring the same
number of tokens (all decoding slots form one group). Sliding windows are
honoured by masking: the cache keeps every position of every layer.

Speed (benchmarks/bench_inference.py): weights stay [out, in] and are the left
operand (`w @ h.T`; OpenBLAS runs this 20-40% faster than `h @ w.T` at decode
batch sizes, with the same bits); K is cached transposed ([hd, position]) so the
score matmul is a plain NN gemm, half the time of multiplying by a transposed K.

Canonical tensor names (HF orientation [out, in]): tok_embd, norm, lm_head
(optional), and per layer i: layers.{i}.attn_norm, wq, wk, wv, wo, ffn_norm,
w_gate, w_up, w_down, plus optional bq, bk, bv (attn_bias), q_norm, k_norm
(qk_norm), post_attn_norm, post_ffn_norm (post_norms). Norm weights are the
effective multipliers (Gemma's 1 + w is folded in at conversion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sse.core.errors import ArtifactError
from sse.runtime.arch import ModelConfig, rope_inv_freq

# What a native system's fingerprint says about the code that turns weights into text: bump it
# when the numerics, the sampler or stopping change what a model answers (cached answers go).
ENGINE_VERSION = "engine-1"

LAYER_TENSORS = ("attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w_gate", "w_up", "w_down")
BIAS_TENSORS = ("bq", "bk", "bv")
QK_NORM_TENSORS = ("q_norm", "k_norm")
POST_NORM_TENSORS = ("post_attn_norm", "post_ffn_norm")

LlamaConfig = ModelConfig  # the name older callers import


def required_tensors(cfg: ModelConfig) -> list[str]:
    """Every canonical tensor a model of this config must have."""
    per = list(LAYER_TENSORS)
    if cfg.attn_bias:
        per += BIAS_TENSORS
    if cfg.qk_norm:
        per += QK_NORM_TENSORS
    if cfg.post_norms:
        per += POST_NORM_TENSORS
    need = ["tok_embd", "norm"] + [f"layers.{i}.{n}" for i in range(cfg.num_layers) for n in per]
    if not cfg.tie_word_embeddings:
        need.append("lm_head")
    return need


def check_tensors(cfg: ModelConfig, w: Mapping[str, np.ndarray], file: str | None) -> None:
    """One line naming the first missing or misshapen tensor."""
    missing = [n for n in required_tensors(cfg) if n not in w]
    if missing:
        raise ArtifactError(f"missing tensor {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1
                                                             else ""),
                            file=file, field=missing[0], fix="the source is incomplete; download or convert it again")
    H, K, hd, D, F = cfg.num_heads, cfg.num_kv_heads, cfg.hd, cfg.hidden_size, cfg.intermediate_size
    shapes = {"tok_embd": (cfg.vocab_size, D), "norm": (D,), "lm_head": (cfg.vocab_size, D)}
    per = {"attn_norm": (D,), "wq": (H * hd, D), "wk": (K * hd, D), "wv": (K * hd, D), "wo": (D, H * hd),
           "ffn_norm": (D,), "w_gate": (F, D), "w_up": (F, D), "w_down": (D, F), "bq": (H * hd,), "bk": (K * hd,),
           "bv": (K * hd,), "q_norm": (hd,), "k_norm": (hd,), "post_attn_norm": (D,), "post_ffn_norm": (D,)}
    for name in required_tensors(cfg):
        want = shapes.get(name) or per[name.rsplit(".", 1)[1]]
        got = tuple(int(x) for x in np.shape(w[name]))
        if got != want:
            raise ArtifactError(f"tensor {name} has shape {got}, the config implies {want}", file=file, field=name,
                                fix="check the model config against its weights")


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


class KVCache:
    """A fixed set of slots; slot s holds one sequence's K/V at cache index == token position.

    Per layer, k is [slots, kv_heads, head_dim, positions] (transposed: scores are q @ k) and
    v is [slots, kv_heads, positions, head_dim].

    `lengths[s]` counts the positions of slot s already written (the next token of a
    sequence goes at position lengths[s]). Resetting a slot is `lengths[s] = 0`;
    forking a shared prefix is `copy_prefix`.
    """

    def __init__(self, cfg: ModelConfig, n_slots: int, max_len: int) -> None:
        self.k = [np.zeros((n_slots, cfg.num_kv_heads, cfg.hd, max_len), np.float32) for _ in range(cfg.num_layers)]
        self.v = [np.zeros((n_slots, cfg.num_kv_heads, max_len, cfg.hd), np.float32) for _ in range(cfg.num_layers)]
        self.lengths = np.zeros(n_slots, np.int64)

    @property
    def n_slots(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def batch(self) -> int:
        return self.n_slots

    @property
    def max_len(self) -> int:
        return int(self.v[0].shape[2]) if self.v else 0

    def reset(self, slot: int) -> None:
        self.lengths[slot] = 0

    def copy_prefix(self, src: int, dst: int, n: int) -> None:
        """Make slot dst start with the first n positions of slot src (shared-prompt reuse)."""
        for kk, vv in zip(self.k, self.v, strict=True):
            kk[dst, :, :, :n] = kk[src, :, :, :n]
            vv[dst, :, :n] = vv[src, :, :n]
        self.lengths[dst] = n

    def keep(self, rows: np.ndarray) -> None:
        """Keep only these slots, renumbered 0..len(rows)-1 (compaction)."""
        rows = np.asarray(rows, np.int64)
        self.k = [np.ascontiguousarray(a[rows]) for a in self.k]
        self.v = [np.ascontiguousarray(a[rows]) for a in self.v]
        self.lengths = self.lengths[rows]

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.k) + sum(a.nbytes for a in self.v)


@dataclass
class _Group:
    """Slots that bring the same number of tokens T in one forward call."""

    slots: np.ndarray         # [S]
    rows: np.ndarray          # [S, T] indices into the flat token list
    n_keys: int               # keys to read: max position + 1
    bias: dict[int | None, np.ndarray]  # window -> additive mask [S, 1, 1, T, n_keys]
    contiguous: bool


def _mm(h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """h @ w.T for a weight w [out, in], computed as (w @ h.T).T: the faster BLAS call, same bits."""
    return (w @ h.T).T


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608028654) * (x + np.float32(0.044715) * x * x * x)))


class Model:
    """Inference-only decoder over f32 weights held in RAM."""

    def __init__(self, cfg: ModelConfig, weights: Mapping[str, np.ndarray], *, file: str | None = None) -> None:
        cfg.validate(file)
        check_tensors(cfg, weights, file)
        self.cfg = cfg
        self.emb = _f32(weights["tok_embd"])
        self.norm = _f32(weights["norm"])
        # logits = x @ head.T ([V, D] like every weight); a tied head shares the embedding array.
        self.head = self.emb if cfg.tie_word_embeddings else _f32(weights["lm_head"])
        self.layers: list[dict[str, np.ndarray]] = []
        for i in range(cfg.num_layers):
            def w(n: str, i: int = i) -> np.ndarray:
                return np.asarray(weights[f"layers.{i}.{n}"], np.float32)

            L = {"attn_norm": _f32(w("attn_norm")), "ffn_norm": _f32(w("ffn_norm")),
                 "wqkv": _f32(np.concatenate([w("wq"), w("wk"), w("wv")], axis=0)),
                 "wo": _f32(w("wo")),
                 "w13": _f32(np.concatenate([w("w_gate"), w("w_up")], axis=0)),
                 "w2": _f32(w("w_down"))}
            if cfg.attn_bias:
                L["bqkv"] = _f32(np.concatenate([w("bq"), w("bk"), w("bv")]))
            if cfg.qk_norm:
                L["q_norm"], L["k_norm"] = _f32(w("q_norm")), _f32(w("k_norm"))
            if cfg.post_norms:
                L["post_attn_norm"], L["post_ffn_norm"] = _f32(w("post_attn_norm")), _f32(w("post_ffn_norm"))
            self.layers.append(L)
        self.q_dim, self.kv_dim = cfg.num_heads * cfg.hd, cfg.num_kv_heads * cfg.hd
        self._rope: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    # -- pieces -------------------------------------------------------------------------------------
    def _rope_tables(self, kind: str, n: int, context: int) -> tuple[np.ndarray, np.ndarray]:
        """cos/sin [n', rot] for layers of `kind` ("full"/"sliding"), n' >= n."""
        cfg = self.cfg
        longrope = bool(cfg.rope_scaling and cfg.rope_scaling["rope_type"] == "longrope")
        key = (kind, int(context > int(cfg.rope_scaling["original_max_position_embeddings"])) if longrope else 0)
        cached = self._rope.get(key)
        if cached is None or cached[0].shape[0] < n:
            if kind == "sliding" and cfg.rope_theta_local is not None:
                inv, att = rope_inv_freq(cfg.rot, cfg.rope_theta_local, cfg.rope_scaling_local, context)
            else:
                inv, att = rope_inv_freq(cfg.rot, cfg.rope_theta, cfg.rope_scaling, context)
            n2 = max(n, 2 * (cached[0].shape[0] if cached else 0), 256)
            ang = np.outer(np.arange(n2, dtype=np.float64), inv)
            ang = np.concatenate([ang, ang], axis=1)
            cached = ((np.cos(ang) * att).astype(np.float32), (np.sin(ang) * att).astype(np.float32))
            self._rope[key] = cached
        return cached

    def _rmsnorm(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        var = np.mean(x * x, axis=-1, keepdims=True)
        return x * (1.0 / np.sqrt(var + np.float32(self.cfg.rms_norm_eps))) * w

    def _apply_rope(self, x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        """Rotate-half RoPE on the first `rot` dims of each head; x [N, heads, hd], cos/sin [N, 1, rot]."""
        rot = self.cfg.rot
        xr = x[..., :rot]
        half = rot // 2
        rotated = np.concatenate([-xr[..., half:], xr[..., :half]], axis=-1)
        out = xr * cos + rotated * sin
        return out if rot == x.shape[-1] else np.concatenate([out, x[..., rot:]], axis=-1)

    def _mlp(self, h: np.ndarray, L: dict[str, np.ndarray]) -> np.ndarray:
        gu = L["w13"] @ h.T  # [2F, N]: gate and up are row blocks
        F = self.cfg.intermediate_size
        g = gu[:F]
        act = g / (1.0 + np.exp(-g)) if self.cfg.activation == "silu" else _gelu_tanh(g)
        act *= gu[F:]
        return (L["w2"] @ act).T

    def logits(self, x: np.ndarray) -> np.ndarray:
        out = _mm(self._rmsnorm(x, self.norm), self.head)
        cap = self.cfg.final_logit_softcap
        if cap:
            out = np.tanh(out / np.float32(cap)) * np.float32(cap)
        return out

    def new_cache(self, n_slots: int, max_len: int) -> KVCache:
        return KVCache(self.cfg, n_slots, max_len)

    # -- planning -------------------------------------------------------------------------------------
    def _plan(self, slots: np.ndarray, positions: np.ndarray, cache: KVCache) -> list[_Group]:
        order = np.argsort(slots, kind="stable")
        uniq, starts, counts = np.unique(slots[order], return_index=True, return_counts=True)
        windows = {self.cfg.window(i) for i in range(self.cfg.num_layers)}
        groups: list[_Group] = []
        for T in np.unique(counts):
            sel = np.nonzero(counts == T)[0]
            rows = np.stack([order[starts[j]: starts[j] + T] for j in sel])  # [S, T]
            g_slots = uniq[sel]
            pos = positions[rows]  # [S, T]
            if np.any(pos.min(axis=1) > cache.lengths[g_slots]):
                s = int(g_slots[np.argmax(pos.min(axis=1) > cache.lengths[g_slots])])
                raise ValueError(f"slot {s}: positions start past its cached length {int(cache.lengths[s])}")
            n_keys = int(pos.max()) + 1
            j = np.arange(n_keys)
            bias = {}
            for win in windows:
                ok = j[None, None, :] <= pos[:, :, None]
                if win:
                    ok &= (pos[:, :, None] - j[None, None, :]) < win
                bias[win] = np.where(ok, np.float32(0), np.float32(-np.inf))[:, None, None]  # [S,1,1,T,n]
            contiguous = bool(len(g_slots) == g_slots[-1] - g_slots[0] + 1)
            groups.append(_Group(g_slots, rows, n_keys, bias, contiguous))
        return groups

    # -- the block ------------------------------------------------------------------------------------
    def forward(self, tokens: Sequence[int] | np.ndarray, positions: Sequence[int] | np.ndarray,
                cache: KVCache, slots: Sequence[int] | np.ndarray,
                logit_rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Run a ragged batch: token n belongs to cache slot slots[n] at position positions[n].

        Each slot's tokens must be in increasing position order and start at or before
        cache.lengths[slot]; their K/V are written at index == position, then each token
        attends to positions <= its own (within the layer's sliding window). Returns logits
        [len(logit_rows), V] (all tokens when logit_rows is None).
        """
        cfg = self.cfg
        tok = np.asarray(tokens, np.int64).reshape(-1)
        pos = np.asarray(positions, np.int64).reshape(-1)
        sl = np.asarray(slots, np.int64).reshape(-1)
        N = len(tok)
        if not (len(pos) == len(sl) == N) or N == 0:
            raise ValueError("tokens, positions and slots must be non-empty and of one length")
        if pos.min() < 0 or pos.max() >= cache.max_len:
            raise ValueError(f"positions must lie in [0, {cache.max_len}) (the cache's length)")
        if tok.min() < 0 or tok.max() >= cfg.vocab_size:
            raise ValueError(f"token ids must lie in [0, {cfg.vocab_size})")
        H, K, hd = cfg.num_heads, cfg.num_kv_heads, cfg.hd
        G = H // K
        groups = self._plan(sl, pos, cache)
        tables = {}
        for kind in {cfg.layer_type(i) for i in range(cfg.num_layers)}:
            c, s = self._rope_tables(kind, int(pos.max()) + 1, cache.max_len)
            tables[kind] = (c[pos][:, None, :], s[pos][:, None, :])
        scale = np.float32(cfg.attn_scale if cfg.attn_scale is not None else 1.0 / np.sqrt(hd))
        x = self.emb[tok]
        if cfg.embed_scale != 1.0:
            x = x * np.float32(cfg.embed_scale)
        o = np.empty((N, self.q_dim), np.float32)
        for li, L in enumerate(self.layers):
            win = cfg.window(li)
            cos, sin = tables[cfg.layer_type(li)]
            h = self._rmsnorm(x, L["attn_norm"])
            qkv = _mm(h, L["wqkv"])
            if "bqkv" in L:
                qkv += L["bqkv"]
            q = qkv[:, : self.q_dim].reshape(N, H, hd)
            k = qkv[:, self.q_dim: self.q_dim + self.kv_dim].reshape(N, K, hd)
            v = qkv[:, self.q_dim + self.kv_dim:].reshape(N, K, hd)
            if cfg.qk_norm:
                q = self._rmsnorm(q, L["q_norm"])
                k = self._rmsnorm(k, L["k_norm"])
            q = self._apply_rope(q, cos, sin) * scale
            k = self._apply_rope(k, cos, sin)
            ck, cv = cache.k[li], cache.v[li]
            ck[sl, :, :, pos] = k
            cv[sl, :, pos] = v
            for g in groups:
                S, T = g.rows.shape
                if g.contiguous:
                    kk = ck[g.slots[0]: g.slots[-1] + 1, :, :, : g.n_keys]
                    vv = cv[g.slots[0]: g.slots[-1] + 1, :, : g.n_keys]
                else:
                    kk, vv = ck[g.slots, :, :, : g.n_keys], cv[g.slots, :, : g.n_keys]
                # q rows of the group -> [S, K, G*T, hd] (g-major, then t)
                qg = q[g.rows].reshape(S, T, K, G, hd).transpose(0, 2, 3, 1, 4).reshape(S, K, G * T, hd)
                sc = (qg @ kk).reshape(S, K, G, T, g.n_keys)
                sc += g.bias[win]
                sc -= sc.max(axis=-1, keepdims=True)
                np.exp(sc, out=sc)
                sc /= sc.sum(axis=-1, keepdims=True)
                og = sc.reshape(S, K, G * T, g.n_keys) @ vv  # [S, K, G*T, hd]
                og = og.reshape(S, K, G, T, hd).transpose(0, 3, 1, 2, 4).reshape(S * T, self.q_dim)
                o[g.rows.reshape(-1)] = og
            a = _mm(o, L["wo"])
            if cfg.post_norms:
                a = self._rmsnorm(a, L["post_attn_norm"])
            x = x + a
            m = self._mlp(self._rmsnorm(x, L["ffn_norm"]), L)
            if cfg.post_norms:
                m = self._rmsnorm(m, L["post_ffn_norm"])
            x = x + m
        np.maximum.at(cache.lengths, sl, pos + 1)
        return self.logits(x if logit_rows is None else x[np.asarray(logit_rows, np.int64)])

    # -- conveniences -------------------------------------------------------------------------------
    def teacher_forced_logits(self, tokens: Sequence[int] | np.ndarray) -> np.ndarray:
        """Logits at every position of `tokens` ([T, V]): what the gate and validator compare."""
        t = np.asarray(tokens, np.int64).reshape(-1)
        cache = self.new_cache(1, len(t))
        return self.forward(t, np.arange(len(t)), cache, np.zeros(len(t), np.int64))


LlamaModel = Model  # the name older callers import
