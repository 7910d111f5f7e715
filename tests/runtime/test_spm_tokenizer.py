"""SentencePiece-style BPE with byte fallback rebuilt from GGUF metadata (`tokenizer.ggml.model =
llama`, as Mistral, Llama 2 and Phi-3 ship) encodes the fixed text set exactly as llama.cpp does,
with and without the space prefix. The vocabulary is a small one trained here."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse.artifacts.sources import _Fields
from sse.artifacts.tiny import _CORPUS
from sse.runtime.llamacpp_peer import open_llama
from sse.runtime.tokenizer import (
    T_BYTE,
    T_CONTROL,
    T_NORMAL,
    T_UNKNOWN,
    TOKENIZER_TEXTS,
    Tokenizer,
    tokenizer_json_from_gguf,
)

pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (optional llamacpp extra)")


def _pieces() -> list[str]:
    """Pieces of a Metaspace BPE trained on the tiny corpus, most frequent merges first."""
    from tokenizers import Tokenizer as HF
    from tokenizers import models, pre_tokenizers, trainers

    tk = HF(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tk.train_from_iterator(_CORPUS, trainers.BpeTrainer(vocab_size=400, show_progress=False))
    vocab = tk.get_vocab()
    return [p for p, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


def _write(path: Path, add_space_prefix: bool) -> Path:
    import gguf

    pieces = _pieces()
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [T_UNKNOWN, T_CONTROL, T_CONTROL] + [T_BYTE] * 256
    scores = [0.0, 0.0, 0.0] + [0.0] * 256
    for i, p in enumerate(p for p in pieces if p not in tokens):
        tokens.append(p)
        types.append(T_NORMAL)
        scores.append(-float(i))
    tokens.append("<|im_start|>")
    types.append(T_CONTROL)
    scores.append(0.0)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_feed_forward_length(8)
    w.add_head_count(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_space_prefix(add_space_prefix)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize("add_space_prefix", [True, False])
def test_spm_encodes_like_llama_cpp(tmp_path: Path, add_space_prefix: bool) -> None:
    import gguf

    g = _write(tmp_path / "spm.gguf", add_space_prefix)
    tok_json, meta = tokenizer_json_from_gguf(_Fields(gguf.GGUFReader(str(g))), str(g))
    assert meta["model"] == "llama" and meta["add_bos"]
    tok = Tokenizer(tok_json, add_bos=True, bos_token_id=1)
    llm = open_llama(str(g), vocab_only=True)
    assert llm is not None
    texts = [*TOKENIZER_TEXTS, "<|im_start|>user hello", "hello<|im_start|> world", "zzqx \u00e9\u00e9 \U0001f980"]
    for t in texts:
        want = list(llm.tokenize(t.encode(), add_bos=False, special=True))
        assert tok.encode(t, add_bos=False) == want, t
        assert tok.encode(t)[0] == 1
    some_bytes = tok.encode("\U0001f980", add_bos=False)
    assert sum(3 <= i < 259 for i in some_bytes) == 4  # byte fallback: the 4 UTF-8 bytes of an unseen char
