"""Slots, shared prefixes and machine-sized defaults around the engine's slot-based KV cache.

Why: a continuous-batching scheduler keeps `n_slots` sequences live and refills a
slot the moment its sequence ends. Working memory must follow the sequences that
are live, not n_slots x the longest sequence ever allowed, so `SlotCache` grows
its capacity (in PAGE-multiple steps) to the longest live sequence and shrinks it
again when the long ones end. The common head of every prompt (chat template,
system prompt, fixed instructions) is computed once per model (`PrefixCache`) and
copied into a slot's first positions; only each prompt's own suffix is prefilled.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sse.runtime.engine import KVCache, Model
from sse.runtime.threads import available_memory_bytes, machine_threads

PAGE = 64  # attention reads keys in pages of this many positions (engine); capacity is a multiple
GROW = 4 * PAGE  # capacity grows and shrinks in steps of this many positions
MIN_PREFIX = 8  # a shorter common head is not worth a cache entry


def kv_bytes_per_position(model: Model) -> int:
    """K and V, every layer, one position of one slot (float32)."""
    cfg = model.cfg
    return 2 * cfg.num_layers * cfg.num_kv_heads * cfg.hd * 4


def _round_up(n: int, step: int) -> int:
    return -(-n // step) * step


class SlotCache:
    """The engine's KVCache with a capacity that tracks the longest live sequence."""

    def __init__(self, model: Model, n_slots: int, capacity: int = GROW) -> None:
        self.model = model
        self.cache: KVCache = model.new_cache(n_slots, _round_up(max(1, capacity), GROW))
        self.peak_bytes = self.cache.nbytes()

    @property
    def capacity(self) -> int:
        return self.cache.max_len

    def fit(self, need: int) -> None:
        """Make room for `need` positions per slot; give memory back when far fewer are needed."""
        cap = self.capacity
        want = _round_up(max(1, need), GROW)
        if need > cap or want * 2 <= cap:
            self._resize(want)

    def _resize(self, cap: int) -> None:
        keep = min(cap, self.capacity, int(self.cache.lengths.max(initial=0)))
        for li, old in enumerate(self.cache.k):  # [slots, heads, hd, positions]
            new = np.zeros((*old.shape[:3], cap), np.float32)
            new[..., :keep] = old[..., :keep]
            self.cache.k[li] = new
        for li, old in enumerate(self.cache.v):  # [slots, heads, positions, hd]
            new = np.zeros((*old.shape[:2], cap, old.shape[3]), np.float32)
            new[:, :, :keep] = old[:, :, :keep]
            self.cache.v[li] = new
        self.peak_bytes = max(self.peak_bytes, self.cache.nbytes())

    def load(self, slot: int, prefix: Prefix | None) -> int:
        """Start slot `slot` afresh, holding `prefix`'s K/V; returns the positions already filled."""
        if prefix is None:
            self.cache.reset(slot)
            return 0
        n = len(prefix.tokens)
        self.fit(max(n, int(self.cache.lengths.max(initial=0))))
        for li in range(len(self.cache.k)):
            self.cache.k[li][slot, ..., :n] = prefix.k[li]
            self.cache.v[li][slot, :, :n] = prefix.v[li]
        self.cache.lengths[slot] = n
        return n

    def release(self, slot: int) -> None:
        self.cache.reset(slot)


@dataclass(frozen=True)
class Prefix:
    """K/V of a token prefix, per layer in the cache's layout: k [n_kv_heads, head_dim, n], v [n_kv_heads, n, head_dim]."""

    tokens: tuple[int, ...]
    k: tuple[np.ndarray, ...]
    v: tuple[np.ndarray, ...]

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.k) + sum(a.nbytes for a in self.v)


def common_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every prompt."""
    if not prompts:
        return 0
    a = np.asarray(min(prompts, key=len), np.int64)
    n = len(a)
    for p in prompts:
        m = min(n, len(p))
        diff = np.nonzero(np.asarray(p[:m], np.int64) != a[:m])[0]
        n = int(diff[0]) if len(diff) else m
        if n == 0:
            break
    return n


class PrefixCache:
    """Shared-prefix K/V of one model, kept across calls (a few entries, least recently used out)."""

    def __init__(self, max_entries: int = 4) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, ...], Prefix] = OrderedDict()
        self.computed = 0  # prefixes prefilled (a test and the report read this)

    def for_prompts(self, model: Model, prompts: Sequence[Sequence[int]]) -> Prefix | None:
        """The prefix to share among `prompts`: a cached one every prompt extends, else their common head.

        Every prompt keeps at least one token of its own (its last position yields the first logits).
        """
        if len(prompts) < 2:
            return self._cached(prompts)
        limit = min(len(p) for p in prompts) - 1
        cached = self._cached(prompts)
        if cached is not None:
            return cached
        n = min(common_prefix(prompts), limit)
        if n < MIN_PREFIX:
            return None
        return self._compute(model, tuple(int(t) for t in prompts[0][:n]))

    def _cached(self, prompts: Sequence[Sequence[int]]) -> Prefix | None:
        best: Prefix | None = None
        for key, pre in self._entries.items():
            n = len(key)
            if all(len(p) > n and tuple(p[:n]) == key for p in prompts) and (
                best is None or n > len(best.tokens)
            ):
                best = pre
        if best is not None:
            self._entries.move_to_end(best.tokens)
        return best

    def _compute(self, model: Model, tokens: tuple[int, ...]) -> Prefix:
        cache = model.new_cache(1, _round_up(len(tokens), PAGE))
        model.forward(
            np.asarray(tokens, np.int64),
            np.arange(len(tokens)),
            cache,
            np.zeros(len(tokens), np.int64),
            logit_rows=[len(tokens) - 1],
        )
        n = len(tokens)
        pre = Prefix(
            tokens, tuple(a[0, ..., :n].copy() for a in cache.k), tuple(a[0, :, :n].copy() for a in cache.v)
        )
        self._entries[tokens] = pre
        self.computed += 1
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return pre


# ------------------------------------------------------------------------------------------------ sizing
MAX_SLOTS = 32  # beyond this, a 2-4 core machine gains nothing per extra row (benchmarks/bench_inference.py)
SLOTS_PER_THREAD = 16
MEMORY_SHARE = 0.25  # of the available memory, at most this goes to the KV cache


def machine_slots(
    model: Model, positions_per_slot: int, threads: int | None = None, memory_bytes: int | None = None
) -> int:
    """Decode slots for this machine: enough rows to keep BLAS efficient on its cores, no more
    than a quarter of the free memory holds at full length, and at least one."""
    per_slot = kv_bytes_per_position(model) * max(1, positions_per_slot)
    mem = available_memory_bytes() if memory_bytes is None else memory_bytes
    by_memory = int(mem * MEMORY_SHARE // per_slot)
    by_cores = SLOTS_PER_THREAD * (threads or machine_threads())
    return max(1, min(MAX_SLOTS, by_cores, by_memory))
