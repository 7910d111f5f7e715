"""Every family against llama.cpp: the tiny random model written as a GGUF with llama.cpp's
tensor names (sse.artifacts.tiny.make_tiny_gguf), converted by us and run by llama-cpp-python.

Configs are the llama.cpp-expressible form of each family: Gemma 3's layer pattern is
llama.cpp's fixed one (every 6th layer global) with 1/sqrt(head_dim) query scaling, and
Mistral runs as GGUF `llama` (llama.cpp applies no sliding window to it), so its window
is set beyond the prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tiny_hf import make_tiny_hf

from sse.artifacts.convert import convert
from sse.artifacts.tiny import make_tiny_gguf
from sse.runtime.llamacpp_peer import open_llama, teacher_forced_agreement
from sse.runtime.loader import load_native

pytest.importorskip("torch", reason="torch not installed (optional peers extra builds the tiny models)")
pytest.importorskip("transformers", reason="transformers not installed (optional peers extra)")
pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (optional llamacpp extra)")

GEMMA6 = ["sliding_attention"] * 5 + ["full_attention"]
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "llama": ("llama", {}),
    "llama-linear": ("llama-linear", {}),
    "llama3": ("llama3", {}),
    "qwen2": ("qwen2", {}),
    "qwen3": ("qwen3", {}),
    "gemma3": ("gemma3", {"num_hidden_layers": 6, "layer_types": GEMMA6, "query_pre_attn_scalar": 16,
                          "sliding_window": 8,
                          "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                                              "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}}),
    # llama.cpp picks longrope's factors by context size (rounded up to 256), transformers by
    # sequence length: with the original context at 256 both take the short factors here.
    "phi3": ("phi3", {"original_max_position_embeddings": 256, "max_position_embeddings": 512}),
    "mistral": ("mistral", {"sliding_window": 4096}),
}
TEXTS = (
    "def add(a: int, b: int) -> int:\n    return a + b\n# The quick brown fox 0123456789 jumps over",
    "fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\nlet v: Vec<String> = Vec::new(); for i in range(10):",
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_teacher_forced_top1_agrees_with_llama_cpp(case: str, tmp_path: Path) -> None:
    fam, over = CASES[case]
    d = make_tiny_hf(fam, tmp_path / "hf", seed=3, **over)
    g = make_tiny_gguf(d, tmp_path / "m.gguf", qtype="F32")
    rep = convert([g], tmp_path / "m.apr", "f32")
    assert rep["tokenizer_check"]["reference"] == "source"  # our tokenizer == llama.cpp's on the text set
    nm = load_native(tmp_path / "m.apr")
    llm = open_llama(str(g), n_ctx=256, n_threads=2, logits_all=True)
    assert llm is not None, "llama.cpp refused the GGUF"
    r = teacher_forced_agreement(llm, nm.model, nm.tokenizer, list(TEXTS))
    assert r["tokenizer_mismatches"] == []
    print(f"{case}: top-1 agreement with llama.cpp {r['agree']}/{r['total']}, max |logit diff| "
          f"{r['max_abs_diff']:.3g}")
    assert r["top1"] >= 0.99
