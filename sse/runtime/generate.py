"""Batched generation: prefill each prompt, then decode all of them together.

Greedy at temperature 0 (deterministic: the same input gives the same tokens,
whatever else is in the batch, up to float summation order of BLAS); seeded
temperature/top-p sampling otherwise, with one RNG per request so a request's
sample does not depend on its batch mates. Stops on EOS ids, stop strings, or
max tokens. Records tokens in/out, time to first token, tokens/s, wall seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash

from sse.runtime.engine import KVCache, LlamaModel
from sse.runtime.threads import blas_threads, default_threads
from sse.runtime.tokenizer import Tokenizer


@dataclass(frozen=True)
class GenRequest:
    prompt_ids: tuple[int, ...]
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()


@dataclass
class GenResult:
    token_ids: list[int]
    text: str
    tokens_in: int
    tokens_out: int
    ttft_s: float
    wall_s: float
    finish_reason: str  # "eos" | "stop" | "length"
    meta: dict[str, float] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_out / self.wall_s if self.wall_s > 0 else 0.0


def sample_token(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Greedy when temperature <= 0; else softmax(logits / T) restricted to the top-p nucleus."""
    if temperature <= 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    z -= z.max()
    p = np.exp(z)
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p, kind="stable")
        cum = np.cumsum(p[order])
        cut = int(np.searchsorted(cum, top_p)) + 1
        keep = order[:cut]
        q = p[keep] / p[keep].sum()
        return int(keep[rng.choice(len(keep), p=q)])
    return int(rng.choice(len(p), p=p))


def _rng(req: GenRequest) -> np.random.Generator:
    h = xxhash.xxh64_intdigest(np.asarray(req.prompt_ids, np.int64).tobytes(), seed=req.seed & 0xFFFFFFFFFFFFFFFF)
    return np.random.default_rng([req.seed & 0xFFFFFFFF, h])


def _stop_hit(text: str, stops: Sequence[str]) -> int | None:
    """Index where the earliest stop string starts, or None."""
    hits = [i for s in stops if s and (i := text.find(s)) >= 0]
    return min(hits) if hits else None


def generate(model: LlamaModel, tok: Tokenizer, requests: Sequence[GenRequest],
             eos_ids: Sequence[int] = (), threads: int | None = None) -> list[GenResult]:
    """Decode every request in one batch (call with at most batch_size requests)."""
    if not requests:
        return []
    with blas_threads(threads if threads is not None else default_threads()):
        return _generate(model, tok, requests, eos_ids)


def _generate(model: LlamaModel, tok: Tokenizer, requests: Sequence[GenRequest],
              eos_ids: Sequence[int]) -> list[GenResult]:
    t0 = time.perf_counter()
    eos = set(int(e) for e in (eos_ids or model.cfg.eos_token_ids))
    B = len(requests)
    max_ctx = model.cfg.max_position_embeddings
    lens = [len(r.prompt_ids) for r in requests]
    for i, n in enumerate(lens):
        if n == 0:
            raise ValueError(f"request {i} has an empty prompt")
        if n >= max_ctx:
            raise ValueError(f"request {i}: prompt of {n} tokens exceeds the context of {max_ctx}")
    budgets = [max(0, min(r.max_tokens, max_ctx - n)) for r, n in zip(requests, lens, strict=True)]
    Lmax = max(lens)
    cache = KVCache(model.cfg, B, Lmax + max(budgets) + 1)
    rngs = [_rng(r) for r in requests]
    out_ids: list[list[int]] = [[] for _ in range(B)]
    texts = ["" for _ in range(B)]
    finish = ["length"] * B
    ttft = [0.0] * B
    wall = [0.0] * B
    done = [False] * B

    def accept(i: int, tokid: int) -> None:
        r = requests[i]
        if tokid in eos:
            finish[i], done[i] = "eos", True
            return
        out_ids[i].append(tokid)
        if r.stop:
            text = tok.decode(out_ids[i])
            cut = _stop_hit(text, r.stop)
            if cut is not None:
                texts[i] = text[:cut]
                finish[i], done[i] = "stop", True
                return
        if len(out_ids[i]) >= budgets[i]:
            done[i] = True

    next_tok = np.zeros(B, np.int64)
    for i, r in enumerate(requests):
        logits = model.prefill(np.asarray(r.prompt_ids, np.int64), cache, row=i, slot0=Lmax - lens[i])
        now = time.perf_counter() - t0
        if budgets[i] == 0:
            done[i] = True
            wall[i] = now
            continue
        next_tok[i] = sample_token(logits, r.temperature, r.top_p, rngs[i])
        ttft[i] = now
        accept(i, int(next_tok[i]))
        if done[i]:
            wall[i] = now
    cache.used = Lmax
    active = np.array([i for i in range(B) if not done[i]], dtype=np.int64)
    if len(active) < B:
        cache.keep(active)
    positions = np.array(lens, np.int64)[active]
    while len(active):
        logits = model.decode_step(next_tok[active], positions, cache)
        now = time.perf_counter() - t0
        positions = positions + 1
        for j, i in enumerate(active):
            r = requests[i]
            next_tok[i] = sample_token(logits[j], r.temperature, r.top_p, rngs[i])
            accept(int(i), int(next_tok[i]))
            if done[i]:
                wall[i] = now
        still = np.array([not done[i] for i in active], bool)
        if not still.all():
            cache.keep(np.nonzero(still)[0])
            active, positions = active[still], positions[still]
    results = []
    for i in range(B):
        text = texts[i] if finish[i] == "stop" else tok.decode(out_ids[i])
        results.append(GenResult(token_ids=out_ids[i], text=text, tokens_in=lens[i], tokens_out=len(out_ids[i]),
                                 ttft_s=ttft[i], wall_s=wall[i], finish_reason=finish[i]))
    return results
