"""Engine invariants on a tiny random Llama: cache == no cache, batch == single, decoding controls."""

from __future__ import annotations

import numpy as np
import pytest

from sse.runtime.engine import KVCache
from sse.runtime.generate import GenRequest, generate, sample_token
from sse.runtime.loader import NativeModel

TEXTS = ["def add(a: int, b: int) -> int:", "fn main() {", "The quick brown fox jumps over the lazy dog. 0123",
         "for i in range(10):\n    print(i)"]


def _ids(nm: NativeModel, text: str) -> tuple[int, ...]:
    return tuple(nm.tokenizer.encode(text))


def test_kv_cache_decode_matches_full_prefill(tiny_native: NativeModel) -> None:
    m = tiny_native.model
    ids = np.array(_ids(tiny_native, TEXTS[2]), np.int64)
    full = m.teacher_forced_logits(ids)
    n0 = 4
    cache = KVCache(m.cfg, 1, len(ids) + 1)
    last = m.prefill(ids[:n0], cache, row=0, slot0=0)
    np.testing.assert_allclose(last, full[n0 - 1], atol=1e-4)
    cache.used = n0
    for t in range(n0, len(ids)):
        step = m.decode_step(ids[t: t + 1], np.array([t]), cache)
        np.testing.assert_allclose(step[0], full[t], atol=1e-4)


def test_batched_greedy_equals_single(tiny_native: NativeModel) -> None:
    reqs = [GenRequest(_ids(tiny_native, t), max_tokens=12 + 3 * i) for i, t in enumerate(TEXTS)]
    batched = generate(tiny_native.model, tiny_native.tokenizer, reqs, eos_ids=[-1])
    for r, b in zip(reqs, batched, strict=True):
        single = generate(tiny_native.model, tiny_native.tokenizer, [r], eos_ids=[-1])[0]
        assert single.token_ids == b.token_ids
        assert b.tokens_in == len(r.prompt_ids) and b.tokens_out == r.max_tokens
        assert b.finish_reason == "length" and 0 < b.ttft_s <= b.wall_s
    again = generate(tiny_native.model, tiny_native.tokenizer, reqs, eos_ids=[-1])
    assert [a.token_ids for a in again] == [b.token_ids for b in batched]  # deterministic at T=0


def test_eos_stop_strings_and_max_tokens(tiny_native: NativeModel) -> None:
    nm = tiny_native
    req = GenRequest(_ids(nm, TEXTS[0]), max_tokens=10)
    ref = generate(nm.model, nm.tokenizer, [req], eos_ids=[-1])[0]
    eos_tok = ref.token_ids[3]
    first = ref.token_ids.index(eos_tok)
    r = generate(nm.model, nm.tokenizer, [req], eos_ids=[eos_tok])[0]
    assert r.finish_reason == "eos" and r.token_ids == ref.token_ids[:first]
    text = nm.tokenizer.decode(ref.token_ids)
    stop = text[len(text) // 2: len(text) // 2 + 2]
    if stop.strip():
        r2 = generate(nm.model, nm.tokenizer, [GenRequest(req.prompt_ids, max_tokens=10, stop=(stop,))],
                      eos_ids=[-1])[0]
        assert r2.finish_reason == "stop" and stop not in r2.text and text.startswith(r2.text)
    r3 = generate(nm.model, nm.tokenizer, [GenRequest(req.prompt_ids, max_tokens=0)], eos_ids=[-1])[0]
    assert r3.tokens_out == 0 and r3.text == ""


def test_seeded_sampling(tiny_native: NativeModel) -> None:
    nm = tiny_native
    base = _ids(nm, TEXTS[1])

    def run(seed: int, batch_mates: int = 0) -> list[int]:
        reqs = [GenRequest(base, max_tokens=15, temperature=1.0, top_p=0.95, seed=seed)]
        reqs += [GenRequest(_ids(nm, TEXTS[0]), max_tokens=5, temperature=1.0, seed=7)] * batch_mates
        return generate(nm.model, nm.tokenizer, reqs, eos_ids=[-1])[0].token_ids

    assert run(1) == run(1) == run(1, batch_mates=2)  # same seed, same tokens, whatever the batch
    assert run(1) != run(2)
    tiny_p = generate(nm.model, nm.tokenizer, [GenRequest(base, max_tokens=8, temperature=1.0, top_p=1e-9)],
                      eos_ids=[-1])[0]
    greedy = generate(nm.model, nm.tokenizer, [GenRequest(base, max_tokens=8)], eos_ids=[-1])[0]
    assert tiny_p.token_ids == greedy.token_ids


def test_sample_token_distribution() -> None:
    rng = np.random.default_rng(0)
    logits = np.log(np.array([0.7, 0.2, 0.1]))
    draws = [sample_token(logits, 1.0, 1.0, rng) for _ in range(3000)]
    freq = np.bincount(draws, minlength=3) / 3000
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.04)
    nucleus = {sample_token(logits, 1.0, 0.8, rng) for _ in range(300)}
    assert nucleus == {0, 1}
    assert sample_token(logits, 0.0, 1.0, rng) == 0


def test_prompt_longer_than_context_is_refused(tiny_native: NativeModel) -> None:
    n = tiny_native.config.max_position_embeddings
    with pytest.raises(ValueError, match="exceeds the context"):
        generate(tiny_native.model, tiny_native.tokenizer, [GenRequest((5,) * n, max_tokens=1)])


def test_chat_template_renders(tiny_native: NativeModel) -> None:
    text = tiny_native.chat.render([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    ids = tiny_native.tokenizer.encode(text)
    assert ids[0] == tiny_native.tokenizer.token_to_id("<|im_start|>")
