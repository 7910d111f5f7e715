from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse.runtime.quant import dequantize_q4_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 5), blocks=st.integers(1, 4), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 99))
def test_block_error_bounds(rows: int, blocks: int, scale: float, seed: int) -> None:
    w = (np.random.default_rng(seed).standard_normal((rows, 32 * blocks)) * scale).astype(np.float32)
    amax = np.abs(w.reshape(rows, blocks, 32)).max(-1, keepdims=True)
    q, d = quantize_q8_0(w)
    err8 = np.abs(dequantize_q8_0(q, d) - w).reshape(rows, blocks, 32)
    assert (err8 <= amax / 127 * 0.51 + amax * 2e-3).all()
    p, d4 = quantize_q4_0(w)
    assert p.dtype == np.uint8 and p.shape == (rows, 16 * blocks)
    err4 = np.abs(dequantize_q4_0(p, d4) - w).reshape(rows, blocks, 32)
    # half a step inside the range; up to one step where the far side clips at 7/8 of the extreme
    assert (err4 <= amax / 8 * 1.01 + 1e-6).all()
    assert np.median(err4) <= float(amax.max()) / 16 * 1.01


def test_zero_block_and_shape_errors() -> None:
    w = np.zeros((2, 32), np.float32)
    assert not dequantize_q8_0(*quantize_q8_0(w)).any()
    assert not dequantize_q4_0(*quantize_q4_0(w)).any()
    with pytest.raises(ValueError, match="multiple of 32"):
        quantize_q8_0(np.zeros((2, 30), np.float32))


def test_q4_0_matches_gguf_reference() -> None:
    """Our packing equals ggml's Q4_0 (via the gguf package's reference dequantiser)."""
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    w = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
    p, d = quantize_q4_0(w)
    raw = np.concatenate([d.reshape(3, 2, 1).view(np.uint8).reshape(3, 2, 2), p.reshape(3, 2, 16)], axis=2)
    ref = dequantize(raw.reshape(3, -1), GGMLQuantizationType.Q4_0)
    np.testing.assert_allclose(ref, dequantize_q4_0(p, d), atol=1e-6)
