"""Validate an .apr from the file alone: magic, version, checksums, then a logit check
against the source's reference top-k recorded at conversion time."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from sse.core.errors import ArtifactError
from sse.runtime.apr import AprFile
from sse.runtime.arch import ModelConfig
from sse.runtime.engine import Model
from sse.runtime.loader import REF_PREFIX, weights_from_apr
from sse.runtime.threads import blas_threads, default_threads

TOPK_MIN = 0.90  # share of positions where the .apr's argmax is inside the reference top-5


def validate_apr(path: str | os.PathLike[str], *, topk_min: float = TOPK_MIN) -> dict[str, Any]:
    """Raises ArtifactError (one line) on any failure; returns a summary dict on success."""
    t0 = time.perf_counter()
    p = str(path)
    apr = AprFile(path, verify_tensors=False)
    n = apr.verify()
    md = apr.metadata
    if "architecture" not in md:
        raise ArtifactError("metadata has no architecture", file=p, field="metadata.architecture",
                            fix="convert the model again")
    needed = [REF_PREFIX + x for x in ("tokens", "lengths", "topk_ids")]
    missing = [x for x in needed if x not in apr.entries]
    if missing:
        raise ArtifactError(f"no reference logits recorded ({missing[0]})", file=p, field="tensors",
                            fix="convert the model again with this sse")
    cfg = ModelConfig.from_dict(md["architecture"], file=p)
    model = Model(cfg, weights_from_apr(apr), file=p)
    tokens = np.asarray(apr.tensor(REF_PREFIX + "tokens"), np.int64)
    lengths = np.asarray(apr.tensor(REF_PREFIX + "lengths"), np.int64)
    ref_ids = np.asarray(apr.tensor(REF_PREFIX + "topk_ids"))
    if int(lengths.sum()) != len(tokens) or len(tokens) != len(ref_ids):
        raise ArtifactError("reference tables disagree in length", file=p, field=REF_PREFIX + "lengths",
                            fix="convert the model again")
    top1 = []
    off = 0
    with blas_threads(default_threads()):
        for n_tok in lengths:
            seq = tokens[off: off + n_tok]
            top1.append(model.teacher_forced_logits(seq).argmax(-1))
            off += int(n_tok)
    got = np.concatenate(top1)
    k = min(5, ref_ids.shape[1])
    topk = float((ref_ids[:, :k] == got[:, None]).any(-1).mean())
    top1_agree = float((ref_ids[:, 0] == got).mean())
    if topk < topk_min:
        raise ArtifactError(f"logit check failed: top-{k} agreement {topk:.3f} < {topk_min:.2f} over "
                            f"{len(got)} positions", file=p, field="reference_logits",
                            fix="delete it and convert again (or use a wider quantization)")
    return {"path": str(Path(p)), "format_version": apr.version, "tensors_checked": n,
            "quantization": md.get("quantization"), "positions": int(len(got)),
            f"top{k}_agreement": topk, "top1_agreement": top1_agree, "threshold": topk_min,
            "passed": True, "seconds": round(time.perf_counter() - t0, 3)}
