"""Engine logits equal transformers' within 1e-4 at f32, for every supported family.

Each family is a tiny random model built and saved by transformers (tiny_hf.py),
converted through the real converter (gate included) and run by the numpy
engine; prompts run past the sliding windows and the RoPE scalings' original
contexts. Also: chunked prefill + one-token decode over the slot cache gives
the same logits as one teacher-forced pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_hf import FAMILIES, load_hf, make_tiny_hf

from sse.artifacts.convert import convert
from sse.runtime.loader import NativeModel, load_native

torch = pytest.importorskip("torch", reason="torch not installed (optional peers: pip install torch transformers)")
pytest.importorskip("transformers", reason="transformers not installed (optional peers extra)")

PROMPTS = (
    "def add(a: int, b: int) -> int:\n    return a + b\n# The quick brown fox 0123456789 jumps over",
    "fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\nlet v: Vec<String> = Vec::new(); for i in range(10):",
    "Translate this Python function to Rust.",
)


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[str, Path, NativeModel]:
    fam = str(request.param)
    d = make_tiny_hf(fam, tmp_path_factory.mktemp(fam) / "hf", seed=7)
    convert([d], d.parent / "m.apr", "f32")
    return fam, d, load_native(d.parent / "m.apr")


def test_logits_equal_transformers(family: tuple[str, Path, NativeModel]) -> None:
    fam, d, nm = family
    hf = load_hf(d)
    worst = 0.0
    for text in PROMPTS:
        ids = nm.tokenizer.encode(text)
        with torch.no_grad():
            want = hf(torch.tensor([ids])).logits[0].numpy()
        got = nm.model.teacher_forced_logits(ids)
        assert got.shape == want.shape
        worst = max(worst, float(np.abs(got - want).max()))
        assert (got.argmax(-1) == want.argmax(-1)).all()
    print(f"{fam}: max |logit diff| vs transformers = {worst:.2e}")
    assert worst < 1e-4, f"{fam}: max abs logit difference {worst:.3g}"


def test_prompts_exceed_windows_and_original_contexts(family: tuple[str, Path, NativeModel]) -> None:
    """The parity above is only meaningful if the prompts run past what the family restricts."""
    _, _, nm = family
    cfg = nm.config
    longest = max(len(nm.tokenizer.encode(t)) for t in PROMPTS)
    if cfg.sliding_window:
        assert longest > 2 * cfg.sliding_window
    if cfg.rope_scaling and "original_max_position_embeddings" in cfg.rope_scaling:
        assert longest > int(cfg.rope_scaling["original_max_position_embeddings"])


def test_chunked_prefill_and_decode_equal_teacher_forcing(family: tuple[str, Path, NativeModel]) -> None:
    """Slot cache: two sequences in one cache, prefilled in chunks and decoded token by token
    (mixed in the same forward calls) give the teacher-forced logits."""
    _, _, nm = family
    m = nm.model
    a = nm.tokenizer.encode(PROMPTS[0])
    b = nm.tokenizer.encode(PROMPTS[1])
    ref_a, ref_b = m.teacher_forced_logits(a), m.teacher_forced_logits(b)
    cache = m.new_cache(3, 128)
    slot_a, slot_b = 2, 0  # non-contiguous, out of order
    m.forward(a[:5], range(5), cache, [slot_a] * 5)
    m.forward(a[5:11] + b[:7], list(range(5, 11)) + list(range(7)), cache, [slot_a] * 6 + [slot_b] * 7)
    pa, pb = 11, 7
    got_a: list[np.ndarray] = []
    got_b: list[np.ndarray] = []
    while pa < len(a) or pb < len(b):
        toks, pos, sl, who = [], [], [], []
        if pa < len(a):
            toks.append(a[pa]), pos.append(pa), sl.append(slot_a), who.append("a")
        if pb < len(b):
            toks.append(b[pb]), pos.append(pb), sl.append(slot_b), who.append("b")
        out = m.forward(toks, pos, cache, sl)
        for w, row in zip(who, out, strict=True):
            if w == "a":
                got_a.append(row)
                pa += 1
            else:
                got_b.append(row)
                pb += 1
    np.testing.assert_allclose(np.stack(got_a), ref_a[11:], atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.stack(got_b), ref_b[7:], atol=1e-4, rtol=0)
    assert cache.lengths.tolist() == [len(b), 0, len(a)]
