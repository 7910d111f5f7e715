"""Engine invariants on a tiny random Llama (generation-loop tests: test_generate.py)."""

from __future__ import annotations

import numpy as np

from sse.runtime.engine import KVCache
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
    last = m.forward(ids[:n0], np.arange(n0), cache, np.zeros(n0, np.int64), logit_rows=[n0 - 1])
    np.testing.assert_allclose(last[0], full[n0 - 1], atol=1e-4)
    assert cache.lengths.tolist() == [n0]
    for t in range(n0, len(ids)):
        step = m.forward(ids[t: t + 1], [t], cache, [0])
        np.testing.assert_allclose(step[0], full[t], atol=1e-4)


def test_forward_refuses_holes_and_out_of_range(tiny_native: NativeModel) -> None:
    import pytest

    m = tiny_native.model
    cache = KVCache(m.cfg, 2, 16)
    with pytest.raises(ValueError, match="past its cached length"):
        m.forward([5, 6], [3, 4], cache, [1, 1])  # slot 1 holds nothing yet: positions 0..2 missing
    with pytest.raises(ValueError, match=r"positions must lie in \[0, 16\)"):
        m.forward([5], [16], cache, [0])
    with pytest.raises(ValueError, match="token ids"):
        m.forward([m.cfg.vocab_size], [0], cache, [0])







def test_chat_template_renders(tiny_native: NativeModel) -> None:
    text = tiny_native.chat.render([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    ids = tiny_native.tokenizer.encode(text)
    assert ids[0] == tiny_native.tokenizer.token_to_id("<|im_start|>")
