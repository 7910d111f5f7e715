"""Logits of the numpy engine against transformers' LlamaForCausalLM on the same tiny random model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sse.artifacts.convert import convert
from sse.artifacts.tiny import make_tiny_llama
from sse.runtime.loader import load_native

torch = pytest.importorskip("torch", reason="torch not installed (optional: pip install torch transformers)")
transformers = pytest.importorskip("transformers", reason="transformers not installed")


@pytest.mark.parametrize("tied", [True, False])
def test_logits_match_transformers(tmp_path: Path, tied: bool) -> None:
    folder = make_tiny_llama(tmp_path / "m", seed=11, tie_word_embeddings=tied, num_hidden_layers=3)
    convert([folder], tmp_path / "m.apr", "f32")
    nm = load_native(tmp_path / "m.apr")
    hf = transformers.LlamaForCausalLM.from_pretrained(str(folder), torch_dtype=torch.float32)
    hf.eval()
    text = "def add(a: int, b: int) -> int:\n    return a + b\n# The quick brown fox 0123456789"
    ids = nm.tokenizer.encode(text)
    with torch.no_grad():
        want = hf(torch.tensor([ids])).logits[0].numpy()
    got = nm.model.teacher_forced_logits(ids)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    # greedy continuation agrees as well
    out = hf.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False, eos_token_id=None, pad_token_id=0)
    from sse.runtime.generate import GenRequest, generate

    mine = generate(nm.model, nm.tokenizer, [GenRequest(tuple(ids), max_tokens=8)], eos_ids=[-1])[0]
    assert mine.token_ids == out[0, len(ids):].tolist()
