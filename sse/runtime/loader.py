"""Open an .apr and build the runnable model: engine, tokenizer, chat template.

Quantised tensors are stored as `<name>.q8` (int8) or `<name>.q4` (packed u8)
plus `<name>.scale` (f16 per 32-block); they are dequantised once here into f32
(135M parameters -> ~540 MB) so that decoding runs on BLAS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sse.core.errors import ArtifactError
from sse.runtime.apr import AprFile
from sse.runtime.arch import ModelConfig
from sse.runtime.chat import ChatTemplate
from sse.runtime.engine import Model
from sse.runtime.quant import dequantize_q4_0, dequantize_q8_0
from sse.runtime.tokenizer import Tokenizer

TOKENIZER_TENSOR = "__tokenizer_json__"
REF_PREFIX = "__ref__."


def weights_from_apr(apr: AprFile) -> dict[str, np.ndarray]:
    """Canonical name -> f32 array, dequantising q8_0/q4_0 and widening f16."""
    out: dict[str, np.ndarray] = {}
    for name in apr.names():
        if name.startswith("__") or name.endswith(".scale"):
            continue
        t = apr.tensor(name)
        if name.endswith(".q8"):
            base = name[:-3]
            out[base] = dequantize_q8_0(t, apr.tensor(base + ".scale"))
        elif name.endswith(".q4"):
            base = name[:-3]
            out[base] = dequantize_q4_0(t, apr.tensor(base + ".scale"))
        else:
            out[name] = np.asarray(t, dtype=np.float32)
    return out


def tokenizer_from_apr(apr: AprFile) -> Tokenizer:
    md = apr.metadata.get("tokenizer", {})
    raw = bytes(apr.tensor(TOKENIZER_TENSOR)).decode("utf-8")
    return Tokenizer(raw, add_bos=bool(md.get("add_bos", False)), bos_token_id=md.get("bos_token_id"))


@dataclass
class NativeModel:
    """Everything needed to run an .apr."""

    path: Path
    metadata: dict[str, Any]
    config: ModelConfig
    model: Model
    tokenizer: Tokenizer
    chat: ChatTemplate

    @property
    def eos_ids(self) -> tuple[int, ...]:
        return self.config.eos_token_ids


def load_native(path: str | os.PathLike[str], *, verify_tensors: bool = True) -> NativeModel:
    apr = AprFile(path, verify_tensors=verify_tensors)
    md = apr.metadata
    if "architecture" not in md:
        raise ArtifactError("metadata has no architecture", file=str(path), field="metadata.architecture",
                            fix="convert the model again")
    cfg = ModelConfig.from_dict(md["architecture"], file=str(path))
    weights = weights_from_apr(apr)
    model = Model(cfg, weights, file=str(path))
    del weights
    tok = tokenizer_from_apr(apr)
    tmd = md.get("tokenizer", {})
    chat = ChatTemplate(md.get("chat_template"), bos_token=tmd.get("bos_token", "") or "",
                        eos_token=tmd.get("eos_token", "") or "")
    return NativeModel(Path(path), md, cfg, model, tok, chat)
