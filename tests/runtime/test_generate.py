"""The continuous-batching generation loop on a tiny random Llama: same tokens as decoding each
prompt alone, slots refilled at once, shared prefixes computed once, per-request sampling, stops,
bounded working memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sse.artifacts.convert import convert
from sse.artifacts.tiny import make_tiny_llama
from sse.runtime.generate import GenRequest, Scheduler, generate, sample_token
from sse.runtime.kvcache import (
    GROW,
    PrefixCache,
    SlotCache,
    common_prefix,
    kv_bytes_per_position,
    machine_slots,
)
from sse.runtime.loader import NativeModel, load_native

TEXTS = [
    "def add(a: int, b: int) -> int:",
    "fn main() {",
    "The quick brown fox jumps over the lazy dog. 0123",
    "for i in range(10):\n    print(i)",
    "x = [1, 2, 3]",
    "return None",
]
HEAD = "You translate Python to Rust. Answer with one code block and nothing else, please.\n"


def _ids(nm: NativeModel, text: str) -> tuple[int, ...]:
    return tuple(nm.tokenizer.encode(text))


def _chat(nm: NativeModel, text: str) -> tuple[int, ...]:
    return _ids(nm, nm.chat.render([{"role": "system", "content": HEAD}, {"role": "user", "content": text}]))


def _alone(nm: NativeModel, req: GenRequest, eos: list[int] | None = None) -> list[int]:
    return generate(nm.model, nm.tokenizer, [req], eos_ids=eos or [-1], slots=1)[0].token_ids


def test_continuous_batching_equals_decoding_each_prompt_alone(tiny_native: NativeModel) -> None:
    nm = tiny_native
    reqs = [GenRequest(_chat(nm, t), max_tokens=5 + 7 * (i % 3)) for i, t in enumerate(TEXTS)]
    pc = PrefixCache()
    batched = generate(nm.model, nm.tokenizer, reqs, eos_ids=[-1], slots=3, prefixes=pc)
    assert pc.computed == 1  # the chat head + system prompt, once
    for r, b in zip(reqs, batched, strict=True):
        assert b.token_ids == _alone(nm, r)  # alone: no prefix sharing, no neighbours
        assert b.tokens_in == len(r.prompt_ids) and b.tokens_out == r.max_tokens
        assert b.finish_reason == "max_tokens" and 0 < b.ttft_s <= b.wall_s and b.cpu_s > 0
    again = generate(nm.model, nm.tokenizer, reqs[::-1], eos_ids=[-1], slots=4, prefixes=pc)
    assert pc.computed == 1  # computed once per model: the next call reuses it
    assert [a.token_ids for a in again[::-1]] == [b.token_ids for b in batched]


def test_prefix_logits_equal_full_prefill(tiny_native: NativeModel) -> None:
    """A slot started from the shared prefix's K/V sees the same logits as a whole-prompt prefill."""
    m = tiny_native.model
    a, b = _chat(tiny_native, TEXTS[0]), _chat(tiny_native, TEXTS[2])
    pc = PrefixCache()
    pre = pc.for_prompts(m, [a, b])
    assert pre is not None and 0 < len(pre.tokens) == common_prefix([a, b]) < len(a)
    slots = SlotCache(m, 2, capacity=len(b) + 1)
    n = slots.load(1, pre)
    got = m.forward(np.asarray(b[n:]), np.arange(n, len(b)), slots.cache, np.full(len(b) - n, 1))
    full = m.teacher_forced_logits(b)[n:]
    np.testing.assert_allclose(got, full, rtol=0, atol=1e-5)


def test_finished_slot_is_refilled_at_once(tiny_native: NativeModel) -> None:
    nm = tiny_native
    lens = [20, 1, 1, 1, 20]
    reqs = [GenRequest(_ids(nm, TEXTS[i]), max_tokens=n) for i, n in enumerate(lens)]
    sched = Scheduler(nm.model, nm.tokenizer, n_slots=2, eos=frozenset([-1]))
    out = sched.run(reqs)
    assert [r.tokens_out for r in out] == lens
    # r0 holds one slot for 20 steps; r1, r2, r3 pass through the other in one step each, then r4
    # starts at step 4 and needs 20: 23 forward calls. A static batch of 2 would take 20 + 1 + 20.
    assert sched.steps == 23


def test_seeded_sampling_ignores_batch_neighbours_and_admission(tiny_native: NativeModel) -> None:
    nm = tiny_native
    base = _chat(nm, TEXTS[1])
    req = GenRequest(base, max_tokens=15, temperature=1.0, top_p=0.95, seed=1)

    def run(r: GenRequest, mates: int, slots: int) -> list[int]:
        others = [
            GenRequest(_chat(nm, TEXTS[k % len(TEXTS)]), max_tokens=3 + k, temperature=0.8, seed=k)
            for k in range(mates)
        ]
        res = generate(
            nm.model, nm.tokenizer, [*others, r], eos_ids=[-1], slots=slots, prefixes=PrefixCache()
        )
        return res[-1].token_ids

    alone = run(req, 0, 1)
    assert alone == run(req, 4, 2) == run(req, 5, 3)  # queued behind others, different mates each time
    assert alone != run(GenRequest(base, max_tokens=15, temperature=1.0, top_p=0.95, seed=2), 4, 2)
    tiny_p = generate(
        nm.model, nm.tokenizer, [GenRequest(base, max_tokens=8, temperature=1.0, top_p=1e-9)], eos_ids=[-1]
    )[0]
    assert tiny_p.token_ids == _alone(nm, GenRequest(base, max_tokens=8))


def test_eos_stop_strings_max_tokens_and_answer_stop(tiny_native: NativeModel) -> None:
    nm = tiny_native
    req = GenRequest(_ids(nm, TEXTS[0]), max_tokens=10)
    ref = generate(nm.model, nm.tokenizer, [req], eos_ids=[-1])[0]
    eos_tok = ref.token_ids[3]
    first = ref.token_ids.index(eos_tok)
    r = generate(nm.model, nm.tokenizer, [req], eos_ids=[eos_tok])[0]
    assert r.finish_reason == "eos" and r.token_ids == ref.token_ids[:first]
    text = nm.tokenizer.decode(ref.token_ids)
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert stop.strip()
    r2 = generate(
        nm.model, nm.tokenizer, [GenRequest(req.prompt_ids, max_tokens=10, stop=(stop,))], eos_ids=[-1]
    )[0]
    assert r2.finish_reason == "stop_string" and stop not in r2.text and text.startswith(r2.text)
    r3 = generate(nm.model, nm.tokenizer, [GenRequest(req.prompt_ids, max_tokens=0)], eos_ids=[-1])[0]
    assert r3.tokens_out == 0 and r3.text == "" and r3.finish_reason == "max_tokens"

    class AtLength:
        """Ends the answer once 5 characters exist: the loop must stop decoding right there."""

        def feed(self, t: str) -> int | None:
            return 5 if len(t) >= 5 else None

    r4 = generate(
        nm.model, nm.tokenizer, [GenRequest(req.prompt_ids, max_tokens=10, matcher=AtLength)], eos_ids=[-1]
    )[0]
    k = next(i for i in range(1, 11) if len(nm.tokenizer.decode(ref.token_ids[:i])) >= 5)
    assert r4.finish_reason == "stop_on_block" and r4.token_ids == ref.token_ids[:k] and r4.text == text[:5]


@pytest.fixture(scope="module")
def long_native(tmp_path_factory: pytest.TempPathFactory) -> NativeModel:
    """A tiny model with a context long enough to outgrow several capacity steps."""
    folder = make_tiny_llama(
        tmp_path_factory.mktemp("long") / "model", seed=3, max_position_embeddings=4 * GROW
    )
    apr = folder.parent / "long.f32.apr"
    convert([folder], apr, "f32")
    return load_native(Path(apr))


def test_working_memory_follows_live_sequences(long_native: NativeModel) -> None:
    nm = long_native
    m = nm.model
    long_req = GenRequest(_ids(nm, TEXTS[2]), max_tokens=3 * GROW)
    short = [GenRequest(_ids(nm, t), max_tokens=4) for t in TEXTS]
    sched = Scheduler(m, nm.tokenizer, n_slots=4, eos=frozenset([-1]))
    out = sched.run([long_req, *short])
    assert out[0].tokens_out == 3 * GROW
    need = len(long_req.prompt_ids) + 3 * GROW
    bound = 4 * kv_bytes_per_position(m) * (-(-need // GROW) * GROW)
    assert sched.peak_cache_bytes <= bound  # slots x longest live sequence, never slots x context
    slots = SlotCache(m, 2, capacity=10)
    assert slots.capacity == GROW
    slots.fit(GROW + 1)
    assert slots.capacity == 2 * GROW
    slots.fit(5 * GROW)
    slots.fit(GROW - 3)  # the long ones ended: memory goes back
    assert slots.capacity == GROW


def test_machine_sized_slots(tiny_native: NativeModel) -> None:
    m = tiny_native.model
    per = kv_bytes_per_position(m) * 1000
    assert machine_slots(m, 1000, threads=2, memory_bytes=10**12) == 32
    assert machine_slots(m, 1000, threads=1, memory_bytes=10**12) == 16
    assert machine_slots(m, 1000, threads=2, memory_bytes=per * 12) == 3  # a quarter of free memory
    assert machine_slots(m, 1000, threads=2, memory_bytes=1) == 1


def test_machine_threads_leave_busy_cores_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from sse.runtime.threads import machine_threads

    monkeypatch.delenv("SSE_NATIVE_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert machine_threads() == 4
    monkeypatch.setattr(os, "getloadavg", lambda: (2.6, 0.0, 0.0))
    assert machine_threads() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (15.0, 0.0, 0.0))
    assert machine_threads() == 1
    monkeypatch.setenv("SSE_NATIVE_THREADS", "3")
    assert machine_threads() == 3


def test_sample_token_distribution() -> None:
    rng = np.random.default_rng(0)
    logits = np.log(np.array([0.7, 0.2, 0.1]))
    draws = [sample_token(logits, 1.0, 1.0, rng) for _ in range(3000)]
    freq = np.bincount(draws, minlength=3) / 3000
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.04)
    assert {sample_token(logits, 1.0, 0.8, rng) for _ in range(300)} == {0, 1}
    assert sample_token(logits, 0.0, 1.0, rng) == 0


def test_prompt_longer_than_context_is_refused(tiny_native: NativeModel) -> None:
    n = tiny_native.config.max_position_embeddings
    with pytest.raises(ValueError, match="exceeds the context"):
        generate(tiny_native.model, tiny_native.tokenizer, [GenRequest((5,) * n, max_tokens=1)])
