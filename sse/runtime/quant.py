"""Block-wise quantisation in numpy (32 values per block along the input axis).

q8_0: int8 values and one f16 scale per block (x ~= q * d).
q4_0: 4-bit values packed two per byte and one f16 scale per block
      (x ~= (q - 8) * d), the ggml layout: byte j of a block holds value j in its
      low nibble and value j + 16 in its high nibble.
The engine dequantises once at load time into f32 so that decoding runs on BLAS.
"""

from __future__ import annotations

import numpy as np

BLOCK = 32


def _blocks(w: np.ndarray) -> np.ndarray:
    if w.ndim != 2 or w.shape[1] % BLOCK:
        raise ValueError(f"cannot block-quantise shape {w.shape}: last axis must be a multiple of {BLOCK}")
    return np.asarray(w, dtype=np.float32).reshape(w.shape[0], w.shape[1] // BLOCK, BLOCK)


def quantize_q8_0(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = _blocks(w)
    amax = np.abs(b).max(axis=2, keepdims=True)
    d = (amax / 127.0).astype(np.float16).astype(np.float32)
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.rint(b * inv), -127, 127).astype(np.int8)
    return q.reshape(w.shape), d[..., 0].astype(np.float16)


def dequantize_q8_0(q: np.ndarray, d: np.ndarray) -> np.ndarray:
    rows, cols = q.shape
    out = q.reshape(rows, cols // BLOCK, BLOCK).astype(np.float32)
    out *= d.astype(np.float32)[..., None]
    return out.reshape(rows, cols)


def quantize_q4_0(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = _blocks(w)
    idx = np.abs(b).argmax(axis=2)[..., None]
    mx = np.take_along_axis(b, idx, axis=2)  # signed value of largest magnitude
    d = (mx / -8.0).astype(np.float16).astype(np.float32)
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.floor(b * inv + 8.5), 0, 15).astype(np.uint8)
    packed = q[..., :16] | (q[..., 16:] << 4)
    return packed.reshape(w.shape[0], w.shape[1] // 2), d[..., 0].astype(np.float16)


def dequantize_q4_0(packed: np.ndarray, d: np.ndarray) -> np.ndarray:
    rows = packed.shape[0]
    p = packed.reshape(rows, -1, BLOCK // 2)
    q = np.concatenate([p & 0x0F, p >> 4], axis=2).astype(np.float32) - 8.0
    q *= d.astype(np.float32)[..., None]
    return q.reshape(rows, -1)
