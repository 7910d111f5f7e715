"""llama-cpp-python, when installed: the peer for parity checks and the `llamacpp` system kind.

Why a module: llama.cpp logs to file descriptor 2 even with verbose=False, and an
absent or broken install must read as "not available" (None), never as a crash.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def llama_cpp_version() -> str | None:
    """The installed llama-cpp-python version, or None when it cannot be imported."""
    try:
        import llama_cpp
    except Exception:  # noqa: BLE001 - a broken native build is "absent" too
        return None
    return str(getattr(llama_cpp, "__version__", "unknown"))


def open_llama(path: str, **kw: Any) -> Any:
    """A llama_cpp.Llama for `path` (quietly), or None when llama-cpp-python is unavailable."""
    if llama_cpp_version() is None:
        return None
    from llama_cpp import Llama

    kw.setdefault("verbose", False)
    try:
        with quiet_stderr():
            return Llama(model_path=str(path), **kw)
    except Exception:  # noqa: BLE001 - a model llama.cpp refuses is "no peer", the caller says so
        return None


def teacher_forced_agreement(
    llm: Any, model: Any, tokenizer: Any, texts: list[str], *, add_bos: bool = False
) -> dict[str, Any]:
    """Next-token argmax agreement between llama.cpp (`llm`, opened with logits_all=True) and the
    numpy engine on the same token ids, plus the max |logit| difference and every text the two
    tokenizers encode differently (what the parity tests and benchmarks report)."""
    import numpy as np

    agree = total = 0
    worst = 0.0
    mismatched: list[str] = []
    for text in texts:
        ids = tokenizer.encode(text, add_bos=add_bos)
        if ids != list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)):
            mismatched.append(text)
        llm.reset()
        llm.eval(ids)
        ref = np.array(llm.scores[: len(ids)], dtype=np.float32)
        got = model.teacher_forced_logits(ids)
        agree += int((ref.argmax(-1) == got.argmax(-1)).sum())
        total += len(ids)
        worst = max(worst, float(np.abs(ref - got).max()))
    return {
        "agree": agree,
        "total": total,
        "top1": agree / total if total else float("nan"),
        "max_abs_diff": worst,
        "tokenizer_mismatches": mismatched,
    }


def dequantized_gguf(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """The same GGUF with every tensor dequantised to F32 (metadata copied as is).

    Why: llama.cpp multiplies quantised weights by 8-bit-quantised activations, so on a K-quant
    file it disagrees with any exact computation at near-ties. On this file it computes in f32
    on exactly the weights the engine reads, which separates the engine's own differences from
    llama.cpp's activation quantisation (see tests/runtime/test_real_gemma3.py).
    """
    import gguf
    import numpy as np
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(str(src))
    writer = gguf.GGUFWriter(str(dst), str(reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()))
    for f in reader.fields.values():
        if f.name == gguf.Keys.General.ARCHITECTURE or f.name.startswith("GGUF."):
            continue  # written by the writer itself
        kind = f.types[0]
        writer.add_key_value(
            f.name, f.contents(), kind, sub_type=f.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        )
    for t in reader.tensors:
        writer.add_tensor(t.name, np.ascontiguousarray(dequantize(t.data, t.tensor_type), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(dst)
