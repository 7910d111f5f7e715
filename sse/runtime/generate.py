"""Continuous-batching generation over the engine's slot-based KV cache.

Why this shape: a static batch waits for its slowest row, so most rows sit idle
once the short answers have ended. Here `n_slots` sequences are live at once; the
moment one ends (EOS, its stop policy, a stop string, max_tokens) its slot is
refilled from the waiting prompts, and the new prompt's suffix is prefilled in
the same forward call that decodes the others. The head shared by all prompts
is computed once per model (kvcache.PrefixCache) and copied into each slot.

Decoding stays per-request: greedy at temperature 0; else temperature/top-p
sampling from an RNG seeded by the request's seed and prompt, so a request's
tokens do not depend on which other requests share its steps (the engine's
per-token results do not depend on its batch neighbours either).
Each result records tokens in/out, time to first token and wall seconds from
admission, its share of the process CPU time, and why it ended:
stop_on_block | eos | max_tokens | stop_string.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash

from sse.runtime.engine import Model
from sse.runtime.kvcache import PrefixCache, SlotCache, machine_slots
from sse.runtime.threads import blas_threads, machine_threads
from sse.runtime.tokenizer import Tokenizer
from sse.task.prompting import StopMatcher


@dataclass(frozen=True)
class GenRequest:
    prompt_ids: tuple[int, ...]
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    # A fresh answer-shaped stop matcher per run of this request (sse.task.prompting.stop_matcher).
    matcher: Callable[[], StopMatcher | None] | None = field(default=None, compare=False)


@dataclass
class GenResult:
    token_ids: list[int]
    text: str
    tokens_in: int
    tokens_out: int
    ttft_s: float
    wall_s: float
    finish_reason: str  # "stop_on_block" | "eos" | "max_tokens" | "stop_string"
    cpu_s: float = 0.0
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
    h = xxhash.xxh64_intdigest(
        np.asarray(req.prompt_ids, np.int64).tobytes(), seed=req.seed & 0xFFFFFFFFFFFFFFFF
    )
    return np.random.default_rng([req.seed & 0xFFFFFFFF, h])


def _stop_hit(text: str, stops: Sequence[str]) -> int | None:
    """Index where the earliest stop string starts, or None."""
    hits = [i for s in stops if s and (i := text.find(s)) >= 0]
    return min(hits) if hits else None


@dataclass
class _Live:
    """One admitted request: its slot, what it has produced, and its clocks."""

    index: int
    slot: int
    budget: int
    rng: np.random.Generator
    matcher: StopMatcher | None
    admitted: float
    ids: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # tokens to feed at the next step
    position: int = 0  # position of pending[0]
    text: str | None = None
    ttft: float = 0.0
    cpu: float = 0.0
    finish: str = "max_tokens"


@dataclass
class Scheduler:
    """Runs requests through `n_slots` slots until every request has ended."""

    model: Model
    tok: Tokenizer
    n_slots: int
    eos: frozenset[int]
    prefixes: PrefixCache | None = None
    steps: int = 0
    peak_cache_bytes: int = 0

    def run(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        max_ctx = self.model.cfg.max_position_embeddings
        for i, r in enumerate(requests):
            if not r.prompt_ids:
                raise ValueError(f"request {i} has an empty prompt")
            if len(r.prompt_ids) >= max_ctx:
                raise ValueError(
                    f"request {i}: prompt of {len(r.prompt_ids)} tokens exceeds the context of {max_ctx}"
                )
        prefix = (
            self.prefixes.for_prompts(self.model, [r.prompt_ids for r in requests]) if self.prefixes else None
        )
        n_pre = len(prefix.tokens) if prefix is not None else 0
        slots = SlotCache(
            self.model,
            max(1, min(self.n_slots, len(requests))),
            capacity=max(len(r.prompt_ids) for r in requests) + 1,
        )
        free = list(range(slots.cache.n_slots))[::-1]
        queue = deque(range(len(requests)))
        live: dict[int, _Live] = {}
        results: list[GenResult | None] = [None] * len(requests)
        t0 = time.perf_counter()

        def finish(st: _Live, now: float) -> None:
            r = requests[st.index]
            text = st.text if st.text is not None else self.tok.decode(st.ids)
            results[st.index] = GenResult(
                token_ids=st.ids,
                text=text,
                tokens_in=len(r.prompt_ids),
                tokens_out=len(st.ids),
                ttft_s=st.ttft,
                wall_s=now - st.admitted,
                finish_reason=st.finish,
                cpu_s=st.cpu,
            )
            slots.release(st.slot)
            free.append(st.slot)
            del live[st.slot]

        while queue or live:
            now = time.perf_counter() - t0
            while queue and free:  # refill every free slot at once
                i = queue.popleft()
                r = requests[i]
                slot = free.pop()
                st = _Live(
                    index=i,
                    slot=slot,
                    budget=max(0, min(r.max_tokens, max_ctx - len(r.prompt_ids))),
                    rng=_rng(r),
                    matcher=r.matcher() if r.matcher else None,
                    admitted=now,
                )
                live[slot] = st
                if st.budget == 0:
                    finish(st, now)
                    continue
                use = (
                    prefix is not None
                    and len(r.prompt_ids) > n_pre
                    and tuple(r.prompt_ids[:n_pre]) == prefix.tokens
                )
                st.position = slots.load(slot, prefix if use else None)
                st.pending = list(r.prompt_ids[st.position :])
            if not live:
                continue
            order = sorted(live)
            tokens = np.concatenate([np.asarray(live[s].pending, np.int64) for s in order])
            counts = np.array([len(live[s].pending) for s in order])
            positions = np.concatenate(
                [
                    np.arange(live[s].position, live[s].position + c)
                    for s, c in zip(order, counts, strict=True)
                ]
            )
            slot_ids = np.repeat(np.asarray(order, np.int64), counts)
            last = np.cumsum(counts) - 1
            slots.fit(int(positions.max()) + 1)
            self.peak_cache_bytes = max(self.peak_cache_bytes, slots.cache.nbytes())
            if len(tokens) == 1:  # numpy sends 1-row matmuls to gemv, whose sums differ from gemm's rows:
                tokens, positions, slot_ids = (np.repeat(a, 2) for a in (tokens, positions, slot_ids))
            cpu0 = (
                time.process_time()
            )  # ...the same token twice keeps a lone sequence on the batched numerics
            logits = self.model.forward(tokens, positions, slots.cache, slot_ids, logit_rows=last)
            cpu = time.process_time() - cpu0
            self.steps += 1
            now = time.perf_counter() - t0
            total = int(counts.sum())
            for j, s in enumerate(order):
                st = live[s]
                st.cpu += cpu * int(counts[j]) / total
                st.position += int(counts[j])
                if not st.ids and st.ttft == 0.0:
                    st.ttft = now - st.admitted
                r = requests[st.index]
                nxt = sample_token(logits[j], r.temperature, r.top_p, st.rng)
                if self._accept(st, r, nxt):
                    finish(st, now)
                else:
                    st.pending = [nxt]
        self.peak_cache_bytes = max(self.peak_cache_bytes, slots.peak_bytes)
        return [r for r in results if r is not None]

    def _accept(self, st: _Live, r: GenRequest, tokid: int) -> bool:
        """Record a sampled token; True when the request has ended."""
        if tokid in self.eos:
            st.finish = "eos"
            return True
        st.ids.append(tokid)
        if r.stop or st.matcher is not None:
            text = self.tok.decode(st.ids)
            cut = _stop_hit(text, r.stop) if r.stop else None
            if cut is not None:
                st.text, st.finish = text[:cut], "stop_string"
                return True
            if st.matcher is not None:
                end = st.matcher.feed(text)
                if end is not None:
                    st.text, st.finish = text[:end], "stop_on_block"
                    return True
        return len(st.ids) >= st.budget


def generate(
    model: Model,
    tok: Tokenizer,
    requests: Sequence[GenRequest],
    eos_ids: Sequence[int] = (),
    threads: int | None = None,
    slots: int | None = None,
    prefixes: PrefixCache | None = None,
) -> list[GenResult]:
    """Every request through continuous batching; results in request order.

    slots: sequences decoded together (default: sized to this machine's cores and memory);
    threads: BLAS threads (default: this machine's cores); prefixes: a per-model prefix cache
    kept by the caller across calls (None: no prefix sharing).
    """
    if not requests:
        return []
    eos = frozenset(int(e) for e in (eos_ids or model.cfg.eos_token_ids))
    n_threads = threads if threads is not None else machine_threads()
    if slots is None:
        longest = max(len(r.prompt_ids) + r.max_tokens for r in requests)
        slots = machine_slots(model, longest, threads=n_threads)
    with blas_threads(n_threads):
        return Scheduler(model, tok, slots, eos, prefixes).run(requests)
