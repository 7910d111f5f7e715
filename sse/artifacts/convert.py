"""Convert a GGUF file or a Hugging Face safetensors folder into a KL-gated .apr.

Steps: read the source at full precision (sse/artifacts/sources.py: every GGUF
tensor type the gguf package dequantises, or f32/f16/bf16 safetensors), build the tokenizer with the `tokenizers` library and
check it encodes like the source, quantise (f32, f16, q8_0, q4_0), then run the
SPC gate: the converted model's next-token distributions against the source's
on fixed validation prompts. Only when every gate passes is the .apr written
(temp file, re-opened and validated, then renamed): a failed gate leaves no file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sse.artifacts.sources import (  # noqa: F401 - re-exported for callers of the converter
    SourceModel,
    load_gguf,
    load_hf_folder,
    read_safetensors,
    sha256_file,
)
from sse.core.errors import ArtifactError
from sse.core.store import atomic_path
from sse.runtime.apr import write_apr_stream
from sse.runtime.chat import ChatTemplate
from sse.runtime.engine import Model
from sse.runtime.loader import REF_PREFIX, TOKENIZER_TENSOR
from sse.runtime.quant import BLOCK, dequantize_q4_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0
from sse.runtime.threads import blas_threads, default_threads
from sse.runtime.tokenizer import TOKENIZER_TEXTS, Tokenizer

CONVERTER_VERSION = "sse-convert/1"
QUANTIZATIONS = ("f32", "f16", "q8_0", "q4_0")
REF_TOPK = 10

# Gate thresholds per quantization: mean and max of KL(source || converted) in nats over
# all validation positions, the mean cosine of logit vectors (the minimum is reported: a
# single position dominates it), top-1 agreement, and top-5 containment (the converted
# argmax inside the source's top 5). Tighter for wider formats.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "f32": {"kl_mean": 1e-5, "kl_max": 1e-3, "cosine_mean": 0.99999, "top1": 0.98, "top5": 0.98},
    "f16": {"kl_mean": 1e-4, "kl_max": 1e-2, "cosine_mean": 0.9999, "top1": 0.95, "top5": 0.95},
    "q8_0": {"kl_mean": 2e-3, "kl_max": 0.1, "cosine_mean": 0.999, "top1": 0.9, "top5": 0.95},
    "q4_0": {"kl_mean": 1e-2, "kl_max": 0.5, "cosine_mean": 0.99, "top1": 0.85, "top5": 0.9},
}
_GATE_DIRECTION = {"kl_mean": "<=", "kl_max": "<=", "cosine_mean": ">=", "cosine_min": ">=", "top1": ">=",
                   "top5": ">="}

# Fixed validation prompts: code in both languages of the job, prose, and a chat turn.
VALIDATION_PROMPTS: tuple[str, ...] = (
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "fn main() {\n    let v: Vec<i64> = (1..=10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    "The quick brown fox jumps over the lazy dog. Translation from Python to Rust requires care with ownership.",
    "Translate this Python function to Rust:\n\ndef add(a: int, b: int) -> int:\n    return a + b\n",
    "import json\nfrom collections import Counter\n\ndef top_words(text: str, k: int) -> list[str]:\n",
    "In 1969, 3 astronauts flew 384,400 km to the Moon; numbers like 42 and 3.14159 also appear.",
    "use std::collections::HashMap;\n\npub fn count(words: &[&str]) -> HashMap<String, usize> {\n",
    "Q: What is the capital of France?\nA: Paris.\nQ: What is 12 times 12?\nA:",
)
MAX_GATE_TOKENS = 64
LICENCE_PREFIX = "__licence__."
_LICENCE_NAME = re.compile(r"(?i)(notice|licen[cs]e|terms|copying)")


def load_source(paths: Sequence[str | os.PathLike[str]]) -> SourceModel:
    """A .gguf file, or a folder (or the files of a folder) with config.json + safetensors."""
    ps = [Path(p) for p in paths]
    if not ps:
        raise ArtifactError("no source files given", fix="pass a .gguf file or a model folder")
    ggufs = [p for p in ps if p.suffix == ".gguf"]
    if ggufs:
        return load_gguf(ggufs[0])
    folder = ps[0] if ps[0].is_dir() else ps[0].parent
    return load_hf_folder(folder)


# ------------------------------------------------------------------------------------------------
# Quantisation to stored tensors
# ------------------------------------------------------------------------------------------------

def quantize_tensors(weights: Mapping[str, np.ndarray], quant: str) -> dict[str, np.ndarray]:
    """Canonical f32 weights -> tensors as stored. Norms stay f32. Under q4_0 the token
    embedding (also the tied output head) is stored q8_0, as llama.cpp keeps its output layer wider."""
    if quant not in QUANTIZATIONS:
        raise ArtifactError(f"quantization {quant!r} is not supported", field="quantization",
                            fix=f"use one of {', '.join(QUANTIZATIONS)}")
    out: dict[str, np.ndarray] = {}
    for name, w in weights.items():
        if w.ndim < 2 or quant == "f32":
            out[name] = np.asarray(w, np.float32)
        elif quant == "f16":
            out[name] = w.astype(np.float16)
        elif w.shape[1] % BLOCK:
            out[name] = w.astype(np.float16)
        elif quant == "q8_0" or name in ("tok_embd", "lm_head"):
            q, s = quantize_q8_0(w)
            out[name + ".q8"], out[name + ".scale"] = q, s
        else:
            q, s = quantize_q4_0(w)
            out[name + ".q4"], out[name + ".scale"] = q, s
    return out


def dequantize_tensors(stored: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, t in stored.items():
        if name.endswith(".scale"):
            continue
        if name.endswith(".q8"):
            out[name[:-3]] = dequantize_q8_0(t, stored[name[:-3] + ".scale"])
        elif name.endswith(".q4"):
            out[name[:-3]] = dequantize_q4_0(t, stored[name[:-3] + ".scale"])
        else:
            out[name] = np.asarray(t, np.float32)
    return out


# ------------------------------------------------------------------------------------------------
# SPC gate
# ------------------------------------------------------------------------------------------------

def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def compare_logits(src: np.ndarray, conv: np.ndarray) -> dict[str, float]:
    """Distribution agreement per position between source and converted logits ([N, V] each)."""
    ls, lc = _log_softmax(src), _log_softmax(conv)
    kl = np.maximum((np.exp(ls) * (ls - lc)).sum(axis=-1), 0.0)
    a, b = src.astype(np.float64), conv.astype(np.float64)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-30)
    top1_src = src.argmax(-1)
    top1_conv = conv.argmax(-1)
    top5_src = np.argpartition(-src, 5, axis=-1)[:, :5]
    top5_conv = np.argpartition(-conv, 5, axis=-1)[:, :5]
    overlap = np.mean([len(set(x) & set(y)) / 5 for x, y in zip(top5_src, top5_conv, strict=True)])
    return {"positions": int(len(src)), "kl_mean": float(kl.mean()), "kl_max": float(kl.max()),
            "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
            "top1": float((top1_src == top1_conv).mean()),
            "top5": float((top5_src == top1_conv[:, None]).any(-1).mean()),
            "top5_overlap": float(overlap)}


def check_gates(measured: Mapping[str, float], thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    rows = []
    for gate, limit in thresholds.items():
        op = _GATE_DIRECTION[gate]
        val = float(measured[gate])
        ok = val <= limit if op == "<=" else val >= limit
        rows.append({"gate": gate, "value": val, "op": op, "threshold": float(limit), "passed": bool(ok)})
    return rows


def gate_token_sequences(tok: Tokenizer, chat: ChatTemplate) -> list[list[int]]:
    texts = list(VALIDATION_PROMPTS)
    texts.append(chat.render([{"role": "user", "content": "Write a Rust function that reverses a string."}]))
    seqs = [tok.encode(t)[:MAX_GATE_TOKENS] for t in texts]
    return [s for s in seqs if len(s) >= 2]


def _all_logits(model: Model, seqs: Sequence[Sequence[int]]) -> np.ndarray:
    with blas_threads(default_threads()):
        return np.concatenate([model.teacher_forced_logits(s) for s in seqs], axis=0)


def check_tokenizer(src: SourceModel, tok: Tokenizer, file: str) -> dict[str, Any]:
    """The rebuilt tokenizer must encode the validation texts exactly as the source does."""
    texts = [*VALIDATION_PROMPTS, *TOKENIZER_TEXTS]
    ref = src.reference_tokenizer
    for t in texts:
        ids = tok.encode(t, add_bos=False)
        if ref is not None:
            want = list(ref(t))
            if ids != want:
                raise ArtifactError(f"rebuilt tokenizer encodes {t[:30]!r} as {ids[:8]}... but the source gives "
                                    f"{want[:8]}...", file=file, field="tokenizer",
                                    fix="convert from a folder with the model's tokenizer.json")
        if tok.decode(ids, skip_special_tokens=False) != t:
            raise ArtifactError(f"tokenizer does not round-trip {t[:30]!r}", file=file, field="tokenizer",
                                fix="convert from a folder with the model's tokenizer.json")
    return {"texts": len(texts), "reference": "source" if ref is not None else "round-trip only"}


# ------------------------------------------------------------------------------------------------
# Convert
# ------------------------------------------------------------------------------------------------

def convert(sources: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], quantization: str = "q8_0",
            thresholds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Convert, gate, write atomically. Returns the gate report. Raises ArtifactError when a gate fails."""
    from sse.artifacts.validate import validate_apr

    if quantization not in QUANTIZATIONS:
        raise ArtifactError(f"quantization {quantization!r} is not supported", field="quantization",
                            fix=f"use one of {', '.join(QUANTIZATIONS)}")
    limits = dict(DEFAULT_THRESHOLDS[quantization])
    if thresholds:
        unknown = set(thresholds) - set(_GATE_DIRECTION)
        if unknown:
            raise ArtifactError(f"unknown gate(s) {sorted(unknown)}", field="thresholds",
                                fix=f"use {', '.join(_GATE_DIRECTION)}")
        limits.update({k: float(v) for k, v in thresholds.items()})
    src = load_source(sources)
    label = str(Path(sources[0]))
    tok = Tokenizer(src.tokenizer_json, add_bos=bool(src.tokenizer_meta.get("add_bos")),
                    bos_token_id=src.tokenizer_meta.get("bos_token_id"))
    tok_report = check_tokenizer(src, tok, label)
    chat = ChatTemplate(src.chat_template, bos_token=src.tokenizer_meta.get("bos_token") or "",
                        eos_token=src.tokenizer_meta.get("eos_token") or "")
    seqs = gate_token_sequences(tok, chat)
    ref_model = Model(src.config, src.weights, file=label)
    src_logits = _all_logits(ref_model, seqs)
    del ref_model
    stored = quantize_tensors(src.weights, quantization)
    src.weights.clear()
    conv_model = Model(src.config, dequantize_tensors(stored), file=label)
    conv_logits = _all_logits(conv_model, seqs)
    del conv_model
    measured = compare_logits(src_logits, conv_logits)
    gates = check_gates(measured, limits)
    report = {"quantization": quantization, "measured": measured, "gates": gates,
              "passed": all(g["passed"] for g in gates), "tokenizer_check": tok_report,
              "prompts": len(seqs)}
    failed = [g for g in gates if not g["passed"]]
    if failed:
        g = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise ArtifactError(f"SPC gate {g['gate']} failed for {quantization}: measured {g['value']:.6g}, "
                            f"threshold {g['op']} {g['threshold']:.6g}{more}; no .apr written",
                            file=label, field=f"gate.{g['gate']}",
                            fix="use a wider quantization (q8_0/f16) or set a looser threshold deliberately")
    # Reference for the validator: the source's top-k at every gate position.
    topk_ids = np.argsort(-src_logits, axis=-1, kind="stable")[:, :REF_TOPK].astype(np.int32)
    topk_vals = np.take_along_axis(src_logits, topk_ids, axis=-1).astype(np.float32)
    tensors: dict[str, np.ndarray] = dict(stored)
    # Licence and notice files that came with the source travel inside the .apr (e.g. Gemma's terms).
    notices = sorted({Path(p).name: Path(p) for p in sources
                      if Path(p).is_file() and _LICENCE_NAME.search(Path(p).name)}.items())
    for name, p in notices:
        tensors[LICENCE_PREFIX + name] = np.frombuffer(p.read_bytes(), dtype=np.uint8)
    tensors[TOKENIZER_TENSOR] = np.frombuffer(src.tokenizer_json.encode("utf-8"), dtype=np.uint8)
    tensors[REF_PREFIX + "tokens"] = np.asarray([t for s in seqs for t in s], np.int32)
    tensors[REF_PREFIX + "lengths"] = np.asarray([len(s) for s in seqs], np.int32)
    tensors[REF_PREFIX + "topk_ids"] = topk_ids
    tensors[REF_PREFIX + "topk_logits"] = topk_vals
    metadata = {
        "architecture": src.config.to_dict(),
        "tokenizer": src.tokenizer_meta,
        "chat_template": src.chat_template,
        "provenance": {**src.provenance, "converter": CONVERTER_VERSION, "quantization": quantization},
        "quantization": quantization,
        "gate": report,
        "licence_files": [n for n, _ in notices],
    }
    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, durable=True) as tmp:  # no .apr unless it validates
        with open(tmp, "wb") as f:
            write_apr_stream(f, metadata, tensors)
        del tensors, stored
        report["validation"] = {**validate_apr(tmp), "path": str(dest)}
    return report
